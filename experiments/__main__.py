"""Command line: ``python -m experiments list | run NAME|lectures | study NAME [options]``.

    python -m experiments list
    python -m experiments run trajectories [--out results] [--seed 0] [--device cpu] [--quick]
    python -m experiments run lectures     # every lecture demonstration + results/index.md
    python -m experiments study method-naming --profile quick   # see experiments/study/cli.py

Exit status: 0 on success, 1 when an experiment failed, 2 on a usage error
(unknown experiment name, unavailable device).
"""
from __future__ import annotations

import argparse
import sys

from . import registry, runner


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments",
                                description="minigrad's lecture demonstrations and studies")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments, one line each")
    r = sub.add_parser("run", help="run one experiment, or 'lectures' for all lecture demos")
    r.add_argument("name", help="an experiment name (see 'list') or 'lectures'")
    r.add_argument("--out", default=runner.DEFAULT_OUT,
                   help="output directory (default: %(default)s/)")
    r.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
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


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return _list(sys.stdout)
    if args.command == "study":
        from .study import cli as study_cli

        return study_cli.main(args)
    try:
        runner.check_device(args.device)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.name == "lectures":
        try:
            result = runner.run_lectures(out=args.out, seed=args.seed, device=args.device,
                                         quick=args.quick)
        except (ValueError, RuntimeError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"index: {result.index}")
        if result.failed:
            print(f"{len(result.failed)} experiment(s) failed: {', '.join(result.failed)}",
                  file=sys.stderr)
            return 1
        return 0
    try:
        registry.get(args.name)
    except registry.UnknownExperiment as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        summary = runner.run_experiment(args.name, out=args.out, seed=args.seed,
                                        device=args.device, quick=args.quick)
    except registry.ExperimentUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out_dir = f"{args.out.rstrip('/')}/{summary['experiment']}"
    print(f"{summary['experiment']}: ok in {summary['seconds']:.1f} s -> {out_dir}/")
    line = runner.format_outcomes(summary["outcomes"],
                                  registry.get(args.name).headline)
    if line:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
