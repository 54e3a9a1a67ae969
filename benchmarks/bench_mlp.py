"""One SGD training step of a 784-512-512-10 ReLU MLP: minigrad against torch.

    python benchmarks/bench_mlp.py [--quick] [--iters N] [--threads N] [--clock wall|cpu]
                                   [--block N] [--raw] [--no-prototypes] [--no-profile]
                                   [--keep-blas-spin]

Batch 128, float32, cross-entropy loss; a step is forward + backward + the plain
SGD update theta -= lr * g (lr 0.01) + dropping the gradients. All candidates
start from the same weights and see the same batch (a 3-step agreement check of
the losses runs first). Timed, interleaved, in one run:

* ``minigrad``        ``minigrad.nn.Linear`` layers when that module exists (else
                      raw ``Tensor(requires_grad=True)`` parameters; force those
                      with ``--raw``), ops from ``minigrad.functional``, the update
                      ``p.data -= lr * p.grad.data; p.grad = None``;
* ``torch SGD``       ``torch.optim.SGD(lr=0.01, foreach=False)``, zero_grad
                      (set_to_none) counted in the forward;
* ``torch manual``    the same step by hand: ``p -= lr * p.grad`` under no_grad;
* ``numpy by hand``   the forward and the hand-derived backward in plain NumPy
                      with the same arithmetic: the floor any NumPy autodiff can
                      reach, so minigrad / numpy is the framework's overhead;
* ``minigrad fused-linear prototype``  a Linear Function defined in this file
                      (not in the engine), to size that proposal (``--no-prototypes``
                      skips it);
* ``minigrad optim.SGD`` when the project's ``optim.SGD`` exists (zero_grad
                      counted in the forward, like torch's).

Each iteration records the forward (including the loss), backward and update
times separately, so the breakdown and the totals come from the same samples.
Candidates take turns in rounds of ``--block`` iterations each (default 5), the
order rotating every round; medians over all iterations. At the end, cProfile
runs the minigrad step and lists where the time goes.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np
import torch
from _common import (
    OtherLoad,
    add_common_args,
    get_clock,
    interleaved,
    linear_init,
    load_average,
    machine_info,
    markdown_table,
    match_threads,
    paired_ratio,
)

import minigrad as mg
import minigrad.functional as F
from minigrad.function import Function

SIZES = (784, 512, 512, 10)
BATCH = 128
LR = 0.01


def make_batch(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return x, y


# ----------------------------------------------------------------- minigrad
class MinigradMLP:
    def __init__(self, weights, use_nn=True):
        self.kind = "raw Tensor(requires_grad=True) parameters + functional.linear"
        self.layers = None
        if use_nn:
            self.layers = self._nn_layers(weights)
        if self.layers is None:
            self.params = [mg.Tensor(w.copy(), requires_grad=True) for w in weights]
        else:
            self.params = [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def _nn_layers(self, weights):
        try:
            from minigrad import nn
            layers = [nn.Linear(i, o) for i, o in zip(SIZES[:-1], SIZES[1:])]
            for k, layer in enumerate(layers):
                for p, w in ((layer.weight, weights[2 * k]), (layer.bias, weights[2 * k + 1])):
                    if tuple(p.shape) != w.shape:
                        raise ValueError("unexpected parameter shape")
                    p.data = w.copy()
        except Exception:  # no minigrad.nn yet, or not the expected API
            return None
        self.kind = "minigrad.nn.Linear layers"
        return layers

    def __call__(self, x):
        if self.layers is not None:
            h = F.relu(self.layers[0](x))
            h = F.relu(self.layers[1](h))
            return self.layers[2](h)
        w1, b1, w2, b2, w3, b3 = self.params
        h = F.relu(F.linear(x, w1, b1))
        h = F.relu(F.linear(h, w2, b2))
        return F.linear(h, w3, b3)


def minigrad_step_fn(model, x, y, clock):
    xt = mg.Tensor(x)

    def step():
        t0 = clock()
        loss = F.cross_entropy(model(xt), y)
        t1 = clock()
        loss.backward()
        t2 = clock()
        for p in model.params:  # plain SGD on the backend arrays: theta -= lr * g
            p.data -= LR * p.grad.data
            p.grad = None
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2, loss

    return step


class _FusedLinear(Function):
    """PROTOTYPE (benchmarks only): y = x W^T + b as one Function.

    The engine's ``functional.linear`` is ``matmul(x, transpose(W)) + b``: three
    graph nodes per layer (MatMul, Transpose, Add), the bias added into a new
    array, and the bias gradient through ``sum_to``. Here it is one node: the
    bias is added in place into the fresh product, and dW = G^T x comes out of
    the matrix product C-contiguous (the engine's MatMul.backward now arranges
    that too; before, W's gradient was a transposed view that
    ``Tensor._accumulate_grad`` copied element by element). The backward is
    still written with Tensor ops (higher derivatives keep working). 2-D x only.
    """

    def forward(self, x, w, b):
        y = x @ w.T
        y += b  # y is a fresh array: add the bias in place
        return y

    def backward(self, g):
        x, w, b = self.inputs
        need = self.needs_input_grad
        gx = mg.matmul(g, w) if need[0] else None
        gw = mg.matmul(mg.transpose(g), x) if need[1] else None
        gb = mg.sum(g, 0) if need[2] else None
        return gx, gw, gb


class FusedMinigradMLP(MinigradMLP):
    def __init__(self, weights):
        super().__init__(weights, use_nn=False)
        self.kind = "raw parameters + prototype fused Linear Function"

    def __call__(self, x):
        w1, b1, w2, b2, w3, b3 = self.params
        h = F.relu(_FusedLinear()(x, w1, b1))
        h = F.relu(_FusedLinear()(h, w2, b2))
        return _FusedLinear()(h, w3, b3)


def minigrad_optim_step_fn(model, x, y, clock):
    """The project's optim.SGD, when it exists (None otherwise)."""
    try:
        import optim

        opt = optim.SGD(model.params, lr=LR)
    except Exception:
        return None
    xt = mg.Tensor(x)

    def step():
        t0 = clock()
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), y)
        t1 = clock()
        loss.backward()
        t2 = clock()
        opt.step()
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2, loss

    return step


# -------------------------------------------------------------------- torch
def torch_model(weights):
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        lin = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weights[2 * k]))
            lin.bias.copy_(torch.from_numpy(weights[2 * k + 1]))
        layers += [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_sgd_step_fn(model, x, y, clock):
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(model.parameters(), lr=LR, foreach=False)

    def step():
        t0 = clock()
        opt.zero_grad()  # set_to_none=True: the same as minigrad's grad = None
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        t1 = clock()
        loss.backward()
        t2 = clock()
        opt.step()
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2, loss

    return step


def torch_manual_step_fn(model, x, y, clock):
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    params = list(model.parameters())

    def step():
        t0 = clock()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        t1 = clock()
        loss.backward()
        t2 = clock()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2, loss

    return step


# --------------------------------------------------------------- numpy floor
def numpy_step_fn(weights, x, y, clock):
    """Forward, hand-derived backward and update in plain NumPy (no framework)."""
    p = [w.copy() for w in weights]
    n = x.shape[0]
    rows = np.arange(n)

    def step():
        w1, b1, w2, b2, w3, b3 = p
        t0 = clock()
        z1 = x @ w1.T + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2.T + b2
        h2 = np.maximum(z2, 0)
        z3 = h2 @ w3.T + b3
        m = z3.max(axis=1, keepdims=True)
        e = np.exp(z3 - m)
        s = e.sum(axis=1, keepdims=True)
        logp = z3 - (np.log(s) + m)
        loss = -logp[rows, y].mean()
        t1 = clock()
        dz3 = e / s
        dz3[rows, y] -= 1
        dz3 /= n
        dw3, db3 = dz3.T @ h2, dz3.sum(0)
        dz2 = (dz3 @ w3) * (z2 > 0)
        dw2, db2 = dz2.T @ h1, dz2.sum(0)
        dz1 = (dz2 @ w2) * (z1 > 0)
        dw1, db1 = dz1.T @ x, dz1.sum(0)
        t2 = clock()
        for w, g in zip(p, (dw1, db1, dw2, db2, dw3, db3)):
            w -= LR * g
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2, loss

    return step


# ------------------------------------------------------------------- checks
def _loss_value(loss) -> float:
    if isinstance(loss, torch.Tensor):
        return loss.item()
    return float(loss.item() if hasattr(loss, "item") else loss)


def check_agreement(weights, x, y, use_nn, steps=3):
    """Run a few steps of each candidate from the same start; compare losses."""
    clock = lambda: 0.0  # noqa: E731
    mgm = MinigradMLP(weights, use_nn)
    fns = {
        "minigrad": minigrad_step_fn(mgm, x, y, clock),
        "torch SGD": torch_sgd_step_fn(torch_model(weights), x, y, clock),
        "torch manual": torch_manual_step_fn(torch_model(weights), x, y, clock),
        "numpy by hand": numpy_step_fn(weights, x, y, clock),
        "minigrad fused-linear prototype": minigrad_step_fn(FusedMinigradMLP(weights), x, y,
                                                             clock),
    }
    losses = {name: [_loss_value(fn()[3]) for _ in range(steps)] for name, fn in fns.items()}
    ref = np.array(losses["torch SGD"])
    worst = max(float(np.max(np.abs(np.array(v) - ref))) for v in losses.values())
    print(f"agreement: losses over {steps} steps from the same start "
          f"(torch SGD: {', '.join(f'{v:.6f}' for v in ref)}); "
          f"largest difference of any candidate {worst:.2e}")
    if worst > 1e-4:
        raise SystemExit("candidates disagree: the benchmark would compare different work")
    return mgm.kind


# -------------------------------------------------------------------- timing
def time_candidates(weights, x, y, use_nn, iters, warmup, prototypes=True, block=5,
                    clock=time.perf_counter):
    fns = {
        "minigrad": minigrad_step_fn(MinigradMLP(weights, use_nn), x, y, clock),
        "torch SGD": torch_sgd_step_fn(torch_model(weights), x, y, clock),
        "torch manual": torch_manual_step_fn(torch_model(weights), x, y, clock),
        "numpy by hand": numpy_step_fn(weights, x, y, clock),
    }
    if prototypes:
        fns["minigrad fused-linear prototype"] = minigrad_step_fn(FusedMinigradMLP(weights),
                                                                   x, y, clock)
    extra = minigrad_optim_step_fn(MinigradMLP(weights, use_nn), x, y, clock)
    if extra is not None:
        fns["minigrad optim.SGD"] = extra

    phases = {name: [] for name in fns}

    def recorder(name, fn):
        def run():
            phases[name].append(fn()[:3])
        return run

    stats = interleaved({name: recorder(name, fn) for name, fn in fns.items()},
                        repeats=max(1, iters // block), number=1, warmup=warmup,
                        block=block, clock=clock)
    for name in phases:  # drop the warmup calls' phases
        phases[name] = phases[name][warmup:]
    return stats, phases


def report(stats, phases):
    ms = 1e3
    ref = stats["torch SGD"]
    rows = []
    for name, s in stats.items():
        q1, q3 = s.quartiles()
        r, r1, r3 = paired_ratio(s, ref)
        fwd, bwd, upd = (float(np.median([p[i] for p in phases[name]])) for i in range(3))
        rows.append([name, f"{s.median * ms:.3f}", f"[{q1 * ms:.3f}, {q3 * ms:.3f}]",
                     f"{fwd * ms:.3f}", f"{bwd * ms:.3f}", f"{upd * ms:.3f}",
                     f"{s.median / ref.median:.2f}x", f"[{r1:.2f}, {r3:.2f}]"])
    print(markdown_table(
        ["candidate", "step ms (median)", "IQR ms", "forward+loss ms", "backward ms",
         "update ms", "/ torch SGD", "paired ratio IQR"], rows))
    mgs = stats["minigrad"]
    print()
    for other in ("torch SGD", "torch manual", "numpy by hand"):
        if other not in stats:
            continue
        r, r1, r3 = paired_ratio(mgs, stats[other])
        print(f"minigrad / {other}: {mgs.median / stats[other].median:.2f}x "
              f"(paired median {r:.2f}x, IQR [{r1:.2f}, {r3:.2f}])")
    proto = stats.get("minigrad fused-linear prototype")
    if proto is not None:
        r, r1, r3 = paired_ratio(proto, ref)
        print(f"fused-linear prototype / torch SGD: {proto.median / ref.median:.2f}x "
              f"(paired median {r:.2f}x, IQR [{r1:.2f}, {r3:.2f}]); "
              f"prototype / minigrad: {proto.median / mgs.median:.2f}x")
    verdict = "meets" if mgs.median / ref.median <= 1.5 else "MISSES"
    print(f"target minigrad / torch SGD <= 1.5x: {verdict}")
    print(f"load average at end: {load_average()}")


# ------------------------------------------------------------------- profile
def graph_size(model, x, y):
    from minigrad.autograd import topological_order

    loss = F.cross_entropy(model(mg.Tensor(x)), y)
    order = topological_order([loss.creator])
    names = {}
    for fn in order:
        names[fn.op_name] = names.get(fn.op_name, 0) + 1
    return len(order), names


def profile(weights, x, y, use_nn, iters, top):
    model = MinigradMLP(weights, use_nn)
    n_nodes, names = graph_size(model, x, y)
    print(f"graph of one minigrad step: {n_nodes} Functions "
          f"({', '.join(f'{k} {v}' for k, v in sorted(names.items()))})")
    step = minigrad_step_fn(model, x, y, time.perf_counter)
    for _ in range(3):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(iters):
        step()
    prof.disable()
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out)
        st.sort_stats(key).print_stats(top)
        body = out.getvalue()
        body = body[body.find("   ncalls"):]
        print(f"\ncProfile, {iters} minigrad steps, top {top} by {title}:\n{body.rstrip()}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--iters", type=int, default=None, help="timed iterations per candidate")
    ap.add_argument("--raw", action="store_true",
                    help="raw Tensor parameters even when minigrad.nn exists")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile section")
    ap.add_argument("--no-prototypes", action="store_true",
                    help="skip the prototype candidates (fused Linear)")
    ap.add_argument("--block", type=int, default=None,
                    help="iterations a candidate runs in a row per round (default 5)")
    args = ap.parse_args(argv)

    iters = args.iters or (20 if args.quick else 300)
    block = args.block or 5
    warmup = 3 if args.quick else 10
    threads = match_threads(args.threads)
    clock = get_clock(args.clock, threads["torch_threads"])
    print("# MLP training step: minigrad vs torch\n")
    print(machine_info(threads))
    print(f"model {'-'.join(map(str, SIZES))} ReLU, batch {BATCH}, float32, cross-entropy, "
          f"SGD lr {LR}; {iters} iterations per candidate after {warmup} warmup, "
          f"interleaved in rounds of {block} iterations per candidate; medians, "
          f"{args.clock} clock\n")
    weights = linear_init(SIZES)
    x, y = make_batch()
    kind = check_agreement(weights, x, y, not args.raw)
    print(f"minigrad model: {kind}\n")
    other = OtherLoad()
    stats, phases = time_candidates(weights, x, y, not args.raw, iters, warmup,
                                    not args.no_prototypes, block, clock)
    report(stats, phases)
    print(other.report(cpu_clock=args.clock == "cpu"))
    if not args.no_profile:
        print()
        profile(weights, x, y, not args.raw, iters=10 if args.quick else 50, top=15)


if __name__ == "__main__":
    main()
