r"""Adadelta as a pure function.

Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method", Algorithm 1,
with PyTorch's additions (``torch.optim.Adadelta``, PyTorch 2.13): a learning
rate :math:`\gamma` multiplying the step, weight decay and maximize.

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    v_t &\leftarrow \rho\, v_{t-1} + (1-\rho)\, g_t^2 \\
    \Delta_t &\leftarrow \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
    u_t &\leftarrow \rho\, u_{t-1} + (1-\rho)\, \Delta_t^2 \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, \Delta_t

:math:`v` is the paper's :math:`E[g^2]`, :math:`u` its :math:`E[\Delta x^2]`.
The paper has no learning rate (``lr=1.0``, PyTorch's default, is the paper)
and uses :math:`\rho = 0.95`, :math:`\epsilon = 10^{-6}`; PyTorch's default
:math:`\rho` is 0.9. Both roots already hold :math:`\epsilon` inside, as in
the paper.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty, signed_gradient

__all__ = ["adadelta", "adadelta_init"]


def adadelta_init(theta: Array) -> dict:
    """The state before the first step: ``step = 0``, :math:`v_0 = u_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "square_avg": xp.zeros_like(theta), "acc_delta": xp.zeros_like(theta)}


def adadelta(theta: Array, grad: Array, state: dict, *, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
             weight_decay: float = 0.0, maximize: bool = False) -> Update:
    r"""One Adadelta step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).
        lr: :math:`\gamma`. rho: :math:`\rho`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`. maximize: as in ``torch.optim.Adadelta``.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``v``, ``delta`` (:math:`\Delta_t`) and ``u``. Inputs are not
        modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)           # g_t (negated to maximize)
    g = l2_penalty(g, theta, weight_decay)        # g_t <- g_t + lambda theta_{t-1}
    u = state["acc_delta"]                          # u_{t-1}
    v = rho * state["square_avg"] + (1 - rho) * g * g        # v_t
    delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g          # Delta_t
    u = rho * u + (1 - rho) * delta * delta                   # u_t
    theta = theta - lr * delta                      # theta_t <- theta_{t-1} - gamma Delta_t
    return (theta, {"step": t, "square_avg": v, "acc_delta": u},
            {"t": t, "g": g, "v": v, "delta": delta, "u": u})
