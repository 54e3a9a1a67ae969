"""Every arithmetic, elementwise, activation, reduction and matrix op against
torch.autograd in float64: values, gradients and second derivatives, on random
shapes (broadcasting, size-1 and zero-size axes) drawn by hypothesis.

Shape, indexing and joining ops are in test_ops_shape.py; softmax, losses,
layer norm and dropout in test_ops_nn.py.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.functional as F
from minigrad.errors import ShapeError
from minigrad.testing import check_parity, randn, reduced_sizes, rng_of, torch_dims
from minigrad.testing.strategies import axes_for, broadcastable_shapes, seeds, shapes


def nonzero(rng, shape, low=0.5, high=2.0):
    """Values bounded away from zero, of either sign (safe denominators)."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def with_ties(rng, shape, values=(-1.0, 0.0, 1.0, 2.0)):
    """Small integer-valued data: many exact ties and exact zeros."""
    return rng.choice(np.asarray(values), size=shape)


# ------------------------------------------------------------------ arithmetic
BINARY = {
    "add": (lambda a, b: a + b, torch.add),
    "sub": (lambda a, b: a - b, torch.sub),
    "mul": (lambda a, b: a * b, torch.mul),
    "div": (lambda a, b: a / b, torch.div),
    "add_fn": (mg.ops.add, torch.add),
    "sub_fn": (mg.ops.sub, torch.sub),
    "mul_fn": (mg.ops.mul, torch.mul),
    "div_fn": (mg.ops.div, torch.div),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=broadcastable_shapes(2), seed=seeds())
def test_binary_arithmetic(name, shapes, seed):
    rng = rng_of(seed)
    a = randn(rng, shapes[0])
    b = nonzero(rng, shapes[1])
    mg_fn, th_fn = BINARY[name]
    check_parity(mg_fn, th_fn, [a, b], seed=seed)


@given(shape=shapes(), seed=seeds())
def test_same_tensor_on_both_sides(shape, seed):
    """x op x: both gradient contributions reach the one leaf and add up."""
    x = nonzero(rng_of(seed), shape)
    check_parity(lambda x: x * x + x / (x + 3.0) - x,
                 lambda x: x * x + x / (x + 3.0) - x, [x], seed=seed)


@pytest.mark.parametrize("op", ["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv"])
@given(shape=shapes(), seed=seeds(), c=st.floats(-3, 3).filter(lambda c: abs(c) > 0.1))
def test_arithmetic_with_python_scalar(op, shape, seed, c):
    fns = {
        "add": lambda x: x + c, "radd": lambda x: c + x,
        "sub": lambda x: x - c, "rsub": lambda x: c - x,
        "mul": lambda x: x * c, "rmul": lambda x: c * x,
        "div": lambda x: x / c, "rdiv": lambda x: c / x,
    }
    x = nonzero(rng_of(seed), shape)
    check_parity(fns[op], fns[op], [x], seed=seed)


@given(shape=shapes(), seed=seeds())
def test_neg(shape, seed):
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: -x, torch.neg, [x], seed=seed)
    check_parity(mg.ops.neg, torch.neg, [x], seed=seed)


# ------------------------------------------------------------------------ pow
@given(shapes=broadcastable_shapes(2), seed=seeds())
def test_pow_tensor_exponent(shapes, seed):
    """Positive bases; the gradient flows to base and exponent (d/db a^b = a^b ln a)."""
    rng = rng_of(seed)
    a = randn(rng, shapes[0], 0.2, 3.0)
    b = randn(rng, shapes[1], -2.5, 2.5)
    check_parity(lambda a, b: a ** b, torch.pow, [a, b], seed=seed)
    check_parity(mg.ops.pow, torch.pow, [a, b], seed=seed)


@given(shape=shapes(), seed=seeds(),
       p=st.one_of(st.sampled_from([0, 1, 2, 3, -1, 0.5, -0.5, 1.0, 2.0]),
                   st.floats(-3, 3)))
def test_pow_scalar_exponent(shape, seed, p):
    a = randn(rng_of(seed), shape, 0.2, 3.0)
    check_parity(lambda a: a ** p, lambda a: a ** p, [a], seed=seed)
    check_parity(lambda a: a.pow(p), lambda a: a.pow(p), [a], seed=seed)


@given(shape=shapes(), seed=seeds(), base=st.floats(0.1, 5.0))
def test_pow_scalar_base(shape, seed, base):
    x = randn(rng_of(seed), shape, -2.0, 2.0)
    check_parity(lambda x: base ** x, lambda x: base ** x, [x], seed=seed)


# ---------------------------------------------------------------- elementwise
def _data_normal(rng, shape):
    return randn(rng, shape)


def _data_positive(rng, shape):
    return randn(rng, shape, 0.05, 10.0)


def _data_ties(rng, shape):
    # exact zeros and repeated values: the kinks of abs/relu must match torch's rule
    x = randn(rng, shape)
    return np.where(rng.random(shape) < 0.3, 0.0, x)


UNARY = {
    # name: (minigrad fn, torch fn, data, has second derivative worth checking)
    "exp": (mg.exp, torch.exp, lambda r, s: randn(r, s, -5, 5)),
    "exp_method": (lambda x: x.exp(), torch.exp, lambda r, s: randn(r, s, -5, 5)),
    "log": (mg.log, torch.log, _data_positive),
    "log_method": (lambda x: x.log(), torch.log, _data_positive),
    "sqrt": (mg.sqrt, torch.sqrt, _data_positive),
    "abs": (mg.abs, torch.abs, _data_ties),
    "abs_builtin": (lambda x: abs(x), torch.abs, _data_ties),
    "tanh": (mg.tanh, torch.tanh, lambda r, s: randn(r, s, -6, 6)),
    "sigmoid": (mg.sigmoid, torch.sigmoid, lambda r, s: randn(r, s, -8, 8)),
    "sigmoid_F": (F.sigmoid, torch.sigmoid, lambda r, s: randn(r, s, -8, 8)),
    "relu": (mg.relu, torch.relu, _data_ties),
    "relu_F": (F.relu, TF.relu, _data_ties),
    "gelu": (F.gelu, TF.gelu, lambda r, s: randn(r, s, -5, 5)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh"), lambda r, s: randn(r, s, -5, 5)),
    "softplus": (F.softplus, TF.softplus, lambda r, s: randn(r, s, -30, 30)),
    "square": (lambda x: x.square(), torch.square, _data_normal),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(), seed=seeds())
def test_unary(name, shape, seed):
    mg_fn, th_fn, data = UNARY[name]
    x = data(rng_of(seed), shape)
    check_parity(mg_fn, th_fn, [x], seed=seed)


@given(shape=shapes(min_dims=1), seed=seeds(),
       beta=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
       threshold=st.sampled_from([0.5, 1.0, 5.0, 20.0]))
def test_softplus_beta_threshold(shape, seed, beta, threshold):
    """Both branches: log(1 + e^(beta x)) / beta, and x itself where beta x > threshold."""
    x = randn(rng_of(seed), shape, -10, 10)
    check_parity(lambda x: F.softplus(x, beta=beta, threshold=threshold),
                 lambda x: TF.softplus(x, beta=beta, threshold=threshold), [x], seed=seed)


def test_softplus_at_the_threshold():
    """beta x == threshold exactly is on the smooth side (torch: linear only where
    beta x > threshold)."""
    x = np.array([9.999999, 10.0, 10.000001, -10.0, 0.0])
    check_parity(lambda x: F.softplus(x, beta=2.0, threshold=20.0),
                 lambda x: TF.softplus(x, beta=2.0, threshold=20.0), [x],
                 second_order=False)
    # Second derivatives off the exact threshold only: torch's softplus double
    # backward switches at beta x < threshold, its backward at beta x > threshold,
    # so at beta x == threshold torch's second derivative is 0 while its first
    # derivative is the smooth sigmoid(beta x); minigrad stays on the smooth side
    # for both.
    x = np.array([9.999999, 10.000001, -10.0, 0.0])
    check_parity(lambda x: F.softplus(x, beta=2.0, threshold=20.0),
                 lambda x: TF.softplus(x, beta=2.0, threshold=20.0), [x])


def test_saturating_activations_far_out():
    """Far from zero: no overflow, and the tiny tails are accurate, as torch's."""
    # (not exactly 20: softplus's default threshold, see test_softplus_at_the_threshold)
    x = np.array([-700.0, -200.0, -60.0, -40.0, -30.0, -20.0, -5.0, 0.0, 5.0, 19.5,
                  21.0, 40.0, 200.0, 700.0])
    for mg_fn, th_fn in [(mg.sigmoid, torch.sigmoid), (mg.tanh, torch.tanh),
                         (F.softplus, TF.softplus), (mg.exp, torch.exp),
                         (F.gelu, TF.gelu)]:
        with np.errstate(over="ignore"):
            check_parity(mg_fn, th_fn, [x], rtol=1e-10, atol=0.0)


def test_log_of_tiny_sigmoid():
    """log(sigmoid(x)) stays finite for very negative x (sigmoid must not round to 0)."""
    x = np.array([-40.0, -60.0, -100.0, -300.0])
    check_parity(lambda x: mg.log(mg.sigmoid(x)), lambda x: torch.log(torch.sigmoid(x)),
                 [x], rtol=1e-10, atol=0.0, second_order=False)
    # the second derivative, -sigmoid(x)(1 - sigmoid(x)) ~ -e^x, is rounding noise
    # of size 1e-17 in both libraries there
    check_parity(lambda x: mg.log(mg.sigmoid(x)), lambda x: torch.log(torch.sigmoid(x)),
                 [x], atol=1e-15)


# ------------------------------------------------------------ maximum, minimum
@pytest.mark.parametrize("which", ["maximum", "minimum"])
@given(shapes=broadcastable_shapes(2), seed=seeds(), ties=st.booleans())
def test_maximum_minimum(which, shapes, seed, ties):
    """Ties (exactly equal operands) split the gradient in half, as torch does."""
    rng = rng_of(seed)
    make = with_ties if ties else randn
    a, b = make(rng, shapes[0]), make(rng, shapes[1])
    mg_fn = getattr(mg, which)
    th_fn = getattr(torch, which)
    check_parity(mg_fn, th_fn, [a, b], seed=seed)
    check_parity(lambda a, b: getattr(a, which)(b), th_fn, [a, b], seed=seed)


@pytest.mark.parametrize("which", ["maximum", "minimum"])
@given(shape=shapes(), seed=seeds(), c=st.sampled_from([-1.0, 0.0, 0.5, 1.0]))
def test_maximum_minimum_with_scalar(which, shape, seed, c):
    a = with_ties(rng_of(seed), shape)
    th_fn = getattr(torch, which)
    check_parity(lambda a: getattr(mg, which)(a, c),
                 lambda a: th_fn(a, torch.tensor(c, dtype=torch.float64)), [a], seed=seed)


# ----------------------------------------------------------------------- clip
@given(shape=shapes(), seed=seeds(),
       lo=st.one_of(st.none(), st.sampled_from([-1.0, 0.0, -0.5, 1.0])),
       hi=st.one_of(st.none(), st.sampled_from([1.0, 0.0, 0.5, 2.0, -1.0])))
def test_clip(shape, seed, lo, hi):
    """Values exactly on a bound keep their gradient (torch's clamp rule); lo > hi
    gives hi everywhere and no gradient."""
    assume(lo is not None or hi is not None)
    x = with_ties(rng_of(seed), shape, values=(-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0))
    x = x + np.where(rng_of(seed + 1).random(shape) < 0.5, 0.0, 0.1)
    check_parity(lambda x: mg.clip(x, lo, hi), lambda x: torch.clamp(x, lo, hi), [x],
                 seed=seed)
    check_parity(lambda x: x.clamp(min=lo, max=hi), lambda x: x.clamp(min=lo, max=hi),
                 [x], seed=seed)


# ---------------------------------------------------------------------- where
@given(shapes=broadcastable_shapes(3), seed=seeds())
def test_where(shapes, seed):
    rng = rng_of(seed)
    cond = rng.random(shapes[0]) < 0.5
    a, b = randn(rng, shapes[1]), randn(rng, shapes[2])
    check_parity(lambda c, a, b: mg.where(c, a, b), torch.where, [cond, a, b], seed=seed)


@given(shapes=broadcastable_shapes(2), seed=seeds(), c=st.floats(-2, 2))
def test_where_with_scalar(shapes, seed, c):
    rng = rng_of(seed)
    cond = rng.random(shapes[0]) < 0.5
    x = randn(rng, shapes[1])
    check_parity(lambda k, x: mg.where(k, x, c), lambda k, x: torch.where(k, x, c),
                 [cond, x], seed=seed)
    check_parity(lambda k, x: mg.where(k, c, x), lambda k, x: torch.where(k, c, x),
                 [cond, x], seed=seed)


# ----------------------------------------------------------------- reductions
@st.composite
def reduction_case(draw, min_side=0):
    shape = draw(shapes(min_side=min_side))
    axis = draw(axes_for(len(shape)))
    keepdims = draw(st.booleans())
    return shape, axis, keepdims


@given(case=reduction_case(), seed=seeds())
def test_sum(case, seed):
    shape, axis, keepdims = case
    x = randn(rng_of(seed), shape)
    dims = torch_dims(axis, len(shape))
    check_parity(lambda x: mg.sum(x, axis, keepdims), lambda x: torch.sum(x, dims, keepdims),
                 [x], seed=seed)
    check_parity(lambda x: x.sum(dim=axis, keepdim=keepdims),
                 lambda x: x.sum(dims, keepdim=keepdims), [x], seed=seed)


@given(case=reduction_case(), seed=seeds())
def test_mean(case, seed):
    """An empty reduction gives NaN, as in torch."""
    shape, axis, keepdims = case
    x = randn(rng_of(seed), shape)
    dims = torch_dims(axis, len(shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        check_parity(lambda x: mg.mean(x, axis, keepdims),
                     lambda x: torch.mean(x, dims, keepdims), [x], seed=seed)


# std's Hessian is exactly 0 along some directions (the std of two numbers is
# |a - b| / 2, piecewise linear), where both libraries return rounding noise that
# grows as the std shrinks (torch's up to ~1e-7 for a close pair, minigrad's
# ~1e-12); hence an absolute tolerance for std's second derivative, looser for pairs.
STD_SECOND_ATOL = {"var": None, "std": 1e-8}
STD_PAIR_SECOND_ATOL = 1e-6


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")  # torch: count == correction
@pytest.mark.parametrize("which", ["var", "std"])
@given(case=reduction_case(min_side=1), seed=seeds(), correction=st.sampled_from([0, 1]))
def test_var_std(which, case, seed, correction):
    shape, axis, keepdims = case
    x = randn(rng_of(seed), shape)
    dims = torch_dims(axis, len(shape))
    if len(shape) == 0:
        dims = None
    count = int(np.prod(reduced_sizes(shape, axis)))
    mg_fn = getattr(mg, which)
    th_fn = getattr(torch, which)
    with np.errstate(invalid="ignore", divide="ignore"):
        check_parity(lambda x: mg_fn(x, axis, keepdims, correction=correction),
                     lambda x: th_fn(x, dims, correction=correction, keepdim=keepdims),
                     [x], seed=seed,
                     second_atol=STD_PAIR_SECOND_ATOL if which == "std" and count == 2
                     else STD_SECOND_ATOL[which],
                     # with count == correction the result is NaN in both; the second
                     # derivative of that NaN is not worth comparing
                     second_order=count > correction)


@pytest.mark.parametrize("which", ["var", "std"])
@given(shape=shapes(min_dims=1, min_side=1), seed=seeds())
def test_var_std_unbiased_and_dim_aliases(which, shape, seed):
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: getattr(x, which)(dim=-1, keepdim=True, unbiased=False),
                 lambda x: getattr(x, which)(dim=-1, keepdim=True, unbiased=False), [x],
                 seed=seed, second_atol=STD_PAIR_SECOND_ATOL if which == "std"
                 else None)


def test_std_of_constant_input_has_zero_gradient():
    """Where the standard deviation is 0, torch.std's gradient is 0 (not NaN)."""
    x = np.array([[1.5, 1.5, 1.5], [0.0, 1.0, 2.0]])
    check_parity(lambda x: mg.std(x, 1, correction=0), lambda x: torch.std(x, 1, correction=0),
                 [x], second_order=False)
    x = np.ones((3, 1))
    check_parity(lambda x: mg.std(x, 1, correction=0), lambda x: torch.std(x, 1, correction=0),
                 [x], second_order=False)


@pytest.mark.parametrize("which", ["max", "min"])
@given(case=reduction_case(), seed=seeds(), ties=st.booleans())
def test_max_min(which, case, seed, ties):
    """minigrad's max/min return values only, like torch.amax/amin; ties share
    the gradient evenly (amax's rule, unlike torch.max(dim) which picks one)."""
    shape, axis, keepdims = case
    assume(all(s > 0 for s in reduced_sizes(shape, axis)))  # torch errors there too
    rng = rng_of(seed)
    x = with_ties(rng, shape) if ties else randn(rng, shape)
    dims = torch_dims(axis, len(shape))
    mg_fn = getattr(mg, which)
    th_fn = torch.amax if which == "max" else torch.amin
    check_parity(lambda x: mg_fn(x, axis, keepdims), lambda x: th_fn(x, dims, keepdims),
                 [x], seed=seed)
    check_parity(lambda x: getattr(x, "a" + which)(dim=axis, keepdim=keepdims),
                 lambda x: th_fn(x, dims, keepdims), [x], seed=seed)


@pytest.mark.parametrize("which", ["max", "min"])
def test_max_min_of_empty_axis_raises(which):
    x = mg.tensor(np.zeros((2, 0)), requires_grad=True)
    with pytest.raises(ShapeError):
        getattr(mg, which)(x, 1)
    with pytest.raises(IndexError):
        getattr(torch, "a" + which)(torch.zeros(2, 0), 1)


@given(case=reduction_case(), seed=seeds(), scale=st.sampled_from([1.0, 30.0, 800.0]))
def test_logsumexp(case, seed, scale):
    """Large inputs (scale 800: exp overflows) stay finite; an empty reduction is -inf."""
    shape, axis, keepdims = case
    x = randn(rng_of(seed), shape) * scale
    ndim = len(shape)
    dims = torch_dims(axis, ndim) if ndim else 0
    check_parity(lambda x: mg.logsumexp(x, axis, keepdims),
                 lambda x: torch.logsumexp(x, dims, keepdims), [x], seed=seed,
                 rtol=1e-10, atol=1e-12 * scale)


def test_logsumexp_with_infinities():
    x = np.array([[-np.inf, 0.0, 1.0], [np.inf, 0.0, 1.0], [-np.inf, -np.inf, 2.0]])
    check_parity(lambda x: mg.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1), [x],
                 wrt=[], grad=False)


# --------------------------------------------------------------------- matmul
@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(0, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["1x1", "1x2", "2x1", "2x2", "batched", "1xN", "Nx1"]))
    if kind == "1x1":
        return (k,), (k,)
    if kind == "1x2":
        return (k,), (k, m)
    if kind == "2x1":
        return (n, k), (k,)
    if kind == "2x2":
        return (n, k), (k, m)
    batch = draw(broadcastable_shapes(2, min_dims=0, max_dims=2, min_side=0, max_side=3))
    if kind == "1xN":
        return (k,), tuple(batch[1]) + (k, m)
    if kind == "Nx1":
        return tuple(batch[0]) + (n, k), (k,)
    return tuple(batch[0]) + (n, k), tuple(batch[1]) + (k, m)


@given(sh=matmul_shapes(), seed=seeds())
def test_matmul(sh, seed):
    rng = rng_of(seed)
    a, b = randn(rng, sh[0]), randn(rng, sh[1])
    check_parity(mg.matmul, torch.matmul, [a, b], seed=seed)
    check_parity(lambda a, b: a @ b, lambda a, b: a @ b, [a, b], seed=seed)


@given(sh=matmul_shapes(), seed=seeds())
def test_matmul_one_operand_constant(sh, seed):
    rng = rng_of(seed)
    a, b = randn(rng, sh[0]), randn(rng, sh[1])
    check_parity(mg.matmul, torch.matmul, [a, b], wrt=[0], seed=seed)
    check_parity(mg.matmul, torch.matmul, [a, b], wrt=[1], seed=seed)


@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), seed=seeds())
def test_linear(shape, seed):
    rng = rng_of(seed)
    out_features = int(rng.integers(1, 4))
    x = randn(rng, shape)
    w = randn(rng, (out_features, shape[-1]))
    b = randn(rng, (out_features,))
    check_parity(F.linear, TF.linear, [x, w, b], seed=seed)
    check_parity(F.linear, TF.linear, [x, w], seed=seed)


# ------------------------------------------------------------ composite graphs
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), seed=seeds())
def test_composite_expression(shape, seed):
    """A graph that reuses intermediates: gradients from several paths add up."""
    rng = rng_of(seed)
    x, y = randn(rng, shape), randn(rng, shape[-1:])

    def f(lib):
        def fn(x, y):
            h = lib.tanh(x * y + 1.0)
            s = lib.sigmoid(h) * h - lib.exp(-h * h)
            return (s * x).sum() / (1.0 + (h * h).sum())
        return fn

    check_parity(f(mg), f(torch), [x, y], seed=seed)


# ----------------------------------------------- Hessian-vector product of an MLP
def _mlp_loss(lib, x, y):
    def loss(w1, b1, w2, b2):
        h = lib.tanh(x @ w1.T + b1)
        out = h @ w2.T + b2
        d = out - y
        return (d * d).mean()
    return loss


@settings(max_examples=10)
@given(seed=seeds(), n=st.integers(1, 6), d=st.integers(1, 5), h=st.integers(1, 6),
       o=st.integers(1, 3))
def test_mlp_hessian_vector_product(seed, n, d, h, o):
    """H v of a 2-layer tanh MLP's loss, against torch.autograd.functional.hvp."""
    rng = rng_of(seed)
    x, y = randn(rng, (n, d)), randn(rng, (n, o))
    params = [randn(rng, (h, d)), randn(rng, (h,)), randn(rng, (o, h)), randn(rng, (o,))]
    vecs = [randn(rng, p.shape) for p in params]

    th_loss_value, th_hv = torch.autograd.functional.hvp(
        _mlp_loss(torch, torch.from_numpy(x), torch.from_numpy(y)),
        tuple(torch.from_numpy(p.copy()) for p in params),
        tuple(torch.from_numpy(v) for v in vecs))

    mg_params = [mg.tensor(p.copy(), requires_grad=True) for p in params]
    loss = _mlp_loss(mg, mg.tensor(x), mg.tensor(y))(*mg_params)
    grads = mg.grad(loss, mg_params, create_graph=True)
    gv = (grads[0] * mg.tensor(vecs[0])).sum()
    for g, v in zip(grads[1:], vecs[1:]):
        gv = gv + (g * mg.tensor(v)).sum()
    mg_hv = mg.grad(gv, mg_params)

    np.testing.assert_allclose(loss.numpy(), th_loss_value.numpy(), rtol=1e-12)
    for a, b in zip(mg_hv, th_hv):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
