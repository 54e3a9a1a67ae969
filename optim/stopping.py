r"""Stopping criteria of the lectures, as small objects that combine with ``|`` and ``&``.

Each criterion is fed what the training loop observes and answers whether to stop::

    from optim.stopping import MaxIterations, TimeBudget, Patience, RelativeGradNorm

    stop = MaxIterations(10_000) | TimeBudget(600) | RelativeGradNorm(1e-6)
    for t in range(1, 10**9):
        loss = train_step()
        if stop.update(step=t, loss=loss, grad_norm=total_grad_norm(params)):
            print(stop.reason)     # e.g. "RelativeGradNorm: ||grad J|| = ... at step 812"
            break

Observations (keyword arguments of :meth:`StoppingCriterion.update`, all optional):

============= =====================================================================
``step``      the iteration count :math:`t`: optimizer steps taken so far, so the
              observation of :math:`\theta_t`. When omitted, the n-th ``update``
              call counts as step n.
``loss``      the training objective :math:`J(\theta_t)` (a number, NumPy scalar or
              one-element Tensor).
``val_loss``  a validation metric (for :class:`Patience`).
``grad_norm`` :math:`\lVert \nabla J(\theta_t) \rVert` (see :func:`total_grad_norm`).
============= =====================================================================

A criterion that needs an observation absent from a call keeps its previous verdict,
so validation can be reported once per epoch and the loss once per step through the
same object. Unknown keywords raise ``TypeError`` (a typo must not silently disable a
criterion).

Verdicts: ``update`` returns the current verdict, also kept in ``stopped``;
``reason`` says which criterion fired, with its numbers and the step (None while not
stopped). :class:`MaxIterations`, :class:`TimeBudget` and :class:`Patience` stay
stopped once they fire; the value criteria (:class:`TargetGap`,
:class:`RelativeLoss`, :class:`RelativeGradNorm`, :class:`NonFinite`) judge the
latest observation. ``a | b`` stops when any member's verdict is true, ``a & b``
when all are true at once; every member sees every observation. ``reset()`` starts
a criterion (and all members of a combination) afresh.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from minigrad.tensor import Tensor

__all__ = [
    "StoppingCriterion",
    "AnyOf",
    "AllOf",
    "MaxIterations",
    "TimeBudget",
    "Patience",
    "TargetGap",
    "RelativeLoss",
    "RelativeGradNorm",
    "NonFinite",
    "total_grad_norm",
]

OBSERVATIONS = ("step", "loss", "val_loss", "grad_norm")


def _value(x) -> float:
    """A float from a number, a NumPy scalar / 0-d array or a one-element Tensor."""
    item = getattr(x, "item", None)
    return float(item()) if callable(item) else float(x)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def total_grad_norm(parameters) -> float:
    r"""Euclidean norm of all gradients together, :math:`\sqrt{\sum_p \lVert g_p\rVert^2}`.

    ``parameters``: an iterable of objects with a ``.grad`` (a Tensor whose ``.data``
    is a NumPy/CuPy array, an array, or None, which counts as zero).
    """
    total = 0.0
    for p in parameters:
        g = getattr(p, "grad", None)
        if g is None:
            continue
        arr = g.data if isinstance(g, Tensor) else g
        total += float((arr * arr).sum())
    return math.sqrt(total)


class StoppingCriterion:
    """Base class: ``update(**observations) -> bool``, ``stopped``, ``reason``, ``reset()``.

    Subclasses implement ``_judge(step, observations)``, returning ``None`` when the
    observations they need are absent (the verdict is kept), else ``(met, reason)``.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything observed: not stopped, no reason, step count 0."""
        self.stopped = False
        self.reason = None
        self.step = None
        self._calls = 0

    def update(self, **observations) -> bool:
        """Feed one round of observations; return True when training should stop."""
        obs = self._prepare(observations)
        verdict = self._judge(self.step, obs)
        if verdict is not None:
            met, reason = verdict
            self.stopped = bool(met)
            self.reason = reason if met else None
        return self.stopped

    __call__ = update

    def _prepare(self, observations: dict) -> dict:
        unknown = sorted(set(observations) - set(OBSERVATIONS))
        if unknown:
            raise TypeError(f"{type(self).__name__}.update() got unknown observation(s) "
                            f"{unknown}; expected keywords among {list(OBSERVATIONS)}")
        self._calls += 1
        step = observations.get("step")
        self.step = self._calls if step is None else int(step)
        return {k: v for k, v in observations.items() if v is not None}

    def _judge(self, step, obs):
        raise NotImplementedError

    def __or__(self, other) -> "AnyOf":
        if not isinstance(other, StoppingCriterion):
            return NotImplemented
        return AnyOf(self, other)

    def __and__(self, other) -> "AllOf":
        if not isinstance(other, StoppingCriterion):
            return NotImplemented
        return AllOf(self, other)


class _Combination(StoppingCriterion):
    _symbol = "?"

    def __init__(self, *criteria) -> None:
        members = []
        for c in criteria:
            if not isinstance(c, StoppingCriterion):
                raise TypeError(f"expected stopping criteria, got {type(c).__name__}")
            # (a | b) | c is flattened to one AnyOf(a, b, c); likewise for &.
            members.extend(c.criteria if type(c) is type(self) else [c])
        if not members:
            raise ValueError(f"{type(self).__name__} needs at least one criterion")
        self.criteria = members
        StoppingCriterion.reset(self)    # combining does not reset the members

    def reset(self) -> None:
        super().reset()
        for c in getattr(self, "criteria", ()):
            c.reset()

    def update(self, **observations) -> bool:
        self._prepare(observations)
        for c in self.criteria:          # every member sees every observation
            c.update(**observations)
        self.stopped = self._combine([c.stopped for c in self.criteria])
        self.reason = self._explain() if self.stopped else None
        return self.stopped

    __call__ = update

    def __repr__(self) -> str:
        return "(" + f" {self._symbol} ".join(repr(c) for c in self.criteria) + ")"


class AnyOf(_Combination):
    """Stop when any member says stop (``a | b``). ``reason`` lists those that fired."""

    _symbol = "|"

    @staticmethod
    def _combine(flags) -> bool:
        return any(flags)

    def _explain(self) -> str:
        return "; ".join(c.reason for c in self.criteria if c.stopped)


class AllOf(_Combination):
    """Stop when every member says stop at the same time (``a & b``)."""

    _symbol = "&"

    @staticmethod
    def _combine(flags) -> bool:
        return all(flags)

    def _explain(self) -> str:
        return "all of: " + "; ".join(c.reason for c in self.criteria)


class MaxIterations(StoppingCriterion):
    r"""Iteration limit: stop when :math:`t \ge n`.

    Args:
        n: the number of iterations allowed (>= 0).
    """

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"MaxIterations needs n >= 0, got {n}")
        self.n = int(n)
        super().__init__()

    def _judge(self, step, obs):
        if self.stopped:
            return None
        if step >= self.n:
            return True, f"MaxIterations: reached the limit of {self.n} iterations at step {step}"
        return False, None

    def __repr__(self) -> str:
        return f"MaxIterations(n={self.n})"


class TimeBudget(StoppingCriterion):
    r"""Time limit: stop when the elapsed time :math:`\text{clock}() - t_{start} \ge` ``seconds``.

    The clock starts at construction and at ``reset()`` or ``start()``.

    Args:
        seconds: the budget.
        clock: a function returning seconds (default ``time.monotonic``; pass a fake
            clock in tests).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not seconds >= 0:
            raise ValueError(f"TimeBudget needs seconds >= 0, got {seconds}")
        self.seconds = seconds
        self.clock = clock
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.start()

    def start(self) -> None:
        """(Re)start the clock, e.g. right before the training loop."""
        self.started_at = self.clock()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started_at

    def _judge(self, step, obs):
        if self.stopped:
            return None
        elapsed = self.elapsed
        if elapsed >= self.seconds:
            return True, (f"TimeBudget: {_fmt(elapsed)} s elapsed >= budget of "
                          f"{_fmt(self.seconds)} s at step {step}")
        return False, None

    def __repr__(self) -> str:
        return f"TimeBudget(seconds={self.seconds})"


class Patience(StoppingCriterion):
    r"""Early stopping: stop when the validation metric has stopped getting better.

    With ``mode='min'`` an observation :math:`v` improves on the best so far when
    :math:`v < v_{best} - \delta` (``mode='max'``: :math:`v > v_{best} + \delta`);
    otherwise a counter :math:`w` of evaluations without improvement grows, and an
    improvement resets it to 0. Stop when :math:`w \ge` ``patience`` (so
    ``patience=0`` stops at the first evaluation that does not improve, as Keras's
    ``EarlyStopping``). ``best`` and ``best_step`` tell which checkpoint to keep.

    Args:
        patience: evaluations without improvement tolerated (>= 0).
        min_delta: :math:`\delta \ge 0`, the smallest change that counts.
        mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
        monitor: the observation watched: ``'val_loss'`` (default) or ``'loss'``.
    """

    def __init__(self, patience: int, min_delta: float = 0.0, mode: str = "min",
                 monitor: str = "val_loss") -> None:
        if patience < 0:
            raise ValueError(f"Patience needs patience >= 0, got {patience}")
        if min_delta < 0:
            raise ValueError(f"Patience needs min_delta >= 0, got {min_delta}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
        self.patience = int(patience)
        self.min_delta = min_delta
        self.mode = mode
        self.monitor = monitor
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_step = None
        self.num_bad = 0

    def _improves(self, v: float) -> bool:
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta

    def _judge(self, step, obs):
        if self.stopped or self.monitor not in obs:
            return None
        v = _value(obs[self.monitor])
        if self._improves(v):
            self.best, self.best_step, self.num_bad = v, step, 0
            return False, None
        self.num_bad += 1
        if self.num_bad >= self.patience:
            return True, (f"Patience: {self.monitor} has not improved on its best "
                          f"{_fmt(self.best)} (step {self.best_step}) by more than "
                          f"min_delta={_fmt(self.min_delta)} for {self.num_bad} "
                          f"evaluation(s); stopped at step {step}")
        return False, None

    def __repr__(self) -> str:
        return (f"Patience(patience={self.patience}, min_delta={self.min_delta}, "
                f"mode={self.mode!r})")


class TargetGap(StoppingCriterion):
    r"""Optimality gap: stop when :math:`J(\theta_t) - J^* \le \varepsilon`.

    For problems whose optimal value :math:`J^*` is known (test functions, convex
    problems solved beforehand).

    Args:
        f_star: :math:`J^*`.
        eps: :math:`\varepsilon \ge 0`.
        monitor: ``'loss'`` (default) or ``'val_loss'``.
    """

    def __init__(self, f_star: float, eps: float, monitor: str = "loss") -> None:
        if not eps >= 0:
            raise ValueError(f"TargetGap needs eps >= 0, got {eps}")
        self.f_star = f_star
        self.eps = eps
        self.monitor = monitor
        super().__init__()

    def _judge(self, step, obs):
        if self.monitor not in obs:
            return None
        gap = _value(obs[self.monitor]) - self.f_star
        if gap <= self.eps:
            return True, (f"TargetGap: J(theta_t) - J* = {_fmt(gap)} <= eps = "
                          f"{_fmt(self.eps)} at step {step}")
        return False, None

    def __repr__(self) -> str:
        return f"TargetGap(f_star={self.f_star}, eps={self.eps})"


class _RelativeToInitial(StoppingCriterion):
    """Shared logic: compare an observation with eps times its first observed value."""

    key = "?"
    symbol = "?"

    def __init__(self, eps: float, initial: float | None = None) -> None:
        if not eps >= 0:
            raise ValueError(f"{type(self).__name__} needs eps >= 0, got {eps}")
        self.eps = eps
        self.initial = initial
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.reference = None if self.initial is None else _value(self.initial)

    def _judge(self, step, obs):
        if self.key not in obs:
            return None
        v = _value(obs[self.key])
        if self.reference is None:          # the first observation is the t = 0 value
            self.reference = v
        bound = self.eps * self.reference
        if v <= bound:
            return True, (f"{type(self).__name__}: {self.symbol}(theta_t) = {_fmt(v)} <= "
                          f"eps * {self.symbol}(theta_0) = {_fmt(self.eps)} * "
                          f"{_fmt(self.reference)} at step {step}")
        return False, None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eps={self.eps})"


class RelativeLoss(_RelativeToInitial):
    r"""Relative decrease: stop when :math:`J(\theta_t) \le \varepsilon\, J(\theta_0)`.

    :math:`J(\theta_0)` is ``initial`` if given, else the first ``loss`` observed.
    Meaningful for losses bounded below by 0.

    Args:
        eps: :math:`\varepsilon` (e.g. 1e-3: the loss fell a thousandfold).
        initial: :math:`J(\theta_0)`, when known in advance.
    """

    key = "loss"
    symbol = "J"


class RelativeGradNorm(_RelativeToInitial):
    r"""Gradient criterion: stop when
    :math:`\lVert\nabla J(\theta_t)\rVert \le \varepsilon \lVert\nabla J(\theta_0)\rVert`.

    :math:`\lVert\nabla J(\theta_0)\rVert` is ``initial`` if given, else the first
    ``grad_norm`` observed.

    Args:
        eps: :math:`\varepsilon`.
        initial: :math:`\lVert\nabla J(\theta_0)\rVert`, when known in advance.
    """

    key = "grad_norm"
    symbol = "||grad J||"


class NonFinite(StoppingCriterion):
    r"""Divergence guard: stop when ``loss`` or ``grad_norm`` is NaN or :math:`\pm\infty`."""

    def _judge(self, step, obs):
        seen = [k for k in ("loss", "grad_norm") if k in obs]
        if not seen:
            return None
        for k in seen:
            v = _value(obs[k])
            if not math.isfinite(v):
                return True, f"NonFinite: {k} = {v} at step {step}"
        return False, None

    def __repr__(self) -> str:
        return "NonFinite()"
