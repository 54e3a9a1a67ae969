"""Helpers of the tests that check optimizers PyTorch lacks against their papers.

Each such optimizer is stepped beside its algorithm written out by hand in
plain NumPy (independently of ``optim.functional``) on the same gradients:

* :func:`make_params`, :func:`make_grads`, :func:`give`, :func:`close`,
  :func:`run_against` and :class:`Reference`: parameters of several shapes,
  random gradients (one parameter skips some steps), and the step-by-step
  comparison of parameters and state buffers (relative 1e-12, no absolute slack);
* :func:`leaves`, :func:`give_arrays` and :func:`close_to` (relative 1e-12,
  absolute 1e-14): the same for the tests that build their own problems;
* :class:`LogReg`, :data:`PROBLEM`, :func:`numpy_closure`: a small strongly
  convex finite sum (L2-regularised logistic regression) for the
  variance-reduced and Barzilai-Borwein methods;
* :func:`quartic`, :func:`quartic_grad`: a loss with known gradients for SAM.
"""

import numpy as np

import minigrad as mg

RTOL = 1e-12


SHAPES = [(), (5,), (4, 3), (2, 3, 2)]


STEPS = 30


# ---------------------------------------------------------------------------
# parameters, gradients and the step-by-step comparison
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
# problems with their own parameters
# ---------------------------------------------------------------------------

def close_to(a, b, what="", rtol=RTOL, atol=1e-14):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol, err_msg=what)


def leaves(arrays):
    return [mg.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]


def give_arrays(params, grads):
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
# a quartic loss for SAM
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


def quartic_coefs(shapes, seed=7):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(0.5, 2.0, s), rng.standard_normal(s)) for s in shapes]
