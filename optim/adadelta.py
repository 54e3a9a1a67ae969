r"""``Adadelta``: step sizes from running averages of squared gradients and steps.

The formula is :func:`optim.functional.adadelta`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and checks.
The paper (Zeiler 2012) has no learning rate (``lr=1.0``) and uses
``rho=0.95``.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative, check_range
from .optimizer import Optimizer
from .types import Params

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma`, scales the step (default 1.0).
        rho: decay :math:`\rho` of both running averages (default 0.9).
        eps: :math:`\epsilon` inside both roots (default 1e-6).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).
    """

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_range(rho, "rho", 0.0, 1.0)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(maximize, "maximize")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.adadelta_init(theta)

    def _update(self, theta, grad, state, group):
        return F.adadelta(theta, grad, state, lr=group["lr"], rho=group["rho"],
                          eps=group["eps"], weight_decay=group["weight_decay"],
                          maximize=group["maximize"])
