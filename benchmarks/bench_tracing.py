"""The cost of tracing summaries every step while the method-naming model trains.

    python benchmarks/bench_tracing.py [--quick] [--threads N] [--clock cpu] [--batch B]

The model is ``models.Tree2Seq`` on real Python methods: the functions of this
project's own ``optim/`` package go through the method-naming
pipeline (:func:`experiments.datasets.method_naming.build_python_corpus`, the
vocabularies, :func:`batch_examples`); embedding and hidden size 128, about a
million parameters; a batch of ``--batch`` methods (default 32) of at most 200
AST nodes. One training step is zero_grad, the loss, backward and
``optim.Adam.step``.

Candidates, timed interleaved round by round (benchmarks/_common.py), each with
its own copy of the model from the same initial weights:

* ``off``: ``trace=False``;
* ``summary``: ``trace=optim.Trace()``: every parameter, every quantity
  (theta, g, m, v, m_hat, v_hat), mean, std, min, max, L2 norm and the
  non-finite fraction, every step;
* ``summary + quantiles``: the same plus the 5%, 50% and 95% quantiles.

Reported: the median time per step and the median of the per-round ratios
against ``off`` (target: summary / off <= 1.10), the same for ``opt.step()``
alone (the gradients of the last step left in place), and the extra time of
``opt.step()`` as a fraction of the untraced training step (the tracing cost
without the noise of the forward and backward passes). ``off`` runs the same code as before tracing grew these
options (one ``is not None`` test per parameter).
"""
from __future__ import annotations

import argparse
import os

from _common import (
    ROOT,
    add_common_args,
    get_clock,
    interleaved,
    machine_info,
    markdown_table,
    match_threads,
    paired_ratio,
)

import minigrad as mg
import optim
from experiments.datasets import method_naming as mn
from models import Tree2Seq


def corpus_batch(batch, max_nodes=200):
    """The first ``batch`` methods of ``optim/`` as Tree2Seq inputs, targets and vocabularies."""
    corpus = mn.build_python_corpus(os.path.join(ROOT, "optim"), fractions=(1.0, 0.0, 0.0),
                                    max_nodes=max_nodes, cache=False, progress=False)
    if len(corpus.train) < batch:
        raise SystemExit(f"only {len(corpus.train)} methods found, fewer than --batch {batch}")
    vocabs = corpus.build_vocabs(min_freq=1)
    trees, tgt, _ = mn.batch_examples(corpus.train[:batch], *vocabs)
    return (trees.token_ids, trees.node_type_ids, trees.parent), tgt, vocabs


def candidates(args, tgt, vocabs, size=128, seed=0):
    types, tokens, targets = vocabs
    traces = {"off": False,
              "summary": lambda: optim.Trace(),
              "summary + quantiles": lambda: optim.Trace(quantiles=(0.05, 0.5, 0.95))}
    steps, step_only, info = {}, {}, {}
    for name, make in traces.items():
        mg.manual_seed(seed)
        model = Tree2Seq(len(tokens), len(types), len(targets), embed_size=size, hidden_size=size,
                         pad_idx=targets.pad_id, bos_idx=targets.bos_id, eos_idx=targets.eos_id)
        info["params"] = sum(p.data.size for p in model.parameters())
        trace = make() if callable(make) else make
        opt = optim.Adam(model.named_parameters(), lr=1e-3, trace=trace)

        def train_step(model=model, opt=opt):
            opt.zero_grad()
            model.loss(*args, tgt).backward()
            opt.step()

        def step(model=model, opt=opt):   # the gradients of the last train_step stay in place
            opt.step()

        steps[name], step_only[name] = train_step, step
    return steps, step_only, info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 3
    threads = match_threads(args.threads)
    clock = get_clock(args.clock, threads["numpy_blas_threads"])
    print(machine_info(threads))
    print(f"clock: {args.clock}\n")

    inputs, tgt, vocabs = corpus_batch(args.batch)
    steps, step_only, info = candidates(inputs, tgt, vocabs)
    stats = interleaved(steps, repeats=args.repeats, warmup=2, clock=clock)
    only = interleaved(step_only, repeats=args.repeats, warmup=2, clock=clock)
    n_nodes = int(inputs[0].shape[0])
    print(f"### Tree2Seq, {info['params']:,} parameters, batch {args.batch} methods "
          f"({n_nodes} AST nodes), Adam, one training step\n")
    rows = []
    for name in steps:
        r = paired_ratio(stats[name], stats["off"])
        q = paired_ratio(only[name], only["off"])
        rows.append([name, f"{1e3 * stats[name].median:.1f}", f"{r[0]:.3f} ({r[1]:.3f}-{r[2]:.3f})",
                     f"{1e3 * only[name].median:.2f}", f"{q[0]:.2f} ({q[1]:.2f}-{q[2]:.2f})"])
    print(markdown_table(["trace", "train step ms", "ratio vs off (IQR)", "opt.step ms",
                          "step ratio vs off (IQR)"], rows))
    print("\ntarget: summary / off <= 1.10 per training step")
    for name in list(steps)[1:]:
        extra = only[name].median - only["off"].median
        print(f"{name}: opt.step() takes {1e3 * extra:.2f} ms more than off, "
              f"{100 * extra / stats['off'].median:.1f}% of the untraced training step")


if __name__ == "__main__":
    main()
