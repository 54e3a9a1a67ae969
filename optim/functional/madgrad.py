r"""MADGRAD: a momentumised, dual-averaged AdaGrad with a cube root.

Defazio & Jelassi (2021/2022), "Adaptivity without Compromise: A Momentumized,
Adaptive, Dual Averaged Gradient Method for Stochastic Optimization",
Algorithm 1 (argument names of the reference code: ``lr``, ``momentum``,
``weight_decay``, ``eps``, ``decouple_decay``), with :math:`k = 0, 1, \dots`
counting this parameter's steps and :math:`c = 1 - \texttt{momentum}`:

.. math::

    g_k &\leftarrow \nabla f_k(x_k) \quad(+ \lambda x_k \text{ unless decoupled}) \\
    \lambda_k &\leftarrow \gamma \sqrt{k+1} \\
    s_{k+1} &\leftarrow s_k + \lambda_k\, g_k \\
    \nu_{k+1} &\leftarrow \nu_k + \lambda_k\, g_k^2 \\
    z_{k+1} &\leftarrow x_0 - s_{k+1} / (\nu_{k+1}^{1/3} + \epsilon) \\
    x_{k+1} &\leftarrow (1 - c)\, x_k + c\, z_{k+1}
        \qquad(\text{decoupled: } - \gamma\lambda\, x_k)

:math:`x_0` (``x0``) is the starting point, kept for the whole run: the
method is a dual average around it, and :math:`x` is a moving average of the
dual iterate :math:`z` (momentum 0 gives :math:`x = z`).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient

__all__ = ["madgrad", "madgrad_init"]


def madgrad_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`s_0 = \nu_0 = 0`, :math:`x_0 = \theta` (a copy)."""
    xp = get_array_module(theta)
    return {"step": 0, "grad_sum_sq": xp.zeros_like(theta), "s": xp.zeros_like(theta), "x0": theta.copy()}


def madgrad(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, momentum: float = 0.9,
            weight_decay: float = 0.0, eps: float = 1e-6, decouple_decay: bool = False,
            maximize: bool = False) -> Update:
    r"""One MADGRAD step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`x_k` and :math:`\nabla f_k(x_k)`.
        state: ``step`` (:math:`k`), ``grad_sum_sq`` (:math:`\nu`), ``s``, ``x0``.
        lr: :math:`\gamma`. momentum: :math:`1-c`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`; decouple_decay: subtract :math:`\gamma\lambda x_k` after the step.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``k``,
        ``g``, ``lamb``, ``s``, ``nu``, ``rms``, ``z``.
    """
    xp = get_array_module(theta)
    k = state["step"]
    g = signed_gradient(grad, maximize)
    if weight_decay != 0 and not decouple_decay:
        g = g + weight_decay * theta                          # + lambda x_k
    ck = 1 - momentum
    lamb = lr * (k + 1) ** 0.5                                # lambda_k
    s = state["s"] + lamb * g                                 # s_{k+1}
    nu = state["grad_sum_sq"] + lamb * g * g                  # nu_{k+1}
    rms = xp.cbrt(nu) + eps                                   # nu^{1/3} + eps
    z = state["x0"] - s / rms                                 # z_{k+1}
    theta_new = (1 - ck) * theta + ck * z                     # x_{k+1}
    if weight_decay != 0 and decouple_decay:
        theta_new = theta_new - lr * weight_decay * theta     # - gamma lambda x_k
    # x0 is copied: a formula returns new arrays, never its inputs
    new_state = {"step": k + 1, "grad_sum_sq": nu, "s": s, "x0": state["x0"].copy()}
    return theta_new, new_state, {"k": k, "g": g, "lamb": lamb, "s": s, "nu": nu, "rms": rms, "z": z}
