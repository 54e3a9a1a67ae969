r"""``MADGRAD`` (Defazio & Jelassi 2021): momentumised dual-averaged AdaGrad.

The formula is :func:`optim.functional.madgrad`. PyTorch has no MADGRAD: the
class is checked against the paper's Algorithm 1 written out in the tests,
and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative, check_range
from .optimizer import Optimizer
from .types import Params

__all__ = ["MADGRAD"]


class MADGRAD(Optimizer):
    r"""MADGRAD (Defazio & Jelassi 2021), Algorithm 1.

    .. math::

        z_{k+1} = x_0 - \frac{\sum_{i\le k} \lambda_i g_i}{(\sum_{i\le k}\lambda_i g_i^2)^{1/3} + \epsilon},
        \qquad x_{k+1} = (1-c)\,x_k + c\,z_{k+1}, \qquad \lambda_i = \gamma\sqrt{i+1}

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-2).
        momentum: :math:`1-c`, in [0, 1) (default 0.9).
        weight_decay: :math:`\lambda` (default 0), an L2 term, or with
            ``decouple_decay=True`` :math:`-\gamma\lambda x_k` after the step.
        eps: :math:`\epsilon` (default 1e-6).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step`` (:math:`k`), ``grad_sum_sq`` (:math:`\nu`), ``s``, ``x0``.
    The step counter is per parameter (the reference code counts the
    optimizer's steps: the same unless a parameter skips steps).
    """

    def __init__(self, params: Params, lr: float = 1e-2, momentum: float = 0.9, weight_decay: float = 0.0,
                 eps: float = 1e-6, decouple_decay: bool = False, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_range(momentum, "momentum", 0.0, 1.0, include_high=False)
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_bool(decouple_decay, "decouple_decay")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "eps": eps,
                                  "decouple_decay": decouple_decay, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.madgrad_init(theta)

    def _update(self, theta, grad, state, group):
        return F.madgrad(theta, grad, state, lr=group["lr"], momentum=group["momentum"],
                         weight_decay=group["weight_decay"], eps=group["eps"],
                         decouple_decay=group["decouple_decay"], maximize=group["maximize"])
