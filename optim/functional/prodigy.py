r"""Prodigy: Adam whose step size :math:`d` estimates the distance to the solution.

Mishchenko & Defazio (2024), "Prodigy: An Expeditiously Adaptive
Parameter-Free Learner", Algorithm 4 (Adam form), as the authors' reference
code runs it (argument names ``lr``, ``betas``, ``beta3``, ``eps``,
``weight_decay``, ``decouple``, ``use_bias_correction``, ``safeguard_warmup``,
``d0``, ``d_coef``, ``growth_rate``). One estimate :math:`d_k` for the whole
model; with :math:`\eta_k = \gamma d_k \cdot \rho_k` (:math:`\rho_k = 1`, or
:math:`\sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})` with bias correction):

.. math::

    g_k &\leftarrow \nabla f(x_k) \quad(+ \lambda x_k \text{ unless decoupled}) \\
    r_k &\leftarrow \beta_3 r_{k-1} + \tfrac{d_k}{d_0}\,\eta_k\,\langle g_k, x_0 - x_k\rangle
        \quad(\text{summed over every parameter}) \\
    m_k &\leftarrow \beta_1 m_{k-1} + (1-\beta_1)\, d_k\, g_k, \qquad
    v_k \leftarrow \beta_2 v_{k-1} + (1-\beta_2)\, d_k^2\, g_k^2 \\
    s_k &\leftarrow \beta_3 s_{k-1} + \tfrac{d_k}{d_0}\,\eta_k\, g_k
        \quad(\text{safeguard\_warmup: } \tfrac{d_k}{d_0}\, d_k\, g_k) \\
    \hat d_{k+1} &\leftarrow c\, r_k / \textstyle\sum \lVert s_k\rVert_1, \qquad
    d_{k+1} \leftarrow \min\big(\max(d_k, \hat d_{k+1}) \text{ (max so far)},\ d_k\cdot\text{growth\_rate}\big) \\
    x_{k+1} &\leftarrow x_k(1 - \lambda\eta_k) \ (\text{decoupled}) \;-\; \eta_k\, m_k / (\sqrt{v_k} + d_{k+1}\epsilon)

:math:`\beta_3` defaults to :math:`\sqrt{\beta_2}`, :math:`c` is ``d_coef``.
The estimate grows from :math:`d_0` as long as the iterates keep moving
away from :math:`x_0` along the gradients. The three pieces are pure
functions: :func:`prodigy_accumulate` (per parameter, before the estimate),
:func:`prodigy_estimate` (once per step), :func:`prodigy_update` (per parameter,
after it); the class :class:`optim.Prodigy` runs them in that order. As in
the reference code, the moments and :math:`\eta_k` use the old :math:`d_k`,
the :math:`\epsilon` of the denominator the new :math:`d_{k+1}`; if
:math:`\sum\lVert s_k\rVert_1 = 0` (every gradient zero) the step does nothing.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array
from .flags import decoupled_decay, signed_gradient

__all__ = ["prodigy_init", "prodigy_accumulate", "prodigy_estimate", "prodigy_update", "prodigy_lr"]


def prodigy_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`x_0` (``p0``, a copy), :math:`m = v = s = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "p0": theta.copy(), "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta),
            "s": xp.zeros_like(theta)}


def prodigy_lr(lr: float, d: float, k: int, beta1: float, beta2: float, use_bias_correction: bool) -> float:
    r""":math:`\eta_k = \gamma d_k \rho_k` at the optimizer's step ``k`` (counted from 0)."""
    rho = ((1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))) if use_bias_correction else 1.0
    return d * lr * rho


def prodigy_accumulate(theta: Array, grad: Array, state: dict, *, d: float, d0: float, dlr: float,
                       beta1: float = 0.9, beta2: float = 0.999, beta3: float | None = None,
                       weight_decay: float = 0.0, decouple: bool = True, safeguard_warmup: bool = False,
                       maximize: bool = False):
    r"""The moments of one parameter and its terms of the estimate.

    Returns ``(new_state, numerator_term, denominator_term, intermediates)``:
    the new ``exp_avg``, ``exp_avg_sq``, ``s``, ``step`` (``p0`` does not
    change and is not returned: merge ``new_state`` into the state); the
    term :math:`\tfrac{d}{d_0}\eta\langle g, x_0 - x\rangle` of :math:`r_k`;
    :math:`\lVert s_k\rVert_1`; and the intermediates ``g``, ``m``, ``v``, ``s``.
    """
    xp = get_array_module(theta)
    beta3 = beta2 ** 0.5 if beta3 is None else beta3
    g = signed_gradient(grad, maximize)
    if weight_decay != 0 and not decouple:
        g = g + weight_decay * theta                                       # + lambda x_k
    numerator_term = (d / d0) * dlr * float(xp.sum(g * (state["p0"] - theta)))   # <g, x0 - x>
    m = beta1 * state["exp_avg"] + (1 - beta1) * d * g                     # m_k
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * d * d * g * g          # v_k
    s = beta3 * state["s"] + (d / d0) * (d if safeguard_warmup else dlr) * g   # s_k
    new_state = {"step": state["step"] + 1, "exp_avg": m, "exp_avg_sq": v, "s": s}   # p0 is unchanged
    return new_state, numerator_term, float(xp.sum(xp.abs(s))), {"g": g, "m": m, "v": v, "s": s}


def prodigy_estimate(d: float, d_max: float, d_numerator: float, d_denom: float, *, d0: float,
                     d_coef: float = 1.0, growth_rate: float = float("inf")) -> tuple[float, float, float]:
    r""":math:`(d_{k+1}, d^{max}_{k+1}, \hat d_{k+1})` from the sums :math:`r_k` and :math:`\sum\lVert s_k\rVert_1`."""
    d_hat = d_coef * d_numerator / d_denom
    if d == d0:
        d = max(d, d_hat)
    d_max = max(d_max, d_hat)
    return min(d_max, d * growth_rate), d_max, d_hat


def prodigy_update(theta: Array, state: dict, *, d: float, dlr: float, eps: float = 1e-8,
                   weight_decay: float = 0.0, decouple: bool = True):
    r""":math:`x_{k+1} = x_k(1-\lambda\eta_k) - \eta_k m_k/(\sqrt{v_k} + d_{k+1}\epsilon)` (decay only if decoupled).

    ``state`` is the one :func:`prodigy_accumulate` returned; ``d`` is :math:`d_{k+1}`,
    ``dlr`` :math:`\eta_k`. Returns ``(theta_new, intermediates)``.
    """
    xp = get_array_module(theta)
    denom = xp.sqrt(state["exp_avg_sq"]) + d * eps
    if decouple:
        theta = decoupled_decay(theta, dlr, weight_decay)
    return theta - dlr * state["exp_avg"] / denom, {"denom": denom}
