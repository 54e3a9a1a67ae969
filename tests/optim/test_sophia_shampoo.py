"""Sophia and Shampoo against their papers.

* Sophia (Liu et al. 2023): step by step against its algorithm in plain
  NumPy; sign steps without curvature, Newton steps with a large one; the
  Hutchinson and Gauss-Newton-Bartlett estimators are unbiased.
* Shampoo (Gupta, Koren & Singer 2018): the matrix preconditioner is the
  quarter root, the 3-d update the mode products with root one sixth.
"""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from paper_utils import close_to as close
from paper_utils import give_arrays as give
from paper_utils import leaves

import minigrad as mg
import optim

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
        # roots at steps 1, 4, 7, and at every step until the statistic has full rank:
        # R (2x2) has it from step 1; L (3x3 of rank-2 updates) from step 2. L's eps*I
        # part fades like beta^t below eps, where the documented floor takes over
        if (t - 1) % 3 == 0 or t == 2:
            PL = frac_power_floored(L, -0.25, eps)
        if (t - 1) % 3 == 0:
            PR = frac_power_floored(R, -0.25, eps)
        m = m - lr * PL @ gm @ PR
    close(full.numpy(), v, rtol=1e-9)
    close(scalar.numpy(), s, rtol=1e-9)
    close(diag.numpy(), vd, rtol=1e-9)
    close(mat.numpy(), m, rtol=1e-9)
