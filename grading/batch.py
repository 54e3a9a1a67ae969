"""Grade many submissions (one sub-folder each) in a process pool and write a CSV of the grades.

Each submission is graded in a worker process with its own sandbox (and so its
own private uid); a submission that cannot be graded gets a row with the reason,
and a worker that dies takes only its own submission with it: the others are
graded again in a fresh pool.
"""
from __future__ import annotations

import concurrent.futures
import csv
import io
import os
from concurrent.futures.process import BrokenProcessPool

from grading import assignments
from grading.assignment import Assignment
from grading.sandbox import Limits
from minigrad.atomic import write_text

__all__ = ["run_batch", "grade_one"]


def grade_one(assignment_name: str, path: str, seed: int, limits: Limits | None, results_path: str | None) -> dict:
    """Grade one submission in this process; never raises (the error goes into the row)."""
    from grading.grader import grade
    from grading.results import write_results

    row = {"submission": os.path.basename(os.path.normpath(path)), "score": 0.0, "max_score": 0.0,
           "functions": {}, "mistakes": [], "error": ""}
    try:
        assignment = assignments.get(assignment_name)
        report = grade(assignment, path, seed=seed, limits=limits)
        row["score"], row["max_score"] = report.score, report.max_score
        row["functions"] = {r.function: r.score for r in report.results}
        row["mistakes"] = [m for r in report.results for m in r.mistakes]
        row["error"] = report.general or ""
        if results_path:
            write_results(report, results_path)
    except Exception as exc:  # a grader failure on this submission must not stop the batch
        row["error"] = f"grader error: {type(exc).__name__}: {exc}"
    return row


def _submissions(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"batch directory {directory} does not exist")
    return sorted(os.path.join(directory, d) for d in os.listdir(directory)
                  if not d.startswith(".") and os.path.isdir(os.path.join(directory, d)))


def _run_pool(tasks, jobs):
    rows, broken = {}, []
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_one, *task): task for task in tasks}
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                rows[task[1]] = future.result()
            except BrokenProcessPool:
                broken.append(task)
            except Exception as exc:
                rows[task[1]] = {"submission": os.path.basename(task[1]), "score": 0.0, "max_score": 0.0,
                                 "functions": {}, "mistakes": [], "error": f"grader error: {exc}"}
    return rows, broken


def run_batch(assignment: Assignment, directory: str, csv_path: str, results_dir: str | None = None,
              jobs: int | None = None, seed: int = 0, limits: Limits | None = None) -> list[dict]:
    """Grade every sub-folder of ``directory``; write ``csv_path`` (and ``results_dir/<name>.json``)."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    if results_dir:
        os.makedirs(results_dir, exist_ok=True)
    tasks = []
    for path in _submissions(directory):
        name = os.path.basename(path)
        out = os.path.join(results_dir, name + ".json") if results_dir else None
        tasks.append((assignment.name, path, seed, limits, out))
    rows, broken = _run_pool(tasks, jobs)
    for task in broken:  # a dead worker: each of its submissions again, alone
        more, still = _run_pool([task], 1)
        rows.update(more)
        for t in still:
            rows[t[1]] = {"submission": os.path.basename(t[1]), "score": 0.0, "max_score": 0.0, "functions": {},
                          "mistakes": [], "error": "grader error: the worker process died"}
    ordered = [rows[task[1]] for task in tasks]
    _write_csv(assignment, ordered, csv_path)
    return ordered


def _write_csv(assignment: Assignment, rows: list[dict], path: str) -> None:
    names = [f.name for f in assignment.functions]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *names, "mistakes", "error"])
    for row in rows:
        writer.writerow([row["submission"], f"{row['score']:g}", f"{row['max_score']:g}",
                         *[f"{row['functions'].get(n, 0.0):g}" for n in names], " ".join(row["mistakes"]),
                         row["error"]])
    write_text(path, buf.getvalue())


