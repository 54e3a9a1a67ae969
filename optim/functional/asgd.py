r"""ASGD (averaged stochastic gradient descent) as a pure function.

Polyak & Juditsky (1992), "Acceleration of Stochastic Approximation by
Averaging"; the recursive form and the step-size schedule are Bottou's
("Stochastic Gradient Descent Tricks", in Neural Networks: Tricks of the
Trade, 2012) and Xu's (2011, "Towards Optimal One Pass Large Scale Learning
with Averaged Stochastic Gradient Descent"). ``torch.optim.ASGD`` (PyTorch
2.13) implements:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda_{wd}\,\theta_{t-1} \\
    \theta_t &\leftarrow \theta_{t-1}(1 - \lambda\eta_t) - \eta_t\, g_t \\
    \bar\theta_t &\leftarrow \begin{cases} \theta_t & \mu_t = 1 \\
        \bar\theta_{t-1} + \mu_t(\theta_t - \bar\theta_{t-1}) & \text{otherwise}
        \end{cases} \\
    \eta_{t+1} &\leftarrow \gamma / (1 + \lambda\gamma t)^{\alpha} \\
    \mu_{t+1} &\leftarrow 1 / \max(1,\ t - t_0)

with :math:`\eta_1 = \gamma` (``lr``), :math:`\mu_1 = 1`, :math:`\lambda` =
``lambd`` (the regulariser of Bottou's objective, applied as a decay of
:math:`\theta`, separately from ``weight_decay`` :math:`\lambda_{wd}`),
:math:`\alpha` = ``alpha`` and :math:`t_0` = ``t0``.

What to read from it:

* The parameters are the plain SGD iterates :math:`\theta_t`; the average
  :math:`\bar\theta_t` is kept in the state (``ax``) and is what one
  evaluates at the end (copy it into the model). The lecture's ASGD returns
  the average itself.
* Averaging starts after :math:`t_0` steps (PyTorch's default :math:`10^6`:
  in a short run ``ax`` is just a copy of :math:`\theta_t`). The recursion
  uses the :math:`\mu` computed at the end of the previous step, so with
  :math:`t_0 = 0` the average at step :math:`t` is the mean of
  :math:`\theta_2, \dots, \theta_t` (:math:`\theta_1` is replaced, not
  averaged in), and in general of :math:`\theta_{t_0+2}, \dots, \theta_t`.
  :math:`t_0 = -1` gives :math:`\mu_{t+1} = 1/(t+1)`, so the average is
  exactly the lecture's mean of all the iterates :math:`\theta_1, \dots,
  \theta_t`.
* The state ``eta`` and ``mu`` hold the values for the *next* step
  (:math:`\eta_{t+1}, \mu_{t+1}`); the intermediates ``eta`` and ``mu`` are
  the ones this step used. A change of ``lr`` reaches :math:`\eta` one step
  late, as in PyTorch.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import l2_penalty, signed_gradient

__all__ = ["asgd", "asgd_init"]


def asgd_init(theta: Array, *, lr: float = 1e-2) -> dict:
    r"""The state before the first step: :math:`\eta_1 = \gamma`, :math:`\mu_1 = 1`, ``ax`` = 0.

    ``eta`` and ``mu`` are Python floats (PyTorch keeps 0-d tensors of its
    default dtype, float32 unless changed).
    """
    xp = get_array_module(theta)
    return {"step": 0, "eta": float(lr), "mu": 1.0, "ax": xp.zeros_like(theta)}


def asgd(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, lambd: float = 1e-4,
         alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0, maximize: bool = False) -> Update:
    r"""One ASGD step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``eta`` (:math:`\eta_t`), ``mu`` (:math:`\mu_t`),
            ``ax`` (:math:`\bar\theta_{t-1}`).
        lr: :math:`\gamma`. lambd: :math:`\lambda`. alpha: :math:`\alpha`.
        t0: :math:`t_0`. weight_decay: :math:`\lambda_{wd}` (L2, coupled).
        maximize: as in ``torch.optim.ASGD``.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``eta`` and ``mu`` (the values used at this step) and
        ``theta_bar`` (:math:`\bar\theta_t`). Inputs are not modified.
    """
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)           # g_t (negated to maximize)
    g = l2_penalty(g, theta, weight_decay)        # g_t <- g_t + lambda_wd theta_{t-1}
    eta = state["eta"]                              # eta_t
    mu = state["mu"]                                # mu_t
    theta = theta * (1 - lambd * eta) - eta * g     # theta_t <- theta(1 - lambda eta_t) - eta_t g_t
    if mu != 1:
        theta_bar = state["ax"] + mu * (theta - state["ax"])  # theta_bar_t (running average)
    else:
        theta_bar = theta.copy()                    # theta_bar_t <- theta_t
    eta_next = lr / (1 + lambd * lr * t) ** alpha   # eta_{t+1}
    mu_next = 1 / max(1, t - t0)                    # mu_{t+1}
    new_state = {"step": t, "eta": eta_next, "mu": mu_next, "ax": theta_bar}
    return theta, new_state, {"t": t, "g": g, "eta": eta, "mu": mu, "theta_bar": theta_bar}
