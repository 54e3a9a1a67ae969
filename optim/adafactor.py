r"""``Adafactor``: Adam-like steps with a factored second moment (sublinear memory).

The formula is :func:`optim.functional.adafactor`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks (``torch.optim.Adafactor``, whose messages differ from the other
optimizers': ``"Learning rate should be >= 0 but is: -1"``).
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import _scalar, check_bool, check_choice, check_real, check_reals
from .functional.adafactor import EPS1_FORMS
from .optimizer import Optimizer
from .types import Params

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern 2018), PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma`, the cap of the relative step
            :math:`\rho_t = \min(\gamma, 1/\sqrt t)` and the scale of the weight
            decay (default 1e-2, the paper's constant cap).
        beta2_decay: :math:`\tau` in :math:`\hat\beta_{2t} = 1 - t^\tau`
            (default -0.8).
        eps: :math:`(\epsilon_1, \epsilon_2)` (default (None, 1e-3); None: the
            machine epsilon of the parameter's dtype; the paper uses 1e-30).
        d: the clipping threshold of the update's RMS (default 1.0).
        weight_decay: :math:`\lambda`, decoupled:
            :math:`\theta \leftarrow \theta(1-\gamma\lambda)` (default 0).
        foreach: accepted for PyTorch compatibility and ignored.
        maximize: maximize the objective instead (default False).
        eps1_form: ``"torch"`` (default) or ``"paper"`` (:math:`\epsilon_1`
            added to every :math:`g^2` in the second-moment estimates, no
            floors afterwards).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    State per parameter: ``step``; ``row_var`` (:math:`R`, shape
    ``(..., n, 1)``) and ``col_var`` (:math:`C`, shape ``(..., 1, m)``) for
    parameters with two or more axes, ``variance`` (:math:`\hat V`) for 0-d
    and 1-d ones.
    """

    def __init__(self, params: Params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False, eps1_form: str = "torch",
                 trace: bool | Iterable[str] = False) -> None:
        lr = _scalar(check_real(lr, "lr", allow_tensor=True), "lr")
        check_real(beta2_decay, "beta2_decay")
        eps = check_reals(eps, "eps", 2, none_at=(0,))
        check_real(d, "d")
        check_real(weight_decay, "weight_decay")
        check_bool(foreach, "foreach", allow_none=True)
        check_bool(maximize, "maximize")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        check_choice(eps1_form, "eps1_form", EPS1_FORMS)
        defaults = {
            "lr": lr, "beta2_decay": beta2_decay, "eps": tuple(eps), "d": d,
            "weight_decay": weight_decay, "maximize": maximize, "eps1_form": eps1_form,
        }
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.adafactor_init(theta)

    def _update(self, theta, grad, state, group):
        eps1, eps2 = group["eps"]
        return F.adafactor(theta, grad, state, lr=group["lr"],
                           beta2_decay=group["beta2_decay"], eps1=eps1, eps2=eps2,
                           d=group["d"], weight_decay=group["weight_decay"],
                           maximize=group["maximize"], eps1_form=group["eps1_form"])
