"""Type aliases of minigrad's public signatures (annotations only; no runtime cost).

``TensorLike`` is what the ops accept where a tensor is expected: a Tensor, or
an array, number or (nested) list, which becomes a constant Tensor.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence, Tuple, Union

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorLike", "Axis", "Shape", "DTypeLike", "Device"]

TensorLike = Union["Tensor", np.ndarray, np.generic, float, int, bool, Sequence]
#: an axis, several axes, or None for all of them
Axis = Optional[Union[int, Tuple[int, ...], Sequence[int]]]
Shape = Tuple[int, ...]
DTypeLike = Union[np.dtype, type, str]
#: "cpu" or "cuda"
Device = str
