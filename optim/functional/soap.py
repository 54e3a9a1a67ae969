r"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner, as a pure function.

Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade (2024),
"SOAP: Improving and Stabilizing Shampoo using Adam", Algorithm 3 (one step
on a matrix :math:`W\in\mathbb R^{m\times n}`) with Algorithm 4 (the
eigenbasis refresh by one power iteration and a QR decomposition):

.. math::

    G'_t &\leftarrow Q_L^\top G_t\, Q_R \\
    M_t &\leftarrow \beta_1 M_{t-1} + (1-\beta_1)\, G_t \\
    M'_t &\leftarrow Q_L^\top M_t\, Q_R \\
    V_t &\leftarrow \beta_2 V_{t-1} + (1-\beta_2)\, G'_t \odot G'_t \\
    N'_t &\leftarrow M'_t / (\sqrt{V_t} + \epsilon) \\
    N_t &\leftarrow Q_L N'_t\, Q_R^\top \\
    W_t &\leftarrow W_{t-1} - \eta_t N_t,
        \qquad \eta_t = \eta\,\sqrt{1-\beta_2^t}/(1-\beta_1^t) \\
    W_t &\leftarrow W_t (1 - \eta\lambda) \\
    L_t &\leftarrow \beta_s L_{t-1} + (1-\beta_s)\, G_t G_t^\top, \qquad
    R_t \leftarrow \beta_s R_{t-1} + (1-\beta_s)\, G_t^\top G_t \\
    &\text{if } t \bmod f = 0:\ Q_L \leftarrow \mathrm{Eigenvectors}(L_t, Q_L),\
      Q_R \leftarrow \mathrm{Eigenvectors}(R_t, Q_R)

The moments :math:`M, V` are Adam's (:math:`M` kept in the parameter's own
basis and rotated at every step, as in Algorithm 3); :math:`L, R` are
Shampoo's statistics with their own factor :math:`\beta_s` (``shampoo_beta``;
a negative value means :math:`\beta_s = \beta_2`, as the paper's code does).
For an order-:math:`k` tensor there is one statistic and one basis per mode,
:math:`G' = G\times_1 Q_1^\top\dots\times_k Q_k^\top` and back with
:math:`Q_i`. A mode longer than ``max_precond_dim`` keeps the identity basis.

**The first call** only accumulates :math:`L_1, R_1` from :math:`G_1` and sets
the bases to their exact eigenvectors (``eigh``, columns by decreasing
eigenvalue); the parameter does not move, so the projection never uses the
current gradient. Adam's counter :math:`t` starts at the second call.

**Eigenbasis refresh** (``eigenbasis``):

* ``"power_qr"`` (the default; Algorithm 4 and the paper's code): with
  :math:`P = LQ`, estimate the eigenvalues :math:`\hat\lambda_j = q_j^\top L
  q_j`, sort them in decreasing order, permute the columns of :math:`P` and the
  matching axis of :math:`V` the same way, and take :math:`Q \leftarrow
  \mathrm{QR}(P)_Q`. One matrix product and one QR instead of an
  eigendecomposition, and the basis moves continuously from the previous one,
  so :math:`V` (kept in that basis) stays meaningful; this is why the paper
  uses it and why it is the default.
* ``"eigh"``: the exact eigenvectors of :math:`L` (decreasing order) at each
  refresh; :math:`V` is kept as it is.

**1-D parameters** (the paper's handling): by default not preconditioned
(identity basis: the update is Adam's, after the first call that skips);
with ``precondition_1d`` one :math:`n\times n` statistic :math:`gg^\top` and
its basis (when :math:`n\le` ``max_precond_dim``). A 0-d parameter is Adam's.

``merge_dims`` reshapes the parameter first, merging neighbouring modes while
their product stays at most ``max_precond_dim`` (fewer, larger bases).
``normalize_grads`` divides :math:`N` by :math:`10^{-30} + \mathrm{rms}(N)`.
``correct_bias=False`` uses :math:`\eta_t = \eta`.
"""
from __future__ import annotations

import numpy as np

from minigrad.backend import get_array_module

from ..types import Array, Update
from .shampoo import mode_product, mode_statistic

__all__ = ["soap", "soap_init", "soap_shape", "EIGENBASES"]

EIGENBASES = ("power_qr", "eigh")


def soap_shape(shape: tuple, *, max_precond_dim: int = 10000, merge_dims: bool = False) -> tuple:
    """The shape the preconditioner sees: ``shape``, or with ``merge_dims`` neighbouring modes
    merged while their product is at most ``max_precond_dim``."""
    if not merge_dims or len(shape) <= 1:
        return tuple(shape)
    merged, current = [], 1
    for n in shape:
        if current * n <= max_precond_dim:
            current *= n
        elif current > 1:
            merged.append(current)
            current = n
        else:
            merged.append(n)
    if current > 1 or not merged:
        merged.append(current)
    return tuple(merged)


def _preconditioned(shape: tuple, max_precond_dim: int, precondition_1d: bool) -> list[bool]:
    """Which modes get a basis: every mode up to ``max_precond_dim``; a vector only with ``precondition_1d``."""
    if len(shape) == 1 and not precondition_1d:
        return [False]
    return [n <= max_precond_dim for n in shape]


def soap_init(theta: Array, *, max_precond_dim: int = 10000, merge_dims: bool = False,
              precondition_1d: bool = False) -> dict:
    r"""The state before the first call: :math:`M = V = 0`, :math:`L_i = 0`, no basis yet.

    A mode without a preconditioner holds empty ``(0, 0)`` arrays in ``GG`` and ``Q``.
    """
    xp = get_array_module(theta)
    shape = soap_shape(theta.shape, max_precond_dim=max_precond_dim, merge_dims=merge_dims)
    used = _preconditioned(shape, max_precond_dim, precondition_1d)
    GG = [xp.zeros((n, n) if u else (0, 0), dtype=theta.dtype) for n, u in zip(shape, used)]
    return {"step": 0, "initialized": False, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta),
            "GG": GG, "Q": [xp.zeros_like(h) for h in GG]}


def _eigenbasis(H: Array):
    """Eigenvectors of the symmetric ``H``, columns by decreasing eigenvalue (``H + 1e-30 I``, as the paper's code)."""
    xp = get_array_module(H)
    _, Q = xp.linalg.eigh(H + 1e-30 * xp.eye(H.shape[0], dtype=H.dtype))
    return Q[:, ::-1]


def _project(X: Array, Q: list, back: bool = False):
    r""":math:`X\times_i Q_i^\top` over every mode (or :math:`X\times_i Q_i` with ``back``); empty ``Q_i``: identity."""
    for i, q in enumerate(Q):
        if q.size:
            X = mode_product(X, q if back else q.T, i)
    return X


def soap(theta: Array, grad: Array, state: dict, *, lr: float = 3e-3, beta1: float = 0.95, beta2: float = 0.95,
         shampoo_beta: float = -1, eps: float = 1e-8, weight_decay: float = 0.01, precondition_frequency: int = 10,
         max_precond_dim: int = 10000, merge_dims: bool = False, normalize_grads: bool = False,
         correct_bias: bool = True, eigenbasis: str = "power_qr", maximize: bool = False) -> Update:
    r"""One SOAP step on one parameter (the formulas of the module docstring).

    Args:
        theta, grad: :math:`W_{t-1}` and :math:`G_t`.
        state: ``step`` (:math:`t-1`), ``initialized``, ``exp_avg`` (:math:`M`),
            ``exp_avg_sq`` (:math:`V`, in the rotated basis), ``GG`` (the
            statistics :math:`L_i`), ``Q`` (the bases :math:`Q_i`).
        lr: :math:`\eta`. beta1, beta2: :math:`\beta_1, \beta_2`.
        shampoo_beta: :math:`\beta_s` (negative: :math:`\beta_2`). eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda` (decoupled). precondition_frequency: :math:`f`.
        max_precond_dim, merge_dims: which modes get a basis (``precondition_1d``
            is fixed by :func:`soap_init`). normalize_grads, correct_bias,
            eigenbasis, maximize: as in the module docstring (maximize: :math:`G \leftarrow -G`).

    Returns:
        ``(theta_new, new_state, intermediates)``. The first call: ``t`` (0),
        ``g``, ``L_1..L_k``, ``Q_1..Q_k`` and ``refreshed`` (True). Later
        calls: ``t``, ``g``, ``G_rot`` (:math:`G'`), ``m``, ``m_rot``
        (:math:`M'`), ``v``, ``n_rot`` (:math:`N'`), ``n`` (:math:`N`),
        ``lr_t`` (:math:`\eta_t`), the statistics and bases after the step,
        and ``refreshed`` (whether the bases were recomputed). Inputs are not
        modified.
    """
    xp = get_array_module(theta)
    if shampoo_beta < 0:
        shampoo_beta = beta2
    g = -grad if maximize else grad
    shape = soap_shape(theta.shape, max_precond_dim=max_precond_dim, merge_dims=merge_dims)
    G = g.reshape(shape)
    k = len(shape)
    GG = [h if not h.size else shampoo_beta * h + (1 - shampoo_beta) * mode_statistic(G, i)
          for i, h in enumerate(state["GG"])]                                 # L_i <- b_s L_i + (1-b_s) G_(i) G_(i)^T
    if not state["initialized"]:
        Q = [q if not q.size else _eigenbasis(h) for q, h in zip(state["Q"], GG)]
        new_state = {"step": 0, "initialized": True, "exp_avg": state["exp_avg"],
                     "exp_avg_sq": state["exp_avg_sq"], "GG": GG, "Q": Q}
        intermediates = {"t": 0, "g": g, "refreshed": True}
        for i in range(k):
            intermediates[f"L_{i + 1}"], intermediates[f"Q_{i + 1}"] = GG[i], Q[i]
        return theta, new_state, intermediates

    Q = state["Q"]
    t = state["step"] + 1
    G_rot = _project(G, Q)                                                    # G' = Q_L^T G Q_R
    m = beta1 * state["exp_avg"] + (1 - beta1) * g                            # M_t
    m_rot = _project(m.reshape(shape), Q)                                     # M' = Q_L^T M Q_R
    v = beta2 * state["exp_avg_sq"].reshape(shape) + (1 - beta2) * G_rot * G_rot   # V_t
    n_rot = m_rot / (xp.sqrt(v) + eps)                                        # N' = M' / (sqrt V + eps)
    n = _project(n_rot, Q, back=True).reshape(theta.shape)                    # N = Q_L N' Q_R^T
    if normalize_grads:
        n = n / (1e-30 + xp.sqrt(xp.mean(n * n)))
    lr_t = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t) if correct_bias else lr
    theta = theta - lr_t * n                                                  # W <- W - eta_t N
    if weight_decay > 0:
        theta = theta * (1 - lr * weight_decay)                               # W <- W (1 - eta lambda)
    refreshed = t % precondition_frequency == 0
    if refreshed:
        Q, v = _refresh(GG, Q, v, eigenbasis)
    new_state = {"step": t, "initialized": True, "exp_avg": m, "exp_avg_sq": v.reshape(theta.shape),
                 "GG": GG, "Q": Q}
    intermediates = {"t": t, "g": g, "G_rot": G_rot.reshape(theta.shape), "m": m,
                     "m_rot": m_rot.reshape(theta.shape), "v": v.reshape(theta.shape),
                     "n_rot": n_rot.reshape(theta.shape), "n": n, "lr_t": lr_t, "refreshed": refreshed}
    for i in range(k):
        intermediates[f"L_{i + 1}"], intermediates[f"Q_{i + 1}"] = GG[i], Q[i]
    return theta, new_state, intermediates


def _refresh(GG: list, Q: list, v: Array, eigenbasis: str):
    r"""New bases from the statistics: one power iteration and QR (``V`` permuted along), or ``eigh``."""
    xp = get_array_module(v)
    new_Q = []
    for i, (h, q) in enumerate(zip(GG, Q)):
        if not h.size:
            new_Q.append(q)
        elif eigenbasis == "eigh":
            new_Q.append(_eigenbasis(h))
        else:
            P = h @ q                                                         # one power iteration
            est = xp.sum(q * P, axis=0)                                       # q_j^T L q_j
            order = xp.argsort(-est, **({"kind": "stable"} if xp is np else {}))   # decreasing (CuPy: stable)
            v = xp.take(v, order, axis=i)
            new_Q.append(xp.linalg.qr(P[:, order])[0])                       # Q <- QR(P)_Q
    return new_Q, v
