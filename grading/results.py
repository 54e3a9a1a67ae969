"""A grade as Gradescope's ``results.json`` and as a Markdown report for the student.

The JSON follows Gradescope's autograder specification: top level ``score``,
``execution_time``, ``output``, ``visibility``, ``stdout_visibility`` and
``tests``; each test ``name``, ``score``, ``max_score``, ``status``, ``output``,
``visibility`` and ``extra_data`` (``function``, ``mistakes``,
``first_mismatch``). Both are written atomically, by the grader, after every
child has exited; whatever a submission wrote anywhere is overwritten or ignored.
"""
from __future__ import annotations

import json

from grading.grader import GradeReport
from minigrad.atomic import write_text

__all__ = ["to_gradescope", "to_markdown", "write_results", "TOP_LEVEL_FIELDS", "TEST_FIELDS"]

# Gradescope's documented fields (top level and per test); the tests validate against these.
TOP_LEVEL_FIELDS = ("score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                    "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard")
TEST_FIELDS = ("score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
               "tags", "visibility", "extra_data")


def _summary(report: GradeReport) -> str:
    lines = [f"Assignment {report.assignment}: {report.score:g} / {report.max_score:g} points."]
    if report.general:
        lines.append(report.general)
    for note in report.notes:
        lines.append(f"Note on the sandbox: {note}.")
    return "\n".join(lines)


def to_gradescope(report: GradeReport, visibility: str = "visible") -> dict:
    """The ``results.json`` object (``execution_time`` in whole seconds)."""
    tests = []
    for r in report.results:
        tests.append({
            "name": r.function,
            "score": r.score,
            "max_score": r.max_score,
            "status": "passed" if r.passed else "failed",
            "output": "\n".join(r.lines),
            "visibility": visibility,
            "extra_data": {"function": r.function, "mistakes": list(r.mistakes), "first_mismatch": r.first_mismatch},
        })
    return {
        "score": report.score,
        "execution_time": int(round(report.execution_time)),
        "output": _summary(report),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def to_markdown(report: GradeReport) -> str:
    """A report for the student: the total, a table per function, then what to fix."""
    lines = [f"# {report.assignment}: {report.score:g} / {report.max_score:g}", ""]
    if report.general:
        lines += [f"**{report.general}**", ""]
    for note in report.notes:
        lines += [f"_Note on the sandbox: {note}._", ""]
    lines += ["| function | score | cases passed | diagnosis |", "|---|---|---|---|"]
    for r in report.results:
        diagnosis = ", ".join(f"`{m}`" for m in r.mistakes) or ("-" if r.passed else
                                                                 (f"`{r.first_mismatch}` differs"
                                                                  if r.first_mismatch else "see below"))
        lines.append(f"| `{r.function}` | {r.score:g} / {r.max_score:g} | {r.n_passed} / {r.n_cases} | {diagnosis} |")
    failed = [r for r in report.results if not r.passed]
    if failed:
        lines += ["", "## What to fix", ""]
        for r in failed:
            lines += [f"### `{r.function}`", ""] + [f"- {line}" for line in r.lines] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_results(report: GradeReport, path: str, fmt: str = "gradescope") -> None:
    """Write the report atomically as ``gradescope`` JSON or ``markdown``."""
    if fmt == "gradescope":
        write_text(path, json.dumps(to_gradescope(report), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        write_text(path, to_markdown(report))
    else:
        raise ValueError(f"unknown format {fmt!r} (expected 'gradescope' or 'markdown')")
