r"""D-Adaptation (Adam form): Adam whose step size :math:`d` is a lower bound on the distance to the solution.

Defazio & Mishchenko (2023), "Learning-Rate-Free Learning by D-Adaptation",
ICML, the Adam variant of its Appendix as the authors' reference code runs it
(``DAdaptAdam``: argument names ``lr``, ``betas``, ``eps``, ``weight_decay``,
``decouple``, ``use_bias_correction``, ``d0``, ``growth_rate``). One estimate
:math:`d_k` for the whole model, :math:`\eta_k = \gamma d_k\rho_k`
(:math:`\rho_k = 1`, or Adam's :math:`\sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})`):

.. math::

    g_k &\leftarrow \nabla f(x_k) \quad(+ \lambda x_k \text{ unless decoupled}) \\
    a_k &\leftarrow \textstyle\sum \eta_k \langle g_k,\ s_{k-1}/(\sqrt{v_{k-1}} + \epsilon)\rangle
        \quad(\text{over every parameter, with the old } s, v) \\
    m_k &\leftarrow \beta_1 m_{k-1} + (1-\beta_1)\,\eta_k\, g_k, \qquad
    v_k \leftarrow \beta_2 v_{k-1} + (1-\beta_2)\, g_k^2 \\
    s_k &\leftarrow \sqrt{\beta_2}\, s_{k-1} + (1-\sqrt{\beta_2})\,\eta_k\, g_k \\
    r_k &\leftarrow \sqrt{\beta_2}\, r_{k-1} + (1-\sqrt{\beta_2})\, a_k \\
    \hat d_{k+1} &\leftarrow r_k / \big((1-\sqrt{\beta_2}) \textstyle\sum\lVert s_k\rVert_1\big), \qquad
    d_{k+1} \leftarrow \max\big(d_k,\ \min(\hat d_{k+1},\ d_k\cdot\text{growth\_rate})\big) \\
    x_{k+1} &\leftarrow x_k(1 - \lambda\eta_k) \ (\text{decoupled}) \;-\; m_k / (\sqrt{v_k} + \epsilon)

(:math:`m` carries :math:`\eta_k`, so the last line has no step size.) The
pieces are pure: :func:`dadapt_adam_accumulate` per parameter,
:func:`dadapt_adam_estimate` once per step, :func:`dadapt_adam_update` per
parameter; :class:`optim.DAdaptAdam` runs them in that order. If
:math:`\sum\lVert s_k\rVert_1 = 0` the step does nothing.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array
from .flags import decoupled_decay, signed_gradient

__all__ = ["dadapt_adam_init", "dadapt_adam_accumulate", "dadapt_adam_estimate", "dadapt_adam_update"]


def dadapt_adam_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m = v = s = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta), "s": xp.zeros_like(theta)}


def dadapt_adam_accumulate(theta: Array, grad: Array, state: dict, *, dlr: float, beta1: float = 0.9,
                           beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                           decouple: bool = False, maximize: bool = False):
    r"""The moments of one parameter and its terms of :math:`a_k` and :math:`\sum\lVert s_k\rVert_1`.

    Returns ``(new_state, numerator_term, denominator_term, intermediates)``
    (intermediates ``g``, ``m``, ``v``, ``s``).
    """
    xp = get_array_module(theta)
    g = signed_gradient(grad, maximize)
    if weight_decay != 0 and not decouple:
        g = g + weight_decay * theta                                                # + lambda x_k
    sqrt_beta2 = beta2 ** 0.5
    old_denom = xp.sqrt(state["exp_avg_sq"]) + eps
    numerator_term = dlr * float(xp.sum(g * (state["s"] / old_denom)))             # eta <g, s / (sqrt v + eps)>
    m = beta1 * state["exp_avg"] + (1 - beta1) * dlr * g                            # m_k
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g                           # v_k
    s = sqrt_beta2 * state["s"] + (1 - sqrt_beta2) * dlr * g                        # s_k
    new_state = {"step": state["step"] + 1, "exp_avg": m, "exp_avg_sq": v, "s": s}
    return new_state, numerator_term, float(xp.sum(xp.abs(s))), {"g": g, "m": m, "v": v, "s": s}


def dadapt_adam_estimate(d: float, numerator_weighted: float, numerator_acum: float, sk_l1: float, *,
                         beta2: float = 0.999, growth_rate: float = float("inf")) -> tuple[float, float, float]:
    r""":math:`(d_{k+1}, r_k, \hat d_{k+1})` from :math:`r_{k-1}`, :math:`a_k` and :math:`\sum\lVert s_k\rVert_1`."""
    sqrt_beta2 = beta2 ** 0.5
    r = sqrt_beta2 * numerator_weighted + (1 - sqrt_beta2) * numerator_acum        # r_k
    d_hat = r / ((1 - sqrt_beta2) * sk_l1)
    return max(d, min(d_hat, d * growth_rate)), r, d_hat


def dadapt_adam_update(theta: Array, state: dict, *, dlr: float, eps: float = 1e-8, weight_decay: float = 0.0,
                       decouple: bool = False):
    r""":math:`x_{k+1} = x_k(1-\lambda\eta_k) - m_k/(\sqrt{v_k}+\epsilon)` (decay only if decoupled).

    Returns ``(theta_new, intermediates)``.
    """
    xp = get_array_module(theta)
    denom = xp.sqrt(state["exp_avg_sq"]) + eps
    if decouple:
        theta = decoupled_decay(theta, dlr, weight_decay)
    return theta - state["exp_avg"] / denom, {"denom": denom}
