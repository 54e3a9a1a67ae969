r"""Shampoo: one preconditioner per tensor mode, as pure functions.

Gupta, Koren & Singer (2018), "Shampoo: Preconditioned Stochastic Tensor
Optimization", ICML. Algorithm 1 (matrices :math:`W \in \mathbb R^{m\times n}`):

.. math::

    L_0 &= \epsilon I_m, \qquad R_0 = \epsilon I_n \\
    L_t &= L_{t-1} + G_t G_t^\top \\
    R_t &= R_{t-1} + G_t^\top G_t \\
    W_{t+1} &= W_t - \eta\, L_t^{-1/4}\, G_t\, R_t^{-1/4}

Algorithm 2 (an order-:math:`k` tensor :math:`G \in \mathbb R^{n_1\times\dots\times n_k}`):
one statistic per mode, built from the mode-:math:`i` unfolding
:math:`G_{(i)} \in \mathbb R^{n_i \times \prod_{j\ne i} n_j}`, and the root
:math:`-1/(2k)`:

.. math::

    H^i_0 &= \epsilon I_{n_i} \\
    H^i_t &= H^i_{t-1} + G_{(i)} G_{(i)}^\top \\
    \tilde G_t &= G_t \times_1 (H^1_t)^{-1/2k} \times_2 \dots \times_k (H^k_t)^{-1/2k} \\
    W_{t+1} &= W_t - \eta\, \tilde G_t

(:math:`\times_i` multiplies mode :math:`i` by the matrix.) For :math:`k = 2`,
:math:`H^1 = L`, :math:`H^2 = R` and the exponent is :math:`-1/4`.

**Exponential moving averages** (``beta``): instead of the sum,
:math:`H^i_t = \beta H^i_{t-1} + (1-\beta)\, G_{(i)}G_{(i)}^\top` (with
:math:`H^i_0 = \epsilon I`), the form used by later large-scale Shampoo
implementations; ``beta=None`` (the default) is the paper's sum.

**Vectors** (:math:`k = 1`): one :math:`n\times n` statistic and the root
:math:`-1/2`, i.e. full-matrix AdaGrad
(``vector_statistic="full"``, the paper's rule); or, for long vectors, only
its diagonal, :math:`h = \epsilon + \sum g^2`, :math:`\tilde g = g/\sqrt h`
(diagonal AdaGrad, ``vector_statistic="diagonal"``). A 0-d parameter is a
vector of length 1.

**Inverse roots** come from the symmetric eigendecomposition
:math:`H = Q\Lambda Q^\top`, :math:`H^{-r} = Q\Lambda^{-r}Q^\top`
(``xp.linalg.eigh``, NumPy or CuPy). Eigenvalues below :math:`\epsilon` are
raised to :math:`\epsilon` first: for the summed statistics
:math:`H \succeq \epsilon I`, so this only removes rounding noise; for the
EMA, whose :math:`\epsilon I` fades like :math:`\beta^t`, it keeps the root
bounded. ``update_freq`` recomputes the roots every that many steps (steps
1, 1 + f, 1 + 2f, ...) and reuses them in between; the statistics are updated
at every step.

**Stale roots of a rank-deficient statistic.** After one step,
:math:`H^i = \epsilon I + G_{(i)}G_{(i)}^\top` has the eigenvalue
:math:`\epsilon` in every direction the first gradient did not reach, so its
root is :math:`\epsilon^{-1/2k}` there (31.6 for :math:`\epsilon = 10^{-6}`,
:math:`k = 2`). Recomputed at every step this does no harm (the current
gradient is in the statistic), but reused for the next :math:`f - 1` steps it
multiplies every new direction by that factor: steps of 1.07 and 2.4 where
``update_freq=1`` moves 0.03. So a mode's root is also recomputed at every
step **until its gradient statistic has full rank** (``full_rank`` in the
state, one flag per mode): the accumulated :math:`\sum G_{(i)}G_{(i)}^\top`
without the :math:`\epsilon I` start (:math:`\beta^t\epsilon I` for the EMA)
has its smallest eigenvalue above rounding, :math:`n\,\varepsilon_{mach}\,\lambda_{max}`
(for the diagonal statistic: every entry). Only then does the schedule above
take over. A statistic that never reaches full rank (gradients confined to a
subspace) is recomputed at every step, which is ``update_freq=1``.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update

__all__ = ["shampoo", "shampoo_init", "matrix_power_sym", "mode_statistic", "mode_product",
           "VECTOR_STATISTICS"]

VECTOR_STATISTICS = ("full", "diagonal")


def matrix_power_sym(H: Array, r: Array, *, eps: float = 0.0):
    r""":math:`H^{r}` of a symmetric matrix through :math:`H = Q\Lambda Q^\top` (eigenvalues floored at ``eps``)."""
    xp = get_array_module(H)
    lam, Q = xp.linalg.eigh(H)
    lam = xp.maximum(lam, eps)
    return (Q * lam ** r) @ Q.T


def _root_and_rank(H: Array, r: float, *, eps: float, start: float):
    r""":math:`H^r` as :func:`matrix_power_sym`, and whether :math:`H - \text{start}\cdot I` has full rank."""
    xp = get_array_module(H)
    lam, Q = xp.linalg.eigh(H)
    excess = lam - start                                        # eigenvalues of the gradient statistic
    tol = H.shape[0] * xp.finfo(H.dtype).eps * float(xp.max(xp.abs(lam)))
    full_rank = bool(float(xp.min(excess)) > tol)
    return (Q * xp.maximum(lam, eps) ** r) @ Q.T, full_rank


def mode_statistic(G: Array, i: int):
    r""":math:`G_{(i)} G_{(i)}^\top`: contract :math:`G` with itself over every mode but :math:`i`."""
    xp = get_array_module(G)
    other = [j for j in range(G.ndim) if j != i]
    return xp.tensordot(G, G, axes=(other, other))


def mode_product(G: Array, M: Array, i: int):
    r""":math:`G \times_i M`: multiply mode :math:`i` of :math:`G` by the matrix :math:`M`."""
    xp = get_array_module(G)
    return xp.moveaxis(xp.tensordot(M, G, axes=([1], [i])), 0, i)


def _as_tensor(theta):
    return theta.reshape(1) if theta.ndim == 0 else theta


def shampoo_init(theta: Array, *, eps: float = 1e-6, vector_statistic: str = "full") -> dict:
    r"""The state before the first step: :math:`H^i_0 = \epsilon I` per mode (or :math:`\epsilon\mathbf 1`)."""
    xp = get_array_module(theta)
    x = _as_tensor(theta)
    if x.ndim == 1 and vector_statistic == "diagonal":
        statistics = [xp.full_like(x, eps)]
    else:
        statistics = [eps * xp.eye(n, dtype=x.dtype) for n in x.shape]
    return {"step": 0, "statistics": statistics,
            "inverse_roots": [xp.zeros_like(h) for h in statistics],
            "full_rank": [False for _ in statistics]}


def shampoo(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, eps: float = 1e-6,
            beta: float | None = None, update_freq: int = 1, weight_decay: float = 0.0,
            vector_statistic: str = "full") -> Update:
    r"""One Shampoo step on one parameter (the formulas of the module docstring).

    Args:
        theta, grad: :math:`W_t`, :math:`G_t` (any number of dimensions).
        state: ``step``, ``statistics`` (the list :math:`H^1..H^k`),
            ``inverse_roots`` (the list :math:`(H^i)^{-1/2k}` last computed).
        lr: :math:`\eta`. eps: :math:`\epsilon`. beta: ``None`` (sums) or
            the EMA factor :math:`\beta`. update_freq: steps between root
            computations. weight_decay: L2 penalty :math:`\lambda`
            (:math:`G \leftarrow G + \lambda W` first). vector_statistic:
            ``"full"`` or ``"diagonal"`` for 1-d (and 0-d) parameters.

    Returns:
        ``(theta_new, new_state, intermediates)`` with ``t``, ``g``,
        ``H_1..H_k`` (the statistics), ``P_1..P_k`` (their inverse roots),
        ``recomputed`` (the list of modes whose root was computed this step)
        and ``G_tilde`` (the preconditioned gradient). ``state["full_rank"]``
        (one flag per mode; missing: all False) says which statistics had
        full rank when their root was last computed.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    G = _as_tensor(g)
    k = G.ndim
    intermediates = {"t": t, "g": g}
    scheduled = (t - 1) % update_freq == 0
    full_rank = list(state.get("full_rank", [False] * len(state["statistics"])))
    start = eps if beta is None else eps * beta ** t              # what is left of H_0 = eps I
    statistics, roots, recomputed = [], [], []
    if k == 1 and vector_statistic == "diagonal":
        H = state["statistics"][0]
        GG = G * G                                                    # diag(g g^T)
        H = H + GG if beta is None else beta * H + (1 - beta) * GG    # h_t
        if scheduled or not full_rank[0]:
            P = xp.maximum(H, eps) ** -0.5
            full_rank[0] = bool(xp.all(H - start > H.size * xp.finfo(H.dtype).eps * xp.max(H)))
            recomputed.append(0)
        else:
            P = state["inverse_roots"][0]
        G_tilde = P * G                                               # g / sqrt(h_t)
        statistics, roots = [H], [P]
    else:
        for i in range(k):
            GG = mode_statistic(G, i)                                 # G_(i) G_(i)^T
            H = state["statistics"][i]
            H = H + GG if beta is None else beta * H + (1 - beta) * GG  # H^i_t
            if scheduled or not full_rank[i]:                         # (H^i_t)^(-1/2k)
                P, full_rank[i] = _root_and_rank(H, -1.0 / (2 * k), eps=eps, start=start)
                recomputed.append(i)
            else:
                P = state["inverse_roots"][i]
            statistics.append(H)
            roots.append(P)
        G_tilde = G
        for i, P in enumerate(roots):
            G_tilde = mode_product(G_tilde, P, i)                     # G x_1 P_1 ... x_k P_k
    G_tilde = G_tilde.reshape(theta.shape)
    theta = theta - lr * G_tilde                                      # W_{t+1} = W_t - eta G_tilde
    for i, (H, P) in enumerate(zip(statistics, roots), 1):
        intermediates[f"H_{i}"] = H
        intermediates[f"P_{i}"] = P
    intermediates["recomputed"] = recomputed
    intermediates["G_tilde"] = G_tilde
    return theta, {"step": t, "statistics": statistics, "inverse_roots": roots,
                   "full_rank": full_rank}, intermediates
