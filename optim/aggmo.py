r"""``AggMo`` (Lucas et al. 2019): the average of several heavy-ball velocities.

The formula is :func:`optim.functional.aggmo`. PyTorch has no AggMo: the
class is checked against the paper's update written out in the tests, and
against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative, check_range, check_reals
from .optimizer import Optimizer
from .types import Params

__all__ = ["AggMo"]


class AggMo(Optimizer):
    r"""Aggregated momentum (Lucas et al. 2019).

    .. math::

        b^{(i)}_t = \beta^{(i)} b^{(i)}_{t-1} + g_t, \qquad
        \theta_t = \theta_{t-1} - \frac{\gamma}{K}\sum_{i=1}^K b^{(i)}_t

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 0.1).
        betas: the damping coefficients :math:`\beta^{(i)}`, each in [0, 1)
            (default (0.0, 0.9, 0.99)).
        weight_decay: :math:`\lambda` (default 0), an L2 term, or AdamW's decay
            with ``decoupled_weight_decay=True``.
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (``g``, ``b``, ``d``).

    State per parameter: ``momentum_buffer``, shape ``(K, *param.shape)``.
    """

    def __init__(self, params: Params, lr: float = 0.1, betas: tuple[float, ...] = (0.0, 0.9, 0.99),
                 weight_decay: float = 0.0, *, decoupled_weight_decay: bool = False, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_reals(betas, "betas")
        if not betas:
            raise ValueError("betas must hold at least one damping coefficient")
        for i, beta in enumerate(betas):
            check_range(beta, f"beta parameter at index {i}", 0.0, 1.0, include_high=False, arg=f"betas[{i}]")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": tuple(float(b) for b in betas),
                                  "weight_decay": weight_decay, "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.aggmo_init(theta, betas=group["betas"])

    def _update(self, theta, grad, state, group):
        return F.aggmo(theta, grad, state, lr=group["lr"], betas=group["betas"],
                       weight_decay=group["weight_decay"], decoupled_weight_decay=group["decoupled_weight_decay"],
                       maximize=group["maximize"])
