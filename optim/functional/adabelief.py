r"""AdaBelief: Adam with the "belief" :math:`(g - m)^2` in place of :math:`g^2`.

Zhuang, Tang, Ding, Tatikonda, Dvornek, Papademetris & Duncan (2020),
"AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
Gradients", Algorithm 2, in the form of the authors' package
``adabelief-pytorch`` (0.2): :math:`\epsilon` is added to the state
:math:`s` at every step, the default :math:`\epsilon` is :math:`10^{-16}`
and the weight decay is decoupled (AdamW's) by default.

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \\
    &\text{decoupled: } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)
      \ (\text{fixed\_decay: } 1 - \lambda)
      \qquad\text{else: } g_t \leftarrow g_t + \lambda\theta_{t-1} \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    s_t &\leftarrow \beta_2 s_{t-1} + (1-\beta_2)\,(g_t - m_t)^2 + \epsilon \\
    s^{max}_t &\leftarrow \max(s^{max}_{t-1}, s_t)
        \quad(\text{amsgrad; } s^{max} \text{ replaces } s \text{ below}) \\
    \hat m_t &\leftarrow m_t / (1 - \beta_1^t) \\
    \hat s_t &\leftarrow s_t / (1 - \beta_2^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, \hat m_t / (\sqrt{\hat s_t} + \epsilon)

:math:`s` estimates the variance of the gradient around its prediction
:math:`m`. When the observed gradient is what the momentum predicted
(:math:`g \approx m`: the optimizer "believes" it), :math:`s` is tiny and the
step is large; when it disagrees, the step is small. With a constant gradient
:math:`g` the residual is :math:`g - m_t = \beta_1^t g`, so :math:`s_t` tends
to :math:`\epsilon/(1-\beta_2)` and the step to
:math:`\gamma\, g / \sqrt{\epsilon/(1-\beta_2)}`, where Adam's tends to
:math:`\gamma`.

``rectify=True`` (the package's default since 0.1; off here, so that the
default is the paper's Algorithm 2) uses RAdam's rectification (Liu et al.
2020), with the package's threshold :math:`\rho_t \ge 5`:

.. math::

    \rho_\infty &= 2/(1-\beta_2) - 1, \qquad
    \rho_t = \rho_\infty - 2t\beta_2^t / (1-\beta_2^t) \\
    \rho_t \ge 5:\ \ r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}
                                   {(\rho_\infty-4)(\rho_\infty-2)\rho_t}}, \quad
    \theta_t \leftarrow \theta_{t-1} - \gamma\, r_t\, \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,
         \frac{m_t}{\sqrt{s_t} + \epsilon} \\
    \rho_t < 5:\ \ \theta_t &\leftarrow \theta_{t-1} - \gamma\, \hat m_t
         \quad(\text{degenerated\_to\_sgd; otherwise no update})

As in the package, the rectified step divides by the raw :math:`s_t` (not
:math:`s^{max}`, even with amsgrad) and puts :math:`\epsilon` on
:math:`\sqrt{s_t}` before the bias correction.
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty

__all__ = ["adabelief", "adabelief_init"]


def adabelief_init(theta: Array, *, amsgrad: bool = False) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = s_0 = s^{max}_0 = 0`."""
    xp = get_array_module(theta)
    state = {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_var": xp.zeros_like(theta)}
    if amsgrad:
        state["max_exp_avg_var"] = xp.zeros_like(theta)
    return state


def adabelief(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-16, weight_decay: float = 0.0, amsgrad: bool = False,
              weight_decouple: bool = True, fixed_decay: bool = False, rectify: bool = False,
              degenerated_to_sgd: bool = True) -> Update:
    r"""One AdaBelief step on one parameter (the formulas of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`g_t`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_var`` (:math:`s`)
            and ``max_exp_avg_var`` (:math:`s^{max}`) with amsgrad.
        lr: :math:`\gamma`. beta1, beta2: :math:`\beta_1, \beta_2`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`; decoupled when ``weight_decouple``
            (:math:`\theta(1-\gamma\lambda)`, or :math:`\theta(1-\lambda)` with
            ``fixed_decay``), else added to the gradient.
        amsgrad: use :math:`s^{max}`. rectify, degenerated_to_sgd: RAdam's rectification.

    Returns:
        ``(theta_new, new_state, intermediates)``; intermediates ``t``, ``g``,
        ``m``, ``s`` (``s_max`` with amsgrad), ``m_hat``, ``s_hat``, and with
        rectify ``rho_t`` and ``r_t`` (``r_t`` only when :math:`\rho_t \ge 5`).
        Inputs are not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                                     # t <- t + 1
    g = grad                                                  # g_t
    if weight_decouple:
        if weight_decay != 0:
            decay = weight_decay if fixed_decay else lr * weight_decay
            theta = theta * (1 - decay)                       # theta <- theta (1 - gamma lambda)
    else:
        g = l2_penalty(g, theta, weight_decay)                # g_t <- g_t + lambda theta
    m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_t
    s = beta2 * state["exp_avg_var"] + (1 - beta2) * (g - m) ** 2 + eps   # s_t (eps into s)
    bc1 = 1 - beta1 ** t
    bc2 = 1 - beta2 ** t
    new_state = {"step": t, "exp_avg": m, "exp_avg_var": s}
    intermediates = {"t": t, "g": g, "m": m, "s": s}
    if amsgrad:
        s_max = xp.maximum(state["max_exp_avg_var"], s)       # s_max_t <- max(s_max_{t-1}, s_t)
        new_state["max_exp_avg_var"] = intermediates["s_max"] = s_max
        s_used = s_max
    else:
        s_used = s
    m_hat = m / bc1                                           # m_hat_t
    s_hat = s_used / bc2                                      # s_hat_t
    intermediates.update(m_hat=m_hat, s_hat=s_hat)
    if not rectify:
        theta = theta - lr * m_hat / (xp.sqrt(s_hat) + eps)   # theta_t
        return theta, new_state, intermediates

    rho_inf = 2 / (1 - beta2) - 1                             # rho_infinity
    rho_t = rho_inf - 2 * t * beta2 ** t / bc2                # rho_t
    intermediates["rho_t"] = rho_t
    if rho_t >= 5:
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t))   # rectification term
        intermediates["r_t"] = r_t
        theta = theta - lr * r_t * math.sqrt(bc2) / bc1 * m / (xp.sqrt(s) + eps)
    elif degenerated_to_sgd:
        theta = theta - lr * m_hat                            # SGD with momentum while rho_t < 5
    return theta, new_state, intermediates
