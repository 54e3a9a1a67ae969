"""Stopping criteria against hand-made loss sequences."""
import math

import numpy as np
import pytest

import minigrad as mg
from optim.stopping import (
    AllOf,
    AnyOf,
    MaxIterations,
    NonFinite,
    Patience,
    RelativeGradNorm,
    RelativeLoss,
    StoppingCriterion,
    TargetGap,
    TimeBudget,
    total_grad_norm,
)


def first_stop(criterion, **sequences):
    """Feed the sequences (step t = 0, 1, ...) until the criterion fires; return t or None."""
    n = len(next(iter(sequences.values())))
    for t in range(n):
        obs = {k: v[t] for k, v in sequences.items() if v[t] is not None}
        if criterion.update(step=t, **obs):
            return t
    return None


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# ----------------------------------------------------------------------------------
# each criterion alone
# ----------------------------------------------------------------------------------

def test_max_iterations():
    stop = MaxIterations(5)
    assert [stop.update(step=t) for t in range(8)] == [False] * 5 + [True] * 3
    assert stop.reason == "MaxIterations: reached the limit of 5 iterations at step 5"


def test_max_iterations_counts_calls_without_step():
    stop = MaxIterations(3)
    assert [stop.update(loss=1.0) for _ in range(4)] == [False, False, True, True]
    assert stop.reason.endswith("at step 3")


def test_max_iterations_zero_stops_at_once():
    assert MaxIterations(0).update(step=0)


def test_time_budget_with_fake_clock():
    clock = FakeClock()
    stop = TimeBudget(10.0, clock=clock)
    clock.now += 4.0
    assert not stop.update(step=1)
    clock.now += 5.9
    assert not stop.update(step=2)
    clock.now += 0.1
    assert stop.update(step=3)
    assert stop.reason.startswith("TimeBudget: 10 s elapsed >= budget of 10 s at step 3")
    stop.reset()                                    # the clock restarts
    assert not stop.update(step=4)
    clock.now += 10.0
    stop.start()
    assert not stop.update(step=5) and stop.elapsed == 0.0


def test_patience_on_a_validation_curve():
    # best 0.50 at t = 4, two worse evaluations, a new best 0.49 at t = 7, then worse
    val = [1.0, 0.8, 0.7, 0.6, 0.5, 0.55, 0.52, 0.49, 0.6, 0.61, 0.62, 0.7]
    stop = Patience(3)
    # the counter reached 2 at t = 6, restarted at t = 7; t = 8, 9, 10 are bad
    assert first_stop(stop, val_loss=val) == 10
    assert stop.best == 0.49 and stop.best_step == 7 and stop.num_bad == 3
    assert "not improved on its best 0.49 (step 7)" in stop.reason
    assert stop.reason.endswith("for 3 evaluation(s); stopped at step 10")
    assert first_stop(Patience(2), val_loss=val) == 6


def test_patience_min_delta_ignores_tiny_improvements():
    val = [1.0, 0.999, 0.998, 0.997, 0.996, 0.5]
    assert first_stop(Patience(3, min_delta=0.01), val_loss=val) == 3
    assert first_stop(Patience(3), val_loss=val) is None


def test_patience_zero_and_max_mode():
    assert first_stop(Patience(0), val_loss=[3, 2, 1, 1]) == 3     # equal is no improvement
    acc = [0.5, 0.6, 0.7, 0.69, 0.71, 0.70, 0.70]
    assert first_stop(Patience(2, mode="max"), val_loss=acc) == 6
    assert first_stop(Patience(1, mode="max", min_delta=0.05), val_loss=acc) == 3


def test_patience_stays_stopped_and_skips_missing_observations():
    stop = Patience(1)
    assert not stop.update(step=0, loss=5.0)        # no val_loss: nothing to judge
    assert not stop.update(step=1, val_loss=1.0)
    assert stop.update(step=2, val_loss=2.0)
    assert stop.update(step=3, val_loss=0.1)        # an early-stopping decision sticks
    assert stop.reason.endswith("stopped at step 2")


def test_patience_can_watch_training_loss():
    assert first_stop(Patience(2, monitor="loss"), loss=[3, 2, 2, 2, 1]) == 3


def test_target_gap():
    # f(x) = 0.1 x1^2 + 2 x2^2 along gradient descent, J* = 0
    x = np.array([3.0, 1.0])
    losses = []
    for _ in range(200):
        losses.append(0.1 * x[0] ** 2 + 2 * x[1] ** 2)
        x = x - 0.2 * np.array([0.2 * x[0], 4 * x[1]])
    t = first_stop(TargetGap(0.0, 1e-3), loss=losses)
    assert losses[t] <= 1e-3 < losses[t - 1]
    assert t == next(i for i, v in enumerate(losses) if v <= 1e-3)
    gap = TargetGap(1.0, 0.5)
    assert first_stop(gap, loss=[3.0, 2.0, 1.5, 1.2]) == 2        # 1.5 - 1 <= 0.5
    assert "J(theta_t) - J* = 0.5 <= eps = 0.5 at step 2" in gap.reason


def test_relative_loss_uses_first_loss_as_J0():
    losses = [8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.1]
    stop = RelativeLoss(0.1)
    assert first_stop(stop, loss=losses) == 4                      # 0.5 <= 0.1 * 8 = 0.8
    assert stop.reference == 8.0
    assert "0.5 <= eps * J(theta_0) = 0.1 * 8 at step 4" in stop.reason
    assert first_stop(RelativeLoss(0.1, initial=20.0), loss=losses) == 2   # 2 <= 0.1 * 20


def test_relative_grad_norm():
    norms = [10.0, 5.0, 2.0, 0.5, 0.09, 0.2]
    stop = RelativeGradNorm(1e-2)
    assert first_stop(stop, grad_norm=norms) == 4
    assert stop.reason.startswith("RelativeGradNorm: ||grad J||(theta_t) = 0.09")


def test_value_criteria_follow_the_latest_observation():
    stop = TargetGap(0.0, 1.0)
    assert stop.update(step=0, loss=0.5)
    assert not stop.update(step=1, loss=1.5)                       # the loss went back up
    assert stop.reason is None
    assert not stop.update(step=2, grad_norm=3.0)                  # no loss: verdict kept


def test_non_finite():
    stop = NonFinite()
    assert first_stop(stop, loss=[1.0, 2.0, float("inf"), 3.0]) == 2
    assert stop.reason == "NonFinite: loss = inf at step 2"
    assert NonFinite().update(grad_norm=float("nan"))


def test_accepts_numpy_and_tensor_values():
    assert RelativeLoss(0.5).update(loss=np.float32(2.0)) is False
    stop = RelativeLoss(0.5)
    stop.update(loss=mg.tensor(4.0))
    assert stop.update(loss=np.array(1.0))


# ----------------------------------------------------------------------------------
# combinations
# ----------------------------------------------------------------------------------

def test_or_stops_at_the_first_member():
    losses = [1.0 / (t + 1) for t in range(100)]
    stop = MaxIterations(50) | RelativeLoss(0.05)
    assert isinstance(stop, AnyOf)
    assert first_stop(stop, loss=losses) == 19                     # 1/20 <= 0.05
    assert stop.reason.startswith("RelativeLoss:")
    stop.reset()
    assert first_stop(stop, loss=[1.0] * 100) == 50
    assert stop.reason.startswith("MaxIterations:")


def test_or_reports_every_member_that_fired():
    stop = MaxIterations(3) | TargetGap(0.0, 1.0)
    assert first_stop(stop, loss=[5, 4, 3, 0.5]) == 3
    assert stop.reason == ("MaxIterations: reached the limit of 3 iterations at step 3; "
                           "TargetGap: J(theta_t) - J* = 0.5 <= eps = 1 at step 3")


def test_and_needs_all_members_at_once():
    # at least 10 iterations AND a small loss
    losses = [0.01] * 5 + [0.5] * 10 + [0.01] * 5
    stop = MaxIterations(10) & TargetGap(0.0, 0.1)
    assert isinstance(stop, AllOf)
    assert first_stop(stop, loss=losses) == 15
    assert stop.reason.startswith("all of: MaxIterations")


def test_operators_flatten_and_every_member_sees_every_observation():
    a, b, c = MaxIterations(100), RelativeLoss(0.5), RelativeGradNorm(0.5)
    stop = a | b | c
    assert stop.criteria == [a, b, c]
    assert repr(stop) == ("(MaxIterations(n=100) | RelativeLoss(eps=0.5) | "
                          "RelativeGradNorm(eps=0.5))")
    stop.update(step=0, loss=4.0, grad_norm=2.0)
    # b fires first, yet c must still record its reference value at t = 0
    assert stop.update(step=1, loss=1.0, grad_norm=2.0)
    assert c.reference == 2.0 and b.stopped and not c.stopped


def test_mixed_combination_with_epochwise_validation():
    clock = FakeClock()
    stop = (MaxIterations(1000) | TimeBudget(60, clock=clock) | Patience(2)) \
        | (TargetGap(0.0, 1e-9) & MaxIterations(10))
    val = {9: 1.0, 19: 0.9, 29: 0.95, 39: 0.97}                     # validated every 10 steps
    for t in range(100):
        clock.now += 0.1
        obs = {"step": t, "loss": 1.0 / (t + 1)}
        if t in val:
            obs["val_loss"] = val[t]
        if stop.update(**obs):
            break
    assert t == 39 and stop.reason.startswith("Patience: val_loss")


def test_reset_restarts_everything():
    clock = FakeClock()
    stop = MaxIterations(2) | RelativeLoss(0.5) | TimeBudget(5, clock=clock)
    stop.update(loss=2.0)
    assert stop.update(loss=0.9)
    stop.reset()
    assert not stop.stopped and stop.reason is None
    assert not stop.update(loss=0.9)            # J(theta_0) is now 0.9
    assert stop.update(loss=0.9)                # the second call is step 2
    assert stop.reason.startswith("MaxIterations")


def test_combining_does_not_reset_members():
    a = MaxIterations(1)
    a.update(step=1)
    assert (a | RelativeLoss(0.1)).criteria[0].stopped


def test_unknown_observation_names_are_errors():
    with pytest.raises(TypeError, match="unknown observation"):
        MaxIterations(3).update(val=1.0)
    with pytest.raises(TypeError, match="unknown observation"):
        (MaxIterations(3) | Patience(2)).update(validation_loss=1.0)


def test_call_is_update_and_bad_arguments():
    stop = MaxIterations(1)
    assert stop(step=1)
    with pytest.raises(ValueError):
        MaxIterations(-1)
    with pytest.raises(ValueError):
        Patience(2, mode="best")
    with pytest.raises(ValueError):
        RelativeLoss(-0.1)
    with pytest.raises(TypeError):
        AnyOf(MaxIterations(1), 3)
    with pytest.raises(NotImplementedError):
        StoppingCriterion().update(step=1)


def test_total_grad_norm():
    class P:
        def __init__(self, g):
            self.grad = g
    params = [P(mg.tensor(np.array([3.0, 0.0]))), P(None), P(np.array([[4.0]]))]
    assert total_grad_norm(params) == 5.0
    assert total_grad_norm([]) == 0.0
    assert math.isclose(total_grad_norm([P(mg.tensor(np.full(4, 0.5)))]), 1.0)
