r"""Learning-rate schedules, with the API and the step-by-step semantics of
``torch.optim.lr_scheduler`` (PyTorch 2.13), plus three schedules of the lectures.

How a scheduler drives an optimizer
-----------------------------------
A scheduler only reads and writes ``optimizer.param_groups``: a list of dicts, each
holding ``'lr'`` and the other hyperparameters of one parameter group
(``'momentum'``, ``'betas'``, ...). Two schedulers (:class:`CyclicLR`,
:class:`OneCycleLR`) also read ``optimizer.defaults`` to learn whether the optimizer
has ``'momentum'`` or ``'betas'``; without a ``defaults`` dict they look at the keys
of the first parameter group. Nothing else of the optimizer is used, so any object
with a ``param_groups`` list of dicts can be scheduled.

The loop is PyTorch's::

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)   # sets the lr of epoch 0
    for epoch in range(100):
        train_one_epoch(optimizer)         # optimizer.step() calls use group['lr']
        scheduler.step()                   # now group['lr'] is the lr of epoch+1

Facts worth knowing (all as in PyTorch):

* Constructing a scheduler already applies the value for epoch 0: it calls
  :meth:`LRScheduler.step` once, so ``last_epoch`` is 0 afterwards, and it records
  ``group['initial_lr']`` (if absent) as the schedule's base learning rate
  :math:`\eta_0` (``scheduler.base_lrs``).
* Most schedules are *chainable*: ``step()`` turns the current ``group['lr']`` into
  the next one (a recursion :math:`\eta_t = f(\eta_{t-1}, t)`), so several schedulers
  on one optimizer compose multiplicatively. ``step(epoch)`` (deprecated in PyTorch)
  jumps to ``last_epoch = epoch`` and uses the *closed form*
  :math:`\eta_t = f(\eta_0, t)` where one exists.
* ``last_epoch`` counts ``step()`` calls (``-1`` before construction); it is an
  epoch only if you step once per epoch.
* ``get_last_lr()`` returns the learning rates the last ``step()`` set.
* ``state_dict()`` is every attribute except the optimizer (functions are left
  out: only callable *objects* have their ``__dict__`` saved); it holds only
  numbers, strings, lists, tuples and dicts, so ``minigrad.save`` can write it.
  Restore the optimizer's state and the scheduler's state together.

PyTorch's warnings (stepping the scheduler before the optimizer, the ``epoch``
argument being deprecated, calling ``get_lr()`` directly) are not reproduced, and the
optimizer's ``step`` method is not wrapped. Learning rates are Python floats here,
not tensors.
"""
from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .checks import (
    check_bool,
    check_callable,
    check_instance,
    check_int,
    check_ints,
    check_real,
    check_real_or_list,
    check_str,
    names_owner,
)
from .functional import schedules as S

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "SequentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "CyclicLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "HyperbolicLR",
    "TransformerWarmupLR",
    "NoamLR",
    "LinearWarmupLR",
]


# ----------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------

def _check_optimizer(optimizer) -> None:
    """Duck-typed check: an optimizer is anything with a list of dict param_groups."""
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise TypeError(
            f"{type(optimizer).__name__} is not an optimizer: a scheduler needs an "
            "object whose `param_groups` is a list of dicts")


def _per_group(name: str, optimizer, value) -> list:
    """One value per parameter group: a list/tuple is checked, a scalar repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have one entry per parameter group: got {len(value)} "
                f"values for {n} param_groups")
        return list(value)
    return [value] * n


def _group_values(optimizer, key: str) -> list:
    """``[group[key] for group in param_groups]`` (KeyError when a group lacks it)."""
    return [group[key] for group in optimizer.param_groups]


def _momentum_key(optimizer) -> str:
    """'betas' if the optimizer keeps beta1 in 'betas', 'momentum' if it has momentum.

    Reads ``optimizer.defaults`` as PyTorch does; an optimizer without a
    ``defaults`` dict is judged by the keys of its first parameter group.
    """
    defaults = getattr(optimizer, "defaults", None)
    if not isinstance(defaults, Mapping):
        defaults = optimizer.param_groups[0] if optimizer.param_groups else {}
    if "betas" in defaults:
        return "betas"
    if "momentum" in defaults:
        return "momentum"
    raise ValueError(
        "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")


def _set_momentum(group: dict, key: str, value: float) -> None:
    """Write the momentum of one group: 'momentum', or the first entry of 'betas'."""
    if key == "betas":
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _to_float(x) -> float:
    """A Python float from a number, a NumPy scalar/0-d array or a 1-element Tensor."""
    item = getattr(x, "item", None)
    return float(item()) if callable(item) else float(x)


def _callable_state(fns) -> list:
    """State of per-group callables: ``__dict__`` of callable objects, None for functions."""
    return [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
            for fn in fns]


def _restore_callable_state(fns, saved) -> None:
    for fn, state in zip(fns, saved):
        if state is not None:
            fn.__dict__.update(state)


# ----------------------------------------------------------------------------------
# the base class
# ----------------------------------------------------------------------------------

class LRScheduler:
    r"""Base class: sets ``group['lr']`` of every parameter group once per ``step()``.

    A subclass implements :meth:`get_lr` (the learning rates for ``last_epoch``,
    usually computed from the current ``group['lr']``: the chainable form) and
    optionally ``_get_closed_form_lr`` (computed from ``base_lrs``: used by
    ``step(epoch)``).

    Args:
        optimizer: any object with ``param_groups``, a list of dicts with ``'lr'``.
        last_epoch: index of the last epoch done; ``-1`` (default) starts a new
            schedule, recording ``group['initial_lr'] = group['lr']`` where absent.
            A value ``>= 0`` resumes, and then every group must already hold
            ``'initial_lr'`` (a KeyError otherwise).

    Construction calls :meth:`step` once (``last_epoch`` becomes ``last_epoch + 1``),
    so the optimizer starts with the schedule's value for that epoch.
    """

    # True only while the constructor's own first step() runs.
    _is_initial: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            # a hyperparameter of the wrong type names the class: "StepLR: gamma must be ..."
            cls.__init__ = names_owner(cls.__dict__["__init__"])

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        check_int(last_epoch, "last_epoch")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming a scheduler with last_epoch={last_epoch}: restore the "
                        "optimizer's state first, or start a new schedule with "
                        "last_epoch=-1")
        self.base_lrs = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step counter and apply the first value of the schedule."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    # -- state -----------------------------------------------------------------
    def state_dict(self) -> dict:
        """Every attribute of the scheduler except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    # -- learning rates ----------------------------------------------------------
    def get_last_lr(self) -> list:
        """The learning rates (one per group) set by the most recent ``step()``."""
        return self._last_lr

    def get_lr(self) -> list:
        """The learning rates for epoch ``last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch (``epoch=None``) or jump to ``epoch`` (closed form).

        Call it after ``optimizer.step()``.
        """
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None) -> None:
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            lrs = closed_form() if closed_form is not None else self.get_lr()
        lrs = list(lrs)
        if len(lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{type(self).__name__} computed {len(lrs)} learning rates for "
                f"{len(self.optimizer.param_groups)} param_groups")
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = _group_values(self.optimizer, "lr")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)})"


class _LRScheduler(LRScheduler):
    """Old name of :class:`LRScheduler`, kept (as in PyTorch) for older code."""


# ----------------------------------------------------------------------------------
# multiplier schedules
# ----------------------------------------------------------------------------------

def _one_per_group(optimizer, lr_lambda) -> list:
    """``lr_lambda`` as a list with one function per parameter group."""
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, "
                             f"but got {len(lr_lambda)}")
        return list(lr_lambda)
    return [lr_lambda] * len(optimizer.param_groups)


def _check_functions(lr_lambda, fns: list) -> None:
    """Every entry of ``lr_lambda`` (one function, or one per group) must be callable."""
    if isinstance(lr_lambda, (list, tuple)):
        for i, fn in enumerate(fns):
            check_callable(fn, f"lr_lambda[{i}]")
    else:
        check_callable(lr_lambda, "lr_lambda")


class LambdaLR(LRScheduler):
    r"""Learning rate = base learning rate times a user function of the epoch.

    .. math:: \eta_t = \eta_0 \, \lambda(t)

    Args:
        optimizer: the optimizer.
        lr_lambda: a function ``epoch -> factor``, or one per parameter group.
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``LambdaLR``. Functions are not saved in ``state_dict()``; a
    callable object's ``__dict__`` is.
    """

    def __init__(self, optimizer: Any, lr_lambda: Callable, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _one_per_group(optimizer, lr_lambda)
        _check_functions(lr_lambda, self.lr_lambdas)
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = _callable_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        _restore_callable_state(self.lr_lambdas, saved)

    def get_lr(self) -> list:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(LRScheduler):
    r"""Multiply the current learning rate by a user function of the epoch.

    .. math:: \eta_t = \eta_{t-1} \, \lambda(t) \quad (t \ge 1), \qquad \eta_0 = \eta_0

    Args:
        optimizer: the optimizer.
        lr_lambda: a function ``epoch -> factor``, or one per parameter group.
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``MultiplicativeLR`` (chainable only; construction leaves the lr
    unchanged).
    """

    def __init__(self, optimizer: Any, lr_lambda: Callable, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _one_per_group(optimizer, lr_lambda)
        _check_functions(lr_lambda, self.lr_lambdas)
        super().__init__(optimizer, last_epoch)

    state_dict = LambdaLR.state_dict
    load_state_dict = LambdaLR.load_state_dict

    def get_lr(self) -> list:
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    r"""Step decay: divide the learning rate by :math:`1/\gamma` every ``step_size`` epochs.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / s \rfloor}

    Chainable form: :math:`\eta_t = \gamma\,\eta_{t-1}` when :math:`t > 0` and
    :math:`s \mid t`, else :math:`\eta_t = \eta_{t-1}`.

    Args:
        optimizer: the optimizer.
        step_size: the period :math:`s` of the decay, in epochs.
        gamma: the factor :math:`\gamma` (default 0.1).
        last_epoch: see :class:`LRScheduler`.

    Source: the lecture's step schedule ("divide by k every n epochs"); PyTorch
    ``StepLR``.
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        check_int(step_size, "step_size")
        check_real(gamma, "gamma")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        return [S.step_decay(self.last_epoch, base, self.step_size, self.gamma)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the learning rate by :math:`\gamma` at each milestone epoch.

    .. math:: \eta_t = \eta_0 \, \gamma^{\#\{m \in M \,:\, m \le t\}}

    (a milestone listed twice counts twice).

    Args:
        optimizer: the optimizer.
        milestones: epochs at which to decay (a multiset).
        gamma: the factor (default 0.1).
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``MultiStepLR``; the piecewise-constant schedules of ResNet
    training (He et al. 2016, divide by 10 at fixed epochs).
    """

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.milestones = Counter(check_ints(milestones, "milestones"))
        self.gamma = check_real(gamma, "gamma")
        super().__init__(optimizer, last_epoch)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        # A checkpoint file stores the Counter as a plain dict: make it a Counter again.
        self.milestones = Counter(self.milestones)

    def get_lr(self) -> list:
        hits = self.milestones.get(self.last_epoch, 0)
        if hits == 0:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma ** hits for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        milestones = sorted(self.milestones.elements())
        return [S.multistep_decay(self.last_epoch, base, milestones, self.gamma)
                for base in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Constant warmup: a reduced learning rate for the first ``total_iters`` epochs.

    .. math:: \eta_t = \eta_0 \cdot \begin{cases} f & t < T \\ 1 & t \ge T \end{cases}

    Chainable form: multiply by :math:`f` at :math:`t = 0` and by :math:`1/f` at
    :math:`t = T`.

    Args:
        optimizer: the optimizer.
        factor: :math:`f \in [0, 1]` (default 1/3).
        total_iters: :math:`T` (default 5).
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``ConstantLR``; constant warmup as in Goyal et al. 2017,
    "Accurate, Large Minibatch SGD", Section 2.2.
    """

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1) -> None:
        check_real(factor, "factor")
        check_int(total_iters, "total_iters")
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        return [S.constant_warmup(self.last_epoch, base, self.factor, self.total_iters)
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Linear warmup (or decay) of the multiplier from ``start_factor`` to ``end_factor``.

    .. math:: \eta_t = \eta_0 \left(s + (e - s)\,\frac{\min(t, T)}{T}\right)

    Chainable form, for :math:`1 \le t \le T`:

    .. math:: \eta_t = \eta_{t-1}\left(1 + \frac{e - s}{T s + (t - 1)(e - s)}\right)

    Args:
        optimizer: the optimizer.
        start_factor: :math:`s \in (0, 1]` (default 1/3).
        end_factor: :math:`e \in [0, 1]` (default 1).
        total_iters: :math:`T` (default 5).
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``LinearLR``; gradual warmup of Goyal et al. 2017.
    """

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        check_real(start_factor, "start_factor")
        check_real(end_factor, "end_factor")
        check_int(total_iters, "total_iters")
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                             "and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        ratio = 1.0 + (e - s) / (T * s + (t - 1) * (e - s))
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        return [S.linear_ramp(self.last_epoch, base, self.start_factor, self.end_factor,
                              self.total_iters) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Exponential decay.

    .. math:: \eta_t = \eta_0 \, \gamma^{t} \qquad (\eta_t = \gamma\,\eta_{t-1})

    Args:
        optimizer: the optimizer.
        gamma: the decay factor per epoch.
        last_epoch: see :class:`LRScheduler`.

    Source: the lecture's exponential schedule (the seed study uses
    :math:`\eta_0 \cdot 0.95^{\text{epoch}}`); PyTorch ``ExponentialLR``.
    """

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_real(gamma, "gamma")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        return [S.exponential_decay(self.last_epoch, base, self.gamma) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Polynomial decay to zero over ``total_iters`` epochs.

    .. math:: \eta_t = \eta_0 \left(1 - \frac{\min(t, T)}{T}\right)^{p}

    Chainable form, for :math:`1 \le t \le T`:
    :math:`\eta_t = \eta_{t-1}\left(\frac{1 - t/T}{1 - (t-1)/T}\right)^{p}`.

    Args:
        optimizer: the optimizer.
        total_iters: :math:`T` (default 5).
        power: :math:`p` (default 1.0, linear decay).
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``PolynomialLR``; the "poly" policy (e.g. DeepLab, Chen et al.
    2017).
    """

    def __init__(self, optimizer: Any, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = check_int(total_iters, "total_iters")
        self.power = check_real(power, "power")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        T, t = self.total_iters, self.last_epoch
        ratio = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        return [S.polynomial_decay(self.last_epoch, base, self.total_iters, self.power)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from :math:`\eta_0` down to :math:`\eta_{\min}` over ``T_max`` epochs.

    Closed form (used by ``step(epoch)``):

    .. math::
        \eta_t = \eta_{\min} + \frac{\eta_0 - \eta_{\min}}{2}
                 \left(1 + \cos\frac{\pi t}{T_{\max}}\right)

    ``step()`` uses the chainable recursion, which follows that curve when nothing
    else touches the learning rate:

    .. math::
        \eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})
                 \frac{1 + \cos(\pi t / T_{\max})}{1 + \cos(\pi (t-1) / T_{\max})},

    except at :math:`t - 1 - T_{\max} \equiv 0 \pmod{2T_{\max}}`, where the
    denominator vanishes and the step is
    :math:`\eta_t = \eta_{t-1} + (\eta_0 - \eta_{\min})(1 - \cos(\pi/T_{\max}))/2`.
    There is no restart: past ``T_max`` the learning rate climbs back, a cosine of
    period :math:`2T_{\max}` (use :class:`CosineAnnealingWarmRestarts` for restarts).
    When resuming (``last_epoch > 0`` given), the first step uses the closed form.

    Args:
        optimizer: the optimizer.
        T_max: half period :math:`T_{\max}`, in epochs.
        eta_min: the minimum :math:`\eta_{\min}` (default 0).
        last_epoch: see :class:`LRScheduler`.

    Source: Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm
    Restarts", eq. (5) without restarts; PyTorch ``CosineAnnealingLR``.
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = check_real(T_max, "T_max")
        self.eta_min = check_real(eta_min, "eta_min")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        if self._step_count == 1 and t > 0:
            return [S.cosine_annealing(t, T, lo, base) for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - lo) + lo for group in groups]

    def _get_closed_form_lr(self) -> list:
        return [S.cosine_annealing(self.last_epoch, self.T_max, self.eta_min, base)
                for base in self.base_lrs]


# ----------------------------------------------------------------------------------
# combinations of schedulers
# ----------------------------------------------------------------------------------

def _check_member(owner: str, optimizer, scheduler, index: int) -> None:
    if not hasattr(scheduler, "optimizer"):
        raise TypeError(f"{owner} at index {index} should have `optimizer` as its attribute.")
    if isinstance(scheduler, ReduceLROnPlateau):
        raise ValueError(
            f"{owner} does not support `ReduceLROnPlateau` scheduler as it requires "
            "additional kwargs to be specified when calling `step`, but got one at "
            f"index {index} in the given schedulers sequence.")
    if scheduler.optimizer is not optimizer:
        raise ValueError(
            f"{owner} expects all schedulers to belong to the same optimizer, but got "
            f"scheduler {type(scheduler).__name__} at index {index} with another optimizer")


def _nested_state_dict(self) -> dict:
    state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [s.state_dict() for s in self._schedulers]
    return state


def _nested_load_state_dict(self, state_dict: dict) -> None:
    state = dict(state_dict)
    nested = state.pop("_schedulers")
    self.__dict__.update(state)
    for scheduler, saved in zip(self._schedulers, nested):
        scheduler.load_state_dict(saved)


class SequentialLR(LRScheduler):
    r"""Run schedulers one after another, switching at the milestone epochs.

    With milestones :math:`m_1 < \dots < m_{k-1}`, scheduler :math:`i` is in charge
    for :math:`m_i \le t < m_{i+1}` (with :math:`m_0 = 0`). At its milestone a
    scheduler is restarted at its epoch 0 with ``step(0)`` (its closed form, starting
    from its recorded base learning rates); between milestones it is stepped
    normally.

    Construction resets every group's lr to ``'initial_lr'``, moves every member's
    ``last_epoch`` back by one (their own constructors already stepped once) and
    replays the first member's initial step.

    Args:
        optimizer: the optimizer all members schedule.
        schedulers: the schedulers, in order (not :class:`ReduceLROnPlateau`).
        milestones: ``len(schedulers) - 1`` increasing epochs.
        last_epoch: see :class:`LRScheduler`.

    Source: PyTorch ``SequentialLR`` (typically warmup then decay).
    """

    def __init__(self, optimizer: Any, schedulers: list, milestones: Iterable[int], last_epoch: int = -1) -> None:
        check_instance(schedulers, "schedulers", (list, tuple), "a list of schedulers")
        check_instance(milestones, "milestones", (list, tuple), "a list of ints")
        check_ints(milestones, "milestones")
        check_int(last_epoch, "last_epoch")
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler, "
                             "but got no scheduler.")
        for index, scheduler in enumerate(schedulers):
            _check_member(type(self).__name__, optimizer, scheduler, index)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to "
                f"{len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched=None) -> None:
        """Move ``last_epoch`` of every (nested) member back by one epoch."""
        target = self if sched is None else sched
        if hasattr(target, "_schedulers"):
            for member in target._schedulers:
                self.recursive_undo(member)
        elif hasattr(target, "last_epoch"):
            target.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    state_dict = _nested_state_dict
    load_state_dict = _nested_load_state_dict


class ChainedScheduler(LRScheduler):
    r"""Step several schedulers together, so that their chainable forms multiply.

    ``step()`` calls ``step()`` of every member in order; e.g. ``ConstantLR`` warmup
    and ``ExponentialLR`` decay give :math:`\eta_t = \eta_0\, f_{[t<T]}\, \gamma^t`.

    Args:
        schedulers: the schedulers (not :class:`ReduceLROnPlateau`).
        optimizer: their optimizer (default: that of the first scheduler).

    Source: PyTorch ``ChainedScheduler``.
    """

    def __init__(self, schedulers: list, optimizer: Any | None = None) -> None:
        check_instance(schedulers, "schedulers", (list, tuple), "a list of schedulers")
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler to be "
                             "chained, but got no scheduler.")
        if optimizer is None:
            optimizer = schedulers[0].optimizer
        for index, scheduler in enumerate(schedulers):
            _check_member(type(self).__name__, optimizer, scheduler, index)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    state_dict = _nested_state_dict
    load_state_dict = _nested_load_state_dict


# ----------------------------------------------------------------------------------
# metric-driven
# ----------------------------------------------------------------------------------

class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the learning rate by ``factor`` when a metric stops improving.

    ``step(metric)`` once per evaluation. With ``best`` the best metric so far, an
    evaluation is an improvement when

    ====== ======== =========================================
    mode   thr_mode improvement
    ====== ======== =========================================
    min    rel      :math:`a < \text{best}\,(1 - \text{threshold})`
    min    abs      :math:`a < \text{best} - \text{threshold}`
    max    rel      :math:`a > \text{best}\,(1 + \text{threshold})`
    max    abs      :math:`a > \text{best} + \text{threshold}`
    ====== ======== =========================================

    Otherwise the count of bad epochs grows (it is held at 0 during the
    ``cooldown`` epochs after a reduction). When it exceeds ``patience``:

    .. math:: \eta \leftarrow \max(\eta \cdot \text{factor},\ \eta_{\min}),

    applied only if it changes :math:`\eta` by more than ``eps``; the cooldown
    counter is then set to ``cooldown`` and the bad-epoch count to 0.

    Args:
        optimizer: the optimizer.
        mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
        factor: multiplier (< 1; default 0.1).
        patience: bad epochs tolerated before reducing (default 10).
        threshold: minimal significant change (default 1e-4).
        threshold_mode: ``'rel'`` or ``'abs'``.
        cooldown: epochs to wait after a reduction (default 0).
        min_lr: lower bound, a number or one per group (default 0).
        eps: smallest change applied (default 1e-8).

    Source: PyTorch ``ReduceLROnPlateau`` (after Keras's callback of the same name).
    """

    def __init__(self, optimizer: Any, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0,
                 eps: float = 1e-8) -> None:
        check_str(mode, "mode")
        check_real(factor, "factor")
        check_int(patience, "patience")
        check_real(threshold, "threshold")
        check_str(threshold_mode, "threshold_mode")
        check_int(cooldown, "cooldown")
        check_real_or_list(min_lr, "min_lr")
        check_real(eps, "eps")
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, "
                                 f"got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: float, epoch: float | None = None) -> None:
        """Record one evaluation of the monitored metric (a number)."""
        current = _to_float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(self.last_epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self, epoch) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the optimizer ({len(groups)}) differs "
                    f"from when ReduceLROnPlateau was initialized ({len(self.min_lrs)}), "
                    "usually because a param group was added: set `min_lrs` to match.")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (1.0 + self.threshold)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold,
                             threshold_mode=self.threshold_mode)


# ----------------------------------------------------------------------------------
# cyclical schedules
# ----------------------------------------------------------------------------------

class CyclicLR(LRScheduler):
    r"""Cyclical learning rate between ``base_lr`` and ``max_lr`` (triangle waves).

    Stepped once per batch. With :math:`S = S_{up} + S_{down}`, :math:`r = S_{up}/S`:

    .. math::
        c = \left\lfloor 1 + \frac{t}{S} \right\rfloor, \qquad
        x = 1 + \frac{t}{S} - c, \qquad
        h = \begin{cases} x / r & x \le r \\ (x - 1)/(r - 1) & x > r \end{cases}

    .. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h\, \sigma

    where the amplitude scale :math:`\sigma` is :math:`1` (``'triangular'``),
    :math:`2^{-(c-1)}` (``'triangular2'``), :math:`\gamma^{t}` (``'exp_range'``), or
    ``scale_fn(c)`` / ``scale_fn(t)`` for a custom function with ``scale_mode``
    ``'cycle'`` / ``'iterations'``. With ``cycle_momentum`` the momentum (``'momentum'``
    or the first entry of ``'betas'``) moves the opposite way:

    .. math:: \mu_t = \mu_{max} - (\mu_{max} - \mu_{base})\, h\, \sigma.

    Construction sets the lr of every group to ``base_lr`` and the momentum to
    ``max_momentum`` (and stores ``'base_momentum'``/``'max_momentum'`` in the groups).

    Args:
        optimizer: the optimizer.
        base_lr, max_lr: bounds, a number or one per group.
        step_size_up: batches in the rising half (default 2000).
        step_size_down: batches in the falling half (default ``step_size_up``).
        mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'``.
        gamma: decay of ``'exp_range'`` (default 1.0).
        scale_fn: custom amplitude function (overrides ``mode``).
        scale_mode: ``'cycle'`` or ``'iterations'`` (argument of ``scale_fn``).
        cycle_momentum: cycle the momentum too (default True; the optimizer must
            have ``'momentum'`` or ``'betas'``).
        base_momentum, max_momentum: momentum bounds (defaults 0.8, 0.9).
        last_epoch: see :class:`LRScheduler`.

    Source: Smith 2017, "Cyclical Learning Rates for Training Neural Networks"
    (WACV); PyTorch ``CyclicLR``. The SWA lecture's cyclic schedule is a sawtooth,
    :math:`\alpha(i) = (1-s)\alpha_1 + s\alpha_2`: use ``LambdaLR`` for that one.
    """

    def __init__(self, optimizer: Any, base_lr: float, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable | None = None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: float = 0.8, max_momentum: float = 0.9, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        check_real_or_list(base_lr, "base_lr")
        check_real_or_list(max_lr, "max_lr")
        check_real(step_size_up, "step_size_up")
        check_real(step_size_down, "step_size_down", allow_none=True)
        check_str(mode, "mode")
        check_real(gamma, "gamma")
        check_callable(scale_fn, "scale_fn", allow_none=True)
        check_str(scale_mode, "scale_mode")
        check_bool(cycle_momentum, "cycle_momentum")
        check_real_or_list(base_momentum, "base_momentum")
        check_real_or_list(max_momentum, "max_momentum")
        check_int(last_epoch, "last_epoch")
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)

        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size

        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer) == "betas"
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                key = "betas" if self.use_beta1 else "momentum"
                for hi, lo, group in zip(self.max_momentums, self.base_momentums,
                                         optimizer.param_groups):
                    _set_momentum(group, key, hi)
                    group["max_momentum"] = hi
                    group["base_momentum"] = lo
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        # The built-in modes fix scale_mode; a custom scale_fn keeps the given one.
        if self._scale_fn_custom is not None:
            return
        if self.mode in ("triangular", "triangular2"):
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            self.scale_mode = "iterations"

    def scale_fn(self, x) -> float:
        """The amplitude scale :math:`\\sigma` at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list:
        t = self.last_epoch
        cycle, height = S.cyclic_position(t, self.total_size, self.step_ratio)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)

        lrs = [lo + (hi - lo) * height * scale for lo, hi in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            key = "betas" if self.use_beta1 else "momentum"
            for lo, hi, group in zip(self.base_momentums, self.max_momentums,
                                     self.optimizer.param_groups):
                _set_momentum(group, key, hi - (hi - lo) * height * scale)
        return lrs

    def state_dict(self) -> dict:
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else dict(fn.__dict__))
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom")
        super().load_state_dict(state)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)
        self._init_scale_fn()


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""SGDR: cosine annealing with warm restarts.

    .. math::
        \eta_t = \eta_{\min} + \frac{\eta_0 - \eta_{\min}}{2}
                 \left(1 + \cos\frac{\pi T_{cur}}{T_i}\right)

    :math:`T_{cur}` counts epochs (possibly fractional) since the last restart and
    :math:`T_i` is the length of the current run: :math:`T_0` first, then multiplied
    by :math:`T_{mult}` at each restart. ``step()`` does :math:`T_{cur} \mathrel{+}= 1`
    and, when :math:`T_{cur} \ge T_i`, :math:`T_{cur} \mathrel{-}= T_i` (as a
    remainder), :math:`T_i \mathrel{*}= T_{mult}`. ``step(epoch)`` accepts a
    fractional epoch (e.g. ``epoch + i / iters`` after batch ``i``) and places it:
    for :math:`T_{mult} = 1`, :math:`T_{cur} = \text{epoch} \bmod T_0`; else with
    :math:`n = \lfloor \log_{T_{mult}}(\text{epoch}\,(T_{mult}-1)/T_0 + 1) \rfloor`,
    :math:`T_{cur} = \text{epoch} - T_0 (T_{mult}^n - 1)/(T_{mult} - 1)`,
    :math:`T_i = T_0 T_{mult}^n`. ``last_epoch`` is :math:`\lfloor\text{epoch}\rfloor`.

    Args:
        optimizer: the optimizer.
        T_0: length of the first run (a positive int).
        T_mult: growth factor of the run length (an int >= 1; default 1).
        eta_min: the minimum learning rate (default 0).
        last_epoch: see :class:`LRScheduler`.

    Source: Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm
    Restarts", eq. (5); PyTorch ``CosineAnnealingWarmRestarts``.
    """

    def __init__(self, optimizer: Any, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        # PyTorch raises ValueError for these types: the errors are both kinds
        check_int(T_0, "T_0", value_error=True)
        check_int(T_mult, "T_mult", value_error=True)
        check_real(eta_min, "eta_min", value_error=True)
        if T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        lo = self.eta_min
        return [S.cosine_annealing(self.T_cur, self.T_i, lo, base) for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """One more epoch (``epoch=None``) or jump to a (fractional) ``epoch``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    m = self.T_mult
                    n = int(math.log(epoch / self.T_0 * (m - 1) + 1, m))
                    self.T_cur = epoch - self.T_0 * (m ** n - 1) / (m - 1)
                    self.T_i = self.T_0 * m ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = _group_values(self.optimizer, "lr")


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: warm up to ``max_lr``, then anneal far below the start.

    Stepped once per batch, ``total_steps`` times at most. Per group:
    :math:`\eta_{init} = \eta_{max}/\text{div\_factor}`,
    :math:`\eta_{final} = \eta_{init}/\text{final\_div\_factor}` (stored in the groups
    as ``'initial_lr'``, ``'max_lr'``, ``'min_lr'``). With :math:`N` = ``total_steps``
    and :math:`p` = ``pct_start``, the phases end at steps

    * two phases: :math:`pN - 1` (:math:`\eta_{init} \to \eta_{max}`), then
      :math:`N - 1` (:math:`\eta_{max} \to \eta_{final}`);
    * ``three_phase``: :math:`pN - 1` (:math:`\eta_{init} \to \eta_{max}`),
      :math:`2pN - 2` (:math:`\eta_{max} \to \eta_{init}`), :math:`N - 1`
      (:math:`\eta_{init} \to \eta_{final}`).

    Within a phase from step :math:`a` to :math:`b`, with :math:`\tau = (t-a)/(b-a)`,
    the value goes from :math:`u` to :math:`v` by

    .. math::
        \text{cos:}\ v + \frac{u - v}{2}(1 + \cos \pi\tau) \qquad
        \text{linear:}\ u + (v - u)\tau .

    With ``cycle_momentum`` the momentum (``'momentum'``, or the first entry of
    ``'betas'``) does the reverse, ``max_momentum`` :math:`\to` ``base_momentum``
    :math:`\to` ``max_momentum`` (and stays at ``max_momentum`` in the third phase).

    Args:
        optimizer: the optimizer.
        max_lr: peak learning rate, a number or one per group.
        total_steps: :math:`N`; or give ``epochs`` and ``steps_per_epoch``.
        pct_start: fraction :math:`p` of the cycle spent rising (a float, default 0.3).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum: default True.
        base_momentum, max_momentum: defaults 0.85, 0.95.
        div_factor: default 25.
        final_div_factor: default 1e4.
        three_phase: default False.
        last_epoch: see :class:`LRScheduler`.

    Source: Smith & Topin 2018, "Super-Convergence: Very Fast Training of Neural
    Networks Using Large Learning Rates"; PyTorch ``OneCycleLR``.
    """

    def __init__(self, optimizer: Any, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85, max_momentum: float = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        # PyTorch raises ValueError for the wrong type of the counts, pct_start and
        # anneal_strategy: those errors are both kinds
        check_real_or_list(max_lr, "max_lr")
        check_int(total_steps, "total_steps", allow_none=True, value_error=True)
        check_int(epochs, "epochs", allow_none=True, value_error=True)
        check_int(steps_per_epoch, "steps_per_epoch", allow_none=True, value_error=True)
        check_real(pct_start, "pct_start", value_error=True)
        check_str(anneal_strategy, "anneal_strategy", value_error=True)
        check_bool(cycle_momentum, "cycle_momentum")
        check_real_or_list(base_momentum, "base_momentum")
        check_real_or_list(max_momentum, "max_momentum")
        check_real(div_factor, "div_factor")
        check_real(final_div_factor, "final_div_factor")
        check_bool(three_phase, "three_phase")
        check_int(last_epoch, "last_epoch")
        self.optimizer = optimizer

        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError("Expected positive integer steps_per_epoch, but got "
                                 f"{steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")

        if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        N = self.total_steps
        if three_phase:
            self._schedule_phases = [
                self._phase(float(pct_start * N) - 1, "initial_lr", "max_lr",
                            "max_momentum", "base_momentum"),
                self._phase(float(2 * pct_start * N) - 2, "max_lr", "initial_lr",
                            "base_momentum", "max_momentum"),
                self._phase(N - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                self._phase(float(pct_start * N) - 1, "initial_lr", "max_lr",
                            "max_momentum", "base_momentum"),
                self._phase(N - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]

        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for peak, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer) == "betas"
            max_moms = _per_group("max_momentum", optimizer, max_momentum)
            base_moms = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                key = "betas" if self.use_beta1 else "momentum"
                for hi, lo, group in zip(max_moms, base_moms, optimizer.param_groups):
                    _set_momentum(group, key, hi)
                    group["max_momentum"] = hi
                    group["base_momentum"] = lo
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _phase(end_step, start_lr, end_lr, start_momentum, end_momentum) -> dict:
        # Phases name the group keys holding their start and end values.
        return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
                "start_momentum": start_momentum, "end_momentum": end_momentum}

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return S.anneal_cos(start, end, pct)
        return S.anneal_linear(start, end, pct)

    def get_lr(self) -> list:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps "
                             f"is {self.total_steps}")
        key = ("betas" if self.use_beta1 else "momentum") if self.cycle_momentum else None
        last = len(self._schedule_phases) - 1
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if t <= end or i == last:
                    pct = (t - start) / (end - start)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if key is not None:
                        mom = self._anneal(group[phase["start_momentum"]],
                                           group[phase["end_momentum"]], pct)
                    break
                start = end
            lrs.append(lr)
            if key is not None:
                _set_momentum(group, key, mom)
        return lrs


# ----------------------------------------------------------------------------------
# the lectures' schedules (not in PyTorch)
# ----------------------------------------------------------------------------------

class HyperbolicLR(LRScheduler):
    r"""Hyperbolic ("1/t") decay of the lectures.

    .. math:: \eta_t = \frac{\eta_0}{1 + k\,t}

    with :math:`t` = ``last_epoch`` (0 at construction) and :math:`\eta_0` the
    group's initial learning rate. Closed form, so ``step(epoch)`` works too.

    Args:
        optimizer: the optimizer.
        k: decay rate :math:`k \ge 0` per step (or epoch).
        last_epoch: see :class:`LRScheduler`.

    Source: the lecture's hyperbolic schedule :math:`\eta_0/(1+kt)`; the same form as
    Bottou 2012, "Stochastic Gradient Descent Tricks", :math:`\gamma_t =
    \gamma_0 (1 + \gamma_0 \lambda t)^{-1}`, and as Adagrad's ``lr_decay`` in PyTorch.
    """

    def __init__(self, optimizer: Any, k: float, last_epoch: int = -1) -> None:
        check_real(k, "k")
        if not k >= 0:
            raise ValueError(f"Expected a decay rate k >= 0, but got {k}")
        self.k = k
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [S.hyperbolic_decay(self.last_epoch, base, self.k) for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class TransformerWarmupLR(LRScheduler):
    r"""The Transformer's warmup schedule ("Noam"): linear warmup, then :math:`s^{-1/2}` decay.

    .. math::
        \eta_s = \text{factor}\cdot d_{model}^{-1/2}\cdot
                 \min\left(s^{-1/2},\ s\cdot w^{-3/2}\right),
        \qquad s = \text{last\_epoch} + 1

    so the step counter :math:`s` starts at 1: the lr set at construction (used by the
    first optimizer step) is :math:`\eta_1`. It rises linearly for :math:`w` steps,
    peaks at :math:`s = w` with :math:`\text{factor}\cdot (d_{model}\,w)^{-1/2}`, and
    then decays as :math:`s^{-1/2}`.

    The formula gives the learning rate itself: the optimizer's own ``lr`` is not used
    (the paper's Adam has none). With ``factor=None`` each group's initial lr plays the
    role of the factor instead.

    Args:
        optimizer: the optimizer.
        d_model: model width :math:`d_{model}`.
        warmup_steps: :math:`w` (default 4000, the paper's).
        factor: scale (default 1.0, the paper's; ``None``: the group's initial lr).
        last_epoch: see :class:`LRScheduler`.

    Source: Vaswani et al. 2017, "Attention Is All You Need", Section 5.3, eq. (3);
    the factor is from Rush 2018, "The Annotated Transformer" (``NoamOpt``).
    """

    def __init__(self, optimizer: Any, d_model: int, warmup_steps: int = 4000, factor: float | None = 1.0,
                 last_epoch: int = -1) -> None:
        check_int(d_model, "d_model")
        check_real(warmup_steps, "warmup_steps")
        check_real(factor, "factor", allow_none=True)
        if d_model <= 0:
            raise ValueError(f"Expected d_model > 0, but got {d_model}")
        if warmup_steps <= 0:
            raise ValueError(f"Expected warmup_steps > 0, but got {warmup_steps}")
        self.d_model = d_model
        self.warmup_steps = warmup_steps
        self.factor = factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        s = self.last_epoch + 1
        rate = S.noam_rate(s, self.d_model, self.warmup_steps)
        if self.factor is None:
            return [base * rate for base in self.base_lrs]
        return [self.factor * rate for _ in self.base_lrs]

    _get_closed_form_lr = get_lr


NoamLR = TransformerWarmupLR


class LinearWarmupLR(LRScheduler):
    r"""Untuned linear warmup for Adam-type optimizers (Ma & Yarats).

    .. math::
        \eta_t = \eta_0 \cdot \min\left(1,\ \frac{t}{\tau}\right), \qquad
        \tau = \left\lceil \frac{2}{1 - \beta_2} \right\rceil, \qquad
        t = \text{last\_epoch} + 1

    so :math:`t` starts at 1 (the lr set at construction, used by the first optimizer
    step, is :math:`\eta_0/\tau`) and the full rate is reached at step :math:`t = \tau`.
    :math:`\beta_2` is read per group from ``group['betas'][1]`` unless given; an
    explicit ``warmup_steps`` replaces :math:`\tau` ("tuned" warmup).

    Relation to the formulas in print. The paper's untuned linear warmup factor is

    .. math:: \omega_t = \min\left(1,\ \frac{1 - \beta_2}{2}\, t\right),

    a warmup of :math:`2/(1-\beta_2)` steps; ``round_up=False`` gives exactly this
    (:math:`\tau = 2/(1-\beta_2)`, not rounded). The lecture writes
    :math:`\eta_t = \min(1, \max(\tfrac{1-\beta_2}{2}t,\ t/t_{warmup}))\,\eta`; with
    :math:`t_{warmup} = \lceil 2/(1-\beta_2)\rceil` the max picks the first term, so
    that is the paper's factor too. All three coincide when :math:`2/(1-\beta_2)` is
    an integer (:math:`\beta_2` = 0.9, 0.95, 0.98, 0.99, 0.999 give :math:`\tau` = 20,
    40, 100, 200, 2000); otherwise the default rounds the period up to whole steps,
    warming up slightly more slowly.

    Args:
        optimizer: the optimizer (needs ``'betas'`` in its groups unless ``beta2``
            or ``warmup_steps`` is given).
        beta2: :math:`\beta_2` for all groups (default: each group's ``betas[1]``).
        warmup_steps: :math:`\tau` itself (a number, or one per group), overriding
            the rule of thumb.
        round_up: ``True`` (default): :math:`\tau = \lceil 2/(1-\beta_2)\rceil`;
            ``False``: :math:`\tau = 2/(1-\beta_2)`, the paper's factor.
        last_epoch: see :class:`LRScheduler`.

    Source: Ma & Yarats 2021, "On the Adequacy of Untuned Warmup for Adaptive
    Optimization" (AAAI): linear warmup over :math:`2(1-\beta_2)^{-1}` iterations.
    """

    def __init__(self, optimizer: Any, beta2: float | None = None, warmup_steps: int | None = None,
                 round_up: bool = True, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        check_real(beta2, "beta2", allow_none=True, allow_tensor=True)
        check_real_or_list(warmup_steps, "warmup_steps", allow_none=True)
        check_bool(round_up, "round_up")
        if warmup_steps is not None:
            periods = _per_group("warmup_steps", optimizer, warmup_steps)
            for p in periods:
                if not p > 0:
                    raise ValueError(f"Expected warmup_steps > 0, but got {p}")
        else:
            periods = []
            for i, group in enumerate(optimizer.param_groups):
                b2 = beta2
                if b2 is None:
                    if "betas" not in group:
                        raise ValueError(
                            f"param_groups[{i}] has no 'betas': pass beta2= or warmup_steps=")
                    b2 = group["betas"][1]
                b2 = _to_float(b2)
                periods.append(S.untuned_warmup_steps(b2) if round_up
                               else S.untuned_warmup_period(b2))
        self.warmup_periods = periods
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t = self.last_epoch + 1
        return [base * S.linear_warmup(t, tau) for base, tau in zip(self.base_lrs, self.warmup_periods)]

    _get_closed_form_lr = get_lr
