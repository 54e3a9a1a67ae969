r"""``DAdaptAdam`` (Defazio & Mishchenko 2023): D-Adaptation for Adam.

The formula is in :mod:`optim.functional.dadapt_adam`, in three pure pieces
(the estimate needs sums over every parameter): this class overrides
``_apply_update`` as :class:`optim.Prodigy` does. PyTorch has no
D-Adaptation: the class is checked against the algorithm written out in the
tests, and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative, check_real
from .functional.prodigy import prodigy_lr
from .optimizer import Optimizer
from .types import Params

__all__ = ["DAdaptAdam"]


class DAdaptAdam(Optimizer):
    r"""D-Adaptation, Adam form (Defazio & Mishchenko 2023), as the reference code's ``DAdaptAdam``.

    .. math::

        m_k = \beta_1 m_{k-1} + (1-\beta_1)\gamma d_k g_k, \qquad x_{k+1} = x_k - m_k/(\sqrt{v_k} + \epsilon)

    with :math:`d_k` non-decreasing, estimated from
    :math:`\sum\langle g, s/(\sqrt v + \epsilon)\rangle` over :math:`\sum\lVert s\rVert_1`.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma`, a multiplier of the learned rate (default 1.0).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0); decouple: AdamW's decay
            (default False: an L2 term in :math:`g`, as the reference code).
        use_bias_correction: Adam's corrections folded into :math:`\eta_k` (default False).
        d0: the initial estimate (default 1e-6). growth_rate: the most :math:`d` may grow per step (default inf).
        maximize: maximize the objective instead (default False).
        trace: record the intermediates (``g``, ``m``, ``v``, ``s``, ``denom``, ``d``, ``d_next``, ``d_hat``, ``dlr``).

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, ``s``. The
    estimate (``d``, ``numerator_weighted``, ``d_hat``, ``k``) is kept in every
    param group (the same values), as the reference code does; the learning
    rate and betas used are the first group's.
    """

    def __init__(self, params: Params, lr: float = 1.0, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decouple: bool = False, use_bias_correction: bool = False,
                 d0: float = 1e-6, growth_rate: float = float("inf"), *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(decouple, "decouple")
        check_bool(use_bias_correction, "use_bias_correction")
        check_bool(maximize, "maximize")
        if not check_real(d0, "d0") > 0:
            raise ValueError(f"Invalid d0 value: {d0}")
        if not check_real(growth_rate, "growth_rate") >= 1:
            raise ValueError(f"Invalid growth_rate value: {growth_rate}")
        super().__init__(params, {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "decouple": decouple,
            "use_bias_correction": use_bias_correction, "d0": d0, "growth_rate": growth_rate, "maximize": maximize,
            "d": d0, "numerator_weighted": 0.0, "d_hat": 0.0, "k": 0,
        }, trace=trace)

    def _apply_update(self) -> None:
        self._step_count += 1
        first = self.param_groups[0]
        beta1, beta2 = first["betas"]
        d, k = first["d"], first["k"]
        dlr = prodigy_lr(first["lr"], d, k, beta1, beta2, first["use_bias_correction"])   # eta_k
        numerator_acum, sk_l1, pending = 0.0, 0.0, []
        with no_grad():
            for group_index, group, index, name, p in self._indexed_params():
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = F.dadapt_adam_init(p.data)
                new_state, num, den, inter = F.dadapt_adam_accumulate(
                    p.data, p.grad.data, state, dlr=dlr, beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"], decouple=group["decouple"], maximize=group["maximize"])
                numerator_acum += num                                               # a_k
                sk_l1 += den                                                        # sum ||s_k||_1
                pending.append((group_index, group, index, name, p, new_state, inter))
            if sk_l1 == 0:
                return
            d_new, r, d_hat = F.dadapt_adam_estimate(d, first["numerator_weighted"], numerator_acum, sk_l1,
                                                     beta2=beta2, growth_rate=first["growth_rate"])
            if first["lr"] == 0:
                d_new, d_hat = d, d
            for group in self.param_groups:
                group.update(d=d_new, numerator_weighted=r, d_hat=d_hat, k=k + 1)
            for group_index, group, index, name, p, new_state, inter in pending:
                theta_new, inter2 = F.dadapt_adam_update(p.data, new_state, dlr=dlr, eps=group["eps"],
                                                         weight_decay=group["weight_decay"],
                                                         decouple=group["decouple"])
                inter.update(inter2, d=d, d_next=d_new, d_hat=d_hat, dlr=dlr)
                self._commit(p, theta_new, new_state, inter, group_index, index, name)
