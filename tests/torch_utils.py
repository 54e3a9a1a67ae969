"""Helpers shared by the op parity tests: build the same inputs in minigrad and in
torch (float64), run an op in both, and compare values, gradients and second
derivatives.

Torch is the reference. Every comparison goes minigrad-vs-torch; nothing here
compares minigrad with numbers minigrad computed itself.

The core is :func:`check_parity`::

    check_parity(lambda a, b: a * b, lambda a, b: a * b, [x, y])

runs both functions on the arrays, then checks

1. the outputs (value, shape, dtype float64),
2. the vector-Jacobian product ``g = grad(f(x), x, v)`` for a random ``v``,
   through ``minigrad.grad`` and, on a fresh graph, through ``.backward()``,
3. the second derivative ``grad((g * w).sum(), x)`` with ``g`` built with
   ``create_graph=True``, for a random ``w`` (unless ``second_order=False``).
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

RTOL = 1e-10
ATOL = 1e-12

# ------------------------------------------------------------------ strategies
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def shapes(min_dims=0, max_dims=4, min_side=0, max_side=4):
    """Array shapes, including size-1 and (with ``min_side=0``) zero-size axes."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4):
    """``num_shapes`` shapes that broadcast together (a list of tuples)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda s: list(s.input_shapes))


@st.composite
def axes_for(draw, ndim, allow_none=True):
    """A reduction axis argument for an ``ndim``-dim array: None, an int or a tuple
    of distinct axes, each possibly written negative."""
    options = ["none"] if (allow_none or ndim == 0) else []
    if ndim > 0:
        options += ["int", "tuple"]
    kind = draw(st.sampled_from(options))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    picked = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                           unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in picked)


def torch_dims(axis, ndim):
    """minigrad's ``axis`` (None = all) written as an explicit torch ``dim`` tuple."""
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def reduced_sizes(shape, axis):
    """Sizes of the axes that ``axis`` reduces."""
    ndim = len(shape)
    axes = range(ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    return [shape[a % ndim] for a in axes] if ndim else []


# ---------------------------------------------------------------- conversion
def rng_of(seed):
    return np.random.default_rng(seed)


def randn(rng, shape, low=None, high=None):
    """float64 data: standard normal, or uniform in [low, high)."""
    if low is None:
        return np.asarray(rng.standard_normal(shape))
    return np.asarray(rng.uniform(low, high, size=shape))


def mg_tensor(a, requires_grad=False):
    a = np.array(a, copy=True)
    return mg.tensor(a, requires_grad=requires_grad)


def torch_tensor(a, requires_grad=False):
    a = np.array(a, copy=True)
    t = torch.from_numpy(a)
    if requires_grad:
        t.requires_grad_(True)
    return t


def to_numpy(x):
    """A minigrad Tensor, torch tensor, array or number as a NumPy array."""
    if isinstance(x, mg.Tensor):
        return x.numpy()
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy(force=True)
    return np.asarray(x)


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, what="value"):
    """minigrad's ``actual`` equals torch's ``expected``: same shape, float64 when
    torch's is, values within ``rtol``/``atol`` (NaN matches NaN, inf matches inf)."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, torch has {e.shape}"
    if e.dtype == np.float64:
        assert a.dtype == np.float64, f"{what}: dtype {a.dtype}, torch has float64"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=f"{what} differs from torch")


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _zeros_if_none(g, shape):
    return np.zeros(shape) if g is None else to_numpy(g)


def check_parity(mg_fn, torch_fn, inputs, *, grad=True, second_order=True,
                 wrt=None, rtol=RTOL, atol=ATOL, second_atol=None, seed=0):
    """Run ``mg_fn`` and ``torch_fn`` on the same ``inputs`` and compare everything.

    ``inputs`` are NumPy arrays (or numbers, passed through unchanged). Float
    arrays become leaves requiring grad (or only those at the positions ``wrt``);
    integer/bool arrays become constant tensors. The functions return one
    tensor or a tuple/list of tensors. ``second_atol`` (default ``atol``) is the
    absolute tolerance of the second derivatives, for ops whose exact second
    derivative is 0 where both libraries return rounding noise.
    """
    rng = np.random.default_rng(seed)
    # NumPy scalars (what rng.standard_normal(()) returns) count as 0-d arrays
    arrays = [np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else a
              for a in inputs]
    is_float = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
    if wrt is None:
        wrt = [i for i, f in enumerate(is_float) if f]
    wrt = list(wrt) if grad else []

    def build(make):
        return [make(a, i in wrt) if isinstance(a, np.ndarray) else a
                for i, a in enumerate(arrays)]

    mg_in, th_in = build(mg_tensor), build(torch_tensor)
    mg_out, th_out = _as_list(mg_fn(*mg_in)), _as_list(torch_fn(*th_in))
    assert len(mg_out) == len(th_out), (
        f"{len(mg_out)} outputs, torch has {len(th_out)}")
    for k, (m, t) in enumerate(zip(mg_out, th_out)):
        assert_close(m, t, rtol, atol, what=f"output {k}")
    if not wrt:
        return

    # first derivative: vector-Jacobian product with a random cotangent v
    vs = [rng.standard_normal(tuple(t.shape)) for t in th_out]
    mg_x = [mg_in[i] for i in wrt]
    th_x = [th_in[i] for i in wrt]
    mg_g = mg.grad(mg_out, mg_x, grad_outputs=[mg_tensor(v) for v in vs],
                   create_graph=second_order, allow_unused=True)
    th_g = torch.autograd.grad(th_out, th_x, grad_outputs=[torch_tensor(v) for v in vs],
                               create_graph=second_order, allow_unused=True)
    for i, m, t in zip(wrt, mg_g, th_g):
        shape = np.shape(arrays[i])
        assert_close(_zeros_if_none(m, shape), _zeros_if_none(t, shape), rtol, atol,
                     what=f"gradient of input {i}")

    # the same first derivative through .backward() on a fresh graph
    mg_in2 = build(mg_tensor)
    outs = _as_list(mg_fn(*mg_in2))
    for o, v in zip(outs, vs):
        if o.requires_grad:
            o.backward(mg_tensor(v), retain_graph=True)
    for i, t in zip(wrt, th_g):
        shape = np.shape(arrays[i])
        assert_close(_zeros_if_none(mg_in2[i].grad, shape), _zeros_if_none(t, shape),
                     rtol, atol, what=f".backward() gradient of input {i}")

    if not second_order:
        return
    # second derivative: grad of (g . w) with respect to the inputs
    ws = [rng.standard_normal(np.shape(arrays[i])) for i in wrt]
    mg_terms = [(g * mg_tensor(w)).sum() for g, w in zip(mg_g, ws)
                if g is not None and g.requires_grad]
    th_terms = [(g * torch_tensor(w)).sum() for g, w in zip(th_g, ws)
                if g is not None and g.requires_grad]
    mg_h = [None] * len(wrt)
    th_h = [None] * len(wrt)
    if mg_terms:
        total = mg_terms[0]
        for term in mg_terms[1:]:
            total = total + term
        mg_h = mg.grad(total, mg_x, allow_unused=True)
    if th_terms:
        th_h = torch.autograd.grad(sum(th_terms), th_x, allow_unused=True)
    for i, m, t in zip(wrt, mg_h, th_h):
        shape = np.shape(arrays[i])
        assert_close(_zeros_if_none(m, shape), _zeros_if_none(t, shape), rtol,
                     atol if second_atol is None else second_atol,
                     what=f"second derivative of input {i}")
