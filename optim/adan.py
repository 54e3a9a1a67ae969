r"""``Adan`` (Xie et al. 2022): adaptive Nesterov momentum from gradient differences.

The formula is :func:`optim.functional.adan`. PyTorch has no Adan: the class
is checked against the algorithm written out in the tests, and against
pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas3, check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["Adan"]


class Adan(Optimizer):
    r"""Adan (Xie et al. 2022), Algorithm 1 in the reference code's form.

    .. math::

        u_k = (\hat m_k + \beta_2 \hat v_k)/(\sqrt{\hat n_k} + \epsilon), \qquad
        \theta_{k+1} = (\theta_k - \eta u_k)/(1 + \lambda\eta)

    with :math:`m` the average of the gradients, :math:`v` of their
    differences, :math:`n` of the squared Nesterov gradient
    :math:`g_k + \beta_2(g_k - g_{k-1})`.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2, \beta_3)` (default (0.98, 0.92, 0.99)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        no_prox: decay the weights before the step (AdamW's way) instead of
            the proximal division (default False).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_diff``,
    ``exp_avg_sq``, ``pre_grad`` (the previous gradient).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float, float] = (0.98, 0.92, 0.99),
                 eps: float = 1e-8, weight_decay: float = 0.0, no_prox: bool = False, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas3(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(no_prox, "no_prox")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "no_prox": no_prox, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.adan_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2, beta3 = group["betas"]
        return F.adan(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, beta3=beta3,
                      eps=group["eps"], weight_decay=group["weight_decay"], no_prox=group["no_prox"],
                      maximize=group["maximize"])
