"""SVRG, Barzilai-Borwein (BB, SGD-BB, SVRG-BB), Sophia, Shampoo and Ranger21 against their papers.

PyTorch has none of these, so each is checked two ways:

* step by step (float64) against the paper's algorithm written out below in
  plain NumPy, independently of ``optim.functional`` and ``optim.transforms``;
* a behaviour the paper claims, on a problem with a known answer: on a
  quadratic the BB steps are inverse Rayleigh quotients, lie in [1/L, 1/mu],
  and converge far faster than the best fixed step 2/(L+mu); the safeguard
  never yields inf/NaN (s'y = 0, s = 0, negative curvature); SVRG converges
  linearly with a constant step on L2-regularised logistic regression where
  SGD with the same step stalls at a noise floor; SVRG-BB converges linearly
  from initial steps 100x apart and its steps stay in [1/(mL), 1/(m mu)];
  SGD-BB's steps are the geometric-mean smoothing of the raw BB steps (closed
  form); Hutchinson's estimate is unbiased for the Hessian diagonal (torch's
  Hessian, CLT tolerance), GNB's for the Gauss-Newton diagonal of softmax
  regression; Shampoo's roots equal fractional matrix powers (SciPy) and its
  3-d update the mode products; each Ranger21 component matches its formula.

Plus state_dict round trips (in memory and through a checkpoint file,
including the optimizer-level state and random generators) and
hyperparameter errors.
"""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

import minigrad as mg
import optim
from optim import transforms as T

RTOL = 1e-12


def close(a, b, what="", rtol=RTOL, atol=1e-14):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol, err_msg=what)


def leaves(arrays):
    return [mg.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]


def give(params, grads):
    for p, g in zip(params, grads):
        p.grad = None if g is None else mg.Tensor(np.array(g, dtype=np.float64))


# ---------------------------------------------------------------------------
# a small strongly convex finite sum: L2-regularised logistic regression
# ---------------------------------------------------------------------------

class LogReg:
    """F(w) = (1/n) sum_i log(1 + exp(-y_i x_i'w)) + lam/2 ||w||^2, with its minimiser."""

    def __init__(self, n=64, d=5, lam=0.1, seed=0):
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((n, d))
        w_true = rng.standard_normal(d)
        self.y = np.where(rng.random(n) < 1 / (1 + np.exp(-self.X @ w_true)), 1.0, -1.0)
        self.n, self.d, self.lam = n, d, lam
        w = np.zeros(d)
        for _ in range(60):                           # Newton's method: w* to machine precision
            z = self.y * (self.X @ w)
            s = 1 / (1 + np.exp(-z))
            H = (self.X.T * (s * (1 - s))) @ self.X / n + lam * np.eye(d)
            w = w - np.linalg.solve(H, self.grad(w))
        self.w_star = w
        self.L = np.linalg.eigvalsh(self.X.T @ self.X / n)[-1] / 4 + lam
        self.L_max = np.max(np.sum(self.X ** 2, axis=1)) / 4 + lam    # of each f_i

    def grad(self, w, idx=None):
        idx = np.arange(self.n) if idx is None else idx
        X, y = self.X[idx], self.y[idx]
        return -(X * (y / (1 + np.exp(y * (X @ w))))[:, None]).mean(axis=0) + self.lam * w

    def loss(self, w, idx=None):                      # a minigrad graph
        idx = np.arange(self.n) if idx is None else idx
        z = mg.Tensor(self.y[idx]) * (mg.Tensor(self.X[idx]) @ w)
        return mg.softplus(-z).mean() + (w * w).sum() * (self.lam / 2)

    def batches(self, rng, bs):
        perm = rng.permutation(self.n)
        return [perm[i:i + bs] for i in range(0, self.n, bs)]


PROBLEM = LogReg()


def numpy_closure(opt, w, problem, idx=None):
    """A closure that puts grad f_B(w) into w.grad without autograd (fast)."""
    def closure():
        opt.zero_grad()
        w.grad = mg.Tensor(problem.grad(w.numpy(), idx))
        return 0.0
    return closure


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

            def closure():
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
        xs, opt, _ = run_svrg(lambda p: optim.SVRGBB(p, lr=eta0, trace=True), PROBLEM, 25, bs,
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


# ---------------------------------------------------------------------------
# Sophia
# ---------------------------------------------------------------------------

def sophia_by_hand(theta, grads, h_hats, lr, b1, b2, rho, wd, eps, k):
    """Liu et al. (2023), Algorithm 3, for one parameter."""
    m = np.zeros_like(theta)
    h = np.zeros_like(theta)
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        if t % k == 1 or k == 1:
            h = b2 * h + (1 - b2) * h_hats[t]
        theta = theta - lr * wd * theta
        theta = theta - lr * np.clip(m / np.maximum(rho * h, eps), -1, 1)
        out.append((theta.copy(), m.copy(), h.copy()))
    return out


@pytest.mark.parametrize("k", [1, 3])
def test_sophia_is_its_algorithm(k):
    rng = np.random.default_rng(0)
    shapes = [(), (4,), (3, 2)]
    init = [rng.standard_normal(s) for s in shapes]
    steps = 12
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    # curvature estimates, some negative (Hutchinson's can be), some tiny
    h_hats = {t: [rng.standard_normal(s) * 3 + 1 for s in shapes] for t in range(1, steps + 1)}
    cfg = dict(lr=0.05, b1=0.9, b2=0.8, rho=0.5, wd=0.1, eps=1e-12)
    params = leaves(init)
    opt = optim.Sophia(params, lr=0.05, betas=(0.9, 0.8), rho=0.5, weight_decay=0.1, eps=1e-12,
                       update_period=k, trace=True)
    for t in range(1, steps + 1):
        assert opt.hessian_due == ((t - 1) % k == 0)
        if opt.hessian_due:
            opt.update_hessian(h_hat=h_hats[t])
        give(params, grads[t - 1])
        opt.step()
    for i, p in enumerate(params):
        ref = sophia_by_hand(init[i], [g[i] for g in grads], {t: h[i] for t, h in h_hats.items()},
                             k=k, **cfg)
        close(p.numpy(), ref[-1][0], f"param {i}")
        close(opt.state[p]["exp_avg"], ref[-1][1])
        close(opt.state[p]["hessian"], ref[-1][2])
    ratio = opt.trace_of("ratio", param=2)
    assert np.all(np.abs(ratio) <= 1)
    assert 0 < opt.trace[-1]["clipped_fraction"] <= 1


def test_sophia_with_zero_curvature_takes_sign_steps_and_with_large_curvature_newton_steps():
    # h = 0 (no estimate yet): max(rho h, eps) = eps, the ratio clips: theta -= lr sign(m)
    w = mg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.Sophia([w], lr=0.1, betas=(0.0, 0.5), weight_decay=0.0)
    w.grad = mg.Tensor(np.array([3.0, -1e-3, 0.0]))
    opt.step()
    close(w.numpy(), [-0.1, 0.1, 0.0])
    # exact diagonal Hessian of 0.5 x'Dx, beta1 = 0: the unclipped step is m / (rho h)
    D = np.array([2.0, 5.0, 10.0])
    w = mg.Tensor(np.array([0.1, -0.1, 0.05]), requires_grad=True)
    opt = optim.Sophia([w], lr=1.0, betas=(0.0, 0.0), rho=1.0, weight_decay=0.0,
                       update_period=1)
    opt.update_hessian(h_hat=[D])
    w.grad = mg.Tensor(D * w.numpy())
    opt.step()
    close(w.numpy(), np.zeros(3), atol=1e-15)       # one Newton step to the minimum


def small_mlp(seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    shapes = [(4, 3), (4,), (2, 4)]
    init = [rng.standard_normal(s) * 0.8 for s in shapes]

    def mg_loss(W1, b1, W2):
        h = mg.tanh(mg.Tensor(X) @ W1.transpose() + b1)
        return ((h @ W2.transpose() - mg.Tensor(Y)) ** 2).mean()

    def torch_loss(flat):
        W1, b1, W2 = flat[:12].reshape(4, 3), flat[12:16], flat[16:].reshape(2, 4)
        h = torch.tanh(torch.tensor(X) @ W1.T + b1)
        return ((h @ W2.T - torch.tensor(Y)) ** 2).mean()

    return init, mg_loss, torch_loss


def test_hutchinson_estimate_is_unbiased_for_the_hessian_diagonal():
    init, mg_loss, torch_loss = small_mlp()
    flat = torch.tensor(np.concatenate([a.ravel() for a in init]))
    H = torch.autograd.functional.hessian(torch_loss, flat).numpy()
    params = leaves(init)
    opt = optim.Sophia(params, estimator="hutchinson", seed=1)
    loss = mg_loss(*params)
    N = 800
    est = np.array([np.concatenate([h.ravel() for h in opt.estimate_hessian(loss)])
                    for _ in range(N)])
    # one estimate is u * (H u) with the optimizer's first probe u ~ N(0, I)
    draws = np.random.default_rng(1)
    u = np.concatenate([draws.standard_normal(a.shape).ravel() for a in init])
    close(est[0], u * (H @ u), rtol=1e-10)
    # Var[u_i (Hu)_i] = H_ii^2 + sum_j H_ij^2 for u ~ N(0, I)
    sigma = np.sqrt(np.diag(H) ** 2 + (H ** 2).sum(axis=1))
    z = (est.mean(axis=0) - np.diag(H)) / (sigma / np.sqrt(N))
    assert np.all(np.abs(z) < 5), z
    assert abs(z.mean()) < 5 / np.sqrt(len(z))
    # the graph is kept: the loss can still be backpropagated
    loss.backward()
    assert params[0].grad is not None
    # and the Hessian EMA: h = (1 - beta2) h_hat after one update from zero
    h_hat = opt.update_hessian(mg_loss(*params))
    close(opt.state[params[2]]["hessian"], (1 - 0.99) * h_hat[2])


def test_gnb_estimate_is_unbiased_for_the_gauss_newton_diagonal_of_softmax_regression():
    rng = np.random.default_rng(2)
    B, d, C = 8, 3, 4
    X = rng.standard_normal((B, d))
    W, b = leaves([rng.standard_normal((C, d)), rng.standard_normal(C) * 0.5])
    opt = optim.Sophia([W, b], estimator="gnb", seed=3)
    logits = mg.Tensor(X) @ W.transpose() + b
    N = 1500
    est = [opt.estimate_hessian(logits=logits) for _ in range(N)]
    est_W = np.array([e[0] for e in est])
    est_b = np.array([e[1] for e in est])
    # Gauss-Newton of the mean CE: (1/B) sum_b J_b' (diag p_b - p_b p_b') J_b; its diagonal:
    z = X @ W.numpy().T + b.numpy()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    gn_W = (p * (1 - p)).T @ (X ** 2) / B                 # [c, j]: mean_b p_bc(1-p_bc) x_bj^2
    gn_b = (p * (1 - p)).mean(axis=0)
    # one estimate, redone with torch: labels drawn from softmax(z) by the inverse CDF with the
    # optimizer's first uniform draws, then B * (grad of the mean CE)^2
    draws = np.random.default_rng(3).random(B)
    y_hat = np.minimum((np.cumsum(p, axis=1) < draws[:, None]).sum(axis=1), C - 1)
    Wt = torch.tensor(W.numpy(), requires_grad=True)
    bt = torch.tensor(b.numpy(), requires_grad=True)
    torch.nn.functional.cross_entropy(torch.tensor(X) @ Wt.T + bt, torch.tensor(y_hat)).backward()
    close(est_W[0], B * Wt.grad.numpy() ** 2, rtol=1e-10)
    close(est_b[0], B * bt.grad.numpy() ** 2, rtol=1e-10)
    for e, gn in ((est_W, gn_W), (est_b, gn_b)):
        se = e.std(axis=0, ddof=1) / np.sqrt(N)
        assert np.all(np.abs(e.mean(axis=0) - gn) < 5 * se + 1e-12)
    # h_hat = B g_hat^2 >= 0, and the logits' graph survives for the real loss
    assert np.all(est_W >= 0)
    mg.functional.cross_entropy(logits, mg.Tensor(np.arange(B) % C)).backward()
    assert W.grad is not None


def test_sophia_estimator_needs_its_input():
    w = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="loss"):
        optim.Sophia([w]).update_hessian()
    with pytest.raises(ValueError, match="logits"):
        optim.Sophia([w], estimator="gnb").update_hessian((w * w).sum())


# ---------------------------------------------------------------------------
# Shampoo
# ---------------------------------------------------------------------------

def frac_power(H, r):
    """H^r of a symmetric positive definite matrix, written out with eigh."""
    lam, Q = np.linalg.eigh(H)
    return Q @ np.diag(lam ** r) @ Q.T


def frac_power_floored(H, r, eps):
    """The same with the eigenvalues raised to eps first (Shampoo's safeguard for the EMA)."""
    lam, Q = np.linalg.eigh(H)
    return Q @ np.diag(np.maximum(lam, eps) ** r) @ Q.T


def unfold(G, i):
    return np.moveaxis(G, i, 0).reshape(G.shape[i], -1)


def test_shampoo_matrix_preconditioner_is_the_quarter_root():
    rng = np.random.default_rng(0)
    eps, lr = 1e-3, 0.1
    W0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(4)]
    (W,) = leaves([W0])
    opt = optim.Shampoo([W], lr=lr, eps=eps, trace=True)
    L, R, Wref = eps * np.eye(4), eps * np.eye(3), W0.copy()
    for t, G in enumerate(grads):
        give([W], [G])
        opt.step()
        L, R = L + G @ G.T, R + G.T @ G                          # L += GG', R += G'G
        Wref = Wref - lr * frac_power(L, -0.25) @ G @ frac_power(R, -0.25)
        rec = opt.trace[-1]
        close(rec["H_1"], L)
        close(rec["H_2"], R)
        close(rec["P_1"], frac_power(L, -0.25), rtol=1e-9)
        close(rec["P_2"], frac_power(R, -0.25), rtol=1e-9)
        close(W.numpy(), Wref, f"step {t}", rtol=1e-9)
    # and SciPy's fractional matrix power agrees (its Schur-Pade algorithm is slow: once)
    close(opt.trace[-1]["P_1"], np.real(scipy.linalg.fractional_matrix_power(L, -0.25)),
          rtol=1e-8)
    close(opt.trace[-1]["P_2"], np.real(scipy.linalg.fractional_matrix_power(R, -0.25)),
          rtol=1e-8)


def test_shampoo_three_dimensional_update_is_the_mode_products_with_root_one_sixth():
    rng = np.random.default_rng(1)
    eps, lr = 1e-2, 0.05
    W0 = rng.standard_normal((2, 3, 4))
    grads = [rng.standard_normal((2, 3, 4)) for _ in range(3)]
    (W,) = leaves([W0])
    opt = optim.Shampoo([W], lr=lr, eps=eps, trace=True)
    H = [eps * np.eye(n) for n in W0.shape]
    Wref = W0.copy()
    for G in grads:
        give([W], [G])
        opt.step()
        H = [H[i] + unfold(G, i) @ unfold(G, i).T for i in range(3)]
        P = [frac_power(h, -1 / 6) for h in H]                   # -1/(2k), k = 3
        G_tilde = np.einsum("ai,bj,ck,ijk->abc", P[0], P[1], P[2], G)
        Wref = Wref - lr * G_tilde
        close(opt.trace[-1]["G_tilde"], G_tilde, rtol=1e-9)
    close(W.numpy(), Wref, rtol=1e-9)


def test_shampoo_vectors_ema_and_stale_roots():
    rng = np.random.default_rng(2)
    eps, lr, beta = 1e-2, 0.1, 0.9
    v0, s0, m0 = rng.standard_normal(5), np.array(0.7), rng.standard_normal((3, 2))
    grads = [[rng.standard_normal(5), np.array(rng.standard_normal()),
              rng.standard_normal((3, 2))] for _ in range(7)]
    full, scalar, mat = leaves([v0, s0, m0])
    opt = optim.Shampoo([{"params": [full, scalar]},
                         {"params": [mat], "beta": beta, "update_freq": 3}],
                        lr=lr, eps=eps)
    (diag,) = leaves([v0])
    opt_diag = optim.Shampoo([diag], lr=lr, eps=eps, vector_statistic="diagonal")
    Hv, Hs, h_diag = eps * np.eye(5), eps, eps * np.ones(5)
    L, R = eps * np.eye(3), eps * np.eye(2)
    v, s, m, vd = v0.copy(), float(s0), m0.copy(), v0.copy()
    for t, (gv, gs, gm) in enumerate(grads, start=1):
        give([full, scalar, mat], [gv, gs, gm])
        opt.step()
        give([diag], [gv])
        opt_diag.step()
        Hv = Hv + np.outer(gv, gv)                       # full-matrix AdaGrad: H^(-1/2) g
        v = v - lr * frac_power(Hv, -0.5) @ gv
        Hs = Hs + gs * gs                                # a 0-d parameter: g / sqrt(h)
        s = s - lr * gs / math.sqrt(Hs)
        h_diag = h_diag + gv * gv                        # diagonal AdaGrad
        vd = vd - lr * gv / np.sqrt(h_diag)
        L = beta * L + (1 - beta) * gm @ gm.T            # EMA statistics
        R = beta * R + (1 - beta) * gm.T @ gm
        if (t - 1) % 3 == 0:                             # roots at steps 1, 4, 7
            # L is 3x3 of rank-2 updates: its eps*I part fades like beta^t below eps,
            # where the documented floor takes over
            PL, PR = frac_power_floored(L, -0.25, eps), frac_power_floored(R, -0.25, eps)
        m = m - lr * PL @ gm @ PR
    close(full.numpy(), v, rtol=1e-9)
    close(scalar.numpy(), s, rtol=1e-9)
    close(diag.numpy(), vd, rtol=1e-9)
    close(mat.numpy(), m, rtol=1e-9)


# ---------------------------------------------------------------------------
# Ranger21: each component against its formula, then the whole step
# ---------------------------------------------------------------------------

def test_adaptive_gradient_clipping_is_unitwise():
    W = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])          # row norms 5, 0, 1
    G = np.array([[0.3, 0.4], [0.0, 1e-4], [0.0, 0.0]])         # row norms 0.5, 1e-4, 0
    out = T.adaptive_gradient_clipping(G, W, clipping=0.05, eps=1e-3)
    # row 0: 0.5/5 = 0.1 > 0.05 -> rescaled to norm 0.05*5
    close(np.linalg.norm(out[0]), 0.25)
    close(out[0] / np.linalg.norm(out[0]), G[0] / 0.5)
    # row 1: ||W|| = 0 -> eps: 1e-4/1e-3 = 0.1 > 0.05 -> norm 0.05*1e-3
    close(np.linalg.norm(out[1]), 5e-5)
    # row 2: zero gradient, untouched
    close(out[2], 0)
    # under the threshold nothing changes; a vector is one unit
    close(T.adaptive_gradient_clipping(G * 1e-3, W, clipping=0.05), G * 1e-3)
    g = np.array([3.0, 4.0])
    close(T.adaptive_gradient_clipping(g, np.array([1.0, 0.0]), clipping=0.5), g / 5 * 0.5)
    # the in-place transform on parameters
    (p,) = leaves([W])
    p.grad = mg.Tensor(G.copy())
    T.clip_gradients_adaptive_([p], clipping=0.05)
    close(p.grad.numpy(), out)


def test_gradient_centralization_and_normalization():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((3, 2, 2)) + 5
    gc = T.gradient_centralization(G)
    close(gc.reshape(3, -1).mean(axis=1), 0, atol=1e-14)
    close(gc, G - G.reshape(3, -1).mean(axis=1)[:, None, None])
    v = rng.standard_normal(4)
    assert T.gradient_centralization(v) is v                  # vectors are left alone
    gn = T.gradient_normalization(G, eps=0.0)
    close(np.std(gn, ddof=1), 1.0)
    close(gn, G / np.std(G, ddof=1))
    tiny = np.array([1.0, 3.0])
    assert T.gradient_normalization(tiny) is tiny             # two elements or fewer: unchanged


def test_positive_negative_momentum_alternates_its_two_buffers():
    rng = np.random.default_rng(1)
    b1, b0 = 0.8, 0.7
    gs = [rng.standard_normal(3) for _ in range(6)]
    state = {"exp_avg": np.zeros(3), "neg_exp_avg": np.zeros(3)}
    odd, even = np.zeros(3), np.zeros(3)                     # m fed at odd / even steps
    for t, g in enumerate(gs, start=1):
        m_bar, new, inter = T.positive_negative_momentum(g, state, beta1=b1, beta0=b0, t=t)
        state = {**state, **new}
        if t % 2:
            odd = b1 ** 2 * odd + (1 - b1 ** 2) * g
            m_t, m_prev = odd, even
        else:
            even = b1 ** 2 * even + (1 - b1 ** 2) * g
            m_t, m_prev = even, odd
        close(m_bar, ((1 + b0) * m_t - b0 * m_prev) / math.sqrt((1 + b0) ** 2 + b0 ** 2))
        close(inter["m"], m_t)
        close(inter["m_neg"], m_prev)


def test_stable_weight_decay_norm_loss_and_denominator():
    theta = np.array([[3.0, 4.0], [0.3, 0.4]])               # unit norms 5 and 0.5
    close(T.stable_weight_decay(theta, lr=0.1, weight_decay=0.2, v_bar=4.0),
          theta * (1 - 0.1 * 0.2 / 2.0))
    out = T.norm_loss(theta, lr=0.1, factor=0.5, eps=0.0)
    close(out[0], theta[0] * (1 - 0.1 * 2 * 0.5 * (1 - 1 / 5)))
    close(out[1], theta[1] * (1 - 0.1 * 2 * 0.5 * (1 - 1 / 0.5)))
    # norm loss pulls each unit toward norm 1, from above and from below
    norms = np.linalg.norm(out, axis=1)
    assert norms[0] < 5 and norms[1] > 0.5
    v = np.array([0.04, 0.09])
    close(T.adamw_denominator(v, beta2=0.9, t=2, eps=1e-3), np.sqrt(v / (1 - 0.81)) + 1e-3)


def test_warmup_warmdown_and_lookahead():
    assert T.default_warmup_steps(0.999) == 2000
    assert T.default_warmup_steps(0.99) == 200
    assert T.default_warmup_steps(0.9) == 20
    assert [T.linear_warmup(t, 4) for t in (1, 2, 4, 9)] == [0.25, 0.5, 1.0, 1.0]
    lr, T_, p, low = 1.0, 100, 0.72, 0.1
    assert T.linear_warmdown(72, lr=lr, num_iterations=T_, start=p, min_lr=low) == lr
    close(T.linear_warmdown(86, lr=lr, num_iterations=T_, start=p, min_lr=low), 0.55)
    close(T.linear_warmdown(100, lr=lr, num_iterations=T_, start=p, min_lr=low), low)
    theta, slow = np.array([2.0, 4.0]), np.array([0.0, 0.0])
    new_theta, new_slow = T.lookahead(theta, slow, alpha=0.25)
    close(new_slow, [0.5, 1.0])
    close(new_theta, new_slow)
    assert new_theta is not new_slow
    # Ranger21's short-run guard: a warmup longer than 45% of the run becomes 22% of it
    assert optim.functional.ranger21_warmup_steps(0.999, 1000) == 220
    assert optim.functional.ranger21_warmup_steps(0.999, 10000) == 2000
    assert optim.functional.ranger21_warmup_steps(0.999, 1000, 7) == 7


class Ranger21ByHand:
    """Wright & Demeure (2021) written out plainly over a list of parameters."""

    def __init__(self, params, lr, b1, b2, eps, wd, b0, agc, agc_eps, nl, T_total, warmup,
                 p_start, lr_min, k, alpha, amsgrad):
        self.__dict__.update(locals())
        self.theta = [x.copy() for x in params]
        self.slow = [x.copy() for x in params]
        self.m = [[np.zeros_like(x), np.zeros_like(x)] for x in params]   # odd, even buffers
        self.v = [np.zeros_like(x) for x in params]
        self.vmax = [np.zeros_like(x) for x in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        t = self.t
        prepared = []
        for i, (w, g) in enumerate(zip(self.theta, grads)):
            g = g.copy()
            rows = (lambda a: np.sqrt((a * a).sum(axis=tuple(range(1, a.ndim)), keepdims=True))
                    if a.ndim > 1 else np.sqrt((a * a).sum()))
            wn, gn = np.maximum(rows(w), self.agc_eps), rows(g)
            g = np.where(gn / wn > self.agc, g * self.agc * wn / np.where(gn > 0, gn, 1), g)
            if g.ndim > 1:
                g = g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
            if g.size > 2:
                g = g / (g.std(ddof=1) + 1e-8)
            pos, neg = (0, 1) if t % 2 == 1 else (1, 0)
            self.m[i][pos] = self.b1 ** 2 * self.m[i][pos] + (1 - self.b1 ** 2) * g
            m_bar = ((1 + self.b0) * self.m[i][pos] - self.b0 * self.m[i][neg]) / math.sqrt(
                (1 + self.b0) ** 2 + self.b0 ** 2)
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
            self.vmax[i] = np.maximum(self.vmax[i], self.v[i])
            v_hat = (self.vmax[i] if self.amsgrad else self.v[i]) / (1 - self.b2 ** t)
            prepared.append((m_bar, v_hat))
        v_bar = sum(vh.sum() for _, vh in prepared) / sum(vh.size for _, vh in prepared)
        lr_t = self.lr * min(1.0, t / self.warmup)
        t0 = int(self.p_start * self.T_total)
        if t > t0:
            lr_t = min(lr_t, self.lr - (self.lr - self.lr_min) * (t - t0) / (self.T_total - t0))
        for i, (m_bar, v_hat) in enumerate(prepared):
            w = self.theta[i]
            w = w * (1 - lr_t * self.wd / math.sqrt(v_bar))
            unorm = (np.sqrt((w * w).sum(axis=tuple(range(1, w.ndim)), keepdims=True))
                     if w.ndim > 1 else np.sqrt((w * w).sum()))
            w = w * (1 - lr_t * 2 * self.nl * (1 - 1 / (unorm + self.eps)))
            w = w - lr_t / (1 - self.b1 ** t) * m_bar / (np.sqrt(v_hat) + self.eps)
            if t % self.k == 0:
                self.slow[i] = self.slow[i] + self.alpha * (w - self.slow[i])
                w = self.slow[i].copy()
            self.theta[i] = w
        return lr_t


@pytest.mark.parametrize("amsgrad", [False, True])
def test_ranger21_is_its_algorithm(amsgrad):
    rng = np.random.default_rng(5)
    shapes = [(4, 3), (3,), (2, 3, 2)]
    init = [rng.standard_normal(s) for s in shapes]
    steps = 14
    grads = [[rng.standard_normal(s) * (1 + 10 * (i == 0)) for i, s in enumerate(shapes)]
             for _ in range(steps)]
    cfg = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=0.1, beta0=0.9,
               agc_clipping=0.3, agc_eps=1e-3, normloss_factor=0.05, num_iterations=steps,
               num_warmup_iterations=4, warmdown_start=0.5, warmdown_min_lr=1e-3,
               lookahead_k=5, lookahead_alpha=0.4, amsgrad=amsgrad)
    params = leaves(init)
    opt = optim.Ranger21(params, trace=True, **cfg)
    ref = Ranger21ByHand(init, 0.05, 0.8, 0.95, 1e-8, 0.1, 0.9, 0.3, 1e-3, 0.05, steps, 4,
                         0.5, 1e-3, 5, 0.4, amsgrad)
    for t in range(steps):
        give(params, grads[t])
        opt.step()
        lr_t = ref.step(grads[t])
        for i, p in enumerate(params):
            close(p.numpy(), ref.theta[i], f"step {t + 1}, param {i}", rtol=1e-10)
            close(opt.state[p]["slow_param"], ref.slow[i], rtol=1e-10)
        assert opt.trace[-1]["lr_t"] == pytest.approx(lr_t, rel=1e-14)
        assert opt.trace[-1]["synced"] == ((t + 1) % 5 == 0)
    # the schedule went up for 4 steps, then down to min_lr at the last step
    lrs = opt.trace_of("lr_t", param=0)
    close(lrs[:4], [0.0125, 0.025, 0.0375, 0.05])
    close(lrs[-1], 1e-3)
    # AGC clipped the large gradient of the first parameter
    assert optim.transforms.unitwise_norm(opt.trace[0]["g"]).max() < 10


def test_ranger21_single_parameter_functional_matches_the_class():
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((3, 4))
    (p,) = leaves([x0])
    opt = optim.Ranger21([p], num_iterations=20, num_warmup_iterations=3)
    state = optim.functional.ranger21_init(x0)
    x = x0.copy()
    for _ in range(12):
        g = rng.standard_normal((3, 4))
        give([p], [g])
        opt.step()
        x, new, _ = optim.functional.ranger21(x, g, state, num_iterations=20, warmup=3)
        state = {**state, **new}
    close(p.numpy(), x)


# ---------------------------------------------------------------------------
# state_dict round trips (optimizer-level state and generators included)
# ---------------------------------------------------------------------------

def _quartic_loss(params):
    total = None
    for p in params:
        term = (p * p * p * p).sum() * 0.25 + (p * p).sum()
        total = term if total is None else total + term
    return total


def _drive(name, opt, params, start, stop):
    """Steps start..stop-1, each a deterministic function of the step index and the params."""
    for t in range(start, stop):
        rng = np.random.default_rng(1000 + t)
        if name in ("SVRG", "SVRGBB"):
            (w,) = params
            if t % 8 == 0:
                opt.take_snapshot(numpy_closure(opt, w, PROBLEM))
            idx = rng.choice(PROBLEM.n, 8, replace=False)
            opt.step(numpy_closure(opt, w, PROBLEM, idx))
        elif name == "Sophia":
            opt.zero_grad()
            loss = _quartic_loss(params)
            if opt.hessian_due:
                opt.update_hessian(loss)
            loss.backward()
            opt.step()
        elif name == "BarzilaiBorwein":
            give(params, [p.numpy() ** 3 + p.numpy() for p in params])
            opt.step()
        else:
            give(params, [p.numpy() + rng.standard_normal(p.shape) for p in params])
            opt.step()


ROUND_TRIP = [
    ("SVRG", {"lr": 0.1, "option": "II", "inner_steps": 8, "seed": 4}),
    ("SVRGBB", {"lr": 0.05, "option": "II", "inner_steps": 8, "seed": 4}),
    ("BarzilaiBorwein", {"lr": 0.01, "variant": "short"}),
    ("SGDBB", {"lr": 0.02, "inner_steps": 3, "beta": 0.5}),
    ("Sophia", {"lr": 0.01, "update_period": 3, "seed": 2}),
    ("Shampoo", {"lr": 0.05, "update_freq": 2, "beta": 0.9}),
    ("Ranger21", {"num_iterations": 30, "num_warmup_iterations": 4}),
]


def _same_state(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("case", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_state_dict_round_trip_continues_identically(case, through_file, tmp_path):
    name, cfg = case
    rng = np.random.default_rng(3)
    shapes = [(PROBLEM.d,)] if name in ("SVRG", "SVRGBB") else [(), (3,), (3, 2), (2, 2, 2)]
    init = [rng.standard_normal(s) * 0.5 for s in shapes]
    total, cut = 30, 13

    full = leaves(init)
    opt_full = getattr(optim, name)(full, **cfg)
    _drive(name, opt_full, full, 0, total)

    first = leaves(init)
    opt_first = getattr(optim, name)(first, **cfg)
    _drive(name, opt_first, first, 0, cut)
    sd = opt_first.state_dict()
    values = [p.numpy().copy() for p in first]
    if through_file:
        mg.save({"optimizer": sd, "params": values}, tmp_path / "ckpt.npz")
        loaded = mg.load(tmp_path / "ckpt.npz")
        sd, values = loaded["optimizer"], loaded["params"]
    _drive(name, opt_first, first, cut, cut + 3)          # must not change the state dict taken

    resumed = leaves(values)
    cfg_other = dict(cfg, lr=123.0) if "lr" in cfg else dict(cfg)
    opt_resumed = getattr(optim, name)(resumed, **cfg_other)
    opt_resumed.load_state_dict(sd)
    assert opt_resumed.param_groups[0]["lr"] == opt_full.param_groups[0]["lr"]
    _drive(name, opt_resumed, resumed, cut, total)

    for p, q in zip(full, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    for i, (p, q) in enumerate(zip(full, resumed)):
        _same_state(opt_full.state.get(p, {}), opt_resumed.state.get(q, {}), f"state[{i}]")
    if hasattr(opt_full, "optimizer_state"):
        _same_state(opt_full.optimizer_state, opt_resumed.optimizer_state, "optimizer_state")


# ---------------------------------------------------------------------------
# hyperparameter errors
# ---------------------------------------------------------------------------

BAD = [
    ("SVRG", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("SVRG", {"option": "III"}, "Invalid option: 'III'"),
    ("SVRG", {"option": "II"}, "Invalid inner_steps value: None"),
    ("SVRG", {"inner_steps": 0}, "Invalid inner_steps value: 0"),
    ("SVRG", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ("BarzilaiBorwein", {"variant": "medium"}, "Invalid variant: 'medium'"),
    ("BarzilaiBorwein", {"fallback": "zero"}, "Invalid fallback: 'zero'"),
    ("BarzilaiBorwein", {"alpha_min": 0.0}, "Invalid alpha_min value: 0.0"),
    ("BarzilaiBorwein", {"alpha_min": 1.0, "alpha_max": 0.5}, "Invalid alpha_max value: 0.5"),
    ("SGDBB", {"inner_steps": 0}, "Invalid inner_steps value: 0"),
    ("SGDBB", {"inner_steps": 4, "beta": 1.5}, "Invalid beta value: 1.5"),
    ("SVRGBB", {"eta_max": -1.0}, "Invalid eta_max value: -1.0"),
    ("Sophia", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ("Sophia", {"rho": -0.1}, "Invalid rho value: -0.1"),
    ("Sophia", {"estimator": "exact"}, "Invalid estimator: 'exact'"),
    ("Sophia", {"update_period": 0}, "Invalid update_period value: 0"),
    ("Shampoo", {"eps": 0.0}, "Invalid epsilon value: 0.0"),
    ("Shampoo", {"beta": 1.0}, "Invalid beta value: 1.0"),
    ("Shampoo", {"update_freq": 0}, "Invalid update_freq value: 0"),
    ("Shampoo", {"vector_statistic": "none"}, "Invalid vector_statistic: 'none'"),
    ("Ranger21", {"num_iterations": 0}, "Invalid num_iterations value: 0"),
    ("Ranger21", {"warmdown_start": 1.5}, "Invalid warmdown_start value: 1.5"),
    ("Ranger21", {"lookahead_alpha": 2.0}, "Invalid lookahead_alpha value: 2.0"),
    ("Ranger21", {"lookahead_k": -1}, "Invalid lookahead_k value: -1"),
    ("Ranger21", {"agc_eps": 0.0}, "Invalid agc_eps value: 0.0"),
    ("Ranger21", {"weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
]


@pytest.mark.parametrize("case", BAD, ids=[f"{c[0]}-{next(iter(c[1]))}" for c in BAD])
def test_bad_hyperparameters_raise_value_error_naming_them(case):
    name, kwargs, message = case
    w = mg.Tensor(np.ones(2), requires_grad=True)
    if name == "SGDBB":
        kwargs = {"inner_steps": 4, **kwargs}
    with pytest.raises(ValueError) as info:
        getattr(optim, name)([w], **kwargs)
    assert message in str(info.value)
