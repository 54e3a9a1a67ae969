"""The four operations and powers. Each backward undoes broadcasting with ``sum_to``.

With inputs a, b and upstream gradient g = dL/dy:

    y = a + b    da = g             db = g
    y = a - b    da = g             db = -g
    y = a * b    da = g b           db = g a
    y = a / b    da = g / b         db = -g (a / b) / b   (= -g a / b^2, without overflow)
    y = a ** b   da = g b a^(b-1)   db = g y log a
"""
from __future__ import annotations

from ..function import Function
from ..tensor import Tensor
from ..typing import TensorLike
from ._convert import as_tensor, coerce
from .shape import sum_to


class Add(Function):
    saves_output = False
    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        a, b = self.inputs
        return sum_to(g, a.shape), sum_to(g, b.shape)


class Sub(Function):
    saves_output = False
    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        a, b = self.inputs
        return sum_to(g, a.shape), sum_to(-g, b.shape)


def _cross_saved(fn):
    """For a * b and a @ b: da needs b, db needs a (what torch saves)."""
    return [i for i, other in ((0, 1), (1, 0)) if fn.needs_input_grad[other]]


class Mul(Function):
    saves_output = False
    saved_input_indices = _cross_saved

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        da = sum_to(g * b, a.shape) if self.needs_input_grad[0] else None
        db = sum_to(g * a, b.shape) if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    saves_output = False

    def saved_input_indices(self):
        return (0, 1) if self.needs_input_grad[1] else (1,)

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        da = sum_to(g / b, a.shape) if self.needs_input_grad[0] else None
        # -g (a / b) / b, not -g a / b^2: b^2 overflows (or underflows) long before
        # the gradient does (b = 1e-170 gives -1e140, not -inf)
        db = sum_to(-(g * (a / b)) / b, b.shape) if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    saves_output = False
    saved_inputs = ()

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    def forward(self, a, b):
        return a ** b

    def backward(self, g):
        a, b = self.inputs
        da = db = None
        if self.needs_input_grad[0]:
            # where b == 0 the derivative is 0 (torch's rule), not 0 * 0^-1 = NaN at a = 0
            from .elementwise import where

            zero_exponent = b.data == 0
            if zero_exponent.any():
                # a^(b-1) is computed with exponent 1 there, so that neither this
                # gradient nor its own derivatives meet 0^-1
                da = where(zero_exponent, 0.0, g * b * a ** where(zero_exponent, 1.0, b - 1))
            else:
                da = g * b * a ** (b - 1)
            da = sum_to(da, a.shape)
        if self.needs_input_grad[1]:
            # d(a^b)/db = a^b log a; where a == 0 (and b > 0) the limit is 0.
            from .elementwise import log, where

            safe_a = where(a.data > 0, a, 1.0)
            db = sum_to(g * self.output * log(safe_a), b.shape)
        return da, db


def _binary(fn_cls, a, b):
    if not isinstance(a, Tensor):
        a = as_tensor(a, b) if isinstance(b, Tensor) else coerce(a, fn_cls.__name__, "a")
    b = as_tensor(b, a)
    return fn_cls()(a, b)


def add(a: TensorLike, b: TensorLike) -> Tensor:
    return _binary(Add, a, b)


def sub(a: TensorLike, b: TensorLike) -> Tensor:
    return _binary(Sub, a, b)


def mul(a: TensorLike, b: TensorLike) -> Tensor:
    return _binary(Mul, a, b)


def div(a: TensorLike, b: TensorLike) -> Tensor:
    return _binary(Div, a, b)


def neg(a: TensorLike) -> Tensor:
    return Neg()(a)


def pow(a: TensorLike, b: TensorLike) -> Tensor:
    """``a ** b`` for a tensor or number exponent (differentiable in both)."""
    if isinstance(b, (int, float)) and isinstance(a, Tensor):
        if b == 1:
            return a
    return _binary(Pow, a, b)


def square(a: TensorLike) -> Tensor:
    return mul(a, a)


