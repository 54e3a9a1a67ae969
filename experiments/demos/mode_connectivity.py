r"""mode-connectivity: two trained networks joined by a low-loss curve (Garipov et al. 2018).

Two MLPs (64 -> H -> H -> 10, ReLU) are trained on scikit-learn's bundled digits
(1347 training, 450 test images) from different initialisations and minibatch
orders, with ``optim.Adam``. Writing :math:`w_1, w_2` for their flattened weights:

* the **line** :math:`(1-t)w_1 + t w_2`, evaluated at 61 points of :math:`t \in [0, 1]`;
* the quadratic **Bézier curve** :math:`\phi_\theta(t) = (1-t)^2 w_1 + 2t(1-t)\theta + t^2 w_2`
  with the end points fixed; the bend :math:`\theta` starts at the midpoint
  :math:`(w_1 + w_2)/2` and is trained by minimising the training loss at one
  :math:`t \sim U(0, 1)` per minibatch, :math:`\nabla_\theta L(\phi_\theta(t)) =
  2t(1-t)\nabla_w L` (minigrad differentiates through the combination);
* the **polygonal chain** with one bend, :math:`w_1 \to \theta_c \to w_2` (linear
  pieces, bend at :math:`t = 1/2`), trained the same way.

The barrier of a path is :math:`\max_t L(\text{path}(t)) - \tfrac12(L(w_1) + L(w_2))`
for the training loss (mean cross-entropy over the whole training set).
The loss surface is drawn in the plane through :math:`w_1, w_2` and the trained
Bézier bend :math:`\theta` (orthonormal coordinates by Gram-Schmidt).

Outcomes: ``line_barrier``, ``curve_barrier``, ``chain_barrier``,
``endpoint_test_acc`` (both networks), ``line_min_test_acc``, ``curve_min_test_acc``,
``chain_min_test_acc``, ``endpoint_train_loss``.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import minigrad.functional as F
import optim
from experiments.registry import experiment

from ._sklearn_data import load_digits_split

N_LINE = 61
BATCH = 64
SEEDS = 5          # pairs of networks (full setting) for the barriers across seeds


def layer_shapes(hidden):
    return [(hidden, 64), (hidden,), (hidden, hidden), (hidden,), (10, hidden), (10,)]


def init_weights(hidden, rng):
    """He-initialised weights and zero biases, as a list of float32 arrays."""
    ws = []
    for shape in layer_shapes(hidden):
        if len(shape) == 2:
            ws.append((rng.standard_normal(shape) * np.sqrt(2.0 / shape[1])).astype(np.float32))
        else:
            ws.append(np.zeros(shape, np.float32))
    return ws


def forward(ws, x):
    """The MLP on a batch; ``ws`` are minigrad tensors (W1, b1, W2, b2, W3, b3)."""
    h = F.relu(F.linear(x, ws[0], ws[1]))
    h = F.relu(F.linear(h, ws[2], ws[3]))
    return F.linear(h, ws[4], ws[5])


def evaluate(ws, X, y):
    """(mean cross-entropy, accuracy) of the weights ``ws`` (NumPy arrays)."""
    with mg.no_grad():
        logits = forward([mg.tensor(w) for w in ws], mg.tensor(X))
        loss = float(F.cross_entropy(logits, mg.tensor(y)).item())
        acc = float((logits.numpy().argmax(1) == y).mean())
    return loss, acc


def _batches(n, rng):
    perm = rng.permutation(n)
    return [perm[i:i + BATCH] for i in range(0, n, BATCH)]


def train_endpoint(data, hidden, epochs, lr, rng):
    params = [mg.nn.Parameter(mg.tensor(w)) for w in init_weights(hidden, rng)]
    opt = optim.Adam(params, lr=lr)
    X, y = data.X_train, data.y_train
    for _ in range(epochs):
        for idx in _batches(len(y), rng):
            opt.zero_grad()
            F.cross_entropy(forward(params, mg.tensor(X[idx])), mg.tensor(y[idx])).backward()
            opt.step()
    return [p.numpy().copy() for p in params]


def straight(w1, w2, t):
    return [(1 - t) * a + t * b for a, b in zip(w1, w2)]


def bezier(w1, theta, w2, t):
    return [(1 - t) ** 2 * a + 2 * t * (1 - t) * c + t ** 2 * b for a, c, b in zip(w1, theta, w2)]


def chain(w1, theta, w2, t):
    if t <= 0.5:
        s = 2 * t
        return [(1 - s) * a + s * c for a, c in zip(w1, theta)]
    s = 2 * t - 1
    return [(1 - s) * c + s * b for c, b in zip(theta, w2)]


def train_bend(kind, w1, w2, data, epochs, lr, rng):
    """Train the bend of a Bézier curve or a polygonal chain; return it (NumPy arrays)."""
    theta = [mg.nn.Parameter(mg.tensor((a + b) / 2)) for a, b in zip(w1, w2)]
    ends1 = [mg.tensor(a) for a in w1]
    ends2 = [mg.tensor(b) for b in w2]
    path = bezier if kind == "curve" else chain
    opt = optim.Adam(theta, lr=lr)
    X, y = data.X_train, data.y_train
    for _ in range(epochs):
        for idx in _batches(len(y), rng):
            t = float(rng.uniform())
            ws = path(ends1, theta, ends2, t)
            opt.zero_grad()
            F.cross_entropy(forward(ws, mg.tensor(X[idx])), mg.tensor(y[idx])).backward()
            opt.step()
    return [p.numpy().copy() for p in theta]


def along(path_fn, ts, data):
    rec = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for t in ts:
        ws = path_fn(t)
        tl, ta = evaluate(ws, data.X_train, data.y_train)
        vl, va = evaluate(ws, data.X_test, data.y_test)
        rec["train_loss"].append(tl)
        rec["train_acc"].append(ta)
        rec["test_loss"].append(vl)
        rec["test_acc"].append(va)
    return {k: np.array(v) for k, v in rec.items()}


def barrier(train_loss):
    return float(np.max(train_loss) - 0.5 * (train_loss[0] + train_loss[-1]))


def plane_surface(w1, w2, theta, data, grid):
    """Training loss on a grid in the plane through w1, w2, theta; coordinates of the three."""
    flat = lambda ws: np.concatenate([w.ravel() for w in ws]).astype(np.float64)  # noqa: E731
    a, b, c = flat(w1), flat(w2), flat(theta)
    u = b - a
    dx = np.linalg.norm(u)
    u /= dx
    v = c - a - np.dot(c - a, u) * u
    dy = np.linalg.norm(v)
    v /= dy
    shapes = [w.shape for w in w1]

    def unflat(vec):
        out, i = [], 0
        for s in shapes:
            k = int(np.prod(s))
            out.append(vec[i:i + k].reshape(s).astype(np.float32))
            i += k
        return out

    xs = np.linspace(-0.25, 1.25, grid) * dx
    ys = np.linspace(-0.5, 1.5, grid) * dy if dy > 0 else np.linspace(-1, 1, grid)
    Z = np.zeros((grid, grid))
    for i, yy in enumerate(ys):
        for j, xx in enumerate(xs):
            Z[i, j] = evaluate(unflat(a + xx * u + yy * v), data.X_train, data.y_train)[0]
    coords = {"w1": (0.0, 0.0), "w2": (dx, 0.0), "theta": (np.dot(c - a, u), dy)}
    project = lambda ws: (np.dot(flat(ws) - a, u), np.dot(flat(ws) - a, v))  # noqa: E731
    return xs, ys, Z, coords, project


@experiment("mode-connectivity",
            "Mode connectivity on digits: the straight line between two trained MLPs crosses a "
            "loss barrier, a trained quadratic Bézier curve (and a one-bend chain) between "
            "the same end points has almost none",
            headline=("line_barrier", "curve_barrier", "chain_barrier", "curve_min_test_acc"))
def run(ctx):
    import matplotlib.pyplot as plt

    data = load_digits_split(seed=ctx.seed)
    hidden = ctx.pick(24, 32)
    epochs = ctx.pick(8, 30)
    bend_epochs = ctx.pick(8, 30)
    lr = 5e-3
    rng = np.random.default_rng(ctx.seed)
    w1 = train_endpoint(data, hidden, epochs, lr, np.random.default_rng([ctx.seed, 1]))
    w2 = train_endpoint(data, hidden, epochs, lr, np.random.default_rng([ctx.seed, 2]))
    theta = train_bend("curve", w1, w2, data, bend_epochs, lr, rng)
    theta_c = train_bend("chain", w1, w2, data, bend_epochs, lr, rng)

    n_points = ctx.pick(21, N_LINE)
    ts = np.linspace(0, 1, n_points)
    paths = {
        "line": along(lambda t: straight(w1, w2, t), ts, data),
        "Bézier curve": along(lambda t: bezier(w1, theta, w2, t), ts, data),
        "polygonal chain": along(lambda t: chain(w1, theta_c, w2, t), ts, data),
    }
    barriers = {k: barrier(v["train_loss"]) for k, v in paths.items()}

    # more pairs of networks (other seeds): the line and the Bézier curve only
    seeds = [ctx.seed + i for i in range(ctx.pick(2, SEEDS))]
    seed_loss = {"line": [paths["line"]["train_loss"]], "Bézier curve": [paths["Bézier curve"]["train_loss"]]}
    for sd in ctx.progress(seeds[1:], desc="seeds"):
        v1 = train_endpoint(data, hidden, epochs, lr, np.random.default_rng([sd, 1]))
        v2 = train_endpoint(data, hidden, epochs, lr, np.random.default_rng([sd, 2]))
        bend = train_bend("curve", v1, v2, data, bend_epochs, lr, np.random.default_rng(sd))
        seed_loss["line"].append(along(lambda t, u=v1, w=v2: straight(u, w, t), ts, data)["train_loss"])
        seed_loss["Bézier curve"].append(
            along(lambda t, u=v1, c=bend, w=v2: bezier(u, c, w, t), ts, data)["train_loss"])
    seed_barriers = {k: [barrier(x) for x in v] for k, v in seed_loss.items()}
    low_on = int(sum(c < 0.1 * ln for c, ln in zip(seed_barriers["Bézier curve"], seed_barriers["line"])))

    styles = {"line": ("C3", "-"), "Bézier curve": ("C0", "-"), "polygonal chain": ("C2", "--")}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for name, rec in paths.items():
        col, ls = styles[name]
        axes[0].plot(ts, rec["train_loss"], color=col, ls=ls, label=f"{name}, train")
        axes[0].plot(ts, rec["test_loss"], color=col, ls=ls, lw=0.8, alpha=0.6,
                     marker=".", ms=3, label=f"{name}, test")
        axes[1].plot(ts, rec["train_acc"], color=col, ls=ls, label=f"{name}, train")
        axes[1].plot(ts, rec["test_acc"], color=col, ls=ls, lw=0.8, alpha=0.6,
                     marker=".", ms=3, label=f"{name}, test")
    for name in seed_loss:
        L = np.array(seed_loss[name])
        axes[0].fill_between(ts, L.min(0), L.max(0), color=styles[name][0], alpha=0.15,
                             label=f"{name}, train: min-max of {len(seeds)} pairs")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("cross-entropy (log scale)")
    axes[0].set_title(f"loss along the path (lines: seed {seeds[0]})")
    axes[1].set_ylabel("accuracy")
    axes[1].set_title("accuracy along the path")
    for ax in axes:
        ax.set_xlabel("t (0: network 1, 1: network 2)")
        ax.legend(fontsize=7)
    ctx.savefig(fig, "paths")

    grid = ctx.pick(7, 21)
    xs, ys, Z, coords, project = plane_surface(w1, w2, theta, data, grid)
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    levels = np.quantile(np.log10(Z), np.linspace(0, 1, 16))
    cs = ax.contourf(xs, ys, np.log10(Z), levels=np.unique(levels), cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log10 training loss")
    curve_pts = np.array([project(bezier(w1, theta, w2, t)) for t in ts])
    ax.plot(curve_pts[:, 0], curve_pts[:, 1], color="w", lw=1.5, label="Bézier curve")
    ax.plot([coords["w1"][0], coords["w2"][0]], [0, 0], color="C3", lw=1.5, ls="--", label="line")
    for key, mk in (("w1", "o"), ("w2", "s"), ("theta", "^")):
        ax.plot(*coords[key], marker=mk, color="k", mfc="w", ms=8, ls="none",
                label={"w1": "$w_1$", "w2": "$w_2$", "theta": "bend $\\theta$"}[key])
    ax.set_xlabel("coordinate along $w_2 - w_1$")
    ax.set_ylabel("coordinate toward $\\theta$ (orthogonal)")
    ax.set_title("training loss in the plane through $w_1$, $w_2$, $\\theta$")
    ax.legend(fontsize=8, loc="upper right")
    ctx.savefig(fig, "plane")

    line, curve, ch = paths["line"], paths["Bézier curve"], paths["polygonal chain"]
    end_loss = [float(line["train_loss"][0]), float(line["train_loss"][-1])]
    end_acc = [float(line["test_acc"][0]), float(line["test_acc"][-1])]
    rows = [[name, barriers[name], float(rec["train_loss"].max()), float(rec["test_acc"].min()),
             float(rec["train_acc"].min())] for name, rec in paths.items()]
    low = barriers["Bézier curve"] < 0.1 * barriers["line"]
    report = f"""
**Claim** (Garipov et al. 2018): two networks trained from different initialisations
are separated by a high loss barrier along the straight line between them, but are
joined by a simple curve (a quadratic Bézier curve or a polygonal chain with one bend)
along which the training loss stays almost as low as at the end points.

**What our numbers show**: the end points reach training loss {end_loss[0]:.3g} and
{end_loss[1]:.3g} and test accuracy {end_acc[0]:.3f} and {end_acc[1]:.3f}. Along the line
the training loss rises to {line['train_loss'].max():.3g} (barrier {barriers['line']:.3g}) and
the test accuracy falls to {line['test_acc'].min():.3f}; along the trained Bézier curve the
barrier is {barriers['Bézier curve']:.3g} (lowest test accuracy {curve['test_acc'].min():.3f}),
along the chain {barriers['polygonal chain']:.3g} ({ch['test_acc'].min():.3f}).
{'The curve barrier is below a tenth of the line barrier, as claimed.' if low else
 'The curve barrier is not below a tenth of the line barrier: the claim holds only partly here.'}
Over {len(seeds)} pairs of networks (seeds {seeds}) the curve barrier is below a tenth of the line
barrier on {low_on} of {len(seeds)}: line barriers {', '.join(f'{b:.3g}' for b in seed_barriers['line'])};
curve barriers {', '.join(f'{b:.3g}' for b in seed_barriers['Bézier curve'])}.

{ctx.table(rows, ["path", "barrier (train loss)", "max train loss", "min test acc", "min train acc"])}
Setting: MLP 64-{hidden}-{hidden}-10 (ReLU), Adam lr {lr}, batch {BATCH}, {epochs} epochs per
end point, {bend_epochs} epochs for each bend, one t ~ U(0, 1) per minibatch; the paths are
evaluated at {n_points} points; the plane on a {grid}×{grid} grid; seed {ctx.seed}."""
    ctx.write_report(report, title="Mode connectivity")
    return {"line_barrier": barriers["line"], "curve_barrier": barriers["Bézier curve"],
            "chain_barrier": barriers["polygonal chain"], "endpoint_train_loss": end_loss,
            "endpoint_test_acc": end_acc, "line_min_test_acc": float(line["test_acc"].min()),
            "curve_min_test_acc": float(curve["test_acc"].min()),
            "chain_min_test_acc": float(ch["test_acc"].min()),
            "seeds": seeds, "curve_below_tenth_of_line_on_seeds": low_on,
            "per_seed": {"line_barrier": seed_barriers["line"],
                         "curve_barrier": seed_barriers["Bézier curve"]}}
