"""Reductions over axes: sum, mean, var, max, min, logsumexp.

Axis arguments accept NumPy's ``axis``/``keepdims`` and PyTorch's
``dim``/``keepdim`` spellings. Backward puts the reduced axes back (as size 1)
and broadcasts the gradient over them.
"""
from __future__ import annotations

import builtins
import math

from .. import backend
from ..function import Function
from ..grad_mode import state as _grad_state
from ..tensor import Tensor
from ..typing import Axis, TensorLike
from ._axes import check_axes
from ._convert import coerce
from .shape import broadcast_to, reshape


def normalize_axis(axis, ndim, op="reduction"):
    """``axis`` as a sorted tuple of non-negative ints (all axes for None); an
    axis out of range raises an IndexError naming ``op`` (see ``_axes.check_axis``)."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = check_axes(axes, ndim, op)
    return tuple(sorted(set(out))) if ndim else ()


def kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as size 1."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _grad_back(g, in_shape, axes, keepdims):
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdims:
        g = reshape(g, kept_shape(in_shape, axes))
    return broadcast_to(g, in_shape)


class Sum(Function):
    saves_output = False
    saved_inputs = ()

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        if not _grad_state.grad_enabled:   # no create_graph: the same formula on arrays
            return Tensor._make(self.backward_array(g.data))
        return _grad_back(g, self.inputs[0].shape, self.axes, self.keepdims)

    def backward_array(self, g):
        """:meth:`backward` on arrays (no graph); tested equal to it."""
        in_shape = self.inputs[0].data.shape
        if not self.keepdims:
            g = g.reshape(kept_shape(in_shape, self.axes))
        return backend.get_array_module(g).broadcast_to(g, in_shape)


class MaxMin(Function):
    """max or min over axes; ties share the gradient evenly (PyTorch's amax rule)."""

    def __init__(self, axes, keepdims, largest):
        self.axes, self.keepdims, self.largest = axes, keepdims, largest
        self.name = "Max" if largest else "Min"

    def forward(self, x):
        if any(x.shape[a] == 0 for a in self.axes):  # (0, 3) over axis 1 is fine
            raise ValueError(f"{self.name.lower()} over an axis of size 0")
        reduce = x.max if self.largest else x.min
        return reduce(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        x = self.inputs[0]
        y = self.output.data
        if not self.keepdims:
            y = y.reshape(kept_shape(x.shape, self.axes))
        hit = (x.data == y).astype(g.dtype)
        share = hit / hit.sum(axis=self.axes, keepdims=True)
        return _grad_back(g, x.shape, self.axes, self.keepdims) * _const(share)


class LogSumExp(Function):
    """log sum exp x, computed as m + log sum exp(x - m) with m = max x."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:  # the log of an empty sum is -inf (and max() has no identity)
            y = xp.full(kept_shape(x.shape, self.axes), -xp.inf, dtype=x.dtype)
        else:
            m = x.max(axis=self.axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
            y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else y.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, g):
        from .elementwise import exp

        x = self.inputs[0]
        y = self.output
        if not self.keepdims:
            y = reshape(y, kept_shape(x.shape, self.axes))
        softmax = exp(x - y)
        return _grad_back(g, x.shape, self.axes, self.keepdims) * softmax


def _const(array):
    return Tensor._make(array)


def _resolve(axis, keepdims, dim, keepdim):
    """Accept torch's dim/keepdim as aliases of numpy's axis/keepdims."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


def sum(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None
) -> Tensor:  # noqa: A001
    if not isinstance(x, Tensor):
        x = coerce(x, "sum", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    return Sum(normalize_axis(axis, x.ndim, "sum"), keepdims)(x)


def mean(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None
) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "mean", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    axes = normalize_axis(axis, x.ndim, "mean")
    count = math.prod(x.shape[a] for a in axes) if axes else 1
    return sum(x, axes, keepdims) / count if count else sum(x, axes, keepdims) * float("nan")


def var(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, correction: int = 1, dim: Axis = None,
        keepdim: bool | None = None, unbiased: bool | None = None
) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as torch.var."""
    if not isinstance(x, Tensor):
        x = coerce(x, "var", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_axis(axis, x.ndim, "var")
    count = math.prod(x.shape[a] for a in axes) if axes else 1
    centered = x - mean(x, axes, keepdims=True)
    return sum(centered * centered, axes, keepdims) / builtins.max(count - correction, 0)


class StdFromVar(Function):
    """sqrt of a variance, with torch.std's gradient rule: 0 where the std is 0
    (a constant slice), where plain sqrt would give 0 * inf = NaN."""

    saved_inputs = ()

    def forward(self, v):
        return backend.get_array_module(v).sqrt(v)

    def backward(self, g):
        from .elementwise import where

        y = self.output
        zero = y.data == 0
        return where(zero, 0.0, g / (2 * where(zero, 1.0, y)))


def std(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, correction: int = 1, dim: Axis = None,
        keepdim: bool | None = None, unbiased: bool | None = None
) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "std", "x")
    return StdFromVar()(var(x, axis, keepdims, correction=correction, dim=dim,
                            keepdim=keepdim, unbiased=unbiased))


def max(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None
) -> Tensor:  # noqa: A001
    """Largest value over ``axis`` (values only, like ``torch.amax``)."""
    if not isinstance(x, Tensor):
        x = coerce(x, "max", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    return MaxMin(normalize_axis(axis, x.ndim, "max"), keepdims, largest=True)(x)


def min(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None
) -> Tensor:  # noqa: A001
    if not isinstance(x, Tensor):
        x = coerce(x, "min", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    return MaxMin(normalize_axis(axis, x.ndim, "min"), keepdims, largest=False)(x)


def logsumexp(
        x: TensorLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None
) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "logsumexp", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    return LogSumExp(normalize_axis(axis, x.ndim, "logsumexp"), keepdims)(x)


def argmax(
        x: TensorLike, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
        keepdim: bool | None = None
) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "argmax", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    if axis is not None:
        axis = check_axes((axis,), x.ndim, "argmax")[0]
    return _const(x.data.argmax(axis=axis, keepdims=keepdims))


def argmin(
        x: TensorLike, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
        keepdim: bool | None = None
) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "argmin", "x")
    axis, keepdims = _resolve(axis, keepdims, dim, keepdim)
    if axis is not None:
        axis = check_axes((axis,), x.ndim, "argmin")[0]
    return _const(x.data.argmin(axis=axis, keepdims=keepdims))
