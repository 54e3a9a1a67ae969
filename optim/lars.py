r"""``LARS``: SGD with momentum and a layer-wise local learning rate (You et al. 2017).

The formula is :func:`optim.functional.lars`; this class applies it tensor by
tensor (each parameter tensor is a "layer" of the paper). PyTorch has no LARS:
the class is checked against the paper's Algorithm 1 written out in the tests.

Excluding biases and normalisation gains
----------------------------------------
Large-batch recipes usually leave the 1-D parameters (biases, LayerNorm /
BatchNorm gains) out of the adaptation and the weight decay. Two ways:

* ``LARS(params, exclude_1d=True)``: every parameter with ``ndim <= 1`` of
  every group (or of the groups that set ``"exclude_1d": True``);
* a param group with ``"exclude": True``: all of its parameters, e.g.
  ``LARS([{"params": weights}, {"params": biases, "exclude": True}], lr=0.1)``.

An excluded tensor takes the plain momentum step
:math:`v \leftarrow m v + \gamma g`, :math:`w \leftarrow w - v`.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_lr, check_nonnegative
from .optimizer import Optimizer
from .types import Params

__all__ = ["LARS"]


class LARS(Optimizer):
    r"""LARS (You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks").

    .. math::

        \lambda^l = \eta\,\frac{\lVert w\rVert}{\lVert\nabla L(w)\rVert + \beta\lVert w\rVert},
        \qquad v \leftarrow m v + \gamma_t\,\lambda^l\,(\nabla L(w) + \beta w),
        \qquad w \leftarrow w - v

    per parameter tensor (:math:`\lambda^l = 1` when a norm is 0).

    Args:
        params: parameters or param groups.
        lr: the global learning rate :math:`\gamma_t` (default 1e-3; the
            paper decays it polynomially, see ``optim.lr_scheduler.PolynomialLR``).
        momentum: :math:`m` (default 0.9).
        weight_decay: :math:`\beta` (default 0).
        trust_coefficient: :math:`\eta` (default 1e-3).
        eps: added to the local rate's denominator (default 0, the paper's form).
        exclude_1d: leave parameters with ``ndim <= 1`` out of the adaptation
            and the decay (default False). Also a param-group key.
        trace: record the formula's intermediates (``local_lr``, ``w_norm``,
            ``g_norm``, ``d``, ``v``; see :func:`optim.functional.lars`).

    Param groups may also set ``"exclude": True`` to leave all their
    parameters out. State per parameter (with momentum): ``momentum_buffer``
    (:math:`v`, which contains the learning rate, as in the paper).
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0,
                 trust_coefficient: float = 1e-3, eps: float = 0.0, *, exclude_1d: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_nonnegative(momentum, "momentum")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(trust_coefficient, "trust_coefficient")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_bool(exclude_1d, "exclude_1d")
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                    "trust_coefficient": trust_coefficient, "eps": eps,
                    "exclude_1d": exclude_1d, "exclude": False}
        super().__init__(params, defaults, trace=trace)

    @staticmethod
    def is_excluded(theta, group) -> bool:
        """Whether a tensor of this group skips the adaptation and the decay."""
        return bool(group["exclude"]) or (bool(group["exclude_1d"]) and theta.ndim <= 1)

    def _init_state(self, theta, group):
        return F.lars_init(theta, momentum=group["momentum"])

    def _update(self, theta, grad, state, group):
        return F.lars(theta, grad, state, lr=group["lr"], momentum=group["momentum"],
                      weight_decay=group["weight_decay"],
                      trust_coefficient=group["trust_coefficient"], eps=group["eps"],
                      exclude=self.is_excluded(theta, group))
