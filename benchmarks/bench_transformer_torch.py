"""One training step of the translation study's Transformer, minigrad against torch's layers.

    python benchmarks/bench_transformer_torch.py [--batch 128] [--length 32] [--vocab 1500]
                                                 [--repeats 20] [--threads 1] [--clock wall|cpu] [--quick]

The setting of the translation study (``experiments/study/translation.py``):
d_model 32, 2 heads, 2 encoder and 2 decoder layers, feed-forward 128, dropout
0.1, batch 128, source and target sequences of 32 positions (random tokens with
some padding), vocabularies of ``--vocab`` tokens. The models:

* ``minigrad``: :class:`models.Transformer`;
* ``torch``: the same network from ``torch.nn.TransformerEncoderLayer`` and
  ``torch.nn.TransformerDecoderLayer`` (the layers ``torch.nn.Transformer`` stacks;
  without its two extra final LayerNorms, which the study's model does not have),
  with the same embeddings, sinusoidal positions, output layer and weights.

A step is: forward (padding and causal masks), cross-entropy with padding
ignored, backward, one Adam step. Both start from the same weights, and their
first losses (dropout off) must agree before timing; timing runs with dropout on
in both. Printed: median step times and the median of the per-round ratios
minigrad / torch (target: at most 1.3).
"""
from __future__ import annotations

import argparse
import math
import sys

import _common  # noqa: F401  (first: it configures OpenBLAS before NumPy loads)
import numpy as np
import torch
from _common import parse_step_args, report_training_steps

import minigrad as mg
import optim
from models import Transformer


class TorchTwin(torch.nn.Module):
    """The study's Transformer in torch layers, with ``model``'s weights."""

    def __init__(self, model, nhead, dim_feedforward, dropout):
        super().__init__()
        d = model.d_model
        self.d_model, self.pad = d, model.pad_idx
        self.src_embedding = torch.nn.Embedding(*model.src_embedding.weight.shape, padding_idx=model.pad_idx)
        self.tgt_embedding = torch.nn.Embedding(*model.tgt_embedding.weight.shape, padding_idx=model.pad_idx)
        self.register_buffer("pe", torch.from_numpy(np.asarray(model.positional.pe.numpy())), persistent=False)
        self.drop = torch.nn.Dropout(dropout)
        kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True)
        self.encoder_layers = torch.nn.ModuleList(
            [torch.nn.TransformerEncoderLayer(d, nhead, **kw) for _ in model.encoder_layers])
        self.decoder_layers = torch.nn.ModuleList(
            [torch.nn.TransformerDecoderLayer(d, nhead, **kw) for _ in model.decoder_layers])
        self.generator = torch.nn.Linear(d, model.generator.weight.shape[0])
        ours = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
        missing = self.load_state_dict(ours, strict=False)
        if missing.missing_keys or missing.unexpected_keys:
            sys.exit(f"weights do not map onto the torch twin: {missing}")

    def _embed(self, emb, tokens):
        x = emb(tokens) * math.sqrt(self.d_model)
        return self.drop(x + self.pe[:tokens.shape[1]])

    def loss(self, src, tgt):
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
        src_pad, tgt_pad = src == self.pad, tgt_in == self.pad
        T = tgt_in.shape[1]
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        x = self._embed(self.src_embedding, src)
        for layer in self.encoder_layers:
            x = layer(x, src_key_padding_mask=src_pad)
        y = self._embed(self.tgt_embedding, tgt_in)
        for layer in self.decoder_layers:
            y = layer(y, x, tgt_mask=future, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        logits = self.generator(y)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                                                 ignore_index=self.pad)


def batch(n, length, vocab, seed=0):
    """Token ids in [3, vocab) with BOS first, EOS at a random length, padding after it."""
    rng = np.random.default_rng(seed)

    def seqs(width):
        x = rng.integers(3, vocab, size=(n, width))
        lengths = rng.integers(width // 3, width, size=n)
        x[np.arange(width)[None, :] > lengths[:, None]] = 0
        x[np.arange(n), lengths] = 2
        return x

    src = seqs(length)
    tgt = np.concatenate([np.ones((n, 1), dtype=src.dtype), seqs(length)], axis=1)
    return src.astype(np.int64), tgt.astype(np.int64)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=1500, help="source and target vocabulary size (default 1500)")
    args = parse_step_args(ap, argv, repeats=20)
    d, nhead, ff, dropout = 32, 2, 128, 0.1
    mg.manual_seed(0)
    model = Transformer(args.vocab, args.vocab, d_model=d, nhead=nhead, num_encoder_layers=2,
                        num_decoder_layers=2, dim_feedforward=ff, dropout=dropout, max_len=args.length + 1)
    twin = TorchTwin(model, nhead, ff, dropout)
    src, tgt = batch(args.batch, args.length, args.vocab)
    t_src, t_tgt = torch.from_numpy(src), torch.from_numpy(tgt)
    print(f"batch {args.batch}, length {args.length}, vocabularies {args.vocab}, d_model {d}, {nhead} heads, "
          f"2 + 2 layers, feed-forward {ff}, dropout {dropout}")

    model.eval()
    twin.eval()
    ours = model.loss(src, tgt).item()
    with torch.no_grad():
        theirs = twin.loss(t_src, t_tgt).item()
    print(f"first loss (dropout off): minigrad {ours:.6f}, torch {theirs:.6f}")
    if abs(ours - theirs) > 1e-4 * max(1.0, abs(theirs)):
        sys.exit("the two models disagree: the comparison would be meaningless")
    model.train()
    twin.train()

    opt = optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    topt = torch.optim.Adam(twin.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)

    def step_minigrad():
        opt.zero_grad()
        model.loss(src, tgt).backward()
        opt.step()

    def step_torch():
        topt.zero_grad()
        twin.loss(t_src, t_tgt).backward()
        topt.step()

    report_training_steps(step_minigrad, step_torch, repeats=args.repeats, clock=args.clock, threads=args.threads,
                          batch=args.batch, unit="sentence pairs", target=1.3)

if __name__ == "__main__":
    main()
