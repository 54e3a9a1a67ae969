r"""AdEMAMix: Adam plus a second, much slower momentum.

Pagliardini, Ablin & Grangier (2024), "The AdEMAMix Optimizer: Better,
Faster, Older", Algorithm 1 (argument names of the reference code: ``betas``
:math:`=(\beta_1, \beta_2, \beta_3)`, ``alpha``, ``beta3_warmup``,
``alpha_warmup``, ``eps``, ``weight_decay``):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \\
    m_{1,t} &\leftarrow \beta_1 m_{1,t-1} + (1-\beta_1)\, g_t, \qquad \hat m_{1,t} \leftarrow m_{1,t}/(1-\beta_1^t) \\
    m_{2,t} &\leftarrow \beta_{3,t} m_{2,t-1} + (1-\beta_{3,t})\, g_t \quad(\text{no bias correction}) \\
    \nu_t &\leftarrow \beta_2 \nu_{t-1} + (1-\beta_2)\, g_t^2, \qquad \hat\nu_t \leftarrow \nu_t/(1-\beta_2^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\Big(\frac{\hat m_{1,t} + \alpha_t\, m_{2,t}}{\sqrt{\hat\nu_t} + \epsilon}
              + \lambda\,\theta_{t-1}\Big)

with the warmups of the slow momentum (none: :math:`\alpha_t = \alpha`,
:math:`\beta_{3,t} = \beta_3`):

.. math::

    \alpha_t = \min\big(t\alpha/T_\alpha,\ \alpha\big), \qquad
    \beta_{3,t} = \min\Big(\exp\frac{\ln\beta_1 \ln\beta_3}{(1-t/T_{\beta_3})\ln\beta_3 + (t/T_{\beta_3})\ln\beta_1},\
                  \beta_3\Big)
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient

__all__ = ["ademamix", "ademamix_init", "ademamix_alpha", "ademamix_beta3"]


def ademamix_alpha(t: int, alpha: float, warmup: int | None) -> float:
    r""":math:`\alpha_t = \min(t\alpha/T_\alpha, \alpha)` (linear warmup; :math:`\alpha` without one)."""
    return alpha if warmup is None else min(t * alpha / warmup, alpha)


def ademamix_beta3(t: int, beta1: float, beta3: float, warmup: int | None) -> float:
    r""":math:`\beta_{3,t}`, the scheduler of the paper that grows the half-life linearly from :math:`\beta_1`'s."""
    if warmup is None:
        return beta3
    log_b1, log_b3 = math.log(beta1), math.log(beta3)
    frac = t / warmup
    return min(math.exp(log_b1 * log_b3 / ((1 - frac) * log_b3 + frac * log_b1)), beta3)


def ademamix_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_1 = m_2 = \nu = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg_fast": xp.zeros_like(theta), "exp_avg_slow": xp.zeros_like(theta),
            "exp_avg_sq": xp.zeros_like(theta)}


def ademamix(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
             beta2: float = 0.999, beta3: float = 0.9999, alpha: float = 2.0, beta3_warmup: int | None = None,
             alpha_warmup: int | None = None, eps: float = 1e-8, weight_decay: float = 0.0,
             maximize: bool = False) -> Update:
    r"""One AdEMAMix step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg_fast`` (:math:`m_1`), ``exp_avg_slow``
            (:math:`m_2`), ``exp_avg_sq`` (:math:`\nu`).
        lr: :math:`\eta`. beta1, beta2, beta3: the three :math:`\beta`'s.
        alpha: :math:`\alpha`. beta3_warmup, alpha_warmup: :math:`T_{\beta_3}`, :math:`T_\alpha` (or None).
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda` (decoupled, as written above).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``alpha_t``, ``beta3_t``, ``m1``, ``m2``, ``nu``, ``m1_hat``, ``nu_hat``, ``u``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    alpha_t = ademamix_alpha(t, alpha, alpha_warmup)
    beta3_t = ademamix_beta3(t, beta1, beta3, beta3_warmup)
    m1 = beta1 * state["exp_avg_fast"] + (1 - beta1) * g          # m_1,t
    m2 = beta3_t * state["exp_avg_slow"] + (1 - beta3_t) * g      # m_2,t
    nu = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g        # nu_t
    m1_hat = m1 / (1 - beta1 ** t)
    nu_hat = nu / (1 - beta2 ** t)
    u = (m1_hat + alpha_t * m2) / (xp.sqrt(nu_hat) + eps)
    theta = theta - lr * (u + weight_decay * theta)               # theta_t
    new_state = {"step": t, "exp_avg_fast": m1, "exp_avg_slow": m2, "exp_avg_sq": nu}
    return theta, new_state, {"t": t, "g": g, "alpha_t": alpha_t, "beta3_t": beta3_t, "m1": m1, "m2": m2,
                              "nu": nu, "m1_hat": m1_hat, "nu_hat": nu_hat, "u": u}
