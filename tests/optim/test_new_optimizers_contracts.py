"""The contracts every optimizer keeps, for the new ones: pure formulas, exact state_dict round trips,
PyTorch-style errors for bad hyperparameters, and traces with the formula's quantities."""
import numpy as np
import pytest
from optim_utils import check_formula_is_pure, check_round_trip

import minigrad as mg
import optim
from optim import functional as F

FORMULAS = [
    (F.lion, F.lion_init, {}, {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
    (F.adan, F.adan_init, {}, {"weight_decay": 0.1}),
    (F.adan, F.adan_init, {}, {"weight_decay": 0.1, "no_prox": True}),
    (F.adopt, F.adopt_init, {}, {"weight_decay": 0.1, "decouple": True}),
    (F.yogi, F.yogi_init, {"initial_accumulator": 0.1}, {"bias_correction": True, "weight_decay": 0.1}),
    (F.adabound, F.adabound_init, {"amsbound": True}, {"amsbound": True, "weight_decay": 0.1}),
    (F.qhm, F.qhm_init, {}, {"lr": 0.1, "momentum": 0.9, "nu": 0.7, "weight_decay": 0.1}),
    (F.qhadam, F.qhadam_init, {}, {"weight_decay": 0.1, "nu2": 0.5}),
    (F.aggmo, F.aggmo_init, {"betas": (0.0, 0.9)}, {"betas": (0.0, 0.9), "weight_decay": 0.1}),
    (F.novograd, F.novograd_init, {}, {"weight_decay": 0.1, "grad_averaging": True}),
    (F.madgrad, F.madgrad_init, {}, {"weight_decay": 0.1}),
    (F.madgrad, F.madgrad_init, {}, {"momentum": 0.0, "weight_decay": 0.1, "decouple_decay": True}),
    (F.ademamix, F.ademamix_init, {}, {"alpha_warmup": 5, "beta3_warmup": 5, "weight_decay": 0.1}),
    (F.sparse_adam, F.sparse_adam_init, {}, {"maximize": True}),
    (F.schedule_free_sgd, F.schedule_free_init, {}, {"weight_decay": 0.1, "warmup_steps": 2}),
    (F.schedule_free_adamw, F.schedule_free_init, {"adaptive": True}, {"weight_decay": 0.1, "r": 1.0}),
    (F.adahessian, F.adahessian_init, {}, {"hessian_diag": np.full((3, 2), 2.0), "weight_decay": 0.1}),
    (F.adahessian, F.adahessian_init, {}, {"hessian_diag": None, "hessian_power": 0.5}),
]


@pytest.mark.parametrize("fn, init, init_kwargs, kwargs", FORMULAS, ids=lambda x: getattr(x, "__name__", ""))
def test_new_formulas_are_pure(fn, init, init_kwargs, kwargs):
    check_formula_is_pure(fn, init, init_kwargs, kwargs, warmup_steps=3)


ROUND_TRIPS = [
    ("Lion", {"weight_decay": 0.1}), ("Adan", {"weight_decay": 0.1}), ("ADOPT", {"decouple": True}),
    ("Yogi", {}), ("AdaBound", {"amsbound": True}),
    ("QHAdam", {}), ("AggMo", {}), ("NovoGrad", {}), ("MADGRAD", {}),
    ("AdEMAMix", {"alpha_warmup": 5, "beta3_warmup": 8}), ("SparseAdam", {}),
    ("ScheduleFreeSGD", {"lr": 0.1, "warmup_steps": 5}), ("ScheduleFreeAdamW", {"r": 1.0}),
]


@pytest.mark.parametrize("name, cfg", ROUND_TRIPS, ids=[c[0] for c in ROUND_TRIPS])
def test_new_optimizers_state_dict_round_trip_through_a_file(name, cfg, tmp_path):
    check_round_trip(name, cfg, [(), (4,), (3, 2)], tmp_path, through_file=True)


def test_qhm_state_dict_round_trip_restores_its_required_hyperparameters():
    """QHM has no defaults for lr, momentum and nu: a fresh QHM takes any and the state dict's win."""
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(3) for _ in range(6)]
    w, v = mg.Tensor(np.ones(3), requires_grad=True), mg.Tensor(np.ones(3), requires_grad=True)
    full = optim.QHM([w], lr=0.1, momentum=0.9, nu=0.7)
    first = optim.QHM([v], lr=0.1, momentum=0.9, nu=0.7)
    for k, g in enumerate(grads):
        w.grad = mg.Tensor(g)
        full.step()
        if k < 3:
            v.grad = mg.Tensor(g)
            first.step()
    u = mg.Tensor(v.numpy().copy(), requires_grad=True)
    resumed = optim.QHM([u], lr=5.0, momentum=0.0, nu=0.0)
    resumed.load_state_dict(first.state_dict())
    for g in grads[3:]:
        u.grad = mg.Tensor(g)
        resumed.step()
    np.testing.assert_array_equal(u.numpy(), w.numpy())


@pytest.mark.parametrize("name", ["Prodigy", "DAdaptAdam"])
def test_learned_step_sizes_round_trip_through_a_file(name, tmp_path):
    """Their estimate d lives in the param groups and changes every step (so the generic
    round trip, which compares the groups with those at the end, does not apply)."""
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(s) for s in [(), (4,), (3, 2)]] for _ in range(10)]
    init = [rng.standard_normal(s) for s in [(), (4,), (3, 2)]]
    full = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    first = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    opt_full, opt_first = getattr(optim, name)(full, weight_decay=0.1), getattr(optim, name)(first, weight_decay=0.1)
    for t, step_grads in enumerate(grads):
        for p, q, g in zip(full, first, step_grads):
            p.grad, q.grad = mg.Tensor(g), mg.Tensor(g)
        opt_full.step()
        if t < 5:
            opt_first.step()
    mg.save({"optimizer": opt_first.state_dict(), "params": [p.numpy() for p in first]}, tmp_path / "ckpt.npz")
    loaded = mg.load(tmp_path / "ckpt.npz")
    resumed = [mg.Tensor(np.array(v), requires_grad=True) for v in loaded["params"]]
    opt = getattr(optim, name)(resumed, lr=7.0)
    opt.load_state_dict(loaded["optimizer"])
    for step_grads in grads[5:]:
        for p, g in zip(resumed, step_grads):
            p.grad = mg.Tensor(g)
        opt.step()
    for p, q in zip(full, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert opt.param_groups[0]["d"] == opt_full.param_groups[0]["d"]


BAD = [
    ("Lion", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("Lion", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ("Adan", {"betas": (0.9, 0.9)}, "betas must be a triple"),
    ("Adan", {"betas": (0.9, 0.9, 1.5)}, "Invalid beta parameter at index 2 value: 1.5"),
    ("ADOPT", {"eps": -1.0}, "Invalid epsilon value: -1.0"),
    ("ADOPT", {"clip_lambda": 3}, "clip_lambda must be a function"),
    ("Yogi", {"initial_accumulator": -1.0}, "Invalid initial_accumulator value"),
    ("AdaBound", {"gamma": 1.0}, "Invalid gamma parameter: 1.0"),
    ("AdaBound", {"final_lr": -0.1}, "Invalid final learning rate value"),
    ("QHM", {"lr": 0.1, "momentum": 1.5, "nu": 0.7}, "Invalid momentum value: 1.5"),
    ("QHM", {"lr": 0.1, "momentum": 0.9, "nu": 0.7, "weight_decay_type": "x"}, "Invalid weight_decay_type"),
    ("QHAdam", {"nus": (0.7,)}, "nus must be a pair"),
    ("AggMo", {"betas": ()}, "at least one damping coefficient"),
    ("AggMo", {"betas": (0.5, 1.0)}, "Invalid beta parameter at index 1 value: 1.0"),
    ("NovoGrad", {"weight_decay": -0.1}, "Invalid weight_decay value"),
    ("MADGRAD", {"momentum": 1.0}, "Invalid momentum value: 1.0"),
    ("AdEMAMix", {"alpha_warmup": 0}, "Invalid alpha_warmup value"),
    ("SparseAdam", {"eps": 0.0}, "Invalid epsilon value: 0.0"),
    ("ScheduleFreeSGD", {"momentum": 1.5}, "Invalid momentum value: 1.5"),
    ("ScheduleFreeAdamW", {"warmup_steps": -1}, "Invalid warmup_steps value: -1"),
    ("Prodigy", {"d0": 0.0}, "Invalid d0 value: 0.0"),
    ("Prodigy", {"growth_rate": 0.5}, "Invalid growth_rate value: 0.5"),
    ("Prodigy", {"beta3": 1.0}, "Invalid beta3 value: 1.0"),
    ("DAdaptAdam", {"d0": -1.0}, "Invalid d0 value: -1.0"),
    ("AdaHessian", {"hessian_power": 1.5}, "Invalid hessian_power value: 1.5"),
    ("AdaHessian", {"update_period": 0}, "Invalid update_period value: 0"),
]


@pytest.mark.parametrize("name, cfg, message", BAD, ids=[f"{b[0]}-{next(iter(b[1]))}" for b in BAD])
def test_bad_hyperparameters_are_named(name, cfg, message):
    w = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
        getattr(optim, name)([w], **cfg)


TRACED = {
    "Lion": ({}, {"g", "c", "u", "m"}),
    "Adan": ({}, {"k", "g", "diff", "m", "v", "n", "m_hat", "v_hat", "n_hat", "u"}),
    "ADOPT": ({}, {"t", "g", "g_tilde", "clip", "m", "v"}),
    "Yogi": ({}, {"t", "g", "m", "v", "step_size", "denom"}),
    "AdaBound": ({"amsbound": True}, {"t", "g", "m", "v", "v_max", "alpha_t", "lower", "upper", "eta_hat"}),
    "QHM": ({"lr": 0.1, "momentum": 0.9, "nu": 0.7}, {"g", "b", "d"}),
    "QHAdam": ({}, {"t", "g", "m", "v", "m_hat", "v_hat", "numer", "denom"}),
    "AggMo": ({}, {"g", "b", "d"}),
    "NovoGrad": ({}, {"t", "g", "g_norm_sq", "v", "d", "m"}),
    "MADGRAD": ({}, {"k", "g", "lamb", "s", "nu", "rms", "z"}),
    "AdEMAMix": ({}, {"t", "g", "alpha_t", "beta3_t", "m1", "m2", "nu", "m1_hat", "nu_hat", "u"}),
    "SparseAdam": ({}, {"t", "g", "rows", "m", "v", "alpha_t"}),
    "ScheduleFreeSGD": ({}, {"t", "lr_t", "c", "g", "z", "x", "y"}),
    "ScheduleFreeAdamW": ({}, {"t", "lr_t", "c", "v", "denom", "g", "z", "x", "y"}),
    "Prodigy": ({}, {"g", "m", "v", "s", "denom", "d", "d_next", "d_hat", "dlr"}),
    "DAdaptAdam": ({}, {"g", "m", "v", "s", "denom", "d", "d_next", "d_hat", "dlr"}),
}


@pytest.mark.parametrize("name", sorted(TRACED))
def test_traces_hold_the_documented_quantities(name):
    cfg, keys = TRACED[name]
    w = mg.Tensor(np.ones((2, 2)), requires_grad=True)
    opt = getattr(optim, name)([w], trace=True, **cfg)
    for g in (np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.5, 1.0], [-1.0, 2.0]])):
        w.grad = mg.Tensor(g)
        opt.step()
    assert set(opt.trace[-1]) - {"step", "group", "param", "theta"} == keys
