"""Turning Python numbers and arrays into Tensors that can meet a given Tensor."""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, get_default_dtype


def as_tensor(x, like):
    """``x`` as a Tensor on ``like``'s device.

    A Python number takes ``like``'s dtype when that is a float dtype (so
    ``w * 0.5`` stays float32), as in PyTorch; arrays keep their own dtype.
    """
    if isinstance(x, Tensor):
        return x
    xp = backend.get_array_module(like.data)
    if isinstance(x, numbers.Number) and not isinstance(x, np.ndarray):
        if like.dtype.kind == "f":
            dtype = like.dtype
        elif isinstance(x, bool):
            dtype = like.dtype
        elif isinstance(x, numbers.Integral):
            dtype = like.dtype if like.dtype.kind in "iu" else np.int64
        else:
            dtype = get_default_dtype()
        return Tensor._make(xp.asarray(x, dtype=dtype))
    return Tensor(x, device=like.device)


def coerce(x, op: str, arg: str = "input") -> Tensor:
    """``x`` as a Tensor: the rule every op applies to its tensor arguments.

    A Tensor is returned as is; a NumPy or CuPy array, a number or a (nested)
    list becomes a constant Tensor (arrays keep their dtype), as ``ndarray +
    Tensor`` always did. Anything else raises ``TypeError`` naming ``op``,
    ``arg`` and how to wrap the value.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (numbers.Number, list, tuple, np.ndarray, np.generic)) \
            or backend.is_cupy_array(x):
        try:
            return Tensor(x)
        except TypeError as exc:
            raise TypeError(f"{op}: {arg} cannot be turned into a Tensor ({exc})") from None
    raise TypeError(f"{op}: {arg} must be a Tensor (or an array or a number), got "
                    f"{type(x).__name__}; wrap it with minigrad.tensor(...)")
