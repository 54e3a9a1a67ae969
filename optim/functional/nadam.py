r"""NAdam (Adam with Nesterov momentum) as a pure function.

Dozat (2016), "Incorporating Nesterov Momentum into Adam" (ICLR workshop),
Algorithm 2, with the momentum schedule of its Section 3; decoupled weight
decay from Loshchilov & Hutter (2019). The form below is the one of the
``torch.optim.NAdam`` documentation (PyTorch 2.13), :math:`\psi` =
``momentum_decay``:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    &\text{if decoupled: } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)
     \qquad\text{else: } g_t \leftarrow g_t + \lambda\,\theta_{t-1} \\
    \mu_t &\leftarrow \beta_1 \big(1 - \tfrac12\, 0.96^{t\psi}\big) \\
    \mu_{t+1} &\leftarrow \beta_1 \big(1 - \tfrac12\, 0.96^{(t+1)\psi}\big) \\
    P_t &\leftarrow P_{t-1}\, \mu_t = \textstyle\prod_{i=1}^{t} \mu_i,
          \qquad P_0 = 1 \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    \hat m_t &\leftarrow \frac{\mu_{t+1}\, m_t}{1 - P_t\,\mu_{t+1}}
                       + \frac{(1-\mu_t)\, g_t}{1 - P_t} \\
    \hat v_t &\leftarrow v_t / (1 - \beta_2^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

:math:`\hat m_t` is the Nesterov look-ahead: the momentum of the *next* step
applied to :math:`m_t`, plus the current gradient with its own weight, each
bias-corrected by the product of the :math:`\mu` it has been through.

The schedule :math:`\mu_t` (``mu_schedule="dozat"``, the default; the paper
and PyTorch, :math:`\psi = 0.004 = 1/250` in the paper) warms the momentum up
slowly: with :math:`\beta_1 = 0.9`, :math:`\mu_1 = 0.4501`, :math:`\mu_{1000} = 0.5178`,
:math:`\mu_{10000} = 0.8121` (it tends to :math:`\beta_1`). Presentations that write NAdam with a
constant momentum (Adam with a Nesterov look-ahead: :math:`\mu_t = \beta_1`
for every :math:`t`, so :math:`P_t = \beta_1^t`) are ``mu_schedule="constant"``
(``momentum_decay`` is then unused). The often-quoted simplification
:math:`\theta_t \leftarrow \theta_{t-1} - \gamma(\beta_1 \hat m_t +
(1-\beta_1) g_t/(1-\beta_1^t))/(\sqrt{\hat v_t}+\epsilon)` with Adam's
:math:`\hat m_t = m_t/(1-\beta_1^t)` differs from the constant form only in
the bias correction of the momentum term (:math:`1-\beta_1^t` there,
:math:`1-\beta_1^{t+1}` here).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array, Update
from .flags import signed_gradient, weight_decay_step

__all__ = ["nadam", "nadam_init", "MU_SCHEDULES"]

MU_SCHEDULES = ("dozat", "constant")


def nadam_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`P_0 = 1`, :math:`m_0 = v_0 = 0`.

    ``mu_product`` is a Python float (PyTorch keeps a 0-d tensor of its
    default dtype, float32 unless changed).
    """
    xp = get_array_module(theta)
    return {"step": 0, "mu_product": 1.0, "exp_avg": xp.zeros_like(theta),
            "exp_avg_sq": xp.zeros_like(theta)}


def nadam(theta: Array, grad: Array, state: dict, *, lr: float = 2e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
          decoupled_weight_decay: bool = False, maximize: bool = False, mu_schedule: str = "dozat") -> Update:
    r"""One NAdam step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``mu_product`` (:math:`P_{t-1}`), ``exp_avg``
            (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\gamma`. beta1, beta2: :math:`\beta_1, \beta_2`.
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda`.
        momentum_decay: :math:`\psi`.
        decoupled_weight_decay, maximize: as in ``torch.optim.NAdam``.
        mu_schedule: ``"dozat"`` (default) or ``"constant"``
            (:math:`\mu_t = \beta_1`).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``mu_t``, ``mu_next`` (:math:`\mu_{t+1}`), ``mu_product``
        (:math:`P_t`), ``m``, ``v``, ``m_hat``, ``v_hat``. Inputs are not
        modified.
    """
    check_choice(mu_schedule, "mu_schedule", MU_SCHEDULES)
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)                                        # g_t (negated to maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay,   # theta (1 - gamma lambda)
                                 decoupled=decoupled_weight_decay)             # or g_t + lambda theta
    if mu_schedule == "dozat":
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))          # mu_t
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))  # mu_{t+1}
    else:
        mu_t = mu_next = beta1                                # constant momentum
    mu_product = state["mu_product"] * mu_t                   # P_t <- P_{t-1} mu_t
    m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g     # v_t
    m_hat = (mu_next * m / (1 - mu_product * mu_next)         # m_hat_t: look-ahead momentum
             + (1 - mu_t) * g / (1 - mu_product))             #   + current gradient
    v_hat = v / (1 - beta2 ** t)                              # v_hat_t <- v_t / (1 - beta2^t)
    theta = theta - lr * m_hat / (xp.sqrt(v_hat) + eps)       # theta_t
    new_state = {"step": t, "mu_product": mu_product, "exp_avg": m, "exp_avg_sq": v}
    intermediates = {"t": t, "g": g, "mu_t": mu_t, "mu_next": mu_next,
                     "mu_product": mu_product, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}
    return theta, new_state, intermediates
