"""Forward + backward timings of the recurrent models against torch (CPU).

    python benchmarks/bench_models.py [--quick] [--threads N] [--repeats N] [--clock wall|cpu]
                                      [--only lstm|treelstm]

1. LSTM: batch 64, input 128, hidden 256, 50 steps, one layer, float32; the loss
   is sum(output * G) for a fixed random G, so every output gets a gradient.
   Candidates: ``torch.nn.LSTM`` and ``models.LSTM`` with the fused cell (the
   default: one op per layer, ``LSTMLayerFunction``) and with the composed cell.
   Target: fused / torch <= 1.0.
2. Child-Sum TreeLSTM: 64 random trees of 30-80 nodes (each node's parent drawn
   uniformly among the earlier nodes), input 128, hidden 256, float32, the same
   kind of loss over all node states h and c, gradients for the weights and the
   inputs (which are embeddings in Tree2Seq). Candidates:

   * ``models.ChildSumTreeLSTM``: level by level (all nodes of one height in
     one product);
   * ``torch level-batched``: the same algorithm (same schedule) written in
     torch below (``split``/``cat`` to gather children, ``index_add`` for the
     segment sums, ``index_select`` for the permutations); target:
     minigrad / torch <= 1.3;
   * ``minigrad per node``: the plain recursion, one node at a time, in minigrad
     ops, with the same parameters; target: level-batched >= 10x faster.

Rules (benchmarks/_common.py): torch and NumPy's BLAS get the same thread
count (default 1: the machines these run on are shared, and oversubscribed BLAS
threads make timings meaningless); candidates are interleaved round by round;
medians of per-round times and of per-round ratios are reported. ``--clock cpu``
times with the calling thread's CPU clock (with ``--threads 1``): other work on
a busy machine then does not count.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from _common import get_clock, interleaved, machine_info, markdown_table, match_threads, paired_ratio

import minigrad as mg
from minigrad.ops import sigmoid, tanh
from models import LSTM, ChildSumTreeLSTM, TreeSchedule


# --------------------------------------------------------------------- LSTM
def lstm_candidates(T=50, B=64, I=128, H=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    g = rng.standard_normal((T, B, H)).astype(np.float32)
    torch.manual_seed(seed)
    t_lstm = torch.nn.LSTM(I, H)
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)

    def run_torch():
        t_lstm.zero_grad(set_to_none=True)
        out, _ = t_lstm(xt)
        (out * gt).sum().backward()

    cands = {"torch.nn.LSTM": run_torch}
    xm, gm = mg.tensor(x), mg.tensor(g)
    for cell in ("fused", "composed"):
        m = LSTM(I, H, cell=cell)
        for name, p in m.named_parameters():                # the same weights as torch
            p.data[...] = getattr(t_lstm, name).detach().numpy()

        def run(m=m):
            m.zero_grad()
            out, _ = m(xm)
            (out * gm).sum().backward()

        cands[f"models.LSTM ({cell})"] = run
    return cands


# ----------------------------------------------------------------- TreeLSTM
def random_forest(n_trees, lo, hi, rng):
    """Parent array of ``n_trees`` random recursive trees, nodes shuffled across the batch."""
    parents, offset = [], 0
    for _ in range(n_trees):
        n = int(rng.integers(lo, hi + 1))
        p = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, n)])
        parents.append(np.where(p < 0, -1, p + offset))
        offset += n
    return np.concatenate(parents)


class TorchLevelTreeLSTM:
    """The level-by-level Child-Sum TreeLSTM of models/treelstm.py, in torch."""

    def __init__(self, weights, sched):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = weights
        self.sched = sched
        self.order = torch.from_numpy(sched.order)
        self.position = torch.from_numpy(sched.position)
        self.child_parent = torch.from_numpy(sched.child_parent)
        self.segments = [None] + [torch.from_numpy(seg) for _, seg in sched.levels[1:]]

    def __call__(self, x):
        H = self.w_hh.shape[1]
        wi, wf, wu, wo = self.w_ih.split(H)
        ui, uf, uu, uo = self.w_hh.split(H)
        bi, bf, bu, bo = (self.b_ih + self.b_hh).split(H)
        x_sorted = x.index_select(0, self.order)
        x_iuo = torch.nn.functional.linear(x_sorted, torch.cat([wi, wu, wo]),
                                           torch.cat([bi, bu, bo]))
        u_iuo = torch.cat([ui, uu, uo])
        sizes = self.sched.level_sizes
        x_iuo = x_iuo.split(sizes)
        x_f = torch.nn.functional.linear(x.index_select(0, self.child_parent), wf, bf)
        x_f = (None,) + x_f.split(self.sched.child_counts)
        hs, cs, h_blocks, c_blocks = [], [], [], []
        for level, n in enumerate(sizes):
            if level == 0:
                i, u, o = x_iuo[0].split(H, 1)
                c = torch.sigmoid(i) * torch.tanh(u)
            else:
                pieces, seg = self.sched.levels[level][0], self.segments[level]
                h_k = torch.cat([h_blocks[m][j] for m, j in pieces])
                c_k = torch.cat([c_blocks[m][j] for m, j in pieces])
                zeros = h_k.new_zeros((n, H))
                h_sum = zeros.index_add(0, seg, h_k)
                i, u, o = (x_iuo[level] + h_sum @ u_iuo.T).split(H, 1)
                f = torch.sigmoid(x_f[level] + h_k @ uf.T)
                c = torch.sigmoid(i) * torch.tanh(u) + zeros.index_add(0, seg, f * c_k)
            hs.append(torch.sigmoid(o) * torch.tanh(c))
            cs.append(c)
            h_blocks.append(hs[-1].split(self.sched.blocks[level]))
            c_blocks.append(c.split(self.sched.blocks[level]))
        h, c = torch.cat(hs), torch.cat(cs)
        return h.index_select(0, self.position), c.index_select(0, self.position)


def treelstm_per_node(model, x, parent):
    """The plain recursion: node by node, children first, in minigrad ops."""
    H = model.hidden_size
    wi, wf, wu, wo = mg.split(model.weight_ih, H, 0)
    ui, uf, uu, uo = mg.split(model.weight_hh, H, 0)
    bi, bf, bu, bo = mg.split(model.bias_ih + model.bias_hh, H, 0)
    n = len(parent)
    children = [[] for _ in range(n)]
    for k, p in enumerate(parent):
        if p >= 0:
            children[p].append(k)
    hs, cs = [None] * n, [None] * n
    order = TreeSchedule(parent).order                     # children before parents
    zero = mg.zeros(H)
    for j in order:
        xj = x[int(j)]
        kids = children[j]
        h_sum = zero
        for k in kids:
            h_sum = h_sum + hs[k]
        i = sigmoid(wi @ xj + ui @ h_sum + bi)
        u = tanh(wu @ xj + uu @ h_sum + bu)
        o = sigmoid(wo @ xj + uo @ h_sum + bo)
        c = i * u
        for k in kids:
            c = c + sigmoid(wf @ xj + uf @ hs[k] + bf) * cs[k]
        hs[j], cs[j] = o * tanh(c), c
    return mg.stack(hs), mg.stack(cs)


def treelstm_candidates(n_trees=64, lo=30, hi=80, I=128, H=256, seed=0):
    rng = np.random.default_rng(seed)
    parent = random_forest(n_trees, lo, hi, rng)
    perm = rng.permutation(len(parent))                    # mix the trees' nodes
    inv = np.argsort(perm)
    parent = np.where(parent[perm] < 0, -1, inv[np.maximum(parent[perm], 0)])
    N = len(parent)
    x = rng.standard_normal((N, I)).astype(np.float32)
    gh = rng.standard_normal((N, H)).astype(np.float32)
    gc = rng.standard_normal((N, H)).astype(np.float32)
    mg.manual_seed(seed)
    model = ChildSumTreeLSTM(I, H)
    sched = TreeSchedule(parent)
    info = {"nodes": N, "levels": len(sched.level_sizes)}
    xm, ghm, gcm = mg.tensor(x, requires_grad=True), mg.tensor(gh), mg.tensor(gc)

    def run_level():
        model.zero_grad()
        xm.grad = None
        h, c = model(xm, parent)        # includes building the schedule, every call
        ((h * ghm).sum() + (c * gcm).sum()).backward()

    weights = [torch.tensor(p.numpy(), requires_grad=True)
               for p in (model.weight_ih, model.weight_hh, model.bias_ih, model.bias_hh)]
    xt = torch.tensor(x, requires_grad=True)
    ght, gct = torch.from_numpy(gh), torch.from_numpy(gc)

    def run_torch():
        for w in (*weights, xt):
            w.grad = None
        tmodel = TorchLevelTreeLSTM(weights, TreeSchedule(parent))
        h, c = tmodel(xt)
        ((h * ght).sum() + (c * gct).sum()).backward()

    def run_per_node():
        model.zero_grad()
        xm.grad = None
        h, c = treelstm_per_node(model, xm, parent)
        ((h * ghm).sum() + (c * gcm).sum()).backward()

    return ({"models.ChildSumTreeLSTM": run_level, "torch level-batched": run_torch},
            run_per_node, info, (model, xm, parent, weights, xt))


def check_treelstm_agreement(model, xm, parent, weights, xt):
    """The three implementations compute the same h (sanity check before timing)."""
    h1, _ = model(xm, parent)
    h2, _ = TorchLevelTreeLSTM(weights, TreeSchedule(parent))(xt)
    h3, _ = treelstm_per_node(model, xm, parent)
    err = max(np.abs(h1.numpy() - h2.detach().numpy()).max(),
              np.abs(h1.numpy() - h3.numpy()).max())
    if err > 1e-4:
        sys.exit(f"TreeLSTM implementations disagree (max abs difference {err:.2e})")


# --------------------------------------------------------------------- main
def fmt_ms(stats):
    q1, q3 = stats.quartiles()
    return f"{stats.median * 1e3:.1f} ({q1 * 1e3:.1f}-{q3 * 1e3:.1f})"


def fmt_ratio(r):
    return f"{r[0]:.2f} ({r[1]:.2f}-{r[2]:.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--slow-repeats", type=int, default=3,
                    help="rounds for the per-node recursion (seconds per call)")
    ap.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or the thread's CPU time (with --threads 1; immune to other load)")
    ap.add_argument("--only", choices=("lstm", "treelstm"), default=None,
                    help="run one of the two comparisons (default: both)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.slow_repeats = 3, 1
    threads = match_threads(args.threads)
    clock = get_clock(args.clock, args.threads)
    print(machine_info(threads))
    print(f"clock: {args.clock}")
    print()

    if args.only != "treelstm":
        lstm_table(args, clock)
    if args.only != "lstm":
        treelstm_table(args, clock)


def lstm_table(args, clock):
    cands = lstm_candidates()
    stats = interleaved(cands, repeats=args.repeats, warmup=2, clock=clock)
    ref = stats["torch.nn.LSTM"]
    rows = [[name, fmt_ms(s), "1" if s is ref else fmt_ratio(paired_ratio(s, ref))]
            for name, s in stats.items()]
    print("### LSTM: T=50, B=64, I=128, H=256, forward + backward, float32\n")
    print(markdown_table(["candidate", "ms median (IQR)", "ratio vs torch (IQR)"], rows))
    print("\ntarget: models.LSTM (fused) / torch.nn.LSTM <= 1.0\n")


def treelstm_table(args, clock):
    cands, per_node, info, check = treelstm_candidates()
    check_treelstm_agreement(*check)
    stats = interleaved(cands, repeats=args.repeats, warmup=2, clock=clock)
    slow = interleaved({"minigrad per node": per_node,
                        "models.ChildSumTreeLSTM": cands["models.ChildSumTreeLSTM"]},
                       repeats=args.slow_repeats, warmup=1, clock=clock)
    level, torch_level = stats["models.ChildSumTreeLSTM"], stats["torch level-batched"]
    rows = [["models.ChildSumTreeLSTM", fmt_ms(level), fmt_ratio(paired_ratio(level, torch_level)),
             ""],
            ["torch level-batched", fmt_ms(torch_level), "1", ""],
            ["minigrad per node", fmt_ms(slow["minigrad per node"]), "",
             fmt_ratio(paired_ratio(slow["minigrad per node"], slow["models.ChildSumTreeLSTM"]))]]
    print(f"### Child-Sum TreeLSTM: 64 trees, {info['nodes']} nodes, {info['levels']} levels, "
          "I=128, H=256, forward + backward, float32\n")
    print(markdown_table(["candidate", "ms median (IQR)", "ratio vs torch level-batched (IQR)",
                          "per-node time / level-batched time (IQR)"], rows))
    print("\ntargets: ChildSumTreeLSTM / torch level-batched <= 1.3; "
          "per node / level-batched >= 10")


if __name__ == "__main__":
    main()
