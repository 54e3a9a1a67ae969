r"""``SparseAdam``: PyTorch 2.13's lazy Adam for embedding tables, on dense gradients.

The formula is :func:`optim.functional.sparse_adam`. minigrad has no sparse
tensors: a gradient row (along the first axis) that is entirely zero counts
as absent, and that row of the parameter and of both moments is left as it
is (``docs/CONVENTIONS.md``). Checked against ``torch.optim.SparseAdam`` fed
the same gradients as sparse COO tensors of the nonzero rows.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_real
from .optimizer import Optimizer
from .types import Params

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""SparseAdam (PyTorch's): Adam on the present rows only, efficient bias correction.

    .. math::

        \theta_t[S] = \theta_{t-1}[S] - \frac{\gamma\sqrt{1-\beta_2^t}}{1-\beta_1^t}
            \frac{m_t[S]}{\sqrt{v_t[S]} + \epsilon}

    with :math:`S` the rows whose gradient is not all zero.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        maximize: maximize the objective instead (default False).
        trace: record the formula's intermediates (``rows`` is the mask of present rows).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False, *, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        if not 0.0 < check_real(eps, "eps"):
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = check_betas(betas)
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}, trace=trace)

    def _init_state(self, theta, group):
        return F.sparse_adam_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        return F.sparse_adam(theta, grad, state, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                             maximize=group["maximize"])
