r"""``RMSprop``: divide the gradient by a running root mean square of gradients.

The formula is :func:`optim.functional.rmsprop`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and checks.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative
from .fast.inplace import rmsprop_
from .fast.mixin import FlatPath
from .optimizer import Optimizer
from .types import Params

__all__ = ["RMSprop"]


class RMSprop(FlatPath, Optimizer):
    r"""RMSprop (Tieleman & Hinton 2012; centered: Graves 2013), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-2).
        alpha: smoothing constant :math:`\alpha` (default 0.99).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        momentum: :math:`\mu` (default 0).
        centered: normalize by an estimate of the variance instead of the
            second moment (default False).
        maximize: maximize the objective instead (default False).
        eps_inside_sqrt: the lecture's :math:`\sqrt{v + \epsilon}` instead of
            PyTorch's :math:`\sqrt{v} + \epsilon` (default False).
        trace: record the formula's intermediates (see :class:`Optimizer`).
        impl: ``"teaching"`` (default) or ``"flat"``: the same formula over one
            flat buffer per param group, in cache-sized chunks, bitwise equal
            to the teaching path (see :mod:`optim.fast`).

    State per parameter: ``step``, ``square_avg``, plus ``momentum_buffer``
    (momentum > 0) and ``grad_avg`` (centered).
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False, eps_inside_sqrt: bool = False, trace: bool | Iterable[str] = False,
                 impl: str = "teaching") -> None:
        lr = check_lr(lr)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(momentum, "momentum")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(alpha, "alpha")
        check_bool(centered, "centered")
        check_bool(maximize, "maximize")
        check_bool(eps_inside_sqrt, "eps_inside_sqrt")
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
            "centered": centered, "weight_decay": weight_decay, "maximize": maximize,
            "eps_inside_sqrt": eps_inside_sqrt,
        }
        super().__init__(params, defaults, trace=trace, impl=impl)

    def _init_state(self, theta, group):
        return F.rmsprop_init(theta, momentum=group["momentum"], centered=group["centered"])

    def _update(self, theta, grad, state, group):
        return F.rmsprop(theta, grad, state, lr=group["lr"], alpha=group["alpha"],
                         eps=group["eps"], weight_decay=group["weight_decay"],
                         momentum=group["momentum"], centered=group["centered"],
                         maximize=group["maximize"], eps_inside_sqrt=group["eps_inside_sqrt"])

    def _update_inplace(self, theta, grad, state, out, work, group):
        return rmsprop_(theta, grad, state, out, work, lr=group["lr"], alpha=group["alpha"],
                        eps=group["eps"], weight_decay=group["weight_decay"],
                        momentum=group["momentum"], centered=group["centered"],
                        maximize=group["maximize"], eps_inside_sqrt=group["eps_inside_sqrt"])
