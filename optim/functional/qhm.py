r"""QHM and QHAdam: quasi-hyperbolic momentum, an average of the plain step and the momentum step.

Ma & Yarats (2019), "Quasi-hyperbolic momentum and Adam for deep learning",
Algorithm 1 (QHM) and Algorithm 2 (QHAdam), with the argument names of their
reference code (``momentum``/``nu`` and ``betas``/``nus``):

QHM, with :math:`\beta` = ``momentum`` and :math:`\nu` = ``nu``:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \quad(+ \lambda\theta \text{, or } \theta(1-\eta\lambda)
          \text{ with the "direct" decay}) \\
    b_t &\leftarrow \beta\, b_{t-1} + (1-\beta)\, g_t \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,\big[(1-\nu)\, g_t + \nu\, b_t\big]

:math:`\nu = 1` is (normalised) momentum SGD, :math:`\nu = 0` plain SGD,
:math:`\nu = \beta` Nesterov's momentum.

QHAdam:

.. math::

    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad \hat m_t \leftarrow m_t/(1-\beta_1^t) \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad \hat v_t \leftarrow v_t/(1-\beta_2^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,
      \frac{(1-\nu_1)\, g_t + \nu_1 \hat m_t}{\sqrt{(1-\nu_2)\, g_t^2 + \nu_2 \hat v_t} + \epsilon}

``nus=(1, 1)`` is Adam.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array, Update
from .flags import signed_gradient, weight_decay_step

__all__ = ["qhm", "qhm_init", "qhadam", "qhadam_init", "QHM_WEIGHT_DECAY_TYPES"]

QHM_WEIGHT_DECAY_TYPES = ("grad", "direct")


def qhm_init(theta: Array) -> dict:
    r"""The state before the first step: :math:`b_0 = 0` (``momentum_buffer``)."""
    return {"momentum_buffer": get_array_module(theta).zeros_like(theta)}


def qhm(theta: Array, grad: Array, state: dict, *, lr: float, momentum: float, nu: float,
        weight_decay: float = 0.0, weight_decay_type: str = "grad", maximize: bool = False) -> Update:
    r"""One QHM step on one parameter (the first formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``momentum_buffer`` (:math:`b`).
        lr: :math:`\eta`. momentum: :math:`\beta`. nu: :math:`\nu`.
        weight_decay: :math:`\lambda`; weight_decay_type: ``"grad"`` (L2 term
            in the gradient) or ``"direct"`` (:math:`\theta(1-\eta\lambda)`).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``g``, ``b``, ``d`` (the step direction).
    """
    check_choice(weight_decay_type, "weight_decay_type", QHM_WEIGHT_DECAY_TYPES)
    g = signed_gradient(grad, maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay,
                                 decoupled=weight_decay_type == "direct")
    b = momentum * state["momentum_buffer"] + (1 - momentum) * g      # b_t
    d = (1 - nu) * g + nu * b                                         # (1 - nu) g_t + nu b_t
    theta = theta - lr * d                                            # theta_t
    return theta, {"momentum_buffer": b}, {"g": g, "b": b, "d": d}


def qhadam_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}


def qhadam(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.995,
           beta2: float = 0.999, nu1: float = 0.7, nu2: float = 1.0, eps: float = 1e-8,
           weight_decay: float = 0.0, decouple_weight_decay: bool = False, maximize: bool = False) -> Update:
    r"""One QHAdam step on one parameter (the second formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`. nu1, nu2: :math:`\nu_1, \nu_2`.
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda` (L2, or AdamW's with ``decouple_weight_decay``).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``m``, ``v``, ``m_hat``, ``v_hat``, ``numer``, ``denom``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay, decoupled=decouple_weight_decay)
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                # m_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g         # v_t
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    numer = (1 - nu1) * g + nu1 * m_hat                           # (1 - nu1) g + nu1 m_hat
    denom = xp.sqrt((1 - nu2) * g * g + nu2 * v_hat) + eps        # sqrt((1 - nu2) g^2 + nu2 v_hat) + eps
    theta = theta - lr * numer / denom                            # theta_t
    return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {
        "t": t, "g": g, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat, "numer": numer, "denom": denom}
