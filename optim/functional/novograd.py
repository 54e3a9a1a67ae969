r"""NovoGrad: a layer-wise second moment (one number per tensor) and the decay inside the momentum.

Ginsburg et al. (2019), "Stochastic Gradient Methods with Layer-wise Adaptive
Moments for Training of Deep Networks", Algorithm 1 (the argument names are
those of the reference code: ``betas``, ``eps``, ``weight_decay``,
``grad_averaging``):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\,\|g_t\|^2, \qquad v_1 = \|g_1\|^2 \\
    m_t &\leftarrow \beta_1 m_{t-1} + c\,\big(g_t / (\sqrt{v_t} + \epsilon) + \lambda\,\theta_{t-1}\big),
      \qquad c = 1-\beta_1 \text{ if grad\_averaging else } 1 \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, m_t

:math:`v` is a scalar per parameter tensor (the "layer"), kept as a 0-d
array; the gradient is normalised by it before the momentum, and the weight
decay is added to the normalised gradient. :math:`m_0 = 0`, so
:math:`m_1 = c\,(g_1/\|g_1\| + \lambda\theta_0)` as in the paper.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient

__all__ = ["novograd", "novograd_init"]


def novograd_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = 0`, :math:`v_0 = 0` (a 0-d array)."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros((), dtype=theta.dtype)}


def novograd(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.95,
             beta2: float = 0.98, eps: float = 1e-8, weight_decay: float = 0.0, grad_averaging: bool = False,
             maximize: bool = False) -> Update:
    r"""One NovoGrad step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`, 0-d).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`. grad_averaging: the factor :math:`c = 1-\beta_1`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``g_norm_sq``, ``v``, ``d`` (the normalised, decayed gradient), ``m``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    g_norm_sq = xp.sum(g * g)                                           # ||g_t||^2
    v = g_norm_sq if t == 1 else beta2 * state["exp_avg_sq"] + (1 - beta2) * g_norm_sq   # v_t
    d = g / (xp.sqrt(v) + eps)                                          # g_t / (sqrt(v_t) + eps)
    if weight_decay != 0:
        d = d + weight_decay * theta                                    # + lambda theta_{t-1}
    if grad_averaging:
        d = (1 - beta1) * d
    m = beta1 * state["exp_avg"] + d                                    # m_t
    theta = theta - lr * m                                              # theta_t
    v = xp.asarray(v, dtype=theta.dtype)
    return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {"t": t, "g": g, "g_norm_sq": g_norm_sq,
                                                                "v": v, "d": d, "m": m}
