"""Prodigy against the reference code's algorithm written out in NumPy (two loops over all parameters).

Every parameter gets a gradient at every step (the estimate is global: one
parameter skipping a step changes every other's update in both versions
alike, so the comparison also runs with skips). Parameters, the moments and
the shared estimate d agree within 1e-12 (relative) after every step.
"""
import numpy as np
import pytest
from paper_utils import close, give, make_grads, make_params

import minigrad as mg
import optim


class ProdigyByHand:
    def __init__(self, init, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8, weight_decay=0.0, decouple=True,
                 use_bias_correction=False, safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf")):
        self.x = [a.copy() for a in init]
        self.x0 = [a.copy() for a in init]
        self.m = [np.zeros_like(a) for a in init]
        self.v = [np.zeros_like(a) for a in init]
        self.s = [np.zeros_like(a) for a in init]
        self.lr, (self.b1, self.b2), self.eps, self.wd, self.decouple = lr, betas, eps, weight_decay, decouple
        self.b3 = beta3 if beta3 is not None else np.sqrt(betas[1])
        self.bc, self.safeguard, self.d0, self.coef, self.growth = (use_bias_correction, safeguard_warmup, d0,
                                                                     d_coef, growth_rate)
        self.d, self.d_max, self.num, self.k = d0, d0, 0.0, 0

    def step(self, grads):
        b1, b2, b3, d = self.b1, self.b2, self.b3, self.d
        rho = np.sqrt(1 - b2 ** (self.k + 1)) / (1 - b1 ** (self.k + 1)) if self.bc else 1.0
        dlr = d * self.lr * rho
        self.num *= b3
        den, live = 0.0, [i for i, g in enumerate(grads) if g is not None]
        for i in live:
            g = grads[i] + (0 if self.decouple else self.wd * self.x[i])
            self.num += (d / self.d0) * dlr * np.sum(g * (self.x0[i] - self.x[i]))
            self.m[i] = b1 * self.m[i] + (1 - b1) * d * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * d * d * g * g
            self.s[i] = b3 * self.s[i] + (d / self.d0) * (d if self.safeguard else dlr) * g
            den += np.abs(self.s[i]).sum()
        d_hat = self.coef * self.num / den
        if d == self.d0:
            d = max(d, d_hat)
        self.d_max = max(self.d_max, d_hat)
        self.d = min(self.d_max, d * self.growth)
        for i in live:
            if self.decouple:
                self.x[i] = self.x[i] * (1 - dlr * self.wd)
            self.x[i] = self.x[i] - dlr * self.m[i] / (np.sqrt(self.v[i]) + self.d * self.eps)
        self.k += 1


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.5, "weight_decay": 0.1}, {"weight_decay": 0.1, "decouple": False, "d_coef": 0.5},
    {"use_bias_correction": True, "safeguard_warmup": True, "growth_rate": 1.5, "beta3": 0.9, "d0": 1e-3},
], ids=str)
def test_prodigy_is_its_algorithm(cfg):
    init, params = make_params()
    opt = optim.Prodigy(params, **cfg)
    ref = ProdigyByHand(init, **cfg)
    for t, grads in enumerate(make_grads(scale=0.1)):
        give(params, grads)
        opt.step()
        ref.step(grads)
        assert opt.param_groups[0]["d"] == pytest.approx(ref.d, rel=1e-12)
        for i, p in enumerate(params):
            close(p.numpy(), ref.x[i], f"step {t + 1}, param {i}")
            if p in opt.state:
                close(opt.state[p]["exp_avg"], ref.m[i], f"step {t + 1}, m {i}", atol=1e-300)
                close(opt.state[p]["s"], ref.s[i], f"step {t + 1}, s {i}", atol=1e-300)


def test_prodigy_learns_the_step_size_on_a_quadratic():
    """From d0 = 1e-6, d grows by orders of magnitude towards the distance to the minimiser (here ~10)."""
    w = mg.Tensor(np.full(10, 3.0), requires_grad=True)
    opt = optim.Prodigy([w], lr=1.0)
    for _ in range(200):
        w.grad = mg.Tensor(w.numpy().copy())            # f = ||w||^2 / 2
        opt.step()
    assert opt.param_groups[0]["d"] > 0.1
    assert np.linalg.norm(w.numpy()) < 0.1 * np.linalg.norm(np.full(10, 3.0))


def test_prodigy_skips_a_step_without_any_gradient_signal_and_round_trips():
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Prodigy([w])
    w.grad = mg.Tensor(np.zeros(3))
    opt.step()
    np.testing.assert_array_equal(w.numpy(), 1.0)
    assert opt.param_groups[0]["k"] == 0
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(3) for _ in range(8)]
    a, b = mg.Tensor(np.ones(3), requires_grad=True), mg.Tensor(np.ones(3), requires_grad=True)
    full, first = optim.Prodigy([a]), optim.Prodigy([b])
    for t, g in enumerate(grads):
        a.grad = mg.Tensor(g)
        full.step()
        if t < 4:
            b.grad = mg.Tensor(g)
            first.step()
    c = mg.Tensor(b.numpy().copy(), requires_grad=True)
    resumed = optim.Prodigy([c], lr=9.0)
    resumed.load_state_dict(first.state_dict())
    for g in grads[4:]:
        c.grad = mg.Tensor(g)
        resumed.step()
    np.testing.assert_array_equal(c.numpy(), a.numpy())
