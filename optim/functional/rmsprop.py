r"""RMSprop as a pure function.

Tieleman & Hinton (2012), COURSERA "Neural Networks for Machine Learning",
lecture 6.5; the centered variant from Graves (2013), "Generating Sequences
With Recurrent Neural Networks", eqs. 38-41. The form below is the one of the
``torch.optim.RMSprop`` documentation (PyTorch 2.13):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    v_t &\leftarrow \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\
    \bar g_t &\leftarrow \alpha\, \bar g_{t-1} + (1-\alpha)\, g_t
          \quad(\text{centered only}) \\
    a_t &\leftarrow \begin{cases} \sqrt{v_t - \bar g_t^2} + \epsilon & \text{centered} \\
                                  \sqrt{v_t} + \epsilon & \text{otherwise} \end{cases} \\
    \text{if } \mu > 0:\quad b_t &\leftarrow \mu\, b_{t-1} + g_t / a_t, \qquad
        \theta_t \leftarrow \theta_{t-1} - \gamma\, b_t \\
    \text{else}:\quad \theta_t &\leftarrow \theta_{t-1} - \gamma\, g_t / a_t

The lecture puts :math:`\epsilon` inside the root, :math:`a_t = \sqrt{v_t +
\epsilon}` (centered: :math:`\sqrt{v_t - \bar g_t^2 + \epsilon}`):
``eps_inside_sqrt=True``.

Its in-place twin for the fast path is :func:`optim.fast.inplace.rmsprop_`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty, signed_gradient

__all__ = ["rmsprop", "rmsprop_init"]


def rmsprop_init(theta: Array, *, momentum: float = 0.0, centered: bool = False) -> dict:
    r"""The state before the first step: zeros for :math:`v`, :math:`b` (if momentum), :math:`\bar g` (if centered)."""
    xp = get_array_module(theta)
    state = {"step": 0, "square_avg": xp.zeros_like(theta)}
    if momentum > 0:
        state["momentum_buffer"] = xp.zeros_like(theta)
    if centered:
        state["grad_avg"] = xp.zeros_like(theta)
    return state


def rmsprop(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, alpha: float = 0.99,
            eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
            maximize: bool = False, eps_inside_sqrt: bool = False) -> Update:
    r"""One RMSprop step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``square_avg`` (:math:`v`), and ``momentum_buffer``
            (:math:`b`) / ``grad_avg`` (:math:`\bar g`) when used; see
            :func:`rmsprop_init`.
        lr: :math:`\gamma`. alpha: :math:`\alpha`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`. momentum: :math:`\mu`.
        centered, maximize: as in ``torch.optim.RMSprop``.
        eps_inside_sqrt: the lecture's :math:`\sqrt{v_t + \epsilon}`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``v``, ``a`` and, when used, ``g_bar`` and ``b``. Inputs are
        not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)           # g_t (negated to maximize)
    g = l2_penalty(g, theta, weight_decay)        # g_t <- g_t + lambda theta_{t-1}
    v = alpha * state["square_avg"] + (1 - alpha) * g * g     # v_t
    new_state = {"step": t, "square_avg": v}
    intermediates = {"t": t, "g": g, "v": v}
    if centered:
        g_bar = alpha * state["grad_avg"] + (1 - alpha) * g   # g_bar_t
        variance = v - g_bar * g_bar                           # v_t - g_bar_t^2
        new_state["grad_avg"] = intermediates["g_bar"] = g_bar
    else:
        variance = v
    if eps_inside_sqrt:
        a = xp.sqrt(variance + eps)                 # a_t <- sqrt(v_t + eps)     (lecture)
    else:
        a = xp.sqrt(variance) + eps                 # a_t <- sqrt(v_t) + eps     (PyTorch)
    intermediates["a"] = a
    if momentum > 0:
        b = momentum * state["momentum_buffer"] + g / a       # b_t <- mu b_{t-1} + g_t / a_t
        theta = theta - lr * b                      # theta_t <- theta_{t-1} - gamma b_t
        new_state["momentum_buffer"] = intermediates["b"] = b
    else:
        theta = theta - lr * g / a                  # theta_t <- theta_{t-1} - gamma g_t / a_t
    return theta, new_state, intermediates


