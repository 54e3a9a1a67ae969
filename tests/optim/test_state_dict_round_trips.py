"""state_dict round trips: training interrupted by state_dict()/load_state_dict() continues exactly.

In memory and through a checkpoint file, for every optimizer: the same
parameters, state keys, values and types as uninterrupted training, with the
hyperparameters taken from the state dict; for the wrappers (Lookahead, SAM,
Ranger) the inner optimizer's state too, and for the optimizers with
optimizer-level state (SVRG, the BB family, Sophia, Shampoo, Ranger21) that
state and its random generators.
"""

import numpy as np
import pytest
from optim_utils import (
    SHAPES,
    case_id,
    check_round_trip,
    take_checkpoint,
)
from paper_utils import PROBLEM, give, give_arrays, leaves, make_grads, make_params, numpy_closure, quartic
from paper_utils import quartic_coefs as _coefs

import minigrad as mg
import optim

# ---------------------------------------------------------------------------
# the optimizers PyTorch has
# ---------------------------------------------------------------------------

ROUND_TRIP = [
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "momentum_form": "lecture"}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("RMSprop", {"momentum": 0.5, "centered": True, "eps_inside_sqrt": True}),
    ("Adadelta", {"rho": 0.95}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"bias_correction": "efficient"}),
]


ROUND_TRIP += [
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adamax", {"eps": 0.0, "betas": (0.5, 0.9)}),
    ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("NAdam", {"mu_schedule": "constant"}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"threshold": 4, "degenerated_to_sgd": False, "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
    ("ASGD", {"t0": 5, "lambd": 0.1}),
    ("Rprop", {"lr": 0.1}),
    ("Rprop", {"lr": 0.1, "backtracking": True}),
    ("Adafactor", {"weight_decay": 0.1}),
    ("Adafactor", {"eps": (1e-30, 1e-3), "eps1_form": "paper"}),
]


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("case", ROUND_TRIP, ids=case_id)
def test_state_dict_round_trip_continues_identically(case, through_file, tmp_path):
    name, cfg = case
    check_round_trip(name, cfg, SHAPES, tmp_path, through_file)


# ---------------------------------------------------------------------------
# the optimizers PyTorch lacks (wrappers included)
# ---------------------------------------------------------------------------

def _build(name, params):
    if name == "LAMB":
        return optim.LAMB(params, lr=0.01, weight_decay=0.1, clamp_value=10.0)
    if name == "LARS":
        return optim.LARS(params, lr=0.5, weight_decay=1e-3, exclude_1d=True)
    if name == "AdaBelief":
        return optim.AdaBelief(params, lr=0.01, amsgrad=True, rectify=True)
    if name == "SWATS":
        return optim.SWATS(params, lr=0.01, switch_eps=3e-3)
    if name == "Lookahead":
        return optim.Lookahead(optim.SGD(params, lr=0.05, momentum=0.9), k=3,
                               pullback_momentum="pullback")
    if name == "Ranger":
        pytest.importorskip("optim.radam")
        return optim.Ranger(params, lr=0.01, k=4)
    if name == "SAM":
        return optim.SAM(params, optim.Adam, rho=0.1, adaptive=True, lr=0.01)
    raise AssertionError(name)


def _train(opt, params, grads, coefs=None):
    for step_grads in grads:
        if isinstance(opt, optim.SAM):        # SAM's gradients come from a closure
            def closure():
                opt.zero_grad()
                loss = quartic(params, coefs)
                loss.backward()
                return loss
            opt.step(closure)
        else:
            give(params, step_grads)
            opt.step()


def _same(a, b, where=""):
    assert type(a) is type(b) or (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)), where
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("name", ["LAMB", "LARS", "AdaBelief", "SWATS", "Lookahead", "Ranger",
                                  "SAM"])
def test_state_dict_round_trip_of_a_paper_optimizer_continues_identically(name, through_file, tmp_path):
    init, full = make_params(seed=3)
    grads = make_grads(steps=24, seed=4)
    coefs = _coefs(SHAPES)
    opt_full = _build(name, full)
    _train(opt_full, full, grads, coefs)

    _, first = make_params(seed=3)
    opt_first = _build(name, first)
    _train(opt_first, first, grads[:11], coefs)
    sd, values = take_checkpoint(opt_first, first, tmp_path, through_file)
    _train(opt_first, first, grads[11:13], coefs)      # must not change the state dict taken

    resumed = [mg.Tensor(np.array(v), requires_grad=True) for v in values]
    opt_resumed = _build(name, resumed)
    opt_resumed.param_groups[0]["lr"] = 123.0            # overwritten by the state dict
    opt_resumed.load_state_dict(sd)
    assert opt_resumed.param_groups[0]["lr"] == opt_full.param_groups[0]["lr"]
    _train(opt_resumed, resumed, grads[11:], coefs)

    for p, q in zip(full, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    for p, q in zip(full, resumed):
        _same(dict(opt_full.state.get(p, {})), dict(opt_resumed.state.get(q, {})), name)
        if isinstance(opt_full, optim.Lookahead):
            _same(dict(opt_full.base_optimizer.state[p]),
                  dict(opt_resumed.base_optimizer.state[q]), name + " base")
    if name == "SWATS":
        assert any(k is not None for k in opt_full.switch_steps())
    if isinstance(opt_full, optim.Lookahead):
        assert opt_resumed._step_count == opt_full._step_count


# ---------------------------------------------------------------------------
# optimizer-level state and random generators
# ---------------------------------------------------------------------------

def _quartic_loss(params):
    total = None
    for p in params:
        term = (p * p * p * p).sum() * 0.25 + (p * p).sum()
        total = term if total is None else total + term
    return total


def _drive(name, opt, params, start, stop):
    """Steps start..stop-1, each a deterministic function of the step index and the params."""
    for t in range(start, stop):
        rng = np.random.default_rng(1000 + t)
        if name in ("SVRG", "SVRGBB"):
            (w,) = params
            if t % 8 == 0:
                opt.take_snapshot(numpy_closure(opt, w, PROBLEM))
            idx = rng.choice(PROBLEM.n, 8, replace=False)
            opt.step(numpy_closure(opt, w, PROBLEM, idx))
        elif name == "Sophia":
            opt.zero_grad()
            loss = _quartic_loss(params)
            if opt.hessian_due:
                opt.update_hessian(loss)
            loss.backward()
            opt.step()
        elif name == "BarzilaiBorwein":
            give_arrays(params, [p.numpy() ** 3 + p.numpy() for p in params])
            opt.step()
        else:
            give_arrays(params, [p.numpy() + rng.standard_normal(p.shape) for p in params])
            opt.step()


STATEFUL = [
    ("SVRG", {"lr": 0.1, "option": "II", "inner_steps": 8, "seed": 4}),
    ("SVRGBB", {"lr": 0.05, "option": "II", "inner_steps": 8, "seed": 4}),
    ("BarzilaiBorwein", {"lr": 0.01, "variant": "short"}),
    ("SGDBB", {"lr": 0.02, "inner_steps": 3, "beta": 0.5}),
    ("Sophia", {"lr": 0.01, "update_period": 3, "seed": 2}),
    ("Shampoo", {"lr": 0.05, "update_freq": 2, "beta": 0.9}),
    ("Ranger21", {"num_iterations": 30, "num_warmup_iterations": 4}),
]


def _same_state(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("case", STATEFUL, ids=[c[0] for c in STATEFUL])
def test_state_dict_round_trip_with_optimizer_state_continues_identically(case, through_file, tmp_path):
    name, cfg = case
    rng = np.random.default_rng(3)
    shapes = [(PROBLEM.d,)] if name in ("SVRG", "SVRGBB") else [(), (3,), (3, 2), (2, 2, 2)]
    init = [rng.standard_normal(s) * 0.5 for s in shapes]
    total, cut = 30, 13

    full = leaves(init)
    opt_full = getattr(optim, name)(full, **cfg)
    _drive(name, opt_full, full, 0, total)

    first = leaves(init)
    opt_first = getattr(optim, name)(first, **cfg)
    _drive(name, opt_first, first, 0, cut)
    sd, values = take_checkpoint(opt_first, first, tmp_path, through_file)
    _drive(name, opt_first, first, cut, cut + 3)          # must not change the state dict taken

    resumed = leaves(values)
    cfg_other = dict(cfg, lr=123.0) if "lr" in cfg else dict(cfg)
    opt_resumed = getattr(optim, name)(resumed, **cfg_other)
    opt_resumed.load_state_dict(sd)
    assert opt_resumed.param_groups[0]["lr"] == opt_full.param_groups[0]["lr"]
    _drive(name, opt_resumed, resumed, cut, total)

    for p, q in zip(full, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    for i, (p, q) in enumerate(zip(full, resumed)):
        _same_state(opt_full.state.get(p, {}), opt_resumed.state.get(q, {}), f"state[{i}]")
    if hasattr(opt_full, "optimizer_state"):
        _same_state(opt_full.optimizer_state, opt_resumed.optimizer_state, "optimizer_state")
