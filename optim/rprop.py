r"""``Rprop``: resilient backpropagation (sign-based steps, per-coordinate step sizes).

The formula is :func:`optim.functional.rprop`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks. Rprop is a full-batch method: with mini-batch gradients the signs
flip by noise and the step sizes collapse.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_reals
from .optimizer import Optimizer
from .types import Params

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun 1993; PyTorch's iRprop- variant), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\Delta_0`, the initial step size of every coordinate
            (default 1e-2).
        etas: :math:`(\eta^-, \eta^+)`, with :math:`0 < \eta^- < 1 < \eta^+`
            (default (0.5, 1.2)).
        step_sizes: :math:`(\Delta_{min}, \Delta_{max})` (default (1e-6, 50)).
        maximize: maximize the objective instead (default False).
        backtracking: the paper's weight-backtracking (Rprop+): a coordinate
            whose gradient changed sign has its previous move undone (default
            False: PyTorch, which only skips the move).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    State per parameter: ``step``, ``prev`` (the last gradient, zeroed where
    its sign flipped), ``step_size`` (:math:`\Delta`), and ``prev_update``
    (the last move) with backtracking. ``lr`` is read only when a parameter's
    state is created: changing it later (a scheduler) has no effect, as in
    PyTorch.
    """

    def __init__(self, params: Params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, maximize: bool = False,
                 backtracking: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        etas = check_reals(etas, "etas", 2)
        step_sizes = check_reals(step_sizes, "step_sizes", 2)
        check_bool(maximize, "maximize")
        check_bool(backtracking, "backtracking")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes),
            "maximize": maximize, "backtracking": backtracking,
        }
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.rprop_init(theta, lr=group["lr"], backtracking=group["backtracking"])

    def _update(self, theta, grad, state, group):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        return F.rprop(theta, grad, state, lr=group["lr"], etaminus=etaminus, etaplus=etaplus,
                       step_size_min=step_size_min, step_size_max=step_size_max,
                       maximize=group["maximize"], backtracking=group["backtracking"])
