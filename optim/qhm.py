r"""``QHM`` and ``QHAdam`` (Ma & Yarats 2019): quasi-hyperbolic momentum.

The formulas are :func:`optim.functional.qhm` and :func:`optim.functional.qhadam`.
PyTorch has neither: the classes are checked against the paper's algorithms
written out in the tests, and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_choice, check_lr, check_nonnegative, check_range, check_reals
from .functional.qhm import QHM_WEIGHT_DECAY_TYPES
from .optimizer import Optimizer, required
from .types import Params

__all__ = ["QHM", "QHAdam"]


class QHM(Optimizer):
    r"""Quasi-hyperbolic momentum (Ma & Yarats 2019, Algorithm 1).

    .. math::

        b_t = \beta b_{t-1} + (1-\beta) g_t, \qquad
        \theta_t = \theta_{t-1} - \eta\big[(1-\nu) g_t + \nu b_t\big]

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (required). momentum: :math:`\beta` (required). nu: :math:`\nu` (required;
            the paper recommends :math:`\beta = 0.999`, :math:`\nu = 0.7`).
        weight_decay: :math:`\lambda` (default 0).
        weight_decay_type: ``"grad"`` (default; :math:`g + \lambda\theta`) or
            ``"direct"`` (:math:`\theta(1-\eta\lambda)`).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (``g``, ``b``, ``d``).

    State per parameter: ``momentum_buffer`` (:math:`b`).
    """

    def __init__(self, params: Params, lr: float = required, momentum: float = required, nu: float = required,
                 weight_decay: float = 0.0, weight_decay_type: str = "grad", *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        if lr is not required:
            lr = check_lr(lr)
        if momentum is not required:
            check_range(momentum, "momentum", 0.0, 1.0)
        if nu is not required:
            check_nonnegative(nu, "nu")
        check_nonnegative(weight_decay, "weight_decay")
        check_choice(weight_decay_type, "weight_decay_type", QHM_WEIGHT_DECAY_TYPES)
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "momentum": momentum, "nu": nu, "weight_decay": weight_decay,
                                  "weight_decay_type": weight_decay_type, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.qhm_init(theta)

    def _update(self, theta, grad, state, group):
        return F.qhm(theta, grad, state, lr=group["lr"], momentum=group["momentum"], nu=group["nu"],
                     weight_decay=group["weight_decay"], weight_decay_type=group["weight_decay_type"],
                     maximize=group["maximize"])


class QHAdam(Optimizer):
    r"""QHAdam (Ma & Yarats 2019, Algorithm 2).

    .. math::

        \theta_t = \theta_{t-1} - \eta\,
          \frac{(1-\nu_1) g_t + \nu_1 \hat m_t}{\sqrt{(1-\nu_2) g_t^2 + \nu_2 \hat v_t} + \epsilon}

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.995, 0.999), the paper's).
        nus: :math:`(\nu_1, \nu_2)` (default (0.7, 1.0)); (1, 1) is Adam.
        weight_decay: :math:`\lambda` (default 0); decouple_weight_decay: AdamW's decay (default False).
        eps: :math:`\epsilon` (default 1e-8).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.995, 0.999),
                 nus: tuple[float, float] = (0.7, 1.0), weight_decay: float = 0.0,
                 decouple_weight_decay: bool = False, eps: float = 1e-8, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        nus = check_reals(nus, "nus", 2, expected="a pair (nu1, nu2) of real numbers")
        for i, nu in enumerate(nus):
            check_nonnegative(nu, f"nu at index {i}", arg=f"nus[{i}]")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(decouple_weight_decay, "decouple_weight_decay")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "nus": tuple(float(n) for n in nus),
                                  "weight_decay": weight_decay, "decouple_weight_decay": decouple_weight_decay,
                                  "eps": eps, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.qhadam_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        nu1, nu2 = group["nus"]
        return F.qhadam(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, nu1=nu1, nu2=nu2,
                        eps=group["eps"], weight_decay=group["weight_decay"],
                        decouple_weight_decay=group["decouple_weight_decay"], maximize=group["maximize"])
