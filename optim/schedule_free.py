r"""``ScheduleFreeSGD`` and ``ScheduleFreeAdamW`` (Defazio et al. 2024), with their ``train()``/``eval()`` switch.

The formulas are :func:`optim.functional.schedule_free_sgd` and
:func:`optim.functional.schedule_free_adamw`. During training the parameters
hold :math:`y`, the point where gradients are taken; the point to evaluate
is the average :math:`x`. As in the reference code, call ``opt.eval()``
before evaluating or saving a model for use (the parameters then hold
:math:`x`) and ``opt.train()`` before training again (back to :math:`y`);
``step`` refuses to run in evaluation mode. The mode is a param-group key
(``train_mode``), so it travels with ``state_dict``.

PyTorch has neither: the classes are checked against the paper's algorithm
written out in the tests, and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_betas, check_bool, check_count, check_lr, check_nonnegative, check_range
from .optimizer import Optimizer
from .types import Closure, Params

__all__ = ["ScheduleFreeSGD", "ScheduleFreeAdamW"]


class _ScheduleFree(Optimizer):
    """The switch between :math:`y` (training) and :math:`x` (evaluation) shared by both classes."""

    def _beta(self, group) -> float:
        raise NotImplementedError

    def _switch(self, train: bool) -> None:
        with no_grad():
            for group in self.param_groups:
                if group["train_mode"] == train:
                    continue
                for p in group["params"]:
                    state = self.state.get(p)
                    if state:
                        p.data[...] = (F.schedule_free_train_point(state, self._beta(group)) if train
                                       else F.schedule_free_eval_point(state))
                group["train_mode"] = train

    def eval(self) -> None:
        """Put the averaged point :math:`x` into the parameters (for evaluation)."""
        self._switch(False)

    def train(self) -> None:
        """Put the training point :math:`y` back into the parameters."""
        self._switch(True)

    def step(self, closure: Closure | None = None):
        """One step (training mode only: call ``train()`` after ``eval()``)."""
        if not all(group["train_mode"] for group in self.param_groups):
            raise RuntimeError(f"{type(self).__name__} is in evaluation mode: call train() before step()")
        return super().step(closure)


def _check_schedule(warmup_steps, r, weight_lr_power) -> None:
    check_count(warmup_steps, "warmup_steps", minimum=0)
    check_nonnegative(r, "r")
    check_nonnegative(weight_lr_power, "weight_lr_power")


class ScheduleFreeSGD(_ScheduleFree):
    r"""Schedule-Free SGD (Defazio et al. 2024).

    .. math::

        z_t = z_{t-1} - \gamma_t \nabla f(y_{t-1}), \qquad
        x_t = (1-c_t) x_{t-1} + c_t z_t, \qquad
        y_t = (1-\beta) z_t + \beta x_t

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1.0, the reference code's).
        momentum: :math:`\beta`, in [0, 1] (default 0.9).
        weight_decay: :math:`\lambda`, added to the gradient at :math:`y` (default 0).
        warmup_steps: linear warmup of :math:`\gamma` over this many steps (default 0).
        r, weight_lr_power: the averaging weights :math:`w_t = t^r \gamma_{max}^p` (defaults 0, 2).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``z``, ``x``, ``lr_max``, ``weight_sum``
    (the reference code keeps the last two per group: the same when every
    parameter has a gradient at every step).
    """

    def __init__(self, params: Params, lr: float = 1.0, momentum: float = 0.9, weight_decay: float = 0.0,
                 warmup_steps: int = 0, r: float = 0.0, weight_lr_power: float = 2.0, *,
                 maximize: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_range(momentum, "momentum", 0.0, 1.0)
        check_nonnegative(weight_decay, "weight_decay")
        _check_schedule(warmup_steps, r, weight_lr_power)
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "warmup_steps": warmup_steps, "r": r, "weight_lr_power": weight_lr_power,
                                  "maximize": maximize, "train_mode": True}, trace=trace)

    def _beta(self, group):
        return group["momentum"]

    def _init_state(self, theta, group):
        return F.schedule_free_init(theta)

    def _update(self, theta, grad, state, group):
        return F.schedule_free_sgd(theta, grad, state, lr=group["lr"], momentum=group["momentum"],
                                   weight_decay=group["weight_decay"], warmup_steps=group["warmup_steps"],
                                   r=group["r"], weight_lr_power=group["weight_lr_power"],
                                   maximize=group["maximize"])


class ScheduleFreeAdamW(_ScheduleFree):
    r"""Schedule-Free AdamW (Defazio et al. 2024, Algorithm 1).

    Schedule-Free SGD's three sequences with the gradient normalised by
    Adam's bias-corrected second moment, :math:`g/(\sqrt{v_t/(1-\beta_2^t)} + \epsilon)`,
    and :math:`\beta = \beta_1`.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 0.0025, the reference code's).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda`, at :math:`y`, after the normalisation (default 0).
        warmup_steps, r, weight_lr_power: as in :class:`ScheduleFreeSGD`.
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``z``, ``x``, ``lr_max``, ``weight_sum``, ``exp_avg_sq``.
    """

    def __init__(self, params: Params, lr: float = 0.0025, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        _check_schedule(warmup_steps, r, weight_lr_power)
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "warmup_steps": warmup_steps, "r": r, "weight_lr_power": weight_lr_power,
                                  "maximize": maximize, "train_mode": True}, trace=trace)

    def _beta(self, group):
        return group["betas"][0]

    def _init_state(self, theta, group):
        return F.schedule_free_init(theta, adaptive=True)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.schedule_free_adamw(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                                     eps=group["eps"], weight_decay=group["weight_decay"],
                                     warmup_steps=group["warmup_steps"], r=group["r"],
                                     weight_lr_power=group["weight_lr_power"], maximize=group["maximize"])
