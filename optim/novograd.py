r"""``NovoGrad`` (Ginsburg et al. 2019): a second moment per layer, the decay inside the momentum.

The formula is :func:`optim.functional.novograd`. PyTorch has no NovoGrad:
the class is checked against the paper's Algorithm 1 written out in the
tests, and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["NovoGrad"]


class NovoGrad(Optimizer):
    r"""NovoGrad (Ginsburg et al. 2019), Algorithm 1.

    .. math::

        v_t = \beta_2 v_{t-1} + (1-\beta_2)\|g_t\|^2, \qquad
        m_t = \beta_1 m_{t-1} + \frac{g_t}{\sqrt{v_t} + \epsilon} + \lambda\theta_{t-1}, \qquad
        \theta_t = \theta_{t-1} - \eta m_t

    with :math:`v_1 = \|g_1\|^2`, one :math:`v` per parameter tensor.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.95, 0.98)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        grad_averaging: multiply the momentum's input by :math:`1-\beta_1` (default False).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`, a 0-d array).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.95, 0.98),
                 eps: float = 1e-8, weight_decay: float = 0.0, grad_averaging: bool = False, *,
                 maximize: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(grad_averaging, "grad_averaging")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "grad_averaging": grad_averaging, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.novograd_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.novograd(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                          weight_decay=group["weight_decay"], grad_averaging=group["grad_averaging"],
                          maximize=group["maximize"])
