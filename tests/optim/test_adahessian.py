"""AdaHessian: the Hutchinson estimate through Hessian-vector products, and the update against the paper.

* On f = 1/2 sum a_i theta_i^2 (a diagonal Hessian), z * (H z) = a exactly for
  every Rademacher z: the estimate is the Hessian diagonal itself.
* On a coupled quadratic the estimate is unbiased: the mean over many probes
  approaches diag(A).
* With a given estimate, the step is the paper's Algorithm 1 written out
  below (and pytorch_optimizer's, in test_new_optimizers_vs_pytorch_optimizer.py).
"""
import numpy as np
import pytest
from paper_utils import close

import minigrad as mg
import optim


def _quadratic(A, w):
    return 0.5 * (w * (mg.Tensor(A) @ w)).sum()


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    a = np.array([1.0, 4.0, 0.25, 9.0])
    w = mg.Tensor(np.ones(4), requires_grad=True)
    opt = optim.AdaHessian([w], trace=["D"])
    for _ in range(3):
        opt.zero_grad()
        _quadratic(np.diag(a), w).backward(create_graph=True)
        opt.step()
    np.testing.assert_allclose(opt.trace_of("D"), np.tile(a, (3, 1)), rtol=1e-14)


def test_hutchinson_is_unbiased_on_a_coupled_quadratic():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((5, 5))
    A = B @ B.T
    w = mg.Tensor(rng.standard_normal(5), requires_grad=True)
    opt = optim.AdaHessian([w], n_samples=4000, seed=1)
    _quadratic(A, w).backward(create_graph=True)
    (D,) = opt.estimate_hessian()
    # the error of a mean of 4000 probes: off-diagonal sums / sqrt(4000)
    spread = np.sqrt((A * A).sum(axis=1) - np.diag(A) ** 2) / np.sqrt(4000)
    assert np.all(np.abs(D - np.diag(A)) < 5 * spread)


def test_the_step_needs_the_gradients_graph():
    w = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.AdaHessian([w])
    w.grad = mg.Tensor(np.ones(2))
    with pytest.raises(RuntimeError, match="backward\\(create_graph=True\\)"):
        opt.step()


class AdaHessianByHand:
    def __init__(self, init, lr=0.15, betas=(0.9, 0.999), eps=1e-4, weight_decay=0.0, hessian_power=1.0):
        self.x, self.m, self.v = [a.copy() for a in init], [0.0 * a for a in init], [0.0 * a for a in init]
        self.lr, self.betas, self.eps, self.wd, self.k, self.t = lr, betas, eps, weight_decay, hessian_power, 0

    def step(self, grads, D):
        b1, b2 = self.betas
        self.t += 1
        for i, (g, d) in enumerate(zip(grads, D)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * d * d
            denom = (np.sqrt(self.v[i]) / np.sqrt(1 - b2 ** self.t)) ** self.k + self.eps
            self.x[i] = self.x[i] - self.lr * (self.m[i] / (1 - b1 ** self.t) / denom + self.wd * self.x[i])


@pytest.mark.parametrize("cfg", [{}, {"lr": 0.05, "weight_decay": 0.1, "hessian_power": 0.5, "eps": 1e-8}], ids=str)
def test_adahessian_step_is_its_algorithm(cfg):
    rng = np.random.default_rng(2)
    shapes = [(), (5,), (4, 3)]
    init = [rng.standard_normal(s) for s in shapes]
    params = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    opt = optim.AdaHessian(params, **cfg)
    ref = AdaHessianByHand(init, **cfg)
    for t in range(20):
        grads = [rng.standard_normal(s) for s in shapes]
        D = [rng.standard_normal(s) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = mg.Tensor(g)
        opt.step(hessian=D)
        ref.step(grads, D)
        for i, p in enumerate(params):
            close(p.numpy(), ref.x[i], f"step {t + 1}, param {i}")


def test_spatial_averaging_of_kernels():
    from optim.functional import spatial_average
    D = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2) - 10
    out = spatial_average(D)
    np.testing.assert_allclose(out[1, 2], np.full((2, 2), np.abs(D[1, 2]).mean()))
    np.testing.assert_array_equal(spatial_average(D[0, 0]), D[0, 0])
