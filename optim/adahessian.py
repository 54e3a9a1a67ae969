r"""``AdaHessian`` (Yao et al. 2021): Adam with a Hutchinson estimate of the Hessian diagonal.

The update is :func:`optim.functional.adahessian`; this class computes the
estimate :math:`D = z\odot(Hz)` with a Hessian-vector product through the
gradients' graph, as the reference code does: call
``loss.backward(create_graph=True)`` before ``step()`` (or give ``step`` a
closure that does). ``step(hessian=[...])`` takes a ready estimate instead
(one array per parameter, in ``state_dict`` order).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad import backend
from minigrad.autograd import grad as autograd_grad
from minigrad.grad_mode import enable_grad
from minigrad.tensor import Tensor

from . import functional as F
from .checks import check_betas, check_bool, check_count, check_int, check_lr, check_nonnegative, check_real
from .optimizer import Optimizer, OptimizerStateMixin
from .types import Closure, Params

__all__ = ["AdaHessian"]


class AdaHessian(OptimizerStateMixin, Optimizer):
    r"""AdaHessian (Yao et al. 2021), Algorithm 1.

    .. math::

        v_t = \beta_2 v_{t-1} + (1-\beta_2) D_t^2, \qquad
        \theta_t = \theta_{t-1} - \eta\Big(\frac{\hat m_t}{\hat v_t^{k/2} + \epsilon} + \lambda\theta_{t-1}\Big)

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 0.15, the reference code's).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-4).
        weight_decay: :math:`\lambda`, decoupled (default 0).
        hessian_power: :math:`k` (default 1.0).
        update_period: estimate :math:`D` every this many steps (default 1).
        n_samples: Rademacher probes averaged per estimate (default 1).
        spatial_average: average :math:`|D|` over the last two axes of 4-d kernels (default True, the paper's).
        seed: the seed of the probes (saved with ``state_dict``).
        maximize: maximize the objective instead (default False).
        trace: record the intermediates (``t``, ``g``, ``D``, ``m``, ``v``, ``denom``).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_hessian_diag_sq`` (:math:`v`).
    """

    def __init__(self, params: Params, lr: float = 0.15, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-4,
                 weight_decay: float = 0.0, hessian_power: float = 1.0, update_period: int = 1, n_samples: int = 1,
                 spatial_average: bool = True, seed: int = 0, *, maximize: bool = False,
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(eps, "epsilon", arg="eps")
        check_nonnegative(weight_decay, "weight_decay")
        if not 0.0 < check_real(hessian_power, "hessian_power") <= 1.0:
            raise ValueError(f"Invalid hessian_power value: {hessian_power}")
        check_count(update_period, "update_period")
        check_count(n_samples, "n_samples")
        check_bool(spatial_average, "spatial_average")
        check_int(seed, "seed")
        check_bool(maximize, "maximize")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "hessian_power": hessian_power, "maximize": maximize}, trace=trace)
        self.update_period, self.n_samples, self.spatial_average = update_period, n_samples, spatial_average
        self._rng = np.random.default_rng(seed)
        self.optimizer_state = {"step": 0}
        self._hessian = {}

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def estimate_hessian(self) -> list:
        r"""Hutchinson's :math:`D = \tfrac1n\sum z\odot(Hz)` for every parameter with a gradient (None otherwise).

        Needs the gradients' graph: ``loss.backward(create_graph=True)``.
        """
        params = [p for p in self._params() if p.grad is not None]
        if any(p.grad.creator is None for p in params):
            raise RuntimeError("AdaHessian needs the gradients' graph for its Hessian-vector products: "
                               "call loss.backward(create_graph=True) before step()")
        total = {id(p): 0.0 for p in params}
        with enable_grad():
            for i in range(self.n_samples):
                zs = [backend.to_device((self._rng.integers(0, 2, size=tuple(p.shape)) * 2.0 - 1.0)
                                        .astype(p.dtype), p.device) for p in params]   # Rademacher z
                hzs = autograd_grad([p.grad for p in params], params, grad_outputs=[Tensor._make(z) for z in zs],
                                    retain_graph=i < self.n_samples - 1, allow_unused=True)   # H z
                for p, z, hz in zip(params, zs, hzs):
                    if hz is not None:
                        total[id(p)] = total[id(p)] + z * hz.data / self.n_samples   # z (H z)
        out = []
        for p in self._params():
            D = total.get(id(p))
            if D is not None and not isinstance(D, float) and self.spatial_average:
                D = F.spatial_average(D)
            out.append(None if D is None or isinstance(D, float) else D)
        return out

    def step(self, closure: Closure | None = None, hessian: list | None = None) -> Any:
        """One step; a fresh Hessian estimate every ``update_period`` steps (or the one given)."""
        loss = self._evaluate_closure(closure)
        params = self._params()
        if hessian is None and self.optimizer_state["step"] % self.update_period == 0:
            hessian = self.estimate_hessian()
        if hessian is not None and len(hessian) != len(params):
            raise ValueError(f"hessian has {len(hessian)} entries for {len(params)} parameters")
        self._hessian = {} if hessian is None else {
            id(p): (h.data if isinstance(h, Tensor) else np.asarray(h) if not backend.is_cupy_array(h) else h)
            for p, h in zip(params, hessian) if h is not None}
        self._apply_update()
        self._hessian = {}
        self.optimizer_state["step"] += 1
        return loss

    def _init_state(self, theta, group):
        return F.adahessian_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        hessian = self._current.get("hessian")
        return F.adahessian(theta, grad, state, hessian_diag=hessian, lr=group["lr"], beta1=beta1, beta2=beta2,
                            eps=group["eps"], weight_decay=group["weight_decay"],
                            hessian_power=group["hessian_power"], maximize=group["maximize"])

    def _step_group(self, group_index: int, group: dict, first_index: int) -> None:
        """The base class's loop, handing each parameter its Hessian estimate."""
        names = group.get("param_names")
        for k, p in enumerate(group["params"]):
            if p.grad is None:
                continue
            state = self.state.get(p)
            if not state:
                state = self._init_state(p.data, group)
            self._current = {"hessian": self._hessian.get(id(p))}
            theta_new, new_state, intermediates = self._update(p.data, p.grad.data, state, group)
            self._commit(p, theta_new, new_state, intermediates, group_index, first_index + k,
                         None if names is None else names[k])
