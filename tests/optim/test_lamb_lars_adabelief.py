"""LAMB, LARS, AdaBelief, Lookahead (and Ranger), SAM/ASAM and SWATS against their papers.

PyTorch has none of these, so each is checked two ways:

* step by step (float64, parameters of several shapes: 0-d, 1-d, 2-d, 3-d; one
  parameter skips every third step) against the paper's algorithm written out
  below in plain NumPy, independently of ``optim.functional``: the parameters
  AND the state buffers after every step, within 1e-12 (relative);
* a behaviour the paper claims, on a problem whose answer is known: LAMB's
  update has norm exactly eta*||theta|| per tensor; LARS's local rate is
  eta*||w||/(||g|| + beta*||w||) and makes the step length independent of the
  gradient's scale; AdaBelief takes huge steps when the gradient is what it
  predicted (a constant gradient) where Adam takes steps of lr; Lookahead with
  k=1, alpha=1 is its inner optimizer bit for bit and moves its slow weights by
  alpha*(theta_k - phi) every k steps; SAM's ascent step has norm exactly rho
  (ASAM's: in the scaled coordinates); SWATS switches on a convex quadratic
  once its projected rate has settled, at the rate known in closed form, and
  then runs SGD with exactly that rate.

Plus state_dict round trips (in memory and through a checkpoint file) and
hyperparameter errors.
"""
import numpy as np
import pytest

import minigrad as mg
import optim
from optim import functional as F

RTOL = 1e-12
SHAPES = [(), (5,), (4, 3), (2, 3, 2)]
STEPS = 30


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def make_params(shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in shapes]
    return init, [mg.Tensor(a.copy(), requires_grad=True) for a in init]


def make_grads(shapes=SHAPES, steps=STEPS, seed=1, skip=True, scale=1.0):
    """Random gradients; parameter 1 gets none every third step."""
    rng = np.random.default_rng(seed)
    return [[None if (skip and i == 1 and t % 3 == 2) else scale * rng.standard_normal(s)
             for i, s in enumerate(shapes)] for t in range(steps)]


def give(params, step_grads):
    for p, g in zip(params, step_grads):
        p.grad = None if g is None else mg.Tensor(g.copy())


def close(a, b, what, rtol=RTOL, atol=0.0):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def norm(x):
    return float(np.sqrt(np.sum(np.asarray(x, dtype=np.float64) ** 2)))


def run_against(opt, params, grads, reference, state_keys):
    """Step ``opt`` and the by-hand ``reference`` together; compare after every step.

    ``reference(i, g)`` takes one parameter's gradient (or None), updates its
    own copy and returns nothing; ``reference.theta[i]`` and
    ``reference.state[i][key]`` are compared with the optimizer's.
    """
    for t, step_grads in enumerate(grads):
        give(params, step_grads)
        opt.step()
        for i, g in enumerate(step_grads):
            if g is not None:
                reference(i, g)
        for i, p in enumerate(params):
            close(p.numpy(), reference.theta[i], f"step {t + 1}, param {i}")
            for key in state_keys:
                if key in reference.state[i]:
                    close(np.asarray(opt.state[p][key], dtype=np.float64),
                          reference.state[i][key], f"step {t + 1}, param {i}: {key}", atol=1e-300)


class Reference:
    """Per-parameter copies of theta and of the state, for the by-hand algorithms."""

    def __init__(self, init):
        self.theta = [a.copy() for a in init]
        self.state = [{} for _ in init]


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
    for t in range(1, T + 1):
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


# ---------------------------------------------------------------------------
# SWATS (Keskar & Socher 2017, Algorithm 1, per layer)
# ---------------------------------------------------------------------------

class SwatsByHand(Reference):
    """Algorithm 1 for each tensor on its own (the paper's per-layer practice)."""

    def __init__(self, init, lr=1e-3, betas=(0.9, 0.999), eps=1e-9, switch_eps=1e-9,
                 weight_decay=0.0):
        super().__init__(init)
        self.lr, (self.b1, self.b2), self.eps, self.tol = lr, betas, eps, switch_eps
        self.wd = weight_decay
        for s in self.state:
            s.update(step=0, exp_avg=0.0, exp_avg_sq=0.0, exp_avg_gamma=0.0)
        self.phase = ["adam"] * len(init)
        self.Lambda = [None] * len(init)
        self.switched_at = [None] * len(init)

    def __call__(self, i, g):
        w, s, b1, b2 = self.theta[i], self.state[i], self.b1, self.b2
        g = g + self.wd * w
        k = s["step"] + 1
        s["step"] = k
        if self.phase[i] == "sgd":
            s["momentum_buffer"] = b1 * s["momentum_buffer"] + g
            self.theta[i] = w - (1 - b1) * self.Lambda[i] * s["momentum_buffer"]
            return
        s["exp_avg"] = m = b1 * s["exp_avg"] + (1 - b1) * g
        s["exp_avg_sq"] = a = b2 * s["exp_avg_sq"] + (1 - b2) * g ** 2
        p = -self.lr * np.sqrt(1 - b2 ** k) / (1 - b1 ** k) * m / (np.sqrt(a) + self.eps)
        self.theta[i] = w + p
        pg = np.dot(p.ravel(), g.ravel())
        if pg != 0:
            gamma = np.dot(p.ravel(), p.ravel()) / -pg
            s["exp_avg_gamma"] = lam = b2 * s["exp_avg_gamma"] + (1 - b2) * gamma
            if k > 1 and abs(lam / (1 - b2 ** k) - gamma) < self.tol:
                self.phase[i] = "sgd"
                s["momentum_buffer"] = np.zeros_like(w)
                self.Lambda[i] = lam / (1 - b2 ** k)
                self.switched_at[i] = k


@pytest.mark.parametrize("cfg", [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "switch_eps": 3e-3},   # switches early
], ids=str)
def test_swats_is_its_algorithm(cfg):
    init, params = make_params()
    opt = optim.SWATS(params, **cfg)
    ref = SwatsByHand(init, **cfg)
    run_against(opt, params, make_grads(steps=40), ref,
                ["step", "exp_avg", "exp_avg_sq", "exp_avg_gamma", "momentum_buffer"])
    assert opt.switch_steps() == ref.switched_at
    if "switch_eps" in cfg:
        assert all(k is not None for k in ref.switched_at)        # the SGD phase was exercised
        assert len(set(ref.switched_at)) > 1                       # at different steps per tensor
    for p, Lambda in zip(params, ref.Lambda):
        if Lambda is not None:
            assert opt.state[p]["sgd_lr"] == pytest.approx(Lambda, rel=RTOL)


def test_swats_switches_on_a_convex_quadratic_with_the_projected_rate():
    """f(w) = 1/2 (0.5 w_1^2 + 2 w_2^2): the switch comes once gamma_k has settled, at its value.

    Algorithm 1 switches when |lambda_k/(1-beta2^k) - gamma_k| < 1e-9, i.e. when the
    projected rate gamma_k has stopped moving. On a deterministic quadratic it settles
    where Adam's eps dominates sqrt(a): Adam's step is then p = -(alpha/eps) m, momentum
    SGD, and the iteration (m_k, w_k) is linear. Along its slowest mode (curvature h,
    eigenvalue rho, eigenvector (m, w)) gamma_k = -p^T p / p^T g = (alpha/eps) m_k / (h w_{k-1})
    = (alpha/eps) rho m / (h w): the answer known in closed form. After the switch each step
    is w <- w - (1 - beta1) Lambda v with that Lambda.
    """
    lr, b1, b2, eps = 0.1, 0.9, 0.99, 10.0
    h = np.array([0.5, 2.0])
    w0 = np.random.default_rng(0).standard_normal(2)
    w = mg.Tensor(w0.copy(), requires_grad=True)
    H = mg.Tensor(h)
    opt = optim.SWATS([w], lr=lr, betas=(b1, b2), eps=eps,
                      trace=["theta", "gamma", "Lambda", "lambda", "switched", "lr_sgd", "v"])
    ref = SwatsByHand([w0], lr=lr, betas=(b1, b2), eps=eps)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (H * w * w).sum()
        loss.backward()
        return loss

    steps, losses = 3000, []
    for _ in range(steps):
        losses.append(opt.step(closure).item())
        ref(0, h * ref.theta[0])
    close(w.numpy(), ref.theta[0], f"after {steps} steps", rtol=1e-9)
    k = opt.switch_steps()[0]
    assert k == ref.switched_at[0] and 100 < k < steps
    state = opt.state[w]
    assert state["phase"] == "sgd" and state["switch_step"] == k
    record_steps, switched = opt.trace_of("switched", steps=True)
    assert list(record_steps[switched.astype(bool)]) == [k]
    rec = next(r for r in opt.trace if r.get("switched"))
    Lambda, gamma = rec["Lambda"], rec["gamma"]
    # the switched rate is the projected estimate: Lambda = lambda_k / (1 - beta2^k) ~ gamma_k
    assert Lambda == rec["lambda"] / (1 - b2 ** k) and abs(Lambda - gamma) < 1e-9
    assert state["sgd_lr"] == Lambda == pytest.approx(ref.Lambda[0], rel=1e-9)
    # ... and it is the known answer of the slowest mode
    s = lr / eps
    M = np.array([[b1, (1 - b1) * h.min()], [-s * b1, 1 - s * (1 - b1) * h.min()]])
    eigenvalues, eigenvectors = np.linalg.eig(M)
    j = np.argmax(np.abs(eigenvalues))
    rho, (m_mode, w_mode) = eigenvalues[j].real, eigenvectors[:, j].real
    assert Lambda == pytest.approx(s * rho * m_mode / (h.min() * w_mode), rel=1e-6)
    # every SGD step uses that rate: w_k = w_{k-1} - (1 - beta1) Lambda v_k, v restarted at 0
    lr_sgd = opt.trace_of("lr_sgd")
    assert len(lr_sgd) == steps - k and np.all(lr_sgd == Lambda)
    thetas, vs = opt.trace_of("theta"), opt.trace_of("v")
    close(vs[0], h * thetas[k - 1], "v_1 = g")
    close(thetas[k] - thetas[k - 1], -(1 - b1) * Lambda * vs[0], "first SGD step")
    assert losses[-1] < losses[k] < losses[0]         # SGD keeps descending
    # a schedule acts on the SGD rate: halving lr halves it
    opt.param_groups[0]["lr"] = lr / 2
    opt.step(closure)
    assert opt.trace[-1]["lr_sgd"] == pytest.approx(Lambda / 2, rel=1e-15)


def test_swats_does_not_switch_on_a_negative_estimate():
    theta = np.ones(3)
    state = F.swats_init(theta)
    state.update(step=5, exp_avg=np.ones(3), exp_avg_sq=np.ones(3), exp_avg_gamma=-1.0)
    # a gradient opposite to the momentum: p^T g > 0, gamma < 0
    _, new_state, inter = F.swats(theta, -1e-3 * np.ones(3), state, switch_eps=1e3)
    assert inter["gamma"] < 0 and abs(inter["Lambda"] - inter["gamma"]) < 1e3
    assert not inter["switched"] and new_state["phase"] == "adam"


# ---------------------------------------------------------------------------
# Lookahead (Zhang et al. 2019) and Ranger
# ---------------------------------------------------------------------------

class LookaheadSGDByHand(Reference):
    """Lookahead around SGD with momentum (PyTorch's form b = mu b + g, theta -= lr b)."""

    def __init__(self, init, lr, momentum, k, alpha, pullback="none"):
        super().__init__(init)
        self.lr, self.mu, self.k, self.alpha, self.pullback = lr, momentum, k, alpha, pullback
        self.phi = [a.copy() for a in init]
        self.slow_b = [np.zeros_like(a) for a in init]
        self.t = 0

    def inner(self, i, g):
        s = self.state[i]
        s["momentum_buffer"] = g.copy() if "momentum_buffer" not in s else \
            self.mu * s["momentum_buffer"] + g
        self.theta[i] = self.theta[i] - self.lr * s["momentum_buffer"]

    def end_of_step(self):
        self.t += 1
        if self.t % self.k:
            return
        for i in range(len(self.theta)):
            self.phi[i] = self.phi[i] + self.alpha * (self.theta[i] - self.phi[i])
            self.theta[i] = self.phi[i].copy()
            s = self.state[i]
            if "momentum_buffer" in s and self.pullback == "reset":
                s["momentum_buffer"] = np.zeros_like(s["momentum_buffer"])
            elif "momentum_buffer" in s and self.pullback == "pullback":
                b = self.slow_b[i] + self.alpha * (s["momentum_buffer"] - self.slow_b[i])
                s["momentum_buffer"], self.slow_b[i] = b, b.copy()


@pytest.mark.parametrize("k, alpha, pullback", [(5, 0.5, "none"), (3, 0.8, "reset"),
                                                (4, 0.3, "pullback"), (1, 0.5, "pullback")])
def test_lookahead_is_its_algorithm(k, alpha, pullback):
    init, params = make_params()
    opt = optim.Lookahead(optim.SGD(params, lr=0.05, momentum=0.9), k=k, alpha=alpha,
                          pullback_momentum=pullback)
    ref = LookaheadSGDByHand(init, 0.05, 0.9, k, alpha, pullback)
    for t, step_grads in enumerate(make_grads(steps=STEPS)):
        give(params, step_grads)
        opt.step()
        for i, g in enumerate(step_grads):
            if g is not None:
                ref.inner(i, g)
        ref.end_of_step()
        for i, p in enumerate(params):
            close(p.numpy(), ref.theta[i], f"step {t + 1}, param {i}")
            close(opt.state[p]["slow_param"], ref.phi[i], f"step {t + 1}, phi {i}")
            if "momentum_buffer" in ref.state[i]:
                close(opt.base_optimizer.state[p]["momentum_buffer"],
                      ref.state[i]["momentum_buffer"], f"step {t + 1}, buffer {i}", atol=1e-300)


@pytest.mark.parametrize("base", ["SGD", "Adam", "LAMB", "AdaBelief"])
def test_lookahead_with_k1_alpha1_is_its_inner_optimizer_exactly(base):
    kwargs = {"SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
              "Adam": {"lr": 0.01, "amsgrad": True}, "LAMB": {"lr": 0.01},
              "AdaBelief": {"lr": 0.01, "rectify": True}}[base]
    _, plain = make_params()
    _, wrapped = make_params()
    opt_plain = getattr(optim, base)(plain, **kwargs)
    opt = optim.Lookahead(getattr(optim, base)(wrapped, **kwargs), k=1, alpha=1.0)
    for step_grads in make_grads():
        give(plain, step_grads)
        give(wrapped, step_grads)
        opt_plain.step()
        opt.step()
    for p, q in zip(plain, wrapped):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_array_equal(opt.state[q]["slow_param"], q.numpy())


def test_lookahead_slow_weights_move_by_alpha_times_the_gap_every_k_steps():
    init, params = make_params()
    k, alpha = 4, 0.6
    opt = optim.Lookahead(optim.Adam(params, lr=0.05), k=k, alpha=alpha, trace=True)
    for i, p in enumerate(params):         # phi_0 = theta_0, copied at construction
        np.testing.assert_array_equal(opt.state[p]["slow_param"], init[i])
        assert opt.state[p]["slow_param"] is not p.data
    phi = [a.copy() for a in init]
    for t, step_grads in enumerate(make_grads(steps=22), start=1):
        give(params, step_grads)
        opt.step()
        for i, p in enumerate(params):
            slow = opt.state[p]["slow_param"]
            if t % k:
                np.testing.assert_array_equal(slow, phi[i])       # untouched between syncs
            else:
                rec = [r for r in opt.trace if r["step"] == t and r["param"] == i][-1]
                close(slow - phi[i], alpha * (rec["theta_k"] - phi[i]), f"sync at {t}")
                np.testing.assert_array_equal(p.numpy(), slow)    # theta <- phi
                phi[i] = slow.copy()
    assert sorted({r["step"] for r in opt.trace}) == [4, 8, 12, 16, 20]


def test_lookahead_reset_and_pullback_act_on_adam_first_moment():
    _, params = make_params(shapes=[(3,)])
    opt = optim.Lookahead(optim.Adam(params, lr=0.1), k=2, alpha=0.5, pullback_momentum="reset")
    for step_grads in make_grads(shapes=[(3,)], steps=2, skip=False):
        give(params, step_grads)
        opt.step()
    base_state = opt.base_optimizer.state[params[0]]
    np.testing.assert_array_equal(base_state["exp_avg"], 0.0)
    assert np.all(base_state["exp_avg_sq"] > 0)                    # second moment untouched


def test_lookahead_mirrors_param_groups_for_schedulers():
    _, params = make_params()
    base = optim.SGD(params, lr=0.1, momentum=0.9)
    opt = optim.Lookahead(base)
    assert opt.param_groups is base.param_groups and opt.defaults is base.defaults
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    for step_grads in make_grads(steps=4):
        give(params, step_grads)
        opt.step()
        sched.step()
    assert base.param_groups[0]["lr"] == pytest.approx(0.001)
    extra = mg.Tensor(np.ones(2), requires_grad=True)
    opt.add_param_group({"params": [extra], "lr": 0.5})
    np.testing.assert_array_equal(opt.state[extra]["slow_param"], np.ones(2))
    assert len(base.param_groups) == 2


def test_ranger_is_lookahead_around_radam():
    pytest.importorskip("optim.radam")
    _, a = make_params()
    _, b = make_params()
    ranger = optim.Ranger(a, lr=0.01, k=3, alpha=0.6, betas=(0.95, 0.999), weight_decay=0.1)
    manual = optim.Lookahead(optim.RAdam(b, lr=0.01, betas=(0.95, 0.999), weight_decay=0.1),
                             k=3, alpha=0.6)
    assert type(ranger.base_optimizer).__name__ == "RAdam"
    for step_grads in make_grads(steps=20):
        give(a, step_grads)
        give(b, step_grads)
        ranger.step()
        manual.step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_lookahead_around_a_flat_optimizer_equals_around_the_teaching_one():
    results = []
    for impl in ("teaching", "flat"):
        _, params = make_params()
        opt = optim.Lookahead(optim.SGD(params, lr=0.05, momentum=0.9, impl=impl), k=3,
                              alpha=0.5, pullback_momentum="pullback")
        for step_grads in make_grads(steps=20):
            give(params, step_grads)
            opt.step()
        results.append([p.numpy().copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# SAM (Foret et al. 2021) and ASAM (Kwon et al. 2021)
# ---------------------------------------------------------------------------

def quartic(params, coefs):
    """f = sum_i sum(w_i^4 / 4 + c_i w_i^2 / 2 + b_i w_i); grad = w^3 + c w + b."""
    total = None
    for p, (c, b) in zip(params, coefs):
        term = (0.25 * p ** 4 + 0.5 * mg.Tensor(c) * p * p + mg.Tensor(b) * p).sum()
        total = term if total is None else total + term
    return total


def quartic_grad(w, c, b):
    return w ** 3 + c * w + b


def _coefs(shapes, seed=7):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(0.5, 2.0, s), rng.standard_normal(s)) for s in shapes]


@pytest.mark.parametrize("adaptive, eta, groups", [(False, 0.0, False), (True, 0.0, False),
                                                   (True, 0.01, False), (False, 0.0, True)])
def test_sam_is_its_algorithm(adaptive, eta, groups):
    """Two passes: e = rho T^2 g / (||T g|| + 1e-12) over ALL params; base step with g(w + e)."""
    init, params = make_params()
    coefs = _coefs(SHAPES)
    lr, mu, rho = 0.02, 0.9, 0.1
    rhos = [rho, rho, 0.3, 0.3] if groups else [rho] * 4
    if groups:
        spec = [{"params": params[:2]}, {"params": params[2:], "rho": 0.3}]
    else:
        spec = params
    opt = optim.SAM(spec, optim.SGD, rho=rho, adaptive=adaptive, eta=eta, lr=lr, momentum=mu)

    def closure():
        opt.zero_grad()
        loss = quartic(params, coefs)
        loss.backward()
        return loss

    w = [a.copy() for a in init]
    buf = [None] * len(w)
    for t in range(20):
        loss = opt.step(closure)                    # the loss at w, before the step
        expected_loss = sum(np.sum(x ** 4 / 4 + c * x ** 2 / 2 + b * x)
                            for x, (c, b) in zip(w, coefs))
        assert loss.item() == pytest.approx(expected_loss, rel=1e-12)
        g = [quartic_grad(x, c, b) for x, (c, b) in zip(w, coefs)]
        T = [np.abs(x) + eta if adaptive else np.ones_like(x) for x in w]
        g_norm = np.sqrt(sum(np.sum((Ti * gi) ** 2) for Ti, gi in zip(T, g)))
        e = [r * Ti ** 2 * gi / (g_norm + 1e-12) for r, Ti, gi in zip(rhos, T, g)]
        g_sam = [quartic_grad(x + ei, c, b) for x, ei, (c, b) in zip(w, e, coefs)]
        for i in range(len(w)):                     # torch-form SGD momentum with g_sam
            buf[i] = g_sam[i].copy() if buf[i] is None else mu * buf[i] + g_sam[i]
            w[i] = w[i] - lr * buf[i]
        for i, p in enumerate(params):
            close(p.numpy(), w[i], f"step {t + 1}, param {i}")
            close(opt.state[p]["momentum_buffer"], buf[i], f"step {t + 1}, buffer {i}")


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_ascent_step_has_norm_rho(adaptive):
    """||e||_2 = rho over all parameters (ASAM: ||T_w^{-1} e||_2 = rho, T_w = |w|)."""
    init, params = make_params()
    coefs = _coefs(SHAPES, seed=8)
    rho = 0.07
    opt = optim.SAM(params, optim.Adam, rho=rho, adaptive=adaptive, lr=0.01, trace=True)

    def closure():
        opt.zero_grad()
        loss = quartic(params, coefs)
        loss.backward()
        return loss

    for t in range(1, 6):
        before = [p.numpy().copy() for p in params]
        opt.step(closure)
        recs = [r for r in opt.trace if r["step"] == t]
        assert len(recs) == len(params)
        e = [r["e_w"] for r in recs]
        if adaptive:
            scaled = [ei / np.abs(w) for ei, w in zip(e, before)]
            assert np.sqrt(sum(np.sum(s ** 2) for s in scaled)) == pytest.approx(rho, rel=1e-10)
        else:
            assert np.sqrt(sum(np.sum(ei ** 2) for ei in e)) == pytest.approx(rho, rel=1e-10)
        # e points along g (SAM) / T^2 g (ASAM), and g_sam is the gradient at w + e
        for r, w, (c, b) in zip(recs, before, coefs):
            close(r["g"], quartic_grad(w, c, b), "g at w")
            close(r["g_sam"], quartic_grad(w + r["e_w"], c, b), "g at w + e")


def test_sam_needs_a_closure_and_restores_on_failure():
    _, params = make_params(shapes=[(3,)])
    opt = optim.SAM(params, optim.SGD, lr=0.1)
    with pytest.raises(RuntimeError, match="SAM.*closure"):
        opt.step()
    with pytest.raises(RuntimeError, match="SAM.second_step.*first_step"):
        opt.second_step()
    before = params[0].numpy().copy()
    calls = []

    def failing():
        calls.append(1)
        opt.zero_grad()
        loss = (params[0] * params[0]).sum()
        loss.backward()
        if len(calls) == 2:
            raise KeyError("boom")
        return loss

    with pytest.raises(KeyError):
        opt.step(failing)
    np.testing.assert_array_equal(params[0].numpy(), before)     # back at w, not w + e
    assert opt._pending is None


def test_sam_manual_first_and_second_step_equal_step():
    coefs = _coefs([(4,)])
    _, a = make_params(shapes=[(4,)])
    _, b = make_params(shapes=[(4,)])
    opt_a = optim.SAM(a, optim.SGD, rho=0.2, lr=0.1)
    opt_b = optim.SAM(b, optim.SGD, rho=0.2, lr=0.1)

    def closure():
        opt_a.zero_grad()
        loss = quartic(a, coefs)
        loss.backward()
        return loss

    for _ in range(5):
        opt_a.step(closure)
        quartic(b, coefs).backward()
        opt_b.first_step(zero_grad=True)
        quartic(b, coefs).backward()
        opt_b.second_step(zero_grad=True)
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())


def test_sam_around_a_flat_optimizer_equals_around_the_teaching_one():
    coefs = _coefs(SHAPES)
    results = []
    for impl in ("teaching", "flat"):
        _, params = make_params()
        opt = optim.SAM(params, optim.Adam, rho=0.1, adaptive=True, lr=0.01, impl=impl)

        def closure():
            opt.zero_grad()
            loss = quartic(params, coefs)
            loss.backward()
            return loss

        for _ in range(10):
            opt.step(closure)
        results.append([p.numpy().copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_sam_groups_are_the_base_optimizers():
    _, params = make_params()
    opt = optim.SAM(params, optim.SGD, rho=0.1, lr=0.1, momentum=0.9)
    assert opt.param_groups is opt.base_optimizer.param_groups
    assert opt.param_groups[0]["rho"] == 0.1 and opt.param_groups[0]["momentum"] == 0.9
    assert opt.defaults["rho"] == 0.1 and opt.defaults["momentum"] == 0.9
    assert opt.state is opt.base_optimizer.state
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched.step()
    assert opt.base_optimizer.param_groups[0]["lr"] == pytest.approx(0.05)


# ---------------------------------------------------------------------------
# state_dict round trips
# ---------------------------------------------------------------------------

def _build(name, params):
    if name == "LAMB":
        return optim.LAMB(params, lr=0.01, weight_decay=0.1, clamp_value=10.0)
    if name == "LARS":
        return optim.LARS(params, lr=0.5, weight_decay=1e-3, exclude_1d=True)
    if name == "AdaBelief":
        return optim.AdaBelief(params, lr=0.01, amsgrad=True, rectify=True)
    if name == "SWATS":
        return optim.SWATS(params, lr=0.01, switch_eps=3e-3)
    if name == "Lookahead":
        return optim.Lookahead(optim.SGD(params, lr=0.05, momentum=0.9), k=3,
                               pullback_momentum="pullback")
    if name == "Ranger":
        pytest.importorskip("optim.radam")
        return optim.Ranger(params, lr=0.01, k=4)
    if name == "SAM":
        return optim.SAM(params, optim.Adam, rho=0.1, adaptive=True, lr=0.01)
    raise AssertionError(name)


def _train(opt, params, grads, coefs=None):
    for step_grads in grads:
        if isinstance(opt, optim.SAM):        # SAM's gradients come from a closure
            def closure():
                opt.zero_grad()
                loss = quartic(params, coefs)
                loss.backward()
                return loss
            opt.step(closure)
        else:
            give(params, step_grads)
            opt.step()


def _same(a, b, where=""):
    assert type(a) is type(b) or (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)), where
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("name", ["LAMB", "LARS", "AdaBelief", "SWATS", "Lookahead", "Ranger",
                                  "SAM"])
def test_state_dict_round_trip_continues_identically(name, through_file, tmp_path):
    init, full = make_params(seed=3)
    grads = make_grads(steps=24, seed=4)
    coefs = _coefs(SHAPES)
    opt_full = _build(name, full)
    _train(opt_full, full, grads, coefs)

    _, first = make_params(seed=3)
    opt_first = _build(name, first)
    _train(opt_first, first, grads[:11], coefs)
    sd = opt_first.state_dict()
    values = [p.numpy().copy() for p in first]
    if through_file:
        mg.save({"optimizer": sd, "params": values}, tmp_path / "ckpt.npz")
        loaded = mg.load(tmp_path / "ckpt.npz")
        sd, values = loaded["optimizer"], loaded["params"]
    _train(opt_first, first, grads[11:13], coefs)      # must not change the state dict taken

    resumed = [mg.Tensor(np.array(v), requires_grad=True) for v in values]
    opt_resumed = _build(name, resumed)
    opt_resumed.param_groups[0]["lr"] = 123.0            # overwritten by the state dict
    opt_resumed.load_state_dict(sd)
    assert opt_resumed.param_groups[0]["lr"] == opt_full.param_groups[0]["lr"]
    _train(opt_resumed, resumed, grads[11:], coefs)

    for p, q in zip(full, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    for p, q in zip(full, resumed):
        _same(dict(opt_full.state.get(p, {})), dict(opt_resumed.state.get(q, {})), name)
        if isinstance(opt_full, optim.Lookahead):
            _same(dict(opt_full.base_optimizer.state[p]),
                  dict(opt_resumed.base_optimizer.state[q]), name + " base")
    if name == "SWATS":
        assert any(k is not None for k in opt_full.switch_steps())
    if isinstance(opt_full, optim.Lookahead):
        assert opt_resumed._step_count == opt_full._step_count


# ---------------------------------------------------------------------------
# hyperparameter errors
# ---------------------------------------------------------------------------

BAD = [
    ("LAMB", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("LAMB", {"eps": -1e-6}, "Invalid epsilon value: -1e-06"),
    ("LAMB", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ("LAMB", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ("LAMB", {"clamp_value": 0.0}, "Invalid clamp_value value: 0.0"),
    ("LARS", {"lr": -0.5}, "Invalid learning rate: -0.5"),
    ("LARS", {"momentum": -0.9}, "Invalid momentum value: -0.9"),
    ("LARS", {"trust_coefficient": -1e-3}, "Invalid trust_coefficient value: -0.001"),
    ("LARS", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ("AdaBelief", {"eps": -1e-16}, "Invalid epsilon value: -1e-16"),
    ("AdaBelief", {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    ("AdaBelief", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("SWATS", {"switch_eps": -1.0}, "Invalid switch_eps value: -1.0"),
    ("SWATS", {"eps": -1e-9}, "Invalid epsilon value: -1e-09"),
    ("SWATS", {"betas": (-0.1, 0.999)}, "Invalid beta parameter at index 0: -0.1"),
    ("Lookahead", {"k": 0}, "Invalid k value: 0"),
    ("Lookahead", {"k": 2.5}, "Invalid k value: 2.5"),
    ("Lookahead", {"alpha": 1.5}, "Invalid alpha value: 1.5"),
    ("Lookahead", {"alpha": -0.1}, "Invalid alpha value: -0.1"),
    ("Lookahead", {"pullback_momentum": "both"}, "Invalid pullback_momentum: 'both'"),
    ("SAM", {"rho": -0.05}, "Invalid rho value: -0.05"),
    ("SAM", {"eta": -0.01}, "Invalid eta value: -0.01"),
    ("SAM", {"lr": -0.1}, "Invalid learning rate: -0.1"),     # the base optimizer's check
]


@pytest.mark.parametrize("name, kwargs, message", BAD, ids=lambda x: str(x))
def test_invalid_hyperparameters_raise_value_error_naming_them(name, kwargs, message):
    params = [mg.Tensor(np.zeros(2), requires_grad=True)]
    with pytest.raises(ValueError) as err:
        if name == "Lookahead":
            optim.Lookahead(optim.SGD(params, lr=0.1), **kwargs)
        elif name == "SAM":
            optim.SAM(params, optim.SGD, **kwargs)
        else:
            getattr(optim, name)(params, **kwargs)
    assert message in str(err.value)


def test_wrappers_reject_the_wrong_kind_of_base():
    params = [mg.Tensor(np.zeros(2), requires_grad=True)]
    with pytest.raises(TypeError, match="Lookahead wraps an optimizer instance"):
        optim.Lookahead(optim.SGD, k=5)
    with pytest.raises(TypeError, match="SAM takes the base optimizer's class"):
        optim.SAM(params, optim.SGD(params, lr=0.1))


# ---------------------------------------------------------------------------
# the functional formulas are pure and name their quantities
# ---------------------------------------------------------------------------

FUNCTIONAL = [
    (F.lamb, F.lamb_init, {"weight_decay": 0.1, "clamp_value": 5.0},
     {"m_hat", "v_hat", "r", "trust_ratio"}),
    (F.lars, lambda th: F.lars_init(th, momentum=0.9), {"weight_decay": 0.1},
     {"local_lr", "w_norm", "g_norm", "v"}),
    (F.adabelief, lambda th: F.adabelief_init(th, amsgrad=True),
     {"amsgrad": True, "rectify": True, "weight_decay": 0.1}, {"m", "s", "s_max", "rho_t"}),
    (F.swats, F.swats_init, {"switch_eps": 1.0}, {"t", "g"}),
]


@pytest.mark.parametrize("fn, init, kwargs, names", FUNCTIONAL,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_functional_formulas_are_pure(fn, init, kwargs, names):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((3, 2))
    state = init(theta)
    for _ in range(8):
        grad = rng.standard_normal((3, 2))
        theta_copy, grad_copy = theta.copy(), grad.copy()
        state_copy = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
        new_theta, new_state, inter = fn(theta, grad, state, **kwargs)
        np.testing.assert_array_equal(theta, theta_copy)
        np.testing.assert_array_equal(grad, grad_copy)
        for key, value in state_copy.items():
            np.testing.assert_array_equal(state[key], value)
        assert names <= set(inter)
        theta, state = new_theta, {**state, **new_state}


def test_lookahead_and_sam_functional_forms():
    theta_k, phi = np.array([1.0, 2.0]), np.array([0.0, 4.0])
    new_theta, new_state, inter = F.lookahead(theta_k, {"slow_param": phi}, alpha=0.25)
    close(new_state["slow_param"], phi + 0.25 * (theta_k - phi), "phi")
    close(new_theta, new_state["slow_param"], "theta <- phi")
    assert new_theta is not new_state["slow_param"]
    b, b_bar = F.lookahead_momentum(np.array([2.0]), None, alpha=0.5, mode="pullback")
    close(b, [1.0], "b")
    close(b_bar, [1.0], "b_bar")
    thetas = [np.array([3.0, -4.0]), np.array(0.0)]
    grads = [np.array([3.0, 4.0]), np.array(12.0)]
    adv, e, inter = F.sam(thetas, grads, rho=1.3)
    assert inter["grad_norm"] == pytest.approx(13.0)
    close(e[0], 0.1 * np.array([3.0, 4.0]), "e")
    close(e[1], 1.2, "e")
    close(adv[0], thetas[0] + e[0], "w + e")
