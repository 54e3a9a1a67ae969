r"""Adafactor as a pure function.

Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear
Memory Cost", Algorithms 4 (matrices) and 5 (vectors), with relative step
sizes (Section 8) and update clipping (Section 6). The form below is the one
of the ``torch.optim.Adafactor`` documentation and code (PyTorch 2.13),
:math:`\tau` = ``beta2_decay``, :math:`(\epsilon_1, \epsilon_2)` = ``eps``:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    \hat\beta_{2t} &\leftarrow 1 - t^{\tau} \\
    \rho_t &\leftarrow \min(\gamma,\ 1/\sqrt t) \\
    \alpha_t &\leftarrow \max(\epsilon_2,\ \mathrm{RMS}(\theta_{t-1}))\, \rho_t \\
    \theta_{t-1} &\leftarrow \theta_{t-1}(1 - \gamma\lambda) \\
    &\textbf{if } \dim\theta \ge 2 \text{ (factored over the last two axes, } n \times m\text{)}: \\
    &\qquad R_t \leftarrow \hat\beta_{2t} R_{t-1} + (1-\hat\beta_{2t})\,
            \mathrm{mean}_{\text{cols}}(g_t \odot g_t) \quad(n \times 1) \\
    &\qquad C_t \leftarrow \hat\beta_{2t} C_{t-1} + (1-\hat\beta_{2t})\,
            \mathrm{mean}_{\text{rows}}(g_t \odot g_t) \quad(1 \times m) \\
    &\qquad \hat V_t \leftarrow R_t C_t / \max(\mathrm{mean}(R_t),\ \epsilon_1) \\
    &\textbf{else}: \\
    &\qquad \hat V_t \leftarrow \hat\beta_{2t} \hat V_{t-1} + (1-\hat\beta_{2t})\, g_t \odot g_t \\
    U_t &\leftarrow g_t / \max(\sqrt{\hat V_t},\ \epsilon_1) \\
    \hat U_t &\leftarrow U_t / \max(1,\ \mathrm{RMS}(U_t)/d) \\
    \theta_t &\leftarrow \theta_{t-1} - \alpha_t \hat U_t

:math:`\mathrm{RMS}(x) = \lVert x\rVert_2/\sqrt{\text{numel}(x)}`. Tensors
with more than two axes are factored over the last two (the leading axes are
batch axes: one :math:`R, C` pair per slice); 0-d and 1-d ones keep a full
:math:`\hat V`. The paper writes the gradient :math:`G_t` and the factors with
sums, :math:`R_t = \ldots (G_t^2)1_m`, :math:`\hat V_t = R_tC_t/(1_n^\top R_t)`;
means give the same :math:`\hat V_t`.
:math:`\epsilon_1` = None means the machine epsilon of the parameter's dtype.

Where PyTorch and the paper differ:

* The relative step :math:`\rho_t = \min(10^{-2}, 1/\sqrt t)` of the paper
  caps at the constant :math:`10^{-2}`; PyTorch caps at ``lr`` (default
  :math:`10^{-2}`, so the defaults agree). There is no other learning rate:
  :math:`\alpha_t` scales the step by the size of the parameter.
* Weight decay is PyTorch's addition (decoupled, scaled by ``lr``, not by
  :math:`\alpha_t`); the paper has none (``weight_decay=0``, the default).
* :math:`\epsilon_1`: the paper adds it to every squared gradient,
  :math:`R_t \leftarrow \ldots (g_t^2 + \epsilon_1)`, :math:`C_t` likewise and
  :math:`\hat V_t \leftarrow \hat\beta_{2t}\hat V_{t-1} +
  (1-\hat\beta_{2t})(g_t^2 + \epsilon_1)` for vectors, and then uses no floor:
  :math:`\hat V_t = R_tC_t/\mathrm{mean}(R_t)`, :math:`U_t = g_t/\sqrt{\hat V_t}`.
  PyTorch leaves the factors alone and floors :math:`\mathrm{mean}(R_t)` at
  :math:`\epsilon_1` and :math:`\sqrt{\hat V_t}` at :math:`\epsilon_1`
  instead. ``eps1_form="paper"`` selects the paper's placement. The paper's
  value is :math:`\epsilon_1 = 10^{-30}` (``eps=(1e-30, 1e-3)``).
* The paper also allows first-moment momentum (:math:`\beta_1`); PyTorch
  and this function have none.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array, Update
from .flags import decoupled_decay, signed_gradient

__all__ = ["adafactor", "adafactor_init", "EPS1_FORMS"]

EPS1_FORMS = ("torch", "paper")


def adafactor_init(theta: Array) -> dict:
    r"""The state before the first step: zeros for :math:`R, C` (2-d and up) or :math:`\hat V`.

    ``row_var`` (:math:`R`, shape ``(..., n, 1)``) and ``col_var``
    (:math:`C`, shape ``(..., 1, m)``) for parameters with two or more axes,
    ``variance`` (:math:`\hat V`) for 0-d and 1-d ones; ``step = 0``.
    """
    xp = get_array_module(theta)
    if theta.ndim >= 2:
        row_shape = theta.shape[:-1] + (1,)                      # n x 1 per slice
        col_shape = theta.shape[:-2] + (1, theta.shape[-1])      # 1 x m per slice
        return {"step": 0, "row_var": xp.zeros(row_shape, dtype=theta.dtype),
                "col_var": xp.zeros(col_shape, dtype=theta.dtype)}
    return {"step": 0, "variance": xp.zeros_like(theta)}


def _rms(xp, x):
    """Root mean square over all elements, as a Python float."""
    return float(xp.sqrt(xp.mean(x * x)))


def adafactor(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, beta2_decay: float = -0.8,
              eps1: float | None = None, eps2: float = 1e-3, d: float = 1.0, weight_decay: float = 0.0,
              maximize: bool = False, eps1_form: str = "torch") -> Update:
    r"""One Adafactor step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step`` and ``row_var`` (:math:`R`), ``col_var``
            (:math:`C`) for 2-d and larger parameters, ``variance``
            (:math:`\hat V`) for 0-d and 1-d ones (see :func:`adafactor_init`).
        lr: :math:`\gamma`. beta2_decay: :math:`\tau`.
        eps1, eps2: :math:`\epsilon_1` (None: the dtype's machine epsilon),
            :math:`\epsilon_2`. d: the clipping threshold :math:`d`.
        weight_decay: :math:`\lambda` (decoupled, scaled by :math:`\gamma`).
        maximize: as in ``torch.optim.Adafactor``.
        eps1_form: ``"torch"`` (default) or ``"paper"`` (:math:`\epsilon_1`
            added to :math:`g^2`, no floors).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``beta2_hat``, ``rho_t``, ``alpha_t``, ``R`` and ``C``
        (factored) or ``V`` (not factored), ``V_hat``, ``U``, ``U_hat``.
        Inputs are not modified.
    """
    check_choice(eps1_form, "eps1_form", EPS1_FORMS)
    xp = get_array_module(theta)
    if eps1 is None:
        eps1 = float(xp.finfo(theta.dtype).eps)     # machine epsilon of the dtype
    paper = eps1_form == "paper"
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)             # g_t (negated to maximize)
    beta2_hat = 1 - t ** beta2_decay                # beta2_hat_t <- 1 - t^tau
    rho_t = min(lr, 1 / t ** 0.5)                   # rho_t <- min(gamma, 1/sqrt(t))
    alpha_t = max(eps2, _rms(xp, theta)) * rho_t    # alpha_t <- max(eps2, RMS(theta)) rho_t
    theta = decoupled_decay(theta, lr, weight_decay)  # theta <- theta (1 - gamma lambda)
    g2 = g * g + eps1 if paper else g * g           # g_t^2 (+ eps1 in the paper)
    intermediates = {"t": t, "g": g, "beta2_hat": beta2_hat, "rho_t": rho_t,
                     "alpha_t": alpha_t}
    if "row_var" in state:
        R = beta2_hat * state["row_var"] + (1 - beta2_hat) * xp.mean(g2, axis=-1, keepdims=True)
        C = beta2_hat * state["col_var"] + (1 - beta2_hat) * xp.mean(g2, axis=-2, keepdims=True)
        R_mean = xp.mean(R, axis=-2, keepdims=True)              # mean(R_t), per slice
        if paper:
            V_hat = R * C / R_mean                               # V_hat <- R C / mean(R)
        else:
            V_hat = R * C / xp.maximum(R_mean, eps1)             # V_hat <- R C / max(mean(R), eps1)
        new_state = {"step": t, "row_var": R, "col_var": C}
        intermediates.update(R=R, C=C)
    else:
        V = beta2_hat * state["variance"] + (1 - beta2_hat) * g2  # V_hat_t (not factored)
        V_hat = V
        new_state = {"step": t, "variance": V}
        intermediates["V"] = V
    if paper:
        U = g / xp.sqrt(V_hat)                      # U_t <- g_t / sqrt(V_hat_t)
    else:
        U = g / xp.maximum(xp.sqrt(V_hat), eps1)    # U_t <- g_t / max(sqrt(V_hat_t), eps1)
    U_hat = U / max(1.0, _rms(xp, U) / d)           # U_hat_t <- U_t / max(1, RMS(U_t)/d)
    theta = theta - alpha_t * U_hat                 # theta_t <- theta_{t-1} - alpha_t U_hat_t
    intermediates.update(V_hat=V_hat, U=U, U_hat=U_hat)
    return theta, new_state, intermediates
