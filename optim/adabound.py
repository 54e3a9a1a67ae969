r"""``AdaBound`` and AMSBound (Luo et al. 2019): Adam's steps clipped into bounds that close on SGD's.

The formula is :func:`optim.functional.adabound`. PyTorch has neither: the
class is checked against the reference algorithm written out in the tests,
and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative, check_real
from .optimizer import Optimizer
from .types import Params

__all__ = ["AdaBound"]


class AdaBound(Optimizer):
    r"""AdaBound (Luo et al. 2019, Algorithm 2); AMSBound (Algorithm 3) with ``amsbound=True``.

    .. math::

        \hat\eta_t = \operatorname{clip}\Big(\frac{\alpha_t}{\sqrt{v_t} + \epsilon},
            \alpha^\star\big(1 - \tfrac{1}{\gamma t + 1}\big), \alpha^\star\big(1 + \tfrac{1}{\gamma t}\big)\Big),
        \qquad \theta_t = \theta_{t-1} - \hat\eta_t m_t

    Args:
        params: parameters or param groups.
        lr: :math:`\eta`, Adam's step size (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        final_lr: :math:`\alpha^\star`, the SGD step size the bounds close on
            (default 0.1); scaled like the learning rate when a scheduler
            changes ``lr`` (:math:`\alpha^\star \cdot \eta/\eta_0`, with
            :math:`\eta_0` the group's ``base_lr``, its ``lr`` when added).
        gamma: :math:`\gamma`, the speed of the bounds (default 1e-3).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0), an L2 term, or AdamW's decay
            with ``decoupled_weight_decay=True``.
        amsbound: AMSBound, :math:`\max(v^{max}, v)` (default False).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq`` with amsbound.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 final_lr: float = 0.1, gamma: float = 1e-3, eps: float = 1e-8, weight_decay: float = 0.0,
                 amsbound: bool = False, *, decoupled_weight_decay: bool = False, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(final_lr, "final learning rate", arg="final_lr")
        if not 0.0 < check_real(gamma, "gamma") < 1.0:
            raise ValueError(f"Invalid gamma parameter: {gamma}")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(amsbound, "amsbound")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "final_lr": final_lr, "gamma": gamma, "eps": eps,
                                  "weight_decay": weight_decay, "amsbound": amsbound,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize},
                         trace=trace)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group as :class:`Optimizer` does, recording its starting ``lr`` as ``base_lr``."""
        super().add_param_group(param_group)
        param_group.setdefault("base_lr", param_group["lr"])

    def _init_state(self, theta, group):
        return F.adabound_init(theta, amsbound=group["amsbound"])

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        base_lr = group.get("base_lr", group["lr"])
        final_lr = group["final_lr"] * group["lr"] / base_lr if base_lr > 0 else 0.0
        return F.adabound(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, final_lr=final_lr,
                          gamma=group["gamma"], eps=group["eps"], weight_decay=group["weight_decay"],
                          amsbound=group["amsbound"], decoupled_weight_decay=group["decoupled_weight_decay"],
                          maximize=group["maximize"])
