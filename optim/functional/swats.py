r"""SWATS: start with Adam, switch to SGD once the projected step size is stable.

Keskar & Socher (2017), "Improving Generalization Performance by Switching
from Adam to SGD", Algorithm 1. With :math:`k` counted from 1, learning rate
:math:`\alpha_k`, :math:`v_0 = 0`, :math:`\lambda_0 = 0` and
``phase = Adam``:

.. math::

    g_k &\leftarrow \nabla f(w_{k-1}) \\[2pt]
    &\textbf{SGD phase:}\quad
      v_k \leftarrow \beta_1 v_{k-1} + g_k, \qquad
      w_k \leftarrow w_{k-1} - (1-\beta_1)\,\Lambda\, v_k \\[2pt]
    &\textbf{Adam phase:} \\
    m_k &\leftarrow \beta_1 m_{k-1} + (1-\beta_1)\, g_k \\
    a_k &\leftarrow \beta_2 a_{k-1} + (1-\beta_2)\, g_k^2 \\
    p_k &\leftarrow -\alpha_k\, \frac{\sqrt{1-\beta_2^k}}{1-\beta_1^k}\,
                    \frac{m_k}{\sqrt{a_k} + \epsilon} \\
    w_k &\leftarrow w_{k-1} + p_k \\
    &\text{if } p_k^\top g_k \ne 0: \\
    &\qquad \gamma_k \leftarrow \frac{p_k^\top p_k}{-p_k^\top g_k}
       \quad(\text{the SGD step size whose step, projected on } p_k, \text{ is } p_k) \\
    &\qquad \lambda_k \leftarrow \beta_2 \lambda_{k-1} + (1-\beta_2)\,\gamma_k \\
    &\qquad \text{if } k > 1 \text{ and }
        \lvert \lambda_k/(1-\beta_2^k) - \gamma_k\rvert < \epsilon:
       \quad \text{phase} \leftarrow \text{SGD},\ v_k \leftarrow 0,\
       \Lambda \leftarrow \lambda_k/(1-\beta_2^k) \\
    &\text{else: } \lambda_k \leftarrow \lambda_{k-1}

The paper uses one :math:`\epsilon = 10^{-9}` both in Adam's denominator and
in the switching test; here they are two arguments, ``eps`` and
``switch_eps``, both 1e-9 by default. The SGD phase is momentum SGD with
:math:`\beta_1` as its momentum and the factor :math:`1-\beta_1`, exactly as
Algorithm 1 writes it (so :math:`(1-\beta_1)v` is an average of gradients).

Choices of this implementation (documented in ``optim.SWATS`` too):

* Per layer. Algorithm 1 is written for the whole weight vector :math:`w`;
  the paper computes the estimate per layer in practice. Here each parameter
  tensor runs the algorithm on its own: its own :math:`\gamma_k`,
  :math:`\lambda_k`, switch and :math:`\Lambda`, and ``switch_step`` in its
  state records when it switched.
* A switch also requires :math:`\Lambda > 0` (Algorithm 1 does not write
  it): a negative estimate would turn the SGD phase into gradient ascent.
* Schedules after the switch: the SGD learning rate is
  :math:`\Lambda \cdot \alpha_k / \alpha_{k_s}` (``alpha_k`` the group's
  current ``lr``, :math:`\alpha_{k_s}` its value at the switch), so a
  scheduler that decays ``lr`` by 10 decays the SGD rate by 10, as the
  paper's experiments do; with a constant ``lr`` it is :math:`\Lambda`.
* ``weight_decay`` :math:`\lambda_{wd}` (default 0; not in Algorithm 1) is an
  L2 term added to :math:`g_k` in both phases.
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty

__all__ = ["swats", "swats_init"]


def swats_init(theta: Array) -> dict:
    r"""The state before the first step: Adam phase, :math:`m_0 = a_0 = 0`, :math:`\lambda_0 = 0`.

    Keys: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`a`),
    ``exp_avg_gamma`` (:math:`\lambda`), ``phase`` (``"adam"`` or ``"sgd"``),
    and after the switch ``sgd_lr`` (:math:`\Lambda`), ``switch_lr`` (the
    group's ``lr`` then), ``switch_step`` (:math:`k` of the switch) and
    ``momentum_buffer`` (:math:`v`).
    """
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta),
            "exp_avg_gamma": 0.0, "phase": "adam"}


def swats(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-9, switch_eps: float = 1e-9, weight_decay: float = 0.0) -> Update:
    r"""One SWATS step on one parameter tensor (Algorithm 1, per layer; see the module docstring).

    Args:
        theta, grad: :math:`w_{k-1}` and :math:`g_k`.
        state: see :func:`swats_init`.
        lr: :math:`\alpha_k`. beta1, beta2: :math:`\beta_1, \beta_2`.
        eps: Adam's :math:`\epsilon`. switch_eps: the switching tolerance.
        weight_decay: L2 penalty added to the gradient (default 0).

    Returns:
        ``(theta_new, new_state, intermediates)``. Adam phase: ``t``, ``g``,
        ``m``, ``a``, ``p``, and when :math:`p^\top g \ne 0` also ``gamma``
        (:math:`\gamma_k`), ``lambda`` (:math:`\lambda_k`) and ``Lambda``
        (:math:`\lambda_k/(1-\beta_2^k)`); ``switched`` (bool) always, and on
        the switching step ``switch_step``. SGD phase: ``t``, ``g``, ``v``
        and ``lr_sgd`` (the rate used). Inputs are not modified.
    """
    xp = get_array_module(theta)
    k = state["step"] + 1                                     # k <- k + 1
    g = grad                                                  # g_k
    g = l2_penalty(g, theta, weight_decay)                  # L2 term (not in Algorithm 1)
    w = theta

    if state["phase"] == "sgd":
        v_prev = state.get("momentum_buffer")
        if v_prev is None:
            v_prev = xp.zeros_like(w)
        v = beta1 * v_prev + g                                # v_k = beta1 v_{k-1} + g_k
        lr_sgd = state["sgd_lr"] * (lr / state["switch_lr"])  # Lambda (scaled by any schedule)
        w = w - (1 - beta1) * lr_sgd * v                      # w_k = w_{k-1} - (1-beta1) Lambda v_k
        new_state = {**state, "step": k, "momentum_buffer": v}
        return w, new_state, {"t": k, "g": g, "v": v, "lr_sgd": lr_sgd}

    m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_k
    a = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g     # a_k
    p = -lr * math.sqrt(1 - beta2 ** k) / (1 - beta1 ** k) * m / (xp.sqrt(a) + eps)   # p_k
    w = w + p                                                 # w_k = w_{k-1} + p_k
    new_state = {"step": k, "exp_avg": m, "exp_avg_sq": a,
                 "exp_avg_gamma": state["exp_avg_gamma"], "phase": "adam"}
    intermediates = {"t": k, "g": g, "m": m, "a": a, "p": p, "switched": False}
    pg = float(xp.sum(p * g))                                 # p_k^T g_k
    if pg != 0:
        gamma = float(xp.sum(p * p)) / -pg                    # gamma_k = p^T p / (-p^T g)
        lam = beta2 * state["exp_avg_gamma"] + (1 - beta2) * gamma   # lambda_k
        Lambda = lam / (1 - beta2 ** k)                       # lambda_k / (1 - beta2^k)
        new_state["exp_avg_gamma"] = lam
        intermediates.update(gamma=gamma, **{"lambda": lam, "Lambda": Lambda})
        if k > 1 and abs(Lambda - gamma) < switch_eps and Lambda > 0:
            new_state.update(phase="sgd", sgd_lr=Lambda, switch_lr=lr, switch_step=k,
                             momentum_buffer=xp.zeros_like(w))   # v_k = 0, Lambda fixed
            intermediates.update(switched=True, switch_step=k)
    return w, new_state, intermediates
