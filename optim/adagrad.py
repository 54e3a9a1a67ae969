r"""``Adagrad``: per-coordinate step sizes from the sum of squared gradients.

The formula is :func:`optim.functional.adagrad`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and checks.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative
from .fast.inplace import adagrad_
from .fast.mixin import FlatPath
from .optimizer import Optimizer
from .types import Params

__all__ = ["Adagrad"]


class Adagrad(FlatPath, Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-2).
        lr_decay: :math:`\eta`, :math:`\gamma_t = \gamma / (1 + (t-1)\eta)` (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        initial_accumulator_value: :math:`s_0` (default 0).
        eps: :math:`\epsilon` (default 1e-10).
        maximize: maximize the objective instead (default False).
        eps_inside_sqrt: the lecture's :math:`\sqrt{s + \epsilon}` instead of
            PyTorch's :math:`\sqrt{s} + \epsilon` (default False).
        trace: record the formula's intermediates (see :class:`Optimizer`).
        impl: ``"teaching"`` (default) or ``"flat"``: the same formula over one
            flat buffer per param group, in cache-sized chunks, bitwise equal
            to the teaching path (see :mod:`optim.fast`).

    State per parameter: ``step``, ``sum``. As in PyTorch the state is built
    in the constructor (so ``state_dict()`` holds it before the first step).
    Unlike PyTorch, a param group's own ``initial_accumulator_value`` is used
    for that group (PyTorch fills every group from the constructor's value).
    """

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *, maximize: bool = False,
                 eps_inside_sqrt: bool = False, trace: bool | Iterable[str] = False, impl: str = "teaching") -> None:
        lr = check_lr(lr)
        check_nonnegative(lr_decay, "lr_decay")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(initial_accumulator_value, "initial_accumulator_value")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_bool(maximize, "maximize")
        check_bool(eps_inside_sqrt, "eps_inside_sqrt")
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "maximize": maximize,
            "eps_inside_sqrt": eps_inside_sqrt,
        }
        super().__init__(params, defaults, trace=trace, impl=impl)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(p.data, group)
        self._sync_flat()           # impl="flat": the accumulators into the flat buffers

    def _init_state(self, theta, group):
        return F.adagrad_init(theta, initial_accumulator_value=group["initial_accumulator_value"])

    def _update(self, theta, grad, state, group):
        return F.adagrad(theta, grad, state, lr=group["lr"], lr_decay=group["lr_decay"],
                         weight_decay=group["weight_decay"], eps=group["eps"],
                         maximize=group["maximize"], eps_inside_sqrt=group["eps_inside_sqrt"])

    def _update_inplace(self, theta, grad, state, out, work, group):
        return adagrad_(theta, grad, state, out, work, lr=group["lr"], lr_decay=group["lr_decay"],
                        weight_decay=group["weight_decay"], eps=group["eps"],
                        maximize=group["maximize"], eps_inside_sqrt=group["eps_inside_sqrt"])
