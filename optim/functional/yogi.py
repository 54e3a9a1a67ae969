r"""Yogi: Adam whose second moment moves additively, by at most :math:`(1-\beta_2) g^2`.

Zaheer, Reddi, Sachan, Kale & Kumar (2018), "Adaptive Methods for Nonconvex
Optimization", Algorithm 2 (defaults from their experiments:
:math:`\eta = 10^{-2}`, :math:`\epsilon = 10^{-3}`, :math:`v_0 = 10^{-6}`,
``initial_accumulator``):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \quad(\text{negated if maximize; } + \lambda\theta
          \text{ or } \theta(1-\eta\lambda) \text{ for weight decay}) \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow v_{t-1} - (1-\beta_2)\,\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2 \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, m_t / (\sqrt{v_t} + \epsilon)

Adam's :math:`v_t - v_{t-1} = -(1-\beta_2)(v_{t-1} - g_t^2)` can shrink
:math:`v` fast when the gradients become small; Yogi's change has the sign
of the same difference but the size :math:`(1-\beta_2) g_t^2`.

Algorithm 2 has no bias correction; ``bias_correction=True`` applies Adam's,
:math:`\eta\, m_t/(1-\beta_1^t) / (\sqrt{v_t/(1-\beta_2^t)} + \epsilon)`, as
common code does (``docs/CONVENTIONS.md``).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient, weight_decay_step

__all__ = ["yogi", "yogi_init"]


def yogi_init(theta: Array, *, initial_accumulator: float = 1e-6) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = 0`, :math:`v_0` = ``initial_accumulator``."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta),
            "exp_avg_sq": xp.full_like(theta, initial_accumulator)}


def yogi(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-3, weight_decay: float = 0.0,
         decoupled_weight_decay: bool = False, bias_correction: bool = False,
         maximize: bool = False) -> Update:
    r"""One Yogi step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`, an L2 term or (``decoupled_weight_decay``) AdamW's decay.
        bias_correction: Adam's bias corrections (not in Algorithm 2).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``m``, ``v``, ``step_size`` and ``denom``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay)
    g2 = g * g
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                          # m_t
    v = state["exp_avg_sq"] - (1 - beta2) * xp.sign(state["exp_avg_sq"] - g2) * g2   # v_t
    if bias_correction:
        step_size = lr / (1 - beta1 ** t)
        denom = xp.sqrt(v) / (1 - beta2 ** t) ** 0.5 + eps
    else:
        step_size = lr
        denom = xp.sqrt(v) + eps
    theta = theta - step_size * m / denom                                   # theta_t
    return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {"t": t, "g": g, "m": m, "v": v,
                                                                "step_size": step_size, "denom": denom}
