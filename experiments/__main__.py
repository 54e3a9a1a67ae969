"""Command line: ``python -m experiments list | run NAME|lectures | study NAME [options]``.

    python -m experiments list
    python -m experiments run trajectories [--out results] [--seed 0] [--device cpu] [--quick]
    python -m experiments run lectures     # every lecture demonstration + results/index.md
    python -m experiments study method-naming --profile quick   # see experiments/study/cli.py

Exit status: 0 on success, 1 when an experiment failed, 2 on a usage error (a
one-line message, no traceback: unknown experiment name, unavailable device, a
seed outside [0, 2**32), an --out that is a file or cannot be written, an output
folder another live run is writing into), 130 when interrupted with Ctrl-C (the
run's summary.json and the index say "interrupted").
When a library of the ``experiments`` extra is missing, the message names it and
the install command (:mod:`experiments.dependencies`).
"""
from __future__ import annotations

import argparse
import difflib
import sys

from . import dependencies

try:
    from . import registry, runner
except ModuleNotFoundError as _exc:  # matplotlib (the plots) is imported with the runner
    dependencies.exit_if_missing(_exc)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130   # 128 + SIGINT, what shells report for Ctrl-C


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not usage + error."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _seed(text: str) -> int:
    try:
        return runner.check_seed(int(text))
    except (TypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(
            str(e) if "between" in str(e) else f"invalid seed {text!r}: expected an int "
            f"between 0 and {runner.MAX_SEED}") from None


def _unknown(name: str, error: Exception) -> str:
    close = difflib.get_close_matches(name, registry.names() + ["lectures"], n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"{error}{hint}"


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m experiments",
                description="minigrad's lecture demonstrations and studies")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments, one line each")
    r = sub.add_parser("run", help="run one experiment, or 'lectures' for all lecture demos")
    r.add_argument("name", help="an experiment name (see 'list') or 'lectures'")
    r.add_argument("--out", default=runner.DEFAULT_OUT,
                   help="output directory (default: %(default)s/)")
    r.add_argument("--seed", type=_seed, default=0,
                   help="random seed, 0 to 2**32 - 1 (default: 0)")
    r.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    r.add_argument("--quick", action="store_true",
                   help="the reduced setting (seconds per experiment), as in the tests")
    from .study import cli as study_cli

    study_cli.add_parser(sub)
    return p


def _list(out) -> int:
    exps = registry.all_experiments()
    width = max((len(e.name) for e in exps), default=0)
    lectures = set(registry.LECTURES)
    for e in exps:
        mark = "*" if e.name in lectures else " "
        print(f"{mark} {e.name:<{width}}  {e.description}", file=out)
    print("\n* lecture demonstration (run them all: python -m experiments run lectures)",
          file=out)
    from .study import describe

    studies = describe()
    print("\nstudies (python -m experiments study NAME --profile smoke|quick|full):", file=out)
    w = max((len(n) for n in studies), default=0)
    for name, text in studies.items():
        print(f"  {name:<{w}}  {text}", file=out)
    return 0


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return _list(sys.stdout)
    if args.command == "study":
        from .study import cli as study_cli

        return study_cli.main(args)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C); the run is marked 'interrupted' in its summary.json",
              file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args) -> int:
    if args.name != "lectures":
        try:
            registry.get(args.name)
        except registry.UnknownExperiment as e:
            return _fail(_unknown(args.name, e))
    try:
        runner.check_device(args.device)
        runner.check_out(args.out)
    except (ValueError, RuntimeError) as e:
        return _fail(str(e))
    if args.name == "lectures":
        try:
            result = runner.run_lectures(out=args.out, seed=args.seed, device=args.device,
                                         quick=args.quick)
        except (ValueError, RuntimeError) as e:
            return _fail(str(e))
        print(f"index: {result.index}")
        if result.failed:
            print(f"{len(result.failed)} experiment(s) failed: {', '.join(result.failed)}",
                  file=sys.stderr)
            return 1
        return 0
    try:
        summary = runner.run_experiment(args.name, out=args.out, seed=args.seed,
                                        device=args.device, quick=args.quick)
    except runner.RunLocked as e:
        return _fail(str(e))
    except registry.ExperimentUnavailable as e:
        return _fail(str(e), 1)
    out_dir = f"{args.out.rstrip('/')}/{summary['experiment']}"
    print(f"{summary['experiment']}: ok in {summary['seconds']:.1f} s -> {out_dir}/")
    line = runner.format_outcomes(summary["outcomes"],
                                  registry.get(args.name).headline)
    if line:
        print(line)
    return 0


def _main_or_hint(argv=None) -> int:
    """:func:`main`, with a missing library of the experiments extra (imported while an
    experiment runs) reported as the command that installs it."""
    try:
        return main(argv)
    except ModuleNotFoundError as exc:
        dependencies.exit_if_missing(exc)
        raise  # not reached: exit_if_missing exits or re-raises


if __name__ == "__main__":
    sys.exit(_main_or_hint())
