r"""AdaBound and AMSBound: Adam whose per-coordinate step is clipped into bounds that close on SGD's.

Luo, Xiong, Liu & Sun (2019), "Adaptive Gradient Methods with Dynamic Bound
of Learning Rate", Algorithms 2 and 3, in the form of the authors' reference
code (its bias corrections and bound functions; argument names ``lr``,
``betas``, ``final_lr``, ``gamma``, ``eps``, ``weight_decay``, ``amsbound``):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2
        \qquad(\text{AMSBound: } v^{max}_t \leftarrow \max(v^{max}_{t-1}, v_t) \text{ replaces } v_t) \\
    \alpha_t &\leftarrow \eta\,\sqrt{1-\beta_2^t}/(1-\beta_1^t) \\
    \eta_l(t) &= \alpha^\star\big(1 - 1/(\gamma t + 1)\big), \qquad
    \eta_u(t) = \alpha^\star\big(1 + 1/(\gamma t)\big) \\
    \hat\eta_t &\leftarrow \operatorname{clip}\big(\alpha_t / (\sqrt{v_t} + \epsilon),\ \eta_l(t),\ \eta_u(t)\big) \\
    \theta_t &\leftarrow \theta_{t-1} - \hat\eta_t\, m_t

:math:`\alpha^\star` is ``final_lr``, the SGD learning rate the bounds converge
to; the reference code scales it with the learning rate's schedule,
:math:`\alpha^\star = \texttt{final\_lr}\cdot\eta/\eta_0` (the class passes
the scaled value).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import amsgrad_max, signed_gradient, weight_decay_step

__all__ = ["adabound", "adabound_init", "adabound_bounds"]


def adabound_bounds(final_lr: float, gamma: float, t: int) -> tuple[float, float]:
    r"""The bounds :math:`(\eta_l(t), \eta_u(t))` around ``final_lr`` at step ``t``."""
    return final_lr * (1 - 1 / (gamma * t + 1)), final_lr * (1 + 1 / (gamma * t))


def adabound_init(theta: Array, *, amsbound: bool = False) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0` (and :math:`v^{max}_0 = 0`)."""
    xp = get_array_module(theta)
    state = {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}
    if amsbound:
        state["max_exp_avg_sq"] = xp.zeros_like(theta)
    return state


def adabound(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
             beta2: float = 0.999, final_lr: float = 0.1, gamma: float = 1e-3, eps: float = 1e-8,
             weight_decay: float = 0.0, amsbound: bool = False, decoupled_weight_decay: bool = False,
             maximize: bool = False) -> Update:
    r"""One AdaBound (AMSBound with ``amsbound=True``) step on one parameter.

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`),
            ``max_exp_avg_sq`` with amsbound.
        lr: :math:`\eta`. final_lr: :math:`\alpha^\star` (already scaled).
        gamma: :math:`\gamma`, how fast the bounds close. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda` (L2, or AdamW's decay with ``decoupled_weight_decay``).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``m``, ``v`` (``v_max`` with amsbound), ``alpha_t``, ``lower``,
        ``upper``, ``eta_hat``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay)
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                     # m_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g              # v_t
    new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}
    intermediates = {"t": t, "g": g, "m": m, "v": v}
    v_used = v
    if amsbound:
        v_used = new_state["max_exp_avg_sq"] = intermediates["v_max"] = amsgrad_max(state["max_exp_avg_sq"], v)
    alpha_t = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)          # alpha_t
    lower, upper = adabound_bounds(final_lr, gamma, t)                 # eta_l(t), eta_u(t)
    eta_hat = xp.clip(alpha_t / (xp.sqrt(v_used) + eps), lower, upper)  # clipped step sizes
    theta = theta - eta_hat * m                                        # theta_t
    intermediates.update(alpha_t=alpha_t, lower=lower, upper=upper, eta_hat=eta_hat)
    return theta, new_state, intermediates
