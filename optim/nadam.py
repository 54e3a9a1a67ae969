r"""``NAdam``: Adam with Nesterov momentum.

The formula is :func:`optim.functional.nadam`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_choice, check_lr, check_nonnegative
from .functional.nadam import MU_SCHEDULES
from .optimizer import Optimizer
from .types import Params

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat 2016), with decoupled weight decay; PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0); an L2 penalty added to the
            gradient, or with ``decoupled_weight_decay=True`` the decay
            :math:`\theta \leftarrow \theta(1 - \gamma\lambda)`.
        momentum_decay: :math:`\psi` of the schedule
            :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})` (default 4e-3).
        decoupled_weight_decay: NAdamW's decay (default False).
        maximize: maximize the objective instead (default False).
        mu_schedule: ``"dozat"`` (default; the paper and PyTorch) or
            ``"constant"`` (:math:`\mu_t = \beta_1` at every step).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    State per parameter: ``step``, ``mu_product`` (:math:`\prod_{i\le t}\mu_i`,
    a Python float), ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False, mu_schedule: str = "dozat",
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_nonnegative(eps, "epsilon", arg="eps")
        betas = check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(momentum_decay, "momentum_decay")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(maximize, "maximize")
        check_choice(mu_schedule, "mu_schedule", MU_SCHEDULES)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
            "mu_schedule": mu_schedule,
        }
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.nadam_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.nadam(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                       eps=group["eps"], weight_decay=group["weight_decay"],
                       momentum_decay=group["momentum_decay"],
                       decoupled_weight_decay=group["decoupled_weight_decay"],
                       maximize=group["maximize"], mu_schedule=group["mu_schedule"])
