"""ADOPT, Yogi, AdaBound/AMSBound, QHAdam and AdEMAMix against their papers' algorithms in NumPy.

Step by step (float64, parameters of several shapes, one of them skipping
every third step), parameters and state buffers within 1e-12 (relative);
then a behaviour each paper claims. The comparison with pytorch_optimizer is
in test_new_optimizers_vs_pytorch_optimizer.py.
"""
import math

import numpy as np
import pytest
from paper_utils import Reference, make_grads, make_params, run_against

import minigrad as mg
import optim


class AdoptByHand(Reference):
    """Taniguchi et al. (2024), Algorithm 2 with the clipping c_t = t^(1/4) (or none)."""

    def __init__(self, init, lr=1e-3, betas=(0.9, 0.9999), eps=1e-6, clip=True, weight_decay=0.0, decouple=False):
        super().__init__(init)
        self.lr, self.betas, self.eps, self.clip, self.wd, self.decouple = lr, betas, eps, clip, weight_decay, decouple

    def __call__(self, i, g):
        s, x = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        if self.decouple:
            x = x * (1 - self.lr * self.wd)
        else:
            g = g + self.wd * x
        if t == 1:
            self.theta[i] = x
            self.state[i] = {"step": 1, "exp_avg": np.zeros_like(g), "exp_avg_sq": g * g}
            return
        v_prev = s["exp_avg_sq"]
        normed = g / np.maximum(np.sqrt(v_prev), self.eps)
        if self.clip:
            normed = np.clip(normed, -t ** 0.25, t ** 0.25)
        m = self.betas[0] * s["exp_avg"] + (1 - self.betas[0]) * normed
        self.theta[i] = x - self.lr * m
        self.state[i] = {"step": t, "exp_avg": m, "exp_avg_sq": self.betas[1] * v_prev + (1 - self.betas[1]) * g * g}


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.1, "decouple": True},
    {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-2, "clip": False},
], ids=str)
def test_adopt_is_its_algorithm(cfg):
    init, params = make_params()
    kwargs = dict(cfg)
    if kwargs.pop("clip", True) is False:
        kwargs["clip_lambda"] = None
    run_against(optim.ADOPT(params, **kwargs), params, make_grads(), AdoptByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_sq"])


def test_adopt_first_step_only_measures_and_later_steps_are_bounded():
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.ADOPT([w], lr=0.1, betas=(0.0, 0.9999))
    w.grad = mg.Tensor(np.array([1.0, 1.0, 1.0]))
    opt.step()
    np.testing.assert_array_equal(w.numpy(), 1.0)              # theta unchanged at t = 1
    w.grad = mg.Tensor(np.array([1e6, -1e6, 0.5]))             # an outlier: clipped to t^(1/4)
    opt.step()
    np.testing.assert_allclose(w.numpy(), [1 - 0.1 * 2 ** 0.25, 1 + 0.1 * 2 ** 0.25, 0.95], rtol=1e-12)


class YogiByHand(Reference):
    """Zaheer et al. (2018), Algorithm 2 (optionally with Adam's bias corrections)."""

    def __init__(self, init, lr=1e-2, betas=(0.9, 0.999), eps=1e-3, initial_accumulator=1e-6, weight_decay=0.0,
                 bias_correction=False):
        super().__init__(init)
        self.lr, self.betas, self.eps, self.v0 = lr, betas, eps, initial_accumulator
        self.wd, self.bc = weight_decay, bias_correction

    def __call__(self, i, g):
        b1, b2 = self.betas
        s, x = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        g = g + self.wd * x
        m = b1 * s.get("exp_avg", 0.0) + (1 - b1) * g
        v_prev = s.get("exp_avg_sq", np.full_like(g, self.v0))
        v = v_prev - (1 - b2) * np.sign(v_prev - g ** 2) * g ** 2
        if self.bc:
            self.theta[i] = x - self.lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + self.eps)
        else:
            self.theta[i] = x - self.lr * m / (np.sqrt(v) + self.eps)
        self.state[i] = {"step": t, "exp_avg": m, "exp_avg_sq": v}


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.05, "weight_decay": 0.1, "initial_accumulator": 0.5}, {"bias_correction": True, "eps": 1e-8},
], ids=str)
def test_yogi_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.Yogi(params, **cfg), params, make_grads(), YogiByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_sq"])


def test_yogi_second_moment_changes_by_at_most_one_minus_beta2_g_squared():
    """|v_t - v_{t-1}| = (1 - beta2) g_t^2 exactly where v_{t-1} != g_t^2 (Adam's change can be far larger)."""
    w = mg.Tensor(np.zeros(2), requires_grad=True)
    opt = optim.Yogi([w], initial_accumulator=100.0, trace=["v"])
    w.grad = mg.Tensor(np.array([0.1, 20.0]))
    opt.step()
    np.testing.assert_allclose(opt.trace_of("v")[0], [100.0 - 0.001 * 0.01, 100.0 + 0.001 * 400.0], rtol=1e-14)


class AdaBoundByHand(Reference):
    """Luo et al. (2019), Algorithms 2 and 3 in the reference code's form."""

    def __init__(self, init, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8, weight_decay=0.0,
                 amsbound=False):
        super().__init__(init)
        self.lr, self.betas, self.final_lr, self.gamma = lr, betas, final_lr, gamma
        self.eps, self.wd, self.ams = eps, weight_decay, amsbound

    def __call__(self, i, g):
        b1, b2 = self.betas
        s, x = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        g = g + self.wd * x
        m = b1 * s.get("exp_avg", 0.0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
        new = {"step": t, "exp_avg": m, "exp_avg_sq": v}
        if self.ams:
            v = new["max_exp_avg_sq"] = np.maximum(s.get("max_exp_avg_sq", 0.0), v)
        step_size = self.lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        lower = self.final_lr * (1 - 1 / (self.gamma * t + 1))
        upper = self.final_lr * (1 + 1 / (self.gamma * t))
        self.theta[i] = x - np.clip(step_size / (np.sqrt(v) + self.eps), lower, upper) * m
        self.state[i] = new


@pytest.mark.parametrize("cfg", [
    {}, {"amsbound": True}, {"lr": 0.01, "gamma": 0.1, "final_lr": 0.05, "weight_decay": 0.01},
    {"lr": 0.01, "gamma": 0.5, "amsbound": True, "betas": (0.5, 0.9)},
], ids=str)
def test_adabound_and_amsbound_are_their_algorithms(cfg):
    init, params = make_params()
    run_against(optim.AdaBound(params, **cfg), params, make_grads(), AdaBoundByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"])


def test_adabound_becomes_sgd_with_final_lr_and_follows_the_lr_schedule():
    """With gamma large the bounds pinch on final_lr: the step is final_lr * m; halving lr halves final_lr."""
    w = mg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.AdaBound([w], lr=1e-3, final_lr=0.1, gamma=0.999999, betas=(0.0, 0.999), trace=["lower", "upper"])
    g = np.array([1.0, -3.0, 1e-4])
    for _ in range(2000):
        w.grad = mg.Tensor(g)
        opt.step()
    assert opt.trace[-1]["upper"] - opt.trace[-1]["lower"] < 2e-4
    before = w.numpy().copy()
    opt.param_groups[0]["lr"] = 5e-4
    w.grad = mg.Tensor(g)
    opt.step()
    np.testing.assert_allclose(w.numpy() - before, -0.05 * g, rtol=1e-3)


class QHAdamByHand(Reference):
    """Ma & Yarats (2019), Algorithm 2."""

    def __init__(self, init, lr=1e-3, betas=(0.995, 0.999), nus=(0.7, 1.0), weight_decay=0.0, eps=1e-8):
        super().__init__(init)
        self.lr, self.betas, self.nus, self.wd, self.eps = lr, betas, nus, weight_decay, eps

    def __call__(self, i, g):
        (b1, b2), (n1, n2) = self.betas, self.nus
        s, x = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        g = g + self.wd * x
        m = b1 * s.get("exp_avg", 0.0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
        numer = (1 - n1) * g + n1 * m / (1 - b1 ** t)
        denom = np.sqrt((1 - n2) * g * g + n2 * v / (1 - b2 ** t)) + self.eps
        self.theta[i] = x - self.lr * numer / denom
        self.state[i] = {"step": t, "exp_avg": m, "exp_avg_sq": v}


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.01, "nus": (0.3, 0.6), "weight_decay": 0.1}, {"lr": 0.01, "betas": (0.9, 0.99), "nus": (1.0, 0.0)},
], ids=str)
def test_qhadam_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.QHAdam(params, **cfg), params, make_grads(), QHAdamByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_sq"])


def test_qhadam_with_nus_one_is_adam():
    init, params = make_params(seed=5)
    _, adam_params = make_params(seed=5)
    qh = optim.QHAdam(params, lr=0.01, betas=(0.9, 0.999), nus=(1.0, 1.0))
    adam = optim.Adam(adam_params, lr=0.01)
    for grads in make_grads(steps=10, skip=False):
        for p, q, g in zip(params, adam_params, grads):
            p.grad, q.grad = mg.Tensor(g), mg.Tensor(g)
        qh.step()
        adam.step()
    for p, q in zip(params, adam_params):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-13)


class AdEMAMixByHand(Reference):
    """Pagliardini et al. (2024), Algorithm 1 with its alpha and beta3 schedulers."""

    def __init__(self, init, lr=1e-3, betas=(0.9, 0.999, 0.9999), alpha=2.0, beta3_warmup=None, alpha_warmup=None,
                 eps=1e-8, weight_decay=0.0):
        super().__init__(init)
        self.lr, self.betas, self.alpha, self.t_b3, self.t_a = lr, betas, alpha, beta3_warmup, alpha_warmup
        self.eps, self.wd = eps, weight_decay

    def __call__(self, i, g):
        b1, b2, b3 = self.betas
        s, x = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        alpha = self.alpha if self.t_a is None else min(t * self.alpha / self.t_a, self.alpha)
        if self.t_b3 is not None:
            lb1, lb3 = math.log(b1), math.log(b3)
            b3 = min(math.exp(lb1 * lb3 / ((1 - t / self.t_b3) * lb3 + (t / self.t_b3) * lb1)), b3)
        m1 = b1 * s.get("exp_avg_fast", 0.0) + (1 - b1) * g
        m2 = b3 * s.get("exp_avg_slow", 0.0) + (1 - b3) * g
        nu = b2 * s.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
        update = (m1 / (1 - b1 ** t) + alpha * m2) / (np.sqrt(nu / (1 - b2 ** t)) + self.eps)
        self.theta[i] = x - self.lr * (update + self.wd * x)
        self.state[i] = {"step": t, "exp_avg_fast": m1, "exp_avg_slow": m2, "exp_avg_sq": nu}


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.01, "alpha": 5.0, "weight_decay": 0.1},
    {"lr": 0.01, "betas": (0.9, 0.999, 0.999), "beta3_warmup": 20, "alpha_warmup": 10},
], ids=str)
def test_ademamix_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.AdEMAMix(params, **cfg), params, make_grads(), AdEMAMixByHand(init, **cfg),
                ["step", "exp_avg_fast", "exp_avg_slow", "exp_avg_sq"])


def test_ademamix_beta3_schedule_runs_from_beta1_to_beta3():
    from optim.functional import ademamix_beta3
    assert ademamix_beta3(0, 0.9, 0.9999, 100) == pytest.approx(0.9, rel=1e-14)
    assert ademamix_beta3(100, 0.9, 0.9999, 100) == pytest.approx(0.9999, rel=1e-14)
    values = [ademamix_beta3(t, 0.9, 0.9999, 100) for t in range(101)]
    assert all(a < b for a, b in zip(values, values[1:]))
    # the half-life -1/ln(beta) grows linearly in t (the scheduler's design)
    half = [-1 / math.log(b) for b in values]
    np.testing.assert_allclose(np.diff(half), np.diff(half)[0], rtol=1e-8)
