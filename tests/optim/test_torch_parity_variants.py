"""Adamax, NAdam, RAdam, ASGD, Rprop and Adafactor against torch.optim (float64, foreach=False).

The same approach as test_torch_parity_classic.py: for every optimizer and
every hyperparameter configuration that PyTorch's own optimizer tests use
(``optim_inputs_func_<name>`` in torch/testing/_internal/common_optimizers.py,
CPU, float lr), plus a few that exercise branches those leave out, 50 steps
with the same random gradients on parameters of several shapes (0-d, 1-d, 2-d,
3-d; one parameter skips every third step) must leave the parameters and every
state buffer equal to PyTorch's within 1e-10 (relative). The lecture and paper
forms selected by minigrad's own options are in test_lecture_and_paper_forms.py.

NAdam's ``mu_product`` and ASGD's ``eta`` and ``mu`` are 0-d tensors of
torch's *default* dtype, float32 unless changed, and torch computes with the
rounded values; minigrad keeps them as Python floats (float64). The parity
runs for those two therefore set torch's default dtype to float64 (the same
torch code, with double-precision scalar state);
``test_float32_scalar_state_of_torch_is_the_only_difference`` measures the
difference under torch's float32 default.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from optim_utils import (
    SHAPES,
    STEPS,
    assert_same_state,
    case_id,
    feed_grads,
    make_pair,
    random_grads,
    torch_default_dtype,
    train,
)
from optim_utils import run_parity as shared_run_parity

import minigrad as mg
import optim
from minigrad.testing.strategies import optimizer_hyperparameters

# torch keeps these optimizers' scalar state in its default dtype (see the module docstring)
SCALAR_STATE_IN_DEFAULT_DTYPE = {"NAdam", "ASGD"}

# The configurations of torch's optim_inputs_func_<name> (CPU, float lr) first, then
# additions for branches they do not reach in 50 steps (averaging with a small t0,
# RAdam never or early rectified, Rprop's clamps, Adafactor's eps and relative step).
CONFIGS = {
    "Adamax": [
        {},
        {"lr": 0.1},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3},
    ],
    "NAdam": [
        {},
        {"lr": 1e-3},
        {"momentum_decay": 6e-3},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "momentum_decay": 6e-3},
        {"weight_decay": 0.1, "momentum_decay": 6e-3, "decoupled_weight_decay": True},
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "momentum_decay": 0.5,
         "decoupled_weight_decay": True, "weight_decay": 0.5, "maximize": True},
    ],
    "RAdam": [
        {},
        {"lr": 2e-3},
        {"eps": 1e-6},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 0.01, "betas": (0.5, 0.8)},          # rho_inf = 9: rectified from step 8 on
        {"lr": 0.01, "betas": (0.9, 0.5), "weight_decay": 0.1,
         "decoupled_weight_decay": True},           # rho_inf = 3: never rectified
    ],
    "ASGD": [
        {},
        {"lambd": 0.1},
        {"lr": 0.02},
        {"t0": 100},
        {"maximize": True},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"t0": 10, "lambd": 0.05, "alpha": 0.5},    # averaging starts inside the run
        {"t0": 0, "lr": 0.05, "lambd": 0.01},
    ],
    "Rprop": [
        {},
        {"lr": 2e-4},
        {"etas": (0.5, 1.5)},
        {"step_sizes": (2e-6, 100)},
        {"maximize": True},
        {"lr": 0.5, "etas": (0.3, 2.0), "step_sizes": (0.01, 0.6)},   # both clamps active
    ],
    "Adafactor": [
        {},
        {"weight_decay": 0.1, "lr": 0.01},
        {"weight_decay": 0.1, "maximize": True},
        {"beta2_decay": -1.0},
        {"d": 1.5},
        {"eps": (1e-30, 1e-3)},
        {"lr": 0.5, "eps": (None, 2.0), "d": 1.0},  # relative step 1/sqrt(t); eps2 > RMS(theta)
        {"eps": (1e-3, 1e-3), "beta2_decay": -0.5, "weight_decay": 0.01},
    ],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


def _torch_scalar_dtype(name):
    return torch.float64 if name in SCALAR_STATE_IN_DEFAULT_DTYPE else torch.get_default_dtype()


def run_parity(name, cfg, **kwargs):
    return shared_run_parity(name, cfg, torch_dtype=_torch_scalar_dtype(name), **kwargs)


# ---------------------------------------------------------------------------
# parity with torch.optim
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch(case):
    name, cfg = case
    run_parity(name, cfg)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_matches_torch_with_param_groups_and_lr_change(name):
    """Two groups with their own hyperparameters; every lr scaled by 0.3 at step 20."""
    extra = {"Adamax": {"lr": 0.05, "betas": (0.5, 0.9)},
             "NAdam": {"momentum_decay": 0.1, "decoupled_weight_decay": True,
                       "weight_decay": 0.2},
             "RAdam": {"lr": 0.01, "betas": (0.7, 0.9)},
             "ASGD": {"t0": 5, "lambd": 0.2},
             "Rprop": {"lr": 0.1, "etas": (0.4, 1.3)},
             "Adafactor": {"lr": 0.3, "d": 2.0, "weight_decay": 0.05}}[name]
    run_parity(name, {}, groups=[([0, 2], {}), ([1, 3], extra)], lr_change=(20, 0.3))


def test_adafactor_factors_the_last_two_axes():
    shapes = [(), (7,), (1, 5), (5, 1), (2, 3, 4), (2, 1, 3, 2)]
    opt_ours, _ = run_parity("Adafactor", {"lr": 0.05}, shapes=shapes, steps=20)
    states = list(opt_ours.state.values())
    assert "variance" in states[0] and "variance" in states[1]
    assert states[4]["row_var"].shape == (2, 3, 1)
    assert states[4]["col_var"].shape == (2, 1, 4)
    assert states[5]["row_var"].shape == (2, 1, 3, 1)
    assert states[5]["col_var"].shape == (2, 1, 1, 2)


# Hyperparameters drawn at random on top of the fixed configurations.
HYPER = {name: optimizer_hyperparameters(name) for name in ("Adamax", "NAdam", "RAdam", "ASGD", "Rprop",
                                                             "Adafactor")}


@pytest.mark.parametrize("name", list(HYPER))
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_matches_torch_hypothesis(name, data):
    cfg = data.draw(HYPER[name], label="cfg")
    shapes = data.draw(st.lists(array_shapes(min_dims=0, max_dims=3, max_side=4),
                                min_size=1, max_size=3), label="shapes")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    run_parity(name, cfg, shapes=[tuple(s) for s in shapes], steps=20, seed=seed)


def test_float32_scalar_state_of_torch_is_the_only_difference():
    """Under torch's float32 default its scalar state is rounded to float32; ours is exact.

    The parameters then part at about 1e-9 (NAdam) to 1e-7 (ASGD), relative,
    after 50 steps. ASGD's eta and mu are recomputed every step, so torch's are
    the float32 roundings of ours; NAdam's mu_product is a running product, so
    torch's float32 error grows.
    """
    for name, cfg in [("NAdam", {"lr": 0.01}), ("ASGD", {"lambd": 0.1, "t0": 10})]:
        with torch_default_dtype(torch.float32):
            ours, theirs, opt_ours, opt_theirs = make_pair(name, cfg, SHAPES)
            rng = np.random.default_rng(1)
            for t in range(STEPS):
                feed_grads(rng, ours, theirs, t)
                opt_ours.step()
                opt_theirs.step()
        assert_same_state(opt_ours, opt_theirs, ours, theirs, rtol=1e-6)
        keys = ["mu_product"] if name == "NAdam" else ["eta", "mu"]
        for p, q in zip(ours, theirs):
            for key in keys:
                assert opt_theirs.state[q][key].dtype == torch.float32
                assert isinstance(opt_ours.state[p][key], float)
                theirs_value = opt_theirs.state[q][key].item()
                if name == "ASGD":
                    assert np.float32(opt_ours.state[p][key]) == theirs_value
                else:
                    assert opt_ours.state[p][key] == pytest.approx(theirs_value, rel=1e-5)
                    assert opt_ours.state[p][key] != theirs_value
        if name == "NAdam":      # minigrad's mu_product: the float64 product of the schedule
            state = opt_ours.state[ours[0]]
            mus = [0.9 * (1 - 0.5 * 0.96 ** (i * 4e-3)) for i in range(1, state["step"] + 1)]
            assert state["mu_product"] == pytest.approx(np.prod(mus), rel=1e-14)


# ---------------------------------------------------------------------------
# state_dict
# ---------------------------------------------------------------------------


def test_state_dict_matches_torch_layout():
    """Same state keys and param-group hyperparameters (minus torch's implementation flags)."""
    torch_only = {"foreach", "differentiable", "capturable"}
    for name, cfgs in CONFIGS.items():
        with torch_default_dtype(_torch_scalar_dtype(name)):
            ours, theirs, opt_ours, opt_theirs = make_pair(name, cfgs[-1], SHAPES)
            feed_grads(np.random.default_rng(0), ours, theirs, 0, skip_some=False)
            opt_ours.step()
            opt_theirs.step()
        sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
        assert sd_ours["state"].keys() == sd_theirs["state"].keys()
        for i in sd_theirs["state"]:
            assert sd_ours["state"][i].keys() == sd_theirs["state"][i].keys(), name
        group_ours, group_theirs = sd_ours["param_groups"][0], sd_theirs["param_groups"][0]
        options = {"mu_schedule", "threshold", "degenerated_to_sgd",
                   "backtracking", "eps1_form"}
        assert set(group_ours) - options == set(group_theirs) - torch_only, name
        for key in set(group_theirs) - torch_only:
            ours_value, value = group_ours[key], group_theirs[key]
            if isinstance(value, (list, tuple)):
                ours_value, value = list(ours_value), list(value)
            assert ours_value == value, (name, key)


# ---------------------------------------------------------------------------
# a tensor learning rate
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONFIGS))
def test_tensor_lr(name):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)],
                                   lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)],
                             lr=mg.Tensor([0.1, 0.2]))
    assert str(ours.value) == str(theirs.value)
    opt = getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], lr=mg.Tensor(0.5))
    assert opt.param_groups[0]["lr"] == 0.5


# ---------------------------------------------------------------------------
# tracing
# ---------------------------------------------------------------------------

TRACED = {
    "Adamax": ({}, {"t", "g", "m", "u", "m_hat"}),
    "NAdam": ({}, {"t", "g", "mu_t", "mu_next", "mu_product", "m", "v", "m_hat", "v_hat"}),
    "RAdam": ({"betas": (0.9, 0.9)}, {"t", "g", "m", "v", "m_hat", "rho_inf", "rho_t",
                                       "rectified", "r_t", "l_t"}),
    "ASGD": ({}, {"t", "g", "eta", "mu", "theta_bar"}),
    "Rprop": ({}, {"t", "g", "step_size", "update"}),
    "Adafactor": ({}, {"t", "g", "beta2_hat", "rho_t", "alpha_t", "R", "C", "V_hat", "U",
                       "U_hat"}),
}


@pytest.mark.parametrize("name", list(TRACED))
def test_trace_records_the_lecture_quantities(name):
    cfg, keys = TRACED[name]
    rng = np.random.default_rng(0)
    w = mg.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    opt = getattr(optim, name)([w], trace=True, **cfg)
    for _ in range(12):
        w.grad = mg.Tensor(rng.standard_normal((3, 2)))
        opt.step()
    assert keys <= set(opt.trace[-1]), set(opt.trace[-1])
    assert opt.trace_of("theta").shape == (12, 3, 2)
    np.testing.assert_array_equal(opt.trace_of("theta")[-1], w.numpy())


@pytest.mark.parametrize("case", [(name, cfgs[-1]) for name, cfgs in CONFIGS.items()],
                         ids=case_id)
def test_float32_parameters_keep_their_dtype(case):
    name, cfg = case
    rng = np.random.default_rng(0)
    params = [mg.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in SHAPES]
    opt = getattr(optim, name)(params, **cfg)
    for _ in range(3):
        for p in params:
            p.grad = mg.Tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    for p in params:
        assert p.dtype == np.float32 and np.all(np.isfinite(p.numpy()))
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, (name, key)


# ---------------------------------------------------------------------------
# GPU
# ---------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("case", [(name, cfgs[-1]) for name, cfgs in CONFIGS.items()],
                         ids=case_id)
def test_gpu_matches_cpu(case):
    name, cfg = case
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = random_grads(1, 15, SHAPES)
    cpu = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    gpu = [mg.Tensor(a.copy(), requires_grad=True, device="cuda") for a in init]
    opt_cpu = getattr(optim, name)(cpu, **cfg)
    opt_gpu = getattr(optim, name)(gpu, **cfg)
    train(opt_cpu, cpu, grads)
    for step_grads in grads:
        for p, g in zip(gpu, step_grads):
            p.grad = None if g is None else mg.Tensor(g.copy(), device="cuda")
        opt_gpu.step()
    for p, q in zip(cpu, gpu):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-10)
        for key, value in opt_cpu.state[p].items():
            other = opt_gpu.state[q][key]
            if mg.backend.is_cupy_array(other):
                other = mg.backend.to_numpy(other)
            np.testing.assert_allclose(np.asarray(value, dtype=np.float64),
                                       np.asarray(other, dtype=np.float64), rtol=1e-10)
