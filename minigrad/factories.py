"""Tensor constructors: zeros, ones, full, arange, eye, and seeded random ones."""
from __future__ import annotations

import numpy as np

from . import backend
from .random import generator
from .tensor import Tensor, get_default_dtype


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _make(array, requires_grad):
    t = Tensor._make(array)
    t.requires_grad = requires_grad
    return t


def _float(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    xp = backend.xp_for(device)
    return _make(xp.zeros(_shape(shape), dtype=_float(dtype)), requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    xp = backend.xp_for(device)
    return _make(xp.ones(_shape(shape), dtype=_float(dtype)), requires_grad)


def empty(*shape, dtype=None, device="cpu", requires_grad=False):
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    xp = backend.xp_for(device)
    return _make(xp.full(tuple(shape), fill_value, dtype=_float(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=t.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu"):
    if end is None:
        start, end = 0, start
    xp = backend.xp_for(device)
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dtype = np.dtype(dtype) if dtype is not None else (np.int64 if ints else get_default_dtype())
    return Tensor._make(xp.arange(start, end, step, dtype=dtype))


def linspace(start, end, steps, dtype=None, device="cpu"):
    xp = backend.xp_for(device)
    return Tensor._make(xp.linspace(start, end, steps, dtype=_float(dtype)))


def eye(n, m=None, dtype=None, device="cpu"):
    xp = backend.xp_for(device)
    return Tensor._make(xp.eye(n, m, dtype=_float(dtype)))


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal samples from minigrad's seeded generator."""
    rng = generator(device)
    return _make(rng.standard_normal(_shape(shape), dtype=_float(dtype)), requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1) from minigrad's seeded generator."""
    rng = generator(device)
    return _make(rng.random(_shape(shape), dtype=_float(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=np.int64, device="cpu"):
    if high is None:
        low, high = 0, low
    rng = generator(device)
    return Tensor._make(rng.integers(low, high, size=tuple(size), dtype=dtype))
