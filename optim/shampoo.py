r"""``Shampoo`` (Gupta, Koren & Singer 2018): a Kronecker-factored preconditioner per tensor.

The formula is :func:`optim.functional.shampoo` (Algorithms 1 and 2 of the
paper: :math:`W \leftarrow W - \eta L^{-1/4} G R^{-1/4}` for matrices,
one statistic per mode and the root :math:`-1/(2k)` for order-:math:`k`
tensors, full or diagonal AdaGrad for vectors); this class applies it
parameter by parameter. Each parameter of shape :math:`n_1\times\dots\times
n_k` keeps :math:`k` matrices of sizes :math:`n_i\times n_i` and their
inverse roots, and each root costs one :math:`O(n_i^3)` eigendecomposition,
which ``update_freq`` amortises.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_choice, check_count, check_lr, check_nonnegative, check_range, check_real
from .functional.shampoo import VECTOR_STATISTICS
from .optimizer import Optimizer
from .types import Params

__all__ = ["Shampoo"]


class Shampoo(Optimizer):
    r"""Shampoo (Gupta, Koren & Singer 2018).

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-2).
        eps: :math:`\epsilon`, the statistics start at :math:`\epsilon I`
            (default 1e-6).
        beta: ``None`` (default; the paper's sums
            :math:`L \mathrel{+}= GG^\top`) or :math:`\beta\in[0, 1)` for
            exponential moving averages
            :math:`L \leftarrow \beta L + (1-\beta)GG^\top`.
        update_freq: recompute the inverse roots every this many steps
            (default 1: every step, as in the paper); a mode whose gradient
            statistic has not reached full rank is recomputed at every step
            until it has (roots of a rank-deficient statistic, reused, blow
            up the directions the first gradients missed;
            :mod:`optim.functional.shampoo`).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        vector_statistic: for 1-d (and 0-d) parameters, ``"full"`` (default,
            an :math:`n\times n` statistic: full-matrix AdaGrad) or
            ``"diagonal"`` (diagonal AdaGrad, for long vectors).
        trace: record ``t``, ``g``, ``H_1``..``H_k``, ``P_1``..``P_k``,
            ``G_tilde`` per step and parameter.

    State per parameter: ``step``, ``statistics`` (list of the :math:`H^i`),
    ``inverse_roots`` (list of the :math:`(H^i)^{-1/2k}`), ``full_rank``
    (list of flags: which statistics had full rank at their last root).
    """

    def __init__(self, params: Params, lr: float = 1e-2, eps: float = 1e-6, beta: float | None = None,
                 update_freq: int = 1, weight_decay: float = 0, *, vector_statistic: str = "full",
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_real(eps, "eps")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_real(beta, "beta", allow_none=True)
        if beta is not None:
            check_range(beta, "beta", 0.0, 1.0, include_high=False)
        check_count(update_freq, "update_freq")
        check_nonnegative(weight_decay, "weight_decay")
        check_choice(vector_statistic, "vector_statistic", VECTOR_STATISTICS)
        defaults = {"lr": lr, "eps": eps, "beta": beta, "update_freq": update_freq,
                    "weight_decay": weight_decay, "vector_statistic": vector_statistic}
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.shampoo_init(theta, eps=group["eps"],
                              vector_statistic=group["vector_statistic"])

    def _update(self, theta, grad, state, group):
        return F.shampoo(theta, grad, state, lr=group["lr"], eps=group["eps"],
                         beta=group["beta"], update_freq=group["update_freq"],
                         weight_decay=group["weight_decay"],
                         vector_statistic=group["vector_statistic"])
