r"""Adamax as a pure function.

Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", Section 7.1
and Algorithm 2 (AdaMax: Adam with the infinity norm in place of the
:math:`L^2` norm of past gradients). The form below is the one of the
``torch.optim.Adamax`` documentation (PyTorch 2.13):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    u_t &\leftarrow \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
    \hat m_t &\leftarrow m_t / (1 - \beta_1^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, \hat m_t / u_t

The paper has no :math:`\epsilon` at all, :math:`u_t = \max(\beta_2 u_{t-1},
|g_t|)`, and divides by :math:`u_t` directly. PyTorch puts :math:`\epsilon`
*inside* the max, a floor under every new :math:`|g_t|`: a coordinate whose
gradients stay far below :math:`\epsilon` moves by about
:math:`\gamma|g|/\epsilon` per step instead of :math:`\gamma`. ``eps=0``
is the paper's Algorithm 2 exactly (0/0 = NaN only in a coordinate whose
gradients have all been exactly zero so far). (Keras/TensorFlow put
:math:`\epsilon` in the denominator instead, :math:`\gamma\hat m_t/(u_t +
\epsilon)` with the paper's :math:`u_t`; that differs from PyTorch's form only
by about :math:`(1-\beta_2)\epsilon` in :math:`u`.)
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty, signed_gradient

__all__ = ["adamax", "adamax_init"]


def adamax_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = u_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_inf": xp.zeros_like(theta)}


def adamax(theta: Array, grad: Array, state: dict, *, lr: float = 2e-3, beta1: float = 0.9,
           beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False) -> Update:
    r"""One Adamax step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_inf`` (:math:`u`).
        lr: :math:`\gamma`. beta1, beta2: :math:`\beta_1, \beta_2`.
        eps: :math:`\epsilon` (0: the paper). weight_decay: :math:`\lambda`
            (L2, coupled). maximize: as in ``torch.optim.Adamax``.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``m``, ``u``, ``m_hat``. Inputs are not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)           # g_t (negated to maximize)
    g = l2_penalty(g, theta, weight_decay)        # g_t <- g_t + lambda theta_{t-1}
    m = beta1 * state["exp_avg"] + (1 - beta1) * g  # m_t
    u = xp.maximum(beta2 * state["exp_inf"], xp.abs(g) + eps)   # u_t = max(b2 u, |g| + eps)
    m_hat = m / (1 - beta1 ** t)                    # m_hat_t <- m_t / (1 - beta1^t)
    theta = theta - lr * m_hat / u                  # theta_t <- theta_{t-1} - gamma m_hat_t / u_t
    return (theta, {"step": t, "exp_avg": m, "exp_inf": u},
            {"t": t, "g": g, "m": m, "u": u, "m_hat": m_hat})
