"""QHM, AggMo, NovoGrad and MADGRAD against their papers' algorithms written out in NumPy.

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


class QHMByHand(Reference):
    """Ma & Yarats (2019), Algorithm 1."""

    def __init__(self, init, lr, momentum, nu, weight_decay=0.0, weight_decay_type="grad"):
        super().__init__(init)
        self.lr, self.beta, self.nu, self.wd = lr, momentum, nu, weight_decay
        self.direct = weight_decay_type == "direct"

    def __call__(self, i, g):
        x = self.theta[i]
        if self.direct:
            x = x * (1 - self.lr * self.wd)
        else:
            g = g + self.wd * x
        b = self.beta * self.state[i].get("momentum_buffer", 0.0) + (1 - self.beta) * g
        self.theta[i] = x - self.lr * ((1 - self.nu) * g + self.nu * b)
        self.state[i] = {"momentum_buffer": b}


@pytest.mark.parametrize("cfg", [
    {"lr": 0.1, "momentum": 0.999, "nu": 0.7},
    {"lr": 0.05, "momentum": 0.9, "nu": 0.9, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.5, "nu": 1.0, "weight_decay": 0.1, "weight_decay_type": "direct"},
], ids=str)
def test_qhm_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.QHM(params, **cfg), params, make_grads(), QHMByHand(init, **cfg), ["momentum_buffer"])


def test_qhm_needs_its_three_hyperparameters_and_recovers_sgd_and_nesterov():
    _, params = make_params()
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter"):
        optim.QHM(params, lr=0.1, momentum=0.9)
    # nu = 0: plain SGD, whatever the momentum
    w, v = mg.Tensor(np.ones(3), requires_grad=True), mg.Tensor(np.ones(3), requires_grad=True)
    qhm, sgd = optim.QHM([w], lr=0.1, momentum=0.9, nu=0.0), optim.SGD([v], lr=0.1)
    # nu = beta: Nesterov's momentum in the normalised form (PyTorch's with dampening = beta, lr / (1 - beta))
    w2, v2 = mg.Tensor(np.ones(3), requires_grad=True), mg.Tensor(np.ones(3), requires_grad=True)
    qhm_n = optim.QHM([w2], lr=0.1, momentum=0.9, nu=0.9)
    nesterov = optim.SGD([v2], lr=0.1 * (1 - 0.9), momentum=0.9, nesterov=True)
    rng = np.random.default_rng(0)
    for _ in range(10):
        g = rng.standard_normal(3)
        for p in (w, v, w2, v2):
            p.grad = mg.Tensor(g)
        for o in (qhm, sgd, qhm_n, nesterov):
            o.step()
    np.testing.assert_allclose(w.numpy(), v.numpy(), rtol=1e-14)
    np.testing.assert_allclose(w2.numpy(), v2.numpy(), rtol=1e-12)


class AggMoByHand(Reference):
    """Lucas et al. (2019): v_i = beta_i v_i - g, theta += (lr / K) sum_i v_i."""

    def __init__(self, init, lr=0.1, betas=(0.0, 0.9, 0.99), weight_decay=0.0):
        super().__init__(init)
        self.lr, self.betas, self.wd = lr, betas, weight_decay

    def __call__(self, i, g):
        x = self.theta[i]
        g = g + self.wd * x
        vs = self.state[i].get("v", [np.zeros_like(g) for _ in self.betas])
        vs = [beta * v - g for beta, v in zip(self.betas, vs)]
        self.theta[i] = x + self.lr / len(self.betas) * sum(vs)
        self.state[i] = {"v": vs, "momentum_buffer": -np.stack(vs)}


@pytest.mark.parametrize("cfg", [{}, {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 0.1}], ids=str)
def test_aggmo_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.AggMo(params, **cfg), params, make_grads(), AggMoByHand(init, **cfg), ["momentum_buffer"])


def test_aggmo_with_one_beta_is_heavy_ball():
    w, v = mg.Tensor(np.ones(3), requires_grad=True), mg.Tensor(np.ones(3), requires_grad=True)
    aggmo, sgd = optim.AggMo([w], lr=0.1, betas=[0.9]), optim.SGD([v], lr=0.1, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(10):
        g = rng.standard_normal(3)
        w.grad, v.grad = mg.Tensor(g), mg.Tensor(g)
        aggmo.step()
        sgd.step()
    np.testing.assert_allclose(w.numpy(), v.numpy(), rtol=1e-14)


class NovoGradByHand(Reference):
    """Ginsburg et al. (2019), Algorithm 1: layer-wise v, v_1 = ||g_1||^2, decay inside the momentum."""

    def __init__(self, init, lr=1e-3, betas=(0.95, 0.98), eps=1e-8, weight_decay=0.0, grad_averaging=False):
        super().__init__(init)
        self.lr, self.betas, self.eps, self.wd, self.avg = lr, betas, eps, weight_decay, grad_averaging

    def __call__(self, i, g):
        b1, b2 = self.betas
        s, x = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        norm_sq = float(np.sum(g * g))
        v = norm_sq if t == 1 else b2 * s["exp_avg_sq"] + (1 - b2) * norm_sq
        d = g / (np.sqrt(v) + self.eps) + self.wd * x
        m = b1 * s.get("exp_avg", 0.0) + ((1 - b1) if self.avg else 1.0) * d
        self.theta[i] = x - self.lr * m
        self.state[i] = {"step": t, "exp_avg": m, "exp_avg_sq": v}


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "betas": (0.9, 0.5), "grad_averaging": True},
], ids=str)
def test_novograd_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.NovoGrad(params, **cfg), params, make_grads(), NovoGradByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_sq"])


def test_novograd_is_invariant_to_the_scale_of_each_layers_gradient():
    """The layer-wise normalisation: scaling one tensor's gradients by 1e6 leaves its steps unchanged (eps = 0)."""
    runs = []
    for scale in (1.0, 1e6):
        _, params = make_params(seed=2)
        opt = optim.NovoGrad(params, lr=0.01, eps=0.0)
        for grads in make_grads(steps=8, skip=False):
            for k, (p, g) in enumerate(zip(params, grads)):
                p.grad = mg.Tensor(g * (scale if k == 2 else 1.0))
            opt.step()
        runs.append([p.numpy().copy() for p in params])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


class MadgradByHand(Reference):
    """Defazio & Jelassi (2021), Algorithm 1."""

    def __init__(self, init, lr=1e-2, momentum=0.9, weight_decay=0.0, eps=1e-6, decouple_decay=False):
        super().__init__(init)
        self.lr, self.c, self.wd, self.eps, self.decouple = lr, 1 - momentum, weight_decay, eps, decouple_decay

    def __call__(self, i, g):
        s, x = self.state[i], self.theta[i]
        k = s.get("step", 0)
        x0 = s.get("x0", x.copy())
        if not self.decouple:
            g = g + self.wd * x
        lam = self.lr * np.sqrt(k + 1)
        s_new = s.get("s", 0.0) + lam * g
        nu = s.get("grad_sum_sq", 0.0) + lam * g * g
        z = x0 - s_new / (np.cbrt(nu) + self.eps)
        x_new = (1 - self.c) * x + self.c * z
        if self.decouple:
            x_new = x_new - self.lr * self.wd * x
        self.theta[i] = x_new
        self.state[i] = {"step": k + 1, "s": s_new, "grad_sum_sq": nu, "x0": x0}


@pytest.mark.parametrize("cfg", [
    {}, {"momentum": 0.0}, {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "weight_decay": 0.1, "decouple_decay": True, "eps": 1e-3},
], ids=str)
def test_madgrad_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.MADGRAD(params, **cfg), params, make_grads(), MadgradByHand(init, **cfg),
                ["step", "s", "grad_sum_sq", "x0"])


def test_madgrad_without_momentum_is_a_dual_average_around_the_start():
    """momentum = 0: x_k = x_0 - s_k / (nu_k^(1/3) + eps), independently of the path."""
    w = mg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.MADGRAD([w], lr=0.1, momentum=0.0, eps=0.0)
    grads = [np.array([1.0, 2.0]), np.array([-0.5, 1.0]), np.array([0.25, -3.0])]
    for g in grads:
        w.grad = mg.Tensor(g)
        opt.step()
    lams = 0.1 * np.sqrt(np.arange(1, 4))
    s = sum(lam * g for lam, g in zip(lams, grads))
    nu = sum(lam * g * g for lam, g in zip(lams, grads))
    np.testing.assert_allclose(w.numpy(), np.array([1.0, -2.0]) - s / np.cbrt(nu), rtol=1e-14)
