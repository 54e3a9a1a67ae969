r"""``SOAP`` (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's preconditioner.

The formula is :func:`optim.functional.soap`; this class applies it parameter
by parameter with the argument names and defaults of the paper's reference
code. Each parameter of shape :math:`n_1\times\dots\times n_k` keeps Adam's
two moments, one :math:`n_i\times n_i` statistic and one basis per mode; the
bases are refreshed every ``precondition_frequency`` steps by one power
iteration and a QR decomposition (the default, as in the paper) or an exact
eigendecomposition (``eigenbasis="eigh"``).
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_choice, check_count, check_lr, check_nonnegative, check_real
from .functional.soap import EIGENBASES
from .optimizer import Optimizer
from .types import Params

__all__ = ["SOAP"]


class SOAP(Optimizer):
    r"""SOAP (Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam").

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 3e-3).
        betas: Adam's :math:`(\beta_1, \beta_2)` (default (0.95, 0.95)).
        shampoo_beta: :math:`\beta_s` of the statistics :math:`L, R`; a
            negative value (the default, -1) uses :math:`\beta_2`.
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: decoupled decay :math:`W \leftarrow W(1-\eta\lambda)`
            after the step (default 0.01).
        precondition_frequency: refresh the bases every this many steps
            (default 10).
        max_precond_dim: a mode longer than this keeps the identity basis
            (default 10000).
        merge_dims: merge neighbouring modes while their product is at most
            ``max_precond_dim`` (default False).
        precondition_1d: give 1-D parameters an :math:`n\times n` statistic
            and basis (default False: Adam for them, as in the paper).
        normalize_grads: divide the update by its RMS (default False).
        correct_bias: Adam's bias correction in the step size (default True).
        eigenbasis: ``"power_qr"`` (default; the paper's one power iteration
            and QR, continuous from the previous basis and cheap) or
            ``"eigh"`` (an exact eigendecomposition at each refresh).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (see :class:`Optimizer`).

    The first step of each parameter only builds the statistics and the bases
    (the parameter does not move). State per parameter: ``step``,
    ``initialized``, ``exp_avg``, ``exp_avg_sq``, ``GG`` (list of statistics),
    ``Q`` (list of bases; empty arrays for modes without one).
    """

    def __init__(self, params: Params, lr: float = 3e-3, betas: tuple[float, float] = (0.95, 0.95),
                 shampoo_beta: float = -1, eps: float = 1e-8, weight_decay: float = 0.01,
                 precondition_frequency: int = 10, max_precond_dim: int = 10000, merge_dims: bool = False,
                 precondition_1d: bool = False, normalize_grads: bool = False, correct_bias: bool = True, *,
                 eigenbasis: str = "power_qr", maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_real(shampoo_beta, "shampoo_beta")
        if not shampoo_beta < 1.0:
            raise ValueError(f"Invalid shampoo_beta value: {shampoo_beta} (expected < 1; negative: use beta2)")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_count(precondition_frequency, "precondition_frequency")
        check_count(max_precond_dim, "max_precond_dim")
        check_bool(merge_dims, "merge_dims")
        check_bool(precondition_1d, "precondition_1d")
        check_bool(normalize_grads, "normalize_grads")
        check_bool(correct_bias, "correct_bias")
        check_choice(eigenbasis, "eigenbasis", EIGENBASES)
        check_bool(maximize, "maximize")
        defaults = {"lr": lr, "betas": betas, "shampoo_beta": shampoo_beta, "eps": eps,
                    "weight_decay": weight_decay, "precondition_frequency": precondition_frequency,
                    "max_precond_dim": max_precond_dim, "merge_dims": merge_dims,
                    "precondition_1d": precondition_1d, "normalize_grads": normalize_grads,
                    "correct_bias": correct_bias, "eigenbasis": eigenbasis, "maximize": maximize}
        super().__init__(params, defaults, trace=trace)

    def _init_state(self, theta, group):
        return F.soap_init(theta, max_precond_dim=group["max_precond_dim"], merge_dims=group["merge_dims"],
                           precondition_1d=group["precondition_1d"])

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.soap(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2,
                      shampoo_beta=group["shampoo_beta"], eps=group["eps"], weight_decay=group["weight_decay"],
                      precondition_frequency=group["precondition_frequency"],
                      max_precond_dim=group["max_precond_dim"], merge_dims=group["merge_dims"],
                      normalize_grads=group["normalize_grads"], correct_bias=group["correct_bias"],
                      eigenbasis=group["eigenbasis"], maximize=group["maximize"])
