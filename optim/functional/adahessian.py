r"""AdaHessian: Adam with the squared Hessian diagonal in place of the squared gradient.

Yao, Gholami, Shen, Mustafa, Keutzer & Mahoney (2021), "ADAHESSIAN: An
Adaptive Second Order Optimizer for Machine Learning", AAAI, Algorithm 1
(argument names of the reference code: ``lr``, ``betas``, ``eps``,
``weight_decay``, ``hessian_power``):

.. math::

    D_t &\leftarrow z \odot (H_t z), \quad z \text{ Rademacher}
        \quad(\text{Hutchinson; for a 4-d kernel } |D_t| \text{ averaged over its last two axes}) \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, D_t^2 \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\Big(\frac{m_t/(1-\beta_1^t)}{(v_t/(1-\beta_2^t))^{k/2} + \epsilon}
        + \lambda\,\theta_{t-1}\Big)

with :math:`k` the Hessian power (1: the full Newton-like scaling, 1/2 a
gentler one). The decay is decoupled, as in the paper. :math:`H_t z` is a
Hessian-vector product (the second backward pass that Sophia's Hutchinson
estimator uses too); the class :class:`optim.AdaHessian` computes it, this
module is the update given the estimate ``hessian_diag``. On a step without a
fresh estimate (``update_period > 1``) :math:`v` is kept.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import decoupled_decay, signed_gradient

__all__ = ["adahessian", "adahessian_init", "spatial_average"]


def adahessian_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_hessian_diag_sq": xp.zeros_like(theta)}


def spatial_average(D: Array) -> Array:
    r"""The paper's spatial averaging: for a 4-d kernel, :math:`|D|` averaged over its last two axes."""
    xp = get_array_module(D)
    if D.ndim != 4:
        return D
    return xp.broadcast_to(xp.abs(D).mean(axis=(2, 3), keepdims=True), D.shape)


def adahessian(theta: Array, grad: Array, state: dict, *, hessian_diag: Array | None, lr: float = 0.15,
               beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-4, weight_decay: float = 0.0,
               hessian_power: float = 1.0, maximize: bool = False) -> Update:
    r"""One AdaHessian step on one parameter, given the estimate :math:`D_t` (or None: keep :math:`v`).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``D`` (when given), ``m``, ``v``, ``denom``.
    """
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                                   # m_t
    intermediates = {"t": t, "g": g}
    if hessian_diag is not None:
        v = beta2 * state["exp_hessian_diag_sq"] + (1 - beta2) * hessian_diag * hessian_diag   # v_t
        intermediates["D"] = hessian_diag
    else:
        v = state["exp_hessian_diag_sq"].copy()                                       # kept (a new array)
    denom = (v / (1 - beta2 ** t)) ** (hessian_power / 2) + eps                      # (v / bc2)^(k/2) + eps
    update = (m / (1 - beta1 ** t)) / denom
    theta = decoupled_decay(theta, lr, weight_decay) - lr * update                    # theta_t
    intermediates.update(m=m, v=v, denom=denom)
    return theta, {"step": t, "exp_avg": m, "exp_hessian_diag_sq": v}, intermediates
