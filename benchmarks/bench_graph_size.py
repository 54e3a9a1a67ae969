"""Per-op cost against the size of the recorded graph.

    python benchmarks/bench_graph_size.py [--quick] [--sizes 1000,10000,100000]
                                          [--threads N] [--clock wall|cpu]

A chain of ``n`` multiplications on a 4-vector (``y = y * c``, ``c`` a leaf that
requires grad) is recorded and then walked back with ``y.sum().backward()``. The
forward and the backward are timed separately and divided by ``n``: per-op costs
that do not depend on ``n`` mean nothing in the engine grows with the graph.
Python's cyclic garbage collector is what made them grow (it rescans every live
graph object at each full collection), so every row is timed twice, with the
collector as the user has it (on) and switched off, and torch's same chain is
timed alongside. Each size is repeated and the median and the spread (min–max)
reported; all candidates of a size run interleaved, in rotating order.
"""
from __future__ import annotations

import argparse
import gc
import statistics

import _common  # noqa: F401  (first: it configures OpenBLAS before NumPy loads)
import numpy as np
import torch
from _common import add_common_args, get_clock, load_average, machine_info, markdown_table, match_threads

import minigrad as mg


def _chain(x, c, n, clock):
    """Record y = x * c * ... * c (n multiplications), then backward; (forward, backward) seconds."""
    t0 = clock()
    y = x
    for _ in range(n):
        y = y * c
    t1 = clock()
    y.sum().backward()
    t2 = clock()
    assert x.grad is not None and c.grad is not None
    return t1 - t0, t2 - t1


def _mg_chain(n, clock):
    return _chain(mg.Tensor(np.ones(4, dtype=np.float32), requires_grad=True),
                  mg.Tensor(np.full(4, 1.0001, dtype=np.float32), requires_grad=True), n, clock)


def _th_chain(n, clock):
    return _chain(torch.ones(4, requires_grad=True), torch.full((4,), 1.0001, requires_grad=True), n, clock)


def _run(fn, n, clock, collector):
    was = gc.isenabled()
    (gc.enable if collector else gc.disable)()
    try:
        return fn(n, clock)
    finally:
        (gc.enable if was else gc.disable)()
        gc.collect()


def measure(sizes, repeats, clock):
    cands = {"minigrad": (_mg_chain, True), "minigrad, gc off": (_mg_chain, False),
             "torch": (_th_chain, True)}
    rows = []
    for n in sizes:
        for fn, on in cands.values():        # warm up
            _run(fn, min(n, 1000), clock, on)
        samples = {k: ([], []) for k in cands}
        names = list(cands)
        for r in range(repeats):
            for k in names[r % len(names):] + names[:r % len(names)]:
                fn, on = cands[k]
                f, b = _run(fn, n, clock, on)
                samples[k][0].append(f / n * 1e6)
                samples[k][1].append(b / n * 1e6)
        for k, (f, b) in samples.items():
            rows.append([f"{n:,}", k, f"{statistics.median(f):.2f} ({min(f):.2f}–{max(f):.2f})",
                         f"{statistics.median(b):.2f} ({min(b):.2f}–{max(b):.2f})"])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated chain lengths")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    threads = match_threads(args.threads)
    clock = get_clock(args.clock, threads["torch_threads"])
    repeats = 3 if args.quick else 7
    print("# Per-op cost against graph size: a chain of multiplications on a 4-vector\n")
    print(machine_info(threads))
    print(f"median (min–max) over {repeats} interleaved repeats; µs per op ({args.clock} clock)\n")
    print(markdown_table(["ops in the graph", "candidate", "forward µs/op", "backward µs/op"],
                         measure(sizes, repeats, clock)))
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
