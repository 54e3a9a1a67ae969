"""Train a small multilayer perceptron on the two-spirals problem.

A synthetic data set (two interleaved spirals, 2-D points, two classes), a
2-64-64-2 MLP with tanh, cross-entropy, SGD with momentum on minibatches. The
loss printed every few epochs falls and the accuracy climbs; run it with
``python examples/train_mlp.py [--epochs N] [--device cpu|cuda]``.
"""
from __future__ import annotations

import argparse

import numpy as np

import minigrad as mg
import optim
from minigrad import functional as F
from minigrad import nn


def two_spirals(n_per_class: int, noise: float, rng: np.random.Generator):
    """Points on two interleaved spirals: class 0 and class 1 (rotated by pi)."""
    t = np.sqrt(rng.random(n_per_class)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    return x.astype(np.float32), y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_all, y_all = two_spirals(500, 0.02, rng)

    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 2)).to(args.device)
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    first = last = None
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_all))
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            idx = order[start:start + args.batch_size]
            x = mg.tensor(x_all[idx], device=args.device)
            logits = model(x)
            loss = F.cross_entropy(logits, mg.tensor(y_all[idx], device=args.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        mean_loss = total / len(order)
        first = mean_loss if first is None else first
        last = mean_loss
        if epoch == 1 or epoch % 10 == 0:
            with mg.no_grad():
                pred = model(mg.tensor(x_all, device=args.device)).numpy().argmax(1)
            print(f"epoch {epoch:3d}  loss {mean_loss:.4f}  accuracy {(pred == y_all).mean():.3f}")
    print(f"loss fell from {first:.4f} to {last:.4f}")
    return first, last


if __name__ == "__main__":
    main()
