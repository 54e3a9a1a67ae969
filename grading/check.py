"""The instructor's self-test of an assignment: the reference gets full marks, each mistake is named as itself.

For every catalogued mistake and each of its variants, the variant is graded as
if a student had written it (in this process: it is trusted code); the check
passes when the variant loses marks and is diagnosed as exactly its own id and
no other. For backward rules (a ``forward`` given) the reference itself is first
compared with central finite differences of the forward op. A mistake the
cases cannot see, or two mistakes the cases cannot tell apart, fail the check: add or change cases until they pass.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from grading.assignment import Assignment
from grading.evaluate import as_outputs, make_cases
from grading.grader import grade_trusted

__all__ = ["CheckRow", "check_assignment", "format_table"]


@dataclasses.dataclass
class CheckRow:
    """One line of the check's table."""

    subject: str  # "reference" or the mistake id (with the variant number when there are several)
    function: str
    score: str
    diagnosed: list
    ok: bool


def check_assignment(assignment: Assignment, seed: int = 0) -> list[CheckRow]:
    """Grade the reference and every mistake variant; one row each."""
    rows = []
    ref = grade_trusted(assignment, {}, seed)
    for r in ref.results:
        rows.append(CheckRow("reference", r.function, f"{r.score:g}/{r.max_score:g}", r.mistakes,
                             r.passed and not r.mistakes))
    for gfunc in assignment.functions:
        if gfunc.forward is not None:
            rows.append(_finite_difference_row(gfunc, seed))
    for gfunc in assignment.functions:
        for mistake in gfunc.mistakes:
            for k, variant in enumerate(mistake.variants):
                report = grade_trusted(assignment, {gfunc.name: variant}, seed, functions=[gfunc.name])
                (result,) = report.results
                subject = mistake.id if len(mistake.variants) == 1 else f"{mistake.id} [{k + 1}]"
                ok = (not result.passed) and result.mistakes == [mistake.id]
                rows.append(CheckRow(subject, gfunc.name, f"{result.score:g}/{result.max_score:g}",
                                     result.mistakes, ok))
    return rows


FD_STEP = 1e-6
FD_MAX_ELEMENTS = 400


def _numeric_gradient(loss, args, index):
    """Central differences of ``loss(args)`` with respect to ``args[index]``."""
    x = np.array(args[index], dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + FD_STEP
        up = loss(args[:index] + [x.copy()] + args[index + 1:])
        x[i] = saved - FD_STEP
        down = loss(args[:index] + [x.copy()] + args[index + 1:])
        x[i] = saved
        grad[i] = (up - down) / (2 * FD_STEP)
    return grad


def _finite_difference_row(gfunc, seed) -> CheckRow:
    """The reference backward rule against central finite differences of its forward op, on the small cases.

    Cases labelled ``kink`` (inputs exactly at a non-differentiable point) are skipped.
    """
    names = gfunc.arg_names
    forward_names = [n for n in names if n != "grad_out"]
    checked = agreed = 0
    for case in make_cases(gfunc, seed):
        step = case.steps[0]
        if case.label == "kink" or sum(np.size(step.args[n]) for n in gfunc.wrt) > FD_MAX_ELEMENTS:
            continue
        grad_out = np.asarray(step.args["grad_out"], dtype=np.float64)
        fargs = [step.args[n] for n in forward_names]

        def loss(a, grad_out=grad_out):
            return float(np.sum(grad_out * gfunc.forward(*a)))

        expected = as_outputs(gfunc, gfunc.reference(*[step.args[n] for n in names]))
        checked += 1
        ok = True
        for k, wrt in enumerate(gfunc.wrt):
            numeric = _numeric_gradient(loss, fargs, forward_names.index(wrt))
            ok = ok and expected[k].shape == numeric.shape and np.allclose(expected[k], numeric, rtol=1e-5,
                                                                           atol=1e-6)
        agreed += ok
    return CheckRow("finite differences", gfunc.name, f"{agreed}/{checked} cases", [],
                    checked > 0 and agreed == checked)


def format_table(rows: list[CheckRow]) -> str:
    """The rows as a Markdown table."""
    lines = ["| subject | function | score | diagnosed as | ok |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.subject} | {r.function} | {r.score} | {', '.join(r.diagnosed) or '-'} | "
                     f"{'yes' if r.ok else 'NO'} |")
    return "\n".join(lines)
