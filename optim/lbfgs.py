r"""``LBFGS``: limited-memory BFGS with an optional strong Wolfe line search.

The formulas (the two-loop recursion, the history update, the line search)
are in :mod:`optim.functional.lbfgs`; this class runs the L-BFGS iteration
(Nocedal & Wright 2006, Algorithm 7.5) over all parameters flattened into one
vector, with PyTorch 2.13's API, defaults, stopping rules and state, so that
its iterates equal ``torch.optim.LBFGS``'s.

Usage
-----
L-BFGS evaluates the loss many times per ``step``, so ``step`` needs a
closure that recomputes the loss and the gradients::

    opt = optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    for _ in range(n_steps):
        opt.step(closure)

One ``step(closure)`` runs up to ``max_iter`` L-BFGS iterations
:math:`x_{k+1} = x_k + t_k d_k` (and at most ``max_eval`` closure calls):

.. math::

    d_k &= \begin{cases} -g_k & \text{the very first iteration} \\
                         -H_k g_k & \text{(two-loop recursion) afterwards} \end{cases} \\
    t_k &= \begin{cases} \min(1, 1/\lVert g_0\rVert_1)\,\gamma & \text{the very first iteration} \\
                         \gamma & \text{afterwards} \end{cases}
         \quad\text{(refined by the line search, if any)}

with :math:`\gamma` = ``lr``. Without a line search the step is taken as is
(so ``lr`` must be small enough for the problem); with
``line_search_fn="strong_wolfe"`` the step length :math:`t_k` starts at that
value and is adjusted until the strong Wolfe conditions hold.

An iteration ends the step when any of these holds (PyTorch's rules, checked
in this order): ``max_iter`` iterations done; ``max_eval`` closure calls done;
:math:`\max_i |g_i| \le` ``tolerance_grad`` (also checked before the first
iteration: then nothing moves); :math:`g^\top d > -` ``tolerance_change`` (not
a descent direction; checked before moving); :math:`\max_i |t d_i| \le`
``tolerance_change``; :math:`|f_{k+1} - f_k| <` ``tolerance_change``. The
memory (:math:`s_i, y_i`) carries over from one ``step`` call to the next.

State
-----
As PyTorch, all state is global and kept under the first parameter
(``opt.state[params[0]]``), with PyTorch's keys: ``func_evals`` and ``n_iter``
(totals over all steps), ``d`` (last direction), ``t`` (last step length),
``old_dirs`` (the :math:`y_i`), ``old_stps`` (the :math:`s_i`), ``ro`` (the
:math:`\rho_i`), ``H_diag`` (:math:`\gamma_k`), ``prev_flat_grad``,
``prev_loss`` and ``al`` (``history_size`` slots; PyTorch's two-loop runs on
:math:`-g`, so ``al[i]`` is :math:`-\alpha_i`, and slots past the current
memory keep stale values, as in PyTorch).

Tracing records one entry per iteration (``param`` 0, ``theta`` = all
parameters flattened): ``iteration`` (the global count ``n_iter``), ``loss``
(at the start of the iteration), ``g``, ``d``, ``t``, ``gtd``, ``H_diag``,
``alpha`` (the two-loop's :math:`\alpha_i`), ``ys`` and ``accepted`` (the
history update), ``ls_evals`` and, with the line search, ``ls_trials`` and
``wolfe``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad import backend
from minigrad.grad_mode import enable_grad, no_grad

from . import functional as F
from .checks import check_int, check_lr, check_real, check_str
from .optimizer import Optimizer
from .types import Closure, Params

__all__ = ["LBFGS"]

LINE_SEARCHES = (None, "strong_wolfe")


class LBFGS(Optimizer):
    r"""L-BFGS (Liu & Nocedal 1989; Nocedal & Wright Algorithm 7.5), PyTorch's API.

    Args:
        params: parameters (one group only: L-BFGS works on all of them as one vector).
        lr: :math:`\gamma`, the initial step length of each iteration (default 1).
        max_iter: most iterations per ``step`` (default 20).
        max_eval: most closure calls per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when :math:`\max_i |g_i|` is at most this (default 1e-7).
        tolerance_change: stop when the step or the change of the loss is
            below this (default 1e-9).
        history_size: :math:`m`, the number of :math:`(s, y)` pairs kept (default 100).
        line_search_fn: ``None`` (fixed step) or ``"strong_wolfe"``.
        trace: record the iterations (see the module docstring).
    """

    def __init__(self, params: Params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None, *, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_int(max_iter, "max_iter")
        check_int(max_eval, "max_eval", allow_none=True)
        check_real(tolerance_grad, "tolerance_grad")
        check_real(tolerance_change, "tolerance_change")
        check_int(history_size, "history_size")
        check_str(line_search_fn, "line_search_fn", allow_none=True)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in LINE_SEARCHES:
            raise ValueError(f"Invalid line_search_fn: {line_search_fn!r} "
                             "(only None and 'strong_wolfe' are supported)")
        if history_size < 1:
            raise ValueError(f"Invalid history_size value: {history_size}")
        defaults = {
            "lr": lr, "max_iter": max_iter, "max_eval": max_eval,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
            "history_size": history_size, "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults, trace=trace)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    # ------------------------------------------------------------ flat views
    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(p.numel() for p in self._params)
        return self._numel_cache

    def _xp(self):
        return backend.get_array_module(self._params[0].data)

    def _gather_flat_grad(self):
        """All gradients as one vector (zeros for a parameter without one)."""
        xp = self._xp()
        views = [xp.zeros(p.numel(), dtype=p.dtype) if p.grad is None
                 else p.grad.data.reshape(-1) for p in self._params]
        return xp.concatenate(views)

    def _gather_flat_params(self):
        return self._xp().concatenate([p.data.reshape(-1) for p in self._params])

    def _add_grad(self, step_size, update) -> None:
        """x <- x + step_size * update, written into the parameters in place."""
        offset = 0
        for p in self._params:
            n = p.numel()
            p.data[...] = p.data + step_size * update[offset:offset + n].reshape(p.shape)
            offset += n
        assert offset == self._numel()

    def _clone_param(self):
        return [p.data.copy() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, data in zip(self._params, params_data):
            p.data[...] = data

    def _directional_evaluate(self, closure, x, t, d):
        """f and grad f at x + t d; the parameters are put back at x afterwards."""
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------ the step
    def step(self, closure: Closure) -> Any:
        """Run up to ``max_iter`` L-BFGS iterations; return the closure's first loss.

        ``closure`` is required: a function that zeroes the gradients,
        recomputes the loss, calls ``backward`` and returns the loss.
        """
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that recomputes the loss and "
                               "its gradients (zero_grad, forward, backward) and returns "
                               "the loss")
        self._step_count += 1
        with no_grad():
            return self._run(closure)

    def _run(self, closure):
        group = self.param_groups[0]
        lr = group["lr"]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]
        if line_search_fn not in LINE_SEARCHES:
            raise RuntimeError("only 'strong_wolfe' is supported")
        xp = self._xp()

        # all state is global; it lives under the first parameter (as in PyTorch)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        # f(x_0) and g_0
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss                              # already optimal: do nothing

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            record = {"iteration": state["n_iter"], "loss": loss, "g": flat_grad}

            # ---- direction d_k
            if state["n_iter"] == 1:
                d = -flat_grad                            # d_0 = -g_0
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad            # y_{k-1} = g_k - g_{k-1}
                s = d * t                                 # s_{k-1} = t_{k-1} d_{k-1}
                old_stps, old_dirs, ro, H_diag, info = F.lbfgs_update_history(
                    s, y, old_stps, old_dirs, ro, H_diag, history_size=history_size)
                d, two_loop = F.lbfgs_two_loop(flat_grad, old_stps, old_dirs, ro, H_diag)
                if "al" not in state:
                    state["al"] = [None] * history_size
                for i, alpha_i in enumerate(two_loop["alpha"]):
                    state["al"][i] = -alpha_i             # PyTorch's sign (its loop runs on -g)
                record.update(info, alpha=two_loop["alpha"])
            record.update(d=d, H_diag=H_diag)

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # ---- step length t_k
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)                        # g_k^T d_k
            record.update(gtd=gtd)
            if gtd > -tolerance_change:
                record.update(t=t)
                self._trace_iteration(record)
                break                                     # not a descent direction

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t_, d_):
                    return self._directional_evaluate(closure, x, t_, d_)

                loss, flat_grad, t, ls_func_evals, ls_info = F.strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)                      # x_{k+1} = x_k + t_k d_k
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                record.update(ls_trials=ls_info["trials"], wolfe=ls_info["wolfe"])
            else:
                self._add_grad(t, d)                      # x_{k+1} = x_k + t_k d_k
                opt_cond = False
                if n_iter != max_iter:
                    # re-evaluate, except after the last iteration (PyTorch: in a
                    # stochastic setting that evaluation would be wasted)
                    with enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            record.update(t=t, ls_evals=ls_func_evals)
            self._trace_iteration(record)

            # ---- stopping rules
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:
                break                                     # the step is tiny
            if abs(loss - prev_loss) < tolerance_change:
                break                                     # the loss no longer changes

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    def _trace_iteration(self, record) -> None:
        if self.tracing:
            name = self.param_groups[0].get("param_names", [None])[0]
            self._record(0, 0, name, self._gather_flat_params(), record)
