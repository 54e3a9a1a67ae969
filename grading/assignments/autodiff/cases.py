"""The seeded cases of the ``autodiff`` assignment.

Each case is one call. Shapes cover 0-d, vectors, matrices and 3-d arrays,
broadcasting of every kind (a trailing vector, size-1 axes on both sides, a
scalar against an array), square matrices (where a wrongly transposed gradient
still has the right shape) and one large hidden case per function. Inputs of
``relu`` include exact zeros (the derivative there is taken as 0); the
finite-difference check of the reference skips cases labelled ``kink``.
"""
import numpy as np

from grading.assignment import Case, Step

ELEMENTWISE_SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
LARGE = (200, 50)


def _one(args, hidden=False, label=""):
    return Case([Step(args)], hidden=hidden, label=label)


def _n(rng, shape, scale=1.0):
    return np.asarray(rng.standard_normal(shape) * scale, dtype=np.float64)


def binary_cases(rng):
    pairs = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (5,)), ((5,), ()),
             ((4, 4), (4,))]
    cases = []
    for sa, sb in pairs + [(LARGE, (LARGE[1],))]:
        out = np.broadcast_shapes(sa, sb)
        cases.append(_one({"a": _n(rng, sa), "b": _n(rng, sb), "grad_out": _n(rng, out)}, hidden=sa == LARGE))
    return cases


def matmul_cases(rng):
    cases = []
    for n, k, m in [(3, 4, 5), (4, 4, 4), (1, 3, 1), (2, 2, 2), (5, 2, 3), (100, 60, 40)]:
        cases.append(_one({"a": _n(rng, (n, k)), "b": _n(rng, (k, m)), "grad_out": _n(rng, (n, m))},
                          hidden=n == 100))
    return cases


def reduction_cases(rng):
    plans = [((3, 4), None, False), ((3, 4), 0, False), ((4, 4), 1, False), ((3, 4), 1, False),
             ((2, 3, 4), 1, True), ((2, 3, 4), -1, False), ((5,), 0, False), ((4, 4), 0, True),
             ((2, 3, 3), 1, False), (LARGE, 0, False)]
    cases = []
    for shape, axis, keepdims in plans:
        x = _n(rng, shape)
        out_shape = np.sum(x, axis=axis, keepdims=keepdims).shape
        cases.append(_one({"x": x, "grad_out": _n(rng, out_shape), "axis": axis, "keepdims": keepdims},
                          hidden=shape == LARGE))
    return cases


def _unary(rng, make_x, kink=False):
    cases = []
    for shape in ELEMENTWISE_SHAPES + [LARGE]:
        x = make_x(rng, shape)
        cases.append(_one({"x": x, "grad_out": _n(rng, shape)}, hidden=shape == LARGE))
    if kink:
        x = _n(rng, (3, 5))
        x[0, :] = 0.0
        cases.append(_one({"x": x, "grad_out": _n(rng, (3, 5))}, label="kink"))
    return cases


def exp_cases(rng):
    return _unary(rng, lambda r, s: _n(r, s, 2.0))


def log_cases(rng):
    return _unary(rng, lambda r, s: np.exp(_n(r, s, 1.5)))


def tanh_cases(rng):
    return _unary(rng, lambda r, s: _n(r, s, 2.0))


def sigmoid_cases(rng):
    return _unary(rng, lambda r, s: _n(r, s, 3.0))


def relu_cases(rng):
    return _unary(rng, lambda r, s: _n(r, s), kink=True)


def softmax_cases(rng):
    cases = []
    for shape, axis in [((3, 5), -1), ((4, 3), 0), ((2, 3, 4), 1), ((6,), 0), ((3, 3), 1), ((100, 30), -1)]:
        cases.append(_one({"x": _n(rng, shape, 3.0), "grad_out": _n(rng, shape), "axis": axis},
                          hidden=shape == (100, 30)))
    return cases


def cross_entropy_cases(rng):
    cases = []
    for n, c in [(4, 3), (1, 5), (8, 10), (6, 2), (300, 20)]:
        cases.append(_one({"logits": _n(rng, (n, c), 2.0), "targets": rng.integers(0, c, n).astype(np.int64),
                           "grad_out": np.asarray(rng.uniform(0.5, 2.0))}, hidden=n == 300))
    return cases
