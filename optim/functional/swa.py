r"""Weight averaging (SWA, EMA) and the learning-rate schedules used with it.

Stochastic Weight Averaging: Izmailov, Podoprikhin, Garipov, Vetrov & Wilson
(2018), "Averaging Weights Leads to Wider Optima and Better Generalization"
(UAI), Algorithm 1 and eq. (1). PyTorch's ``torch.optim.swa_utils``
(2.13) implements the averaging and the ``SWALR`` annealing; the functions
here are those formulas on backend arrays, used by :mod:`optim.swa_utils`.

The running (equal-weight) average of the weights, after the first copy
:math:`\theta_{SWA} \leftarrow \theta` (:math:`n = 1`):

.. math::

    \theta_{SWA} \leftarrow \theta_{SWA} + \frac{\theta - \theta_{SWA}}{n + 1}
    \qquad\left(= \frac{n\,\theta_{SWA} + \theta}{n + 1}\right),
    \qquad n \leftarrow n + 1

The exponential moving average (EMA, Polyak averaging with exponential
weights), with decay :math:`\beta`:

.. math::

    \theta_{EMA} \leftarrow \beta\,\theta_{EMA} + (1 - \beta)\,\theta
                 = \operatorname{lerp}(\theta_{EMA}, \theta, 1 - \beta)

The paper's cyclical learning rate (eq. 1), with iteration :math:`i = 1, 2,
\ldots`, cycle length :math:`c`, and :math:`\alpha_1 \ge \alpha_2`:

.. math::

    s(i) &= \frac{1}{c}\left(\operatorname{mod}(i - 1, c) + 1\right) \\
    \alpha(i) &= (1 - s(i))\,\alpha_1 + s(i)\,\alpha_2

so within each cycle the rate falls linearly to :math:`\alpha_2`, reached at
the cycle's last iteration (:math:`i \equiv 0 \bmod c`), where the weights are
averaged; then it jumps back up. With :math:`c = 1` it is the constant
:math:`\alpha_2`.

``SWALR``'s annealing from the current rate to :math:`\alpha_{SWA}` over
:math:`T` epochs, :math:`\tau = \min(1, \text{epoch}/T)`:

.. math::

    a(\tau) &= \tfrac12(1 - \cos \pi\tau) \quad\text{("cos")}
       \qquad\text{or}\qquad a(\tau) = \tau \quad\text{("linear")} \\
    \alpha &= a(\tau)\,\alpha_{SWA} + (1 - a(\tau))\,\alpha_{start}
"""
from __future__ import annotations

import math

from ..types import Array

__all__ = ["lerp", "swa_average", "ema_average", "swa_cyclic_lr", "swalr_anneal"]


def lerp(start: Array, end: Array, weight: Array):
    r"""Linear interpolation :math:`\text{start} + w(\text{end} - \text{start})`, as ``torch.lerp``.

    PyTorch evaluates it from the nearer end, which keeps the result exact
    at :math:`w = 0` and :math:`w = 1`:
    :math:`\text{start} + w(\text{end}-\text{start})` for :math:`|w| < 0.5`,
    else :math:`\text{end} - (\text{end}-\text{start})(1 - w)`.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def swa_average(theta_swa: Array, theta: Array, n_averaged: int):
    r""":math:`\theta_{SWA} + (\theta - \theta_{SWA})/(n + 1)`: add one model to an average of ``n``."""
    return theta_swa + (theta - theta_swa) / (n_averaged + 1)


def ema_average(theta_ema: Array, theta: Array, decay):
    r""":math:`\beta\,\theta_{EMA} + (1-\beta)\,\theta`, written as ``lerp(theta_ema, theta, 1 - decay)``."""
    return lerp(theta_ema, theta, 1 - decay)


def swa_cyclic_lr(i: int, alpha_1: float, alpha_2: float, cycle_length: int):
    r"""The SWA paper's cyclical learning rate :math:`\alpha(i)` (eq. 1); ``i`` counts from 1.

    Returns ``(alpha_i, s_i)``.
    """
    if i < 1:
        raise ValueError(f"the iteration i counts from 1, got {i}")
    c = cycle_length
    s = ((i - 1) % c + 1) / c                       # s(i) = (mod(i - 1, c) + 1) / c
    alpha = (1 - s) * alpha_1 + s * alpha_2         # alpha(i) = (1 - s) alpha_1 + s alpha_2
    return alpha, s


def swalr_anneal(tau: float, strategy: str = "cos"):
    r"""``SWALR``'s annealing factor :math:`a(\tau)`: :math:`(1-\cos\pi\tau)/2` or :math:`\tau`."""
    if strategy == "cos":
        return (1 - math.cos(math.pi * tau)) / 2
    if strategy == "linear":
        return tau
    raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {strategy}")
