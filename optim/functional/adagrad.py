r"""Adagrad as a pure function.

Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online
Learning and Stochastic Optimization" (diagonal version); the form below is
the one of the ``torch.optim.Adagrad`` documentation (PyTorch 2.13), with its
learning-rate decay:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    \gamma_t &\leftarrow \frac{\gamma}{1 + (t-1)\,\eta} \\
    s_t &\leftarrow s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma_t\,\frac{g_t}{\sqrt{s_t} + \epsilon}

with :math:`\eta` = ``lr_decay``. The lecture writes the accumulator as
:math:`G_t` and puts :math:`\epsilon` inside the root,
:math:`\theta_t \leftarrow \theta_{t-1} - \gamma_t\, g_t/\sqrt{G_t + \epsilon}`:
``eps_inside_sqrt=True``.

Its in-place twin for the fast path is :func:`optim.fast.inplace.adagrad_`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty, signed_gradient

__all__ = ["adagrad", "adagrad_init"]


def adagrad_init(theta: Array, *, initial_accumulator_value: float = 0.0) -> dict:
    """The state before the first step: ``step = 0``, ``sum`` = s_0 filled with the initial value."""
    xp = get_array_module(theta)
    return {"step": 0, "sum": xp.full_like(theta, initial_accumulator_value)}


def adagrad(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, lr_decay: float = 0.0,
            weight_decay: float = 0.0, eps: float = 1e-10, maximize: bool = False,
            eps_inside_sqrt: bool = False) -> Update:
    r"""One Adagrad step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``{"step": t-1, "sum": s_{t-1}}`` (see :func:`adagrad_init`).
        lr: :math:`\gamma`. lr_decay: :math:`\eta`. weight_decay: :math:`\lambda`.
        eps: :math:`\epsilon`. maximize: as in ``torch.optim.Adagrad``.
        eps_inside_sqrt: the lecture's :math:`\sqrt{s_t + \epsilon}`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``lr_t`` (:math:`\gamma_t`), ``s`` and ``denom`` (the
        denominator). Inputs are not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)           # g_t (negated to maximize)
    g = l2_penalty(g, theta, weight_decay)        # g_t <- g_t + lambda theta_{t-1}
    lr_t = lr / (1 + (t - 1) * lr_decay)            # gamma_t <- gamma / (1 + (t-1) eta)
    s = state["sum"] + g * g                        # s_t <- s_{t-1} + g_t^2
    if eps_inside_sqrt:
        denom = xp.sqrt(s + eps)                    # sqrt(s_t + eps)   (lecture)
    else:
        denom = xp.sqrt(s) + eps                    # sqrt(s_t) + eps   (PyTorch)
    theta = theta - lr_t * g / denom                # theta_t <- theta_{t-1} - gamma_t g_t / denom
    return theta, {"step": t, "sum": s}, {"t": t, "g": g, "lr_t": lr_t, "s": s, "denom": denom}


