r"""Adam, AMSGrad and AdamW as one pure function.

Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", Algorithm 1;
AMSGrad from Reddi, Kale & Kumar (2018), "On the Convergence of Adam and
Beyond"; decoupled weight decay (AdamW) from Loshchilov & Hutter (2019),
"Decoupled Weight Decay Regularization". The form is the one of the
``torch.optim.Adam`` / ``torch.optim.AdamW`` documentation (PyTorch 2.13):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    &\text{if decoupled: } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)
     \qquad\text{else: } g_t \leftarrow g_t + \lambda\,\theta_{t-1} \\
    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    v^{max}_t &\leftarrow \max(v^{max}_{t-1}, v_t)
          \quad(\text{amsgrad; } v^{max} \text{ replaces } v \text{ below}) \\
    \hat m_t &\leftarrow m_t / (1 - \beta_1^t) \\
    \hat v_t &\leftarrow v_t / (1 - \beta_2^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

``bias_correction="efficient"`` is the paper's reordering (end of its
Section 2), which folds both corrections into the step size and so moves
:math:`\epsilon` (written :math:`\hat\epsilon` there): the last three lines
become

.. math::

    \alpha_t &\leftarrow \gamma\, \sqrt{1 - \beta_2^t} / (1 - \beta_1^t) \\
    \theta_t &\leftarrow \theta_{t-1} - \alpha_t\, m_t / (\sqrt{v_t} + \hat\epsilon)

It equals the standard form with :math:`\epsilon = \hat\epsilon / \sqrt{1-\beta_2^t}`
(``docs/CONVENTIONS.md``), so the two differ in the first steps, while
:math:`1-\beta_2^t` is small.

In :func:`adam` the lines of Algorithm 1 come in order; PyTorch's flags are
the named steps of :mod:`optim.functional.flags` around them (``maximize``
and the two weight decays before, AMSGrad's maximum on :math:`v`).

Its in-place twin for the fast path is :func:`optim.fast.inplace.adam_`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array, Update
from .flags import amsgrad_max, signed_gradient, weight_decay_step

__all__ = ["adam", "adamw", "adam_init", "BIAS_CORRECTIONS"]

BIAS_CORRECTIONS = ("standard", "efficient")


def adam_init(theta: Array, *, amsgrad: bool = False) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0` (and :math:`v^{max}_0 = 0`)."""
    xp = get_array_module(theta)
    state = {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}
    if amsgrad:
        state["max_exp_avg_sq"] = xp.zeros_like(theta)
    return state


def adam(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
         maximize: bool = False, decoupled_weight_decay: bool = False, bias_correction: str = "standard") -> Update:
    r"""One Adam step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`),
            and ``max_exp_avg_sq`` (:math:`v^{max}`) with amsgrad.
        lr: :math:`\gamma`. beta1, beta2: :math:`\beta_1, \beta_2`.
        eps: :math:`\epsilon`. weight_decay: :math:`\lambda`.
        amsgrad, maximize, decoupled_weight_decay: as in ``torch.optim.Adam``.
        bias_correction: ``"standard"`` (Algorithm 1, PyTorch) or
            ``"efficient"`` (the paper's reordered form).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``m``, ``v`` (``v_max`` with amsgrad) and ``m_hat``, ``v_hat``
        (standard) or ``alpha_t`` (efficient). Inputs are not modified.
    """
    check_choice(bias_correction, "bias_correction", BIAS_CORRECTIONS)
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)                                        # g_t (negated to maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay,   # theta (1 - gamma lambda)
                                 decoupled=decoupled_weight_decay)             # or g_t + lambda theta
    m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_t
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g     # v_t
    new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}
    intermediates = {"t": t, "g": g, "m": m, "v": v}
    if amsgrad:
        v_max = amsgrad_max(state["max_exp_avg_sq"], v)       # v_max_t <- max(v_max_{t-1}, v_t)
        new_state["max_exp_avg_sq"] = intermediates["v_max"] = v_max
        v_used = v_max
    else:
        v_used = v
    if bias_correction == "standard":
        m_hat = m / (1 - beta1 ** t)                          # m_hat_t <- m_t / (1 - beta1^t)
        v_hat = v_used / (1 - beta2 ** t)                     # v_hat_t <- v_t / (1 - beta2^t)
        theta = theta - lr * m_hat / (xp.sqrt(v_hat) + eps)   # theta_t
        intermediates.update(m_hat=m_hat, v_hat=v_hat)
    else:
        alpha_t = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)   # alpha_t
        theta = theta - alpha_t * m / (xp.sqrt(v_used) + eps)       # theta_t
        intermediates["alpha_t"] = alpha_t
    return theta, new_state, intermediates


def adamw(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
          maximize: bool = False, bias_correction: str = "standard") -> Update:
    r"""AdamW: :func:`adam` with decoupled weight decay, :math:`\theta \leftarrow \theta(1-\gamma\lambda)`.

    Same state and intermediates as :func:`adam`; PyTorch's default
    :math:`\lambda = 10^{-2}`.
    """
    return adam(theta, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                decoupled_weight_decay=True, bias_correction=bias_correction)
