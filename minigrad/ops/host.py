"""Host data meets a tensor's device: masks, indices and constants built on the host
(NumPy) become arrays or Tensors on the device of a given Tensor, and integer data
comes back to the host, so that no model or layer calls NumPy on tensor data."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


def on_device(array, like):
    """A host (NumPy) array moved to the device of Tensor ``like``."""
    return backend.to_device(np.asarray(array), like.device)


def constant(array, like):
    """A constant Tensor (no gradient) holding ``array`` on ``like``'s device."""
    return Tensor._make(on_device(array, like))


def host_array(x, dtype=None):
    """Integer or boolean data (a Tensor, NumPy/CuPy array or list) as a NumPy array."""
    if isinstance(x, Tensor):
        x = x.data
    arr = backend.to_numpy(x) if backend.is_cupy_array(x) else np.asarray(x)
    return arr if dtype is None else arr.astype(dtype, copy=False)


def index_tensor(x):
    """Integer data (list, NumPy/CuPy array or Tensor) as a Tensor without gradient.

    Models hand indices to ``embedding`` and ``cross_entropy`` as Tensors, which
    those read through ``.data`` on either device.
    """
    if isinstance(x, Tensor):
        return x
    if not (isinstance(x, np.ndarray) or backend.is_cupy_array(x)):
        x = np.asarray(x)
    return Tensor._make(x)
