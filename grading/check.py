"""The instructor's self-test of an assignment: the reference gets full marks, each mistake is named as itself.

For every catalogued mistake and each of its variants, the variant is graded as
if a student had written it (in this process: it is trusted code); the check
passes when the variant loses marks and is diagnosed as exactly its own id and
no other. A mistake the cases cannot see, or two mistakes the cases cannot tell
apart, fail the check: add or change cases until they pass.
"""
from __future__ import annotations

import dataclasses

from grading.assignment import Assignment
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
        for mistake in gfunc.mistakes:
            for k, variant in enumerate(mistake.variants):
                report = grade_trusted(assignment, {gfunc.name: variant}, seed, functions=[gfunc.name])
                (result,) = report.results
                subject = mistake.id if len(mistake.variants) == 1 else f"{mistake.id} [{k + 1}]"
                ok = (not result.passed) and result.mistakes == [mistake.id]
                rows.append(CheckRow(subject, gfunc.name, f"{result.score:g}/{result.max_score:g}",
                                     result.mistakes, ok))
    return rows


def format_table(rows: list[CheckRow]) -> str:
    """The rows as a Markdown table."""
    lines = ["| subject | function | score | diagnosed as | ok |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.subject} | {r.function} | {r.score} | {', '.join(r.diagnosed) or '-'} | "
                     f"{'yes' if r.ok else 'NO'} |")
    return "\n".join(lines)
