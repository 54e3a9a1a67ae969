"""Elementwise functions and activations.

Each backward multiplies the upstream gradient g by the local derivative,
written with Tensor ops so that it can be differentiated again:

    exp:      y = e^x                 dx = g y
    log:      y = ln x                dx = g / x
    sqrt:     y = sqrt(x)             dx = g / (2 y)
    tanh:     y = tanh x              dx = g (1 - y^2)
    sigmoid:  y = 1 / (1 + e^-x)      dx = g y (1 - y)
    relu:     y = max(x, 0)           dx = g [x > 0]
    softplus: y = ln(1 + e^x)         dx = g sigmoid(x)
    erf:      y = erf x               dx = g 2/sqrt(pi) e^(-x^2)
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..function import Function
from ..grad_mode import state as _grad_state
from ..tensor import Tensor
from ..typing import Device, DTypeLike, TensorLike
from ._convert import as_tensor, coerce
from .shape import sum_to


def _xp(a):
    return backend.get_array_module(a)


class Exp(Function):
    saved_inputs = ()

    def forward(self, x):
        return _xp(x).exp(x)

    def backward(self, g):
        return g * self.output


class Log(Function):
    saves_output = False

    def forward(self, x):
        return _xp(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]


class Sqrt(Function):
    saved_inputs = ()

    def forward(self, x):
        return _xp(x).sqrt(x)

    def backward(self, g):
        return g / (2 * self.output)


class Abs(Function):
    saves_output = False

    def forward(self, x):
        return _xp(x).abs(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * _const(_xp(x.data).sign(x.data))


class Tanh(Function):
    saved_inputs = ()

    def forward(self, x):
        return _xp(x).tanh(x)

    def backward(self, g):
        if not _grad_state.grad_enabled:   # no create_graph: the same formula on arrays
            return Tensor._make(self.backward_array(g.data))
        y = self.output
        return g * (1 - y * y)

    def backward_array(self, g):
        """:meth:`backward` on arrays (no graph); tested equal to it."""
        y = self._output_arrays[0]
        return g * (1 - y * y)


class Sigmoid(Function):
    saved_inputs = ()

    def forward(self, x):
        xp = _xp(x)
        # e = exp(-|x|) never overflows; for x < 0 the form e / (1 + e) keeps the
        # tiny tail accurate (sigmoid(-40) = 4.2e-18, not 0)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, g):
        if not _grad_state.grad_enabled:   # no create_graph: the same formula on arrays
            return Tensor._make(self.backward_array(g.data))
        y = self.output
        return g * y * (1 - y)

    def backward_array(self, g):
        """:meth:`backward` on arrays (no graph); tested equal to it."""
        y = self._output_arrays[0]
        return g * y * (1 - y)


class Relu(Function):
    saves_output = False

    def forward(self, x):
        return _xp(x).maximum(x, 0)

    def backward(self, g):
        x = self.inputs[0]
        return g * _const((x.data > 0).astype(x.dtype))


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``."""

    saves_output = False

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = _xp(x)
        bx = self.beta * x
        return xp.where(bx > self.threshold, x, xp.logaddexp(0, bx) / self.beta)

    def backward(self, g):
        x = self.inputs[0]
        linear = _const(x.data * self.beta > self.threshold)
        return g * where(linear, 1.0, sigmoid(x * self.beta))


class Erf(Function):
    saves_output = False

    def forward(self, x):
        return backend.erf(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * (2 / math.sqrt(math.pi)) * exp(-(x * x))


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly, as in PyTorch."""

    saves_output = False

    def forward(self, a, b):
        return _xp(a).maximum(a, b)

    def backward(self, g):
        a, b = self.inputs
        return _split_by_winner(g, a, b, a.data > b.data)


class Minimum(Function):
    saves_output = False

    def forward(self, a, b):
        return _xp(a).minimum(a, b)

    def backward(self, g):
        a, b = self.inputs
        return _split_by_winner(g, a, b, a.data < b.data)


def _split_by_winner(g, a, b, a_wins):
    xp = _xp(a.data)
    tie = a.data == b.data
    dtype = g.dtype
    wa = _const(xp.where(tie, 0.5, a_wins).astype(dtype))
    wb = _const(xp.where(tie, 0.5, ~a_wins & ~tie).astype(dtype))
    return sum_to(g * wa, a.shape), sum_to(g * wb, b.shape)


class Where(Function):
    """``where(cond, a, b)``: a where cond is true, b elsewhere."""

    saves_output = False
    saved_inputs = ()

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return _xp(a).where(self.cond, a, b)

    def backward(self, g):
        a, b = self.inputs
        zero = _const(_xp(g.data).zeros((), dtype=g.dtype))
        da = sum_to(where(self.cond, g, zero), a.shape) if self.needs_input_grad[0] else None
        db = sum_to(where(self.cond, zero, g), b.shape) if self.needs_input_grad[1] else None
        return da, db


class Clip(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= x <= hi (PyTorch's rule)."""

    saves_output = False

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = _xp(x)
        y = x
        if self.lo is not None:
            y = xp.maximum(y, xp.asarray(self.lo, dtype=x.dtype))
        if self.hi is not None:
            y = xp.minimum(y, xp.asarray(self.hi, dtype=x.dtype))
        return y

    def backward(self, g):
        x = self.inputs[0].data
        inside = _xp(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return g * _const(inside.astype(g.dtype))


class Cast(Function):
    """Change dtype; the gradient is cast back."""

    saves_output = False
    saved_inputs = ()

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return astype(g, self.in_dtype)


class ToDevice(Function):
    """Move between CPU and GPU; the gradient moves back."""

    saves_output = False
    saved_inputs = ()

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.in_device = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g):
        return to_device(g, self.in_device)


class Clone(Function):
    saves_output = False
    saved_inputs = ()

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


# ------------------------------------------------------------------ wrappers
def _const(array):
    return Tensor._make(array)


def exp(x: TensorLike) -> Tensor:
    return Exp()(x)


def log(x: TensorLike) -> Tensor:
    return Log()(x)


def sqrt(x: TensorLike) -> Tensor:
    return Sqrt()(x)


def abs(x: TensorLike) -> Tensor:  # noqa: A001  (mirrors torch.abs)
    return Abs()(x)


def tanh(x: TensorLike) -> Tensor:
    return Tanh()(x)


def sigmoid(x: TensorLike) -> Tensor:
    return Sigmoid()(x)


def relu(x: TensorLike) -> Tensor:
    return Relu()(x)


def softplus(x: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus(beta, threshold)(x)


def erf(x: TensorLike) -> Tensor:
    return Erf()(x)


def gelu(x: TensorLike, approximate: str = "none") -> Tensor:
    """GELU: x Phi(x) with Phi the standard normal CDF (``approximate="tanh"``:
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))), as ``torch.nn.functional.gelu``."""
    if approximate == "none":
        return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))
    if approximate == "tanh":
        return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    if not isinstance(a, Tensor):
        a = as_tensor(a, b) if isinstance(b, Tensor) else coerce(a, "maximum", "a")
    return Maximum()(a, as_tensor(b, a))


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    if not isinstance(a, Tensor):
        a = as_tensor(a, b) if isinstance(b, Tensor) else coerce(a, "minimum", "a")
    return Minimum()(a, as_tensor(b, a))


def where(cond: TensorLike, a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise choice: ``a`` where ``cond`` is true, ``b`` elsewhere."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = coerce(a, "where", "a")
    like = a if isinstance(a, Tensor) else b
    a, b = as_tensor(a, like), as_tensor(b, like)
    cond = cond.data if isinstance(cond, Tensor) else cond
    cond = backend.to_device(_xp(cond).asarray(cond, dtype=bool), like.device)
    return Where(cond)(a, b)


def clip(x: TensorLike, min=None, max=None) -> Tensor:  # noqa: A002  (torch's argument names)
    if not isinstance(x, Tensor):
        x = coerce(x, "clip", "x")
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip(min, max)(x)


def astype(x: TensorLike, dtype: DTypeLike) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "astype", "x")
    if np.dtype(dtype) == x.dtype:
        return x
    return Cast(dtype)(x)


def to_device(x: TensorLike, device: Device) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "to_device", "x")
    return ToDevice(device)(x)


def clone(x: TensorLike) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "clone", "x")
    return Clone()(x)


def sign(x: TensorLike) -> Tensor:
    """Elementwise sign, a constant (no gradient), as ``torch.sign``'s zero gradient."""
    if not isinstance(x, Tensor):
        x = coerce(x, "sign", "x")
    return _const(_xp(x.data).sign(x.data))


# ------------------------------------------------- comparisons (no gradient)
def _compare(name):
    def compare(a, b):
        if not isinstance(a, Tensor):
            a = as_tensor(a, b) if isinstance(b, Tensor) else coerce(a, name, "a")
        b = as_tensor(b, a)
        return _const(getattr(_xp(a.data), name)(a.data, b.data))

    compare.__name__ = name
    return compare


lt, le, gt, ge = _compare("less"), _compare("less_equal"), _compare("greater"), _compare("greater_equal")
eq, ne = _compare("equal"), _compare("not_equal")


def logical_not(x: TensorLike) -> Tensor:
    if not isinstance(x, Tensor):
        x = coerce(x, "logical_not", "x")
    return _const(_xp(x.data).logical_not(x.data))
