r"""``Sophia`` (Liu et al. 2023): clipped steps preconditioned by a Hessian-diagonal estimate.

The formula, the two estimators and the naming (``rho`` is the paper's
:math:`\gamma`) are in :mod:`optim.functional.sophia`. The step uses the
gradient in ``.grad`` like any optimizer; the Hessian estimate is refreshed by
:meth:`Sophia.update_hessian`, which the training loop calls every
``update_period`` (:math:`k`) steps, before the step, at the current
parameters (:attr:`Sophia.hessian_due` says when, following the paper's
:math:`t \bmod k = 1`).

With Hutchinson's estimator (``estimator="hutchinson"``) pass the loss, before
calling ``backward`` on it: the estimator differentiates it twice
(Hessian-vector product) and keeps its graph::

    opt = optim.Sophia(model.parameters(), lr=1e-4, estimator="hutchinson")
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if opt.hessian_due:                  # t = 1, k + 1, 2k + 1, ...
            opt.update_hessian(loss)         # u ~ N(0, I), h_hat = u * (H u)
        loss.backward()
        opt.step()

With the Gauss-Newton-Bartlett estimator (``estimator="gnb"``) pass the logits
of the minibatch (shape ``(..., classes)``): labels are sampled from the
model's softmax, and :math:`\hat h = B\,\hat g\odot\hat g` with :math:`B` the
number of rows::

    logits = model(x)
    loss = F.cross_entropy(logits, y)
    if opt.hessian_due:
        opt.update_hessian(logits=logits)    # y_hat ~ softmax(logits)
    loss.backward()
    opt.step()

``update_hessian(h_hat=[...])`` takes an estimate computed elsewhere (one array
per parameter, in ``state_dict`` order, None to skip one), and
:meth:`Sophia.estimate_hessian` returns an estimate without using it.
Random draws come from the optimizer's own generator (``seed``), saved with
``state_dict`` so that a resumed run draws the same probes.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad import backend
from minigrad.autograd import grad as autograd_grad
from minigrad.functional import cross_entropy
from minigrad.grad_mode import enable_grad, no_grad
from minigrad.ops import reshape
from minigrad.tensor import Tensor

from . import functional as F
from .checks import check_betas, check_bool, check_choice, check_count, check_int, check_lr, check_nonnegative
from .functional.sophia import SOPHIA_ESTIMATORS
from .optimizer import Optimizer, OptimizerStateMixin
from .types import Closure, Params

__all__ = ["Sophia"]


class Sophia(OptimizerStateMixin, Optimizer):
    r"""Sophia (Liu, Li, Hall, Liang & Ma 2023), Algorithm 3.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta` (default 1e-4).
        betas: :math:`(\beta_1, \beta_2)` (default (0.965, 0.99)).
        rho: the scale of :math:`h` in :math:`\max(\rho h, \epsilon)`
            (default 0.04; :math:`\gamma` in the paper).
        weight_decay: decoupled weight decay :math:`\lambda` (default 0.1).
        eps: :math:`\epsilon` (default 1e-15).
        estimator: ``"hutchinson"`` (default) or ``"gnb"``.
        update_period: :math:`k`, steps between Hessian updates (default 10).
        seed: seed of the generator for the probes and sampled labels.
        maximize: maximize the objective instead (default False).
        trace: record ``t``, ``g``, ``m``, ``h``, ``denom``, ``ratio``,
            ``clipped_fraction`` per step and parameter.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``hessian``
    (:math:`h`). Optimizer state: ``step`` (steps taken) and
    ``hessian_updates``.
    """

    def __init__(self, params: Params, lr: float = 1e-4, betas: tuple[float, float] = (0.965, 0.99),
                 rho: float = 0.04, weight_decay: float = 1e-1, *, eps: float = 1e-15,
                 estimator: str = "hutchinson", update_period: int = 10, seed: int | None = None,
                 maximize: bool = False, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        betas = check_betas(betas)
        check_nonnegative(rho, "rho")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(eps, "epsilon", arg="eps")
        check_choice(estimator, "estimator", SOPHIA_ESTIMATORS)
        check_count(update_period, "update_period")
        check_int(seed, "seed", allow_none=True)
        check_bool(maximize, "maximize")
        defaults = {"lr": lr, "betas": betas, "rho": rho, "weight_decay": weight_decay,
                    "eps": eps, "maximize": maximize}
        super().__init__(params, defaults, trace=trace)
        self.estimator = estimator
        self.update_period = update_period
        self._rng = np.random.default_rng(seed)
        self.optimizer_state = {"step": 0, "hessian_updates": 0}

    # ------------------------------------------------------------ the step
    def _init_state(self, theta, group):
        return F.sophia_init(theta)

    def _update(self, theta, grad, state, group):
        beta1, _ = group["betas"]
        return F.sophia(theta, grad, state, lr=group["lr"], beta1=beta1, rho=group["rho"],
                        weight_decay=group["weight_decay"], eps=group["eps"],
                        maximize=group["maximize"])

    def step(self, closure: Closure | None = None) -> Any:
        """One step with the current Hessian estimate; returns the closure's loss."""
        loss = super().step(closure)
        self.optimizer_state["step"] += 1
        return loss

    @property
    def hessian_due(self) -> bool:
        r"""True when the next step is one where the paper refreshes :math:`h` (:math:`t \bmod k = 1`)."""
        return self.optimizer_state["step"] % self.update_period == 0

    # ------------------------------------------------------------ the Hessian
    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _normal_like(self, p):
        u = self._rng.standard_normal(tuple(p.shape)).astype(p.dtype, copy=False)
        return backend.to_device(u, p.device)

    def estimate_hessian(self, loss=None, *, logits=None, batch_size=None):
        r"""One estimate :math:`\hat h` of the Hessian diagonal, without using it.

        Args:
            loss: the scalar loss with its graph (Hutchinson).
            logits: the minibatch logits with their graph, classes last (GNB).
            batch_size: GNB's :math:`B` (default: the number of logit rows).

        Returns:
            A list with one backend array per parameter (``state_dict``
            order), None for a parameter the loss does not depend on. The
            graph is kept, so ``loss.backward()`` still works afterwards.
        """
        params = self._params()
        with enable_grad():
            if self.estimator == "hutchinson":
                if loss is None:
                    raise ValueError("the Hutchinson estimator needs the loss (with its graph): "
                                     "update_hessian(loss)")
                return self._hutchinson(loss, params)
            if logits is None:
                raise ValueError("the GNB estimator needs the logits (with their graph): "
                                 "update_hessian(logits=logits)")
            return self._gnb(logits, params, batch_size)

    def _hutchinson(self, loss, params):
        grads = autograd_grad(loss, params, create_graph=True, allow_unused=True,
                              retain_graph=True)
        used = [i for i, g in enumerate(grads) if g is not None]
        u = {i: self._normal_like(params[i]) for i in used}               # u ~ N(0, I)
        outputs = [i for i in used if grads[i].requires_grad]
        hu = [None] * len(params)
        if outputs:
            hvs = autograd_grad([grads[i] for i in outputs], [params[i] for i in used],
                                grad_outputs=[Tensor._make(u[i]) for i in outputs],
                                retain_graph=True, allow_unused=True)   # H u
            for i, hv in zip(used, hvs):
                hu[i] = hv
        out = [None] * len(params)
        for i in used:
            xp = backend.get_array_module(u[i])
            hv = xp.zeros_like(u[i]) if hu[i] is None else hu[i].data
            out[i] = F.hutchinson_estimate(u[i], hv)                        # u * (H u)
        return out

    def _gnb(self, logits, params, batch_size):
        classes = logits.shape[-1]
        z = reshape(logits, (-1, classes))
        rows = z.shape[0]
        zd = backend.to_numpy(z.data).astype(np.float64)
        prob = np.exp(zd - zd.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        draw = self._rng.random(rows)[:, None]
        y_hat = np.minimum((np.cumsum(prob, axis=1) < draw).sum(axis=1), classes - 1)
        y_hat = backend.to_device(y_hat.astype(np.int64), logits.device)   # y_hat ~ softmax
        loss_hat = cross_entropy(z, Tensor(y_hat))
        grads = autograd_grad(loss_hat, params, retain_graph=True, allow_unused=True)
        b = rows if batch_size is None else batch_size
        return [None if g is None else F.gnb_estimate(g.data, b) for g in grads]  # B g*g

    def update_hessian(self, loss=None, *, logits=None, h_hat=None, batch_size=None):
        r""":math:`h \leftarrow \beta_2 h + (1-\beta_2)\hat h` for every parameter.

        Give ``loss`` (Hutchinson), ``logits`` (GNB) or a ready estimate
        ``h_hat`` (a list aligned with the parameters). Returns the estimate
        used.
        """
        if h_hat is None:
            h_hat = self.estimate_hessian(loss, logits=logits, batch_size=batch_size)
        params = self._params()
        if len(h_hat) != len(params):
            raise ValueError(f"h_hat has {len(h_hat)} entries for {len(params)} parameters")
        with no_grad():
            index = {id(p): i for i, p in enumerate(params)}
            for group in self.param_groups:
                _, beta2 = group["betas"]
                for p in group["params"]:
                    estimate = h_hat[index[id(p)]]
                    if estimate is None:
                        continue
                    if isinstance(estimate, Tensor):
                        estimate = estimate.data
                    state = self.state.get(p)
                    if not state:
                        state = self.state[p] = F.sophia_init(p.data)
                    new_state, _ = F.sophia_hessian_update(state, estimate, beta2=beta2)
                    state.update(new_state)
        self.optimizer_state["hessian_updates"] += 1
        return h_hat
