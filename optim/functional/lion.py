r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms",
Algorithm 2 (and the authors' reference code, whose argument names
``lr``, ``betas``, ``weight_decay`` the class keeps):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \quad(\text{negated if maximize}) \\
    c_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,\big(\operatorname{sign}(c_t) + \lambda\,\theta_{t-1}\big) \\
    m_t &\leftarrow \beta_2 m_{t-1} + (1-\beta_2)\, g_t

The update has the same size :math:`\eta` in every coordinate (the sign); the
interpolation :math:`c_t` uses :math:`\beta_1`, the momentum that is kept
uses :math:`\beta_2 > \beta_1`. The decay is written as the reference code
applies it, :math:`\theta_{t-1}(1-\eta\lambda)` before the sign step
(:func:`optim.functional.flags.decoupled_decay`).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import decoupled_decay, signed_gradient

__all__ = ["lion", "lion_init"]


def lion_init(theta: Array) -> dict:
    r"""The state before the first step: :math:`m_0 = 0` (``exp_avg``)."""
    return {"exp_avg": get_array_module(theta).zeros_like(theta)}


def lion(theta: Array, grad: Array, state: dict, *, lr: float = 1e-4, beta1: float = 0.9,
         beta2: float = 0.99, weight_decay: float = 0.0, maximize: bool = False) -> Update:
    r"""One Lion step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``exp_avg`` (:math:`m`).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`.
        weight_decay: :math:`\lambda` (decoupled). maximize: ascend instead.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``g``,
        ``c`` (the interpolation), ``u`` (its sign) and ``m``.
    """
    xp = get_array_module(theta)
    g = signed_gradient(grad, maximize)                       # g_t
    c = beta1 * state["exp_avg"] + (1 - beta1) * g            # c_t
    u = xp.sign(c)                                            # sign(c_t)
    theta = decoupled_decay(theta, lr, weight_decay)          # theta (1 - eta lambda)
    theta = theta - lr * u                                    # theta_t
    m = beta2 * state["exp_avg"] + (1 - beta2) * g            # m_t
    return theta, {"exp_avg": m}, {"g": g, "c": c, "u": u, "m": m}
