r"""LAMB: Adam's direction with a layer-wise trust ratio, as one pure function.

You, Li, Reddi, Hseu, Kumar, Bhojanapalli, Song, Demmel, Keutzer & Hsieh
(2020), "Large Batch Optimization for Deep Learning: Training BERT in 76
minutes", Algorithm 2 (LAMB). For one parameter tensor (one "layer" in the
paper's words) :math:`\theta`, with :math:`t` counted from 1:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    \hat m_t &\leftarrow m_t / (1 - \beta_1^t) \\
    \hat v_t &\leftarrow v_t / (1 - \beta_2^t) \\
    r_t &\leftarrow \hat m_t / (\sqrt{\hat v_t} + \epsilon) \\
    u_t &\leftarrow r_t + \lambda\, \theta_{t-1} \\
    \text{trust\_ratio}_t &\leftarrow \phi(\lVert\theta_{t-1}\rVert) / \lVert u_t \rVert
        \qquad (1 \text{ if } \lVert\theta_{t-1}\rVert = 0 \text{ or } \lVert u_t\rVert = 0) \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, \text{trust\_ratio}_t\, u_t

The norms are Euclidean (Frobenius) norms of the whole tensor. The paper's
scaling function is :math:`\phi(z) = z` (the identity; then, with
:math:`\lambda = 0`, every tensor moves by exactly :math:`\eta\lVert\theta\rVert`
per step, whatever the size of its gradient). Common code clips it,
:math:`\phi(z) = \min(\max(z, 0), c)` with :math:`c` = ``clamp_value`` (10 in
several public implementations); ``clamp_value=None`` keeps the identity.
The guard "trust ratio 1 when a norm is 0" (a tensor initialised to zero, or a
zero update) is the one public implementations use: it makes the step a plain
Adam step instead of 0 or NaN.

``bias_correction=False`` drops the division by :math:`1-\beta^t` (some
versions of the paper and several public implementations leave it out); the
default keeps it, as Algorithm 2 writes it. Defaults: :math:`\beta = (0.9, 0.999)`,
:math:`\epsilon = 10^{-6}`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update

__all__ = ["lamb", "lamb_init", "tensor_norm"]


def tensor_norm(x: Array) -> float:
    r"""The Euclidean (Frobenius) norm :math:`\lVert x\rVert_2` of a whole array, as a float."""
    xp = get_array_module(x)
    return float(xp.sqrt(xp.sum(x * x)))


def lamb_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}


def lamb(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-6, weight_decay: float = 0.0, clamp_value: float | None = None,
         bias_correction: bool = True) -> Update:
    r"""One LAMB step on one parameter tensor (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`g_t` (backend arrays).
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda` (added to the update, inside the trust ratio).
        clamp_value: ``None`` for :math:`\phi(z) = z`, or :math:`c` for
            :math:`\phi(z) = \min(\max(z, 0), c)`.
        bias_correction: divide by :math:`1-\beta^t` (default True).

    Returns:
        ``(theta_new, new_state, intermediates)``; intermediates ``t``, ``g``,
        ``m``, ``v``, ``m_hat``, ``v_hat``, ``r``, ``u`` (:math:`r + \lambda\theta`),
        ``theta_norm``, ``u_norm``, ``phi`` (:math:`\phi(\lVert\theta\rVert)`)
        and ``trust_ratio``. Inputs are not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                                     # t <- t + 1
    g = grad                                                  # g_t
    m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g     # v_t
    if bias_correction:
        m_hat = m / (1 - beta1 ** t)                          # m_hat_t
        v_hat = v / (1 - beta2 ** t)                          # v_hat_t
    else:
        m_hat, v_hat = m, v
    r = m_hat / (xp.sqrt(v_hat) + eps)                        # r_t = m_hat / (sqrt(v_hat) + eps)
    u = r + weight_decay * theta                              # u_t = r_t + lambda theta
    theta_norm = tensor_norm(theta)                           # ||theta||
    u_norm = tensor_norm(u)                                   # ||r_t + lambda theta||
    if clamp_value is None:
        phi = theta_norm                                      # phi(z) = z
    else:
        phi = min(max(theta_norm, 0.0), clamp_value)          # phi(z) = min(max(z, 0), c)
    if theta_norm > 0 and u_norm > 0:
        trust_ratio = phi / u_norm                            # phi(||theta||) / ||u||
    else:
        trust_ratio = 1.0                                     # a zero norm: plain step
    theta = theta - lr * trust_ratio * u                      # theta_t
    new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}
    intermediates = {"t": t, "g": g, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat, "r": r,
                     "u": u, "theta_norm": theta_norm, "u_norm": u_norm, "phi": phi,
                     "trust_ratio": trust_ratio}
    return theta, new_state, intermediates
