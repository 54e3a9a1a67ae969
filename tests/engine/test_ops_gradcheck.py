"""Finite-difference checks of a representative set of ops with minigrad.gradcheck
(first derivatives) and minigrad.gradgradcheck (second derivatives), float64.

These are independent of torch: they compare each op's backward with central
differences of its own forward. Inputs are small (finite differences cost one
forward per input element) and away from kinks (abs, relu, clip, max are
checked off their non-differentiable points).
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F


def leaf(rng, shape, low=None, high=None):
    a = rng.standard_normal(shape) if low is None else rng.uniform(low, high, size=shape)
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def away_from_zero(rng, shape):
    a = rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return mg.tensor(a, requires_grad=True)


IDX = np.array([2, 0, 2, 1])
TARGET = np.array([1, 0, 2])

# name: (fn, input makers, smooth: also run gradgradcheck)
CASES = {
    "add_broadcast": (lambda a, b: a + b, [(2, 3), (3,)], True),
    "sub_broadcast": (lambda a, b: a - b, [(2, 1), (1, 3)], True),
    "mul_broadcast": (lambda a, b: a * b, [(2, 3), (2, 1)], True),
    "div": (lambda a, b: a / b, [(2, 3), ("nonzero", (3,))], True),
    "pow_tensor": (lambda a, b: a ** b, [("pos", (2, 3)), (3,)], True),
    "pow_scalar": (lambda a: a ** 2.5, [("pos", (2, 3))], True),
    "exp": (mg.exp, [(2, 3)], True),
    "log": (mg.log, [("pos", (2, 3))], True),
    "sqrt": (mg.sqrt, [("pos", (2, 3))], True),
    "abs": (mg.abs, [("nonzero", (2, 3))], True),
    "tanh": (mg.tanh, [(2, 3)], True),
    "sigmoid": (mg.sigmoid, [(2, 3)], True),
    "relu": (mg.relu, [("nonzero", (2, 3))], True),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), [(2, 3)], True),
    "gelu": (F.gelu, [(2, 3)], True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(2, 3)], True),
    "maximum": (mg.maximum, [(2, 3), (3,)], True),
    "clip": (lambda x: mg.clip(x, -0.5, 0.5), [("nonzero", (2, 3))], True),
    "where": (lambda a, b: mg.where(np.array([True, False, True]), a, b), [(2, 3), (2, 1)],
              True),
    "sum_axis": (lambda x: mg.sum(x, (0, 2)), [(2, 3, 2)], True),
    "mean_keepdims": (lambda x: mg.mean(x, -1, keepdims=True), [(2, 3)], True),
    "var": (lambda x: mg.var(x, 1), [(2, 4)], True),
    "std": (lambda x: mg.std(x, 0, correction=0), [(3, 2)], True),
    "max": (lambda x: mg.max(x, 1), [(3, 4)], True),
    "logsumexp": (lambda x: mg.logsumexp(x, (0, -1)), [(2, 3, 2)], True),
    "reshape_permute": (lambda x: x.reshape(3, 4).permute(1, 0), [(2, 6)], True),
    "broadcast_to": (lambda x: mg.broadcast_to(x, (2, 3, 4)), [(3, 1)], True),
    "getitem_mixed": (lambda x: x[IDX, ::-2], [(3, 4)], True),
    "getitem_mask": (lambda x: x[np.array([[True, False], [True, True], [False, True]])],
                     [(3, 2)], True),
    "concatenate": (lambda a, b: mg.concatenate([a, b], 1), [(2, 2), (2, 3)], True),
    "stack": (lambda a, b: mg.stack([a, b], -1), [(2, 3), (2, 3)], True),
    "split": (lambda x: mg.split(x, [1, 3], dim=1), [(2, 4)], True),
    "chunk": (lambda x: mg.chunk(x, 2, 0), [(3, 2)], True),
    "matmul_batched": (mg.matmul, [(2, 1, 2, 3), (2, 3, 2)], True),
    "matmul_vector": (mg.matmul, [(3,), (2, 3, 2)], True),
    "index_add": (lambda x, s: mg.index_add(x, 0, IDX, s), [(3, 2), (4, 2)], True),
    "segment_sum": (lambda x: mg.segment_sum(x, IDX, 3), [(4, 2)], True),
    # (no padding_idx here: its row has no gradient by definition, though the output
    # depends on it, so finite differences disagree on purpose; see test_ops_shape)
    "embedding": (lambda w: F.embedding(IDX, w), [(3, 2)], True),
    "softmax": (lambda x: F.softmax(x, 0), [(3, 2)], True),
    "log_softmax": (lambda x: F.log_softmax(x, -1), [(2, 3)], True),
    "cross_entropy": (lambda x: F.cross_entropy(x, TARGET, label_smoothing=0.2,
                                                weight=mg.tensor(np.array([1.0, 2.0, 0.5]))),
                      [(3, 3)], True),
    "nll_loss": (lambda x: F.nll_loss(x, TARGET, reduction="sum"), [(3, 3)], True),
    "mse_loss": (lambda x, y: F.mse_loss(x, y), [(2, 3), (2, 3)], True),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 2), w, b), [(2, 2, 2), (2, 2), (2, 2)],
                   True),
    "masked_fill": (lambda x: F.masked_fill(x, np.array([True, False, False]), -2.0),
                    [(2, 3)], True),
}


def make_inputs(spec, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in spec:
        if isinstance(s[0], str):  # ("pos", shape) or ("nonzero", shape)
            kind, shape = s
            out.append(leaf(rng, shape, 0.5, 2.0) if kind == "pos"
                       else away_from_zero(rng, shape))
        else:
            out.append(leaf(rng, s))
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, spec, _ = CASES[name]
    assert mg.gradcheck(fn, make_inputs(spec), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[2]))
def test_gradgradcheck(name):
    fn, spec, _ = CASES[name]
    assert mg.gradgradcheck(fn, make_inputs(spec, seed=1), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_catches_a_wrong_gradient():
    """The checker is not vacuous: a deliberately wrong backward fails it."""

    class WrongTanh(mg.function.Function):
        def forward(self, x):
            return np.tanh(x)

        def backward(self, g):
            return g * (1 + self.output * self.output)  # sign error

    x = mg.tensor(np.array([0.3, -0.7]), requires_grad=True)
    assert not mg.gradcheck(lambda x: WrongTanh()(x), [x], raise_exception=False)
