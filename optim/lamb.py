r"""``LAMB``: Adam's direction, scaled per layer by a trust ratio (You et al. 2020).

The formula is :func:`optim.functional.lamb`; this class applies it tensor by
tensor (each parameter tensor is a "layer" of the paper). PyTorch has no LAMB:
the class is checked against the paper's Algorithm 2 written out in the tests.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative, check_real
from .optimizer import Optimizer
from .types import Params

__all__ = ["LAMB"]


class LAMB(Optimizer):
    r"""LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning"), Algorithm 2.

    .. math::

        r_t = \hat m_t / (\sqrt{\hat v_t} + \epsilon), \qquad
        \theta_t = \theta_{t-1} - \eta\,
            \frac{\phi(\lVert\theta_{t-1}\rVert)}{\lVert r_t + \lambda\theta_{t-1}\rVert}
            (r_t + \lambda\theta_{t-1})

    per parameter tensor, with Adam's bias-corrected moments
    :math:`\hat m, \hat v`; the trust ratio is 1 when either norm is 0.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-6).
        weight_decay: :math:`\lambda` (default 0), inside the trust ratio.
        clamp_value: ``None`` (default) for :math:`\phi(z) = z`, or :math:`c > 0`
            for :math:`\phi(z) = \min(\max(z, 0), c)` (10 in common code).
        bias_correction: divide the moments by :math:`1-\beta^t` (default True).
        trace: record the formula's intermediates (``m_hat``, ``v_hat``,
            ``r``, ``trust_ratio``, ...; see :func:`optim.functional.lamb`).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0, clamp_value: float | None = None, *,
                 bias_correction: bool = True, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_real(clamp_value, "clamp_value", allow_none=True)
        check_bool(bias_correction, "bias_correction")
        if clamp_value is not None and not clamp_value > 0:
            raise ValueError(f"Invalid clamp_value value: {clamp_value}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "clamp_value": clamp_value, "bias_correction": bias_correction}
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.lamb_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.lamb(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                      eps=group["eps"], weight_decay=group["weight_decay"],
                      clamp_value=group["clamp_value"],
                      bias_correction=group["bias_correction"])
