"""Grade a submission: one sandboxed child per graded function, then compare and diagnose here.

:func:`grade` is what ``python -m grading grade`` runs; :func:`grade_trusted`
runs the grader's own functions (the reference, a catalogued mistake) in this
process through the same harness code, for ``check`` and the tests.
"""
from __future__ import annotations

import dataclasses
import io
import os
import time

import numpy as np

from grading import harness
from grading.assignment import Assignment
from grading.evaluate import evaluate_function, make_cases
from grading.protocol import decode_outputs, encode_job, job_bytes
from grading.sandbox import MAX_SUBMISSION_BYTES, Limits, Sandbox, find_submission_files

__all__ = ["GradeReport", "grade", "grade_trusted"]


@dataclasses.dataclass
class GradeReport:
    """The whole grade: per-function results, notes about the run, and the total."""

    assignment: str
    results: list
    notes: list
    execution_time: float
    seed: int
    general: str | None = None  # a problem with the whole submission (no file, import failed, ...)

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 4)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_score for r in self.results), 4)


def _import_failure(status: dict | None, ending: str, module: str) -> str:
    if status and status.get("import_error"):
        err = status["import_error"]
        where = f" ({err.get('file') or module + '.py'}, line {err['line']})" if err.get("line") else ""
        return f"Your {module}.py could not be imported: {err.get('type')}{where}: {err.get('message')}"
    return f"Your {module}.py could not be imported: the process {ending}."


def _one_function(sandbox: Sandbox, files, assignment: Assignment, gfunc, cases, timeout):
    """Run one function in a child; return ``(FunctionResult, import failure sentence or None)``."""
    job, arrays = encode_job(assignment, gfunc, cases)
    job_b, inputs_b = job_bytes(job, arrays)
    child = sandbox.run(files, assignment.module, job_b, inputs_b, timeout=timeout)
    status = child.status
    if status is None or not status.get("imported"):
        failure = _import_failure(status, child.ending(), assignment.module)
        return evaluate_function(assignment, gfunc, cases, [], [], failure=failure), failure
    if status.get("function_error"):
        failure = str(status["function_error"])[:300] + "."
        return evaluate_function(assignment, gfunc, cases, [], [], failure=failure), None
    statuses = status.get("cases")
    if not isinstance(statuses, list) or len(statuses) != len(cases) or child.timed_out or child.returncode:
        failure = f"While running {gfunc.name} the process {child.ending()}; the function gets 0."
        return evaluate_function(assignment, gfunc, cases, [], [], failure=failure), None
    clean = []
    for s in statuses:
        done = s.get("steps_done") if isinstance(s, dict) else 0
        err = s.get("error") if isinstance(s, dict) else None
        clean.append({"steps_done": done if isinstance(done, int) else 0,
                      "error": err if isinstance(err, dict) else None})
    answers = decode_outputs(child.outputs, gfunc, cases, clean)
    return evaluate_function(assignment, gfunc, cases, answers, [s["error"] for s in clean]), None


def grade(assignment: Assignment, submission: str, seed: int = 0, limits: Limits | None = None,
          functions=None) -> GradeReport:
    """Grade ``submission`` (a directory or a ``.py`` file) on ``assignment``; never raises for its faults.

    ``functions`` restricts grading to some function names (all by default).
    """
    start = time.monotonic()
    limits = limits or Limits(timeout=assignment.timeout)
    chosen = [f for f in assignment.functions if functions is None or f.name in functions]
    try:
        _, files = find_submission_files(submission, assignment.module)
        if sum(os.path.getsize(f) for f in files) > MAX_SUBMISSION_BYTES:
            raise FileNotFoundError(f"the submission's .py files exceed {MAX_SUBMISSION_BYTES // 2**20} MB")
    except (FileNotFoundError, OSError) as exc:
        message = f"Submission not gradable: {exc}."
        results = [evaluate_function(assignment, f, make_cases(f, seed), [], [], failure=message) for f in chosen]
        return GradeReport(assignment.name, results, [], time.monotonic() - start, seed, general=message)
    results = []
    general = None
    with Sandbox(limits) as sandbox:
        notes = list(sandbox.notes)
        for gfunc in chosen:
            cases = make_cases(gfunc, seed)
            if general is not None:
                results.append(evaluate_function(assignment, gfunc, cases, [], [], failure=general))
                continue
            result, import_failure = _one_function(sandbox, files, assignment, gfunc, cases, limits.timeout)
            general = import_failure
            results.append(result)
    return GradeReport(assignment.name, results, notes, time.monotonic() - start, seed, general=general)


def grade_trusted(assignment: Assignment, implementations: dict, seed: int = 0, functions=None) -> GradeReport:
    """Grade the grader's own functions (name -> callable; missing names use the reference) in-process.

    ``functions`` restricts grading to some function names (all by default).
    """
    start = time.monotonic()
    results = []
    for gfunc in assignment.functions:
        if functions is not None and gfunc.name not in functions:
            continue
        fn = implementations.get(gfunc.name, gfunc.reference)
        cases = make_cases(gfunc, seed)
        job, arrays = encode_job(assignment, gfunc, cases)
        with np.errstate(all="ignore"):
            outputs, statuses = harness.run_cases(fn, job, arrays, np)
        buf = io.BytesIO()
        np.savez(buf, **outputs)
        answers = decode_outputs(buf.getvalue(), gfunc, cases, statuses)
        results.append(evaluate_function(assignment, gfunc, cases, answers, [s["error"] for s in statuses]))
    return GradeReport(assignment.name, results, [], time.monotonic() - start, seed)


