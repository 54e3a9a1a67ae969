"""The optimizers against torch.optim (float64, foreach=False), and the base class API.

For every optimizer and every hyperparameter configuration that PyTorch's own
optimizer tests use (torch/testing/_internal/common_optimizers.py), 50 steps
with the same random gradients on parameters of several shapes (a 0-d
scalar, a vector, a matrix, a 3-d array) must leave the parameters and every
state buffer equal to PyTorch's within 1e-10 (relative). The lecture-form
options are checked against their formulas written out here by hand.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from optim_utils import (
    SHAPES,
    assert_same_state,
    case_id,
    check_formula_is_pure,
    check_round_trip,
    feed_grads,
    make_pair,
    random_grads,
    run_parity,
    train,
)

import minigrad as mg
import optim
from optim import functional as F

# The configurations of torch's optim_inputs_func_<name> (CPU, float lr), plus
# the flags PyTorch's list leaves out (decoupled weight decay, amsgrad with
# maximize, nesterov without weight decay, ...).
CONFIGS = {
    "SGD": [
        {},
        {"lr": 1e-2},
        {"weight_decay": 0.5},
        {"momentum": 0.9},
        {"weight_decay": 0.1, "maximize": True},
        {"momentum": 0.9, "dampening": 0.5},
        {"momentum": 0.9, "weight_decay": 0.1},
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.5, "nesterov": True, "maximize": True},
    ],
    "Adagrad": [
        {},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 0.1},
        {"initial_accumulator_value": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1},
        {"eps": 1e-3, "lr_decay": 1e-2},
    ],
    "RMSprop": [
        {},
        {"lr": 1e-3},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"weight_decay": 0.1, "centered": True},
        {"maximize": True, "weight_decay": 0.1},
        {"weight_decay": 0.1, "centered": True, "momentum": 0.1},
        {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True},
        {"momentum": 0.9, "alpha": 0.9, "eps": 1e-3},
    ],
    "Adadelta": [
        {},
        {"lr": 0.01},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"weight_decay": 0.1, "maximize": True},
        {"rho": 0.95, "weight_decay": 0.9},
    ],
    "Adam": [
        {},
        {"lr": 0.01},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"weight_decay": 0.1, "amsgrad": True},
        {"weight_decay": 0.1, "amsgrad": True, "maximize": True},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "amsgrad": True,
         "decoupled_weight_decay": True, "weight_decay": 0.5},
    ],
    "AdamW": [
        {},
        {"lr": 0.01},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"weight_decay": 0.1, "amsgrad": True},
        {"weight_decay": 0, "betas": (0.5, 0.9)},
    ],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


# ---------------------------------------------------------------------------
# parity with torch.optim
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch(case):
    name, cfg = case
    run_parity(name, cfg)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_matches_torch_with_param_groups(name):
    """Two groups with their own hyperparameters."""
    extra = {"SGD": {"lr": 0.05, "momentum": 0.5}, "Adagrad": {"lr": 0.2, "lr_decay": 0.1},
             "RMSprop": {"lr": 3e-3, "centered": True}, "Adadelta": {"rho": 0.5},
             "Adam": {"lr": 3e-3, "amsgrad": True}, "AdamW": {"weight_decay": 0.3}}[name]
    cfg = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    run_parity(name, cfg, groups=[([0, 2], {}), ([1, 3], extra)])


# Hyperparameters drawn at random on top of the fixed configurations.
_lr = st.floats(1e-4, 0.3)
_wd = st.sampled_from([0.0, 1e-3, 0.1])
_rate = st.floats(0.0, 0.95)
_beta = st.floats(0.0, 0.99)
HYPER = {
    "SGD": st.fixed_dictionaries({"lr": _lr, "momentum": _rate, "dampening": _rate,
                                  "weight_decay": _wd, "maximize": st.booleans()}),
    "Adagrad": st.fixed_dictionaries({"lr": _lr, "lr_decay": st.floats(0, 1),
                                      "initial_accumulator_value": st.floats(0, 1),
                                      "weight_decay": _wd, "eps": st.floats(1e-10, 1e-3)}),
    "RMSprop": st.fixed_dictionaries({"lr": _lr, "alpha": st.floats(0.5, 0.99), "momentum": _rate,
                                      "centered": st.booleans(), "weight_decay": _wd,
                                      "maximize": st.booleans()}),
    "Adadelta": st.fixed_dictionaries({"lr": st.floats(0.1, 2.0), "rho": _beta,
                                       "eps": st.floats(1e-8, 1e-3), "weight_decay": _wd}),
    "Adam": st.fixed_dictionaries({"lr": _lr, "betas": st.tuples(_beta, _beta),
                                   "eps": st.floats(1e-10, 1e-4), "weight_decay": _wd,
                                   "amsgrad": st.booleans(), "maximize": st.booleans(),
                                   "decoupled_weight_decay": st.booleans()}),
}


@pytest.mark.parametrize("name", list(HYPER))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_matches_torch_hypothesis(name, data):
    cfg = data.draw(HYPER[name], label="cfg")
    if name == "SGD" and data.draw(st.booleans(), label="nesterov") and cfg["momentum"] > 0:
        cfg.update(nesterov=True, dampening=0.0)
    shapes = data.draw(st.lists(array_shapes(min_dims=0, max_dims=3, max_side=4),
                                min_size=1, max_size=3), label="shapes")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    run_parity(name, cfg, shapes=[tuple(s) for s in shapes], steps=20, seed=seed)


# ---------------------------------------------------------------------------
# state_dict
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


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("case", ROUND_TRIP, ids=case_id)
def test_state_dict_round_trip_continues_identically(case, through_file, tmp_path):
    name, cfg = case
    check_round_trip(name, cfg, SHAPES, tmp_path, through_file)


def test_state_dict_has_torch_layout():
    ours, theirs, opt_ours, opt_theirs = make_pair(
        "Adam", {"amsgrad": True}, SHAPES,
        groups=[([0, 1], {}), ([2, 3], {"lr": 0.1})])
    rng = np.random.default_rng(0)
    for t in range(3):
        feed_grads(rng, ours, theirs, t)
        opt_ours.step()
        opt_theirs.step()
    sd, tsd = opt_ours.state_dict(), opt_theirs.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert sd["state"].keys() == tsd["state"].keys()
    for k in tsd["state"]:
        assert sd["state"][k].keys() == tsd["state"][k].keys()
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                    "decoupled_weight_decay"):
            assert g[key] == tg[key], key


def test_adagrad_state_exists_before_the_first_step_like_torch():
    ours, theirs, opt_ours, opt_theirs = make_pair("Adagrad", {"initial_accumulator_value": 0.3},
                                                   SHAPES)
    sd, tsd = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd["state"].keys() == tsd["state"].keys() == set(range(len(SHAPES)))
    for k in tsd["state"]:
        assert sd["state"][k]["step"] == 0
        np.testing.assert_array_equal(sd["state"][k]["sum"], tsd["state"][k]["sum"].numpy())


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam"])
def test_load_torch_state_dict_with_tensors(name):
    """A torch state dict, its tensors turned into minigrad Tensors, continues torch's run."""
    cfg = {"SGD": {"momentum": 0.9}, "RMSprop": {"centered": True, "momentum": 0.3},
           "Adam": {"amsgrad": True}}.get(name, {})
    ours, theirs, opt_ours, opt_theirs = make_pair(name, cfg, SHAPES)
    rng = np.random.default_rng(5)
    for t in range(10):
        feed_grads(rng, ours, theirs, t)
        opt_theirs.step()
    with torch.no_grad():
        for p, q in zip(ours, theirs):
            p.data[...] = q.numpy()
    tsd = opt_theirs.state_dict()
    converted = {
        "state": {k: {key: mg.Tensor(v.detach().numpy().copy()) for key, v in s.items()}
                  for k, s in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    }
    opt_ours.load_state_dict(converted)
    for t in range(10, 20):
        feed_grads(rng, ours, theirs, t)
        opt_ours.step()
        opt_theirs.step()
    assert_same_state(opt_ours, opt_theirs, ours, theirs)


def test_load_state_dict_validates_groups():
    a, b, c = (mg.Tensor(np.ones(2), requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([a, b, c], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1).load_state_dict(
            opt.state_dict())


def test_load_state_dict_casts_dtype_and_copies():
    p = mg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = optim.Adam([p])
    sd = {"state": {0: {"step": np.array(4.0), "exp_avg": np.ones(3),
                        "exp_avg_sq": np.ones(3)}},
          "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == np.float32
    assert opt.state[p]["step"] == 4.0 and not isinstance(opt.state[p]["step"], np.ndarray)
    sd["state"][0]["exp_avg"][...] = 7
    assert opt.state[p]["exp_avg"][0] == 1


@pytest.mark.gpu
def test_gpu_matches_cpu_and_load_moves_state_to_device():
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = random_grads(1, 10, SHAPES)
    cpu = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    gpu = [mg.Tensor(a.copy(), requires_grad=True, device="cuda") for a in init]
    opt_cpu = optim.Adam(cpu, lr=0.01, amsgrad=True)
    opt_gpu = optim.Adam(gpu, lr=0.01, amsgrad=True)
    train(opt_cpu, cpu, grads)
    for step_grads in grads:
        for p, g in zip(gpu, step_grads):
            p.grad = None if g is None else mg.Tensor(g.copy(), device="cuda")
        opt_gpu.step()
    for p, q in zip(cpu, gpu):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12)
    fresh = [mg.Tensor(p.numpy(), requires_grad=True, device="cuda") for p in cpu]
    opt_fresh = optim.Adam(fresh)
    opt_fresh.load_state_dict(opt_cpu.state_dict())
    assert all(mg.backend.is_cupy_array(s["exp_avg"]) for s in opt_fresh.state.values())
    assert all(isinstance(s["step"], int) for s in opt_fresh.state.values())


# ---------------------------------------------------------------------------
# closure, add_param_group, zero_grad, parameters without gradients
# ---------------------------------------------------------------------------

def test_closure_is_called_once_under_enable_grad_and_its_loss_returned():
    rng = np.random.default_rng(0)
    target = rng.standard_normal(4)
    w = mg.Tensor(np.zeros(4), requires_grad=True)
    wt = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt, topt = optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([wt], lr=0.1, momentum=0.9)
    calls = []

    def closure():
        calls.append(mg.is_grad_enabled())
        opt.zero_grad()
        loss = ((w - mg.Tensor(target)) ** 2).sum()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = ((wt - torch.tensor(target)) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(5):
        with mg.no_grad():
            loss = opt.step(closure)
        tloss = topt.step(tclosure)
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    assert calls == [True] * 5
    np.testing.assert_allclose(w.numpy(), wt.detach().numpy(), rtol=1e-12)
    assert opt.step() is None


def test_add_param_group_mid_training_matches_torch():
    ours, theirs, opt_ours, opt_theirs = make_pair("Adam", {"lr": 0.01}, [(3,), (2, 2)])
    extra_init = np.random.default_rng(9).standard_normal((4,))
    extra_ours = mg.Tensor(extra_init.copy(), requires_grad=True)
    extra_theirs = torch.tensor(extra_init.copy(), requires_grad=True)
    rng = np.random.default_rng(1)
    for t in range(20):
        if t == 7:
            opt_ours.add_param_group({"params": [extra_ours], "lr": 0.1, "amsgrad": True})
            opt_theirs.add_param_group({"params": [extra_theirs], "lr": 0.1, "amsgrad": True})
            ours.append(extra_ours)
            theirs.append(extra_theirs)
        feed_grads(rng, ours, theirs, t, skip_some=False)
        opt_ours.step()
        opt_theirs.step()
    assert opt_ours.param_groups[1]["betas"] == (0.9, 0.999)   # defaults filled in
    assert_same_state(opt_ours, opt_theirs, ours, theirs)


def test_zero_grad():
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    grad_array = w.grad.data
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.data is grad_array
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    opt.zero_grad()
    assert w.grad is None


def test_zero_grad_false_still_steps_with_momentum_like_torch():
    ours, theirs, opt_ours, opt_theirs = make_pair("SGD", {"lr": 0.1, "momentum": 0.9},
                                                   [(3,)])
    rng = np.random.default_rng(0)
    feed_grads(rng, ours, theirs, 0)
    opt_ours.step(), opt_theirs.step()
    opt_ours.zero_grad(set_to_none=False)
    opt_theirs.zero_grad(set_to_none=False)
    opt_ours.step(), opt_theirs.step()        # zero gradient: momentum still moves
    assert_same_state(opt_ours, opt_theirs, ours, theirs)
    opt_ours.zero_grad()
    before = ours[0].numpy().copy()
    opt_ours.step()                           # no gradient: untouched
    np.testing.assert_array_equal(ours[0].numpy(), before)


def test_parameter_and_float32():
    from minigrad.nn import Parameter

    w = Parameter(mg.Tensor(np.ones((2, 2), dtype=np.float32)))
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    data = w.data
    opt.step()
    assert w.data is data and w.dtype == np.float32       # updated in place
    assert opt.state[w]["exp_avg"].dtype == np.float32


# ---------------------------------------------------------------------------
# errors: hyperparameters (torch's messages) and params
# ---------------------------------------------------------------------------

BAD = [
    ("SGD", {"lr": -1.0}), ("SGD", {"lr": -1}), ("SGD", {"momentum": -0.5}),
    ("SGD", {"weight_decay": -1.0}), ("SGD", {"nesterov": True}),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adagrad", {"lr": -0.1}), ("Adagrad", {"lr_decay": -0.5}),
    ("Adagrad", {"weight_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1e-10}),
    ("RMSprop", {"lr": -1e-2}), ("RMSprop", {"eps": -1.0}), ("RMSprop", {"momentum": -1.0}),
    ("RMSprop", {"weight_decay": -0.1}), ("RMSprop", {"alpha": -0.9}),
    ("Adadelta", {"lr": -1.0}), ("Adadelta", {"rho": 1.1}), ("Adadelta", {"rho": -0.1}),
    ("Adadelta", {"eps": -1e-6}), ("Adadelta", {"weight_decay": -1}),
    ("Adam", {"lr": -1e-3}), ("Adam", {"eps": -1e-8}), ("Adam", {"betas": (1.0, 0.0)}),
    ("Adam", {"betas": (0.9, 1.0)}), ("Adam", {"betas": (-0.1, 0.9)}),
    ("Adam", {"weight_decay": -1}), ("AdamW", {"betas": (0.9, 1.5)}),
    ("AdamW", {"lr": float("nan")}),
]


@pytest.mark.parametrize("case", BAD, ids=case_id)
def test_invalid_hyperparameters_raise_torchs_error(case):
    name, kwargs = case
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"momentum_form": "sutskever"}), ("Adam", {"bias_correction": "none"}),
    ("SGD", {"momentum": 0.9, "dampening": 0.5, "momentum_form": "lecture"}),
])
def test_invalid_convention_options(name, kwargs):
    with pytest.raises(ValueError, match="momentum_form|bias_correction|dampening"):
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], **kwargs)


def test_param_errors_follow_torch():
    a = mg.Tensor(np.ones(2), requires_grad=True)
    b = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        optim.SGD([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "
                                        "minigrad.tensor.Tensor"):
        optim.SGD(a)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of "
                                        "the params is numpy.ndarray"):
        optim.SGD([a, np.ones(2)])
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        optim.SGD([{"params": [a]}, {"params": [b, a]}])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([a * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a, b}}])
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("a", a), b])
    with pytest.raises(ValueError, match="cannot add param group with names"):
        optim.SGD([{"params": [a]}, {"params": [("b", b)]}])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([a]).add_param_group([b])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a])
    # like torch: a tensor that does not require grad is accepted (and never stepped)
    frozen = mg.Tensor(np.ones(2))
    opt = optim.SGD([frozen, a], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(frozen.numpy(), 1)


def test_required_hyperparameter():
    class Needs(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, {"lr": lr})

    a = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Needs([a])
    assert Needs([{"params": [a], "lr": 0.5}]).param_groups[0]["lr"] == 0.5
    with pytest.raises(NotImplementedError, match="_update"):
        opt = Needs([{"params": [a], "lr": 0.5}])
        a.grad = mg.Tensor(np.ones(2))
        opt.step()


def test_named_params_and_tensor_lr():
    a = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([("weight", a)], lr=mg.Tensor(0.5))
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.param_groups[0]["lr"] == 0.5
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.Adam([a], lr=mg.Tensor([0.1, 0.2]))


# ---------------------------------------------------------------------------
# purity of the functional formulas
# ---------------------------------------------------------------------------

FUNCTIONAL = [
    (F.sgd, F.sgd_init, {"momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
    (F.sgd, F.sgd_init, {"momentum": 0.9, "momentum_form": "lecture", "nesterov": True}),
    (F.adagrad, F.adagrad_init, {"weight_decay": 0.1, "lr_decay": 0.1}),
    (F.rmsprop, F.rmsprop_init, {"momentum": 0.5, "centered": True}),
    (F.adadelta, F.adadelta_init, {"weight_decay": 0.1}),
    (F.adam, F.adam_init, {"amsgrad": True, "weight_decay": 0.1,
                           "decoupled_weight_decay": True}),
    (F.adamw, F.adam_init, {"bias_correction": "efficient", "maximize": True}),
]


@pytest.mark.parametrize("fn, init, kwargs", FUNCTIONAL, ids=lambda x: getattr(x, "__name__", ""))
def test_functional_formulas_are_pure(fn, init, kwargs):
    init_kwargs = {k: v for k, v in kwargs.items()
                   if k in ("momentum", "momentum_form", "centered", "amsgrad")}
    check_formula_is_pure(fn, init, init_kwargs, kwargs, warmup_steps=3)


# ---------------------------------------------------------------------------
# lecture-form options against their formulas written out by hand
# ---------------------------------------------------------------------------

def test_sgd_lecture_momentum_is_its_formula_and_differs_from_torch_when_lr_changes():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(20)]
    mu, lrs = 0.9, [0.1] * 10 + [0.01] * 10

    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=lrs[0], momentum=mu, momentum_form="lecture")
    wt = mg.Tensor(theta0.copy(), requires_grad=True)
    opt_torch_form = optim.SGD([wt], lr=lrs[0], momentum=mu)
    theta, v = theta0.copy(), np.zeros(4)
    for eta, g in zip(lrs, grads):
        for o, p in ((opt, w), (opt_torch_form, wt)):
            o.param_groups[0]["lr"] = eta
            p.grad = mg.Tensor(g.copy())
            o.step()
        v = mu * v + eta * g             # v <- gamma v + eta g
        theta = theta - v                # theta <- theta - v
        if eta == lrs[0]:                # constant lr so far: the forms agree, v = eta b
            np.testing.assert_allclose(w.numpy(), wt.numpy(), rtol=1e-12)
            np.testing.assert_allclose(opt.state[w]["velocity"],
                                       eta * opt_torch_form.state[wt]["momentum_buffer"],
                                       rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["velocity"], v, rtol=1e-12)
    assert not np.allclose(w.numpy(), wt.numpy(), rtol=1e-6)   # after the lr change


def _quadratic(n, seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    a = m @ m.T / n + np.eye(n)
    b = rng.standard_normal(n)
    return a, b     # f(theta) = 1/2 theta^T A theta - b^T theta, grad = A theta - b


def test_sgd_lecture_nesterov_is_its_formula_and_torchs_reparametrisation():
    a, b = _quadratic(4, 1)
    theta0 = np.random.default_rng(2).standard_normal(4)
    mu, eta, lam = 0.9, 0.05, 0.1

    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=eta, momentum=mu, nesterov=True, weight_decay=lam,
                    momentum_form="lecture")
    A, B = mg.Tensor(a), mg.Tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * (A @ w)).sum() - (B * w).sum()
        loss.backward()
        return loss

    pt = torch.tensor(theta0.copy(), requires_grad=True)
    topt = torch.optim.SGD([pt], lr=eta, momentum=mu, nesterov=True, weight_decay=lam,
                           foreach=False)

    theta, v = theta0.copy(), np.zeros(4)
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
    for _ in range(30):
        opt.step(closure)
        lookahead = theta - mu * v                      # theta~ = theta - gamma v
        g = a @ lookahead - b + lam * lookahead         # gradient at the look-ahead point
        v = mu * v + eta * g                            # v <- gamma v + eta g
        theta = theta - v                               # theta <- theta - v
        topt.zero_grad()
        (0.5 * pt @ (torch.tensor(a) @ pt) - torch.tensor(b) @ pt).backward()
        topt.step()
        np.testing.assert_allclose(w.numpy(), theta, rtol=1e-11)
        np.testing.assert_allclose(opt.state[w]["velocity"], v, rtol=1e-11, atol=1e-15)
        # torch's parameter is the look-ahead point theta - mu v, and its buffer is v / eta
        np.testing.assert_allclose(pt.detach().numpy(), theta - mu * v, rtol=1e-10)
        np.testing.assert_allclose(topt.state[pt]["momentum_buffer"].numpy(), v / eta,
                                   rtol=1e-10)


def test_sgd_lecture_nesterov_trace_and_restore_on_error():
    w = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5, nesterov=True, momentum_form="lecture",
                    trace=True)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    opt.step(closure)
    v = opt.state[w]["velocity"]
    np.testing.assert_allclose(opt.trace[-1]["theta_lookahead"], opt.trace[0]["theta"] - 0.5 *
                               opt.trace[0]["v"])
    before = w.numpy().copy()

    def failing():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        opt.step(failing)
    np.testing.assert_array_equal(w.numpy(), before)     # moved back from the look-ahead
    np.testing.assert_array_equal(opt.state[w]["velocity"], v)


def test_adagrad_eps_inside_sqrt_is_its_formula():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    w = mg.Tensor(theta.copy(), requires_grad=True)
    gamma, decay, eps, s0 = 0.1, 0.05, 1e-2, 0.2
    opt = optim.Adagrad([w], lr=gamma, lr_decay=decay, eps=eps, initial_accumulator_value=s0,
                        eps_inside_sqrt=True)
    G = np.full(5, s0)
    for t in range(1, 21):
        g = rng.standard_normal(5)
        w.grad = mg.Tensor(g.copy())
        opt.step()
        G = G + g ** 2                                    # G_t = G_{t-1} + g_t^2
        gamma_t = gamma / (1 + (t - 1) * decay)
        theta = theta - gamma_t * g / np.sqrt(G + eps)    # epsilon inside the root
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["sum"], G, rtol=1e-12)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_rmsprop_eps_inside_sqrt_is_its_formula(centered, momentum):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    w = mg.Tensor(theta.copy(), requires_grad=True)
    gamma, alpha, eps = 0.01, 0.9, 1e-3
    opt = optim.RMSprop([w], lr=gamma, alpha=alpha, eps=eps, centered=centered,
                        momentum=momentum, eps_inside_sqrt=True)
    v, gbar, buf = np.zeros(5), np.zeros(5), np.zeros(5)
    for _ in range(20):
        g = rng.standard_normal(5)
        w.grad = mg.Tensor(g.copy())
        opt.step()
        v = alpha * v + (1 - alpha) * g ** 2
        gbar = alpha * gbar + (1 - alpha) * g
        denom = np.sqrt(v - gbar ** 2 + eps) if centered else np.sqrt(v + eps)
        if momentum:
            buf = momentum * buf + g / denom
            theta = theta - gamma * buf
        else:
            theta = theta - gamma * g / denom
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_efficient_bias_correction_is_its_formula(amsgrad):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    w = mg.Tensor(theta.copy(), requires_grad=True)
    w_std = mg.Tensor(theta.copy(), requires_grad=True)
    alpha, b1, b2, eps_hat = 0.01, 0.9, 0.999, 1e-3
    opt = optim.Adam([w], lr=alpha, betas=(b1, b2), eps=eps_hat, amsgrad=amsgrad,
                     bias_correction="efficient")
    opt_std = optim.Adam([w_std], lr=alpha, betas=(b1, b2), eps=eps_hat, amsgrad=amsgrad)
    m, v, vmax = np.zeros(5), np.zeros(5), np.zeros(5)
    for t in range(1, 31):
        g = rng.standard_normal(5)
        w.grad, w_std.grad = mg.Tensor(g.copy()), mg.Tensor(g.copy())
        opt.step()
        opt_std.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        alpha_t = alpha * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        theta = theta - alpha_t * m / (np.sqrt(vmax if amsgrad else v) + eps_hat)
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    # the two forms differ (eps acts at a different scale while 1 - beta2^t is small)
    assert not np.allclose(w.numpy(), w_std.numpy(), rtol=1e-6)


def test_adamw_is_adam_with_decoupled_decay():
    rng = np.random.default_rng(0)
    init = rng.standard_normal(6)
    p1 = mg.Tensor(init.copy(), requires_grad=True)
    p2 = mg.Tensor(init.copy(), requires_grad=True)
    o1 = optim.AdamW([p1], lr=0.01)
    o2 = optim.Adam([p2], lr=0.01, weight_decay=1e-2, decoupled_weight_decay=True)
    for _ in range(10):
        g = rng.standard_normal(6)
        p1.grad, p2.grad = mg.Tensor(g.copy()), mg.Tensor(g.copy())
        o1.step(), o2.step()
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())
    assert o1.defaults["weight_decay"] == 1e-2 and o1.defaults["decoupled_weight_decay"]
