"""The seeded cases of the ``optimizers`` assignment.

Every function is called on several shapes (0-d, small, 3-d and one large), with
gradients whose magnitudes span five orders (so that ε matters somewhere and the
ε mistakes show), exact zeros among them, and chains of steps whose state is fed
from the previous step's outputs. The Adam family starts chains at t = 1 and runs
seven steps (RAdam's ρₜ crosses 4 and 5 on the way) and also starts from a random
state at a late step. The last case of each function is hidden: feedback never
shows its inputs or expected values.
"""
import numpy as np

from grading.assignment import Case, QuadraticGrad, Step

SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
LARGE = (300, 40)


def _grad(rng, shape):
    """Gradients of mixed magnitude (1e-4 to 10) and sign, with some exact zeros."""
    g = rng.standard_normal(shape) * 10.0 ** rng.uniform(-4, 1, shape)
    if np.ndim(g) > 0:
        g[rng.random(shape) < 0.1] = 0.0
    return np.asarray(g, dtype=np.float64)


def _pos(rng, shape, low=1e-6, high=1.0):
    return np.asarray(np.exp(rng.uniform(np.log(low), np.log(high), shape)), dtype=np.float64)


def _chain(rng, shape, n_steps, first_args, fresh, feed, hidden=False, label=""):
    """A case of ``n_steps``: ``first_args`` (all args) then steps with ``fresh(rng, k)`` args and ``feed``."""
    steps = [Step(dict(first_args))]
    for k in range(1, n_steps):
        steps.append(Step(fresh(rng, k), dict(feed)))
    return Case(steps, hidden=hidden, label=label)


def _shapes_with_hidden():
    return [(shape, False) for shape in SHAPES] + [(LARGE, True)]


def sgd_cases(rng):
    cases = []
    for shape, hidden in _shapes_with_hidden():
        lr = float(rng.choice([0.1, 0.01, 0.5]))
        cases.append(_chain(rng, shape, 3, {"theta": rng.standard_normal(shape), "grad": _grad(rng, shape), "lr": lr},
                            lambda r, k, s=shape, lr=lr: {"grad": _grad(r, s), "lr": lr},
                            {"theta": "theta_new"}, hidden))
    return cases


def momentum_cases(rng):
    cases = []
    for i, (shape, hidden) in enumerate(_shapes_with_hidden()):
        lr, gamma = float(rng.choice([0.1, 0.01, 0.5])), float(rng.choice([0.9, 0.5, 0.99]))
        v0 = np.zeros(shape) if i % 2 == 0 else rng.standard_normal(shape)
        cases.append(_chain(rng, shape, 3,
                            {"theta": rng.standard_normal(shape), "grad": _grad(rng, shape), "v": v0,
                             "lr": lr, "gamma": gamma},
                            lambda r, k, s=shape, lr=lr, gm=gamma: {"grad": _grad(r, s), "lr": lr, "gamma": gm},
                            {"theta": "theta_new", "v": "v_new"}, hidden))
    return cases


def nesterov_cases(rng):
    cases = []
    for i, (shape, hidden) in enumerate(_shapes_with_hidden()):
        lr, gamma = float(rng.choice([0.1, 0.05, 0.2])), float(rng.choice([0.9, 0.5]))
        fn = QuadraticGrad(_pos(rng, shape, 0.1, 5.0), rng.standard_normal(shape))
        v0 = np.zeros(shape) if i % 2 == 0 else rng.standard_normal(shape)
        cases.append(_chain(rng, shape, 3,
                            {"theta": rng.standard_normal(shape), "grad_fn": fn, "v": v0, "lr": lr, "gamma": gamma},
                            lambda r, k, fn=fn, lr=lr, gm=gamma: {"grad_fn": fn, "lr": lr, "gamma": gm},
                            {"theta": "theta_new", "v": "v_new"}, hidden))
    return cases


def adagrad_cases(rng):
    cases = []
    for i, (shape, hidden) in enumerate(_shapes_with_hidden()):
        lr, eps = float(rng.choice([0.1, 0.01, 0.5])), float(rng.choice([1e-8, 1e-6, 1e-3]))
        G0 = np.zeros(shape) if i % 2 == 0 else _pos(rng, shape, 1e-8, 10.0)
        cases.append(_chain(rng, shape, 3,
                            {"theta": rng.standard_normal(shape), "grad": _grad(rng, shape), "G": G0,
                             "lr": lr, "eps": eps},
                            lambda r, k, s=shape, lr=lr, e=eps: {"grad": _grad(r, s), "lr": lr, "eps": e},
                            {"theta": "theta_new", "G": "G_new"}, hidden))
    return cases


def rmsprop_cases(rng):
    cases = []
    for i, (shape, hidden) in enumerate(_shapes_with_hidden()):
        lr, gamma = float(rng.choice([0.1, 0.01])), float(rng.choice([0.9, 0.99, 0.7]))
        eps = float(rng.choice([1e-8, 1e-6, 1e-3]))
        G0 = np.zeros(shape) if i % 2 == 0 else _pos(rng, shape, 1e-8, 10.0)
        cases.append(_chain(rng, shape, 3,
                            {"theta": rng.standard_normal(shape), "grad": _grad(rng, shape), "G": G0,
                             "lr": lr, "gamma": gamma, "eps": eps},
                            lambda r, k, s=shape, lr=lr, gm=gamma, e=eps: {"grad": _grad(r, s), "lr": lr,
                                                                         "gamma": gm, "eps": e},
                            {"theta": "theta_new", "G": "G_new"}, hidden))
    return cases


def _adam_family_cases(rng, with_vmax):
    """Chains from t = 1 (seven steps) on the small shapes, a late random state, and a hidden large case."""
    cases = []
    feed = {"theta": "theta_new", "m": "m_new", "v": "v_new"}
    if with_vmax:
        feed["v_max"] = "v_max_new"
    plans = [(shape, 1, 7, False, False) for shape in SHAPES]
    plans += [((4, 3), 50, 3, True, False), ((6,), 3, 4, True, False), (LARGE, 1, 6, False, True)]
    for shape, t0, n_steps, random_state, hidden in plans:
        hyper = {"lr": float(rng.choice([1e-3, 1e-2, 0.1])), "beta1": float(rng.choice([0.9, 0.8])),
                 "beta2": float(rng.choice([0.999, 0.99])), "eps": float(rng.choice([1e-8, 1e-6, 1e-3]))}
        if random_state:
            m0 = rng.standard_normal(shape) * 0.1
            v0 = _pos(rng, shape, 1e-8, 1.0)
        else:
            m0, v0 = np.zeros(shape), np.zeros(shape)
        first = {"theta": rng.standard_normal(shape), "grad": _grad(rng, shape), "m": m0, "v": v0, "t": t0, **hyper}
        if with_vmax:
            first["v_max"] = v0 + (_pos(rng, shape, 1e-8, 1.0) if random_state else 0.0)
        cases.append(_chain(rng, shape, n_steps, first,
                            lambda r, k, s=shape, t0=t0, h=hyper: {"grad": _grad(r, s), "t": t0 + k, **h},
                            feed, hidden))
    return cases


def adam_cases(rng):
    return _adam_family_cases(rng, with_vmax=False)


def amsgrad_cases(rng):
    return _adam_family_cases(rng, with_vmax=True)


def radam_cases(rng):
    return _adam_family_cases(rng, with_vmax=False)


def bb_cases(rng):
    cases = []
    for shape, hidden in ([((5,), False), ((3, 4), False), ((1,), False), ((7,), False),
                           ((300, 40), True)]):
        steps = []
        for variant in (1, 2):
            s = rng.standard_normal(shape)
            y = _pos(rng, shape, 0.1, 10.0) * s + 0.01 * rng.standard_normal(shape)
            steps.append(Step({"s": s, "y": y, "variant": variant}))
        cases.extend(Case([step], hidden=hidden) for step in steps)
    return cases
