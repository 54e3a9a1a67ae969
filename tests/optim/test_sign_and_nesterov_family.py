"""Lion and Adan against their papers' algorithms written out in NumPy (PyTorch has neither).

Step by step (float64, parameters of several shapes, one of them skipping
every third step), parameters and state buffers within 1e-12 (relative);
then a behaviour each paper claims. The comparison with pytorch_optimizer is
in test_new_optimizers_vs_pytorch_optimizer.py.
"""
import numpy as np
import pytest
from paper_utils import Reference, make_grads, make_params, run_against

import minigrad as mg
import optim


class LionByHand(Reference):
    """Chen et al. (2023), Algorithm 2."""

    def __init__(self, init, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(init)
        self.lr, (self.b1, self.b2), self.wd = lr, betas, weight_decay

    def __call__(self, i, g):
        x, m = self.theta[i], self.state[i].get("exp_avg", np.zeros_like(g))
        update = np.sign(self.b1 * m + (1 - self.b1) * g)
        self.theta[i] = x - self.lr * (update + self.wd * x)
        self.state[i] = {"exp_avg": self.b2 * m + (1 - self.b2) * g}


@pytest.mark.parametrize("cfg", [{}, {"lr": 0.01, "weight_decay": 0.5}, {"lr": 0.003, "betas": (0.5, 0.9)}], ids=str)
def test_lion_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.Lion(params, **cfg), params, make_grads(), LionByHand(init, **cfg), ["exp_avg"])


def test_lion_moves_every_coordinate_by_exactly_lr():
    """The sign update: |theta_t - theta_{t-1}| = lr in every coordinate, whatever the gradient's scale."""
    for scale in (1e-8, 1.0, 1e8):
        _, params = make_params(seed=3)
        opt = optim.Lion(params, lr=0.01)
        for grads in make_grads(steps=5, seed=4, skip=False, scale=scale):
            before = [p.numpy().copy() for p in params]
            for p, g in zip(params, grads):
                p.grad = mg.Tensor(g)
            opt.step()
            for b, p in zip(before, params):
                np.testing.assert_allclose(np.abs(p.numpy() - b), 0.01, rtol=1e-12)


class AdanByHand(Reference):
    """Xie et al., Algorithm 1 in the reference code's form (its betas are the paper's 1 - beta)."""

    def __init__(self, init, lr=1e-3, betas=(0.98, 0.92, 0.99), eps=1e-8, weight_decay=0.0, no_prox=False):
        super().__init__(init)
        self.lr, self.betas, self.eps, self.wd, self.no_prox = lr, betas, eps, weight_decay, no_prox

    def __call__(self, i, g):
        b1, b2, b3 = self.betas
        s, x = self.state[i], self.theta[i]
        k = s.get("step", 0) + 1
        g_prev = s.get("pre_grad", g)
        m = b1 * s.get("exp_avg", 0.0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_diff", 0.0) + (1 - b2) * (g - g_prev)
        n = b3 * s.get("exp_avg_sq", 0.0) + (1 - b3) * (g + b2 * (g - g_prev)) ** 2
        eta = self.lr / (np.sqrt(n / (1 - b3 ** k)) + self.eps)
        step = eta * (m / (1 - b1 ** k) + b2 * v / (1 - b2 ** k))
        if self.no_prox:
            self.theta[i] = x * (1 - self.lr * self.wd) - step
        else:
            self.theta[i] = (x - step) / (1 + self.wd * self.lr)
        self.state[i] = {"step": k, "exp_avg": m, "exp_avg_diff": v, "exp_avg_sq": n, "pre_grad": g.copy()}


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.1, "no_prox": True},
    {"lr": 0.02, "betas": (0.9, 0.8, 0.95), "eps": 1e-3},
], ids=str)
def test_adan_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.Adan(params, **cfg), params, make_grads(), AdanByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_diff", "exp_avg_sq", "pre_grad"])


def test_adan_keeps_its_previous_gradient_when_grad_is_zeroed_in_place():
    """pre_grad is a copy: zero_grad(set_to_none=False) zeroes .grad in place without touching it."""
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adan([w], lr=0.1)
    w.grad = mg.Tensor(np.array([1.0, 2.0, 3.0]))
    opt.step()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(opt.state[w]["pre_grad"], [1.0, 2.0, 3.0])


def test_adan_first_step_has_no_gradient_difference_and_its_constant_gradient_step_is_lr():
    """g_0 = g_1: v_1 = 0; with a constant gradient every difference is 0 and |step| -> lr (Adam-like)."""
    w = mg.Tensor(np.zeros(4), requires_grad=True)
    opt = optim.Adan([w], lr=0.01, eps=0.0, trace=["v", "u"])
    for _ in range(20):
        w.grad = mg.Tensor(np.array([1.0, -2.0, 0.5, 3.0]))
        opt.step()
    np.testing.assert_array_equal(opt.trace_of("v"), 0.0)
    np.testing.assert_allclose(np.abs(opt.trace_of("u")), 1.0, rtol=1e-12)
