"""The seeded plans of the ``optimizer-class`` assignment (see :func:`grading.harness.optimizer_scenario`).

Every plan mixes what the PyTorch API promises: several steps, two param groups
with their own hyperparameters, a learning-rate change between steps (what a
scheduler does), a step where no parameter has a gradient, closures whose loss
``step`` must return, and ``state_dict()``/``load_state_dict()`` round trips in
the middle of training. The last plan is hidden.
"""
import numpy as np

from grading.assignment import Case, Step


def _params(rng, shapes):
    return {f"p{i}": rng.standard_normal(shape) for i, shape in enumerate(shapes)}


def _grads(rng, arrays, shapes, k):
    for i, shape in enumerate(shapes):
        g = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 0, shape)
        arrays[f"g{k}_p{i}"] = g


def _quadratic(rng, arrays, shapes, k):
    for i, shape in enumerate(shapes):
        arrays[f"a{k}_p{i}"] = np.exp(rng.uniform(-1, 1, shape))
        arrays[f"b{k}_p{i}"] = rng.standard_normal(shape)


def _plan(rng, shapes, groups, kwargs, ops, state_keys, hidden=False):
    arrays = _params(rng, shapes)
    for op in ops:
        if op[0] == "grad":
            _grads(rng, arrays, shapes, op[1])
        elif op[0] == "closure":
            _quadratic(rng, arrays, shapes, op[1])
    plan = {"params": [f"p{i}" for i in range(len(shapes))], "groups": groups, "kwargs": kwargs,
            "ops": ops, "state_keys": state_keys}
    return Case([Step({"plan": plan, "arrays": arrays})], hidden=hidden)


def _ops(*spec):
    """``"g"`` a gradient step, ``"c"`` a closure step, ``"r"`` a round trip, ``"s"`` a skipped step,
    ``("lr", group, value)`` a learning-rate change."""
    ops, k = [], 0
    for item in spec:
        if item == "g":
            ops.append(["grad", k])
            k += 1
        elif item == "c":
            ops.append(["closure", k])
            k += 1
        elif item == "r":
            ops.append(["roundtrip"])
        elif item == "s":
            ops.append(["skip"])
        else:
            ops.append(["set_lr", item[1], item[2]])
    return ops


def sgd_cases(rng):
    one = [{"params": ["p0", "p1"]}]
    two = [{"params": ["p0"]}, {"params": ["p1"], "hyper": {"lr": 0.05, "momentum": 0.5}}]
    keys = ["momentum_buffer"]
    return [
        _plan(rng, [(3,), (2, 2)], one, {"lr": 0.1, "momentum": 0.9}, _ops("g", "g", "g", "r", "g", "g"), keys),
        _plan(rng, [(4,), (2, 3)], two, {"lr": 0.1, "momentum": 0.9},
              _ops("g", "g", ("lr", 0, 0.02), "g", "s", "r", "g"), keys),
        _plan(rng, [(5,), ()], one, {"lr": 0.05, "momentum": 0.8}, _ops("c", "c", "r", "c"), keys),
        _plan(rng, [(3, 3), (2,)], one, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True},
              _ops("g", "g", "g", "r", "g"), keys),
        _plan(rng, [(6,), (2, 2)], one, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05},
              _ops("g", "g", "g"), keys),
        _plan(rng, [(50, 20), (20,)], two, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
              _ops("g", "g", ("lr", 1, 0.2), "r", "g", "c"), keys, hidden=True),
    ]


def adam_cases(rng):
    one = [{"params": ["p0", "p1"]}]
    two = [{"params": ["p0"]}, {"params": ["p1"], "hyper": {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-3}}]
    keys = ["exp_avg", "exp_avg_sq"]
    return [
        _plan(rng, [(3,), (2, 2)], one, {"lr": 0.01}, _ops("g", "g", "g", "r", "g", "g"), keys),
        _plan(rng, [(4,), (2, 3)], two, {"lr": 0.05, "betas": [0.9, 0.999]},
              _ops("g", "g", ("lr", 0, 0.02), "g", "s", "r", "g"), keys),
        _plan(rng, [(5,), ()], one, {"lr": 0.1, "eps": 1e-6}, _ops("c", "c", "r", "c"), keys),
        _plan(rng, [(3, 3), (2,)], one, {"lr": 0.01, "weight_decay": 0.1}, _ops("g", "g", "g", "r", "g"), keys),
        _plan(rng, [(50, 20), (20,)], two, {"lr": 0.01, "weight_decay": 0.01},
              _ops("g", "g", ("lr", 1, 0.2), "r", "g", "c"), keys, hidden=True),
    ]
