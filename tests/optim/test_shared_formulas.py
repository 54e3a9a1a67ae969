"""One definition of each formula, shared by every caller, and the layering of optim.

* Ma & Yarats' untuned warmup length: Ranger21 and LinearWarmupLR agree
  (``optim.functional.schedules.untuned_warmup_steps``), also where
  2/(1 - beta2) is not exact in floating point.
* Lookahead's synchronisation: ``optim.functional.lookahead_sync`` is the
  step of the Lookahead wrapper's formula and of Ranger21's, bit for bit.
* The schedules' closed forms (``optim.functional.schedules``) are the
  formulas of their papers and what the scheduler classes set.
* PyTorch's flags (``optim.functional.flags``) are the identity when off.
* The layers: the formulas import no optimizer class and no fast path, and
  hold no in-place function; only the classes built on ``FlatPath`` take
  ``impl="flat"``.
"""
import ast
import math
import pathlib

import numpy as np
import pytest

import minigrad as mg
import optim
from optim import functional as F
from optim import lr_scheduler as L
from optim.checks import check_count
from optim.fast import FlatPath
from optim.functional import flags
from optim.functional import schedules as S


def _leaf(shape=(3,), seed=0):
    return mg.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ---------------------------------------------------------------------------
# the untuned warmup length
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("beta2, tau", [(0.9, 20), (0.95, 40), (0.99, 200), (0.997, 667), (0.999, 2000),
                                        (0.9999, 20000), (0.99999, 200000)])
def test_ranger21_and_linear_warmup_lr_use_one_warmup_length(beta2, tau):
    ranger = optim.Ranger21([_leaf()], betas=(0.9, beta2))
    adam = optim.Adam([_leaf()], betas=(0.9, beta2))
    assert ranger.warmup_steps() == tau
    assert L.LinearWarmupLR(adam).warmup_periods == [tau]
    assert S.untuned_warmup_steps(beta2) == tau
    assert optim.transforms.default_warmup_steps(beta2) == tau
    assert S.untuned_warmup_period(beta2) == pytest.approx(2 / (1 - beta2), rel=1e-15)


def test_untuned_warmup_length_needs_a_beta2_below_one():
    with pytest.raises(ValueError, match="Expected 0 <= beta2 < 1, but got 1.0"):
        S.untuned_warmup_steps(1.0)


# ---------------------------------------------------------------------------
# Lookahead's synchronisation
# ---------------------------------------------------------------------------

def test_lookahead_formula_is_lookahead_sync():
    rng = np.random.default_rng(0)
    theta, phi = rng.standard_normal(5), rng.standard_normal(5)
    new_theta, new_state, _ = F.lookahead(theta, {"slow_param": phi}, alpha=0.3)
    sync_theta, sync_phi = F.lookahead_sync(theta, phi, alpha=0.3)
    np.testing.assert_array_equal(new_theta, sync_theta)
    np.testing.assert_array_equal(new_state["slow_param"], sync_phi)
    assert sync_theta is not sync_phi
    same_theta, _ = F.lookahead_sync(theta, phi, alpha=1.0)    # alpha = 1: exactly the fast weights
    np.testing.assert_array_equal(same_theta, theta)


@pytest.mark.parametrize("alpha", [0.5, 0.3, 1.0])
def test_ranger21_synchronises_with_lookahead_sync(alpha):
    rng = np.random.default_rng(1)
    theta, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    state = F.ranger21_init(theta)
    state["slow_param"] = rng.standard_normal((3, 4))
    kwargs = dict(beta1=0.9, beta2=0.999)
    moments, _ = F.ranger21_moments(theta, grad, state, **kwargs)
    v_bar = float(moments["v_hat"].mean())
    synced, synced_state, inter = F.ranger21_update(theta, state, moments, v_bar=v_bar, warmup=3,
                                                    lookahead_k=1, lookahead_alpha=alpha)
    assert inter["synced"]
    stepped, _, _ = F.ranger21_update(theta, state, moments, v_bar=v_bar, warmup=3, lookahead_k=0)
    want_theta, want_phi = F.lookahead_sync(stepped, state["slow_param"], alpha=alpha)
    np.testing.assert_array_equal(synced, want_theta)
    np.testing.assert_array_equal(synced_state["slow_param"], want_phi)


# ---------------------------------------------------------------------------
# the schedules' closed forms
# ---------------------------------------------------------------------------

def test_closed_forms_are_their_formulas():
    assert S.cosine_annealing(0, 10, 0.1, 1.0) == 1.0
    assert S.cosine_annealing(10, 10, 0.1, 1.0) == pytest.approx(0.1, rel=1e-15)
    assert S.cosine_annealing(5, 10, 0.1, 1.0) == pytest.approx(0.55, rel=1e-15)
    assert S.step_decay(7, 2.0, 3, 0.5) == 2.0 * 0.5 ** 2
    assert S.multistep_decay(7, 2.0, [2, 5, 5, 9], 0.5) == 2.0 * 0.5 ** 3
    assert S.exponential_decay(3, 2.0, 0.5) == 0.25
    assert S.polynomial_decay(2, 1.0, 4, 2.0) == 0.25
    assert S.polynomial_decay(9, 1.0, 4, 2.0) == 0.0
    assert S.hyperbolic_decay(4, 1.0, 0.25) == 0.5
    assert S.linear_ramp(1, 1.0, 0.5, 1.0, 4) == 0.625
    assert S.constant_warmup(2, 1.0, 0.25, 3) == 0.25 and S.constant_warmup(3, 1.0, 0.25, 3) == 1.0
    assert [S.linear_warmup(t, 4) for t in (1, 2, 4, 9)] == [0.25, 0.5, 1.0, 1.0]
    w = 16
    assert S.noam_rate(w, 64, w) == pytest.approx((64 * w) ** -0.5, rel=1e-15)   # the peak
    assert S.cyclic_position(0, 10, 0.5) == (1, 0.0) and S.cyclic_position(5, 10, 0.5) == (1, 1.0)
    assert S.anneal_cos(1.0, 0.0, 0.5) == pytest.approx(0.5, rel=1e-15)
    assert S.anneal_linear(1.0, 0.0, 0.25) == 0.75


@pytest.mark.parametrize("make, closed_form", [
    (lambda o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01), lambda t: S.cosine_annealing(t, 7, 0.01, 0.1)),
    (lambda o: L.StepLR(o, step_size=3, gamma=0.5), lambda t: S.step_decay(t, 0.1, 3, 0.5)),
    (lambda o: L.ExponentialLR(o, gamma=0.9), lambda t: S.exponential_decay(t, 0.1, 0.9)),
    (lambda o: L.PolynomialLR(o, total_iters=6, power=2.0), lambda t: S.polynomial_decay(t, 0.1, 6, 2.0)),
    (lambda o: L.HyperbolicLR(o, k=0.5), lambda t: S.hyperbolic_decay(t, 0.1, 0.5)),
    (lambda o: L.LinearWarmupLR(o, beta2=0.9), lambda t: 0.1 * S.linear_warmup(t + 1, 20)),
])
def test_schedulers_follow_their_closed_forms(make, closed_form):
    opt = optim.SGD([_leaf()], lr=0.1)
    sched = make(opt)
    for t in range(1, 15):
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(closed_form(t), rel=1e-12)
    sched.step(epoch=9)                                      # the closed form itself
    assert opt.param_groups[0]["lr"] == closed_form(9)


# ---------------------------------------------------------------------------
# PyTorch's flags, ASGD's lecture average, the count check
# ---------------------------------------------------------------------------

def test_flags_are_the_identity_when_off():
    theta, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    assert flags.signed_gradient(g, False) is g
    assert flags.l2_penalty(g, theta, 0.0) is g
    assert flags.decoupled_decay(theta, 0.1, 0.0) is theta
    np.testing.assert_array_equal(flags.signed_gradient(g, True), -g)
    np.testing.assert_array_equal(flags.l2_penalty(g, theta, 0.5), g + 0.5 * theta)
    np.testing.assert_array_equal(flags.decoupled_decay(theta, 0.1, 0.5), theta * (1 - 0.1 * 0.5))
    np.testing.assert_array_equal(flags.amsgrad_max(np.array([1.0, 0.0]), g), [1.0, 0.25])


def test_sgd_lecture_is_sgd_with_the_lecture_momentum_form():
    rng = np.random.default_rng(2)
    theta, state, same_state = rng.standard_normal(4), {}, {}
    for _ in range(5):
        grad = rng.standard_normal(4)
        a, new_a, _ = F.sgd(theta, grad, state, lr=0.1, momentum=0.9, weight_decay=0.1,
                            nesterov=True, momentum_form="lecture")
        b, new_b, _ = F.sgd_lecture(theta, grad, same_state, lr=0.1, momentum=0.9, weight_decay=0.1,
                                    nesterov=True)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(new_a["velocity"], new_b["velocity"])
        theta, state, same_state = a, new_a, new_b


def test_asgd_with_t0_minus_one_averages_every_iterate():
    rng = np.random.default_rng(3)
    w = _leaf((4,), seed=3)
    opt = optim.ASGD([w], lr=0.05, lambd=0.01, t0=-1)
    iterates = []
    for _ in range(12):
        w.grad = mg.Tensor(rng.standard_normal(4))
        opt.step()
        iterates.append(w.numpy().copy())
        np.testing.assert_allclose(opt.state[w]["ax"], np.mean(iterates, axis=0), rtol=1e-12)


@pytest.mark.parametrize("value, kwargs, message", [
    (0, {}, "Invalid k value: 0 (expected an int >= 1)"),
    (True, {}, "Invalid k value: True"),
    (2.5, {}, "Invalid k value: 2.5"),
    (-1, {"minimum": 0}, "Invalid k value: -1 (expected an int >= 0)"),
    (None, {}, "Invalid k value: None"),
])
def test_check_count_names_the_value(value, kwargs, message):
    with pytest.raises(ValueError) as err:
        check_count(value, "k", **kwargs)
    assert message in str(err.value)
    assert check_count(None, "k", allow_none=True) is None
    assert check_count(np.int64(3), "k") == 3


# ---------------------------------------------------------------------------
# the layers
# ---------------------------------------------------------------------------

def test_only_the_flat_path_classes_take_impl_flat():
    flat_classes = {name for name in optim.__all__
                    if isinstance(getattr(optim, name), type) and issubclass(getattr(optim, name), FlatPath)}
    assert flat_classes == {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}
    assert optim.LAMB([_leaf()]).impl == "teaching"
    assert optim.Adam([_leaf()], impl="flat").impl == "flat"


def test_the_formulas_import_no_class_and_no_fast_path():
    root = pathlib.Path(optim.functional.__file__).parent
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2:      # from ..x import ...
                assert node.module in ("checks", "types"), f"{path.name} imports optim.{node.module}"
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("optim"), f"{path.name} imports {node.module}"
    in_place = [name for name in F.__all__ if name.endswith("_")]
    assert in_place == [], f"in-place functions among the formulas: {in_place}"
    assert math.isclose(F.cosine_annealing(1, 2, 0.0, 1.0), 0.5)     # the schedules are formulas too
