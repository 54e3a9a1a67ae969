r"""``Adam`` and ``AdamW``.

The formula is :func:`optim.functional.adam`; these classes apply it
parameter by parameter with PyTorch 2.13's argument names, defaults and
checks. ``AdamW`` is ``Adam`` with ``decoupled_weight_decay=True`` and a
default weight decay of 1e-2, as in PyTorch.

This file is the pattern for a new optimizer: a constructor that checks the
arguments and builds ``defaults``, ``_init_state`` (the state before the first
step) and ``_update`` (call the functional formula with the group's
hyperparameters).
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_choice, check_lr, check_nonnegative
from .fast.inplace import adam_
from .fast.mixin import FlatPath
from .functional.adam import BIAS_CORRECTIONS
from .optimizer import Optimizer
from .types import Params

__all__ = ["Adam", "AdamW"]


class Adam(FlatPath, Optimizer):
    r"""Adam (Kingma & Ba 2015), with AMSGrad and decoupled weight decay; PyTorch's API.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0); an L2 penalty added to the
            gradient, or with ``decoupled_weight_decay=True`` the AdamW decay
            :math:`\theta \leftarrow \theta(1 - \gamma\lambda)`.
        amsgrad: use :math:`\max(v^{max}, v)` (Reddi et al. 2018) (default False).
        maximize: maximize the objective instead (default False).
        decoupled_weight_decay: AdamW's decay (default False).
        bias_correction: ``"standard"`` (default; Algorithm 1 and PyTorch) or
            ``"efficient"`` (the paper's reordering:
            :math:`\alpha_t = \gamma\sqrt{1-\beta_2^t}/(1-\beta_1^t)`,
            :math:`\theta \mathrel{-}= \alpha_t m/(\sqrt v + \hat\epsilon)`).
        trace: record the formula's intermediates (see :class:`Optimizer`).
        impl: ``"teaching"`` (default) or ``"flat"``: the same formula over one
            flat buffer per param group, in cache-sized chunks, bitwise equal
            to the teaching path (see :mod:`optim.fast`).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq``
    (:math:`v`), and ``max_exp_avg_sq`` with amsgrad.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, bias_correction: str = "standard",
                 trace: bool | Iterable[str] = False, impl: str = "teaching") -> None:
        lr = check_lr(lr)
        check_nonnegative(eps, "epsilon", arg="eps")
        betas = check_betas(betas)
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(amsgrad, "amsgrad")
        check_bool(maximize, "maximize")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_choice(bias_correction, "bias_correction", BIAS_CORRECTIONS)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
            "bias_correction": bias_correction,
        }
        super().__init__(params, defaults, trace=trace, impl=impl)

    def _init_state(self, theta, group):
        return F.adam_init(theta, amsgrad=group["amsgrad"])

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.adam(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                      eps=group["eps"], weight_decay=group["weight_decay"],
                      amsgrad=group["amsgrad"], maximize=group["maximize"],
                      decoupled_weight_decay=group["decoupled_weight_decay"],
                      bias_correction=group["bias_correction"])

    def _update_inplace(self, theta, grad, state, out, work, group):
        beta1, beta2 = group["betas"]
        return adam_(theta, grad, state, out, work, lr=group["lr"], beta1=beta1, beta2=beta2,
                     eps=group["eps"], weight_decay=group["weight_decay"],
                     amsgrad=group["amsgrad"], maximize=group["maximize"],
                     decoupled_weight_decay=group["decoupled_weight_decay"],
                     bias_correction=group["bias_correction"])


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay; PyTorch's API.

    Same arguments as :class:`Adam` (``impl`` included) without
    ``decoupled_weight_decay`` (always True); ``weight_decay`` defaults to 1e-2.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, bias_correction: str = "standard", trace: bool | Iterable[str] = False,
                 impl: str = "teaching") -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, bias_correction=bias_correction,
                         trace=trace, impl=impl)
