r"""``SVRG``: stochastic variance reduced gradient (Johnson & Zhang 2013).

The formula is :mod:`optim.functional.svrg`. SVRG needs two things a plain
``step()`` cannot give it: the full gradient at a snapshot, once per epoch,
and at every step the gradient of the current minibatch at the snapshot as
well as at the current point. The API:

``opt.take_snapshot(full_closure)``
    Starts an epoch: :math:`\tilde w \leftarrow w` and
    :math:`\tilde\mu \leftarrow \nabla F(\tilde w)`. ``full_closure`` zeroes
    the gradients, computes the loss over the whole training set (the mean,
    with the same normalisation as the minibatch loss; accumulating
    ``backward()`` over batches is fine) and returns it.

``opt.step(closure)``
    One inner step. ``closure`` is the usual minibatch closure (zero_grad,
    forward, backward, return the loss) for a minibatch it holds fixed. The
    optimizer calls it twice: first with the parameters swapped to the
    snapshot :math:`\tilde w` (giving :math:`\nabla f_B(\tilde w)`), then at
    :math:`w` (giving :math:`\nabla f_B(w)`, left in ``.grad``, and the
    returned loss). The closure must therefore compute the same function both
    times: same minibatch, and no fresh randomness (dropout) between the two
    calls.

A training loop::

    opt = optim.SVRG(model.parameters(), lr=0.05)

    def full_closure():                      # grad F(w) = (1/n) sum_i grad f_i(w)
        opt.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        return loss

    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        opt.take_snapshot(full_closure)      # w_tilde <- w, mu_tilde <- grad F(w_tilde)
        for idx in np.array_split(rng.permutation(len(X)), len(X) // 16):
            xb, yb = X[idx], Y[idx]
            def closure():                   # called at w_tilde, then at w
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                return loss
            opt.step(closure)                # w -= lr (grad f_B(w) - grad f_B(w_tilde) + mu_tilde)

(``tests/optim/test_svrg_barzilai_borwein.py`` runs this loop on a linear model.)

Option II (``option="II"``) needs the epoch length ``inner_steps=m``: at each
snapshot the optimizer draws :math:`t \sim \mathcal U\{0,\dots,m-1\}` with its
own generator (``seed``), keeps a copy of :math:`w_t` when the epoch gets there,
and the next ``take_snapshot`` moves the parameters to that iterate (the
paper's :math:`\tilde w_s = w_t`, :math:`w_0 = \tilde w_s`). If an epoch ends
before step :math:`t`, the last iterate is used.

Optimizer-level state
---------------------
Some state belongs to no single parameter: SVRG's epoch and step counters and
its random generator, the Barzilai-Borwein step size of a group, Sophia's
generator. :class:`optim.optimizer.OptimizerStateMixin` (used by
``optim.barzilai_borwein`` and ``optim.sophia``) keeps it in
``self.optimizer_state``, a dict of plain Python values, and adds it to
``state_dict()`` under the key ``"optimizer_state"`` next to PyTorch's
``"state"`` and ``"param_groups"``; ``load_state_dict`` restores it, so a
resumed run continues exactly.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_choice, check_count, check_int, check_lr, check_nonnegative
from .functional.svrg import SVRG_OPTIONS
from .optimizer import Optimizer, OptimizerStateMixin
from .types import Closure, Params

__all__ = ["SVRG"]


class SVRG(OptimizerStateMixin, Optimizer):
    r"""Stochastic variance reduced gradient (Johnson & Zhang 2013).

    Args:
        params: parameters or param groups.
        lr: the constant step size :math:`\eta` (default 1e-3).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        option: ``"I"`` (default; the snapshot is the last iterate, the form
            used in practice and analysed by Tan et al. 2016) or ``"II"``
            (a uniformly random iterate of the epoch, the form of the paper's
            theorem).
        inner_steps: the epoch length :math:`m` (needed by option II only).
        seed: seed of the generator that draws option II's iterate.
        trace: record the formula's intermediates (``g``, ``g_tilde``,
            ``mu_tilde``, ``v``) after each step.

    ``option``, ``inner_steps`` and ``seed`` belong to the optimizer, not to a
    param group. State per parameter: ``snapshot`` (:math:`\tilde w`),
    ``full_grad`` (:math:`\tilde\mu`), and with option II ``random_iterate``.
    Optimizer state: ``epoch`` (snapshots taken), ``inner_step`` (steps since
    the last snapshot), ``chosen_step`` (option II's :math:`t`).
    See the module docstring for the training loop.
    """

    def __init__(self, params: Params, lr: float = 1e-3, weight_decay: float = 0, *, option: str = "I",
                 inner_steps: int | None = None, seed: int | None = None, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_nonnegative(weight_decay, "weight_decay")
        check_choice(option, "option", SVRG_OPTIONS)
        check_count(inner_steps, "inner_steps", allow_none=True)
        check_int(seed, "seed", allow_none=True)
        if option == "II" and inner_steps is None:
            raise ValueError("Invalid inner_steps value: None (option 'II' draws the snapshot "
                             "among the m iterates of an epoch, so it needs inner_steps=m)")
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay}, trace=trace)
        self.option = option
        self.inner_steps = None if inner_steps is None else int(inner_steps)
        self._rng = np.random.default_rng(seed)
        self.optimizer_state = {"epoch": 0, "inner_step": 0, "chosen_step": None}
        self._snapshot_grads = None

    # ------------------------------------------------------------ the outer loop
    def take_snapshot(self, closure):
        r"""Start an epoch: :math:`\tilde w \leftarrow w`, :math:`\tilde\mu \leftarrow \nabla F(\tilde w)`.

        ``closure`` must leave the full-data mean gradient in ``.grad`` (zero
        the gradients, forward over all data, backward) and return the loss,
        which this method returns. With option II the parameters first move to
        the iterate drawn in the epoch that just ended.
        """
        if closure is None:
            raise RuntimeError("take_snapshot needs a closure that computes the full-data "
                               "loss and its gradient (zero_grad, forward, backward)")
        ostate = self.optimizer_state
        reached = (ostate["chosen_step"] is not None
                   and ostate["inner_step"] >= ostate["chosen_step"])
        if self.option == "II" and reached:
            with no_grad():
                for *_, p in self._indexed_params():
                    state = self.state.get(p)
                    if state and "random_iterate" in state:
                        p.data[...] = state["random_iterate"]
        self._before_snapshot()
        loss = self._evaluate_closure(closure)
        with no_grad():
            for *_, p in self._indexed_params():
                if p.grad is None:
                    continue
                self._snapshot_param(p, F.svrg_snapshot(p.data, p.grad.data))
        self._after_snapshot()
        ostate["epoch"] += 1
        ostate["inner_step"] = 0
        ostate["chosen_step"] = None
        if self.option == "II":
            t = int(self._rng.integers(self.inner_steps))       # t ~ U{0, ..., m-1}
            ostate["chosen_step"] = t
            if t == 0:
                self._keep_random_iterate()
        return loss

    def _snapshot_param(self, p, snapshot_state):
        if p in self.state:
            self.state[p].update(snapshot_state)
        else:
            self.state[p] = snapshot_state

    def _before_snapshot(self):
        """Hook for SVRG-BB: runs before the closure of a new snapshot."""

    def _after_snapshot(self):
        """Hook for SVRG-BB: runs once the new snapshot is stored."""

    def _keep_random_iterate(self):
        for *_, p in self._indexed_params():
            state = self.state.get(p)
            if state and "snapshot" in state:
                state["random_iterate"] = p.data.copy()

    # ------------------------------------------------------------ the inner loop
    def step(self, closure: Closure | None = None) -> Any:
        r"""One inner step :math:`w \leftarrow w - \eta(\nabla f_B(w) - \nabla f_B(\tilde w) + \tilde\mu)`.

        ``closure`` computes the loss of one fixed minibatch and its gradients
        and returns the loss; it is called at :math:`\tilde w`, then at
        :math:`w` (whose loss is returned and whose gradient stays in
        ``.grad``).
        """
        if closure is None:
            raise RuntimeError(
                "SVRG.step needs a closure (zero_grad, minibatch forward, backward, return "
                "the loss): it evaluates the same minibatch at the snapshot and at the "
                "current parameters")
        if self.optimizer_state["epoch"] == 0:
            raise RuntimeError("call take_snapshot(full_closure) before the first step")
        current, snapshot_grads = [], {}
        with no_grad():
            for *_, p in self._indexed_params():
                state = self.state.get(p)
                if state and "snapshot" in state:
                    current.append((p, p.data.copy()))
                    p.data[...] = state["snapshot"]
        try:
            self._evaluate_closure(closure)                     # grad f_B(w_tilde)
            for p, _ in current:
                if p.grad is not None:
                    snapshot_grads[id(p)] = p.grad.data.copy()
        finally:
            with no_grad():
                for p, theta in current:
                    p.data[...] = theta
        loss = self._evaluate_closure(closure)                  # grad f_B(w)
        self._snapshot_grads = snapshot_grads
        try:
            self._apply_update()
        finally:
            self._snapshot_grads = None
        ostate = self.optimizer_state
        ostate["inner_step"] += 1
        if self.option == "II" and ostate["inner_step"] == ostate["chosen_step"]:
            self._keep_random_iterate()
        return loss

    def _lr(self, group_index, group):
        """The step size of a group (SVRG-BB replaces it by its BB step)."""
        return group["lr"]

    def _step_group(self, group_index, group, first_index):
        names = group.get("param_names")
        lr = self._lr(group_index, group)
        for k, p in enumerate(group["params"]):
            if p.grad is None:
                continue
            state = self.state.get(p)
            if not state or "snapshot" not in state or id(p) not in self._snapshot_grads:
                raise RuntimeError(
                    f"parameter {first_index + k} has a gradient but no snapshot: it had no "
                    "gradient when take_snapshot ran (or none at the snapshot point)")
            theta_new, new_state, inter = F.svrg(
                p.data, p.grad.data, state, snapshot_grad=self._snapshot_grads[id(p)],
                lr=lr, weight_decay=group["weight_decay"])
            inter["eta"] = lr
            self._commit(p, theta_new, new_state, inter, group_index, first_index + k,
                         None if names is None else names[k])
