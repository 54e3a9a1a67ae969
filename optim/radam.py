r"""``RAdam``: Adam with the variance of the adaptive learning rate rectified.

The formula is :func:`optim.functional.radam`; this class applies it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks, plus the paper's and the authors' repository's options.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative, check_real
from .functional.radam import check_threshold
from .optimizer import Optimizer
from .types import Params

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al. 2020), with decoupled weight decay; PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0); an L2 penalty added to the
            gradient, or with ``decoupled_weight_decay=True`` the decay
            :math:`\theta \leftarrow \theta(1 - \gamma\lambda)`.
        decoupled_weight_decay: RAdamW's decay (default False).
        maximize: maximize the objective instead (default False).
        threshold: rectify when :math:`\rho_t > \text{threshold}` (default 5,
            as PyTorch; the paper's Algorithm 2 is ``threshold=4``; must be
            >= 4). With :math:`\beta_2 = 0.999` the first rectified step is
            step 6 with 5 and step 5 with 4.
        degenerated_to_sgd: while not rectified, take the SGD-with-momentum
            step :math:`\gamma \hat m_t` (default True, as PyTorch); False (the
            authors' repository's option) leaves the parameter unchanged on
            those steps, decoupled weight decay included, while :math:`m`,
            :math:`v` and the step count still advance.
        trace: record the formula's intermediates (see :class:`Optimizer`);
            ``rho_inf``, ``rho_t``, ``rectified`` every step, ``r_t`` and
            ``l_t`` on rectified steps.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False, threshold: float = 5, degenerated_to_sgd: bool = True,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_nonnegative(eps, "epsilon", arg="eps")
        betas = check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(maximize, "maximize")
        check_real(threshold, "threshold")
        check_threshold(threshold)
        check_bool(degenerated_to_sgd, "degenerated_to_sgd")
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
            "threshold": threshold, "degenerated_to_sgd": degenerated_to_sgd,
        }
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.radam_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.radam(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                       eps=group["eps"], weight_decay=group["weight_decay"],
                       decoupled_weight_decay=group["decoupled_weight_decay"],
                       maximize=group["maximize"], threshold=group["threshold"],
                       degenerated_to_sgd=group["degenerated_to_sgd"])
