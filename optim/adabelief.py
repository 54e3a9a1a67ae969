r"""``AdaBelief``: Adam that adapts its steps to the belief in the gradient (Zhuang et al. 2020).

The formula is :func:`optim.functional.adabelief`, in the form of the
authors' package ``adabelief-pytorch`` (0.2): :math:`\epsilon` added to the
state :math:`s` at every step, :math:`\epsilon = 10^{-16}` and decoupled
weight decay by default. PyTorch has no AdaBelief: the class is checked
against the algorithm written out in the tests.

Differences from the package's defaults: ``rectify`` is False here (the
package turns it on since 0.1; the paper's Algorithm 2 has no rectification),
and nothing is printed.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["AdaBelief"]


class AdaBelief(Optimizer):
    r"""AdaBelief (Zhuang et al. 2020), with the official package's arguments.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon, \qquad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{s_t/(1-\beta_2^t)} + \epsilon}

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-16), added to :math:`s` and to the denominator.
        weight_decay: :math:`\lambda` (default 0).
        amsgrad: use :math:`\max(s^{max}, s)` (default False).
        weight_decouple: decoupled decay :math:`\theta(1-\gamma\lambda)` (default
            True); False adds :math:`\lambda\theta` to the gradient.
        fixed_decay: with ``weight_decouple``, decay by :math:`\theta(1-\lambda)`,
            independent of the learning rate (default False).
        rectify: RAdam's rectification, threshold :math:`\rho_t \ge 5` (default False).
        degenerated_to_sgd: with ``rectify``, take an SGD-with-momentum step
            while :math:`\rho_t < 5` (default True; False: no step).
        trace: record the formula's intermediates (``m``, ``s``, ``m_hat``,
            ``s_hat``, ``rho_t``, ``r_t``; see :func:`optim.functional.adabelief`).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_var``
    (:math:`s`), and ``max_exp_avg_var`` with amsgrad (the package's names).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-16, weight_decay: float = 0, amsgrad: bool = False,
                 weight_decouple: bool = True, fixed_decay: bool = False, rectify: bool = False,
                 degenerated_to_sgd: bool = True, *, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(amsgrad, "amsgrad")
        check_bool(weight_decouple, "weight_decouple")
        check_bool(fixed_decay, "fixed_decay")
        check_bool(rectify, "rectify")
        check_bool(degenerated_to_sgd, "degenerated_to_sgd")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "weight_decouple": weight_decouple,
                    "fixed_decay": fixed_decay, "rectify": rectify,
                    "degenerated_to_sgd": degenerated_to_sgd}
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.adabelief_init(theta, amsgrad=group["amsgrad"])

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.adabelief(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                           eps=group["eps"], weight_decay=group["weight_decay"],
                           amsgrad=group["amsgrad"], weight_decouple=group["weight_decouple"],
                           fixed_decay=group["fixed_decay"], rectify=group["rectify"],
                           degenerated_to_sgd=group["degenerated_to_sgd"])
