"""SWATS, Lookahead (and Ranger) and SAM/ASAM against their papers (PyTorch has none of them).

* Step by step against the paper's algorithm written out in plain NumPy
  (float64, parameters of several shapes; within 1e-12, relative).
* A behaviour the paper claims: Lookahead with k=1, alpha=1 is its inner
  optimizer bit for bit and moves its slow weights by alpha*(theta_k - phi)
  every k steps; SAM's ascent step has norm exactly rho (ASAM's: in the scaled
  coordinates); SWATS switches on a convex quadratic once its projected rate
  has settled, at the rate known in closed form, and then runs SGD with
  exactly that rate.
* The wrappers around a flat-path optimizer equal those around the teaching one.
"""
import numpy as np
import pytest
from paper_utils import (
    RTOL,
    SHAPES,
    STEPS,
    Reference,
    close,
    give,
    make_grads,
    make_params,
    quartic,
    quartic_grad,
    run_against,
)
from paper_utils import quartic_coefs as _coefs

import minigrad as mg
import optim
from optim import functional as F

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

        def closure(opt=opt, params=params):
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
# the functional forms
# ---------------------------------------------------------------------------

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
