"""Adamax, NAdam, RAdam, ASGD, Rprop and Adafactor against torch.optim (float64, foreach=False).

The same approach as tests/test_optim_torch_parity.py: for every optimizer and
every hyperparameter configuration that PyTorch's own optimizer tests use
(``optim_inputs_func_<name>`` in torch/testing/_internal/common_optimizers.py,
CPU, float lr), plus a few that exercise branches those leave out, 50 steps
with the same random gradients on parameters of several shapes (0-d, 1-d, 2-d,
3-d; one parameter skips every third step) must leave the parameters and every
state buffer equal to PyTorch's within 1e-10 (relative). The lecture and paper
forms selected by minigrad's own options are checked against their algorithms
written out here by hand.

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
    check_formula_is_pure,
    check_round_trip,
    feed_grads,
    make_pair,
    random_grads,
    torch_default_dtype,
    train,
)
from optim_utils import run_parity as shared_run_parity

import minigrad as mg
import optim
from optim import functional as F

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
_lr = st.floats(1e-4, 0.3)
_wd = st.sampled_from([0.0, 1e-3, 0.1])
_betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.999))
_eps = st.floats(1e-10, 1e-3)
HYPER = {
    "Adamax": st.fixed_dictionaries({"lr": _lr, "betas": _betas, "eps": _eps,
                                     "weight_decay": _wd, "maximize": st.booleans()}),
    "NAdam": st.fixed_dictionaries({"lr": _lr, "betas": _betas, "eps": _eps,
                                    "weight_decay": _wd, "momentum_decay": st.floats(0.0, 0.5),
                                    "decoupled_weight_decay": st.booleans(),
                                    "maximize": st.booleans()}),
    "RAdam": st.fixed_dictionaries({"lr": _lr, "betas": _betas, "eps": _eps,
                                    "weight_decay": _wd, "decoupled_weight_decay": st.booleans(),
                                    "maximize": st.booleans()}),
    "ASGD": st.fixed_dictionaries({"lr": st.floats(1e-3, 0.1), "lambd": st.floats(0.0, 0.5),
                                   "alpha": st.floats(0.5, 1.0), "t0": st.integers(0, 30),
                                   "weight_decay": _wd, "maximize": st.booleans()}),
    "Rprop": st.fixed_dictionaries({"lr": st.floats(1e-4, 0.5),
                                    "etas": st.tuples(st.floats(0.1, 0.9), st.floats(1.05, 2.0)),
                                    "step_sizes": st.tuples(st.floats(1e-7, 1e-3),
                                                            st.floats(0.01, 100.0)),
                                    "maximize": st.booleans()}),
    "Adafactor": st.fixed_dictionaries({"lr": st.floats(1e-3, 1.0),
                                        "beta2_decay": st.floats(-1.0, -0.2),
                                        "eps": st.tuples(st.sampled_from([None, 1e-30, 1e-8]),
                                                         st.floats(1e-4, 1.0)),
                                        "d": st.floats(1.0, 3.0), "weight_decay": _wd,
                                        "maximize": st.booleans()}),
}


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

ROUND_TRIP = [
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
# errors: hyperparameters (torch's messages)
# ---------------------------------------------------------------------------

BAD = [
    ("Adamax", {"lr": -1.0}), ("Adamax", {"eps": -1e-8}), ("Adamax", {"betas": (0.0, 1.0)}),
    ("Adamax", {"betas": (-0.1, 0.9)}), ("Adamax", {"weight_decay": -0.1}),
    ("NAdam", {"lr": -1e-3}), ("NAdam", {"eps": -1.0}), ("NAdam", {"betas": (1.0, 0.0)}),
    ("NAdam", {"weight_decay": -1}), ("NAdam", {"momentum_decay": -0.2}),
    ("RAdam", {"lr": -0.1}), ("RAdam", {"eps": -1e-8}), ("RAdam", {"betas": (1.0, 0.0)}),
    ("RAdam", {"betas": (0.9, 1.5)}), ("RAdam", {"weight_decay": -1}),
    ("ASGD", {"lr": -0.01}), ("ASGD", {"weight_decay": -0.5}),
    ("Rprop", {"lr": -1.0}), ("Rprop", {"etas": (1.0, 0.5)}), ("Rprop", {"etas": (0.5, 1.0)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("Adafactor", {"lr": -1.0}), ("Adafactor", {"eps": (-1e-30, 1e-3)}),
    ("Adafactor", {"eps": (None, -1e-3)}), ("Adafactor", {"d": 0.0}),
    ("Adafactor", {"beta2_decay": 0.8}), ("Adafactor", {"weight_decay": -0.1}),
    ("Adafactor", {"lr": float("nan")}),
]


@pytest.mark.parametrize("case", BAD, ids=case_id)
def test_invalid_hyperparameters_raise_torchs_error(case):
    name, kwargs = case
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


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


@pytest.mark.parametrize("name, kwargs, match", [
    ("NAdam", {"mu_schedule": "ruder"}, "mu_schedule"),
    ("RAdam", {"threshold": 3.5}, "threshold must be >= 4"),
    ("Adafactor", {"eps1_form": "tf"}, "eps1_form"),
])
def test_invalid_convention_options(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], **kwargs)


# ---------------------------------------------------------------------------
# purity of the functional formulas
# ---------------------------------------------------------------------------

FUNCTIONAL = [
    (F.adamax, F.adamax_init, {}, {"weight_decay": 0.1, "maximize": True}),
    (F.adamax, F.adamax_init, {}, {"eps": 0.0}),
    (F.nadam, F.nadam_init, {}, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    (F.nadam, F.nadam_init, {}, {"mu_schedule": "constant", "weight_decay": 0.1}),
    (F.radam, F.radam_init, {}, {"weight_decay": 0.1, "beta2": 0.9}),   # rectified from step 6
    (F.radam, F.radam_init, {}, {"threshold": 4, "degenerated_to_sgd": False, "beta2": 0.9,
                                 "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (F.asgd, F.asgd_init, {"lr": 0.1}, {"lr": 0.1, "t0": 1, "weight_decay": 0.1}),
    (F.rprop, F.rprop_init, {"lr": 0.1}, {"maximize": True}),
    (F.rprop, F.rprop_init, {"lr": 0.1, "backtracking": True}, {"backtracking": True}),
    (F.adafactor, F.adafactor_init, {}, {"weight_decay": 0.1}),
    (F.adafactor, F.adafactor_init, {}, {"eps1_form": "paper", "eps1": 1e-30}),
]


@pytest.mark.parametrize("fn, init, init_kwargs, kwargs", FUNCTIONAL,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_functional_formulas_are_pure(fn, init, init_kwargs, kwargs):
    check_formula_is_pure(fn, init, init_kwargs, kwargs, warmup_steps=8)


# ---------------------------------------------------------------------------
# RAdam: the threshold and the early steps
# ---------------------------------------------------------------------------

def _radam_by_hand(theta, grads, *, lr, beta1, beta2, eps, weight_decay, threshold,
                   degenerated_to_sgd):
    """Algorithm 2 of Liu et al. with a threshold, PyTorch's eps, and the repository's
    decoupled decay (applied only when the parameter is updated)."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    rho_inf = 2 / (1 - beta2) - 1
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if rho_t > threshold:
            theta = theta * (1 - lr * weight_decay)
            l_t = np.sqrt(1 - beta2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            theta = theta - lr * m_hat * r_t * l_t
        elif degenerated_to_sgd:
            theta = theta * (1 - lr * weight_decay)
            theta = theta - lr * m_hat
        # else: no update at all
    return theta, m, v


@pytest.mark.parametrize("threshold", [4, 5])
@pytest.mark.parametrize("degenerated_to_sgd", [True, False])
def test_radam_threshold_and_degenerated_to_sgd_are_their_algorithm(threshold,
                                                                    degenerated_to_sgd):
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(6)
    grads = [rng.standard_normal(6) for _ in range(12)]
    hyper = {"lr": 0.05, "eps": 1e-8, "weight_decay": 0.1}
    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.RAdam([w], decoupled_weight_decay=True, threshold=threshold,
                      degenerated_to_sgd=degenerated_to_sgd, **hyper)
    for k, g in enumerate(grads, start=1):
        w.grad = mg.Tensor(g.copy())
        opt.step()
        theta, m, v = _radam_by_hand(theta0, grads[:k], beta1=0.9, beta2=0.999,
                                     threshold=threshold,
                                     degenerated_to_sgd=degenerated_to_sgd, **hyper)
        np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
        np.testing.assert_allclose(opt.state[w]["exp_avg"], m, rtol=1e-12)
        np.testing.assert_allclose(opt.state[w]["exp_avg_sq"], v, rtol=1e-12)
        if not degenerated_to_sgd and k < threshold + 1:
            np.testing.assert_array_equal(w.numpy(), theta0)      # not moved yet
    if threshold == 5 and degenerated_to_sgd:                     # torch's algorithm
        theirs = torch.tensor(theta0.copy(), requires_grad=True)
        topt = torch.optim.RAdam([theirs], decoupled_weight_decay=True, foreach=False, **hyper)
        for g in grads:
            theirs.grad = torch.tensor(g.copy())
            topt.step()
        np.testing.assert_allclose(w.numpy(), theirs.detach().numpy(), rtol=1e-12)


def test_radam_rho_t_and_first_rectified_step_via_tracing():
    """beta2 = 0.999: rho_5 = 4.996 and rho_6 = 5.994, so threshold 4 rectifies from
    step 5 and threshold 5 (PyTorch) from step 6."""
    rng = np.random.default_rng(1)
    theta0 = rng.standard_normal(3)
    grads = [rng.standard_normal(3) for _ in range(8)]
    first = {}
    for threshold in (4, 5):
        w = mg.Tensor(theta0.copy(), requires_grad=True)
        opt = optim.RAdam([w], threshold=threshold, trace=True)
        for g in grads:
            w.grad = mg.Tensor(g.copy())
            opt.step()
        rho = opt.trace_of("rho_t")
        assert opt.trace_of("rho_inf")[0] == pytest.approx(1999.0, rel=1e-12)
        assert rho[0] == pytest.approx(1.0, rel=1e-9)
        assert round(rho[4], 3) == 4.996 and round(rho[5], 3) == 5.994
        rectified = opt.trace_of("rectified")
        first[threshold] = int(np.argmax(rectified)) + 1
        assert rectified[first[threshold] - 1:].all() and not rectified[:first[threshold] - 1].any()
        steps, r_t = opt.trace_of("r_t", steps=True)      # only on rectified steps
        assert steps[0] == first[threshold]
        # r_t from the traced rho_t, and the update it produced
        rho_inf = 1999.0
        rho_s = rho[steps - 1]
        np.testing.assert_allclose(r_t, np.sqrt((rho_s - 4) * (rho_s - 2) * rho_inf
                                                / ((rho_inf - 4) * (rho_inf - 2) * rho_s)),
                                   rtol=1e-12)
        assert np.all(np.diff(r_t) > 0) and np.all(r_t < 1)
        m_hat = opt.trace_of("m_hat")
        theta = opt.trace_of("theta")
        before = np.vstack([theta0, theta[:-1]])
        k = first[threshold] - 2                          # the last un-rectified step
        np.testing.assert_allclose(theta[k], before[k] - 1e-3 * m_hat[k], rtol=1e-12)
    assert first == {4: 5, 5: 6}


# ---------------------------------------------------------------------------
# the other paper / lecture forms against their algorithms written out by hand
# ---------------------------------------------------------------------------

def test_adamax_without_eps_is_the_papers_algorithm():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(20)]
    alpha, b1, b2 = 0.01, 0.9, 0.999
    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.Adamax([w], lr=alpha, eps=0.0)
    theta, m, u = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):      # Kingma & Ba, Algorithm 2
        w.grad = mg.Tensor(g.copy())
        opt.step()
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        theta = theta - (alpha / (1 - b1 ** t)) * m / u
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["exp_inf"], u, rtol=1e-12)


def test_adamax_eps_inside_the_max_floors_tiny_gradients():
    """Gradients of 1e-9 for 3 steps, lr 1: the paper moves 1 per step, PyTorch's
    eps = 1e-8 inside the max makes it 1e-9 / 1.1e-8 = 0.0909 per step."""
    moved = {}
    for eps in (1e-8, 0.0):
        p = mg.Tensor(np.zeros(1), requires_grad=True)
        opt = optim.Adamax([p], lr=1.0, eps=eps)
        for _ in range(3):
            p.grad = mg.Tensor(np.array([1e-9]))
            opt.step()
        moved[eps] = -p.numpy()[0]
    assert moved[0.0] == pytest.approx(3.0, rel=1e-12)
    assert moved[1e-8] == pytest.approx(3 * 1e-9 / 1.1e-8, rel=1e-6)


def test_nadam_constant_mu_is_its_formula():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(20)]
    gamma, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.NAdam([w], lr=gamma, mu_schedule="constant")
    w_sched = mg.Tensor(theta0.copy(), requires_grad=True)
    opt_sched = optim.NAdam([w_sched], lr=gamma)
    theta, m, v = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        for p, o in ((w, opt), (w_sched, opt_sched)):
            p.grad = mg.Tensor(g.copy())
            o.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        theta = theta - gamma * m_bar / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    assert opt.state[w]["mu_product"] == pytest.approx(b1 ** 20, rel=1e-13)
    assert not np.allclose(w.numpy(), w_sched.numpy(), rtol=1e-4)


def test_asgd_average_is_the_mean_of_the_iterates_after_t0():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(25)]
    gamma, lambd, alpha = 0.05, 0.01, 0.75
    for t0 in (0, 5):
        w = mg.Tensor(theta0.copy(), requires_grad=True)
        opt = optim.ASGD([w], lr=gamma, lambd=lambd, alpha=alpha, t0=t0, trace=True)
        theta, iterates = theta0.copy(), []
        for t, g in enumerate(grads, start=1):
            w.grad = mg.Tensor(g.copy())
            opt.step()
            eta = gamma / (1 + lambd * gamma * (t - 1)) ** alpha    # eta_t (eta_1 = lr)
            theta = theta * (1 - lambd * eta) - eta * g
            iterates.append(theta)
            # averaging starts one iterate after t0: mean of theta_{t0+2}, ..., theta_t
            expected_avg = np.mean(iterates[t0 + 1:], axis=0) if t >= t0 + 2 else theta
            np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
            np.testing.assert_allclose(opt.state[w]["ax"], expected_avg, rtol=1e-12)
        np.testing.assert_allclose(opt.trace_of("theta_bar"), np.array(
            [np.mean(iterates[t0 + 1:k], axis=0) if k >= t0 + 2 else iterates[k - 1]
             for k in range(1, 26)]), rtol=1e-12)


def test_rprop_backtracking_is_the_papers_algorithm():
    a = np.array([1.0, 3.0, 0.5, 8.0])
    c = np.array([0.3, -1.0, 2.0, 0.1])

    def grad_at(x):                               # f = sum a (x - c)^2, full batch
        return 2 * a * (x - c)

    lr, eta_minus, eta_plus, d_min, d_max = 0.4, 0.5, 1.2, 1e-6, 50.0
    x0 = np.zeros(4)
    w = mg.Tensor(x0.copy(), requires_grad=True)
    opt = optim.Rprop([w], lr=lr, backtracking=True)
    x = x0.copy()
    delta, prev_g, prev_dx = np.full(4, lr), np.zeros(4), np.zeros(4)
    flips = 0
    for _ in range(40):                           # Riedmiller & Braun (1993), per weight
        w.grad = mg.Tensor(grad_at(w.numpy()))
        opt.step()
        g = grad_at(x)
        for i in range(4):
            if prev_g[i] * g[i] > 0:
                delta[i] = min(delta[i] * eta_plus, d_max)
                dx = -np.sign(g[i]) * delta[i]
            elif prev_g[i] * g[i] < 0:
                delta[i] = max(delta[i] * eta_minus, d_min)
                dx = -prev_dx[i]                  # undo the previous step
                g[i] = 0.0
                flips += 1
            else:
                dx = -np.sign(g[i]) * delta[i]
            x[i] += dx
            prev_dx[i] = dx
        prev_g = g
        np.testing.assert_allclose(w.numpy(), x, rtol=1e-12, atol=1e-15)
    assert flips > 5
    np.testing.assert_allclose(opt.state[w]["step_size"], delta, rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), c, atol=1e-3)           # converged


def test_adafactor_paper_eps1_is_the_papers_algorithm():
    """Shazeer & Stern, Algorithms 4 and 5 with update clipping and relative steps
    (sums, epsilon1 added to the squared gradient, no floors)."""
    rng = np.random.default_rng(0)
    X0, x0 = rng.standard_normal((4, 3)), rng.standard_normal(5)
    eps1, eps2, d, tau = 1e-30, 1e-3, 1.0, -0.8
    W, w = mg.Tensor(X0.copy(), requires_grad=True), mg.Tensor(x0.copy(), requires_grad=True)
    opt = optim.Adafactor([W, w], eps=(eps1, eps2), eps1_form="paper")
    W_t = mg.Tensor(X0.copy(), requires_grad=True)
    opt_torch_form = optim.Adafactor([W_t], eps=(eps1, eps2))

    def rms(a):
        return np.sqrt(np.mean(a ** 2))

    X, x = X0.copy(), x0.copy()
    R, C, V = np.zeros((4, 1)), np.zeros((1, 3)), np.zeros(5)
    for t in range(1, 31):
        G, g = rng.standard_normal((4, 3)), rng.standard_normal(5)
        W.grad, w.grad, W_t.grad = mg.Tensor(G.copy()), mg.Tensor(g.copy()), mg.Tensor(G.copy())
        opt.step()
        opt_torch_form.step()
        beta2_hat = 1 - t ** tau
        rho = min(1e-2, 1 / np.sqrt(t))
        # matrix: row and column sums of G^2 + eps1
        alpha = max(eps2, rms(X)) * rho
        R = beta2_hat * R + (1 - beta2_hat) * (G ** 2 + eps1).sum(axis=1, keepdims=True)
        C = beta2_hat * C + (1 - beta2_hat) * (G ** 2 + eps1).sum(axis=0, keepdims=True)
        V_hat = R @ C / R.sum()
        U = G / np.sqrt(V_hat)
        X = X - alpha * U / max(1.0, rms(U) / d)
        # vector
        alpha = max(eps2, rms(x)) * rho
        V = beta2_hat * V + (1 - beta2_hat) * (g ** 2 + eps1)
        u = g / np.sqrt(V)
        x = x - alpha * u / max(1.0, rms(u) / d)
    np.testing.assert_allclose(W.numpy(), X, rtol=1e-11)
    np.testing.assert_allclose(w.numpy(), x, rtol=1e-11)
    # minigrad stores means: R / m and C / n
    np.testing.assert_allclose(opt.state[W]["row_var"] * 3, R, rtol=1e-12)
    np.testing.assert_allclose(opt.state[W]["col_var"] * 4, C, rtol=1e-12)
    # with eps1 tiny against g^2 the two placements agree closely here
    np.testing.assert_allclose(W_t.numpy(), X, rtol=1e-9)


def test_adafactor_eps1_placement_matters_for_small_gradients():
    """Where gradients are ~eps1 the placements part: the paper's +eps1 damps the step."""
    outs = {}
    for form in ("torch", "paper"):
        p = mg.Tensor(np.ones(4), requires_grad=True)
        opt = optim.Adafactor([p], eps=(1e-3, 1e-3), eps1_form=form)
        p.grad = mg.Tensor(np.full(4, 1e-3))
        opt.step()
        outs[form] = 1 - p.numpy()[0]
    # torch: V = 1e-6, U = 1e-3 / max(1e-3, 1e-3) = 1, step 1e-2
    # paper: V = 1e-6 + 1e-3, U = 1e-3 / sqrt(1.001e-3) = 0.0316, step 1e-2 * 0.0316
    assert outs["torch"] == pytest.approx(1e-2, rel=1e-12)
    assert outs["paper"] == pytest.approx(1e-2 * 1e-3 / np.sqrt(1.001e-3), rel=1e-12)


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
