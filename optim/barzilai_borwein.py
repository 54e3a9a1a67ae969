r"""Barzilai-Borwein step sizes: ``BarzilaiBorwein`` (full batch), ``SGDBB`` and ``SVRGBB``.

The formulas, their sources and the safeguard are in
:mod:`optim.functional.barzilai_borwein`. The step size is one number for a
whole vector :math:`x`: here, for each param group, the concatenation of its
parameters (inner products such as :math:`s^\top y` sum over all of them).
With a single group (the usual case) that is the paper's method; with several
groups each group gets its own step. The per-group numbers (the step count,
the current step size, SGD-BB's smoothing constant) are optimizer-level state,
saved in ``state_dict()["optimizer_state"]`` (see :mod:`optim.svrg`).

``BarzilaiBorwein`` is a full-batch method: each ``step()`` must see the
gradient of the same deterministic objective (e.g. a closure over the whole
training set)::

    opt = optim.BarzilaiBorwein(model.parameters(), lr=1e-3, variant="long")
    for k in range(100):
        def closure():
            opt.zero_grad()
            loss = loss_fn(model(X), Y)
            loss.backward()
            return loss
        opt.step(closure)          # x_{k+1} = x_k - alpha_k g_k

``SGDBB`` is used like SGD, one ``step()`` per minibatch; every
``inner_steps`` steps (its epoch, :math:`m`) it recomputes the step size.
``SVRGBB`` is used like :class:`optim.SVRG` (``take_snapshot`` at each epoch,
``step(closure)`` for each minibatch); each ``take_snapshot`` after the first
recomputes the step size from the last two snapshots and full gradients.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import functional as F
from .checks import check_bool, check_choice, check_count, check_lr, check_nonnegative, check_real
from .functional.barzilai_borwein import BB_FALLBACKS, BB_VARIANTS, dot
from .optimizer import Optimizer, OptimizerStateMixin
from .svrg import SVRG
from .types import Params

__all__ = ["BarzilaiBorwein", "SGDBB", "SVRGBB"]


def _check_bounds(lo, hi, lo_name, hi_name):
    check_real(lo, lo_name)
    check_real(hi, hi_name)
    if not 0.0 < lo:
        raise ValueError(f"Invalid {lo_name} value: {lo}")
    if not lo <= hi:
        raise ValueError(f"Invalid {hi_name} value: {hi} (must be >= {lo_name} = {lo})")


def _with_grad(group, first_index):
    names = group.get("param_names")
    return [(first_index + k, None if names is None else names[k], p)
            for k, p in enumerate(group["params"]) if p.grad is not None]


class BarzilaiBorwein(OptimizerStateMixin, Optimizer):
    r"""Gradient descent with Barzilai-Borwein steps (full batch).

    Args:
        params: parameters or param groups.
        lr: the first step :math:`\alpha_0` (default 1e-3).
        variant: ``"long"`` (BB1, :math:`s^\top s / s^\top y`, default) or
            ``"short"`` (BB2, :math:`s^\top y / y^\top y`).
        alpha_min, alpha_max: the step is clipped to this interval
            (defaults 1e-10, 1e10).
        curvature_eps: the step is computed only when
            :math:`s^\top y > \epsilon\|s\|\|y\|` (default 1e-10).
        fallback: the step when that test fails: ``"previous"`` (default,
            :math:`\alpha_{k-1}`) or ``"max"`` (:math:`\alpha_{max}`).
        trace: record ``k``, ``alpha``, ``s``, ``y``, ``s_dot_s``,
            ``s_dot_y``, ``y_dot_y``, ``alpha_bb``, ``fallback`` per step
            and parameter (``s`` and ``y`` are that parameter's blocks; the
            scalars are the group's).

    State per parameter: ``prev_param`` (:math:`x_{k-1}`), ``prev_grad``
    (:math:`g_{k-1}`); per group (optimizer state): ``step`` and ``alpha``.
    Every parameter of a group that has a gradient at one step must have one
    at every step (the vector :math:`x` must not change).
    """

    def __init__(self, params: Params, lr: float = 1e-3, variant: str = "long", *, alpha_min: float = 1e-10,
                 alpha_max: float = 1e10, curvature_eps: float = 1e-10, fallback: str = "previous",
                 trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_choice(variant, "variant", BB_VARIANTS)
        check_choice(fallback, "fallback", BB_FALLBACKS)
        _check_bounds(alpha_min, alpha_max, "alpha_min", "alpha_max")
        check_nonnegative(curvature_eps, "curvature_eps")
        defaults = {"lr": lr, "variant": variant, "alpha_min": alpha_min,
                    "alpha_max": alpha_max, "curvature_eps": curvature_eps,
                    "fallback": fallback}
        super().__init__(params, defaults, trace=trace)
        self.optimizer_state = {"groups": []}

    def _step_group(self, group_index, group, first_index):
        entries = _with_grad(group, first_index)
        if not entries:
            return
        gs = self._group_state(group_index)
        k = gs.get("step", 0)
        if k > 0 and any("prev_param" not in self.state.get(p, {}) for *_, p in entries):
            raise RuntimeError(
                "BarzilaiBorwein: a parameter has a gradient now but had none at the previous "
                "step; s = x_k - x_{k-1} needs the same parameters at every step")
        state = {"step": k, "alpha": gs.get("alpha"),
                 "prev_param": [self.state[p]["prev_param"] for *_, p in entries] if k else None,
                 "prev_grad": [self.state[p]["prev_grad"] for *_, p in entries] if k else None}
        theta_new, new_state, inter = F.barzilai_borwein(
            [p.data for *_, p in entries], [p.grad.data for *_, p in entries], state,
            lr=group["lr"], variant=group["variant"], alpha_min=group["alpha_min"],
            alpha_max=group["alpha_max"], curvature_eps=group["curvature_eps"],
            fallback=group["fallback"])
        gs["step"], gs["alpha"] = new_state["step"], new_state["alpha"]
        for j, (index, name, p) in enumerate(entries):
            per_param = {key: (value[j] if key in ("s", "y") else value)
                         for key, value in inter.items()}
            self._commit(p, theta_new[j], {"prev_param": new_state["prev_param"][j],
                                           "prev_grad": new_state["prev_grad"][j]},
                         per_param, group_index, index, name)


class SGDBB(OptimizerStateMixin, Optimizer):
    r"""SGD with Barzilai-Borwein step sizes, SGD-BB (Tan, Ma, Dai & Qian 2016, Algorithm 2).

    Args:
        params: parameters or param groups.
        lr: :math:`\eta_0 = \eta_1`, the step of the first two epochs
            (default 1e-3).
        inner_steps: the epoch length :math:`m` (steps between two step-size
            updates); required.
        beta: ``None`` (default) to average the epoch's stochastic gradients
            with equal weights, or :math:`\beta \in (0, 1]` for the paper's
            weighted average (they use :math:`10/m`).
        smoothing: apply the smoothing :math:`c_k`, :math:`\eta_k = c_k/k`
            (default True).
        eta_min, eta_max, curvature_eps: the safeguard (see the functional
            module; the fallback is the previous step).
        trace: record ``g``, ``g_hat``, ``eta``, ``k`` (epoch), ``t`` (inner
            index) each step, plus ``s_dot_s``, ``s_dot_y``, ``y_dot_y``,
            ``eta_bb``, ``eta_bb_used``, ``phi``, ``c``, ``fallback`` on the
            first step of an epoch that recomputed the step.

    State per parameter: ``g_hat`` (this epoch's average), ``g_hat_prev``
    (:math:`\hat g_{k}` of the last finished epoch), ``x_tilde_prev``
    (:math:`\tilde x_{k}`); per group: ``k``, ``t``, ``eta``, ``c``.
    """

    def __init__(self, params: Params, lr: float = 1e-3, *, inner_steps: int, beta: float | None = None,
                 smoothing: bool = True, eta_min: float = 1e-10, eta_max: float = 1e10,
                 curvature_eps: float = 1e-10, trace: bool | Iterable[str] = False) -> None:
        lr = check_lr(lr)
        check_count(inner_steps, "inner_steps")
        check_real(beta, "beta", allow_none=True)
        check_bool(smoothing, "smoothing")
        if beta is not None and not 0.0 < beta <= 1.0:
            raise ValueError(f"Invalid beta value: {beta} (expected None or 0 < beta <= 1)")
        _check_bounds(eta_min, eta_max, "eta_min", "eta_max")
        check_nonnegative(curvature_eps, "curvature_eps")
        defaults = {"lr": lr, "inner_steps": inner_steps, "beta": beta,
                    "smoothing": bool(smoothing), "eta_min": eta_min, "eta_max": eta_max,
                    "curvature_eps": curvature_eps}
        super().__init__(params, defaults, trace=trace)
        self.optimizer_state = {"groups": []}

    def _step_group(self, group_index, group, first_index):
        entries = _with_grad(group, first_index)
        if not entries:
            return
        gs = self._group_state(group_index)
        if not gs:
            gs.update(k=0, t=0, eta=float(group["lr"]), c=1.0)
        for *_, p in entries:
            if not self.state.get(p):
                self.state[p] = F.sgd_bb_init(p.data)
        boundary = {}
        if gs["t"] == 0 and gs["k"] >= 1:               # start of epoch k: x_tilde_k = x
            if gs["k"] >= 2:
                s = [p.data - self.state[p]["x_tilde_prev"] for *_, p in entries]
                y = [self.state[p]["g_hat"] - self.state[p]["g_hat_prev"] for *_, p in entries]
                s_dot_s, s_dot_y, y_dot_y = dot(s, s), dot(s, y), dot(y, y)
                eta, c, info = F.sgd_bb_step_size(
                    s_dot_s, s_dot_y, y_dot_y, m=group["inner_steps"], k=gs["k"],
                    c_prev=gs["c"], eta_prev=gs["eta"], smoothing=group["smoothing"],
                    eta_min=group["eta_min"], eta_max=group["eta_max"],
                    curvature_eps=group["curvature_eps"])
                gs["eta"], gs["c"] = eta, c
                boundary = dict(info, s_dot_s=s_dot_s, s_dot_y=s_dot_y, y_dot_y=y_dot_y, c=c)
            else:
                gs["eta"] = float(group["lr"])
            for *_, p in entries:
                st = self.state[p]
                st["x_tilde_prev"] = p.data.copy()
                st["g_hat_prev"] = st["g_hat"]
                st.update(F.sgd_bb_init(p.data))         # the new epoch's average starts at 0
        eta = gs["eta"] if gs["k"] >= 2 else float(group["lr"])
        for index, name, p in entries:
            theta_new, new_state, inter = F.sgd_bb(p.data, p.grad.data, self.state[p],
                                                   eta=eta, t=gs["t"], beta=group["beta"])
            inter.update(k=gs["k"], t=gs["t"], **boundary)
            self._commit(p, theta_new, new_state, inter, group_index, index, name)
        gs["t"] += 1
        if gs["t"] == group["inner_steps"]:
            gs["t"], gs["k"] = 0, gs["k"] + 1


class SVRGBB(SVRG):
    r"""SVRG with Barzilai-Borwein step sizes, SVRG-BB (Tan, Ma, Dai & Qian 2016, Algorithm 1).

    :class:`optim.SVRG` (option I by default) whose step size is recomputed at
    every ``take_snapshot`` after the first:
    :math:`\eta_k = \|\tilde x_k - \tilde x_{k-1}\|^2 / (m\,(\tilde x_k -
    \tilde x_{k-1})^\top(\tilde g_k - \tilde g_{k-1}))`.

    Args:
        params: parameters or param groups.
        lr: :math:`\eta_0`, the step of the first epoch (default 1e-3).
        weight_decay: L2 penalty (default 0).
        inner_steps: :math:`m`; ``None`` (default) uses the number of steps
            actually taken in the epoch that just ended.
        eta_min, eta_max, curvature_eps: the safeguard (the fallback is the
            previous step).
        option, seed: as in :class:`optim.SVRG`.
        trace: as in :class:`optim.SVRG`, with ``eta`` the step used.

    Per group (optimizer state): ``eta`` (the current step), and after each
    recomputation ``eta_bb``, ``fallback``, ``s_dot_s``, ``s_dot_y``, ``m``.
    """

    def __init__(self, params: Params, lr: float = 1e-3, weight_decay: float = 0, *,
                 inner_steps: int | None = None, eta_min: float = 1e-10, eta_max: float = 1e10,
                 curvature_eps: float = 1e-10, option: str = "I", seed: int | None = None,
                 trace: bool | Iterable[str] = False) -> None:
        check_count(inner_steps, "inner_steps", allow_none=True)
        _check_bounds(eta_min, eta_max, "eta_min", "eta_max")
        check_nonnegative(curvature_eps, "curvature_eps")
        super().__init__(params, lr=lr, weight_decay=weight_decay, option=option,
                         inner_steps=inner_steps, seed=seed, trace=trace)
        for group in self.param_groups:
            group.setdefault("eta_min", eta_min)
            group.setdefault("eta_max", eta_max)
            group.setdefault("curvature_eps", curvature_eps)
        self.defaults.update(eta_min=eta_min, eta_max=eta_max, curvature_eps=curvature_eps)
        self.optimizer_state["groups"] = []
        self._previous = None

    def _before_snapshot(self):
        # x_tilde_{k-1} and g_tilde_{k-1}, before the new snapshot replaces them
        self._previous = {id(p): (st["snapshot"], st["full_grad"])
                          for p, st in self.state.items() if "snapshot" in st}
        self._m = self.inner_steps or self.optimizer_state["inner_step"]

    def _after_snapshot(self):
        previous, self._previous = self._previous, None
        if self.optimizer_state["epoch"] == 0:              # the first snapshot: eta_0 = lr
            return
        for group_index, group in enumerate(self.param_groups):
            pairs = [(self.state[p], previous[id(p)]) for p in group["params"]
                     if id(p) in previous and "snapshot" in self.state.get(p, {})]
            if not pairs:
                continue
            s = [st["snapshot"] - old[0] for st, old in pairs]       # x_tilde_k - x_tilde_{k-1}
            y = [st["full_grad"] - old[1] for st, old in pairs]      # g_tilde_k - g_tilde_{k-1}
            s_dot_s, s_dot_y, y_dot_y = dot(s, s), dot(s, y), dot(y, y)
            gs = self._group_state(group_index)
            eta, info = F.svrg_bb_step_size(
                s_dot_s, s_dot_y, y_dot_y, m=self._m, eta_prev=self._lr(group_index, group),
                eta_min=group["eta_min"], eta_max=group["eta_max"],
                curvature_eps=group["curvature_eps"])
            gs.update(eta=eta, s_dot_s=s_dot_s, s_dot_y=s_dot_y, m=self._m, **info)

    def _lr(self, group_index, group):
        return self._group_state(group_index).get("eta", group["lr"])
