r"""ADOPT: Adam that converges for any :math:`\beta_2`, by normalising with the previous second moment.

Taniguchi et al. (2024), "ADOPT: Modified Adam Can Converge with Any
:math:`\beta_2` with the Optimal Rate", Algorithm 2 with the clipping of
their Section 4 and reference code (argument names ``betas``, ``eps``,
``clip_lambda``, ``weight_decay``, ``decouple``):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \quad(\text{negated if maximize; } + \lambda\theta
          \text{ or } \theta(1-\eta\lambda) \text{ for weight decay}) \\
    t = 1:&\quad v_1 \leftarrow g_1^2 \quad(\theta \text{ and } m \text{ unchanged}) \\
    t > 1:&\quad \tilde g_t \leftarrow \operatorname{clip}\big(g_t / \max(\sqrt{v_{t-1}}, \epsilon),\ c_t\big),
          \qquad c_t = \texttt{clip\_lambda}(t) = t^{1/4} \\
    &\quad m_t \leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, \tilde g_t \\
    &\quad \theta_t \leftarrow \theta_{t-1} - \eta\, m_t \\
    &\quad v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2

The point of the method is the order: :math:`g_t` is divided by
:math:`v_{t-1}`, which does not depend on :math:`g_t`, and the momentum is
taken *after* the normalisation. ``clip_lambda=None`` turns the clipping off
(the paper's Algorithm 1 form with the ε-floor).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient, weight_decay_step

__all__ = ["adopt", "adopt_init", "adopt_clip"]


def adopt_clip(t: int) -> float:
    r"""The reference code's clipping bound :math:`c_t = t^{1/4}`."""
    return t ** 0.25


def adopt_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}


def adopt(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.9999, eps: float = 1e-6, clip_lambda=adopt_clip, weight_decay: float = 0.0,
          decouple: bool = False, maximize: bool = False) -> Update:
    r"""One ADOPT step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`. eps: the floor :math:`\epsilon`.
        clip_lambda: ``t -> c_t``, or None for no clipping.
        weight_decay: :math:`\lambda`; decouple: AdamW's decay instead of the L2 term.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``v``, and after the first step ``g_tilde``, ``clip`` and ``m``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay, decoupled=decouple)
    if t == 1:
        v = g * g                                                        # v_1 = g_1^2
        m = state["exp_avg"].copy()                                      # m_1 = m_0 (a new array)
        return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {"t": t, "g": g, "v": v}
    g_tilde = g / xp.maximum(xp.sqrt(state["exp_avg_sq"]), eps)         # g_t / max(sqrt(v_{t-1}), eps)
    clip = None if clip_lambda is None else clip_lambda(t)
    if clip is not None:
        g_tilde = xp.clip(g_tilde, -clip, clip)                          # clip to [-c_t, c_t]
    m = beta1 * state["exp_avg"] + (1 - beta1) * g_tilde                 # m_t
    theta = theta - lr * m                                               # theta_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g               # v_t
    return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {"t": t, "g": g, "g_tilde": g_tilde,
                                                                "clip": clip, "m": m, "v": v}
