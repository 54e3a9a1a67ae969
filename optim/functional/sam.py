r"""SAM and adaptive SAM: the ascent step to the worst nearby point, as pure functions.

Sharpness-Aware Minimization (Foret, Kleiner, Mobahi & Neyshabur 2021,
"Sharpness-Aware Minimization for Efficiently Improving Generalization",
Algorithm 1, :math:`p = 2`) minimises :math:`\max_{\lVert e\rVert_2 \le \rho}
L(w + e)`. One step, with the gradient :math:`g = \nabla L(w)` of ALL
parameters seen as one vector:

.. math::

    \hat e(w) &= \rho\, \frac{g}{\lVert g\rVert_2 + 10^{-12}}
       \qquad(\text{first-order solution of the inner maximisation}) \\
    g_{SAM} &= \nabla L(w)\big|_{w + \hat e(w)}
       \qquad(\text{second forward-backward pass}) \\
    w &\leftarrow \text{base optimizer step from } w \text{ with } g_{SAM}

so :math:`\lVert \hat e(w)\rVert_2 = \rho` (up to the :math:`10^{-12}`).

Adaptive SAM (Kwon, Kim, Park & Choi 2021, "ASAM: Adaptive Sharpness-Aware
Minimization for Scale-Invariant Learning of Deep Neural Networks",
Algorithm 1) measures the neighbourhood in the scaled coordinates
:math:`T_w^{-1}w` with the element-wise operator :math:`T_w = |w| + \eta`:

.. math::

    \hat e(w) = \rho\, \frac{T_w^2\, g}{\lVert T_w\, g\rVert_2 + 10^{-12}}

so that :math:`\lVert T_w^{-1}\hat e(w)\rVert_2 = \rho`. The ASAM authors'
code adds a small :math:`\eta` (0.01) to keep zero weights movable; ``eta=0``
(the default here) gives :math:`T_w = |w|`, the form of the widely used public
SAM/ASAM code.

:func:`sam_grad_norm` computes the norm over all tensors, :func:`sam_ascent`
the step of one tensor given that norm, and :func:`sam` both at once for a
list of tensors.
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array

__all__ = ["sam", "sam_ascent", "sam_grad_norm", "SAM_EPS"]

SAM_EPS = 1e-12     # added to the norm (as public SAM code does): a zero gradient gives e = 0


def _per_tensor(value, n, name):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}: got {len(value)} values for {n} tensors")
        return list(value)
    return [value] * n


def _scale(theta, adaptive, eta):
    r""":math:`T_w = |w| + \eta` (adaptive) or 1."""
    if not adaptive:
        return 1.0
    xp = get_array_module(theta)
    return xp.abs(theta) + eta


def sam_grad_norm(thetas: Array, grads: Array, *, adaptive: bool = False, eta: float = 0.0) -> float:
    r""":math:`\lVert T_w g\rVert_2` over all the tensors together (:math:`T_w = 1` for SAM).

    ``adaptive`` and ``eta`` may be single values or one per tensor (the
    param groups of an optimizer can differ).
    """
    n = len(grads)
    adaptive = _per_tensor(adaptive, n, "adaptive")
    eta = _per_tensor(eta, n, "eta")
    total = 0.0
    for theta, g, ad, et in zip(thetas, grads, adaptive, eta):
        xp = get_array_module(g)
        Tg = _scale(theta, ad, et) * g                        # T_w g
        total += float(xp.sum(Tg * Tg))
    return math.sqrt(total)


def sam_ascent(theta: Array, grad: Array, *, rho: float = 0.05, grad_norm: float, adaptive: bool = False,
               eta: float = 0.0):
    r"""The ascent step of one tensor, given the norm over all tensors.

    Returns:
        ``(theta_adv, e_w, intermediates)``: the point :math:`w + \hat e(w)`,
        :math:`\hat e(w)`, and ``{"e_w", "grad_norm", "scale"}`` where
        ``scale`` is :math:`\rho / (\lVert T_w g\rVert + 10^{-12})`.
    """
    T = _scale(theta, adaptive, eta)                          # T_w (1 for SAM)
    scale = rho / (grad_norm + SAM_EPS)                       # rho / ||T_w g||
    e_w = scale * (T * T) * grad                              # e(w) = rho T_w^2 g / ||T_w g||
    return theta + e_w, e_w, {"e_w": e_w, "grad_norm": grad_norm, "scale": scale}


def sam(thetas: Array, grads: Array, *, rho: float = 0.05, adaptive: bool = False, eta: float = 0.0):
    r"""The ascent step for a list of tensors (one SAM perturbation).

    Returns:
        ``(thetas_adv, e_ws, intermediates)`` with ``grad_norm`` and ``scale``.
    """
    grad_norm = sam_grad_norm(thetas, grads, adaptive=adaptive, eta=eta)
    n = len(grads)
    adaptive = _per_tensor(adaptive, n, "adaptive")
    eta = _per_tensor(eta, n, "eta")
    thetas_adv, e_ws = [], []
    for theta, g, ad, et in zip(thetas, grads, adaptive, eta):
        theta_adv, e_w, _ = sam_ascent(theta, g, rho=rho, grad_norm=grad_norm, adaptive=ad, eta=et)
        thetas_adv.append(theta_adv)
        e_ws.append(e_w)
    return thetas_adv, e_ws, {"grad_norm": grad_norm, "scale": rho / (grad_norm + SAM_EPS)}
