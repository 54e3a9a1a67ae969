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

**The orthogonalisation, three ways** (``orthogonalize=``): the update
Muon wants is the polar factor :math:`UV^\top` of :math:`U_t = U\Sigma V^\top`,
the linear minimisation oracle of the spectral (operator) norm,
:math:`UV^\top = \arg\min_{\lVert O\rVert_2 \le 1} \langle U_t, -O\rangle`
up to the sign. :func:`svd_polar` computes it exactly (``"svd"``, the
reference); :func:`newton_schulz` approximates it with one fixed quintic
(``"newton_schulz"``, PyTorch's and the default); :func:`polar_express`
(Amsel, Persson, Musco & Gower 2025, "The Polar Express: Optimal Matrix Sign
Methods and Their Application to the Muon Algorithm") uses a different quintic
at each step, :math:`p_t(\sigma) = a_t\sigma + b_t\sigma^3 + c_t\sigma^5`,
each the minimax-optimal one for the interval the singular values are known
to lie in after the previous steps (the paper's coefficients for
:math:`\ell = 10^{-3}`, divided by a safety factor 1.01 for rounding, the
last one repeated: :data:`POLAR_EXPRESS_COEFFICIENTS`). Its normalisation is
:math:`X/(1.01\lVert X\rVert_F + \varepsilon)`. Unlike Jordan's quintic it
converges to :math:`UV^\top` as the steps grow.

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

__all__ = ["muon", "muon_init", "newton_schulz", "polar_express", "svd_polar", "orthogonalize",
           "muon_adjust_lr", "NS_COEFFICIENTS", "NS_STEPS", "NS_EPS", "ADJUST_LR_FNS",
           "POLAR_EXPRESS_COEFFICIENTS", "ORTHOGONALIZE_METHODS"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)     # (a, b, c), Jordan et al. 2024
NS_STEPS = 5
NS_EPS = 1e-7
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
ORTHOGONALIZE_METHODS = ("newton_schulz", "polar_express", "svd")

# Amsel et al. (2025): the minimax quintics for singular values in [1e-3, 1], in order; the
# last is (15/8, -10/8, 3/8), the classical quintic Newton-Schulz step, repeated from then on.
_POLAR_EXPRESS_RAW = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)
POLAR_EXPRESS_COEFFICIENTS = tuple((a / 1.01, b / 1.01 ** 3, c / 1.01 ** 5) for a, b, c in _POLAR_EXPRESS_RAW[:-1]
                                   ) + (_POLAR_EXPRESS_RAW[-1],)


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
    _check_matrix(G, steps)
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


def _check_matrix(G: Array, steps: int) -> None:
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if G.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")


def polar_express(G: Array, steps: int = NS_STEPS, eps: float = NS_EPS):
    r"""The Polar Express iteration (Amsel et al. 2025): step :math:`t` applies the quintic :math:`(a_t, b_t, c_t)`.

    The same loop as :func:`newton_schulz` (wide :math:`X`, :math:`A = XX^\top`,
    :math:`X \leftarrow a_tX + (b_tA + c_tA^2)X`) with the coefficients of
    :data:`POLAR_EXPRESS_COEFFICIENTS` (the last repeated beyond 8 steps),
    after :math:`X \leftarrow X/(1.01\lVert X\rVert_F + \varepsilon)`.
    Runs in ``G``'s dtype; the checks are :func:`newton_schulz`'s.
    """
    _check_matrix(G, steps)
    xp = get_array_module(G)
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G                          # X wide
    X = X / (1.01 * xp.linalg.norm(X) + eps)        # singular values in [0, 1/1.01]
    last = len(POLAR_EXPRESS_COEFFICIENTS) - 1
    for t in range(steps):
        a, b, c = POLAR_EXPRESS_COEFFICIENTS[min(t, last)]
        A = X @ X.T                                 # A = X X^T
        B = b * A + c * (A @ A)                     # B = b_t A + c_t A^2
        X = a * X + B @ X                           # X = a_t X + B X
    return X.T if tall else X


def svd_polar(G: Array):
    r"""The exact polar factor :math:`UV^\top` of :math:`G = U\Sigma V^\top` (thin SVD), in ``G``'s dtype.

    The reference the iterations approximate: the LMO of the spectral norm.
    Zero singular values are mapped to 0, as the iterations map them (a zero
    matrix gives a zero matrix).
    """
    if G.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    xp = get_array_module(G)
    U, S, Vt = xp.linalg.svd(G, full_matrices=False)
    keep = S > (S.max() if S.size else 0.0) * max(G.shape) * xp.finfo(G.dtype).eps
    return (U * keep) @ Vt


def orthogonalize(G: Array, method: str = "newton_schulz", *, coefficients=NS_COEFFICIENTS, steps: int = NS_STEPS,
                  eps: float = NS_EPS):
    r"""The orthogonalised update by ``method``: ``"newton_schulz"``, ``"polar_express"`` or ``"svd"``."""
    if method == "newton_schulz":
        return newton_schulz(G, coefficients, steps, eps)
    if method == "polar_express":
        return polar_express(G, steps, eps)
    if method == "svd":
        return svd_polar(G)
    options = ", ".join(repr(m) for m in ORTHOGONALIZE_METHODS)
    raise ValueError(f"Invalid orthogonalize: {method!r} (expected one of {options})")


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


_orthogonalize = orthogonalize


def muon(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, weight_decay: float = 0.1,
         momentum: float = 0.95, nesterov: bool = True,
         ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS, ns_steps: int = NS_STEPS,
         eps: float = NS_EPS, adjust_lr_fn: str | None = None, orthogonalize: str = "newton_schulz") -> Update:
    r"""One Muon step on one 2-D parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`g_t` (2-D).
        state: ``momentum_buffer`` (:math:`B_{t-1}`).
        lr: :math:`\gamma`. weight_decay: :math:`\lambda` (decoupled).
        momentum: :math:`\mu`. nesterov: use :math:`U_t = \operatorname{lerp}(g_t, B_t, \mu)`.
        ns_coefficients: :math:`(a, b, c)`. ns_steps: :math:`k`. eps: :math:`\varepsilon`.
        adjust_lr_fn: ``None``/``"original"`` or ``"match_rms_adamw"``.
        orthogonalize: ``"newton_schulz"`` (default), ``"polar_express"``
            (``ns_steps`` steps; ``ns_coefficients`` unused) or ``"svd"`` (exact;
            ``ns_*`` unused).

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
    O = _orthogonalize(U, orthogonalize, coefficients=ns_coefficients,
                       steps=ns_steps, eps=eps)          # O_t = NS(U_t) (or Polar Express, or U V^T)
    lr_adj = muon_adjust_lr(lr, adjust_lr_fn, theta.shape)
    theta = decoupled_decay(theta, lr, weight_decay)      # theta <- theta (1 - gamma lambda)
    theta = theta - lr_adj * O                            # theta <- theta - gamma~ O_t
    return theta, {"momentum_buffer": B}, {"g": g, "B": B, "U": U, "O": O, "lr_adj": lr_adj}
