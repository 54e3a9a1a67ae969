"""The differentiable ops, and the Tensor methods and operators that call them.

One module per family: ``arithmetic`` (+ - * / **), ``elementwise`` (exp, log,
activations, where, clip, comparisons), ``reduction`` (sum, mean, var, max,
logsumexp), ``shape`` (reshape, transpose, broadcast, indexing, scatter-add,
concatenate, split), ``linalg`` (matmul), ``rows`` (one-node unbind/stack along
axis 0 and gather/place of distinct rows, for recurrent and tree models), ``host``
(host masks, indices and constants on a tensor's device).
"""
from .arithmetic import add, div, mul, neg, pow, square, sub
from .elementwise import (
    abs,
    astype,
    clip,
    clone,
    eq,
    erf,
    exp,
    ge,
    gelu,
    gt,
    le,
    log,
    logical_not,
    lt,
    maximum,
    minimum,
    ne,
    relu,
    sigmoid,
    sign,
    softplus,
    sqrt,
    tanh,
    to_device,
    where,
)
from .host import constant, host_array, index_tensor, on_device
from .linalg import matmul
from .reduction import argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .rows import put_rows, stack_steps, take_rows, unbind
from .shape import (
    T,
    broadcast_to,
    chunk,
    concatenate,
    flatten,
    getitem,
    index_add,
    permute,
    reshape,
    segment_sum,
    split,
    squeeze,
    stack,
    sum_to,
    transpose,
    unsqueeze,
)

__all__ = [name for name in dir() if not name.startswith("_")]


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)

    return reflected


def install_tensor_methods(Tensor):
    """Bind the ops as Tensor operators and methods (``x + y``, ``x.sum()``, ...)."""
    from .. import functional as F

    operators = {
        "__add__": add, "__radd__": _swap(add),
        "__sub__": sub, "__rsub__": _swap(sub),
        "__mul__": mul, "__rmul__": _swap(mul),
        "__truediv__": div, "__rtruediv__": _swap(div),
        "__pow__": pow, "__rpow__": _swap(pow),
        "__matmul__": matmul, "__rmatmul__": _swap(matmul),
        "__neg__": neg, "__pos__": lambda x: x, "__abs__": abs,
        "__getitem__": getitem,
        "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
        "__eq__": eq, "__ne__": ne, "__invert__": logical_not,
    }
    methods = {
        "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh,
        "sigmoid": sigmoid, "relu": relu, "square": square, "pow": pow,
        "sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min,
        "amax": max, "amin": min, "logsumexp": logsumexp, "argmax": argmax,
        "argmin": argmin,
        "reshape": reshape, "view": reshape, "permute": permute,
        "transpose": transpose, "squeeze": squeeze, "unsqueeze": unsqueeze,
        "flatten": flatten, "broadcast_to": broadcast_to, "expand": broadcast_to,
        "sum_to": sum_to, "split": split, "chunk": chunk, "matmul": matmul,
        "clip": clip, "clamp": clip, "maximum": maximum, "minimum": minimum,
        "softmax": F.softmax, "log_softmax": F.log_softmax,
        "masked_fill": F.masked_fill, "index_add": index_add, "sign": sign,
    }
    for name, fn in {**operators, **methods}.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(T)
    Tensor.mT = property(lambda x: transpose(x, -2, -1))
