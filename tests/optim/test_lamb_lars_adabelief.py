"""LAMB, LARS and AdaBelief against their papers (PyTorch has none of them).

* Step by step (float64, parameters of several shapes: 0-d, 1-d, 2-d, 3-d; one
  parameter skips every third step) against the paper's algorithm written out
  below in plain NumPy, independently of ``optim.functional``: the parameters
  AND the state buffers after every step, within 1e-12 (relative).
* A behaviour the paper claims, on a problem whose answer is known: LAMB's
  update has norm exactly eta*||theta|| per tensor; LARS's local rate is
  eta*||w||/(||g|| + beta*||w||) and makes the step length independent of the
  gradient's scale; AdaBelief takes huge steps when the gradient is what it
  predicted (a constant gradient) where Adam takes steps of lr.

Their state_dict round trips, hyperparameter errors and formula purity are in
test_state_dict_round_trips.py, test_hyperparameter_errors.py and
test_functional_purity.py.
"""
import numpy as np
import pytest
from paper_utils import Reference, close, give, make_grads, make_params, norm, run_against

import minigrad as mg
import optim

# ---------------------------------------------------------------------------
# LAMB (You et al. 2020, Algorithm 2)
# ---------------------------------------------------------------------------

class LambByHand(Reference):
    def __init__(self, init, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 clamp_value=None, bias_correction=True):
        super().__init__(init)
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.wd, self.clamp, self.bc = weight_decay, clamp_value, bias_correction

    def __call__(self, i, g):
        x, s = self.theta[i], self.state[i]
        t = s.get("step", 0) + 1
        m = self.b1 * s.get("exp_avg", 0.0) + (1 - self.b1) * g
        v = self.b2 * s.get("exp_avg_sq", 0.0) + (1 - self.b2) * g ** 2
        m_hat = m / (1 - self.b1 ** t) if self.bc else m
        v_hat = v / (1 - self.b2 ** t) if self.bc else v
        r = m_hat / (np.sqrt(v_hat) + self.eps)
        update = r + self.wd * x
        x_norm, u_norm = np.linalg.norm(x.ravel()), np.linalg.norm(update.ravel())
        phi = x_norm if self.clamp is None else min(max(x_norm, 0.0), self.clamp)
        ratio = phi / u_norm if (x_norm > 0 and u_norm > 0) else 1.0
        self.theta[i] = x - self.lr * ratio * update
        self.state[i] = {"step": t, "exp_avg": m, "exp_avg_sq": v}


@pytest.mark.parametrize("cfg", [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.01, "clamp_value": 1.5},
    {"lr": 0.01, "clamp_value": 10.0, "bias_correction": False},
], ids=str)
def test_lamb_is_its_algorithm(cfg):
    init, params = make_params()
    opt = optim.LAMB(params, **cfg)
    run_against(opt, params, make_grads(), LambByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_sq"])


def test_lamb_update_norm_is_lr_times_weight_norm_whatever_the_gradient_scale():
    """phi = identity, lambda = 0: ||theta_t - theta_{t-1}|| = eta ||theta_{t-1}|| per tensor."""
    for scale in (1e-6, 1.0, 1e6):
        init, params = make_params(seed=2)
        opt = optim.LAMB(params, lr=0.01, trace=["trust_ratio", "r"])
        for step_grads in make_grads(steps=10, seed=3, skip=False, scale=scale):
            before = [p.numpy().copy() for p in params]
            give(params, step_grads)
            opt.step()
            for b, p in zip(before, params):
                assert norm(p.numpy() - b) == pytest.approx(0.01 * norm(b), rel=1e-12)
    # the trace has the paper's quantities: trust ratio = ||theta|| / ||r||
    rec = opt.trace[-1]
    assert rec["trust_ratio"] == pytest.approx(norm(b) / norm(rec["r"]), rel=1e-12)
    # clamp_value: the update norm is eta * min(||theta||, c)
    _, params = make_params(shapes=[(50,)], seed=4)
    opt = optim.LAMB(params, lr=0.01, clamp_value=2.0)
    before = params[0].numpy().copy()
    assert norm(before) > 2.0
    give(params, [np.ones(50)])
    opt.step()
    assert norm(params[0].numpy() - before) == pytest.approx(0.01 * 2.0, rel=1e-12)


def test_lamb_trust_ratio_is_one_for_a_zero_tensor():
    w = mg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.LAMB([w], lr=0.1, trace=True)
    w.grad = mg.Tensor(np.array([1.0, -2.0, 0.5]))
    opt.step()
    assert opt.trace[0]["trust_ratio"] == 1.0
    close(w.numpy(), -0.1 * opt.trace[0]["r"], "plain Adam-direction step")


# ---------------------------------------------------------------------------
# LARS (You, Gitman & Ginsburg 2017, Algorithm 1)
# ---------------------------------------------------------------------------

class LarsByHand(Reference):
    def __init__(self, init, lr=1e-3, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3,
                 exclude=()):
        super().__init__(init)
        self.lr, self.m, self.beta, self.eta = lr, momentum, weight_decay, trust_coefficient
        self.exclude = set(exclude)

    def __call__(self, i, g):
        w = self.theta[i]
        if i in self.exclude:
            local_lr, d = 1.0, g
        else:
            w_norm, g_norm = np.linalg.norm(w.ravel()), np.linalg.norm(g.ravel())
            denom = g_norm + self.beta * w_norm
            local_lr = self.eta * w_norm / denom if (w_norm > 0 and denom > 0) else 1.0
            d = g + self.beta * w
        v = self.m * self.state[i].get("momentum_buffer", 0.0) + self.lr * local_lr * d
        self.theta[i] = w - v
        if self.m != 0:
            self.state[i] = {"momentum_buffer": v}


@pytest.mark.parametrize("cfg, exclude", [
    ({}, ()),
    ({"lr": 2.0, "momentum": 0.9, "weight_decay": 5e-4, "trust_coefficient": 1e-3}, ()),
    ({"lr": 0.5, "momentum": 0.0, "weight_decay": 0.1, "trust_coefficient": 0.02}, ()),
    ({"lr": 0.5, "weight_decay": 0.1, "trust_coefficient": 0.01, "exclude_1d": True}, (0, 1)),
], ids=str)
def test_lars_is_its_algorithm(cfg, exclude):
    init, params = make_params()
    opt = optim.LARS(params, **cfg)
    ref_cfg = {k: v for k, v in cfg.items() if k != "exclude_1d"}
    run_against(opt, params, make_grads(), LarsByHand(init, exclude=exclude, **ref_cfg),
                ["momentum_buffer"])


def test_lars_excluded_group_and_local_lr_formula():
    init, params = make_params()
    opt = optim.LARS([{"params": params[:2], "exclude": True}, {"params": params[2:]}], lr=0.3,
                     weight_decay=0.01, trust_coefficient=0.005, trace=True)
    run_against(opt, params, make_grads(steps=10), LarsByHand(
        init, lr=0.3, weight_decay=0.01, trust_coefficient=0.005, exclude=(0, 1)),
        ["momentum_buffer"])
    for rec in opt.trace:
        if rec["param"] < 2:
            assert rec["local_lr"] == 1.0
        else:     # lambda^l = eta ||w|| / (||g|| + beta ||w||), at the weights before the step
            w_norm, g_norm = rec["w_norm"], norm(rec["g"])
            assert rec["g_norm"] == pytest.approx(g_norm, rel=1e-12)
            assert rec["local_lr"] == pytest.approx(0.005 * w_norm / (g_norm + 0.01 * w_norm),
                                                    rel=1e-12)


def test_lars_step_length_follows_the_weights_not_the_gradient():
    """No momentum, no decay: ||w_{t+1} - w_t|| = gamma * eta * ||w_t|| for any gradient scale."""
    for scale in (1e-8, 1.0, 1e8):
        _, params = make_params(seed=5)
        opt = optim.LARS(params, lr=0.7, momentum=0.0, trust_coefficient=0.01)
        for step_grads in make_grads(steps=5, seed=6, skip=False, scale=scale):
            before = [p.numpy().copy() for p in params]
            give(params, step_grads)
            opt.step()
            for b, p in zip(before, params):
                assert norm(p.numpy() - b) == pytest.approx(0.7 * 0.01 * norm(b), rel=1e-12)


def test_lars_zero_weights_take_a_plain_step():
    w = mg.Tensor(np.zeros(4), requires_grad=True)
    opt = optim.LARS([w], lr=0.1, momentum=0.0, trace=True)
    w.grad = mg.Tensor(np.arange(4.0))
    opt.step()
    assert opt.trace[0]["local_lr"] == 1.0
    close(w.numpy(), -0.1 * np.arange(4.0), "guarded step")


# ---------------------------------------------------------------------------
# AdaBelief (Zhuang et al. 2020, Algorithm 2; the authors' package's form)
# ---------------------------------------------------------------------------

class AdaBeliefByHand(Reference):
    def __init__(self, init, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 amsgrad=False, weight_decouple=True, fixed_decay=False, rectify=False,
                 degenerated_to_sgd=True):
        super().__init__(init)
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.amsgrad, self.decouple, self.fixed = amsgrad, weight_decouple, fixed_decay
        self.rectify, self.to_sgd = rectify, degenerated_to_sgd

    def __call__(self, i, g):
        x, s = self.theta[i], self.state[i]
        lr, b1, b2, eps = self.lr, self.b1, self.b2, self.eps
        if self.decouple:
            x = x * (1 - (self.wd if self.fixed else lr * self.wd))
        else:
            g = g + self.wd * x
        t = s.get("step", 0) + 1
        m = b1 * s.get("exp_avg", 0.0) + (1 - b1) * g
        var = b2 * s.get("exp_avg_var", 0.0) + (1 - b2) * (g - m) ** 2 + eps
        new = {"step": t, "exp_avg": m, "exp_avg_var": var}
        used = var
        if self.amsgrad:
            used = new["max_exp_avg_var"] = np.maximum(s.get("max_exp_avg_var", 0.0), var)
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        if not self.rectify:
            x = x - lr / bc1 * m / (np.sqrt(used / bc2) + eps)
        else:   # RAdam's rectification, threshold rho_t >= 5, on the raw s
            rho_inf = 2 / (1 - b2) - 1
            rho = rho_inf - 2 * t * b2 ** t / bc2
            if rho >= 5:
                r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                x = x - lr * r * np.sqrt(bc2) / bc1 * m / (np.sqrt(var) + eps)
            elif self.to_sgd:
                x = x - lr * m / bc1
        self.theta[i], self.state[i] = x, new


ADABELIEF_CONFIGS = [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "weight_decay": 0.1, "weight_decouple": False},
    {"lr": 0.01, "weight_decay": 0.05, "fixed_decay": True, "eps": 1e-8},
    {"lr": 0.01, "amsgrad": True, "eps": 1e-12},
    {"lr": 0.01, "rectify": True, "weight_decay": 0.1},
    {"lr": 0.01, "rectify": True, "degenerated_to_sgd": False, "betas": (0.8, 0.99)},
    {"lr": 0.01, "rectify": True, "amsgrad": True, "eps": 1e-8},
]


@pytest.mark.parametrize("cfg", ADABELIEF_CONFIGS, ids=str)
def test_adabelief_is_its_algorithm(cfg):
    init, params = make_params()
    opt = optim.AdaBelief(params, **cfg)
    run_against(opt, params, make_grads(), AdaBeliefByHand(init, **cfg),
                ["step", "exp_avg", "exp_avg_var", "max_exp_avg_var"])


@pytest.mark.parametrize("b2", [0.999, 0.9])
def test_adabelief_believes_a_constant_gradient_and_adam_does_not(b2):
    """A constant g: the residual is g - m_t = beta1^t g, so
    s_t = sum_i beta2^(t-i) [(1-beta2)(beta1^i g)^2 + eps].

    Once the early residuals are forgotten (t >> 1/(1-beta2)), s_hat_t -> eps/(1-beta2) and
    AdaBelief's step -> lr g / sqrt(eps/(1-beta2)): huge, since the gradient is exactly what
    the momentum predicts. Adam's step with the same gradient is lr g / (|g| + eps) = lr.
    """
    lr, b1, eps, T = 1e-3, 0.9, 1e-16, 600
    g = np.array([0.5, -2.0, 3.0])
    w_belief = mg.Tensor(np.zeros(3), requires_grad=True)
    w_adam = mg.Tensor(np.zeros(3), requires_grad=True)
    belief = optim.AdaBelief([w_belief], lr=lr, betas=(b1, b2), eps=eps)
    adam = optim.Adam([w_adam], lr=lr, betas=(b1, b2))
    for _ in range(1, T + 1):
        before_b, before_a = w_belief.numpy().copy(), w_adam.numpy().copy()
        w_belief.grad, w_adam.grad = mg.Tensor(g.copy()), mg.Tensor(g.copy())
        belief.step()
        adam.step()
    step_belief = before_b - w_belief.numpy()
    step_adam = before_a - w_adam.numpy()
    i = np.arange(1, T + 1)[:, None]
    s_T = np.sum(b2 ** (T - i) * ((1 - b2) * (b1 ** i * g) ** 2 + eps), axis=0)
    close(belief.state[w_belief]["exp_avg_var"], s_T, "s_T", rtol=1e-9)
    m_hat = g                                    # a constant gradient is its own mean
    close(step_belief, lr * m_hat / (np.sqrt(s_T / (1 - b2 ** T)) + eps), "step", rtol=1e-6)
    close(step_adam, lr * np.sign(g), "Adam's step", rtol=1e-7)
    if b2 == 0.9:       # the early residuals are forgotten: the limit, ~3e6 lr |g|
        close(step_belief, lr * g / np.sqrt(eps / (1 - b2)), "limit", rtol=1e-6)
        assert np.all(np.abs(step_belief) > 1e6 * lr)
    else:               # beta2 = 0.999 still remembers the first residuals (0.999^600 = 0.55)
        assert np.all(np.abs(step_belief) > 10 * lr)
