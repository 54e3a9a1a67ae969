r"""``ASGD``: SGD whose iterates are averaged (Polyak-Ruppert averaging).

The formula is :func:`optim.functional.asgd`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks.

The parameters hold the SGD iterates; the average is the state ``ax``. To
evaluate the averaged model, copy it in (and back out to continue training)::

    for p in model.parameters():
        p.data[...] = opt.state[p]["ax"]

The lecture's ASGD averages every iterate, :math:`\bar\theta_t = \frac1t
\sum_{i=1}^t \theta_i`: that is ``ASGD(params, t0=-1)`` (PyTorch's default
``t0=1e6`` starts averaging only after a million steps).
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative, check_real
from .optimizer import Optimizer
from .types import Params

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky 1992; Bottou's schedule), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma`, the first step size :math:`\eta_1` (default 1e-2).
        lambd: :math:`\lambda`, the decay term of the step-size schedule
            :math:`\eta_{t+1} = \gamma/(1+\lambda\gamma t)^\alpha`, also applied
            to the parameters as :math:`\theta(1-\lambda\eta_t)` (default 1e-4).
        alpha: :math:`\alpha`, the power of the schedule (default 0.75).
        t0: :math:`t_0`, the step after which averaging starts (default 1e6).
            ``t0=-1`` gives the lecture's average: ``ax`` is then exactly the
            mean :math:`\frac1t\sum_{i=1}^t \theta_i` of all the iterates
            (:math:`\mu_{t+1} = 1/(t+1)`); with :math:`t_0 \ge 0` the average
            leaves out :math:`\theta_1, \dots, \theta_{t_0+1}`.
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    State per parameter: ``step``, ``eta`` and ``mu`` (the step size and the
    averaging weight of the *next* step, Python floats), ``ax`` (the average
    :math:`\bar\theta`).
    """

    def __init__(self, params: Params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, *, maximize: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_real(lambd, "lambd")
        check_real(alpha, "alpha")
        check_real(t0, "t0")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(maximize, "maximize")
        defaults = {
            "lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
            "weight_decay": weight_decay, "maximize": maximize,
        }
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.asgd_init(theta, lr=group["lr"])

    def _update(self, theta, grad, state, group):
        return F.asgd(theta, grad, state, lr=group["lr"], lambd=group["lambd"],
                      alpha=group["alpha"], t0=group["t0"],
                      weight_decay=group["weight_decay"], maximize=group["maximize"])
