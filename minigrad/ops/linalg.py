"""Matrix products. ``matmul`` follows ``numpy.matmul``/``torch.matmul``:
batch axes broadcast, and 1-D operands are treated as a row/column vector.

For Y = A B (last two axes):  dA = G B^T,  dB = A^T G,
each summed over broadcast batch axes with ``sum_to``.
"""
from __future__ import annotations

from ..errors import ShapeError
from ..function import Function
from .shape import reshape, sum_to, transpose


class MatMul(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        da = sum_to(matmul(g, transpose(b)), a.shape) if self.needs_input_grad[0] else None
        db = sum_to(matmul(transpose(a), g), b.shape) if self.needs_input_grad[1] else None
        return da, db


def matmul(a, b):
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
