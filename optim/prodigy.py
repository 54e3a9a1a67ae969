r"""``Prodigy`` (Mishchenko & Defazio 2024): Adam with a learned step size :math:`d`.

The formula is in :mod:`optim.functional.prodigy`, in three pure pieces,
because the estimate :math:`d` needs a sum over every parameter of every
group before any parameter moves: this class overrides ``_apply_update``
(accumulate every parameter, estimate once, then update every parameter).
PyTorch has no Prodigy: the class is checked against the algorithm written
out in the tests, and against pytorch_optimizer.
"""
from __future__ import annotations

from collections.abc import Iterable

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_betas, check_bool, check_lr, check_nonnegative, check_range, check_real
from .optimizer import Optimizer
from .types import Params

__all__ = ["Prodigy"]

_SHARED = ("d", "d_max", "d_numerator", "d_hat", "k")


class Prodigy(Optimizer):
    r"""Prodigy (Mishchenko & Defazio 2024), Algorithm 4 in the reference code's form.

    .. math::

        x_{k+1} = x_k - \eta_k\, m_k/(\sqrt{v_k} + d_{k+1}\epsilon), \qquad \eta_k = \gamma d_k,

    with :math:`m, v` Adam's moments of :math:`d_k g_k` and :math:`d_k`
    growing as :math:`\langle g, x_0 - x\rangle`-weighted sums say the solution is far.

    Args:
        params: parameters or param groups.
        lr: :math:`\gamma`, a multiplier of the learned rate (default 1.0).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        beta3: :math:`\beta_3` of the estimate's averages (default None: :math:`\sqrt{\beta_2}`).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0); decouple: AdamW's decay
            :math:`x(1-\lambda\eta_k)` (default True) or an L2 term in :math:`g`.
        use_bias_correction: Adam's corrections folded into :math:`\eta_k` (default False).
        safeguard_warmup: leave :math:`\gamma` out of :math:`s` (for warmup schedules; default False).
        d0: the initial estimate :math:`d_0` (default 1e-6).
        d_coef: :math:`c`, a multiplier of the estimate (default 1.0).
        growth_rate: the most :math:`d` may grow per step (default inf).
        maximize: maximize the objective instead (default False).
        trace: record the intermediates (``g``, ``m``, ``v``, ``s``, ``denom``,
            and the shared ``d``, ``d_hat``, ``dlr``).

    State per parameter: ``step``, ``p0`` (:math:`x_0`), ``exp_avg``,
    ``exp_avg_sq``, ``s``. The estimate is the optimizer's: ``d``, ``d_max``,
    ``d_numerator``, ``d_hat`` and the step ``k`` are kept in every param
    group (the same values), as the reference code does, so they travel with
    ``state_dict``; the learning rate and betas used are the first group's.
    """

    def __init__(self, params: Params, lr: float = 1.0, betas: tuple[float, float] = (0.9, 0.999),
                 beta3: float | None = None, eps: float = 1e-8, weight_decay: float = 0.0, decouple: bool = True,
                 use_bias_correction: bool = False, safeguard_warmup: bool = False, d0: float = 1e-6,
                 d_coef: float = 1.0, growth_rate: float = float("inf"), *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        if beta3 is not None:
            check_range(beta3, "beta3", 0.0, 1.0, include_high=False)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_bool(decouple, "decouple")
        check_bool(use_bias_correction, "use_bias_correction")
        check_bool(safeguard_warmup, "safeguard_warmup")
        check_bool(maximize, "maximize")
        if not check_real(d0, "d0") > 0:
            raise ValueError(f"Invalid d0 value: {d0}")
        if not check_real(d_coef, "d_coef") > 0:
            raise ValueError(f"Invalid d_coef value: {d_coef}")
        if not check_real(growth_rate, "growth_rate") >= 1:
            raise ValueError(f"Invalid growth_rate value: {growth_rate}")
        super().__init__(params, {
            "lr": lr, "betas": betas, "beta3": beta3, "eps": eps, "weight_decay": weight_decay,
            "decouple": decouple, "use_bias_correction": use_bias_correction,
            "safeguard_warmup": safeguard_warmup, "d0": d0, "d_coef": d_coef, "growth_rate": growth_rate,
            "maximize": maximize, "d": d0, "d_max": d0, "d_numerator": 0.0, "d_hat": 0.0, "k": 0,
        }, trace=trace)

    def _apply_update(self) -> None:
        self._step_count += 1
        first = self.param_groups[0]
        beta1, beta2 = first["betas"]
        beta3 = first["beta3"] if first["beta3"] is not None else beta2 ** 0.5
        d, d0, k = first["d"], first["d0"], first["k"]
        dlr = F.prodigy_lr(first["lr"], d, k, beta1, beta2, first["use_bias_correction"])   # eta_k
        d_numerator, d_denom, pending = beta3 * first["d_numerator"], 0.0, []
        with no_grad():
            for group_index, group, index, name, p in self._indexed_params():
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = F.prodigy_init(p.data)
                new_state, num, den, inter = F.prodigy_accumulate(
                    p.data, p.grad.data, state, d=d, d0=d0, dlr=dlr, beta1=beta1, beta2=beta2, beta3=beta3,
                    weight_decay=group["weight_decay"], decouple=group["decouple"],
                    safeguard_warmup=group["safeguard_warmup"], maximize=group["maximize"])
                d_numerator += num                                                  # r_k
                d_denom += den                                                      # sum ||s_k||_1
                pending.append((group_index, group, index, name, p, new_state, inter))
            if d_denom == 0:
                return
            d_new, d_max, d_hat = F.prodigy_estimate(d, first["d_max"], d_numerator, d_denom, d0=d0,
                                                     d_coef=first["d_coef"], growth_rate=first["growth_rate"])
            for group in self.param_groups:
                group.update(d=d_new, d_max=d_max, d_numerator=d_numerator, d_hat=d_hat, k=k + 1)
            for group_index, group, index, name, p, new_state, inter in pending:
                theta_new, inter2 = F.prodigy_update(p.data, new_state, d=d_new, dlr=dlr, eps=group["eps"],
                                                     weight_decay=group["weight_decay"], decouple=group["decouple"])
                inter.update(inter2, d=d, d_next=d_new, d_hat=d_hat, dlr=dlr)
                self._commit(p, theta_new, new_state, inter, group_index, index, name)
