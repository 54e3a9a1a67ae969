"""Row ops in one graph node each: ``unbind``/``stack_steps`` and ``take_rows``/``put_rows``.

A recurrent layer cuts the precomputed input projection (T, B, 4H) into T
steps and glues the T hidden states back into (T, B, H). With the engine's
generic ops that costs T indexing nodes whose backward each scatters into a
zero array of the full size; these two ops do it in one node each. They are
each other's adjoint, so both backwards are Tensor ops (twice differentiable)::

    unbind:  (x_0, ..., x_{T-1}) = x          dx = stack(dx_0, ..., dx_{T-1})
    stack:   y = [x_0; ...; x_{T-1}]          (dx_0, ..., dx_{T-1}) = unbind(dy)

A tree model gathers rows by *distinct* indices (a permutation of the nodes
into height order and back; each child's state once). The engine's ``x[index]``
allows repeated indices, so its backward must scatter with an unbuffered add
(``np.add.at``, slow on the CPU); for distinct rows a plain assignment is the
adjoint, so ``take_rows`` and ``put_rows`` come as another adjoint pair::

    take_rows:  y = x[index]                        dx = put_rows(dy, index, len(x))
    put_rows:   y = 0 (n rows);  y[index] = x       dx = take_rows(dy, index)
"""
from __future__ import annotations

from .. import backend
from ..function import Function


class Unbind(Function):
    """Split ``x`` along axis 0 into its ``x.shape[0]`` slices (views, no copy)."""

    def forward(self, x):
        return tuple(x[i] for i in range(x.shape[0]))

    def backward(self, *gys):
        return stack_steps(gys)


class Stack(Function):
    """Stack equally shaped arrays along a new axis 0."""

    def forward(self, *xs):
        return backend.get_array_module(xs[0]).stack(xs, axis=0)

    def backward(self, gy):
        return unbind(gy)


def unbind(x):
    """The slices ``x[0], ..., x[n-1]`` as a tuple (one graph node)."""
    if x.shape[0] == 1:
        return (x.reshape(x.shape[1:]),)
    return Unbind()(x)


def stack_steps(xs):
    """``xs`` stacked along a new first axis (one graph node)."""
    xs = list(xs)
    if len(xs) == 1:
        return xs[0].reshape((1,) + xs[0].shape)
    return Stack()(*xs)


class TakeRows(Function):
    """Rows ``index`` of ``x`` (distinct indices: not checked, the caller knows)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.num_rows = x.shape[0]
        return x[self.index]

    def backward(self, gy):
        return PutRows(self.index, self.num_rows)(gy)


class PutRows(Function):
    """A zero array of ``num_rows`` rows with row ``index[k]`` set to ``x[k]``."""

    def __init__(self, index, num_rows):
        self.index, self.num_rows = index, num_rows

    def forward(self, x):
        xp = backend.get_array_module(x)
        out = xp.zeros((self.num_rows,) + x.shape[1:], dtype=x.dtype)
        out[self.index] = x
        return out

    def backward(self, gy):
        return TakeRows(self.index)(gy)


def take_rows(x, index):
    """``x[index]`` for a backend int array of *distinct* row indices."""
    return TakeRows(index)(x)


def put_rows(x, index, num_rows):
    """The adjoint of :func:`take_rows`: rows of ``x`` placed at ``index`` in zeros."""
    return PutRows(index, num_rows)(x)
