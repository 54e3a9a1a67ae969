r"""``ADOPT`` (Taniguchi et al. 2024): Adam normalised by the previous second moment.

The formula is :func:`optim.functional.adopt`. PyTorch has no ADOPT: the
class is checked against the algorithm written out in the tests, and against
pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_callable, check_lr, check_nonnegative
from .functional.adopt import adopt_clip
from .optimizer import Optimizer
from .types import Params

__all__ = ["ADOPT"]


class ADOPT(Optimizer):
    r"""ADOPT (Taniguchi et al. 2024), Algorithm 2 with the reference code's clipping.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1)\operatorname{clip}\big(g_t/\max(\sqrt{v_{t-1}}, \epsilon), t^{1/4}\big),
        \qquad \theta_t = \theta_{t-1} - \eta m_t

    and :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2` after; the first
    step only sets :math:`v_1 = g_1^2`.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.9999)).
        eps: the floor :math:`\epsilon` of :math:`\sqrt{v}` (default 1e-6).
        clip_lambda: ``t -> c_t`` (default :math:`t^{1/4}`), or None for no
            clipping. It belongs to the optimizer (a function is not a
            param-group value: state dicts stay plain data).
        weight_decay: :math:`\lambda` (default 0); decouple: AdamW's decay
            instead of the L2 term (default False).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.9999),
                 eps: float = 1e-6, clip_lambda: Callable[[int], float] | None = adopt_clip,
                 weight_decay: float = 0.0, decouple: bool = False, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_callable(clip_lambda, "clip_lambda", allow_none=True)
        check_bool(decouple, "decouple")
        check_bool(maximize, "maximize")
        self.clip_lambda = clip_lambda
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "decouple": decouple, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.adopt_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.adopt(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                       clip_lambda=self.clip_lambda, weight_decay=group["weight_decay"],
                       decouple=group["decouple"], maximize=group["maximize"])
