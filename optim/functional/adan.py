r"""Adan: Nesterov momentum estimated from gradient differences.

Xie et al. (2022/2024), "Adan: Adaptive Nesterov Momentum Algorithm for Faster
Optimizing Deep Models", Algorithm 1, in the form of the authors' reference
code (its bias corrections, and its :math:`\beta`'s, which are the paper's
:math:`1-\beta`'s: defaults ``betas=(0.98, 0.92, 0.99)``):

.. math::

    g_k &\leftarrow \nabla f_k(\theta_k), \qquad g_0 = g_1 \ (\text{so the first difference is } 0) \\
    m_k &\leftarrow \beta_1 m_{k-1} + (1-\beta_1)\, g_k \\
    v_k &\leftarrow \beta_2 v_{k-1} + (1-\beta_2)\,(g_k - g_{k-1}) \\
    n_k &\leftarrow \beta_3 n_{k-1} + (1-\beta_3)\,\big[g_k + \beta_2 (g_k - g_{k-1})\big]^2 \\
    \hat m_k, \hat v_k, \hat n_k &\leftarrow m_k/(1-\beta_1^k),\ v_k/(1-\beta_2^k),\ n_k/(1-\beta_3^k) \\
    u_k &\leftarrow (\hat m_k + \beta_2 \hat v_k) / (\sqrt{\hat n_k} + \epsilon) \\
    \theta_{k+1} &\leftarrow (\theta_k - \eta\, u_k)/(1 + \lambda\eta)
      \qquad(\text{no\_prox: } \theta_k(1-\lambda\eta) - \eta\, u_k)

The last line is the proximal step of the L2 penalty (the paper's); the
reference code's ``no_prox=True`` decays the weights first, as AdamW does.
The reference code's ``max_grad_norm`` (a clipping of the global gradient
norm before the step) is not part of the formula and is left out.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import decoupled_decay, signed_gradient

__all__ = ["adan", "adan_init"]


def adan_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = n_0 = 0`; ``pre_grad`` is set at step 1."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_diff": xp.zeros_like(theta),
            "exp_avg_sq": xp.zeros_like(theta)}


def adan(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.98,
         beta2: float = 0.92, beta3: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
         no_prox: bool = False, maximize: bool = False) -> Update:
    r"""One Adan step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_k` and :math:`\nabla f_k(\theta_k)`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_diff`` (:math:`v`),
            ``exp_avg_sq`` (:math:`n`) and, after the first step, ``pre_grad``
            (:math:`g_{k-1}`).
        lr: :math:`\eta`. beta1, beta2, beta3: the reference code's betas.
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda`.
        no_prox: decay the weights before the step instead of the proximal division.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``k``,
        ``g``, ``diff``, ``m``, ``v``, ``n``, ``m_hat``, ``v_hat``, ``n_hat``, ``u``.
    """
    xp = get_array_module(theta)
    k = state["step"] + 1
    g = signed_gradient(grad, maximize)                                   # g_k
    g_prev = state.get("pre_grad", g)                                     # g_{k-1} (g_0 = g_1)
    diff = g - g_prev                                                     # g_k - g_{k-1}
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                        # m_k
    v = beta2 * state["exp_avg_diff"] + (1 - beta2) * diff                # v_k
    n = beta3 * state["exp_avg_sq"] + (1 - beta3) * (g + beta2 * diff) ** 2   # n_k
    m_hat = m / (1 - beta1 ** k)
    v_hat = v / (1 - beta2 ** k)
    n_hat = n / (1 - beta3 ** k)
    u = (m_hat + beta2 * v_hat) / (xp.sqrt(n_hat) + eps)                  # u_k
    if no_prox:
        theta = decoupled_decay(theta, lr, weight_decay) - lr * u         # theta (1 - lambda eta) - eta u
    else:
        theta = (theta - lr * u) / (1 + weight_decay * lr)                # proximal step
    # pre_grad is a copy: .grad may be zeroed in place before the next step
    new_state = {"step": k, "exp_avg": m, "exp_avg_diff": v, "exp_avg_sq": n, "pre_grad": g.copy()}
    return theta, new_state, {"k": k, "g": g, "diff": diff, "m": m, "v": v, "n": n,
                              "m_hat": m_hat, "v_hat": v_hat, "n_hat": n_hat, "u": u}
