r"""Sophia: second-order clipped stochastic optimization, as pure functions.

Liu, Li, Hall, Liang & Ma (2023), "Sophia: A Scalable Stochastic Second-order
Optimizer for Language Model Pre-training", Algorithm 3, with its two
estimators of the Hessian diagonal (Algorithms 1 and 2). For
:math:`t = 1, 2, \dots`:

.. math::

    g_t &\leftarrow \nabla L_t(\theta_{t-1}) \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t
        \quad(\text{no bias correction}) \\
    &\text{if } t \bmod k = 1:\quad
        \hat h_t \leftarrow \text{Estimator}(\theta_{t-1}), \quad
        h_t \leftarrow \beta_2 h_{t-k} + (1-\beta_2)\, \hat h_t
        \qquad\text{else } h_t \leftarrow h_{t-1} \\
    \theta_{t-1} &\leftarrow \theta_{t-1} - \eta\lambda\,\theta_{t-1}
        \quad(\text{decoupled weight decay}) \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,
        \operatorname{clip}\!\Big(\frac{m_t}{\max(\rho\, h_t,\ \epsilon)},\ 1\Big),
        \qquad \operatorname{clip}(z, 1) = \max(\min(z, 1), -1)

The estimators of :math:`\operatorname{diag}(\nabla^2 L)`:

* **Hutchinson** (Algorithm 1): :math:`u \sim \mathcal N(0, I)`,
  :math:`\hat h = u \odot (\nabla^2 L\, u)`, unbiased since
  :math:`E[u_i u_j] = \delta_{ij}`; the Hessian-vector product is a second
  backward pass through the gradient (``minigrad.grad(..., create_graph=True)``).
* **Gauss-Newton-Bartlett** (Algorithm 2), for a loss
  :math:`\frac1B\sum_b \ell(f(\theta, x_b), y_b)` with a softmax
  cross-entropy :math:`\ell`: sample :math:`\hat y_b \sim
  \operatorname{softmax}(f(\theta, x_b))`, take :math:`\hat g = \nabla_\theta
  \frac1B\sum_b \ell(f(\theta, x_b), \hat y_b)` and
  :math:`\hat h = B\cdot\hat g \odot \hat g`. By Bartlett's identity
  :math:`E_{\hat y}[\nabla\ell\,\nabla\ell^\top] = J^\top
  (\operatorname{diag}(p) - pp^\top) J`, the Gauss-Newton matrix, so
  :math:`\hat h` is unbiased for its diagonal.

Names: the paper's Algorithm 3 writes the scale of :math:`h` as
:math:`\gamma`; the authors' code (``SophiaG``) calls it ``rho`` and puts the
batch size :math:`B` of the GNB estimator into the step (``rho * bs * h``)
instead of into :math:`\hat h`. Here :math:`\hat h` carries :math:`B` as in
the paper and ``rho`` is the paper's :math:`\gamma`, so ``rho = 0.04`` means
what the code's default means when ``bs`` is the GNB batch size. The code adds
:math:`10^{-15}` to the denominator instead of taking the max; the max (the
paper's form) also guards a negative Hutchinson estimate, where the step
becomes :math:`\eta\operatorname{sign}(m)`. Code defaults: ``lr`` 1e-4,
:math:`\beta = (0.965, 0.99)`, ``rho`` 0.04, :math:`\lambda` 0.1,
:math:`k = 10`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import decoupled_decay, signed_gradient

__all__ = ["sophia", "sophia_init", "sophia_hessian_update", "hutchinson_estimate",
           "gnb_estimate", "SOPHIA_ESTIMATORS"]

SOPHIA_ESTIMATORS = ("hutchinson", "gnb")


def sophia_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = 0`, :math:`h_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "hessian": xp.zeros_like(theta)}


def hutchinson_estimate(u: Array, hu: Array):
    r"""Hutchinson's :math:`\hat h = u \odot (H u)` from the probe :math:`u` and :math:`Hu`."""
    return u * hu


def gnb_estimate(g_hat: Array, batch_size):
    r"""Gauss-Newton-Bartlett's :math:`\hat h = B\cdot \hat g \odot \hat g`.

    ``g_hat`` is the gradient of the mean loss over the :math:`B` examples with
    labels sampled from the model's own softmax.
    """
    return batch_size * g_hat * g_hat


def sophia_hessian_update(state: dict, h_hat: Array, *, beta2: float = 0.99):
    r"""The EMA of the Hessian estimates: :math:`h \leftarrow \beta_2 h + (1-\beta_2)\hat h`.

    Returns:
        ``({"hessian": h}, {"h_hat": h_hat, "h": h})``.
    """
    h = beta2 * state["hessian"] + (1 - beta2) * h_hat          # h_t
    return {"hessian": h}, {"h_hat": h_hat, "h": h}


def sophia(theta: Array, grad: Array, state: dict, *, lr: float = 1e-4, beta1: float = 0.965,
           rho: float = 0.04, weight_decay: float = 0.1, eps: float = 1e-15, maximize: bool = False) -> Update:
    r"""One Sophia step on one parameter (Algorithm 3, the step; :math:`h` is in ``state``).

    Args:
        theta, grad: :math:`\theta_{t-1}`, :math:`g_t`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``hessian`` (:math:`h_t`,
            updated beforehand by :func:`sophia_hessian_update` on the steps
            where the estimator runs).
        lr: :math:`\eta`. beta1: :math:`\beta_1`. rho: the scale :math:`\rho`
            (:math:`\gamma` in the paper). weight_decay: :math:`\lambda`
            (decoupled). eps: :math:`\epsilon`. maximize: negate :math:`g`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with ``t``, ``g``, ``m``,
        ``h``, ``denom`` (:math:`\max(\rho h, \epsilon)`), ``ratio``
        (the clipped :math:`m/\text{denom}`) and ``clipped_fraction`` (share
        of coordinates at the clip).
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)                           # g_t
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                # m_t
    h = state["hessian"]                                          # h_t
    theta = decoupled_decay(theta, lr, weight_decay)              # theta -= eta lambda theta
    denom = xp.maximum(rho * h, eps)                              # max(rho h_t, eps)
    ratio = xp.clip(m / denom, -1.0, 1.0)                         # clip(m_t / denom, 1)
    theta = theta - lr * ratio                                    # theta_t
    clipped = float((xp.abs(ratio) >= 1.0).mean()) if ratio.size else 0.0
    return theta, {"step": t, "exp_avg": m, "hessian": h}, {
        "t": t, "g": g, "m": m, "h": h, "denom": denom, "ratio": ratio,
        "clipped_fraction": clipped}
