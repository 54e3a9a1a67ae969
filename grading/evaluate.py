"""Compare a function's answers with the reference and with every catalogued mistake; say what is wrong.

Everything here runs in the grader's process on plain float64 arrays. A step is
judged on its own inputs: the state fed into step k is what the *student*
returned at step k−1, so a mistake in step 1 does not make every later step
differ too, and a mistake's variant is compared on exactly the inputs the
student's code saw. Diagnosis comes from behaviour only: a mistake is named when
its variant agrees with the student's outputs on every step of every case.
"""
from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from grading.assignment import Assignment, Case, GradedFunction
from grading.protocol import step_inputs

__all__ = ["FunctionResult", "make_cases", "evaluate_function", "as_outputs"]


@dataclasses.dataclass
class FunctionResult:
    """The grade of one function: score, diagnosis and the feedback lines."""

    function: str
    score: float
    max_score: float
    n_cases: int
    n_passed: int
    mistakes: list
    first_mismatch: str | None
    lines: list

    @property
    def passed(self) -> bool:
        return self.n_passed == self.n_cases


def make_cases(gfunc: GradedFunction, seed: int) -> list[Case]:
    """The function's cases for ``seed`` (the same on every run and machine)."""
    rng = np.random.default_rng([int(seed), zlib.crc32(gfunc.name.encode("utf-8"))])
    return gfunc.make_cases(rng)


def as_outputs(gfunc: GradedFunction, value) -> list:
    """A trusted function's return value as the list of float64 arrays, like the child sends."""
    values = (value,) if len(gfunc.outputs) == 1 else tuple(value)
    if len(values) != len(gfunc.outputs):
        raise ValueError(f"{gfunc.name} returned {len(values)} values, expected {len(gfunc.outputs)}")
    return [np.array(v, dtype=np.float64) for v in values]


def _close(a, b, rtol, atol) -> bool:
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _expected(fn, gfunc, case, si, previous):
    """``fn``'s outputs on step ``si`` of ``case`` given the previous outputs, or ``None`` if it raises."""
    try:
        with np.errstate(all="ignore"):
            return as_outputs(gfunc, fn(*step_inputs(gfunc, case, si, previous)))
    except Exception:
        return None


def _raises(fn, gfunc, case, si, previous):
    """The name of the exception ``fn`` raises on step ``si``, or ``None`` if it returns."""
    try:
        with np.errstate(all="ignore"):
            as_outputs(gfunc, fn(*step_inputs(gfunc, case, si, previous)))
    except Exception as exc:
        return type(exc).__name__
    return None


def _matches(fn, gfunc, cases, answers, rtol, atol, errors=None) -> bool:
    """Whether ``fn`` behaves like the answers on every step of every case.

    Behaving alike means equal outputs on every step the student's code completed
    and, where it raised, ``fn`` raising the same type of exception on the same
    inputs (a mistake that breaks some shapes breaks them for both).
    """
    for ci, (case, steps) in enumerate(zip(cases, answers)):
        if len(steps) != len(case.steps):
            err = errors[ci] if errors and ci < len(errors) else None
            if not err or err.get("step") != len(steps):
                return False
            if _raises(fn, gfunc, case, len(steps), steps[-1] if steps else None) != err.get("type"):
                return False
        for si, outs in enumerate(steps):
            expected = _expected(fn, gfunc, case, si, steps[si - 1] if si else None)
            if expected is None or not all(_close(o, e, rtol, atol) for o, e in zip(outs, expected)):
                return False
    return True


def _fmt(x) -> str:
    return f"{x:.6g}"


def _where(ci, si, case) -> str:
    step = f"step {si + 1} of " if len(case.steps) > 1 else ""
    return f"{step}case {ci + 1}"


def _describe_error(err: dict, case, ci) -> str:
    where = _where(ci, err.get("step", 0), case)
    line = f" at line {err['line']}" if err.get("line") else ""
    if case.hidden:
        return f"a hidden case raised {err.get('type', 'an error')}{line}"
    return f"{where} raised {err.get('type', 'an error')}{line}: {err.get('message', '')}"


def _first_problem(gfunc, cases, answers, errors, rtol, atol):
    """(quantity name or None, sentence) for the first thing that differs, in case and step order."""
    for ci, (case, steps) in enumerate(zip(cases, answers)):
        for si, outs in enumerate(steps):
            expected = _expected(gfunc.reference, gfunc, case, si, steps[si - 1] if si else None)
            if expected is None:
                return None, (f"your state after {_where(ci, si - 1, case)} cannot be fed to the next step "
                              "(wrong shape or values)")
            for name, o, e in zip(gfunc.outputs, outs, expected):
                if _close(o, e, rtol, atol):
                    continue
                if case.hidden:
                    return name, f"{name} differs from the expected value in a hidden case"
                if o.shape != e.shape:
                    return name, (f"{name} has shape {o.shape} at {_where(ci, si, case)}, "
                                  f"expected shape {e.shape} (the shape of the input)")
                with np.errstate(all="ignore"):
                    diff = np.abs(o - e)
                    diff = np.where(np.isnan(diff), np.inf, diff)
                idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
                at = f" at index {tuple(int(i) for i in idx)}" if diff.ndim else ""
                return name, (f"{name} differs at {_where(ci, si, case)} (shape {e.shape}): largest difference "
                              f"{_fmt(float(diff[idx]))}{at}, yours {_fmt(float(o[idx]))}, expected "
                              f"{_fmt(float(e[idx]))} (tolerance: relative {rtol:g}, absolute {atol:g})")
        err = errors[ci] if ci < len(errors) else None
        if len(steps) < len(case.steps):
            if err:
                return None, _describe_error(err, case, ci)
            return None, f"no answer came back for {_where(ci, len(steps), case)}"
    return None, "the answers differ from the expected ones"


def evaluate_function(assignment: Assignment, gfunc: GradedFunction, cases: list[Case], answers, errors,
                      failure: str | None = None) -> FunctionResult:
    """Grade one function from its answers (per case, per completed step, the list of output arrays).

    ``errors`` holds per case ``None`` or the error dict the child reported;
    ``failure`` is a sentence when the whole run failed (import error, crash,
    timeout): then nothing is compared and the function gets 0.
    """
    rtol, atol = assignment.rtol, assignment.atol
    n = len(cases)
    if failure is not None:
        return FunctionResult(gfunc.name, 0.0, gfunc.max_score, n, 0, [], None, [failure])
    passed = 0
    for case, steps in zip(cases, answers):
        if len(steps) == len(case.steps) and _matches(gfunc.reference, gfunc, [case], [steps], rtol, atol):
            passed += 1
    score = round(gfunc.max_score * passed / n, 4) if n else 0.0
    if passed == n:
        return FunctionResult(gfunc.name, score, gfunc.max_score, n, n, [], None,
                              [f"All {n} cases pass ({gfunc.formula})."])
    mistakes = [m for m in gfunc.mistakes
                if any(_matches(v, gfunc, cases, answers, rtol, atol, errors) for v in m.variants)]
    quantity, sentence = _first_problem(gfunc, cases, answers, errors, rtol, atol)
    lines = [f"{passed} of {n} cases pass."]
    if mistakes:
        for m in mistakes:
            lines.append(f"Known mistake `{m.id}`: {m.explanation}")
    else:
        lines.append("No known mistake matches your answers.")
    lines.append(f"First problem: {sentence}.")
    return FunctionResult(gfunc.name, score, gfunc.max_score, n, passed, [m.id for m in mistakes], quantity, lines)
