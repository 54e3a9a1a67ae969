"""Run every benchmark (``benchmarks/bench_*.py``), each in a fresh process.

    python benchmarks/run_all.py [--quick] [--threads N] [--clock wall|cpu]
                                 [--keep-blas-spin] [--only NAME ...] [--out results.md]

``--quick`` is a smoke run: few repeats, numbers only indicative. The other
options are passed on to every script that takes them (``--threads N``: NumPy's
BLAS and torch get N threads, default each script's own; ``--clock cpu``: the
thread's CPU time, with ``--threads 1``). ``--only bench_mlp`` (repeatable) picks
scripts; ``--out`` also writes the combined output to a Markdown file.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIRST = ("bench_ops.py", "bench_mlp.py")  # then any other bench_*.py, by name
SCRIPTS = tuple(sorted(
    (f for f in os.listdir(HERE) if f.startswith("bench_") and f.endswith(".py")),
    key=lambda f: (FIRST.index(f) if f in FIRST else len(FIRST), f)))


def _accepts(script: str, flag: str) -> bool:
    """Whether ``script`` declares ``flag`` (directly or via _common.add_common_args)."""
    with open(os.path.join(HERE, script)) as f:
        src = f.read()
    return f'"{flag}"' in src or "add_common_args(" in src


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    ap.add_argument("--threads", type=int, default=None, help="threads for BLAS and torch")
    ap.add_argument("--clock", choices=("wall", "cpu"), default=None,
                    help="cpu: the thread's CPU time, immune to load (needs --threads 1)")
    ap.add_argument("--keep-blas-spin", action="store_true",
                    help="leave OPENBLAS_THREAD_TIMEOUT at OpenBLAS's default")
    ap.add_argument("--out", default=None, help="also write the output to this file")
    ap.add_argument("--only", choices=[s[:-3] for s in SCRIPTS], action="append",
                    help="run just this benchmark (repeatable)")
    args = ap.parse_args(argv)

    wanted = [("--quick", [], args.quick),
              ("--threads", [str(args.threads)], args.threads is not None),
              ("--clock", [args.clock], args.clock is not None),
              ("--keep-blas-spin", [], args.keep_blas_spin)]
    chunks, status = [], 0
    for script in SCRIPTS:
        if args.only and script[:-3] not in args.only:
            continue
        extra = []
        for flag, values, given in wanted:
            if given and _accepts(script, flag):
                extra += [flag, *values]
            elif given:
                print(f"({script} takes no {flag}; running it without)")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, os.path.join(HERE, script), *extra],
                              capture_output=True, text=True, cwd=HERE)
        text = proc.stdout + (f"\n[stderr]\n{proc.stderr}" if proc.returncode else "")
        text += f"\n_{script}: {time.perf_counter() - t0:.0f} s_\n"
        print(text, flush=True)
        chunks.append(text)
        status = status or proc.returncode
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(chunks))
    return status


if __name__ == "__main__":
    sys.exit(main())
