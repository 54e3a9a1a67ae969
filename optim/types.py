"""The type aliases of :mod:`optim`'s signatures.

``Array``
    A backend array: ``numpy.ndarray``, or ``cupy.ndarray`` on a GPU (the
    formulas of :mod:`optim.functional` take and return these).
``Params``
    What an optimizer is built on: an iterable of Tensors, of
    ``(name, Tensor)`` pairs, or of param-group dicts.
``Closure``
    A function that recomputes the loss and its gradients and returns the loss.
``Update``
    What a formula returns: ``(theta_new, new_state, intermediates)``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Array", "Params", "Closure", "Update"]

Array = Any
Params = Iterable[Any]
Closure = Callable[[], Any]
Update = tuple[Any, dict, dict]
