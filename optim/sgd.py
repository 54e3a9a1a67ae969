r"""``SGD``: stochastic gradient descent, optionally with momentum.

The formula is :func:`optim.functional.sgd` (both momentum forms are written
out in :mod:`optim.functional.sgd`); this class applies it parameter by
parameter with PyTorch 2.13's argument names, defaults and checks.

The lecture form of Nesterov momentum
-------------------------------------
With ``momentum_form="lecture", nesterov=True`` the gradient of a step is the
gradient at the look-ahead point :math:`\tilde\theta = \theta - \mu v`, not at
the current parameters. ``step`` therefore needs a closure::

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    opt.step(closure)

``step`` moves every such parameter to its look-ahead point, calls the closure
there (so the gradients are :math:`\nabla f(\tilde\theta)`), moves the
parameters back to :math:`\theta` and applies
:math:`v \leftarrow \mu v + \eta g`, :math:`\theta \leftarrow \theta - v`.
The parameters seen between steps are :math:`\theta`, the lecture's
variable. (PyTorch's Nesterov form keeps :math:`\tilde\theta` in the
parameters instead and needs no closure; with a constant learning rate the two
produce the same look-ahead points: see the tests.)

Full-batch gradient descent
---------------------------
Gradient descent, :math:`\theta \leftarrow \theta - \eta \nabla J(\theta)` with
:math:`J` the loss over the *whole* training set, is ``SGD`` whose gradient is
taken on all examples at once; "stochastic" only refers to estimating that
gradient from a minibatch::

    opt = optim.SGD(model.parameters(), lr=0.1)      # no momentum: plain GD
    for step in range(100):
        opt.zero_grad()
        loss = loss_fn(model(X_all), y_all)          # every example, every step
        loss.backward()
        opt.step()

With a minibatch ``(X_all[idx], y_all[idx])`` in place of the full set, the same
loop is minibatch SGD; with one example it is the textbook SGD.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_bool, check_choice, check_lr, check_nonnegative, check_real
from .fast.inplace import sgd_
from .fast.mixin import FlatPath
from .functional.sgd import MOMENTUM_FORMS
from .optimizer import Optimizer
from .types import Closure, Params

__all__ = ["SGD"]


class SGD(FlatPath, Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        momentum: :math:`\mu` (default 0).
        dampening: :math:`\tau` (default 0; PyTorch's form only).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: Nesterov momentum (default False; needs momentum > 0 and
            zero dampening).
        maximize: maximize the objective instead (default False).
        momentum_form: ``"torch"`` (default, :math:`b = \mu b + g`,
            :math:`\theta \mathrel{-}= \gamma b`) or ``"lecture"``
            (:math:`v = \mu v + \eta g`, :math:`\theta \mathrel{-}= v`; with
            ``nesterov=True`` the gradient is taken at :math:`\theta - \mu v`,
            so ``step`` needs a closure).
        trace: record the formula's intermediates (see :class:`Optimizer`).
        impl: ``"teaching"`` (default) or ``"flat"``: the same formula over one
            flat buffer per param group, in cache-sized chunks, bitwise equal
            to the teaching path (see :mod:`optim.fast`).

    State per parameter (with momentum): ``momentum_buffer`` (torch form) or
    ``velocity`` (lecture form).
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 momentum_form: str = "torch", trace: bool | Iterable[str] = False, impl: str = "teaching") -> None:
        lr = check_lr(lr)
        check_nonnegative(momentum, "momentum")
        check_real(dampening, "dampening")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(nesterov, "nesterov")
        check_bool(maximize, "maximize")
        check_choice(momentum_form, "momentum_form", MOMENTUM_FORMS)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        if momentum_form == "lecture" and dampening != 0:
            raise ValueError("dampening is part of PyTorch's momentum form only; "
                             "use momentum_form='torch' or dampening=0")
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
            "momentum_form": momentum_form,
        }
        super().__init__(params, defaults, trace=trace, impl=impl)

    def _init_state(self, theta, group):
        return F.sgd_init(theta, momentum=group["momentum"],
                          momentum_form=group["momentum_form"])

    def _update(self, theta, grad, state, group):
        return F.sgd(theta, grad, state, lr=group["lr"], momentum=group["momentum"],
                     dampening=group["dampening"], weight_decay=group["weight_decay"],
                     nesterov=group["nesterov"], maximize=group["maximize"],
                     momentum_form=group["momentum_form"])

    def _update_inplace(self, theta, grad, state, out, work, group):
        return sgd_(theta, grad, state, out, work, lr=group["lr"], momentum=group["momentum"],
                    dampening=group["dampening"], weight_decay=group["weight_decay"],
                    nesterov=group["nesterov"], maximize=group["maximize"],
                    momentum_form=group["momentum_form"])

    def step(self, closure: Closure | None = None) -> Any:
        """One step; see the module docstring for the lecture form of Nesterov momentum."""
        lookahead_groups = [g for g in self.param_groups
                            if g["momentum_form"] == "lecture" and g["nesterov"]
                            and g["momentum"] != 0]
        if not lookahead_groups:
            return super().step(closure)
        if closure is None:
            raise RuntimeError(
                "SGD with momentum_form='lecture' and nesterov=True takes the gradient at "
                "the look-ahead point theta - momentum * velocity, so step() needs a "
                "closure that recomputes the loss and its gradients (zero_grad, forward, "
                "backward) and returns the loss"
            )
        saved = []
        with no_grad():
            for group in lookahead_groups:
                for p in group["params"]:
                    state = self.state.get(p) or {}
                    saved.append((p, p.data.copy()))
                    p.data[...] = F.sgd_lookahead(p.data, state, momentum=group["momentum"])
        try:
            loss = self._evaluate_closure(closure)
        finally:
            with no_grad():
                for p, theta in saved:
                    p.data[...] = theta
        self._apply_update()
        return loss
