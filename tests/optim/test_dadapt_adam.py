"""DAdaptAdam against the reference code's algorithm written out in NumPy (two loops over all parameters).

Parameters, the moments and the shared estimate d agree within 1e-12
(relative) after every step; one parameter skips every third step.
"""
import numpy as np
import pytest
from paper_utils import close, give, make_grads, make_params

import minigrad as mg
import optim


class DAdaptAdamByHand:
    def __init__(self, init, lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decouple=False,
                 use_bias_correction=False, d0=1e-6, growth_rate=float("inf")):
        self.x = [a.copy() for a in init]
        self.m = [np.zeros_like(a) for a in init]
        self.v = [np.zeros_like(a) for a in init]
        self.s = [np.zeros_like(a) for a in init]
        self.lr, (self.b1, self.b2), self.eps, self.wd, self.decouple = lr, betas, eps, weight_decay, decouple
        self.bc, self.growth = use_bias_correction, growth_rate
        self.d, self.r, self.k = d0, 0.0, 0

    def step(self, grads):
        b1, b2, rb2 = self.b1, self.b2, np.sqrt(self.b2)
        rho = np.sqrt(1 - b2 ** (self.k + 1)) / (1 - b1 ** (self.k + 1)) if self.bc else 1.0
        dlr = self.d * self.lr * rho
        acc, l1, live = 0.0, 0.0, [i for i, g in enumerate(grads) if g is not None]
        for i in live:
            g = grads[i] + (0 if self.decouple else self.wd * self.x[i])
            acc += dlr * np.sum(g * (self.s[i] / (np.sqrt(self.v[i]) + self.eps)))
            self.m[i] = b1 * self.m[i] + (1 - b1) * dlr * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            self.s[i] = rb2 * self.s[i] + (1 - rb2) * dlr * g
            l1 += np.abs(self.s[i]).sum()
        self.r = rb2 * self.r + (1 - rb2) * acc
        self.d = max(self.d, min(self.r / ((1 - rb2) * l1), self.d * self.growth))
        for i in live:
            if self.decouple:
                self.x[i] = self.x[i] * (1 - dlr * self.wd)
            self.x[i] = self.x[i] - self.m[i] / (np.sqrt(self.v[i]) + self.eps)
        self.k += 1


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.5, "weight_decay": 0.1}, {"weight_decay": 0.1, "decouple": True, "growth_rate": 1.2},
    {"use_bias_correction": True, "d0": 1e-3, "betas": (0.8, 0.99)},
], ids=str)
def test_dadapt_adam_is_its_algorithm(cfg):
    init, params = make_params()
    opt = optim.DAdaptAdam(params, **cfg)
    ref = DAdaptAdamByHand(init, **cfg)
    for t, grads in enumerate(make_grads(scale=0.1)):
        give(params, grads)
        opt.step()
        ref.step(grads)
        assert opt.param_groups[0]["d"] == pytest.approx(ref.d, rel=1e-12)
        for i, p in enumerate(params):
            close(p.numpy(), ref.x[i], f"step {t + 1}, param {i}")
            if p in opt.state:
                close(opt.state[p]["s"], ref.s[i], f"step {t + 1}, s {i}", atol=1e-300)


def test_dadapt_adam_d_never_decreases_and_grows_on_a_quadratic():
    w = mg.Tensor(np.full(10, 3.0), requires_grad=True)
    opt = optim.DAdaptAdam([w], trace=["d"])
    for _ in range(300):
        w.grad = mg.Tensor(w.numpy().copy())
        opt.step()
    d = opt.trace_of("d")
    assert np.all(np.diff(d) >= 0) and d[-1] > 1e3 * d[0]
    assert np.linalg.norm(w.numpy()) < 0.5 * np.linalg.norm(np.full(10, 3.0))
