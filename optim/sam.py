r"""``SAM``: sharpness-aware minimization around any optimizer (Foret et al. 2021), and ASAM.

The ascent step is :mod:`optim.functional.sam`. Each step takes two
forward-backward passes, so ``step`` needs a closure::

    opt = optim.SAM(model.parameters(), optim.SGD, rho=0.05, lr=0.1, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    loss = opt.step(closure)      # the loss at w (before the step)

``step(closure)``: (1) the closure at :math:`w` gives :math:`g`; (2)
``first_step`` moves every parameter to :math:`w + \hat e(w)` with
:math:`\hat e(w) = \rho g/\lVert g\rVert` (the norm over all parameters;
ASAM: :math:`\rho T_w^2 g/\lVert T_w g\rVert`, :math:`T_w = |w| + \eta`) and
zeroes the gradients; (3) the closure at :math:`w + \hat e(w)` gives
:math:`g_{SAM}`; (4) ``second_step`` puts the parameters back at :math:`w`
(the saved values, exactly) and steps the base optimizer with
:math:`g_{SAM}`.

For a manual loop (e.g. with a different batch norm treatment in the second
pass), call the two halves yourself::

    loss_fn(model(x), y).backward()
    opt.first_step(zero_grad=True)
    loss_fn(model(x), y).backward()
    opt.second_step(zero_grad=True)

Param groups and state
----------------------
The base optimizer is built on SAM's param groups, which also hold ``rho``,
``adaptive`` and ``eta``: ``opt.param_groups`` *is*
``opt.base_optimizer.param_groups`` (schedulers work on either), and
``opt.state`` / ``state_dict()`` are the base optimizer's (SAM keeps nothing
between steps).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_bool, check_nonnegative
from .optimizer import Optimizer
from .types import Closure, Params

__all__ = ["SAM"]


class SAM(Optimizer):
    r"""SAM (Foret, Kleiner, Mobahi & Neyshabur 2021) and ASAM (Kwon et al. 2021).

    Wraps a base optimizer that takes the step from :math:`w` with the gradient
    at :math:`w + \hat e(w)`.

    Args:
        params: parameters or param groups (groups may set their own ``rho``,
            ``adaptive``, ``eta`` and base hyperparameters).
        base_optimizer_class: the class of the optimizer that takes the step,
            e.g. ``optim.SGD`` (anything called as ``cls(param_groups, **base_kwargs)``).
        rho: :math:`\rho`, the radius of the neighbourhood (default 0.05; the
            ASAM paper uses larger values, e.g. 0.5 or 1.0).
        adaptive: ASAM's scale-invariant neighbourhood (default False).
        eta: :math:`\eta` in :math:`T_w = |w| + \eta` (ASAM only; default 0).
        trace: record per parameter and step ``g`` (the gradient at
            :math:`w`), ``e_w``, ``grad_norm`` (:math:`\lVert T_w g\rVert`
            over all parameters) and ``g_sam`` (the gradient at
            :math:`w + \hat e(w)`).
        **base_kwargs: the base optimizer's arguments (``lr``, ``momentum``, ...).
    """

    def __init__(self, params: Params, base_optimizer_class: type, rho: float = 0.05, adaptive: bool = False,
                 *, eta: float = 0.0, trace: bool | Iterable[str] = False, **base_kwargs) -> None:
        if isinstance(base_optimizer_class, Optimizer) or not callable(base_optimizer_class):
            raise TypeError("SAM takes the base optimizer's class and its arguments, e.g. "
                            "SAM(params, optim.SGD, rho=0.05, lr=0.1), got "
                            f"{type(base_optimizer_class).__name__}")
        check_nonnegative(rho, "rho")
        check_bool(adaptive, "adaptive")
        check_nonnegative(eta, "eta")
        self._pending = None
        super().__init__(params, {"rho": rho, "adaptive": adaptive, "eta": eta}, trace=trace)
        groups = self.__dict__.pop("_own_param_groups")
        self.__dict__.pop("_own_state", None)
        self.base_optimizer = base_optimizer_class(groups, **base_kwargs)

    # ------------------------------------------------------------ mirrored groups/state
    def _base(self):
        return self.__dict__.get("base_optimizer")

    @property
    def param_groups(self):
        """The base optimizer's param groups (the same list)."""
        base = self._base()
        return base.param_groups if base is not None else self.__dict__["_own_param_groups"]

    @param_groups.setter
    def param_groups(self, groups):
        base = self._base()
        if base is not None:
            base.param_groups = groups
        else:
            self.__dict__["_own_param_groups"] = groups

    @property
    def state(self):
        """The base optimizer's state."""
        base = self._base()
        return base.state if base is not None else self.__dict__.setdefault("_own_state",
                                                                            defaultdict(dict))

    @state.setter
    def state(self, value):
        base = self._base()
        if base is not None:
            base.state = value
        else:
            self.__dict__["_own_state"] = value

    @property
    def defaults(self):
        """SAM's defaults (``rho``, ``adaptive``, ``eta``) over the base optimizer's."""
        base = self._base()
        own = self.__dict__["_sam_defaults"]
        return {**base.defaults, **own} if base is not None else own

    @defaults.setter
    def defaults(self, value):
        self.__dict__["_sam_defaults"] = dict(value)

    def add_param_group(self, param_group: dict) -> None:
        base = self._base()
        if base is None:
            return super().add_param_group(param_group)
        for name, default in self.__dict__["_sam_defaults"].items():
            param_group.setdefault(name, default)
        base.add_param_group(param_group)

    # ------------------------------------------------------------ the two halves
    def _with_grad(self):
        return [(group, p) for group in self.param_groups for p in group["params"]
                if p.grad is not None]

    def first_step(self, zero_grad: bool = False) -> float:
        r"""Climb to :math:`w + \hat e(w)` with the current gradients.

        Returns :math:`\lVert T_w g\rVert` over all parameters.

        The parameters' values at :math:`w` are saved for :meth:`second_step`.
        """
        if self._pending is not None:
            raise RuntimeError("SAM.first_step() was called twice without second_step() "
                               "in between")
        entries = self._with_grad()
        with no_grad():
            grad_norm = F.sam_grad_norm([p.data for _, p in entries],
                                        [p.grad.data for _, p in entries],
                                        adaptive=[bool(g["adaptive"]) for g, _ in entries],
                                        eta=[g["eta"] for g, _ in entries])
            pending = {}
            for group, p in entries:
                g = p.grad.data.copy()
                theta_adv, e_w, _ = F.sam_ascent(p.data, g, rho=group["rho"], grad_norm=grad_norm,
                                                 adaptive=bool(group["adaptive"]),
                                                 eta=group["eta"])
                pending[p] = (p.data.copy(), g, e_w)           # w, g, e(w)
                p.data[...] = theta_adv                        # w <- w + e(w)
        self._pending = (pending, grad_norm)
        if zero_grad:
            self.zero_grad()
        return grad_norm

    def _restore(self):
        """Put the parameters back at :math:`w`; return what ``first_step`` saved."""
        pending, grad_norm = self._pending
        self._pending = None
        with no_grad():
            for p, (theta, _, _) in pending.items():
                p.data[...] = theta
        return pending, grad_norm

    def second_step(self, zero_grad: bool = False) -> None:
        r"""Go back to :math:`w` and take the base optimizer's step with the current gradients.

        The current gradients must be those at :math:`w + \hat e(w)`.
        """
        if self._pending is None:
            raise RuntimeError("SAM.second_step() needs first_step() first (it returns the "
                               "parameters to where first_step() found them)")
        pending, grad_norm = self._restore()
        g_sam = ({p: p.grad.data.copy() for p in pending if p.grad is not None}
                 if self.tracing else None)
        self.base_optimizer.step()
        self._step_count += 1
        if self.tracing:
            self._record_step(pending, grad_norm, g_sam)
        if zero_grad:
            self.zero_grad()

    def _record_step(self, pending, grad_norm, g_sam) -> None:
        index = 0
        for group_index, group in enumerate(self.param_groups):
            names = group.get("param_names")
            for j, p in enumerate(group["params"]):
                if p in pending:
                    _, g, e_w = pending[p]
                    quantities = {"g": g, "e_w": e_w, "grad_norm": grad_norm}
                    if p in g_sam:
                        quantities["g_sam"] = g_sam[p]
                    self._record(group_index, index + j, None if names is None else names[j],
                                 p.data, quantities)
            index += len(group["params"])

    def step(self, closure: Closure | None = None) -> Any:
        """One SAM step: two forward-backward passes through ``closure``; returns the loss at w."""
        if closure is None:
            raise RuntimeError(
                "SAM.step() needs a closure: it evaluates the loss and its gradients twice, at "
                "w and at w + e(w). Pass a function that zeroes the gradients, computes the "
                "loss, calls backward() and returns the loss (or call first_step() and "
                "second_step() yourself)")
        loss = self._evaluate_closure(closure)                # g at w
        self.first_step(zero_grad=True)                       # w <- w + e(w)
        try:
            self._evaluate_closure(closure)                   # g_SAM at w + e(w)
        except BaseException:
            self._restore()                                   # leave the parameters at w
            raise
        self.second_step()                                    # back to w, base step with g_SAM
        return loss

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """The base optimizer's state dict (its groups hold ``rho``, ``adaptive``, ``eta`` too)."""
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self.base_optimizer.load_state_dict(state_dict)
        for group in self.param_groups:
            for name, default in self.__dict__["_sam_defaults"].items():
                group.setdefault(name, default)

    def __repr__(self) -> str:
        return "SAM " + repr(self.base_optimizer)
