r"""``Ranger21`` (Wright & Demeure 2021): AdamW with eight components, as the paper intends.

The step is written out in :mod:`optim.functional.ranger21`, and each
component, with its formula and source, in :mod:`optim.functional.transforms`
(adaptive gradient clipping, gradient centralization, gradient normalization,
positive-negative momentum, the AdamW-style denominator, stable weight decay,
norm loss), :mod:`optim.functional.schedules` (linear warmup and warmdown) and
:mod:`optim.functional.lookahead` (Lookahead). Stable weight decay divides
by :math:`\sqrt{\bar v_t}`, the root mean of :math:`\hat v_t` over every
coordinate of every parameter being stepped, so ``step`` runs in two passes:
the moments of all parameters, then the updates.

Lookahead is built in (slow weights in each parameter's state, synchronised
every ``lookahead_k`` steps), so no wrapper is needed; ``lookahead_k=0``
switches it off, e.g. to wrap the optimizer in a separate Lookahead instead.

The warmdown needs the length of the run::

    opt = optim.Ranger21(model.parameters(), lr=1e-3, num_iterations=epochs * len(batches))
    for epoch in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
"""
from __future__ import annotations

from collections.abc import Iterable

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_betas, check_bool, check_count, check_lr, check_nonnegative, check_range, check_real
from .optimizer import Optimizer
from .types import Params

__all__ = ["Ranger21"]


class Ranger21(Optimizer):
    r"""Ranger21 (Wright & Demeure 2021).

    Args:
        params: parameters or param groups.
        lr: the peak learning rate :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` of the denominator and the norm loss (default 1e-8).
        weight_decay: :math:`\lambda` of the stable weight decay (default 1e-4).
        num_iterations: the run's length :math:`T` in steps, for the warmdown
            (default None: no warmdown).
        num_warmup_iterations: :math:`\tau` (default None:
            :math:`\lceil 2/(1-\beta_2)\rceil`, or 22% of :math:`T` when that
            is more than 45% of it).
        warmdown_start: the fraction :math:`p` of :math:`T` after which the
            rate decays linearly (default 0.72).
        warmdown_min_lr: :math:`\eta_{min}` reached at step :math:`T`
            (default 3e-5).
        beta0: positive-negative momentum's :math:`\beta_0` (default 1.0).
        agc_clipping: adaptive gradient clipping's :math:`\lambda` (default
            1e-2; 0 or None switches it off). agc_eps: its :math:`\epsilon`
            (default 1e-3).
        centralize: gradient centralization (default True).
        normalize: gradient normalization (default True). normalize_eps: its
            :math:`\epsilon` (default 1e-8).
        normloss_factor: :math:`\lambda_n` of the norm loss (default 1e-4;
            0 switches it off).
        lookahead_k: Lookahead's :math:`k` (default 5; 0 switches it off).
        lookahead_alpha: Lookahead's :math:`\alpha` (default 0.5).
        amsgrad: use :math:`v^{max}` in the denominator, as AdaPNM does
            (default False).
        trace: record ``t``, ``g``, ``m``, ``m_neg``, ``m_bar``, ``v``,
            ``v_hat``, ``lr_t``, ``v_bar``, ``denom``, ``update``, ``synced``.

    State per parameter: ``step``, ``exp_avg`` and ``neg_exp_avg`` (the two
    PNM buffers), ``exp_avg_sq``, ``max_exp_avg_sq`` (AMSGrad) and
    ``slow_param`` (Lookahead's :math:`\phi`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-4, *, num_iterations: int | None = None,
                 num_warmup_iterations: int | None = None, warmdown_start: float = 0.72,
                 warmdown_min_lr: float = 3e-5, beta0: float = 1.0, agc_clipping: float = 1e-2,
                 agc_eps: float = 1e-3, centralize: bool = True, normalize: bool = True,
                 normalize_eps: float = 1e-8, normloss_factor: float = 1e-4, lookahead_k: int = 5,
                 lookahead_alpha: float = 0.5, amsgrad: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        check_count(num_iterations, "num_iterations", allow_none=True, minimum=1)
        check_count(num_warmup_iterations, "num_warmup_iterations", allow_none=True,
                     minimum=0)
        check_range(warmdown_start, "warmdown_start", 0.0, 1.0)
        check_nonnegative(warmdown_min_lr, "warmdown_min_lr")
        check_nonnegative(beta0, "beta0")
        check_real(agc_clipping, "agc_clipping", allow_none=True)
        if agc_clipping is not None:
            check_nonnegative(agc_clipping, "agc_clipping")
        check_range(agc_eps, "agc_eps", 0.0, float("inf"), include_low=False)
        check_nonnegative(normalize_eps, "normalize_eps")
        check_nonnegative(normloss_factor, "normloss_factor")
        check_count(lookahead_k, "lookahead_k", allow_none=False, minimum=0)
        check_range(lookahead_alpha, "lookahead_alpha", 0.0, 1.0)
        check_bool(centralize, "centralize")
        check_bool(normalize, "normalize")
        check_bool(amsgrad, "amsgrad")
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "num_iterations": num_iterations, "num_warmup_iterations": num_warmup_iterations,
            "warmdown_start": warmdown_start, "warmdown_min_lr": warmdown_min_lr,
            "beta0": beta0, "agc_clipping": agc_clipping, "agc_eps": agc_eps,
            "centralize": centralize, "normalize": normalize, "normalize_eps": normalize_eps,
            "normloss_factor": normloss_factor, "lookahead_k": lookahead_k,
            "lookahead_alpha": lookahead_alpha, "amsgrad": amsgrad,
        }
        super().__init__(params, defaults, trace=trace)

    def warmup_steps(self, group_index=0) -> int:
        r"""The warmup length :math:`\tau` of a param group."""
        group = self.param_groups[group_index]
        return F.ranger21_warmup_steps(group["betas"][1], group["num_iterations"],
                                       group["num_warmup_iterations"])

    def _apply_update(self) -> None:
        self._step_count += 1
        with no_grad():
            pending, total, count = [], 0.0, 0
            for group_index, group, index, name, p in self._indexed_params():
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = F.ranger21_init(
                        p.data, amsgrad=group["amsgrad"], lookahead=bool(group["lookahead_k"]))
                beta1, beta2 = group["betas"]
                moments, inter = F.ranger21_moments(
                    p.data, p.grad.data, state, beta1=beta1, beta2=beta2, beta0=group["beta0"],
                    agc_clipping=group["agc_clipping"], agc_eps=group["agc_eps"],
                    centralize=group["centralize"], normalize=group["normalize"],
                    normalize_eps=group["normalize_eps"], amsgrad=group["amsgrad"])
                total += float(moments["v_hat"].sum())
                count += moments["v_hat"].size
                pending.append((group_index, group, index, name, p, state, moments, inter))
            if not pending:
                return
            v_bar = total / max(count, 1)                        # mean(v_hat) over the model
            for group_index, group, index, name, p, state, moments, inter in pending:
                theta_new, new_state, inter2 = F.ranger21_update(
                    p.data, state, moments, v_bar=v_bar, lr=group["lr"],
                    beta1=group["betas"][0], eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    normloss_factor=group["normloss_factor"],
                    warmup=self.warmup_steps(group_index),
                    num_iterations=group["num_iterations"],
                    warmdown_start=group["warmdown_start"],
                    warmdown_min_lr=group["warmdown_min_lr"],
                    lookahead_k=group["lookahead_k"], lookahead_alpha=group["lookahead_alpha"])
                inter.update(inter2)
                self._commit(p, theta_new, new_state, inter, group_index, index,
                             name)
