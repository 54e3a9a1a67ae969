"""The GPU benchmarks: fused Adam against the bandwidth floor and torch, models against the CPU and torch.

    PYTHONPATH=. python benchmarks/bench_gpu.py [--out DIR] [--quick] [--device cuda|cpu]
                                               [--sections bandwidth,adam,lstm,tree2seq,transformer]

Sections (each is timed on its own; one that fails is reported with its error
and the others still run):

``bandwidth``
    The device's copy bandwidth: ``copyto`` of a 1 GiB float32 array, counted
    as bytes read plus bytes written.
``adam``
    One Adam step on 10M float32 parameters in 100 tensors, as in
    ``bench_optim.py``: minigrad's flat path with the fused kernel
    (``optim.fast.gpu``), the fused kernel alone on the flat buffers (no
    bookkeeping), the flat path without fusion (one kernel per ufunc), the
    teaching path, and torch's ``fused=True`` and ``foreach=True``. The floor
    is 28 bytes per parameter (read theta, g, m, v; write theta, m, v) at the
    measured copy bandwidth; targets: fused flat step within 1.2x of the
    floor and at most 1.0x torch ``fused=True``.
``lstm``
    A 2-layer LSTM (input 256, hidden 512, batch 64, 50 steps) forward and
    backward: minigrad on the GPU against ``torch.nn.LSTM`` (cuDNN).
``tree2seq``
    A Tree2Seq training step (loss, backward, Adam) on 512 random methods
    (trees of 10-60 nodes): the GPU against minigrad's CPU path (target: at
    least 5x faster). There is no torch twin of Tree2Seq, so no torch ratio.
``transformer``
    A Transformer training step (d_model 256, 8 heads, 3+3 layers, batch 64,
    source and target length 32): the GPU against minigrad's CPU path
    (target: at least 5x) and against a torch model of the same sizes
    (``torch.nn.Transformer`` with embeddings and a generator) on the GPU.

Timing: every candidate is warmed up, then timed in interleaved rounds
(each round times every candidate once), the device synchronized before and
after; the figure is the median over rounds. The Markdown table is printed
and, with ``--out DIR``, written to ``DIR/bench_gpu.md`` with the raw figures
in ``DIR/bench_gpu.json`` (after every section, so a time limit keeps what
finished). Without a GPU (and ``--device cuda``) it says why and exits 0:
nothing was measured, nothing failed.

``--device cpu`` runs the same code with NumPy and torch on the CPU (small
sizes with ``--quick``): it checks the script on a machine without a GPU and
measures nothing about GPUs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from anywhere, without installing the package
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
import optim  # noqa: E402
from minigrad import atomic, backend  # noqa: E402

SECTIONS = ("bandwidth", "adam", "lstm", "tree2seq", "transformer")


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------

def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


class Timer:
    """Synchronizes the device (CuPy and torch) around timed calls."""

    def __init__(self, device):
        self.device = device
        self.torch = _torch()
        self.torch_device = "cuda" if device == "cuda" else "cpu"

    def sync(self):
        if self.device == "cuda":
            backend.xp_for("cuda").cuda.Device().synchronize()
            if self.torch is not None and self.torch.cuda.is_available():
                self.torch.cuda.synchronize()

    def interleaved(self, candidates: dict, rounds: int, inner: int = 1, warmup: int = 2) -> dict:
        """Median seconds per call of each candidate, timed in interleaved rounds."""
        for fn in candidates.values():
            for _ in range(warmup):
                fn()
        self.sync()
        times = {name: [] for name in candidates}
        names = list(candidates)
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                fn = candidates[name]
                self.sync()
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn()
                self.sync()
                times[name].append((time.perf_counter() - t0) / inner)
        return {name: statistics.median(ts) for name, ts in times.items()}


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------

def bench_bandwidth(timer, quick):
    xp = backend.xp_for(timer.device)
    n = (16 if quick else 256) * 2**20                        # float32 elements: 64 MiB / 1 GiB
    src = xp.ones(n, dtype=np.float32)
    dst = xp.empty_like(src)
    t = timer.interleaved({"copy": lambda: xp.copyto(dst, src)}, rounds=5 if quick else 20, inner=5)["copy"]
    gbs = 2 * src.nbytes / t / 1e9
    return {"rows": [("copy bandwidth (read + write)", f"{gbs:.0f} GB/s", "")], "copy_GBps": gbs}


def _adam_params(device, numel, tensors, seed=0):
    rng = np.random.default_rng(seed)
    per = numel // tensors
    init = [rng.standard_normal(per).astype(np.float32) for _ in range(tensors)]
    grads = [rng.standard_normal(per).astype(np.float32) for _ in range(tensors)]
    return init, grads


def bench_adam(timer, quick, bandwidth):
    from optim.fast import gpu as fused
    from optim.fast import kernels
    numel, tensors = (10**6, 10) if quick else (10**7, 100)
    init, grads = _adam_params(timer.device, numel, tensors)
    cands, opts = {}, {}

    def minigrad_step(impl, env_fused):
        params = [mg.Tensor(a, requires_grad=True, device=timer.device) for a in init]
        for p, g in zip(params, grads):
            p.grad = mg.Tensor(g, device=timer.device)
        opt = optim.Adam(params, lr=1e-3, impl=impl)

        def step():                  # (on --device cpu the switch is the compiled CPU kernels')
            names = ("MINIGRAD_GPU_FUSED", "MINIGRAD_CPU_FUSED")
            saved = {name: os.environ.get(name) for name in names}
            os.environ.update({name: env_fused for name in names})
            try:
                opt.step()
            finally:
                for name, value in saved.items():
                    if value is None:
                        del os.environ[name]
                    else:
                        os.environ[name] = value
        return step, opt

    cands["minigrad flat, fused kernel"], opts["fused"] = minigrad_step("flat", "1")
    cands["minigrad flat, one kernel per ufunc"], _ = minigrad_step("flat", "0")
    cands["minigrad teaching"], _ = minigrad_step("teaching", "1")

    # the fused kernel alone on flat buffers: what the step costs without the bookkeeping
    xp = backend.xp_for(timer.device)
    theta = xp.asarray(np.concatenate(init))
    g = xp.asarray(np.concatenate(grads))
    m, v = xp.zeros_like(theta), xp.zeros_like(theta)
    kernel = kernels.kernel(kernels.adam_kernel, xp, amsgrad=False, maximize=False, weight_decay=False,
                          decoupled=False, efficient=False)
    s = np.float32
    cands["fused kernel alone (flat buffers)"] = lambda: kernel(
        theta, g, m, v, s(1e-3), s(0.9), s(0.1), s(0.999), s(0.001), s(1e-8), s(0.0), s(0.5), s(0.5))

    torch = timer.torch
    if torch is not None:
        dev = timer.torch_device
        for flag in ("fused", "foreach"):
            if flag == "fused" and dev == "cpu" and not hasattr(torch.optim.Adam, "__init__"):
                continue
            tp = [torch.tensor(a, device=dev, requires_grad=True) for a in init]
            for p, gr in zip(tp, grads):
                p.grad = torch.tensor(gr, device=dev)
            topt = torch.optim.Adam(tp, lr=1e-3, **{flag: True})
            cands[f"torch {flag}=True"] = topt.step
    before = kernels.stats["fused"]
    times = timer.interleaved(cands, rounds=5 if quick else 30, inner=1 if quick else 5)
    ran_fused = kernels.stats["fused"] > before
    floor = 28 * numel / (bandwidth * 1e9) if bandwidth else None
    rows = []
    torch_fused = times.get("torch fused=True")
    for name, t in times.items():
        ratios = []
        if floor:
            ratios.append(f"{t / floor:.2f}x floor")
        if torch_fused:
            ratios.append(f"{t / torch_fused:.2f}x torch fused")
        rows.append((f"Adam step, {numel / 1e6:g}M float32 in {tensors} tensors: {name}",
                     f"{t * 1e3:.3f} ms", ", ".join(ratios)))
    if floor:
        rows.insert(0, ("Adam bandwidth floor (28 B/parameter)", f"{floor * 1e3:.3f} ms", ""))
    main = times["minigrad flat, fused kernel"]
    out = {"rows": rows, "times_s": times, "floor_s": floor, "fused_kernel_ran": ran_fused,
           "kernel_failures": dict(fused.failures), "targets": {}}
    if floor:
        out["targets"]["fused flat step <= 1.2x floor"] = (main / floor, main <= 1.2 * floor)
    if torch_fused:
        out["targets"]["fused flat step <= 1.0x torch fused=True"] = (main / torch_fused, main <= torch_fused)
    return out


def bench_lstm(timer, quick):
    from models.lstm import LSTM
    B, T, I, H = (8, 10, 32, 64) if quick else (64, 50, 256, 512)
    x = np.random.default_rng(0).standard_normal((B, T, I)).astype(np.float32)
    cands = {}
    for cell in ("fused", "composed"):
        mg.manual_seed(0)
        model = LSTM(I, H, num_layers=2, batch_first=True, cell=cell).to(timer.device)
        xm = mg.tensor(x, device=timer.device)

        def step(model=model, xm=xm):
            model.zero_grad()
            out, _ = model(xm)
            out.sum().backward()
        cands[f"minigrad LSTM ({cell} cell)"] = step
    torch = timer.torch
    if torch is not None:
        tl = torch.nn.LSTM(I, H, num_layers=2, batch_first=True).to(timer.torch_device)
        tx = torch.tensor(x, device=timer.torch_device)

        def tstep():
            tl.zero_grad()
            out, _ = tl(tx)
            out.sum().backward()
        cands["torch nn.LSTM (cuDNN on the GPU)"] = tstep
    times = timer.interleaved(cands, rounds=3 if quick else 10)
    ref = times.get("torch nn.LSTM (cuDNN on the GPU)")
    rows = [(f"LSTM 2x{H}, batch {B}, {T} steps, forward+backward: {n}", f"{t * 1e3:.2f} ms",
             f"{t / ref:.2f}x torch" if ref and not n.startswith("torch") else "")
            for n, t in times.items()]
    return {"rows": rows, "times_s": times}


def _random_methods(n, rng, vocab, types, tgt_vocab, lo, hi):
    from models import batch_trees
    parents, tokens, kinds, names = [], [], [], []
    for _ in range(n):
        size = int(rng.integers(lo, hi + 1))
        parents.append(np.array([-1] + [int(rng.integers(max(0, j - 4), j)) for j in range(1, size)]))
        tokens.append(rng.integers(3, vocab, size))
        kinds.append(rng.integers(0, types, size))
        names.append(rng.integers(3, tgt_vocab, int(rng.integers(2, 7))))
    tgt = np.zeros((n, max(map(len, names)) + 2), dtype=np.int64)
    for b, name in enumerate(names):
        tgt[b, :len(name) + 2] = [1, *name, 2]
    return (np.concatenate(tokens), np.concatenate(kinds), batch_trees(parents)), tgt


def _train_step(model, loss_fn):
    opt = optim.Adam(model.parameters(), lr=1e-3, impl="flat")

    def step():
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return step


def bench_tree2seq(timer, quick):
    from models import Tree2Seq
    n, E, H = (32, 32, 32) if quick else (512, 128, 256)
    (tok, typ, parent), tgt = _random_methods(n, np.random.default_rng(0), 1000, 40, 500, 10, 60)
    times = {}
    for device in ("cpu", timer.device):
        mg.manual_seed(0)
        model = Tree2Seq(1000, 40, 500, embed_size=E, hidden_size=H).to(device)
        step = _train_step(model, lambda model=model: model.loss(tok, typ, parent, tgt))
        label = "minigrad CPU" if device == "cpu" else "minigrad GPU"
        if label in times:
            label += " (again)"
        rounds = (1 if device == "cpu" else 10) if not quick else 2     # the CPU step takes seconds
        times[label] = timer.interleaved({"step": step}, rounds=rounds, warmup=1)["step"]
    cpu, gpu = times["minigrad CPU"], times.get("minigrad GPU", times.get("minigrad CPU (again)"))
    rows = [(f"Tree2Seq training step, {n} methods, E={E} H={H}: {k}", f"{t * 1e3:.1f} ms", "")
            for k, t in times.items()]
    rows.append(("Tree2Seq: GPU speed-up over the CPU path", f"{cpu / gpu:.1f}x", "target >= 5x"))
    return {"rows": rows, "times_s": times, "targets": {"Tree2Seq GPU >= 5x CPU": (cpu / gpu, cpu / gpu >= 5)}}


def _torch_transformer(torch, vocab, d, heads, layers, ff, device):
    class Twin(torch.nn.Module):
        """The same sizes as models.Transformer: embeddings, nn.Transformer, generator."""

        def __init__(self):
            super().__init__()
            self.src = torch.nn.Embedding(vocab, d, padding_idx=0)
            self.tgt = torch.nn.Embedding(vocab, d, padding_idx=0)
            self.core = torch.nn.Transformer(d, heads, layers, layers, ff, dropout=0.0, batch_first=True)
            self.generator = torch.nn.Linear(d, vocab)

        def loss(self, src, tgt):
            T = tgt.shape[1] - 1
            mask = self.core.generate_square_subsequent_mask(T, device=src.device)
            out = self.core(self.src(src), self.tgt(tgt[:, :-1]), tgt_mask=mask,
                            src_key_padding_mask=src == 0, tgt_key_padding_mask=tgt[:, :-1] == 0,
                            memory_key_padding_mask=src == 0)
            logits = self.generator(out)
            return torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tgt[:, 1:].reshape(-1),
                                                     ignore_index=0)
    return Twin().to(device)


def bench_transformer(timer, quick):
    from models.transformer import Transformer
    B, S, d, heads, layers, vocab = (8, 12, 32, 2, 1, 50) if quick else (64, 32, 256, 8, 3, 1000)
    rng = np.random.default_rng(0)
    src = rng.integers(3, vocab, (B, S))
    tgt = np.concatenate([np.ones((B, 1), dtype=np.int64), rng.integers(3, vocab, (B, S - 2)),
                          np.full((B, 1), 2)], axis=1)
    times = {}
    for device in ("cpu", timer.device):
        mg.manual_seed(0)
        model = Transformer(vocab, d_model=d, nhead=heads, num_encoder_layers=layers,
                            num_decoder_layers=layers, dropout=0.0, max_len=S + 2).to(device)
        step = _train_step(model, lambda model=model: model.loss(src, tgt))
        label = "minigrad CPU" if device == "cpu" else "minigrad GPU"
        if label in times:
            label += " (again)"
        rounds = 2 if (device == "cpu" or quick) else 10
        times[label] = timer.interleaved({"step": step}, rounds=rounds, warmup=1)["step"]
    torch = timer.torch
    if torch is not None:
        twin = _torch_transformer(torch, vocab, d, heads, layers, 4 * d, timer.torch_device)
        topt = torch.optim.Adam(twin.parameters(), lr=1e-3)
        tsrc = torch.tensor(src, device=timer.torch_device)
        ttgt = torch.tensor(tgt, device=timer.torch_device)

        def tstep():
            topt.zero_grad()
            twin.loss(tsrc, ttgt).backward()
            topt.step()
        times["torch (same sizes)"] = timer.interleaved({"step": tstep}, rounds=2 if quick else 10,
                                                        warmup=1)["step"]
    cpu = times["minigrad CPU"]
    gpu = times.get("minigrad GPU", times.get("minigrad CPU (again)"))
    rows = [(f"Transformer training step, batch {B}, length {S}, d={d}, {layers}+{layers} layers: {k}",
             f"{t * 1e3:.1f} ms", "") for k, t in times.items()]
    rows.append(("Transformer: GPU speed-up over the CPU path", f"{cpu / gpu:.1f}x", "target >= 5x"))
    targets = {"Transformer GPU >= 5x CPU": (cpu / gpu, cpu / gpu >= 5)}
    if "torch (same sizes)" in times:
        rows.append(("Transformer: minigrad GPU / torch", f"{gpu / times['torch (same sizes)']:.2f}x",
                     "reported"))
    return {"rows": rows, "times_s": times, "targets": targets}


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def markdown(results, info):
    lines = ["# GPU benchmarks", ""]
    lines.append(f"Device: {info.get('device', 'none')} ({info.get('memory_gib', '?')} GiB), "
                 f"CuPy {info.get('cupy_version', info.get('cupy'))}, CUDA runtime "
                 f"{info.get('cuda_runtime', '?')}, driver {info.get('cuda_driver', '?')}; "
                 f"torch {info.get('torch', 'absent')}.")
    if info.get("measured_on") == "cpu":
        lines.append("")
        lines.append("**Run with --device cpu: these figures are CPU figures, not GPU measurements.**")
    lines += ["", "| benchmark | time | ratio |", "|---|---|---|"]
    for name, res in results.items():
        if "error" in res:
            lines.append(f"| {name} | FAILED | {res['error'].splitlines()[-1].replace('|', '/')} |")
            continue
        for row in res["rows"]:
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in row) + " |")
    targets = [(k, v) for res in results.values() for k, v in res.get("targets", {}).items()]
    if targets:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for k, (value, met) in targets:
            lines.append(f"| {k} | {value:.2f} | {'yes' if met else 'NO'} |")
    if "adam" in results and "fused_kernel_ran" in results["adam"]:
        lines += ["", f"Fused kernel ran in the flat path: {results['adam']['fused_kernel_ran']}."]
        for name, error in results["adam"].get("kernel_failures", {}).items():
            lines.append(f"Kernel not built: {name}: {error}")
    return "\n".join(lines) + "\n"


def _write(out, results, info):
    md = markdown(results, info)
    if out is None:
        return md
    os.makedirs(out, exist_ok=True)
    atomic.write_text(os.path.join(out, "bench_gpu.md"), md)
    atomic.write_text(os.path.join(out, "bench_gpu.json"),
                      json.dumps({"info": info, "results": results}, indent=1, default=str))
    return md


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="also write bench_gpu.json and bench_gpu.md into this folder")
    parser.add_argument("--quick", action="store_true", help="small sizes (a check of the script)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args(argv)
    from minigrad import cuda
    if args.device == "cuda" and not cuda.is_available():     # nothing to measure: skipped, not failed
        print(f"bench_gpu skipped, no GPU: {cuda.unavailable_reason()}")
        return 0
    info = cuda.device_info() if args.device == "cuda" else {"device": "CPU (no GPU measured)"}
    info["measured_on"] = args.device
    torch = _torch()
    info["torch"] = torch.__version__ if torch is not None else None
    timer = Timer(args.device)
    results, bandwidth, md = {}, None, ""
    for section in [s for s in args.sections.split(",") if s]:
        if section not in SECTIONS:
            parser.error(f"unknown section {section!r}; choose from {', '.join(SECTIONS)}")
        t0 = time.perf_counter()
        try:
            if section == "bandwidth":
                res = bench_bandwidth(timer, args.quick)
                bandwidth = res["copy_GBps"]
            elif section == "adam":
                res = bench_adam(timer, args.quick, bandwidth)
            else:
                res = globals()[f"bench_{section}"](timer, args.quick)
        except Exception:
            res = {"error": traceback.format_exc()}
        res["seconds"] = time.perf_counter() - t0
        results[section] = res
        print(f"[{section}: {res['seconds']:.1f} s]", file=sys.stderr)
        for row in res.get("rows", []):
            print("  " + " | ".join(map(str, row)))
        if "error" in res:
            print(res["error"], file=sys.stderr)
        md = _write(args.out, results, info)      # after every section: a time limit keeps the rest
    print(md)
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
