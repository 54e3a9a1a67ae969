"""Ranger21 (Wright & Demeure 2021): each component against its formula, then the whole step.

The components (adaptive gradient clipping, gradient centralization and
normalization, positive-negative momentum, stable weight decay, norm loss,
the warmup and warmdown schedule, Lookahead) are checked one by one against
their formulas, then the whole step against the algorithm written out in
plain NumPy (within 1e-10, relative), and the single-parameter functional
form against the class.
"""
import math

import numpy as np
import pytest
from paper_utils import close_to as close
from paper_utils import give_arrays as give
from paper_utils import leaves

import minigrad as mg
import optim
from optim import transforms as T


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


def rows(a):
    """The norm of each row (all axes but the first) of a, or of the whole of a for ndim <= 1."""
    return (np.sqrt((a * a).sum(axis=tuple(range(1, a.ndim)), keepdims=True))
            if a.ndim > 1 else np.sqrt((a * a).sum()))


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
