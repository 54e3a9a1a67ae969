"""The lecture and paper forms that minigrad's own options select, against their formulas.

``momentum_form="lecture"`` (SGD, with and without Nesterov), ``eps_inside_sqrt``
(Adagrad, RMSprop), ``bias_correction="efficient"`` (Adam), AdamW as Adam with
decoupled decay; RAdam's threshold and ``degenerated_to_sgd``, Adamax without
eps, NAdam's constant momentum, ASGD's average, Rprop's backtracking and
Adafactor's paper placement of eps1: each against its algorithm written out
here by hand (float64).
"""
import numpy as np
import pytest
import torch

import minigrad as mg
import optim

# ---------------------------------------------------------------------------
# SGD, Adagrad, RMSprop, Adam
# ---------------------------------------------------------------------------

def test_sgd_lecture_momentum_is_its_formula_and_differs_from_torch_when_lr_changes():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(20)]
    mu, lrs = 0.9, [0.1] * 10 + [0.01] * 10

    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=lrs[0], momentum=mu, momentum_form="lecture")
    wt = mg.Tensor(theta0.copy(), requires_grad=True)
    opt_torch_form = optim.SGD([wt], lr=lrs[0], momentum=mu)
    theta, v = theta0.copy(), np.zeros(4)
    for eta, g in zip(lrs, grads):
        for o, p in ((opt, w), (opt_torch_form, wt)):
            o.param_groups[0]["lr"] = eta
            p.grad = mg.Tensor(g.copy())
            o.step()
        v = mu * v + eta * g             # v <- gamma v + eta g
        theta = theta - v                # theta <- theta - v
        if eta == lrs[0]:                # constant lr so far: the forms agree, v = eta b
            np.testing.assert_allclose(w.numpy(), wt.numpy(), rtol=1e-12)
            np.testing.assert_allclose(opt.state[w]["velocity"],
                                       eta * opt_torch_form.state[wt]["momentum_buffer"],
                                       rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["velocity"], v, rtol=1e-12)
    assert not np.allclose(w.numpy(), wt.numpy(), rtol=1e-6)   # after the lr change


def _quadratic(n, seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    a = m @ m.T / n + np.eye(n)
    b = rng.standard_normal(n)
    return a, b     # f(theta) = 1/2 theta^T A theta - b^T theta, grad = A theta - b


def test_sgd_lecture_nesterov_is_its_formula_and_torchs_reparametrisation():
    a, b = _quadratic(4, 1)
    theta0 = np.random.default_rng(2).standard_normal(4)
    mu, eta, lam = 0.9, 0.05, 0.1

    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=eta, momentum=mu, nesterov=True, weight_decay=lam,
                    momentum_form="lecture")
    A, B = mg.Tensor(a), mg.Tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * (A @ w)).sum() - (B * w).sum()
        loss.backward()
        return loss

    pt = torch.tensor(theta0.copy(), requires_grad=True)
    topt = torch.optim.SGD([pt], lr=eta, momentum=mu, nesterov=True, weight_decay=lam,
                           foreach=False)

    theta, v = theta0.copy(), np.zeros(4)
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
    for _ in range(30):
        opt.step(closure)
        lookahead = theta - mu * v                      # theta~ = theta - gamma v
        g = a @ lookahead - b + lam * lookahead         # gradient at the look-ahead point
        v = mu * v + eta * g                            # v <- gamma v + eta g
        theta = theta - v                               # theta <- theta - v
        topt.zero_grad()
        (0.5 * pt @ (torch.tensor(a) @ pt) - torch.tensor(b) @ pt).backward()
        topt.step()
        np.testing.assert_allclose(w.numpy(), theta, rtol=1e-11)
        np.testing.assert_allclose(opt.state[w]["velocity"], v, rtol=1e-11, atol=1e-15)
        # torch's parameter is the look-ahead point theta - mu v, and its buffer is v / eta
        np.testing.assert_allclose(pt.detach().numpy(), theta - mu * v, rtol=1e-10)
        np.testing.assert_allclose(topt.state[pt]["momentum_buffer"].numpy(), v / eta,
                                   rtol=1e-10)


def test_sgd_lecture_nesterov_trace_and_restore_on_error():
    w = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5, nesterov=True, momentum_form="lecture",
                    trace=True)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    opt.step(closure)
    v = opt.state[w]["velocity"]
    np.testing.assert_allclose(opt.trace[-1]["theta_lookahead"], opt.trace[0]["theta"] - 0.5 *
                               opt.trace[0]["v"])
    before = w.numpy().copy()

    def failing():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        opt.step(failing)
    np.testing.assert_array_equal(w.numpy(), before)     # moved back from the look-ahead
    np.testing.assert_array_equal(opt.state[w]["velocity"], v)


def test_adagrad_eps_inside_sqrt_is_its_formula():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    w = mg.Tensor(theta.copy(), requires_grad=True)
    gamma, decay, eps, s0 = 0.1, 0.05, 1e-2, 0.2
    opt = optim.Adagrad([w], lr=gamma, lr_decay=decay, eps=eps, initial_accumulator_value=s0,
                        eps_inside_sqrt=True)
    G = np.full(5, s0)
    for t in range(1, 21):
        g = rng.standard_normal(5)
        w.grad = mg.Tensor(g.copy())
        opt.step()
        G = G + g ** 2                                    # G_t = G_{t-1} + g_t^2
        gamma_t = gamma / (1 + (t - 1) * decay)
        theta = theta - gamma_t * g / np.sqrt(G + eps)    # epsilon inside the root
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["sum"], G, rtol=1e-12)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_rmsprop_eps_inside_sqrt_is_its_formula(centered, momentum):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    w = mg.Tensor(theta.copy(), requires_grad=True)
    gamma, alpha, eps = 0.01, 0.9, 1e-3
    opt = optim.RMSprop([w], lr=gamma, alpha=alpha, eps=eps, centered=centered,
                        momentum=momentum, eps_inside_sqrt=True)
    v, gbar, buf = np.zeros(5), np.zeros(5), np.zeros(5)
    for _ in range(20):
        g = rng.standard_normal(5)
        w.grad = mg.Tensor(g.copy())
        opt.step()
        v = alpha * v + (1 - alpha) * g ** 2
        gbar = alpha * gbar + (1 - alpha) * g
        denom = np.sqrt(v - gbar ** 2 + eps) if centered else np.sqrt(v + eps)
        if momentum:
            buf = momentum * buf + g / denom
            theta = theta - gamma * buf
        else:
            theta = theta - gamma * g / denom
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_efficient_bias_correction_is_its_formula(amsgrad):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    w = mg.Tensor(theta.copy(), requires_grad=True)
    w_std = mg.Tensor(theta.copy(), requires_grad=True)
    alpha, b1, b2, eps_hat = 0.01, 0.9, 0.999, 1e-3
    opt = optim.Adam([w], lr=alpha, betas=(b1, b2), eps=eps_hat, amsgrad=amsgrad,
                     bias_correction="efficient")
    opt_std = optim.Adam([w_std], lr=alpha, betas=(b1, b2), eps=eps_hat, amsgrad=amsgrad)
    m, v, vmax = np.zeros(5), np.zeros(5), np.zeros(5)
    for t in range(1, 31):
        g = rng.standard_normal(5)
        w.grad, w_std.grad = mg.Tensor(g.copy()), mg.Tensor(g.copy())
        opt.step()
        opt_std.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        alpha_t = alpha * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        theta = theta - alpha_t * m / (np.sqrt(vmax if amsgrad else v) + eps_hat)
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    # the two forms differ (eps acts at a different scale while 1 - beta2^t is small)
    assert not np.allclose(w.numpy(), w_std.numpy(), rtol=1e-6)


def test_adamw_is_adam_with_decoupled_decay():
    rng = np.random.default_rng(0)
    init = rng.standard_normal(6)
    p1 = mg.Tensor(init.copy(), requires_grad=True)
    p2 = mg.Tensor(init.copy(), requires_grad=True)
    o1 = optim.AdamW([p1], lr=0.01)
    o2 = optim.Adam([p2], lr=0.01, weight_decay=1e-2, decoupled_weight_decay=True)
    for _ in range(10):
        g = rng.standard_normal(6)
        p1.grad, p2.grad = mg.Tensor(g.copy()), mg.Tensor(g.copy())
        o1.step(), o2.step()
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())
    assert o1.defaults["weight_decay"] == 1e-2 and o1.defaults["decoupled_weight_decay"]


# ---------------------------------------------------------------------------
# RAdam, Adamax, NAdam, ASGD, Rprop, Adafactor
# ---------------------------------------------------------------------------

def _radam_by_hand(theta, grads, *, lr, beta1, beta2, eps, weight_decay, threshold,
                   degenerated_to_sgd):
    """Algorithm 2 of Liu et al. with a threshold, PyTorch's eps, and the repository's
    decoupled decay (applied only when the parameter is updated)."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    rho_inf = 2 / (1 - beta2) - 1
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if rho_t > threshold:
            theta = theta * (1 - lr * weight_decay)
            l_t = np.sqrt(1 - beta2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            theta = theta - lr * m_hat * r_t * l_t
        elif degenerated_to_sgd:
            theta = theta * (1 - lr * weight_decay)
            theta = theta - lr * m_hat
        # else: no update at all
    return theta, m, v


@pytest.mark.parametrize("threshold", [4, 5])
@pytest.mark.parametrize("degenerated_to_sgd", [True, False])
def test_radam_threshold_and_degenerated_to_sgd_are_their_algorithm(threshold,
                                                                    degenerated_to_sgd):
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(6)
    grads = [rng.standard_normal(6) for _ in range(12)]
    hyper = {"lr": 0.05, "eps": 1e-8, "weight_decay": 0.1}
    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.RAdam([w], decoupled_weight_decay=True, threshold=threshold,
                      degenerated_to_sgd=degenerated_to_sgd, **hyper)
    for k, g in enumerate(grads, start=1):
        w.grad = mg.Tensor(g.copy())
        opt.step()
        theta, m, v = _radam_by_hand(theta0, grads[:k], beta1=0.9, beta2=0.999,
                                     threshold=threshold,
                                     degenerated_to_sgd=degenerated_to_sgd, **hyper)
        np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
        np.testing.assert_allclose(opt.state[w]["exp_avg"], m, rtol=1e-12)
        np.testing.assert_allclose(opt.state[w]["exp_avg_sq"], v, rtol=1e-12)
        if not degenerated_to_sgd and k < threshold + 1:
            np.testing.assert_array_equal(w.numpy(), theta0)      # not moved yet
    if threshold == 5 and degenerated_to_sgd:                     # torch's algorithm
        theirs = torch.tensor(theta0.copy(), requires_grad=True)
        topt = torch.optim.RAdam([theirs], decoupled_weight_decay=True, foreach=False, **hyper)
        for g in grads:
            theirs.grad = torch.tensor(g.copy())
            topt.step()
        np.testing.assert_allclose(w.numpy(), theirs.detach().numpy(), rtol=1e-12)


def test_radam_rho_t_and_first_rectified_step_via_tracing():
    """beta2 = 0.999: rho_5 = 4.996 and rho_6 = 5.994, so threshold 4 rectifies from
    step 5 and threshold 5 (PyTorch) from step 6."""
    rng = np.random.default_rng(1)
    theta0 = rng.standard_normal(3)
    grads = [rng.standard_normal(3) for _ in range(8)]
    first = {}
    for threshold in (4, 5):
        w = mg.Tensor(theta0.copy(), requires_grad=True)
        opt = optim.RAdam([w], threshold=threshold, trace=True)
        for g in grads:
            w.grad = mg.Tensor(g.copy())
            opt.step()
        rho = opt.trace_of("rho_t")
        assert opt.trace_of("rho_inf")[0] == pytest.approx(1999.0, rel=1e-12)
        assert rho[0] == pytest.approx(1.0, rel=1e-9)
        assert round(rho[4], 3) == 4.996 and round(rho[5], 3) == 5.994
        rectified = opt.trace_of("rectified")
        first[threshold] = int(np.argmax(rectified)) + 1
        assert rectified[first[threshold] - 1:].all() and not rectified[:first[threshold] - 1].any()
        steps, r_t = opt.trace_of("r_t", steps=True)      # only on rectified steps
        assert steps[0] == first[threshold]
        # r_t from the traced rho_t, and the update it produced
        rho_inf = 1999.0
        rho_s = rho[steps - 1]
        np.testing.assert_allclose(r_t, np.sqrt((rho_s - 4) * (rho_s - 2) * rho_inf
                                                / ((rho_inf - 4) * (rho_inf - 2) * rho_s)),
                                   rtol=1e-12)
        assert np.all(np.diff(r_t) > 0) and np.all(r_t < 1)
        m_hat = opt.trace_of("m_hat")
        theta = opt.trace_of("theta")
        before = np.vstack([theta0, theta[:-1]])
        k = first[threshold] - 2                          # the last un-rectified step
        np.testing.assert_allclose(theta[k], before[k] - 1e-3 * m_hat[k], rtol=1e-12)
    assert first == {4: 5, 5: 6}


def test_adamax_without_eps_is_the_papers_algorithm():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(20)]
    alpha, b1, b2 = 0.01, 0.9, 0.999
    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.Adamax([w], lr=alpha, eps=0.0)
    theta, m, u = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):      # Kingma & Ba, Algorithm 2
        w.grad = mg.Tensor(g.copy())
        opt.step()
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        theta = theta - (alpha / (1 - b1 ** t)) * m / u
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["exp_inf"], u, rtol=1e-12)


def test_adamax_eps_inside_the_max_floors_tiny_gradients():
    """Gradients of 1e-9 for 3 steps, lr 1: the paper moves 1 per step, PyTorch's
    eps = 1e-8 inside the max makes it 1e-9 / 1.1e-8 = 0.0909 per step."""
    moved = {}
    for eps in (1e-8, 0.0):
        p = mg.Tensor(np.zeros(1), requires_grad=True)
        opt = optim.Adamax([p], lr=1.0, eps=eps)
        for _ in range(3):
            p.grad = mg.Tensor(np.array([1e-9]))
            opt.step()
        moved[eps] = -p.numpy()[0]
    assert moved[0.0] == pytest.approx(3.0, rel=1e-12)
    assert moved[1e-8] == pytest.approx(3 * 1e-9 / 1.1e-8, rel=1e-6)


def test_nadam_constant_mu_is_its_formula():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(20)]
    gamma, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    w = mg.Tensor(theta0.copy(), requires_grad=True)
    opt = optim.NAdam([w], lr=gamma, mu_schedule="constant")
    w_sched = mg.Tensor(theta0.copy(), requires_grad=True)
    opt_sched = optim.NAdam([w_sched], lr=gamma)
    theta, m, v = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        for p, o in ((w, opt), (w_sched, opt_sched)):
            p.grad = mg.Tensor(g.copy())
            o.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        theta = theta - gamma * m_bar / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
    assert opt.state[w]["mu_product"] == pytest.approx(b1 ** 20, rel=1e-13)
    assert not np.allclose(w.numpy(), w_sched.numpy(), rtol=1e-4)


def test_asgd_average_is_the_mean_of_the_iterates_after_t0():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(25)]
    gamma, lambd, alpha = 0.05, 0.01, 0.75
    for t0 in (0, 5):
        w = mg.Tensor(theta0.copy(), requires_grad=True)
        opt = optim.ASGD([w], lr=gamma, lambd=lambd, alpha=alpha, t0=t0, trace=True)
        theta, iterates = theta0.copy(), []
        for t, g in enumerate(grads, start=1):
            w.grad = mg.Tensor(g.copy())
            opt.step()
            eta = gamma / (1 + lambd * gamma * (t - 1)) ** alpha    # eta_t (eta_1 = lr)
            theta = theta * (1 - lambd * eta) - eta * g
            iterates.append(theta)
            # averaging starts one iterate after t0: mean of theta_{t0+2}, ..., theta_t
            expected_avg = np.mean(iterates[t0 + 1:], axis=0) if t >= t0 + 2 else theta
            np.testing.assert_allclose(w.numpy(), theta, rtol=1e-12)
            np.testing.assert_allclose(opt.state[w]["ax"], expected_avg, rtol=1e-12)
        np.testing.assert_allclose(opt.trace_of("theta_bar"), np.array(
            [np.mean(iterates[t0 + 1:k], axis=0) if k >= t0 + 2 else iterates[k - 1]
             for k in range(1, 26)]), rtol=1e-12)


def test_rprop_backtracking_is_the_papers_algorithm():
    a = np.array([1.0, 3.0, 0.5, 8.0])
    c = np.array([0.3, -1.0, 2.0, 0.1])

    def grad_at(x):                               # f = sum a (x - c)^2, full batch
        return 2 * a * (x - c)

    lr, eta_minus, eta_plus, d_min, d_max = 0.4, 0.5, 1.2, 1e-6, 50.0
    x0 = np.zeros(4)
    w = mg.Tensor(x0.copy(), requires_grad=True)
    opt = optim.Rprop([w], lr=lr, backtracking=True)
    x = x0.copy()
    delta, prev_g, prev_dx = np.full(4, lr), np.zeros(4), np.zeros(4)
    flips = 0
    for _ in range(40):                           # Riedmiller & Braun (1993), per weight
        w.grad = mg.Tensor(grad_at(w.numpy()))
        opt.step()
        g = grad_at(x)
        for i in range(4):
            if prev_g[i] * g[i] > 0:
                delta[i] = min(delta[i] * eta_plus, d_max)
                dx = -np.sign(g[i]) * delta[i]
            elif prev_g[i] * g[i] < 0:
                delta[i] = max(delta[i] * eta_minus, d_min)
                dx = -prev_dx[i]                  # undo the previous step
                g[i] = 0.0
                flips += 1
            else:
                dx = -np.sign(g[i]) * delta[i]
            x[i] += dx
            prev_dx[i] = dx
        prev_g = g
        np.testing.assert_allclose(w.numpy(), x, rtol=1e-12, atol=1e-15)
    assert flips > 5
    np.testing.assert_allclose(opt.state[w]["step_size"], delta, rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), c, atol=1e-3)           # converged


def test_adafactor_paper_eps1_is_the_papers_algorithm():
    """Shazeer & Stern, Algorithms 4 and 5 with update clipping and relative steps
    (sums, epsilon1 added to the squared gradient, no floors)."""
    rng = np.random.default_rng(0)
    X0, x0 = rng.standard_normal((4, 3)), rng.standard_normal(5)
    eps1, eps2, d, tau = 1e-30, 1e-3, 1.0, -0.8
    W, w = mg.Tensor(X0.copy(), requires_grad=True), mg.Tensor(x0.copy(), requires_grad=True)
    opt = optim.Adafactor([W, w], eps=(eps1, eps2), eps1_form="paper")
    W_t = mg.Tensor(X0.copy(), requires_grad=True)
    opt_torch_form = optim.Adafactor([W_t], eps=(eps1, eps2))

    def rms(a):
        return np.sqrt(np.mean(a ** 2))

    X, x = X0.copy(), x0.copy()
    R, C, V = np.zeros((4, 1)), np.zeros((1, 3)), np.zeros(5)
    for t in range(1, 31):
        G, g = rng.standard_normal((4, 3)), rng.standard_normal(5)
        W.grad, w.grad, W_t.grad = mg.Tensor(G.copy()), mg.Tensor(g.copy()), mg.Tensor(G.copy())
        opt.step()
        opt_torch_form.step()
        beta2_hat = 1 - t ** tau
        rho = min(1e-2, 1 / np.sqrt(t))
        # matrix: row and column sums of G^2 + eps1
        alpha = max(eps2, rms(X)) * rho
        R = beta2_hat * R + (1 - beta2_hat) * (G ** 2 + eps1).sum(axis=1, keepdims=True)
        C = beta2_hat * C + (1 - beta2_hat) * (G ** 2 + eps1).sum(axis=0, keepdims=True)
        V_hat = R @ C / R.sum()
        U = G / np.sqrt(V_hat)
        X = X - alpha * U / max(1.0, rms(U) / d)
        # vector
        alpha = max(eps2, rms(x)) * rho
        V = beta2_hat * V + (1 - beta2_hat) * (g ** 2 + eps1)
        u = g / np.sqrt(V)
        x = x - alpha * u / max(1.0, rms(u) / d)
    np.testing.assert_allclose(W.numpy(), X, rtol=1e-11)
    np.testing.assert_allclose(w.numpy(), x, rtol=1e-11)
    # minigrad stores means: R / m and C / n
    np.testing.assert_allclose(opt.state[W]["row_var"] * 3, R, rtol=1e-12)
    np.testing.assert_allclose(opt.state[W]["col_var"] * 4, C, rtol=1e-12)
    # with eps1 tiny against g^2 the two placements agree closely here
    np.testing.assert_allclose(W_t.numpy(), X, rtol=1e-9)


def test_adafactor_eps1_placement_matters_for_small_gradients():
    """Where gradients are ~eps1 the placements part: the paper's +eps1 damps the step."""
    outs = {}
    for form in ("torch", "paper"):
        p = mg.Tensor(np.ones(4), requires_grad=True)
        opt = optim.Adafactor([p], eps=(1e-3, 1e-3), eps1_form=form)
        p.grad = mg.Tensor(np.full(4, 1e-3))
        opt.step()
        outs[form] = 1 - p.numpy()[0]
    # torch: V = 1e-6, U = 1e-3 / max(1e-3, 1e-3) = 1, step 1e-2
    # paper: V = 1e-6 + 1e-3, U = 1e-3 / sqrt(1.001e-3) = 0.0316, step 1e-2 * 0.0316
    assert outs["torch"] == pytest.approx(1e-2, rel=1e-12)
    assert outs["paper"] == pytest.approx(1e-2 * 1e-3 / np.sqrt(1.001e-3), rel=1e-12)
