"""Matrix products. ``matmul`` follows ``numpy.matmul``/``torch.matmul``:
batch axes broadcast, and 1-D operands are treated as a row/column vector.

For Y = A B (last two axes):  dA = G B^T,  dB = A^T G,
each summed over broadcast batch axes with ``sum_to``.
"""
from __future__ import annotations

from ..errors import ShapeError
from ..function import Function
from ..tensor import Tensor
from ..typing import TensorLike
from ._convert import coerce
from .shape import reshape, sum_to, transpose


class MatMul(Function):
    saves_output = False

    def saved_input_indices(self):
        """da = g b^T needs b, db = a^T g needs a (what torch saves)."""
        return [i for i, other in ((0, 1), (1, 0)) if self.needs_input_grad[other]]

    def forward(self, a, b):
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        da = db = None
        # An operand stored transposed (the W^T view of ``linear``) gets its gradient
        # computed transposed too, (B G^T)^T or (G^T A)^T: the same product, but the
        # Transpose node's backward then hands back a C-contiguous view, so the leaf
        # gradient is not a slow transposing copy of the whole weight.
        if self.needs_input_grad[0]:
            if _stored_transposed(a.data):
                da = transpose(matmul(b, transpose(g)))
            else:
                da = matmul(g, transpose(b))
            da = sum_to(da, a.shape)
        if self.needs_input_grad[1]:
            if _stored_transposed(b.data):
                db = transpose(matmul(transpose(g), a))
            else:
                db = matmul(transpose(a), g)
            db = sum_to(db, b.shape)
        return da, db


def _stored_transposed(x):
    """A 2-D array laid out column-major (a transposed view), not row-major."""
    return x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    if not isinstance(b, Tensor):
        b = coerce(b, "matmul", "b")
    if not isinstance(a, Tensor):
        a = coerce(a, "matmul", "a")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not fit: "
                         f"{a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]}")
    if a.ndim == 1 and b.ndim == 1:
        return reshape(matmul(reshape(a, (1, -1)), reshape(b, (-1, 1))), ())
    if a.ndim == 1:
        return reshape(matmul(reshape(a, (1, -1)), b), b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return reshape(matmul(a, reshape(b, (-1, 1))), a.shape[:-1])
    return MatMul()(a, b)
