r"""Stochastic Weight Averaging (SWA) and EMA of the weights; PyTorch's ``swa_utils`` API.

Izmailov, Podoprikhin, Garipov, Vetrov & Wilson (2018), "Averaging Weights
Leads to Wider Optima and Better Generalization" (UAI): run SGD with a
cyclical (or high constant) learning rate and average the weights it visits
at the end of each cycle; the average lies in a flatter, wider region of the
loss surface than the individual iterates and generalizes better. The
formulas are in :mod:`optim.functional.swa`.

What is here (PyTorch 2.13's ``torch.optim.swa_utils`` names and semantics):

* :class:`AveragedModel`: a copy of a model whose parameters hold the running
  average (or, with :func:`get_ema_multi_avg_fn` / :func:`get_ema_avg_fn`, an
  exponential moving average) of the model's parameters;
* :class:`SWALR`: anneal the learning rate to a constant ``swa_lr``;
* :class:`SWACyclicLR`: the paper's cyclical schedule (not in PyTorch).

The training loop of the paper (Algorithm 1), with the cyclical rate::

    model = ...; opt = optim.SGD(model.parameters(), lr=alpha_1)
    swa_model = AveragedModel(model)
    sched = SWACyclicLR(opt, alpha_1=0.05, alpha_2=0.01, cycle_length=len(loader))
    for epoch in range(n_epochs):
        for x, y in loader:
            opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
            if epoch >= swa_start and sched.is_cycle_end():
                swa_model.update_parameters(model)     # average at alpha_2
            sched.step()

PyTorch's variant (a constant ``swa_lr`` reached by :class:`SWALR`, averaging
once per epoch) is in :class:`AveragedModel`'s docstring.

Differences from PyTorch, all small: the averaging functions receive the
number of models averaged so far as a Python ``int`` (PyTorch passes a 0-d
tensor); giving both ``avg_fn`` and ``multi_avg_fn`` is a ``ValueError``
(PyTorch: ``AssertionError``). PyTorch's ``update_bn`` (batch-norm
statistics recomputed for the averaged weights) is not here: minigrad has no
batch-norm layer, so an averaged model has no such statistics to recompute.
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import backend
from minigrad.grad_mode import no_grad
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

from . import functional as F
from .checks import check_int, check_real_or_list, check_str
from .lr_scheduler import LRScheduler, _check_optimizer, _per_group

__all__ = [
    "AveragedModel", "SWALR", "SWACyclicLR",
    "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn",
]


def _array(x):
    """The backend array of a Tensor (arrays pass through)."""
    return x.data if isinstance(x, Tensor) else x


# ---------------------------------------------------------------------------
# averaging functions (PyTorch's helpers)
# ---------------------------------------------------------------------------

def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay=0.999):
    r"""An in-place EMA over lists of tensors, for ``AveragedModel(multi_avg_fn=...)``.

    .. math:: \theta_{EMA} \leftarrow \beta\,\theta_{EMA} + (1-\beta)\,\theta,
              \qquad \theta_{EMA} = \theta \text{ at the first update}

    Computed as ``lerp(ema, theta, 1 - decay)`` (PyTorch's form) for floating
    tensors; integer buffers use the product form and truncate, as in PyTorch.
    """
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged):
        for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
            ema, theta = p_ema.data, _array(p_model)
            if ema.dtype.kind in "fc":
                p_ema.data[...] = F.ema_average(ema, theta, decay)
            else:
                p_ema.data[...] = ema * decay + theta * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn():
    r"""The in-place equal-weight average over lists of tensors (PyTorch's ``foreach`` form).

    .. math:: \theta_{SWA} \leftarrow \operatorname{lerp}(\theta_{SWA}, \theta, 1/(n+1))

    (mathematically :math:`\theta_{SWA} + (\theta-\theta_{SWA})/(n+1)`).
    """

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = int(num_averaged)
        for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
            avg, theta = p_avg.data, _array(p_model)
            if avg.dtype.kind in "fc":
                p_avg.data[...] = F.lerp(avg, theta, 1 / (n + 1))
            else:
                p_avg.data[...] = F.swa_average(avg, theta, n)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    r"""The EMA of one tensor, for ``AveragedModel(avg_fn=...)``.

    Returns :math:`\beta\,\theta_{EMA} + (1-\beta)\,\theta`.
    """
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    r"""The equal-weight average of one tensor: returns :math:`\theta_{SWA} + (\theta-\theta_{SWA})/(n+1)`."""

    def swa_update(averaged_param, current_param, num_averaged):
        return F.swa_average(averaged_param, current_param, num_averaged)

    return swa_update


# ---------------------------------------------------------------------------
# AveragedModel
# ---------------------------------------------------------------------------

class AveragedModel(Module):
    r"""A copy of ``model`` whose weights are the average (SWA) or the EMA of ``model``'s.

    .. math::

        \theta_{SWA} \leftarrow \theta \ \text{(first update)}, \qquad
        \theta_{SWA} \leftarrow \theta_{SWA} + \frac{\theta - \theta_{SWA}}{n + 1}
        \ \text{(later updates)}, \qquad n \leftarrow n + 1

    Args:
        model: the model to average (deep-copied; the copy is ``self.module``).
        device: if given, the copy lives on this device (``"cpu"``, ``"cuda"``).
        avg_fn: ``avg_fn(averaged, current, n) -> new averaged`` for one
            parameter (Tensors in, a Tensor or array out); default: the equal
            average above.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n)``,
            updating the averaged Tensors in place (``t.data[...] = ...``);
            e.g. :func:`get_ema_multi_avg_fn`. At most one of the two.
        use_buffers: also average the buffers (e.g. batch-norm statistics);
            by default the buffers are copied from ``model`` at every update.

    ``n`` is the buffer ``n_averaged`` (an int64 0-d Tensor, saved in
    ``state_dict``); the functions receive it as a Python int. The first
    :meth:`update_parameters` copies the weights, whatever the function.

    PyTorch's loop (constant ``swa_lr`` after ``swa_start`` epochs)::

        swa_model = AveragedModel(model)
        swa_sched = SWALR(opt, swa_lr=0.05)
        for epoch in range(300):
            train_one_epoch(model, opt)
            if epoch > swa_start:
                swa_model.update_parameters(model)
                swa_sched.step()
            else:
                scheduler.step()

    EMA of the weights and buffers:
    ``AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)``.
    """

    def __init__(self, model: Any, device: str | None = None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module.to(device)
        self.register_buffer(
            "n_averaged", Tensor(np.array(0, dtype=np.int64), device=device or "cpu"))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model) -> None:
        """Add ``model``'s current weights to the average (the first call copies them)."""
        if self.use_buffers:
            self_params = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            model_params = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            self_params = list(self.parameters())
            model_params = list(model.parameters())
        n = int(self.n_averaged.item())
        with no_grad():
            pairs = []
            for p_avg, p_model in zip(self_params, model_params):
                current = p_model.detach()
                if current.device != p_avg.device:
                    current = current.to(p_avg.device)
                pairs.append((p_avg, current))
                if n == 0:
                    p_avg.data[...] = current.data              # the first model: copy

            if n > 0:
                if self.multi_avg_fn is not None or self.avg_fn is None:
                    # one call per (device, dtype) group, as PyTorch's foreach path
                    groups = {}
                    for p_avg, current in pairs:
                        groups.setdefault((p_avg.device, str(p_avg.dtype)), []).append(
                            (p_avg, current))
                    for members in groups.values():
                        if self.multi_avg_fn is not None:
                            self.multi_avg_fn([a for a, _ in members],
                                              [c for _, c in members], n)
                        else:
                            for p_avg, current in members:
                                p_avg.data[...] = F.swa_average(p_avg.data, current.data, n)
                else:
                    for p_avg, current in pairs:
                        p_avg.data[...] = _array(self.avg_fn(p_avg.detach(), current, n))

            if not self.use_buffers:
                # buffers are not averaged: keep them equal to the model's
                for b_swa, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_swa.data[...] = backend.to_device(b_model.data, b_swa.device)
            self.n_averaged.data[...] = n + 1


# ---------------------------------------------------------------------------
# schedulers
# ---------------------------------------------------------------------------

class SWALR(LRScheduler):
    r"""Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs, then hold it.

    With :math:`\tau = \min(1, t/T)` (:math:`t` = steps taken, :math:`T` = ``anneal_epochs``):

    .. math::

        a(\tau) = \tfrac12(1 - \cos\pi\tau) \ \text{("cos")} \ \text{or}\ \tau \ \text{("linear")},
        \qquad
        \alpha_t = a(\tau)\,\alpha_{SWA} + (1 - a(\tau))\,\alpha_{start}

    Chainable, as PyTorch's: each step recovers :math:`\alpha_{start}` from the
    current ``group['lr']`` and the previous :math:`a`, so it composes with
    other schedulers. The construction sets :math:`\tau = 0` (the lr is
    unchanged); ``anneal_epochs=0`` jumps to ``swa_lr`` at once.

    Args:
        optimizer: the optimizer.
        swa_lr: :math:`\alpha_{SWA}`, one value or one per group (stored as
            ``group['swa_lr']``).
        anneal_epochs: :math:`T` (default 10), an int ``>= 0``.
        anneal_strategy: ``"cos"`` (default) or ``"linear"``.
        last_epoch: see :class:`~optim.lr_scheduler.LRScheduler`.

    Source: PyTorch ``torch.optim.swa_utils.SWALR``; Izmailov et al. 2018.
    """

    def __init__(self, optimizer: Any, swa_lr: float, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        # PyTorch raises ValueError for the wrong type of these two: the errors are both kinds
        check_real_or_list(swa_lr, "swa_lr")
        check_int(anneal_epochs, "anneal_epochs", value_error=True)
        check_str(anneal_strategy, "anneal_strategy", value_error=True)
        swa_lrs = _per_group("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(
                f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _set_anneal_func(self, anneal_strategy) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = lambda tau: F.swalr_anneal(tau, anneal_strategy)

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        """alpha_start from alpha_t = alpha swa_lr + (1 - alpha) alpha_start."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        step = self._step_count - 1                       # 0 at construction
        if self.anneal_epochs == 0:
            step = max(1, step)
        T = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / T)))
        start_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                     for group in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / T)))   # a(tau), tau = min(1, t/T)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, start_lrs)]

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)


class SWACyclicLR(LRScheduler):
    r"""The SWA paper's cyclical learning rate (Izmailov et al. 2018, eq. 1).

    .. math::

        s(i) = \frac{\operatorname{mod}(i - 1, c) + 1}{c}, \qquad
        \alpha(i) = (1 - s(i))\,\alpha_1 + s(i)\,\alpha_2

    with :math:`i` = ``last_epoch + 1``: the lr set at construction is
    :math:`\alpha(1)`, the one the first optimizer step uses, and each
    ``step()`` moves to the next iteration. Within a cycle of :math:`c`
    iterations the rate falls linearly from just below :math:`\alpha_1` to
    :math:`\alpha_2`, reached at the last iteration of the cycle, where SWA
    averages the weights (:meth:`is_cycle_end`). :math:`c = 1` gives the
    constant rate :math:`\alpha_2`. Step it once per iteration (batch), as in
    the paper.

    Args:
        optimizer: the optimizer.
        alpha_1: :math:`\alpha_1`, the largest rate (one value or one per group).
        alpha_2: :math:`\alpha_2`, the smallest rate (one value or one per group).
        cycle_length: :math:`c`, iterations per cycle (an int ``>= 1``).
        last_epoch: see :class:`~optim.lr_scheduler.LRScheduler`.
    """

    def __init__(self, optimizer: Any, alpha_1: float, alpha_2: float, cycle_length: int, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        check_real_or_list(alpha_1, "alpha_1")
        check_real_or_list(alpha_2, "alpha_2")
        check_int(cycle_length, "cycle_length", value_error=True)
        if not isinstance(cycle_length, int) or cycle_length < 1:
            raise ValueError(f"cycle_length must be an int >= 1, got {cycle_length}")
        self.alpha_1 = _per_group("alpha_1", optimizer, alpha_1)
        self.alpha_2 = _per_group("alpha_2", optimizer, alpha_2)
        for a1, a2 in zip(self.alpha_1, self.alpha_2):
            if not 0 <= a2 <= a1:
                raise ValueError(f"expected 0 <= alpha_2 <= alpha_1, got alpha_1={a1}, "
                                 f"alpha_2={a2}")
        self.cycle_length = cycle_length
        super().__init__(optimizer, last_epoch)

    @property
    def iteration(self) -> int:
        """:math:`i`, the iteration whose rate is set now (1 at construction)."""
        return self.last_epoch + 1

    def is_cycle_end(self) -> bool:
        """Whether the current iteration is the last of a cycle (:math:`i \\equiv 0 \\bmod c`).

        Average after its step.
        """
        return self.iteration % self.cycle_length == 0

    def get_lr(self) -> list:
        return [F.swa_cyclic_lr(self.iteration, a1, a2, self.cycle_length)[0]
                for a1, a2 in zip(self.alpha_1, self.alpha_2)]

    _get_closed_form_lr = get_lr
