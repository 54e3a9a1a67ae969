r"""``AdEMAMix`` (Pagliardini et al. 2024): Adam plus a slow momentum.

The formula is :func:`optim.functional.ademamix`. PyTorch has no AdEMAMix:
the class is checked against the paper's Algorithm 1 written out in the
tests, and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas3, check_bool, check_count, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["AdEMAMix"]


class AdEMAMix(Optimizer):
    r"""AdEMAMix (Pagliardini et al. 2024), Algorithm 1.

    .. math::

        \theta_t = \theta_{t-1} - \eta\Big(\frac{\hat m_{1,t} + \alpha\, m_{2,t}}{\sqrt{\hat\nu_t} + \epsilon}
            + \lambda\theta_{t-1}\Big)

    with :math:`m_1` Adam's momentum (:math:`\beta_1`), :math:`m_2` a slow
    one (:math:`\beta_3`, not bias-corrected), :math:`\nu` Adam's second moment.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2, \beta_3)` (default (0.9, 0.999, 0.9999)).
        alpha: :math:`\alpha`, the weight of the slow momentum (default 2.0).
        beta3_warmup, alpha_warmup: the warmup lengths :math:`T_{\beta_3}`,
            :math:`T_\alpha` of the paper's schedulers (default None: no warmup).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda`, decoupled (default 0).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg_fast``, ``exp_avg_slow``, ``exp_avg_sq``.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float, float] = (0.9, 0.999, 0.9999),
                 alpha: float = 2.0, beta3_warmup: int | None = None, alpha_warmup: int | None = None,
                 eps: float = 1e-8, weight_decay: float = 0.0, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas3(betas)
        check_nonnegative(alpha, "alpha")
        check_count(beta3_warmup, "beta3_warmup", allow_none=True)
        check_count(alpha_warmup, "alpha_warmup", allow_none=True)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "alpha": alpha, "beta3_warmup": beta3_warmup,
                                  "alpha_warmup": alpha_warmup, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.ademamix_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2, beta3 = group["betas"]
        return F.ademamix(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, beta3=beta3,
                          alpha=group["alpha"], beta3_warmup=group["beta3_warmup"],
                          alpha_warmup=group["alpha_warmup"], eps=group["eps"],
                          weight_decay=group["weight_decay"], maximize=group["maximize"])
