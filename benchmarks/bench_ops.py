"""Per-op overhead: forward, and forward + backward, on small float32 tensors.

    python benchmarks/bench_ops.py [--quick] [--ops add,mul,...] [--shapes 4x4,64x64] [--threads N]
                                   [--clock wall|cpu] [--profile OP] [--keep-blas-spin]

On tensors this small the arithmetic costs next to nothing, so the times are the
frameworks' own overhead per op: building the output, recording the graph, and
walking it back. For every op five candidates are timed, interleaved in one run
(each repeat times ``number`` back-to-back calls of each, in rotating order):
minigrad forward, torch forward, minigrad forward+backward, torch
forward+backward (the inputs require grad, so the forward records a graph in
both), and the bare NumPy expression of the forward ("numpy fwd": the cost of
the arithmetic itself). The backward is seeded with a gradient of ones of the
output's shape (``y.backward(seed)``), or nothing for a scalar output, so no
extra op is added; the inputs' ``.grad`` is reset to None before each call.
Before timing, each op's output and input gradients are checked against torch.
Ratios are minigrad's median over torch's median, from the same run.

``--profile OP`` runs cProfile over many forward+backward calls of one op and
prints where minigrad spends the time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats

import numpy as np
import torch
from _common import (
    OtherLoad,
    add_common_args,
    get_clock,
    interleaved,
    load_average,
    machine_info,
    markdown_table,
    match_threads,
)

import minigrad as mg
import minigrad.functional as F

TF = torch.nn.functional


def _np_softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_cross_entropy(a, t):
    m = a.max(axis=1, keepdims=True)
    logp = a - (np.log(np.exp(a - m).sum(axis=1, keepdims=True)) + m)
    return -logp[np.arange(a.shape[0]), t].mean()


# name: (number of tensor inputs, minigrad fn, torch fn, numpy fn, positive inputs?)
OPS = {
    "add": (2, lambda a, b: a + b, lambda a, b: a + b, lambda a, b: a + b, False),
    "mul": (2, lambda a, b: a * b, lambda a, b: a * b, lambda a, b: a * b, False),
    "matmul": (2, lambda a, b: a @ b, lambda a, b: a @ b, lambda a, b: a @ b, False),
    "exp": (1, lambda a: a.exp(), torch.exp, np.exp, False),
    "tanh": (1, lambda a: a.tanh(), torch.tanh, np.tanh, False),
    "sum": (1, lambda a: a.sum(), torch.sum, np.sum, False),
    "mean": (1, lambda a: a.mean(), torch.mean, np.mean, False),
    "reshape": (1, lambda a: a.reshape(2, 8), lambda a: a.reshape(2, 8),
                lambda a: a.reshape(2, 8), False),
    "transpose": (1, lambda a: a.transpose(0, 1), lambda a: a.transpose(0, 1),
                  lambda a: a.transpose(1, 0), False),
    "getitem": (1, lambda a: a[1:3], lambda a: a[1:3], lambda a: a[1:3], False),
    "softmax": (1, lambda a: F.softmax(a, dim=-1), lambda a: TF.softmax(a, dim=-1),
                _np_softmax, False),
    "cross_entropy": (1, None, None, None, False),  # per shape: _cross_entropy_fns
    "relu": (1, F.relu, torch.relu, lambda a: np.maximum(a, 0), False),
    "sigmoid": (1, F.sigmoid, torch.sigmoid, lambda a: 1 / (1 + np.exp(-a)), False),
    "log": (1, lambda a: a.log(), torch.log, np.log, True),
    "concatenate": (2, lambda a, b: mg.concatenate([a, b], 0),
                    lambda a, b: torch.cat([a, b], 0),
                    lambda a, b: np.concatenate([a, b], 0), False),
}



def _cross_entropy_fns(shape):
    """cross_entropy's three forms, with a fixed target for ``shape``'s rows."""
    target = np.random.default_rng(1).integers(0, shape[1], size=shape[0])
    target_t = torch.from_numpy(target)
    return (1, lambda a: F.cross_entropy(a, target), lambda a: TF.cross_entropy(a, target_t),
            lambda a: _np_cross_entropy(a, target), False)


def _reshape_fns(shape):
    """reshape to (2, n/2): the same view change at every size."""
    to = (2, shape[0] * shape[1] // 2)
    return (1, lambda a: a.reshape(*to), lambda a: a.reshape(*to), lambda a: a.reshape(*to), False)


def make_candidates(name, shape=(4, 4), seed=0):
    if name == "cross_entropy":
        n_in, mg_fn, torch_fn, np_fn, positive = _cross_entropy_fns(shape)
    elif name == "reshape":
        n_in, mg_fn, torch_fn, np_fn, positive = _reshape_fns(shape)
    else:
        n_in, mg_fn, torch_fn, np_fn, positive = OPS[name]
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(n_in)]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    mg_in = [mg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    th_in = [torch.tensor(a, requires_grad=True) for a in arrays]

    out = mg_fn(*mg_in)
    mg_seed = None if out.data.size == 1 and out.ndim == 0 else mg.Tensor(
        np.ones(out.shape, dtype=np.float32))
    out_t = torch_fn(*th_in)
    th_seed = None if out_t.ndim == 0 else torch.ones_like(out_t)

    def mg_fwd():
        return mg_fn(*mg_in)

    def th_fwd():
        return torch_fn(*th_in)

    def mg_fwd_bwd():
        for t in mg_in:
            t.grad = None
        mg_fn(*mg_in).backward(mg_seed)

    def th_fwd_bwd():
        for t in th_in:
            t.grad = None
        torch_fn(*th_in).backward(th_seed)

    def np_fwd():
        return np_fn(*arrays)

    # the two frameworks must agree before their times mean anything
    mg_fwd_bwd()
    th_fwd_bwd()
    np.testing.assert_allclose(mg_fwd().numpy(), th_fwd().detach().numpy(), rtol=1e-5,
                               atol=1e-6, err_msg=f"{name}: forward differs")
    for a, b in zip(mg_in, th_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: gradient differs")
    return {"minigrad fwd": mg_fwd, "torch fwd": th_fwd,
            "minigrad fwd+bwd": mg_fwd_bwd, "torch fwd+bwd": th_fwd_bwd,
            "numpy fwd": np_fwd}


def run(ops, repeats, number, warmup, clock, shape=(4, 4)):
    us = 1e6
    rows, totals = [], {"mg_f": [], "th_f": [], "mg_fb": [], "th_fb": []}
    for name in ops:
        st = interleaved(make_candidates(name, shape), repeats=repeats, number=number,
                         warmup=warmup, clock=clock)
        m = {k: s.median * us for k, s in st.items()}
        rows.append([
            name, f"{m['numpy fwd']:.2f}",
            f"{m['minigrad fwd']:.1f}", f"{m['torch fwd']:.1f}",
            f"{m['minigrad fwd'] / m['torch fwd']:.2f}x",
            f"{m['minigrad fwd+bwd']:.1f}", f"{m['torch fwd+bwd']:.1f}",
            f"{m['minigrad fwd+bwd'] / m['torch fwd+bwd']:.2f}x",
        ])
        totals["mg_f"].append(m["minigrad fwd"])
        totals["th_f"].append(m["torch fwd"])
        totals["mg_fb"].append(m["minigrad fwd+bwd"])
        totals["th_fb"].append(m["torch fwd+bwd"])
    gm = {k: float(np.exp(np.mean(np.log(v)))) for k, v in totals.items()}
    rows.append(["**geometric mean**", "", f"{gm['mg_f']:.1f}", f"{gm['th_f']:.1f}",
                 f"{gm['mg_f'] / gm['th_f']:.2f}x", f"{gm['mg_fb']:.1f}",
                 f"{gm['th_fb']:.1f}", f"{gm['mg_fb'] / gm['th_fb']:.2f}x"])
    print(markdown_table(
        [f"op ({shape[0]}x{shape[1]} float32)", "numpy fwd µs", "minigrad fwd µs", "torch fwd µs",
         "fwd ratio", "minigrad fwd+bwd µs", "torch fwd+bwd µs", "fwd+bwd ratio"], rows))


def profile(name, calls=20000, top=20):
    fn = make_candidates(name)["minigrad fwd+bwd"]
    for _ in range(100):
        fn()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    body = out.getvalue()
    print(f"\ncProfile of {calls} minigrad forward+backward calls of {name}, "
          f"top {top} by own time:\n" + body[body.find("   ncalls"):].rstrip())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--ops", default=",".join(OPS), help="comma-separated op names")
    ap.add_argument("--shapes", default="4x4",
                    help="comma-separated square or rectangular shapes, e.g. 4x4,64x64")
    ap.add_argument("--profile", metavar="OP", default=None,
                    help="cProfile minigrad's forward+backward of OP instead of timing")
    args = ap.parse_args(argv)
    ops = [o for o in args.ops.split(",") if o]
    unknown = [o for o in ops + ([args.profile] if args.profile else []) if o not in OPS]
    if unknown:
        ap.error(f"unknown ops {unknown}; known: {', '.join(OPS)}")

    threads = match_threads(args.threads)
    clock = get_clock(args.clock, threads["torch_threads"])
    if args.profile:
        profile(args.profile)
        return
    repeats, number, warmup = (7, 50, 20) if args.quick else (41, 200, 200)
    shapes = [tuple(int(d) for d in sh.split("x")) for sh in args.shapes.split(",") if sh]
    print(f"# Per-op overhead: minigrad vs torch, {args.shapes} float32\n")
    print(machine_info(threads))
    print(f"median over {repeats} interleaved repeats of {number} calls each, after "
          f"{warmup} warmup calls; µs per call ({args.clock} clock)\n")
    other = OtherLoad()
    for shape in shapes:
        run(ops, repeats, number, warmup, clock, shape)
        print()
    print(f"\nload average at end: {load_average()}")
    print(other.report(cpu_clock=args.clock == "cpu"))


if __name__ == "__main__":
    main()
