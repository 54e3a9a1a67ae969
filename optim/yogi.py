r"""``Yogi`` (Zaheer et al. 2018): Adam with an additive second-moment update.

The formula is :func:`optim.functional.yogi`. PyTorch has no Yogi: the class
is checked against the paper's Algorithm 2 written out in the tests, and
against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["Yogi"]


class Yogi(Optimizer):
    r"""Yogi (Zaheer et al. 2018), Algorithm 2.

    .. math::

        v_t = v_{t-1} - (1-\beta_2)\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2, \qquad
        \theta_t = \theta_{t-1} - \eta\, m_t/(\sqrt{v_t} + \epsilon)

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-2).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-3).
        initial_accumulator: :math:`v_0` (default 1e-6).
        weight_decay: :math:`\lambda` (default 0), an L2 term, or AdamW's decay
            with ``decoupled_weight_decay=True``.
        bias_correction: Adam's bias corrections, not in Algorithm 2 (default False).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-2, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-3, initial_accumulator: float = 1e-6, weight_decay: float = 0.0, *,
                 decoupled_weight_decay: bool = False, bias_correction: bool = False, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(initial_accumulator, "initial_accumulator")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(bias_correction, "bias_correction")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "initial_accumulator": initial_accumulator, "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "bias_correction": bias_correction, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.yogi_init(theta, initial_accumulator=group["initial_accumulator"])

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.yogi(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                      weight_decay=group["weight_decay"], decoupled_weight_decay=group["decoupled_weight_decay"],
                      bias_correction=group["bias_correction"], maximize=group["maximize"])
