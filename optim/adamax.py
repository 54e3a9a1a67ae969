r"""``Adamax``: Adam with the infinity norm.

The formula is :func:`optim.functional.adamax`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba 2015, Algorithm 2), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon`, inside the max: :math:`u = \max(\beta_2 u, |g| +
            \epsilon)` (default 1e-8; ``eps=0`` is the paper's Algorithm 2).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_inf`` (:math:`u`).
    """

    def __init__(self, params: Params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_nonnegative(eps, "epsilon", arg="eps")
        betas = check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(maximize, "maximize")
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.adamax_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.adamax(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                        eps=group["eps"], weight_decay=group["weight_decay"],
                        maximize=group["maximize"])
