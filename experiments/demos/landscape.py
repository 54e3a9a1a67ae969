r"""landscape: 1-D and 2-D loss landscapes with filter normalisation (Li et al. 2018).

Li, Xu, Taylor, Studer & Goldstein (2018), "Visualizing the Loss Landscape of
Neural Nets", NeurIPS. Around a trained parameter vector :math:`\theta^*` the
loss is plotted along random directions,

.. math::

    \ell(t) = L(\theta^* + t\,d) \quad\text{(1-D)}, \qquad
    \ell(a, b) = L(\theta^* + a\,d_1 + b\,d_2) \quad\text{(2-D)}.

A raw Gaussian direction is meaningless across networks, since a network with
rescaled weights computes the same function with a differently scaled landscape.
**Filter normalisation** fixes the scale: the direction is drawn
:math:`d \sim N(0, I)` with the shapes of the parameters, then each *filter* is
rescaled to the norm of the corresponding filter of :math:`\theta^*`,
:math:`d_{i} \leftarrow d_{i}\,\lVert\theta^*_{i}\rVert / \lVert d_{i}\rVert`.
For a fully connected layer ``Linear`` with weight of shape (out, in), a filter
is one row: the incoming weights of one output unit. **Biases** get a zero
direction (the "ignore biases" setting of the paper's code, ``--xignore
biasbn``): they are not perturbed. So :math:`t = \pm 1` moves every unit's
weight vector by a random vector as long as itself, whatever the scale the
optimizer left it at, and the values at :math:`\pm 1` compare the flatness of
two minima.

The model is an MLP 64-32-10 (tanh) on scikit-learn's digits (1347 training
images), trained from the same initialisation with minibatch SGD (momentum 0.9)
and with Adam; the landscape is the mean cross-entropy on the whole training set.
The same raw random directions (same seed) are used around both minima, each
filter-normalised to its own minimum. The 1-D values are also measured along a
few more random directions, and their mean is the flatness proxy reported. The
flatness comparison is repeated for ``SEEDS`` seeds (initialisation, minibatch
order and directions), and the verdict says on how many seeds each minimum is the
flatter one.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import minigrad.functional as F
import optim
from experiments.registry import experiment
from minigrad import nn

from ._sklearn_data import load_digits_split

SEEDS = 5   # seeds of the flatness comparison


def _mlp(seed):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))


def train(kind, data, epochs, seed, lr):
    model = _mlp(seed)
    if kind == "sgd":
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    n, batch = len(data.y_train), 64
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(n), int(np.ceil(n / batch))):
            opt.zero_grad()
            F.cross_entropy(model(mg.tensor(data.X_train[idx])),
                            mg.tensor(data.y_train[idx])).backward()
            opt.step()
    return model


def filter_normalized_direction(params, rng):
    """A random direction, filter-normalised to ``params`` (a list of arrays).

    2-D weights (out, in): each row rescaled to the norm of the same row of the
    parameter. 1-D parameters (biases): zero.
    """
    direction = []
    for p in params:
        if p.ndim < 2:
            direction.append(np.zeros_like(p))              # biases are not perturbed
            continue
        d = rng.standard_normal(p.shape).astype(p.dtype)
        rows_d = d.reshape(p.shape[0], -1)
        rows_p = p.reshape(p.shape[0], -1)
        scale = np.linalg.norm(rows_p, axis=1) / (np.linalg.norm(rows_d, axis=1) + 1e-12)
        direction.append((rows_d * scale[:, None]).reshape(p.shape))
    return direction


class Landscape:
    """Evaluates L(theta* + sum_j c_j d_j) on the training set, theta* kept aside."""

    def __init__(self, model, X, y):
        self.model = model
        self.params = list(model.parameters())
        self.theta = [p.numpy().copy() for p in self.params]
        self.X, self.y = mg.tensor(X), mg.tensor(y)

    def __call__(self, coeffs, directions):
        for p, theta, *ds in zip(self.params, self.theta, *directions):
            value = theta.copy()
            for c, d in zip(coeffs, ds):
                value += c * d
            p.data[...] = value
        with mg.no_grad():
            loss = F.cross_entropy(self.model(self.X), self.y).item()
        self.restore()
        return float(loss)

    def restore(self):
        for p, theta in zip(self.params, self.theta):
            p.data[...] = theta


def _test_accuracy(model, data):
    with mg.no_grad():
        logits = model(mg.tensor(data.X_test)).numpy()
    return float((logits.argmax(-1) == data.y_test).mean())


@experiment("landscape", "1-D and 2-D filter-normalised loss landscapes (Li et al. 2018) around "
            "the minima SGD and Adam find for an MLP on scikit-learn digits",
            headline=("sgd.loss_at_min", "adam.loss_at_min", "sgd.flatness_proxy",
                      "adam.flatness_proxy"))
def run(ctx):
    import matplotlib.pyplot as plt

    data = load_digits_split(seed=ctx.seed)
    epochs = ctx.pick(4, 40)
    settings = {"sgd": ("SGD (momentum 0.9)", 0.1), "adam": ("Adam", 1e-2)}
    ts = np.linspace(-1.5, 1.5, ctx.pick(13, 31))          # contains -1, 0 and 1
    i0, ip, im = (int(np.argmin(np.abs(ts - v))) for v in (0.0, 1.0, -1.0))
    grid = np.linspace(-1.0, 1.0, ctx.pick(9, 25))
    n_dirs = ctx.pick(2, 5)

    results, curves, surfaces = {}, {}, {}
    for key, (label, lr) in ctx.progress(settings.items(), desc="minima"):
        model = train(key, data, epochs, ctx.seed, lr)
        land = Landscape(model, data.X_train, data.y_train)
        dir_rng = np.random.default_rng(ctx.seed + 12345)  # the same raw directions for both
        dirs = [filter_normalized_direction(land.theta, dir_rng) for _ in range(max(n_dirs, 2))]
        lines = np.array([[land([t], [d]) for t in ts] for d in dirs[:n_dirs]])
        surface = np.array([[land([a, b], [dirs[0], dirs[1]]) for a in grid] for b in grid])
        center = land([0.0], [dirs[0]])
        curves[key], surfaces[key] = lines, surface
        plus, minus = lines[:, ip], lines[:, im]
        results[key] = {
            "label": label, "lr": lr,
            "loss_at_min": center,
            "loss_plus1": float(plus[0]), "loss_minus1": float(minus[0]),
            "loss_plus1_mean": float(plus.mean()), "loss_minus1_mean": float(minus.mean()),
            "flatness_proxy": float(0.5 * (plus.mean() + minus.mean()) - center),
            "loss_2d_center": float(surface[len(grid) // 2, len(grid) // 2]),
            "loss_2d_max": float(surface.max()),
            "loss_2d_mean": float(surface.mean()),
            "test_accuracy": _test_accuracy(model, data),
            "weight_norm": float(np.sqrt(sum((p ** 2).sum() for p in land.theta if p.ndim == 2))),
        }

    # -- the flatness proxy over more seeds (initialisation and minibatch order) -----
    seeds = [ctx.seed + i for i in range(SEEDS)]
    proxies = {"sgd": [results["sgd"]["flatness_proxy"]], "adam": [results["adam"]["flatness_proxy"]]}
    for sd in ctx.progress(seeds[1:], desc="seeds"):
        for key, (_label, lr) in settings.items():
            land = Landscape(train(key, data, epochs, sd, lr), data.X_train, data.y_train)
            dir_rng = np.random.default_rng(sd + 12345)
            dirs = [filter_normalized_direction(land.theta, dir_rng) for _ in range(n_dirs)]
            center = land([0.0], [dirs[0]])
            ends = [land([t], [d]) for d in dirs for t in (-1.0, 1.0)]
            proxies[key].append(float(np.mean(ends) - center))
    sgd_flatter = int(sum(p < q for p, q in zip(proxies["sgd"], proxies["adam"])))

    # -- plots ----------------------------------------------------------------------
    colors = {"sgd": "tab:red", "adam": "tab:blue"}
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for key, lines in curves.items():
        for j, line in enumerate(lines):
            ax.plot(ts, line, color=colors[key], lw=1.8 if j == 0 else 0.7,
                    alpha=1.0 if j == 0 else 0.4,
                    label=results[key]["label"] if j == 0 else None)
    ax.axvline(-1, color="0.6", ls=":", lw=0.8)
    ax.axvline(1, color="0.6", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel(r"t  (loss at $\theta^* + t\,d$, d filter-normalised)")
    ax.set_ylabel("training cross-entropy")
    ax.set_title(f"1-D landscape (thick: direction 1; thin: {n_dirs - 1} more)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "landscape_1d")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    all_vals = np.concatenate([s.ravel() for s in surfaces.values()])
    levels = np.geomspace(max(all_vals.min(), 1e-4), all_vals.max(), 18)
    for ax, (key, surface) in zip(axes, surfaces.items()):
        cs = ax.contour(grid, grid, surface, levels=levels, cmap="viridis",
                        norm=plt.matplotlib.colors.LogNorm())
        ax.clabel(cs, cs.levels[::3], fmt="%.2g", fontsize=7)
        ax.plot(0, 0, "k*", ms=10)
        ax.set_title(f"{results[key]['label']}: L(min) = {results[key]['loss_at_min']:.3g}")
        ax.set_xlabel("a (direction 1)")
        ax.set_ylabel("b (direction 2)")
        ax.set_aspect("equal")
    fig.suptitle("2-D filter-normalised landscape, same contour levels (log-spaced)")
    fig.tight_layout()
    ctx.savefig(fig, "landscape_2d")

    s, a = results["sgd"], results["adam"]
    flatter = "SGD" if s["flatness_proxy"] < a["flatness_proxy"] else "Adam"
    rel = abs(s["flatness_proxy"] - a["flatness_proxy"]) / max(s["flatness_proxy"],
                                                              a["flatness_proxy"])
    n_seeds = len(seeds)
    if sgd_flatter in (0, n_seeds):
        who = "SGD" if sgd_flatter == n_seeds else "Adam"
        verdict = (f"on seed {seeds[0]} {flatter}'s minimum is the flatter one ({100 * rel:.0f}% less "
                   f"rise), and {who}'s is the flatter one on every one of the {n_seeds} seeds")
    else:
        verdict = (f"on seed {seeds[0]} {flatter}'s minimum is the flatter one ({100 * rel:.0f}% less "
                   f"rise), but over {n_seeds} seeds SGD's is flatter on {sgd_flatter} and Adam's on "
                   f"{n_seeds - sgd_flatter}: neither is flatter on every seed")
    rows = [[r["label"], r["lr"], r["loss_at_min"], r["loss_minus1"], r["loss_plus1"],
             r["flatness_proxy"], r["loss_2d_max"], r["test_accuracy"], r["weight_norm"]]
            for r in results.values()]
    report = f"""
An MLP 64-32-10 (tanh) trained for {epochs} epochs on scikit-learn's digits, once with SGD
(lr {s['lr']:g}, momentum 0.9) and once with Adam (lr {a['lr']:g}), from the same
initialisation. Around each minimum the training loss is evaluated along filter-normalised
random directions (each row of each weight matrix rescaled to the norm of that row of the
minimum; biases not perturbed), the same raw directions for both. SGD's minimum has training
loss {s['loss_at_min']:.4f}; one unit along direction 1 it is {s['loss_minus1']:.3f} (t = -1)
and {s['loss_plus1']:.3f} (t = +1). Adam's minimum has {a['loss_at_min']:.4f}, and
{a['loss_minus1']:.3f} and {a['loss_plus1']:.3f} at t = -1 and +1. Averaged over {n_dirs}
directions, the rise at t = +-1 (the flatness proxy) is {s['flatness_proxy']:.3f} for SGD and
{a['flatness_proxy']:.3f} for Adam: by this measure {verdict}.
In both, the loss grows by orders of magnitude within one filter-normalised unit
(`landscape_1d.png`, log scale), and the 2-D contours (`landscape_2d.png`, the same levels in
both panels) show a single basin around each minimum, with the largest value on the [-1, 1]^2
grid {s['loss_2d_max']:.3g} (SGD) and {a['loss_2d_max']:.3g} (Adam). Filter normalisation is
what makes the two comparable: the weight norms differ ({s['weight_norm']:.2f} against
{a['weight_norm']:.2f}), and raw directions would measure that scale rather than the shape.

{ctx.table(rows, ['optimizer', 'lr', 'L(min)', 'L(t=-1)', 'L(t=+1)', 'flatness proxy',
                  'max on 2-D grid', 'test acc', '|W| (weights)'])}
The flatness proxy on every seed (initialisation, minibatch order and directions; the
plots show seed {seeds[0]}):

{ctx.table([[sd, proxies['sgd'][i], proxies['adam'][i]] for i, sd in enumerate(seeds)],
           ['seed', 'SGD flatness proxy', 'Adam flatness proxy'])}
"""
    ctx.write_report(report)
    return {
        "model": "MLP 64-32-10 tanh", "dataset": "sklearn digits", "epochs": epochs,
        "normalization": "filter (row) normalised weights; biases: zero direction",
        "directions_1d": n_dirs, "grid_2d": int(len(grid)),
        "sgd": {k: v for k, v in s.items() if k != "label"},
        "adam": {k: v for k, v in a.items() if k != "label"},
        "flatter": flatter.lower(),
        "flatness_relative_difference": float(rel),
        "seeds": seeds, "sgd_flatter_on_seeds": sgd_flatter,
        "per_seed": {"flatness_proxy": proxies},
    }
