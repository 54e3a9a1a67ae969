r"""Schedule-Free SGD and AdamW: averaging in place of a learning-rate schedule.

Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
Scheduled", Algorithm 1 (AdamW) and Section 2 (SGD), with the argument names
of the authors' reference code (``lr``, ``momentum``/``betas``, ``eps``,
``weight_decay``, ``warmup_steps``, ``r``, ``weight_lr_power``). Three
sequences: :math:`z` (the SGD iterates), :math:`x` (their weighted average,
the point to evaluate) and :math:`y` (the interpolation where the gradient is
taken, the parameter during training):

.. math::

    \gamma_t &= \gamma \cdot \min(1, t/T_{warmup}), \qquad
    w_t = t^r\, (\max_{i \le t} \gamma_i)^{p}, \qquad c_t = w_t / \textstyle\sum_{i\le t} w_i \\
    g_t &\leftarrow \nabla f(y_{t-1}) \\
    \text{AdamW:}\quad v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
        g_t \leftarrow g_t / (\sqrt{v_t/(1-\beta_2^t)} + \epsilon) \\
    g_t &\leftarrow g_t + \lambda\, y_{t-1} \quad(\text{weight decay, at } y) \\
    z_t &\leftarrow z_{t-1} - \gamma_t\, g_t \\
    x_t &\leftarrow (1 - c_t)\, x_{t-1} + c_t\, z_t \\
    y_t &\leftarrow (1-\beta)\, z_t + \beta\, x_t

with :math:`\beta` = ``momentum`` (SGD) or :math:`\beta_1` (AdamW), and
:math:`x_0 = z_0 = y_0 = \theta_0`. With a constant rate (``r = 0``),
:math:`c_t = 1/t`: :math:`x` is the plain average of the :math:`z`'s.

The state keeps :math:`z` and :math:`x` (the reference code keeps :math:`z`
and recovers :math:`x` from :math:`y`; the two are the same algorithm).
:func:`schedule_free_eval_point` and :func:`schedule_free_train_point` give
the parameter to hold in evaluation (:math:`x`) and in training
(:math:`y`): the classes' ``eval()`` and ``train()``.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient

__all__ = ["schedule_free_sgd", "schedule_free_adamw", "schedule_free_init", "schedule_free_weight",
           "schedule_free_eval_point", "schedule_free_train_point"]


def schedule_free_init(theta: Array, *, adaptive: bool = False) -> dict:
    r"""The state before the first step: :math:`z_0 = x_0 = \theta_0`, the averaging's counters, :math:`v_0 = 0`."""
    xp = get_array_module(theta)
    state = {"step": 0, "z": theta.copy(), "x": theta.copy(), "lr_max": -1.0, "weight_sum": 0.0}
    if adaptive:
        state["exp_avg_sq"] = xp.zeros_like(theta)
    return state


def schedule_free_weight(t: int, lr: float, warmup_steps: int, r: float, weight_lr_power: float,
                         lr_max: float, weight_sum: float) -> tuple[float, float, float, float]:
    r"""The step's rate and averaging weight: ``(lr_t, c_t, lr_max, weight_sum)`` after step ``t``."""
    lr_t = lr * (t / warmup_steps if t < warmup_steps else 1.0)          # gamma_t (linear warmup)
    lr_max = max(lr_t, lr_max)
    weight = t ** r * lr_max ** weight_lr_power                          # w_t
    weight_sum = weight_sum + weight
    c = weight / weight_sum if weight_sum != 0 else 0.0                  # c_t
    return lr_t, c, lr_max, weight_sum


def _schedule_free(theta, grad, state, *, lr, beta, beta2, eps, weight_decay, warmup_steps, r,
                   weight_lr_power, maximize, adaptive) -> Update:
    xp = get_array_module(theta)
    t = state["step"] + 1
    lr_t, c, lr_max, weight_sum = schedule_free_weight(t, lr, warmup_steps, r, weight_lr_power,
                                                       state["lr_max"], state["weight_sum"])
    y = theta
    g = signed_gradient(grad, maximize)                                  # g_t at y_{t-1}
    new_state = {"step": t, "lr_max": lr_max, "weight_sum": weight_sum}
    intermediates = {"t": t, "lr_t": lr_t, "c": c}
    if adaptive:
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g            # v_t
        denom = xp.sqrt(v / (1 - beta2 ** t)) + eps
        g = g / denom                                                     # Adam's normalisation
        new_state["exp_avg_sq"] = intermediates["v"] = v
        intermediates["denom"] = denom
    if weight_decay != 0:
        g = g + weight_decay * y                                          # + lambda y_{t-1}
    z = state["z"] - lr_t * g                                             # z_t
    x = (1 - c) * state["x"] + c * z                                      # x_t
    y = (1 - beta) * z + beta * x                                         # y_t
    new_state.update(z=z, x=x)
    intermediates.update(g=g, z=z, x=x, y=y)
    return y, new_state, intermediates


def schedule_free_sgd(theta: Array, grad: Array, state: dict, *, lr: float = 1.0, momentum: float = 0.9,
                      weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                      weight_lr_power: float = 2.0, maximize: bool = False) -> Update:
    r"""One Schedule-Free SGD step on one parameter (:math:`\theta = y` in, :math:`y_t` out).

    Args:
        theta, grad: :math:`y_{t-1}` and :math:`\nabla f(y_{t-1})`.
        state: ``step``, ``z``, ``x``, ``lr_max``, ``weight_sum``.
        lr: :math:`\gamma`. momentum: :math:`\beta`. weight_decay: :math:`\lambda` (at :math:`y`).
        warmup_steps: :math:`T_{warmup}`. r, weight_lr_power: the weights :math:`w_t = t^r \gamma_{max}^p`.

    Returns:
        ``(y_t, new_state, intermediates)`` with intermediates ``t``, ``lr_t``,
        ``c``, ``g``, ``z``, ``x``, ``y``.
    """
    return _schedule_free(theta, grad, state, lr=lr, beta=momentum, beta2=None, eps=None,
                          weight_decay=weight_decay, warmup_steps=warmup_steps, r=r,
                          weight_lr_power=weight_lr_power, maximize=maximize, adaptive=False)


def schedule_free_adamw(theta: Array, grad: Array, state: dict, *, lr: float = 0.0025, beta1: float = 0.9,
                        beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                        warmup_steps: int = 0, r: float = 0.0, weight_lr_power: float = 2.0,
                        maximize: bool = False) -> Update:
    r"""One Schedule-Free AdamW step on one parameter (:math:`\theta = y` in, :math:`y_t` out).

    Args:
        theta, grad: :math:`y_{t-1}` and :math:`\nabla f(y_{t-1})`.
        state: ``step``, ``z``, ``x``, ``lr_max``, ``weight_sum``, ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\gamma`. beta1: the interpolation :math:`\beta`. beta2: :math:`\beta_2`.
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda` (at :math:`y`, after the normalisation).
        warmup_steps, r, weight_lr_power: as in :func:`schedule_free_sgd`.

    Returns:
        ``(y_t, new_state, intermediates)`` with intermediates ``t``, ``lr_t``,
        ``c``, ``v``, ``denom``, ``g`` (normalised), ``z``, ``x``, ``y``.
    """
    return _schedule_free(theta, grad, state, lr=lr, beta=beta1, beta2=beta2, eps=eps,
                          weight_decay=weight_decay, warmup_steps=warmup_steps, r=r,
                          weight_lr_power=weight_lr_power, maximize=maximize, adaptive=True)


def schedule_free_eval_point(state: dict) -> Array:
    r"""The parameter to evaluate: the average :math:`x` (a copy)."""
    return state["x"].copy()


def schedule_free_train_point(state: dict, beta: float) -> Array:
    r"""The parameter to train from: :math:`y = (1-\beta) z + \beta x`."""
    return (1 - beta) * state["z"] + beta * state["x"]
