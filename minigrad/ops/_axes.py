"""One check for every axis argument: in range, or an IndexError that says so.

NumPy wraps some out-of-range axes silently (``axis % ndim``) and names others
in its own words; every minigrad op that takes an axis goes through
:func:`check_axis` instead, so ``concatenate([a, a], 2)`` on 2-D tensors raises
``IndexError: concatenate: axis 2 is out of range for a tensor of 2 dimensions
(expected -2 to 1)`` rather than returning a wrongly shaped result.
"""
from __future__ import annotations

import numbers

import numpy as np


def check_axis(axis, ndim: int, op: str, new: bool = False) -> int:
    """``axis`` as a non-negative int below ``ndim`` (negatives count from the end).

    ``new=True`` is for an axis to insert (``unsqueeze``, ``stack``): it may also
    be ``ndim`` (or ``-ndim - 1``).

    A 0-d tensor accepts the axes 0 and -1, as in torch. Raises ``TypeError``
    for a non-integer axis and, for one out of range, ``numpy.exceptions.AxisError``
    (an ``IndexError``, and a ``ValueError`` as in NumPy) naming ``op``, the axis
    and the number of dimensions.
    """
    n = ndim + 1 if new else max(ndim, 1)
    if type(axis) is int and -n <= axis < n:   # the common case, without the ABC check
        return axis % n
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer, numbers.Integral)):
        raise TypeError(f"{op}: an axis must be an integer, got {type(axis).__name__} "
                        f"{axis!r}")
    axis = int(axis)
    n = ndim + 1 if new else max(ndim, 1)
    if not -n <= axis < n:
        raise np.exceptions.AxisError(f"{op}: axis {axis} is out of range for a tensor of {ndim} "
                         f"dimension{'s' if ndim != 1 else ''} (expected {-n} to {n - 1})")
    return axis % n


def check_axes(axes, ndim: int, op: str) -> tuple:
    """Every axis of ``axes`` checked with :func:`check_axis`, in the given order."""
    return tuple([check_axis(a, ndim, op) for a in axes])
