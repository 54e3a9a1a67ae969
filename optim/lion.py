r"""``Lion`` (Chen et al. 2023): the sign of an interpolated momentum.

The formula is :func:`optim.functional.lion`. PyTorch has no Lion: the class
is checked against the paper's Algorithm 2 written out in the tests, and
against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion, "EvoLved Sign Momentum" (Chen et al. 2023), Algorithm 2.

    .. math::

        \theta_t = \theta_{t-1}(1-\eta\lambda) - \eta\,\operatorname{sign}(\beta_1 m_{t-1} + (1-\beta_1) g_t),
        \qquad m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-4; the paper advises 3-10x smaller than AdamW's).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.99)).
        weight_decay: :math:`\lambda`, decoupled (default 0; 3-10x larger than AdamW's).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (``g``, ``c``, ``u``, ``m``).

    State per parameter: ``exp_avg`` (:math:`m`).
    """

    def __init__(self, params: Params, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay,
                                  "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.lion_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.lion(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                      weight_decay=group["weight_decay"], maximize=group["maximize"])
