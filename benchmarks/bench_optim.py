"""One optimizer step on 10M float32 parameters in 100 tensors: minigrad against torch.

    python benchmarks/bench_optim.py [--quick] [--repeats N] [--threads N] [--clock wall|cpu]
                                     [--keep-blas-spin] [--block N] [--warmup N] [--no-extra]
                                     [--optimizers Adam,SGD,RMSprop,Adagrad]
                                     [--numel N] [--tensors N] [--chunk-bytes B] [--ab ROUNDS]

For each of Adam, SGD(momentum=0.9), RMSprop and Adagrad (default
hyperparameters otherwise; SGD lr=0.01), every candidate gets its own copy
of the same parameters and the same random gradients (set once; a step reads
them and updates parameters and state). Timed, interleaved, in one run:

* ``minigrad teaching``   ``impl="teaching"``: the pure formula per parameter;
* ``minigrad flat``       ``impl="flat"``: the formula over the flat buffer in
                          chunks, on ``--threads`` threads, as one compiled C
                          loop per chunk (``optim.fast.cpu``; the table's title
                          says if no C compiler was found);
* ``minigrad flat, NumPy twin``  the same with ``MINIGRAD_CPU_FUSED=0``: the
                          in-place formula, one NumPy pass per operation over
                          cache-sized chunks (what the flat path runs without
                          a C compiler);
* ``minigrad flat, pure formula``  the flat path calling the pure formula on
                          each chunk and copying back (what any elementwise
                          optimizer without a kernel or an in-place twin gets);
* ``minigrad flat, 1 thread``  the flat path without threads;
* ``torch foreach=False`` the per-tensor for-loop (torch's reference path);
* ``torch default``       no foreach/fused argument (torch picks; on CPU this is
                          the for-loop);
* ``torch foreach=True``  the multi-tensor ops;
* ``torch fused=True``    one fused kernel per step, where torch has it on CPU
                          (Adam, SGD, Adagrad; not RMSprop);
* ``gather gradients``    (with Adam, for reference) copying the 100 gradients
                          into one flat array, the cost the flat path avoids by
                          reading each large gradient as a view.

torch gets as many intra-op threads as NumPy's BLAS uses, and the flat path as
many threads too (both printed). The table gives the median step time over
the repeats and, per minigrad row, the median of the round-by-round ratios to
torch foreach=False, to torch fused=True, and to the fastest torch mode of the
run (the one with the lowest median; marked "fastest" in its row): for
RMSprop, which has no fused CPU kernel, that is the reference to beat
(interquartile ranges in brackets).

``--ab ROUNDS`` then times ``minigrad flat`` against the fastest torch mode
alone, in ABBA order (``_common.alternating_ratio``): in the interleaved
rounds each candidate always follows the same neighbour, and at the memory
bandwidth that neighbour's work shows in the next one's time.

``--warmup N`` (default 3) untimed steps of every candidate come first (the
first compiles the kernels, or loads them from the cache); the step count
matters to Adam's NumPy twin, which leaves out the division by
``1 - beta1^t`` once that is 1 in float32 (from step 165; ``--warmup 170``).

``--threads 1 --clock cpu`` times the calling thread's CPU time instead of the
wall clock: everything then runs in that one thread, and the numbers do not
depend on other work on the machine (a loaded 2-core machine hurts torch's
OpenMP threads far more than it hurts NumPy).
"""
from __future__ import annotations

import argparse
import gc
import os

import numpy as np
import torch
from _common import (
    OtherLoad,
    add_common_args,
    alternating_ratio,
    get_clock,
    interleaved,
    machine_info,
    markdown_table,
    match_threads,
    paired_ratio,
)

import minigrad as mg
import optim
from optim.fast import cpu, flat, kernels

OPTIMIZERS = {
    "Adam": ({}, {}),
    "SGD": ({"lr": 0.01, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.9}),
    "RMSprop": ({}, {}),
    "Adagrad": ({}, {}),
}
FUSED_ON_CPU = {"Adam", "AdamW", "SGD", "Adagrad"}


def make_data(numel, tensors, seed=0):
    """Initial values and gradients (float32), ``tensors`` equal pieces of ``numel``."""
    rng = np.random.default_rng(seed)
    size = numel // tensors
    init = [rng.standard_normal(size, dtype=np.float32) for _ in range(tensors)]
    grads = [rng.standard_normal(size, dtype=np.float32) for _ in range(tensors)]
    return init, grads


def minigrad_candidate(name, cfg, init, grads, impl, *, inplace=True, threads=None, compiled=True):
    """A step of minigrad's ``impl``; ``threads``: the flat path's threads for this candidate;
    ``compiled=False``: with ``MINIGRAD_CPU_FUSED=0`` (the NumPy in-place twin)."""
    params = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    for p, g in zip(params, grads):
        p.grad = mg.Tensor(g.copy())
    opt = getattr(optim, name)(params, impl=impl, **cfg)
    opt._flat_inplace = inplace

    if threads is None and compiled:
        return opt.step

    def step():
        saved, saved_env = flat.get_num_threads(), os.environ.get("MINIGRAD_CPU_FUSED")
        flat.set_num_threads(threads or saved)
        if not compiled:
            os.environ["MINIGRAD_CPU_FUSED"] = "0"
        try:
            opt.step()
        finally:
            flat.set_num_threads(saved)
            if saved_env is None:
                os.environ.pop("MINIGRAD_CPU_FUSED", None)
            else:
                os.environ["MINIGRAD_CPU_FUSED"] = saved_env
    return step


def torch_candidate(name, cfg, init, grads, **mode):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g.copy())
    opt = getattr(torch.optim, name)(params, **cfg, **mode)
    return opt.step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)       # --quick, --threads (also the flat path's), --clock, ...
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--block", type=int, default=2,
                        help="samples per candidate in a row within a round (the first "
                             "pays for the previous candidate's spinning OpenMP threads)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed steps of every candidate before the timed rounds")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--numel", type=int, default=10_000_000)
    parser.add_argument("--tensors", type=int, default=100)
    parser.add_argument("--chunk-bytes", type=int, default=None,
                        help=f"bytes per array per chunk (default {flat.CHUNK_BYTES})")
    parser.add_argument("--no-extra", action="store_true",
                        help="leave out the 'pure formula' and '1 thread' rows and foreach=True")
    parser.add_argument("--ab", type=int, default=0, metavar="ROUNDS",
                        help="then time 'minigrad flat' against torch's fastest mode alone, ROUNDS rounds "
                             "in ABBA order (median ratio and its 95%% bootstrap interval)")
    args = parser.parse_args()
    if args.warmup < 0:
        parser.error(f"--warmup must be a count of steps (0 or more), got {args.warmup}")
    repeats = 5 if args.quick else args.repeats

    threads = match_threads(args.threads)
    n = threads["numpy_blas_threads"]
    clock = get_clock(args.clock, n)
    flat.set_num_threads(n)
    if args.chunk_bytes:
        flat.CHUNK_BYTES = args.chunk_bytes
    print(machine_info(threads))
    compiled = kernels.wanted("cpu")
    print(f"minigrad flat path: {flat.get_num_threads()} thread(s), chunks of "
          f"{flat.CHUNK_BYTES // 4} float32 elements; compiled C kernels: "
          + (f"on ({' '.join(cpu.compiler())} {' '.join(cpu.CFLAGS)})" if compiled
             else "OFF (MINIGRAD_CPU_FUSED=0 or no C compiler): 'flat' is the NumPy twin"))
    print(f"{args.numel:,} float32 parameters in {args.tensors} tensors, "
          f"median of {repeats} interleaved rounds x {args.block} samples after "
          f"{args.warmup} untimed steps, {args.clock} clock\n")

    init, grads = make_data(args.numel, args.tensors)
    other = OtherLoad()
    rows, ab_rows = [], []
    for name in args.optimizers.split(","):
        ours_cfg, torch_cfg = OPTIMIZERS[name]
        cands = {
            "minigrad teaching": minigrad_candidate(name, ours_cfg, init, grads, "teaching"),
            "minigrad flat": minigrad_candidate(name, ours_cfg, init, grads, "flat"),
            "minigrad flat, NumPy twin": minigrad_candidate(name, ours_cfg, init, grads, "flat",
                                                            compiled=False),
        }
        if not args.no_extra:
            cands["minigrad flat, pure formula"] = minigrad_candidate(
                name, ours_cfg, init, grads, "flat", inplace=False)
            if n > 1:
                cands["minigrad flat, 1 thread"] = minigrad_candidate(
                    name, ours_cfg, init, grads, "flat", threads=1)
        cands["torch foreach=False"] = torch_candidate(name, torch_cfg, init, grads,
                                                       foreach=False)
        cands["torch default"] = torch_candidate(name, torch_cfg, init, grads)
        if not args.no_extra:
            cands["torch foreach=True"] = torch_candidate(name, torch_cfg, init, grads,
                                                          foreach=True)
        if name in FUSED_ON_CPU:
            cands["torch fused=True"] = torch_candidate(name, torch_cfg, init, grads,
                                                        fused=True)
        if name == "Adam" and not args.no_extra:
            flat_grads = np.empty(sum(g.size for g in grads), dtype=np.float32)
            cands["gather gradients"] = lambda grads=grads, flat_grads=flat_grads: np.concatenate(grads, out=flat_grads)
        before = dict(kernels.stats)
        stats = interleaved(cands, repeats=repeats, warmup=args.warmup, block=args.block, clock=clock)
        if compiled and kernels.stats["fused"] == before["fused"]:
            print(f"{name}: the compiled kernels did not run ({cpu.failures})", flush=True)
        base = stats["torch foreach=False"]
        fused = stats.get("torch fused=True")
        torch_medians = {cand: st.median for cand, st in stats.items() if cand.startswith("torch")}
        fastest = min(torch_medians, key=torch_medians.get)
        for cand, st in stats.items():
            def ratio(ref, cand=cand, st=st):
                if ref is None or not cand.startswith("minigrad"):
                    return ""
                r, q1, q3 = paired_ratio(st, ref)
                return f"{r:.2f}x [{q1:.2f}, {q3:.2f}]"
            rows.append([name, cand, f"{st.median * 1e3:.1f}", ratio(base), ratio(fused),
                         "fastest" if cand == fastest else ratio(stats[fastest])])
        if args.ab:
            ab = alternating_ratio(cands["minigrad flat"], cands[fastest], rounds=args.ab, clock=clock)
            ab_rows.append([name, fastest, f"{ab[0]:.3f}x [{ab[1]:.3f}, {ab[2]:.3f}]"])
        del cands, stats
        gc.collect()
        print(f"{name}: done", flush=True)

    print()
    print(markdown_table(["optimizer", "implementation", "step (ms)", "vs torch foreach=False",
                          "vs torch fused=True", "vs torch fastest"], rows))
    if ab_rows:
        print(f"\n'minigrad flat' against torch's fastest mode alone, {args.ab} rounds in ABBA order:\n")
        print(markdown_table(["optimizer", "torch mode", "median ratio [95% interval]"], ab_rows))
    print(other.report(cpu_clock=args.clock == "cpu"))


if __name__ == "__main__":
    main()
