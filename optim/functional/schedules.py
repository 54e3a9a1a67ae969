r"""Learning-rate schedules as pure functions of the step: the closed forms.

Each function gives the learning rate (or the factor on it) at step or epoch
:math:`t` from the schedule's constants alone, with no state: the formula of
the lecture or paper, written once. The scheduler classes of
:mod:`optim.lr_scheduler` call them (their ``step(epoch)`` closed forms), and
so do the optimizers with a built-in schedule (Ranger21's warmup and
warmdown).

.. math::

    \text{step decay} &\quad \eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor} \\
    \text{exponential} &\quad \eta_t = \eta_0\,\gamma^{t} \\
    \text{polynomial} &\quad \eta_t = \eta_0\,(1 - \min(t, T)/T)^{p} \\
    \text{hyperbolic} &\quad \eta_t = \eta_0 / (1 + k t) \\
    \text{cosine annealing} &\quad \eta_t = \eta_{min} + \tfrac12(\eta_{max} - \eta_{min})
                                         (1 + \cos(\pi t / T_{max})) \\
    \text{linear warmup} &\quad \eta_t = \eta \min(1, t/\tau) \\
    \text{Noam} &\quad \eta_s = d_{model}^{-1/2} \min(s^{-1/2}, s\, w^{-3/2})

Ma & Yarats' untuned warmup length
----------------------------------
Ma & Yarats (2021), "On the adequacy of untuned warmup for adaptive
optimization" (AAAI), warm Adam up linearly over :math:`2/(1-\beta_2)` steps
(:func:`untuned_warmup_period`, the paper's length, not rounded). As a number
of whole steps it is :func:`untuned_warmup_steps`, :math:`\lceil 2/(1-\beta_2)
\rceil`, where a quotient within a relative :math:`10^{-9}` of an integer *is*
that integer: :math:`1 - \beta_2` is rarely exact in floating point, so
``2 / (1 - 0.9)`` is 20.000000000000004 and ``2 / (1 - 0.99999)`` is
200000.0000009, and both are meant as 20 and 200000. ``LinearWarmupLR`` and
Ranger21 both use this one definition.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable

__all__ = [
    "step_decay", "multistep_decay", "constant_warmup", "linear_ramp", "exponential_decay",
    "polynomial_decay", "cosine_annealing", "hyperbolic_decay", "noam_rate",
    "cyclic_position", "anneal_cos", "anneal_linear", "linear_warmup", "linear_warmdown",
    "untuned_warmup_period", "untuned_warmup_steps",
]


def step_decay(t: int, eta_0: float, step_size: int, gamma: float) -> float:
    r""":math:`\eta_0\,\gamma^{\lfloor t/s \rfloor}` (``StepLR``)."""
    return eta_0 * gamma ** (t // step_size)


def multistep_decay(t: int, eta_0: float, milestones: Iterable[int], gamma: float) -> float:
    r""":math:`\eta_0\,\gamma^{\#\{m \le t\}}` over the sorted ``milestones`` (``MultiStepLR``)."""
    return eta_0 * gamma ** bisect_right(milestones, t)


def constant_warmup(t: int, eta_0: float, factor: float, total_iters: int) -> float:
    r""":math:`\eta_0 f` for :math:`t < T`, then :math:`\eta_0` (``ConstantLR``)."""
    return eta_0 * (factor + (t >= total_iters) * (1 - factor))


def linear_ramp(t: int, eta_0: float, start_factor: float, end_factor: float,
                total_iters: int) -> float:
    r""":math:`\eta_0\,(s + (e - s)\min(t, T)/T)` (``LinearLR``)."""
    s, e, T = start_factor, end_factor, total_iters
    return eta_0 * (s + (e - s) * min(T, t) / T)


def exponential_decay(t: int, eta_0: float, gamma: float) -> float:
    r""":math:`\eta_0\,\gamma^t` (``ExponentialLR``)."""
    return eta_0 * gamma ** t


def polynomial_decay(t: int, eta_0: float, total_iters: int, power: float) -> float:
    r""":math:`\eta_0\,(1 - \min(t, T)/T)^p` (``PolynomialLR``)."""
    T = total_iters
    return eta_0 * (1.0 - min(T, t) / T) ** power


def cosine_annealing(t: float, T_max: float, eta_min: float, eta_max: float) -> float:
    r""":math:`\eta_{min} + (\eta_{max} - \eta_{min})(1 + \cos(\pi t/T_{max}))/2`.

    Loshchilov & Hutter (2017), "SGDR", eq. (5): ``CosineAnnealingLR``
    (:math:`t` = epoch, :math:`T_{max}`) and ``CosineAnnealingWarmRestarts``
    (:math:`t = T_{cur}`, :math:`T_{max} = T_i`).
    """
    return eta_min + (eta_max - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def hyperbolic_decay(t: int, eta_0: float, k: float) -> float:
    r""":math:`\eta_0/(1 + k t)`, the lectures' "1/t" decay (``HyperbolicLR``)."""
    return eta_0 / (1.0 + k * t)


def noam_rate(s: int, d_model: int, warmup_steps: int) -> float:
    r""":math:`d_{model}^{-1/2}\min(s^{-1/2}, s\,w^{-3/2})` (Vaswani et al. 2017, eq. 3; no factor)."""
    return d_model ** -0.5 * min(s ** -0.5, s * warmup_steps ** -1.5)


def cyclic_position(t: int, total_size: float, step_ratio: float) -> tuple:
    r"""Where step :math:`t` is in a triangular cycle (Smith 2017, ``CyclicLR``).

    Returns ``(cycle, height)``: the cycle number (from 1) and the height of
    the triangle, 0 at the cycle's ends, 1 after ``step_ratio`` of it.
    """
    cycle = math.floor(1 + t / total_size)
    x = 1.0 + t / total_size - cycle
    if x <= step_ratio:
        height = x / step_ratio
    else:
        height = (x - 1) / (step_ratio - 1)
    return cycle, height


def anneal_cos(start: float, end: float, pct: float) -> float:
    r"""From ``start`` to ``end`` by a half cosine: :math:`v + (u - v)(1 + \cos\pi\tau)/2` (``OneCycleLR``)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def anneal_linear(start: float, end: float, pct: float) -> float:
    r"""From ``start`` to ``end`` linearly: :math:`u + (v - u)\tau` (``OneCycleLR``)."""
    return (end - start) * pct + start


def linear_warmup(t: float, warmup: float) -> float:
    r"""The warmup factor :math:`\min(1, t/\tau)` (1 when ``warmup`` is 0)."""
    return 1.0 if warmup <= 0 else min(1.0, t / warmup)


def linear_warmdown(t: int, *, lr: float, num_iterations: int | None, start: float = 0.72,
                    min_lr: float = 3e-5) -> float:
    r"""Ranger21's linear warmdown over the last :math:`1-p` of :math:`T` steps.

    :math:`\eta_t = \eta - (\eta - \eta_{min})\min(1, (t - t_0)/(T - t_0))` for
    :math:`t > t_0 = \lfloor pT \rfloor`, else :math:`\eta` (also when
    ``num_iterations`` is None).
    """
    if num_iterations is None:
        return lr
    t0 = int(start * num_iterations)
    if t <= t0 or num_iterations <= t0:
        return lr
    return lr - (lr - min_lr) * min(1.0, (t - t0) / (num_iterations - t0))


def _check_beta2(beta2: float) -> None:
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"Expected 0 <= beta2 < 1, but got {beta2}")


def untuned_warmup_period(beta2: float) -> float:
    r"""Ma & Yarats' warmup length :math:`2/(1-\beta_2)`, not rounded (module docstring)."""
    _check_beta2(beta2)
    return 2.0 / (1.0 - beta2)


def untuned_warmup_steps(beta2: float) -> int:
    r"""Ma & Yarats' warmup length in whole steps, :math:`\lceil 2/(1-\beta_2)\rceil` (module docstring).

    0.9, 0.99, 0.999, 0.9999, 0.99999 give 20, 200, 2000, 20000, 200000.
    """
    q = untuned_warmup_period(beta2)
    nearest = round(q)
    if abs(q - nearest) <= 1e-9 * q:
        return max(1, int(nearest))
    return max(1, math.ceil(q))
