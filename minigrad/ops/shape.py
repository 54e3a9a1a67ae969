"""Ops that move values around without arithmetic: reshape, transpose,
broadcast, indexing, concatenation, splitting, scatter-add.

``sum_to`` is the one place where broadcasting is undone: every op whose forward
broadcasts reduces its gradient with it.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import backend
from ..errors import ShapeError
from ..function import Function
from ..tensor import Tensor
from ..typing import Shape, TensorLike
from ._axes import check_axes, check_axis
from ._convert import coerce


# ---------------------------------------------------------------- reshaping
class Reshape(Function):
    saves_output = False
    saved_inputs = ()
    view_op = "maybe"

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.in_shape)


def reshape(x: TensorLike, *shape: int) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "reshape", "x")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if shape == x.shape:
        return x
    known = math.prod(s for s in shape if s != -1)
    if shape.count(-1) > 1 or (
        -1 not in shape and known != x.numel()
    ) or (-1 in shape and (known == 0 or x.numel() % known)):
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.numel()} elements) into {shape}")
    return Reshape(shape)(x)


class Transpose(Function):
    saves_output = False
    saved_inputs = ()
    view_op = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return Transpose(tuple(inverse))(gy)   # (a valid permutation: no checks)


def permute(x: TensorLike, *axes: int) -> Tensor:
    """Reorder the axes: output axis i is input axis ``axes[i]``."""
    if not isinstance(x, Tensor):
        x = coerce(x, "permute", "x")
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if x.ndim == 0 and axes in ((), (0,), (-1,)):
        return x
    axes = check_axes(axes, x.ndim, "permute")
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: {axes} is not a permutation of the {x.ndim} axes "
                         f"of a tensor of shape {x.shape}")
    if axes == tuple(range(x.ndim)):
        return x
    return Transpose(axes)(x)


def transpose(x: TensorLike, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes (PyTorch's ``transpose``); the last two by default."""
    if not isinstance(x, Tensor):
        x = coerce(x, "transpose", "x")
    ndim = x.ndim
    dim0, dim1 = check_axis(dim0, ndim, "transpose"), check_axis(dim1, ndim, "transpose")
    if dim0 == dim1:
        return x
    axes = list(range(ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Transpose(tuple(axes))(x)   # a permutation by construction


def T(x):
    """All axes reversed (``x.T``), as in NumPy."""
    if not isinstance(x, Tensor):
        x = coerce(x, "T", "x")
    return permute(x, *reversed(range(x.ndim)))


def squeeze(x: TensorLike, dim: int | tuple[int, ...] | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "squeeze", "x")
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    dims = set(check_axes(dims, x.ndim, "squeeze"))
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x: TensorLike, dim: int) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "unsqueeze", "x")
    dim = check_axis(dim, x.ndim, "unsqueeze", new=True)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def flatten(x: TensorLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "flatten", "x")
    start, end = check_axes((start_dim, end_dim), x.ndim, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"(tensor of {x.ndim} dimensions)")
    merged = math.prod(x.shape[start:end + 1])
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


# ------------------------------------------------------------ broadcasting
class BroadcastTo(Function):
    saves_output = False
    view_op = True
    saved_inputs = ()

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        xp = backend.get_array_module(x)
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.in_shape)


def broadcast_to(x: TensorLike, shape: Shape) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "broadcast_to", "x")
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return BroadcastTo(shape)(x)


def _sum_to_axes(in_shape, shape):
    """Axes to sum so that an array of ``in_shape`` reduces to ``shape``."""
    lead = len(in_shape) - len(shape)
    if lead < 0:
        raise ShapeError(f"sum_to: cannot reduce shape {in_shape} to {shape}")
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and in_shape[lead + i] != 1:
            axes.append(lead + i)
        elif s != in_shape[lead + i]:
            raise ShapeError(f"sum_to: cannot reduce shape {in_shape} to {shape}")
    return tuple(axes), lead


class SumTo(Function):
    saves_output = False
    saved_inputs = ()

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        axes, lead = _sum_to_axes(x.shape, self.shape)
        y = x.sum(axis=axes, keepdims=True)
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.in_shape)


def sum_to(x: TensorLike, shape: Shape) -> Tensor:
    """Sum ``x`` down to ``shape``: the adjoint of broadcasting ``shape`` up to x's."""
    if not isinstance(x, Tensor):
        x = coerce(x, "sum_to", "x")
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


# ---------------------------------------------------------------- indexing
def _unwrap_key(key, device):
    """An index key with Tensors replaced by arrays, and arrays moved to ``device``."""
    def one(k):
        if isinstance(k, Tensor):
            k = k.data
        elif isinstance(k, list):
            # an empty list selects nothing (np.asarray([]) would be a float index)
            k = np.asarray(k) if k else np.zeros(0, dtype=np.int64)
        if isinstance(k, np.ndarray) or backend.is_cupy_array(k):
            k = backend.to_device(k, device)
        return k

    return tuple(one(k) for k in key) if isinstance(key, tuple) else one(key)


class GetItem(Function):
    """``x[key]``: slices, integers, integer arrays, boolean masks."""

    saves_output = False
    saved_inputs = ()
    view_op = "maybe"

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.key]

    def backward(self, gy):
        return ScatterAdd(self.key, self.in_shape)(gy)


class ScatterAdd(Function):
    """A zero tensor of ``shape`` with ``values`` added at ``key`` (repeats add up).

    The adjoint of ``GetItem``: indexing forward, scatter-add backward, and the
    other way round. It is also the segment sum of tree models
    (:func:`index_add`).
    """

    saves_output = False
    saved_inputs = ()

    def __init__(self, key, shape):
        self.key = key
        self.shape = shape

    def forward(self, values):
        xp = backend.get_array_module(values)
        out = xp.zeros(self.shape, dtype=values.dtype)
        backend.scatter_add(out, self.key, values)
        return out

    def backward(self, gy):
        return GetItem(self.key)(gy)


def getitem(x: TensorLike, key) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "getitem", "x")
    key = _unwrap_key(key, x.device)
    try:
        return GetItem(key)(x)
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor of shape {x.shape})") from None


def _key_on_device(index, like):
    data = index.data if isinstance(index, Tensor) else index
    return backend.to_device(backend.get_array_module(data).asarray(data), like.device)


def index_add(x: TensorLike, dim: int, index: TensorLike, source: TensorLike) -> Tensor:
    """``x`` with ``source``'s slices added at positions ``index`` along ``dim``.

    ``out[..., index[i], ...] += source[..., i, ...]``; repeated indices add up.
    Same semantics as ``torch.index_add``.
    """
    if not isinstance(x, Tensor):
        x = coerce(x, "index_add", "x")
    index = _key_on_device(index, x)
    dim = check_axis(dim, x.ndim, "index_add")
    key = (slice(None),) * dim + (index,)
    return x + ScatterAdd(key, x.shape)(source)


def segment_sum(x: TensorLike, segment_ids: TensorLike, num_segments: int) -> Tensor:
    """Rows of ``x`` summed into ``num_segments`` groups: ``out[s] = sum x[i]``
    over the rows ``i`` with ``segment_ids[i] == s``.

    Tree models use it to add up the children's states of every parent at once.
    """
    if not isinstance(x, Tensor):
        x = coerce(x, "segment_sum", "x")
    ids = _key_on_device(segment_ids, x)
    if ids.shape[0] != x.shape[0]:
        raise ShapeError(f"segment_sum: {ids.shape[0]} segment ids for {x.shape[0]} rows")
    return ScatterAdd((ids,), (int(num_segments),) + x.shape[1:])(x)


# ------------------------------------------------------- joining, splitting
class Concatenate(Function):
    saves_output = False
    saved_inputs = ()

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = backend.get_array_module(xs[0])
        y = xp.concatenate(xs, axis=self.axis)   # (numpy checks the shapes first)
        self.sizes = [x.shape[self.axis] for x in xs]
        return y

    def backward(self, gy):
        bounds = np.cumsum(self.sizes)[:-1].tolist()
        return split_at(gy, bounds, self.axis)


def concatenate(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: expected a non-empty list of tensors")
    tensors = _as_tensors(tensors, "concatenate")
    if tensors[0].ndim == 0:   # (a 0-d among others fails in numpy, as a ShapeError)
        raise ShapeError("concatenate: zero-dimensional tensors cannot be concatenated "
                         "(use stack, or reshape them to shape (1,))")
    axis = check_axis(axis, tensors[0].ndim, "concatenate")
    if len(tensors) == 1:
        return tensors[0]
    return Concatenate(axis)(*tensors)


def stack(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    tensors = _as_tensors(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    axis = check_axis(axis, tensors[0].ndim, "stack", new=True)
    return concatenate([unsqueeze(t, axis) for t in tensors], axis)


def _as_tensors(tensors, op):
    for t in tensors:
        if not isinstance(t, Tensor):
            return [t if isinstance(t, Tensor) else coerce(t, op, f"element {i} of the list")
                    for i, t in enumerate(tensors)]
    return tensors


class Split(Function):
    saves_output = False
    saved_inputs = ()
    view_op = True

    def __init__(self, bounds, axis):
        self.bounds, self.axis = bounds, axis

    def forward(self, x):
        xp = backend.get_array_module(x)
        return tuple(xp.split(x, self.bounds, axis=self.axis))

    def backward(self, *gys):
        return concatenate(gys, self.axis)


def split_at(x: TensorLike, bounds: Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``x`` cut before each index in ``bounds`` along ``axis``."""
    if not isinstance(x, Tensor):
        x = coerce(x, "split_at", "x")
    axis = check_axis(axis, x.ndim, "split")
    if not bounds:
        return (x,)
    return Split(list(bounds), axis)(x)


def split(x: TensorLike, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``split``: pieces of size ``n`` (last one shorter), or of the given sizes."""
    if not isinstance(x, Tensor):
        x = coerce(x, "split", "x")
    if x.ndim == 0:
        raise ShapeError("split: a zero-dimensional tensor cannot be split")
    dim = check_axis(dim, x.ndim, "split")
    length = x.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        n = int(split_size_or_sections)
        if n <= 0:
            raise ValueError(f"split: split size must be positive, got {n}")
        bounds = list(range(n, length, n))
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} do not add up to {length} "
                             f"(axis {dim} of shape {x.shape})")
        bounds = np.cumsum(sizes)[:-1].tolist()
    out = split_at(x, bounds, dim)
    return out if isinstance(out, tuple) else (out,)


def chunk(x: TensorLike, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    if not isinstance(x, Tensor):
        x = coerce(x, "chunk", "x")
    if x.ndim == 0:
        raise ShapeError("chunk: a zero-dimensional tensor cannot be chunked")
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: the number of chunks must be a positive integer, "
                         f"got {chunks!r}")
    length = x.shape[check_axis(dim, x.ndim, "chunk")]
    if length == 0:  # torch gives ``chunks`` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, max(1, -(-length // chunks)), dim)
