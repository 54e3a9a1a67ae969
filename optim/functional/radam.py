r"""RAdam (rectified Adam) as a pure function.

Liu, Jiang, He, Chen, Liu, Gao & Han (2020), "On the Variance of the Adaptive
Learning Rate and Beyond" (ICLR), Algorithm 2; decoupled weight decay from
Loshchilov & Hutter (2019). The form below is the one of the
``torch.optim.RAdam`` documentation (PyTorch 2.13), with the threshold
:math:`\tau` (``threshold``) written out:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    &\text{if decoupled: } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)
     \qquad\text{else: } g_t \leftarrow g_t + \lambda\,\theta_{t-1} \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    \hat m_t &\leftarrow m_t / (1 - \beta_1^t) \\
    \rho_\infty &\leftarrow 2/(1-\beta_2) - 1 \\
    \rho_t &\leftarrow \rho_\infty - 2t\beta_2^t / (1 - \beta_2^t) \\
    &\textbf{if } \rho_t > \tau: \\
    &\qquad r_t \leftarrow \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}
                                  {(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}} \\
    &\qquad l_t \leftarrow \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} \\
    &\qquad \theta_t \leftarrow \theta_{t-1} - \gamma\, \hat m_t\, r_t\, l_t \\
    &\textbf{else}: \\
    &\qquad \theta_t \leftarrow \theta_{t-1} - \gamma\, \hat m_t
          \quad(\text{degenerated\_to\_sgd; otherwise } \theta_t = \theta_{t-1})

:math:`\rho_t` is the length of the simple moving average that approximates
the exponential one; the variance of the adaptive learning rate
:math:`\sqrt{1/\hat v_t}` exists only for :math:`\rho_t > 4`, and :math:`r_t`
is the ratio of its standard deviation at :math:`\rho_\infty` to the one at
:math:`\rho_t`. Until :math:`\rho_t` passes the threshold the step is SGD
with (bias-corrected) momentum.

The threshold. The paper's Algorithm 2 rectifies as soon as :math:`\rho_t >
4` (``threshold=4``). PyTorch (and the authors' repository, which writes
:math:`\rho_t \ge 5`) uses 5, the default here, being "more conservative
since it's an approximated value". With :math:`\beta_2 = 0.999`,
:math:`\rho_5 = 4.996` and :math:`\rho_6 = 5.994`: threshold 4 rectifies from
step 5 on, threshold 5 from step 6 on. Values below 4 are refused
(:math:`r_t` is not real there).

The early steps. PyTorch takes the un-rectified SGD-with-momentum step
:math:`\theta \mathrel{-}= \gamma \hat m_t` while :math:`\rho_t \le \tau`
(``degenerated_to_sgd=True``, the default). The authors' repository has the
same option, ``degenerated_to_sgd``; with ``False`` the parameter is not
updated at all while :math:`\rho_t \le \tau`: the moments :math:`m, v` and
the step count still advance, a coupled L2 term still enters :math:`g_t`
(and so the moments), but the decoupled decay
:math:`\theta(1-\gamma\lambda)` is skipped too (the repository applies its
decay only when it updates the parameter). The paper's :math:`l_t` has no
:math:`\epsilon`; PyTorch adds it to :math:`\sqrt{v_t}` (the raw, not the
bias-corrected, second moment), as here.
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient, weight_decay_step

__all__ = ["radam", "radam_init", "check_threshold"]


def check_threshold(threshold: float) -> None:
    r"""Require :math:`\rho_t`'s threshold to be at least 4: the rectification term needs :math:`\rho_t > 4`."""
    if not threshold >= 4:
        raise ValueError(f"Invalid threshold value: {threshold} (the rectification term "
                         "needs rho_t > 4, so the threshold must be >= 4)")


def radam_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}


def radam(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
          decoupled_weight_decay: bool = False, maximize: bool = False, threshold: float = 5.0,
          degenerated_to_sgd: bool = True) -> Update:
    r"""One RAdam step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\gamma`. beta1, beta2: :math:`\beta_1, \beta_2`.
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda`.
        decoupled_weight_decay, maximize: as in ``torch.optim.RAdam``.
        threshold: :math:`\tau`; rectify when :math:`\rho_t > \tau`
            (default 5 as PyTorch; the paper's is 4; must be >= 4).
        degenerated_to_sgd: while not rectified, step with
            :math:`\gamma \hat m_t` (default, PyTorch) or not at all (False).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``m``, ``v``, ``m_hat``, ``rho_inf``, ``rho_t``, ``rectified``
        (bool) and, on rectified steps only, ``r_t`` and ``l_t``. Inputs are
        not modified.
    """
    check_threshold(threshold)
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)             # g_t (negated to maximize)
    rho_inf = 2 / (1 - beta2) - 1                                  # rho_inf
    rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)        # rho_t
    rectified = rho_t > threshold
    moves = rectified or degenerated_to_sgd         # does theta change at this step?
    if moves or not decoupled_weight_decay:         # (decoupled decay only on a step that moves)
        theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay,   # theta (1 - gamma lambda)
                                     decoupled=decoupled_weight_decay)             # or g_t + lambda theta
    m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g     # v_t
    m_hat = m / (1 - beta1 ** t)                              # m_hat_t <- m_t / (1 - beta1^t)
    intermediates = {"t": t, "g": g, "m": m, "v": v, "m_hat": m_hat,
                     "rho_inf": rho_inf, "rho_t": rho_t, "rectified": rectified}
    if rectified:
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t))     # r_t
        l_t = (1 - beta2 ** t) ** 0.5 / (xp.sqrt(v) + eps)             # l_t
        theta = theta - lr * m_hat * r_t * l_t        # theta_t <- theta - gamma m_hat r_t l_t
        intermediates.update(r_t=r_t, l_t=l_t)
    elif degenerated_to_sgd:
        theta = theta - lr * m_hat                    # theta_t <- theta - gamma m_hat
    else:
        theta = theta.copy()                          # no update while not rectified
    return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, intermediates
