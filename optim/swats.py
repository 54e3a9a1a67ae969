r"""``SWATS``: switch from Adam to SGD when the projected step size settles (Keskar & Socher 2017).

The formula is :func:`optim.functional.swats` (Algorithm 1 of the paper, with
the implementation's choices listed there). PyTorch has no SWATS: the class is
checked against the algorithm written out in the tests.

Per layer
---------
Algorithm 1 treats the weights as one vector; the paper estimates the SGD
learning rate per layer in practice. This class does it per parameter tensor:
each tensor has its own estimate :math:`\lambda_k`, switches on its own test
and then runs SGD with its own :math:`\Lambda`. ``switch_steps()`` and the
``switch_step``/``sgd_lr`` entries of each parameter's state say which
tensors switched, when and with which rate; with ``trace=True`` the
switching step's record has ``switched=True``.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["SWATS"]


class SWATS(Optimizer):
    r"""SWATS (Keskar & Socher 2017), switching from Adam to SGD.

    "Improving Generalization Performance by Switching from Adam to SGD", Algorithm 1.

    Adam phase: :math:`p_k = -\alpha_k \frac{\sqrt{1-\beta_2^k}}{1-\beta_1^k}
    \frac{m_k}{\sqrt{a_k}+\epsilon}`, :math:`w_k = w_{k-1} + p_k`,
    :math:`\gamma_k = p_k^\top p_k / (-p_k^\top g_k)`,
    :math:`\lambda_k = \beta_2\lambda_{k-1} + (1-\beta_2)\gamma_k`; switch when
    :math:`k > 1` and :math:`|\lambda_k/(1-\beta_2^k) - \gamma_k| < \epsilon`;
    then SGD: :math:`v_k = \beta_1 v_{k-1} + g_k`,
    :math:`w_k = w_{k-1} - (1-\beta_1)\Lambda v_k` with
    :math:`\Lambda = \lambda_k/(1-\beta_2^k)` at the switch.

    Args:
        params: parameters or param groups.
        lr: :math:`\alpha` (default 1e-3). After a tensor's switch its SGD
            rate is :math:`\Lambda\cdot(\text{lr}/\text{lr at the switch})`, so
            schedulers keep acting.
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)); :math:`\beta_1`
            is also the SGD phase's momentum.
        eps: Adam's :math:`\epsilon` (default 1e-9, the paper's).
        switch_eps: the switching tolerance (default 1e-9; the paper uses the same
            :math:`\epsilon` for both).
        weight_decay: L2 penalty added to the gradient (default 0).
        trace: record the formula's intermediates (``p``, ``gamma``,
            ``lambda``, ``Lambda``, ``switched``, ``lr_sgd``, ...).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq``
    (:math:`a`), ``exp_avg_gamma`` (:math:`\lambda`), ``phase``; after the
    switch also ``sgd_lr`` (:math:`\Lambda`), ``switch_lr``, ``switch_step``
    and ``momentum_buffer`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-9, weight_decay: float = 0, *, switch_eps: float = 1e-9,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(switch_eps, "switch_eps")
        check_nonnegative(weight_decay, "weight_decay")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "switch_eps": switch_eps}
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.swats_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.swats(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                       eps=group["eps"], switch_eps=group["switch_eps"],
                       weight_decay=group["weight_decay"])

    def switch_steps(self) -> list:
        """For each parameter (in ``state_dict`` order), the step it switched to SGD at, or None."""
        return [self.state.get(p, {}).get("switch_step")
                for group in self.param_groups for p in group["params"]]
