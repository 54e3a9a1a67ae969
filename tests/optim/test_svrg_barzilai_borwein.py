"""SVRG, Barzilai-Borwein (BB), SGD-BB and SVRG-BB against their papers.

* SVRG (Johnson & Zhang 2013) and the BB family (Barzilai & Borwein 1988;
  Tan, Ma, Dai & Qian 2016) step by step against their algorithms written out
  in plain NumPy on a small strongly convex finite sum (L2-regularised
  logistic regression), within 1e-12 (relative);
* what the papers claim: SVRG converges linearly where SGD with the same step
  stalls; BB steps are inverse Rayleigh quotients and beat the best fixed
  step on an ill-conditioned quadratic; the stochastic BB variants are
  insensitive to their first step; the safeguards never give inf or nan.
"""
import math

import numpy as np
import pytest
from paper_utils import PROBLEM, LogReg, leaves, numpy_closure
from paper_utils import close_to as close
from paper_utils import give_arrays as give

import minigrad as mg
import optim

# ---------------------------------------------------------------------------
# SVRG
# ---------------------------------------------------------------------------

def svrg_by_hand(problem, lr, epochs, bs, seed, option="I", m=None, option_seed=None):
    """Johnson & Zhang (2013), Figure 1, with minibatches."""
    rng = np.random.default_rng(seed)
    pick = np.random.default_rng(option_seed)
    w = np.zeros(problem.d)
    history = []
    w_tilde_next = w.copy()
    for _ in range(epochs):
        w_tilde = w_tilde_next.copy()
        mu = problem.grad(w_tilde)                              # mu = grad F(w_tilde)
        w = w_tilde.copy()                                      # w_0 = w_tilde
        chosen = int(pick.integers(m)) if option == "II" else None
        iterates = [w.copy()]
        for idx in problem.batches(rng, bs):
            w = w - lr * (problem.grad(w, idx) - problem.grad(w_tilde, idx) + mu)
            iterates.append(w.copy())
        w_tilde_next = iterates[chosen] if option == "II" else w      # option I: w_m
        history.append(w.copy())
    return history


def run_svrg(opt_factory, problem, epochs, bs, seed, autograd=False):
    rng = np.random.default_rng(seed)
    w = mg.Tensor(np.zeros(problem.d), requires_grad=True)
    opt = opt_factory([w])
    history = []
    for _ in range(epochs):
        if autograd:
            def full():
                opt.zero_grad()
                loss = problem.loss(w)
                loss.backward()
                return loss
        else:
            full = numpy_closure(opt, w, problem)
        opt.take_snapshot(full)
        for idx in problem.batches(rng, bs):
            if autograd:
                def closure(idx=idx):
                    opt.zero_grad()
                    loss = problem.loss(w, idx)
                    loss.backward()
                    return loss
            else:
                closure = numpy_closure(opt, w, problem, idx)
            opt.step(closure)
        history.append(w.numpy().copy())
    return history, opt, w


def test_svrg_is_its_algorithm_with_autograd_closures():
    lr = 0.5 / PROBLEM.L_max
    ours, opt, w = run_svrg(lambda p: optim.SVRG(p, lr=lr, trace=True), PROBLEM, 4, 8, 3,
                            autograd=True)
    theirs = svrg_by_hand(PROBLEM, lr, 4, 8, 3)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        close(a, b, f"epoch {k}", rtol=1e-11)
    rec = opt.trace[-1]
    close(rec["v"], rec["g"] - rec["g_tilde"] + rec["mu_tilde"])
    assert rec["eta"] == lr
    # .grad holds the minibatch gradient at the current point after a step
    assert w.grad is not None


def test_svrg_docstring_loop_trains_a_linear_model_to_the_least_squares_solution():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((48, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.standard_normal((48, 1))
    mg.manual_seed(0)
    model = mg.nn.Linear(3, 1, dtype=mg.float64)
    loss_fn = mg.nn.MSELoss()
    Xt, Yt = mg.Tensor(X), mg.Tensor(Y)
    opt = optim.SVRG(model.parameters(), lr=0.2)

    def full_closure():
        opt.zero_grad()
        loss = loss_fn(model(Xt), Yt)
        loss.backward()
        return loss

    for _ in range(30):
        opt.take_snapshot(full_closure)
        for idx in np.array_split(rng.permutation(len(X)), len(X) // 8):
            xb, yb = mg.Tensor(X[idx]), mg.Tensor(Y[idx])

            def closure(xb=xb, yb=yb):
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                return loss
            opt.step(closure)
    A = np.hstack([X, np.ones((48, 1))])
    solution = np.linalg.lstsq(A, Y, rcond=None)[0].ravel()
    fitted = np.concatenate([model.weight.numpy().ravel(), model.bias.numpy().ravel()])
    close(fitted, solution, rtol=1e-6, atol=1e-8)


def test_svrg_option_two_is_its_algorithm():
    lr, bs = 0.5 / PROBLEM.L_max, 8
    m = PROBLEM.n // bs
    ours, _, _ = run_svrg(lambda p: optim.SVRG(p, lr=lr, option="II", inner_steps=m, seed=7),
                          PROBLEM, 6, bs, 5)
    theirs = svrg_by_hand(PROBLEM, lr, 6, bs, 5, option="II", m=m, option_seed=7)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        close(a, b, f"epoch {k}")


def test_svrg_weight_decay_is_the_l2_penalty_in_every_f_i():
    # f_i + lam/2 ||w||^2 with plain SVRG == f_i with weight_decay=lam
    plain = LogReg(lam=0.0)
    with_l2 = LogReg(lam=0.3)
    lr = 0.1
    a, _, _ = run_svrg(lambda p: optim.SVRG(p, lr=lr, weight_decay=0.3), plain, 3, 16, 1)
    b, _, _ = run_svrg(lambda p: optim.SVRG(p, lr=lr), with_l2, 3, 16, 1)
    for x, y in zip(a, b):
        close(x, y, rtol=1e-10)


def test_svrg_converges_linearly_where_sgd_with_the_same_step_stalls():
    problem, bs, epochs = PROBLEM, 4, 30
    lr = 0.5 / problem.L_max
    svrg, _, _ = run_svrg(lambda p: optim.SVRG(p, lr=lr), problem, epochs, bs, 11)
    err_svrg = np.array([np.linalg.norm(w - problem.w_star) for w in svrg])

    rng = np.random.default_rng(11)
    w = mg.Tensor(np.zeros(problem.d), requires_grad=True)
    sgd = optim.SGD([w], lr=lr)
    err_sgd = []
    for _ in range(epochs):
        for idx in problem.batches(rng, bs):
            sgd.step(numpy_closure(sgd, w, problem, idx))
        err_sgd.append(np.linalg.norm(w.numpy() - problem.w_star))
    err_sgd = np.array(err_sgd)

    # linear: a straight line in log scale, every 5 epochs at least 3x closer
    assert err_svrg[-1] < 1e-4 * err_svrg[0]
    assert np.all(err_svrg[5::5] < err_svrg[:-5:5] / 3)
    slope = np.polyfit(np.arange(epochs), np.log(err_svrg), 1)[0]
    assert slope < -0.3
    # SGD: the same start, then a noise floor it does not leave
    assert err_sgd[-10:].min() > 1e-2
    assert err_sgd[-10:].min() > 100 * err_svrg[-1]
    assert err_sgd[-1] > 0.3 * err_sgd[10]


def test_svrg_needs_a_closure_and_a_snapshot():
    w = mg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.SVRG([w], lr=0.1)
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()
    with pytest.raises(RuntimeError, match="take_snapshot"):
        opt.step(lambda: 0.0)


# ---------------------------------------------------------------------------
# Barzilai-Borwein, full batch
# ---------------------------------------------------------------------------

def bb_by_hand(x0, grad, lr, steps, variant):
    """Barzilai & Borwein (1988): x_{k+1} = x_k - alpha_k g_k."""
    x, x_prev, g_prev = x0.copy(), None, None
    xs, alphas = [], []
    for k in range(steps):
        g = grad(x)
        if k == 0:
            alpha = lr
        else:
            s, y = x - x_prev, g - g_prev
            alpha = (s @ s) / (s @ y) if variant == "long" else (s @ y) / (y @ y)
        x_prev, g_prev = x, g
        x = x - alpha * g
        xs.append(x)
        alphas.append(alpha)
    return xs, alphas


def ill_conditioned_quadratic(n=50, kappa=1e3, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.logspace(0, np.log10(kappa), n)
    return (Q * lam) @ Q.T, lam, rng.standard_normal(n)


@pytest.mark.parametrize("variant", ["long", "short"])
def test_bb_is_its_algorithm_on_a_nonquadratic_function_over_several_blocks(variant):
    # f(x) = sum(log cosh(x)) + 0.5 x'Ax: convex, not quadratic; x split in 3 params
    A, _, x0 = ill_conditioned_quadratic(n=12, kappa=20, seed=3)
    A = A / 20

    def grad(x):
        return np.tanh(x) + A @ x

    xs, alphas = bb_by_hand(x0, grad, 0.1, 25, variant)
    cuts = [0, 1, 5, 12]
    params = leaves([x0[a:b] for a, b in zip(cuts, cuts[1:])])
    params[0] = mg.Tensor(x0[0:1].reshape(()), requires_grad=True)        # a 0-d block too
    opt = optim.BarzilaiBorwein(params, lr=0.1, variant=variant, trace=True)
    for k in range(25):
        x = np.concatenate([p.numpy().ravel() for p in params])
        g = grad(x)
        give(params, [g[0:1].reshape(()), g[1:5], g[5:12]])
        opt.step()
        close(np.concatenate([p.numpy().ravel() for p in params]), xs[k], f"step {k}",
              rtol=1e-10)
    close(opt.trace_of("alpha", param=2), alphas, rtol=1e-10)


@pytest.mark.parametrize("variant", ["long", "short"])
def test_bb_steps_are_inverse_rayleigh_quotients_and_beat_the_best_fixed_step(variant):
    A, lam, x0 = ill_conditioned_quadratic()
    L, mu = lam[-1], lam[0]
    x = mg.Tensor(x0.copy(), requires_grad=True)
    opt = optim.BarzilaiBorwein([x], lr=1 / L, variant=variant, trace=True)
    steps = 400
    for _ in range(steps):
        x.grad = mg.Tensor(A @ x.numpy())
        opt.step()
    for rec in opt.trace[1:]:
        s = rec["s"]
        expected = (s @ s) / (s @ A @ s) if variant == "long" else (s @ A @ s) / (s @ A @ A @ s)
        close(rec["alpha"], expected, rtol=1e-9)
        assert 1 / L * (1 - 1e-9) <= rec["alpha"] <= 1 / mu * (1 + 1e-9)
        assert not rec["fallback"]
    # BB2 <= BB1 at the same s (Cauchy-Schwarz)
    s = opt.trace[5]["s"]
    assert (s @ A @ s) / (s @ A @ A @ s) <= (s @ s) / (s @ A @ s)

    gd = x0.copy()
    for _ in range(steps):
        gd = gd - 2 / (L + mu) * (A @ gd)
    err_bb = np.linalg.norm(x.numpy()) / np.linalg.norm(x0)
    err_gd = np.linalg.norm(gd) / np.linalg.norm(x0)
    assert err_bb < 1e-6
    assert err_gd > 1e-2
    assert err_bb < 1e-4 * err_gd


@pytest.mark.parametrize("variant", ["long", "short"])
@pytest.mark.parametrize("fallback", ["previous", "max"])
def test_bb_safeguard_never_gives_inf_or_nan(variant, fallback):
    # a linear function: y = 0, so s'y = 0 and y'y = 0 at every step
    c = np.array([1.0, -2.0, 0.5])
    x = mg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.BarzilaiBorwein([x], lr=0.1, variant=variant, fallback=fallback,
                                alpha_max=10.0, trace=True)
    for _ in range(5):
        x.grad = mg.Tensor(c.copy())
        opt.step()
        assert np.all(np.isfinite(x.numpy()))
    alphas = opt.trace_of("alpha")
    assert alphas[0] == 0.1
    assert np.all(alphas[1:] == (0.1 if fallback == "previous" else 10.0))
    assert all(r["fallback"] and r["alpha_bb"] is None for r in opt.trace[1:])
    assert opt.trace[1]["s_dot_y"] == 0.0

    # s = 0: starting at the minimiser, nothing moves
    x = mg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.BarzilaiBorwein([x], lr=0.1, variant=variant, fallback=fallback)
    for _ in range(3):
        x.grad = mg.Tensor(np.zeros(3))
        opt.step()
    assert np.all(x.numpy() == 0)

    # negative curvature (f = -x^2/2): s'y < 0, the step falls back and stays finite
    x = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.BarzilaiBorwein([x], lr=0.1, variant=variant, fallback=fallback,
                                alpha_max=10.0, trace=True)
    for _ in range(3):
        x.grad = mg.Tensor(-x.numpy())
        opt.step()
    assert opt.trace[1]["s_dot_y"] < 0 and opt.trace[1]["fallback"]
    assert np.all(np.isfinite(x.numpy()))


def test_bb_step_is_clipped_to_its_bounds():
    A = np.diag([1e-6, 2e-6])                         # BB1 ~ 1e6
    x = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.BarzilaiBorwein([x], lr=1.0, alpha_min=1e-3, alpha_max=1e3, trace=True)
    for _ in range(3):
        x.grad = mg.Tensor(A @ x.numpy())
        opt.step()
    assert opt.trace[1]["alpha_bb"] > 1e5 and opt.trace[1]["alpha"] == 1e3


def test_bb_refuses_a_parameter_that_appears_midway():
    a, b = leaves([np.ones(2), np.ones(2)])
    opt = optim.BarzilaiBorwein([a, b], lr=0.1)
    give([a, b], [np.ones(2), None])
    opt.step()
    give([a, b], [np.ones(2), np.ones(2)])
    with pytest.raises(RuntimeError, match="previous step"):
        opt.step()


# ---------------------------------------------------------------------------
# SGD-BB and SVRG-BB (Tan, Ma, Dai & Qian 2016)
# ---------------------------------------------------------------------------

def sgd_bb_by_hand(problem, lr, m, bs, epochs, seed, beta=None, smoothing=True):
    """Algorithm 2 of Tan et al. with the smoothing of their Section 3.3 (phi(k) = k)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(problem.d)
    eta, c = lr, 1.0
    x_tilde_prev = g_hat_prev = None
    g_hat = np.zeros(problem.d)
    etas, xs = [], []
    for k in range(epochs):
        x_tilde = x.copy()
        if k >= 2:
            s, y = x_tilde - x_tilde_prev, g_hat - g_hat_prev
            eta_bb = (s @ s) / (m * abs(s @ y))
            if smoothing:
                c = c ** ((k - 2) / (k - 1)) * (eta_bb * k) ** (1 / (k - 1))
                eta = c / k
            else:
                eta = eta_bb
        if k >= 1:
            x_tilde_prev, g_hat_prev = x_tilde, g_hat
        etas.append(eta)
        g_hat = np.zeros(problem.d)
        batches = problem.batches(rng, bs)
        for t in range(m):
            g = problem.grad(x, batches[t % len(batches)])
            x = x - eta * g
            if beta is None:
                g_hat = g_hat + (g - g_hat) / (t + 1)          # the mean of the epoch
            else:
                g_hat = beta * g + (1 - beta) * g_hat
        xs.append(x.copy())
    return xs, etas


def run_sgd_bb(problem, lr, m, bs, epochs, seed, **kw):
    rng = np.random.default_rng(seed)
    w = mg.Tensor(np.zeros(problem.d), requires_grad=True)
    opt = optim.SGDBB([w], lr=lr, inner_steps=m, trace=True, **kw)
    xs, starts, g_means = [], [], []
    for _ in range(epochs):
        starts.append(w.numpy().copy())
        batches = problem.batches(rng, bs)
        fed = []
        for t in range(m):
            g = problem.grad(w.numpy(), batches[t % len(batches)])
            fed.append(g)
            w.grad = mg.Tensor(g)
            opt.step()
        g_means.append(np.mean(fed, axis=0))
        xs.append(w.numpy().copy())
    return xs, opt, starts, g_means


@pytest.mark.parametrize("kw", [{}, {"beta": 10 / 16}, {"smoothing": False}],
                         ids=["mean", "weighted", "no-smoothing"])
def test_sgd_bb_is_its_algorithm(kw):
    xs, opt, _, _ = run_sgd_bb(PROBLEM, 0.05, 16, 4, 8, 2, **kw)
    ref_xs, ref_etas = sgd_bb_by_hand(PROBLEM, 0.05, 16, 4, 8, 2, **kw)
    for k, (a, b) in enumerate(zip(xs, ref_xs)):
        close(a, b, f"epoch {k}", rtol=1e-10)
    steps, etas = opt.trace_of("eta", steps=True)
    close(etas[::16], ref_etas, rtol=1e-10)


def test_sgd_bb_steps_follow_the_formula_and_the_smoothing_is_a_geometric_mean():
    m, epochs = 16, 10
    _, opt, starts, g_means = run_sgd_bb(PROBLEM, 0.05, m, 4, epochs, 4)
    raw = {}
    for k in range(2, epochs):
        s = starts[k] - starts[k - 1]                 # x_tilde_k - x_tilde_{k-1}
        y = g_means[k - 1] - g_means[k - 2]           # g_hat_k - g_hat_{k-1}
        raw[k] = (s @ s) / (m * abs(s @ y))
        rec = opt.trace[k * m]
        assert rec["k"] == k and rec["t"] == 0
        close(rec["eta_bb"], raw[k], rtol=1e-10)
        geometric_mean = math.exp(np.mean([math.log(raw[j] * j) for j in range(2, k + 1)]))
        close(rec["c"], geometric_mean, rtol=1e-10)
        close(rec["eta"], geometric_mean / k, rtol=1e-10)
        # the step is constant within the epoch
        assert all(r["eta"] == rec["eta"] for r in opt.trace[k * m:(k + 1) * m])
    assert all(r["eta"] == 0.05 for r in opt.trace[:2 * m])


def test_sgd_bb_is_insensitive_to_its_first_step():
    L = PROBLEM.L_max
    finals = []
    for lr in (0.01 / L, 1 / L):
        xs, _, _, _ = run_sgd_bb(PROBLEM, lr, 16, 4, 30, 1)
        finals.append(np.linalg.norm(xs[-1] - PROBLEM.w_star))
    assert max(finals) < 3e-2
    assert max(finals) < 3 * min(finals)


def svrg_bb_by_hand(problem, eta0, bs, epochs, seed):
    """Algorithm 1 of Tan et al. (option I)."""
    rng = np.random.default_rng(seed)
    m = problem.n // bs
    x, eta, prev = np.zeros(problem.d), eta0, None
    xs, etas = [], []
    for k in range(epochs):
        x_tilde = x.copy()
        g_tilde = problem.grad(x_tilde)
        if k > 0:
            s, y = x_tilde - prev[0], g_tilde - prev[1]
            eta = (s @ s) / (m * (s @ y))
        prev = (x_tilde, g_tilde)
        etas.append(eta)
        for idx in problem.batches(rng, bs):
            x = x - eta * (problem.grad(x, idx) - problem.grad(x_tilde, idx) + g_tilde)
        xs.append(x.copy())
    return xs, etas


def test_svrg_bb_is_its_algorithm_and_its_steps_follow_the_formula():
    bs, epochs = 4, 8
    ours, opt, _ = run_svrg(lambda p: optim.SVRGBB(p, lr=0.05, trace=True), PROBLEM, epochs,
                            bs, 6)
    theirs, etas = svrg_bb_by_hand(PROBLEM, 0.05, bs, epochs, 6)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        close(a, b, f"epoch {k}", rtol=1e-10)
    m = PROBLEM.n // bs
    close(opt.trace_of("eta")[::m], etas, rtol=1e-10)
    # the formula from the snapshots and full gradients, computed here
    x_tilde = [np.zeros(PROBLEM.d)] + ours[:-1]
    for k in range(1, epochs):
        s = x_tilde[k] - x_tilde[k - 1]
        y = PROBLEM.grad(x_tilde[k]) - PROBLEM.grad(x_tilde[k - 1])
        close(opt.trace_of("eta")[k * m], (s @ s) / (m * (s @ y)), rtol=1e-9)


def test_svrg_bb_converges_linearly_from_any_first_step_within_its_bounds():
    bs = 4
    m = PROBLEM.n // bs
    mu, L = PROBLEM.lam, PROBLEM.L
    for eta0 in (0.01 / PROBLEM.L_max, 1 / PROBLEM.L_max):
        xs, opt, _ = run_svrg(lambda p, eta0=eta0: optim.SVRGBB(p, lr=eta0, trace=True), PROBLEM, 25, bs,
                              9)
        err = np.array([np.linalg.norm(x - PROBLEM.w_star) for x in xs])
        assert err[-1] < 1e-8
        assert np.polyfit(np.arange(25), np.log(err), 1)[0] < -0.5
        etas = opt.trace_of("eta")[m::m]             # the BB steps of epochs 1, 2, ...
        assert np.all(etas >= 1 / (m * L) * (1 - 1e-9))
        assert np.all(etas <= 1 / (m * mu) * (1 + 1e-9))


def test_stochastic_bb_safeguards_fall_back_to_the_previous_step():
    # the same snapshot twice: s = 0
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SVRGBB([w], lr=0.07)
    opt.take_snapshot(numpy_closure(opt, w, LogReg(d=3)))
    opt.take_snapshot(numpy_closure(opt, w, LogReg(d=3)))
    gs = opt.optimizer_state["groups"][0]
    assert gs["fallback"] and gs["eta"] == 0.07 and gs["eta_bb"] is None
    # SGD-BB with a constant gradient: g_hat_k = g_hat_{k-1}, s'y = 0
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGDBB([w], lr=0.07, inner_steps=2, trace=True)
    for _ in range(8):
        w.grad = mg.Tensor(np.array([1.0, 2.0, 3.0]))
        opt.step()
    assert np.all(np.isfinite(w.numpy()))
    # epochs 0, 1: lr; then the raw estimate falls back to the previous step and is smoothed
    etas = opt.trace_of("eta")
    assert np.all(etas[:4] == 0.07) and np.all(np.isfinite(etas)) and np.all(etas > 0)
    assert all(r["fallback"] and r["eta_bb"] is None for r in opt.trace[4::2])
    close(etas[4], 0.07)                                  # c_2 = 2 * 0.07, eta_2 = c_2 / 2
    close(etas[6], math.sqrt(2 * 0.07 * 3 * 0.07) / 3)   # c_3 = c_2^(1/2) (eta_2 * 3)^(1/2)
