"""``Parameter``: a Tensor that a Module learns.

A Parameter is an ordinary leaf :class:`~minigrad.tensor.Tensor` with
``requires_grad=True`` by default. Its only extra power is being *noticed*:
assigning a Parameter to an attribute of a :class:`~minigrad.nn.Module`
registers it, so ``module.parameters()`` finds it and an optimizer can update
it. A plain Tensor assigned the same way is just an attribute (use
``register_buffer`` for state that is saved but not learned).

    w = Parameter(minigrad.randn(3, 2))     # shares the array of the Tensor
    w.requires_grad                         # True
    w * 2                                   # ops on Parameters give plain Tensors
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, get_default_dtype

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf Tensor registered by Modules as something to learn.

    ``Parameter(data=None, requires_grad=True)``: ``data`` is a Tensor (its
    array is shared, not copied, as in PyTorch; a Tensor inside a graph gives a
    fresh leaf on the same array), a NumPy/CuPy array (kept as it is, dtype
    included) or nested lists of numbers (floats become the default dtype,
    float32). ``None`` gives an empty float tensor.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=get_default_dtype())
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
