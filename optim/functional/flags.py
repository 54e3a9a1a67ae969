r"""PyTorch's flags as small named steps around the lecture's formulas.

PyTorch's optimizers take options that the lectures' formulas do not have:
``maximize``, an L2 ``weight_decay`` added to the gradient, AdamW's
decoupled decay, AMSGrad's running maximum. Each formula in
:mod:`optim.functional` applies them with these functions, before (or after)
its own lines, so that the lecture's lines read straight:

.. math::

    g_t &\leftarrow -\nabla f_t(\theta_{t-1}) \quad\text{if maximize}
        &&\text{(:func:`signed_gradient`)} \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1}
        &&\text{(:func:`l2_penalty`, coupled weight decay)} \\
    \theta_{t-1} &\leftarrow \theta_{t-1}(1 - \gamma\lambda)
        &&\text{(:func:`decoupled_decay`, AdamW)} \\
    v^{max}_t &\leftarrow \max(v^{max}_{t-1}, v_t)
        &&\text{(:func:`amsgrad_max`)}

Each is the identity when its flag is off (``weight_decay == 0``, ...), and
each does exactly the arithmetic the formulas did inline, so the results are
the same to the bit.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array

__all__ = ["signed_gradient", "l2_penalty", "decoupled_decay", "weight_decay_step", "amsgrad_max"]


def signed_gradient(grad: Array, maximize: bool = False):
    r""":math:`g_t = \nabla f_t`, or :math:`-\nabla f_t` to maximize the objective."""
    return -grad if maximize else grad


def l2_penalty(g: Array, theta: Array, weight_decay: float):
    r""":math:`g + \lambda\theta`: the gradient of the L2 penalty :math:`\tfrac{\lambda}{2}\|\theta\|^2` added."""
    if weight_decay != 0:
        return g + weight_decay * theta
    return g


def decoupled_decay(theta: Array, lr: float, weight_decay: float):
    r""":math:`\theta(1 - \gamma\lambda)`: weight decay applied to the weights (Loshchilov & Hutter 2019)."""
    if weight_decay != 0:
        return theta * (1 - lr * weight_decay)
    return theta


def weight_decay_step(theta: Array, g: Array, *, lr: float, weight_decay: float, decoupled: bool):
    r"""PyTorch's two weight decays: ``(theta, g)`` after :func:`decoupled_decay` or :func:`l2_penalty`."""
    if decoupled:
        return decoupled_decay(theta, lr, weight_decay), g
    return theta, l2_penalty(g, theta, weight_decay)


def amsgrad_max(v_max: Array, v: Array):
    r""":math:`v^{max}_t = \max(v^{max}_{t-1}, v_t)` (Reddi, Kale & Kumar 2018), elementwise."""
    return get_array_module(v).maximum(v_max, v)
