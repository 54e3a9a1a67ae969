"""``python -m grading`` (and ``minigrad-grade``): list, starter, grade, check, gradescope, batch.

Exit codes: 0 when the command did its job (for ``grade``: whatever the score);
1 when ``check`` finds a problem or the grader itself failed (results are still
written, with the reason); 2 for a wrong command line.
"""
from __future__ import annotations

import argparse
import os
import sys

from grading import assignments
from minigrad.atomic import write_text

__all__ = ["main"]


def _usage_error(message: str):
    """A wrong command line: one line on stderr, exit status 2 (as argparse does)."""
    print(f"python -m grading: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _assignment(name):
    try:
        return assignments.get(name)
    except KeyError as exc:
        _usage_error(exc.args[0])


def _limits(args, assignment):
    from grading.sandbox import Limits

    timeout = args.timeout if args.timeout is not None else assignment.timeout
    return Limits(timeout=timeout, memory_bytes=int(args.memory_mb) * 1024**2)


def cmd_list(args):
    for a in assignments.all_assignments():
        print(f"{a.name:<18} {a.summary} (student writes {a.module}.py: "
              f"{', '.join(f.name for f in a.functions)})")
    return 0


def cmd_starter(args):
    a = _assignment(args.assignment)
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, a.module + ".py")
    if os.path.exists(path) and not args.force:
        _usage_error(f"{path} exists (use --force to overwrite)")
    write_text(path, a.starter)
    print(f"wrote {path}")
    return 0


def cmd_grade(args):
    from grading.grader import GradeReport, grade
    from grading.results import to_markdown, write_results
    from grading.sandbox import SandboxError

    a = _assignment(args.assignment)
    if not os.path.exists(args.submission):
        _usage_error(f"submission {args.submission} does not exist")
    fmt = args.format
    out = args.out or ("results.md" if fmt == "markdown" else "results.json")
    try:
        report = grade(a, args.submission, seed=args.seed, limits=_limits(args, a))
        status = 0
    except SandboxError as exc:
        report = GradeReport(a.name, [], [], 0.0, args.seed, general=f"The grader could not run: {exc}")
        status = 1
    write_results(report, out, fmt)
    if not args.quiet:
        print(to_markdown(report))
        print(f"results written to {out}")
    return status


def cmd_check(args):
    from grading.check import check_assignment, format_table

    names = assignments.NAMES if args.assignment == "all" else [args.assignment]
    status = 0
    for name in names:
        rows = check_assignment(_assignment(name), seed=args.seed)
        bad = [r for r in rows if not r.ok]
        print(f"## {name}\n")
        print(format_table(rows))
        print(f"\n{len(rows) - len(bad)} of {len(rows)} rows ok\n")
        status = status or (1 if bad else 0)
    return status


def cmd_gradescope(args):
    from grading.gradescope import build_autograder

    _assignment(args.assignment)
    build_autograder(args.assignment, args.out, seed=args.seed, timeout=args.timeout)
    print(f"wrote {args.out}")
    return 0


def cmd_batch(args):
    from grading.batch import run_batch

    a = _assignment(args.assignment)
    rows = run_batch(a, args.dir, args.csv, results_dir=args.results_dir, jobs=args.jobs, seed=args.seed,
                     limits=_limits(args, a))
    failed = sum(1 for r in rows if r["error"])
    print(f"graded {len(rows)} submissions ({failed} not gradable); grades in {args.csv}")
    return 0


def _add_limits(p):
    p.add_argument("--timeout", type=float, default=None, help="wall-clock seconds per graded function")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of the child (MB)")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the shipped assignments").set_defaults(fn=cmd_list)

    p = sub.add_parser("starter", help="write the student's starter file into DIR")
    p.add_argument("assignment")
    p.add_argument("dir")
    p.add_argument("--force", action="store_true")
    p.set_defaults(fn=cmd_starter)

    p = sub.add_parser("grade", help="grade one submission (a directory or the .py file)")
    p.add_argument("assignment")
    p.add_argument("submission")
    p.add_argument("--out", default=None, help="results file (default results.json / results.md)")
    p.add_argument("--format", choices=["gradescope", "markdown"], default="gradescope")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    _add_limits(p)
    p.set_defaults(fn=cmd_grade)

    p = sub.add_parser("check", help="self-test: reference full marks, each mistake diagnosed as itself")
    p.add_argument("assignment", help="an assignment name, or 'all'")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=cmd_check)

    p = sub.add_parser("gradescope", help="write a Gradescope autograder zip")
    p.add_argument("assignment")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=None)
    p.set_defaults(fn=cmd_gradescope)

    p = sub.add_parser("batch", help="grade every sub-folder of DIR in a process pool")
    p.add_argument("assignment")
    p.add_argument("dir")
    p.add_argument("--csv", required=True)
    p.add_argument("--results-dir", default=None, help="also write each submission's results.json here")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: the CPU count)")
    p.add_argument("--seed", type=int, default=0)
    _add_limits(p)
    p.set_defaults(fn=cmd_batch)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
