"""One training step of Tree2Seq, minigrad against a torch twin, on 512 real Python methods.

    python benchmarks/bench_tree2seq_torch.py [--size 128] [--batch 512] [--repeats 10] [--threads 1]
                                              [--clock wall|cpu] [--quick]

The batch: the first ``--batch`` functions of the training split of the Python
standard library's method-naming corpus (``experiments.datasets``; trees of at most
``--max-nodes`` nodes), targets of at most 6 sub-tokens. The models:

* ``minigrad``: :class:`models.Tree2Seq` (E = H = ``--size``, no dropout, fused cells);
* ``torch``: the same network in torch with the same weights: token + node-type
  embedding, the level-batched Child-Sum TreeLSTM of ``bench_models.py`` (same
  schedule), ``torch.nn.LSTM`` decoder, Luong "general" attention, linear generator,
  cross-entropy with padding ignored.

A step is: build the tree schedule, forward, loss, backward, one Adam step
(lr 0.01). Both start from the same weights, and the first losses must agree
(checked before timing). Printed: the median step times and the median of the
per-round ratios minigrad / torch (target: at most 1.3).
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401  (first: it configures OpenBLAS before NumPy loads)
import numpy as np
import torch
from _common import parse_step_args, report_training_steps
from bench_models import TorchLevelTreeLSTM

import minigrad as mg
import optim
from experiments.datasets import batch_examples, build_python_corpus
from models import Tree2Seq, TreeSchedule


def real_batch(n, max_nodes):
    corpus = build_python_corpus(max_nodes=max_nodes)
    types, tokens, targets = corpus.build_vocabs(min_freq=2)
    examples = corpus.train[:n]
    if len(examples) < n:
        raise SystemExit(f"the corpus has only {len(examples)} training functions")
    tb, tgt, _ = batch_examples(examples, types, tokens, targets, max_target_len=6)
    return tb, tgt, (types, tokens, targets)


class TorchTree2Seq:
    """The twin: parameters copied from a minigrad Tree2Seq (leaf tensors with gradients)."""

    def __init__(self, model):
        self.p = {name: torch.tensor(np.array(p.numpy()), requires_grad=True)
                  for name, p in model.named_parameters()}
        H = model.encoder.hidden_size
        E = model.token_embedding.weight.shape[1]
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        with torch.no_grad():
            for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                getattr(self.lstm, k).copy_(self.p["decoder." + k])
        for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            del self.p["decoder." + k]
        self.pad = model.pad_idx

    def parameters(self):
        return list(self.p.values()) + list(self.lstm.parameters())

    def loss(self, tokens, node_types, parent, tgt):
        p, F = self.p, torch.nn.functional
        sched = TreeSchedule(parent)
        x = F.embedding(tokens, p["token_embedding.weight"]) + F.embedding(node_types, p["type_embedding.weight"])
        enc = TorchLevelTreeLSTM((p["encoder.weight_ih"], p["encoder.weight_hh"], p["encoder.bias_ih"],
                                  p["encoder.bias_hh"]), sched)
        h, c = enc(x)
        index, valid = sched.padded_nodes()
        memory = h[torch.from_numpy(index)]                              # (B, S, H)
        mask = torch.from_numpy(valid)
        roots = torch.from_numpy(sched.roots)
        state = (h[roots].unsqueeze(0), c[roots].unsqueeze(0))
        emb = F.embedding(tgt[:, :-1], p["tgt_embedding.weight"], padding_idx=self.pad)
        out, _ = self.lstm(emb, state)                                   # (B, T, H)
        keys = memory @ p["attention.linear_in.weight"].T
        scores = (out @ keys.transpose(1, 2)).masked_fill(~mask[:, None, :], float("-inf"))
        ctx = torch.softmax(scores, dim=-1) @ memory
        h_tilde = torch.tanh(torch.cat([ctx, out], dim=-1) @ p["attention.linear_out.weight"].T)
        logits = F.linear(h_tilde, p["generator.weight"], p["generator.bias"])
        V = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, V), tgt[:, 1:].reshape(-1), ignore_index=self.pad)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="embedding and hidden size (default 128)")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--max-nodes", type=int, default=200)
    args = parse_step_args(ap, argv, repeats=10)
    tb, tgt, (types, tokens, targets) = real_batch(args.batch, args.max_nodes)
    print(f"batch: {tb.num_trees} Python methods, {tb.num_nodes} nodes, targets {tgt.shape}, "
          f"E = H = {args.size}")
    mg.manual_seed(0)
    model = Tree2Seq(len(tokens), len(types), len(targets), args.size, args.size, dropout=0.0,
                     pad_idx=targets.pad_id, bos_idx=targets.bos_id, eos_idx=targets.eos_id)
    twin = TorchTree2Seq(model)
    t_tok, t_typ = torch.from_numpy(tb.token_ids), torch.from_numpy(tb.node_type_ids)
    t_tgt = torch.from_numpy(tgt)

    ours = model.loss(tb.token_ids, tb.node_type_ids, tb.parent, tgt).item()
    theirs = twin.loss(t_tok, t_typ, tb.parent, t_tgt).item()
    print(f"first loss: minigrad {ours:.6f}, torch {theirs:.6f}")
    if abs(ours - theirs) > 1e-4 * max(1.0, abs(theirs)):
        sys.exit("the two models disagree: the comparison would be meaningless")

    opt = optim.Adam(model.parameters(), lr=0.01)
    topt = torch.optim.Adam(twin.parameters(), lr=0.01)

    def step_minigrad():
        opt.zero_grad()
        model.loss(tb.token_ids, tb.node_type_ids, tb.parent, tgt).backward()
        opt.step()

    def step_torch():
        topt.zero_grad()
        twin.loss(t_tok, t_typ, tb.parent, t_tgt).backward()
        topt.step()

    report_training_steps(step_minigrad, step_torch, repeats=args.repeats, clock=args.clock, threads=args.threads,
                          batch=args.batch, unit="examples", target=1.3)

if __name__ == "__main__":
    main()
