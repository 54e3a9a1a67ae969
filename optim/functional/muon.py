r"""Muon: momentum, then the update orthogonalized by a Newton–Schulz iteration.

Jordan et al. (2024), "Muon: An optimizer for hidden layers in neural
networks" (https://kellerjordan.github.io/posts/muon/); the
``match_rms_adamw`` learning-rate scaling from Liu et al. (2025), "Muon is
Scalable for LLM Training" (Moonshot AI). The form is the one of
``torch.optim.Muon`` (PyTorch 2.13, ``_single_tensor_muon``), for a 2-D
parameter :math:`\theta \in \mathbb{R}^{m \times n}`:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \\
    B_t &\leftarrow \operatorname{lerp}(B_{t-1}, g_t, 1-\mu)
         = \mu B_{t-1} + (1-\mu)\, g_t \\
    U_t &\leftarrow \begin{cases}
            \operatorname{lerp}(g_t, B_t, \mu) = (1-\mu)\, g_t + \mu B_t & \text{nesterov} \\
            B_t & \text{otherwise} \end{cases} \\
    O_t &\leftarrow \operatorname{NS}^{(a,b,c)}_k(U_t;\ \varepsilon) \\
    \theta_t &\leftarrow \theta_{t-1}(1 - \gamma\lambda) \\
    \theta_t &\leftarrow \theta_t - \tilde\gamma\, O_t, \qquad
    \tilde\gamma = \begin{cases}
        \gamma\sqrt{\max(1, m/n)} & \text{"original" (default)} \\
        0.2\,\gamma\sqrt{\max(m, n)} & \text{"match\_rms\_adamw"} \end{cases}

The momentum buffer is an exponential moving average of the gradients (its
scale is that of :math:`g`; PyTorch's docstring writes :math:`B = \mu B + g`,
but the code, followed here, uses the lerp). Since the Newton–Schulz step
normalizes its input, the scale of :math:`U` does not matter anyway.

The Newton–Schulz iteration :math:`\operatorname{NS}^{(a,b,c)}_k(G;\varepsilon)`
approximates the orthogonal factor :math:`UV^\top` of :math:`G = U\Sigma V^\top`:

.. math::

    X &\leftarrow G^\top \text{ if } m > n \text{ else } G
         \qquad(\text{so } X \text{ is wide: } XX^\top \text{ is the small Gram matrix}) \\
    X &\leftarrow X / \max(\lVert X\rVert_F, \varepsilon)
         \qquad(\lVert X\rVert_2 \le \lVert X\rVert_F \le 1) \\
    &\text{repeat } k \text{ times:} \\
    &\qquad A \leftarrow X X^\top \\
    &\qquad B \leftarrow bA + cA^2 \\
    &\qquad X \leftarrow aX + BX \\
    O &\leftarrow X^\top \text{ if } m > n \text{ else } X

(inside the loop :math:`A` and :math:`B` are the iteration's own matrices, not the
momentum buffer :math:`B_t`)

Each step maps :math:`X = U\Sigma V^\top` to :math:`U p(\Sigma) V^\top` with the
odd quintic :math:`p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5`, so every
singular value evolves on its own. The coefficients
:math:`(a, b, c) = (3.4445, -4.7750, 2.0315)` make the slope at 0 large
(:math:`p'(0) = a`) at the price of not converging to 1: :math:`p` oscillates
around 1 instead. After 5 steps, every singular value that was at least
:math:`3\cdot 10^{-3}` after the normalization lies in :math:`[0.68, 1.21]`
(the maximum of :math:`p` on :math:`[0, 1]` is 1.2024), smaller ones are
still growing; Jordan reports that this works as well as the exact
:math:`UV^\top` in practice.

Precision: PyTorch runs the iteration in bfloat16. NumPy has no bfloat16, so
here it runs in the parameter's dtype (float32 or float64): the results are
closer to the exact iteration than PyTorch's, and differ from PyTorch's by
bfloat16's rounding (about :math:`2^{-8}` relative per operation).
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import decoupled_decay
from .swa import lerp

__all__ = ["muon", "muon_init", "newton_schulz", "muon_adjust_lr",
           "NS_COEFFICIENTS", "NS_STEPS", "NS_EPS", "ADJUST_LR_FNS"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)     # (a, b, c), Jordan et al. 2024
NS_STEPS = 5
NS_EPS = 1e-7
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def muon_init(theta: Array) -> dict:
    r"""The state before the first step: :math:`B_0 = 0` (``momentum_buffer``)."""
    return {"momentum_buffer": get_array_module(theta).zeros_like(theta)}


def newton_schulz(G: Array, coefficients: tuple[float, float, float] = NS_COEFFICIENTS, steps: int = NS_STEPS,
                  eps: float = NS_EPS):
    r"""The Newton–Schulz quintic iteration :math:`\operatorname{NS}^{(a,b,c)}_k(G;\varepsilon)` (module docstring).

    Runs in ``G``'s dtype. Raises ``ValueError`` for a non-2-D ``G``, a
    coefficient tuple that is not three numbers, or ``steps >= 100``
    (PyTorch's checks).
    """
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if G.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    xp = get_array_module(G)
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G                          # X wide: X X^T is the smaller Gram matrix
    X = X / max(xp.linalg.norm(X), eps)             # X <- X / max(||X||_F, eps)
    for _ in range(steps):
        A = X @ X.T                                 # A = X X^T
        B = b * A + c * (A @ A)                     # B = bA + cA^2
        X = a * X + B @ X                           # X = aX + BX
    return X.T if tall else X


def muon_adjust_lr(lr: float, adjust_lr_fn, shape: tuple):
    r"""The shape-dependent learning rate :math:`\tilde\gamma` for an :math:`m \times n` parameter.

    ``None``/``"original"``: :math:`\gamma\sqrt{\max(1, m/n)}` (Jordan);
    ``"match_rms_adamw"``: :math:`0.2\,\gamma\sqrt{\max(m, n)}` (Liu et al.: the
    update's RMS then matches AdamW's, about 0.2, so AdamW's lr and weight
    decay carry over).
    """
    m, n = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, m / n))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(m, n))
    else:
        ratio = 1.0
    return lr * ratio


def muon(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, weight_decay: float = 0.1,
         momentum: float = 0.95, nesterov: bool = True,
         ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS, ns_steps: int = NS_STEPS,
         eps: float = NS_EPS, adjust_lr_fn: str | None = None) -> Update:
    r"""One Muon step on one 2-D parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`g_t` (2-D).
        state: ``momentum_buffer`` (:math:`B_{t-1}`).
        lr: :math:`\gamma`. weight_decay: :math:`\lambda` (decoupled).
        momentum: :math:`\mu`. nesterov: use :math:`U_t = \operatorname{lerp}(g_t, B_t, \mu)`.
        ns_coefficients: :math:`(a, b, c)`. ns_steps: :math:`k`. eps: :math:`\varepsilon`.
        adjust_lr_fn: ``None``/``"original"`` or ``"match_rms_adamw"``.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``g``,
        ``B``, ``U``, ``O`` and ``lr_adj`` (:math:`\tilde\gamma`). Inputs are
        not modified.
    """
    if grad.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    g = grad
    B = lerp(state["momentum_buffer"], g, 1 - momentum)   # B_t = mu B_{t-1} + (1 - mu) g_t
    U = lerp(g, B, momentum) if nesterov else B           # U_t = (1 - mu) g_t + mu B_t
    O = newton_schulz(U, ns_coefficients, ns_steps, eps)  # O_t = NS(U_t)
    lr_adj = muon_adjust_lr(lr, adjust_lr_fn, theta.shape)
    theta = decoupled_decay(theta, lr, weight_decay)      # theta <- theta (1 - gamma lambda)
    theta = theta - lr_adj * O                            # theta <- theta - gamma~ O_t
    return theta, {"momentum_buffer": B}, {"g": g, "B": B, "U": U, "O": O, "lr_adj": lr_adj}
