r"""lookahead: SGD against Lookahead(SGD), on a noisy 2-D quadratic and on an MLP.

Lookahead (Zhang, Lucas, Hinton & Ba 2019) keeps slow weights :math:`\phi`;
the inner ("fast") optimizer takes :math:`k` steps from :math:`\theta = \phi`,
then :math:`\phi \leftarrow \phi + \alpha(\theta_k - \phi)` and
:math:`\theta \leftarrow \phi` (``optim.Lookahead``, here k = 5, alpha = 0.5).

1. **The test function**: the lectures' ill-conditioned quadratic
   :math:`f(x) = 0.1 x_1^2 + 2 x_2^2` (curvatures 0.2 and 4) with additive
   Gaussian noise on the gradient, :math:`g = \nabla f(x) + \sigma\xi`,
   :math:`\xi \sim N(0, I)`: the noisy quadratic model the Lookahead paper
   analyses (its section 3.1), where the slow weights' averaging lowers the
   steady-state variance. Both methods use the same fast optimizer, SGD with
   heavy-ball momentum 0.9, and see the same noise sequence; losses are the
   noise-free :math:`f`. The contour plot draws SGD's path, Lookahead's fast
   weights (thin line) and its slow weights (markers, one every k steps).
2. **A small model**: an MLP 64-32-10 (tanh) on scikit-learn's digits
   (1347 training / 450 test images), minibatch SGD with momentum against
   Lookahead around the same SGD, the same batches. Each epoch has a multiple
   of k steps, so at every epoch end Lookahead's parameters are its slow
   weights. Both run for ``MLP_SEEDS`` seeds (initialisation and batch order),
   drawn as bands; the verdict says on how many seeds Lookahead ends lower.

Distance travelled is the length of the path of the parameters (the sum of
the step lengths :math:`\sum_t \|\theta_{t+1} - \theta_t\|`, the
synchronisation jumps included for Lookahead's fast weights), and for the slow
weights the length of the polyline through them.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import minigrad.functional as F
import optim
from experiments.registry import experiment
from minigrad import nn

from ._sklearn_data import load_digits_split

CURV = np.array([0.2, 4.0])          # f(x) = 0.1 x1^2 + 2 x2^2 = sum(CURV * x^2) / 2
X0 = np.array([-8.0, 2.5])
K, ALPHA = 5, 0.5
MLP_SEEDS = 5                        # seeds of the MLP comparison (initialisation, batch order)


def f2d(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (CURV * x * x).sum(-1)


def _path_length(points):
    points = np.asarray(points)
    return float(np.linalg.norm(np.diff(points, axis=0), axis=-1).sum())


def run_2d(use_lookahead, steps, sigma, lr, momentum, seed):
    """One run on the noisy quadratic; returns fast path, slow points and the losses."""
    x = nn.Parameter(mg.tensor(X0.copy(), dtype=np.float64))
    curv = mg.tensor(CURV, dtype=np.float64)
    base = optim.SGD([x], lr=lr, momentum=momentum)
    opt = (optim.Lookahead(base, k=K, alpha=ALPHA, trace=["theta_k", "phi"])
           if use_lookahead else base)
    noise = np.random.default_rng(seed).standard_normal((steps, 2)) * sigma
    fast = [X0.copy()]          # the fast weights after every inner step, syncs drawn as jumps
    current = [X0.copy()]       # the parameters after every step() (after a sync)
    for t in range(steps):
        opt.zero_grad()
        loss = 0.5 * (curv * x * x).sum()
        loss.backward()
        x.grad.data[...] += noise[t]                        # g = grad f + sigma xi
        n_records = len(opt.trace) if use_lookahead else 0
        opt.step()
        if use_lookahead and len(opt.trace) > n_records:    # this step synchronised:
            fast.append(opt.trace[-1]["theta_k"])           # theta_k, then the jump to phi
        fast.append(x.numpy().copy())
        current.append(x.numpy().copy())
    current = np.array(current)
    out = {"fast": np.array(fast), "current": current, "losses": f2d(current)}
    if use_lookahead:
        out["slow"] = np.vstack([X0[None], opt.trace_of("phi", param=0)])
    return out


def _mlp(seed):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))


def _flat(model):
    return np.concatenate([p.numpy().ravel() for p in model.parameters()])


def run_mlp(use_lookahead, data, epochs, batches_per_epoch, lr, momentum, seed):
    model = _mlp(seed)
    base = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    opt = optim.Lookahead(base, k=K, alpha=ALPHA, trace=["theta_k"]) if use_lookahead else base
    Xtr, ytr = mg.tensor(data.X_train), mg.tensor(data.y_train)
    Xte, yte = mg.tensor(data.X_test), mg.tensor(data.y_test)

    def evaluate():
        with mg.no_grad():
            tr = F.cross_entropy(model(Xtr), ytr).item()
            logits = model(Xte)
            te = F.cross_entropy(logits, yte).item()
            acc = float((logits.numpy().argmax(-1) == data.y_test).mean())
        return tr, te, acc

    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    history = [evaluate()]
    path, slow_path = 0.0, 0.0
    prev, prev_slow = _flat(model), _flat(model)
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(n), batches_per_epoch):
            xb, yb = mg.tensor(data.X_train[idx]), mg.tensor(data.y_train[idx])
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
            now = _flat(model)
            if use_lookahead and opt.trace:                  # a synchronisation: theta_k -> phi
                theta_k = np.concatenate([r["theta_k"].ravel() for r in opt.trace])
                opt.clear_trace()
                path += float(np.linalg.norm(theta_k - prev) + np.linalg.norm(now - theta_k))
                slow_path += float(np.linalg.norm(now - prev_slow))
                prev_slow = now
            else:
                path += float(np.linalg.norm(now - prev))
            prev = now
        history.append(evaluate())
    return np.array(history), path, slow_path


@experiment("lookahead", "SGD vs Lookahead(SGD): slow and fast weights on a noisy ill-conditioned "
            "quadratic, and an MLP on scikit-learn digits",
            headline=("quadratic.steady_state_loss.sgd", "quadratic.steady_state_loss.lookahead",
                      "mlp.final_train_loss.sgd", "mlp.final_train_loss.lookahead"))
def run(ctx):
    import matplotlib.pyplot as plt

    # -- 1. the noisy quadratic ---------------------------------------------------
    steps = ctx.pick(100, 200)                  # multiples of K: the last point is synchronised
    sigma, lr, momentum = 1.0, 0.1, 0.9
    tail = steps // 4                           # the steady state: the last quarter
    n_seeds = ctx.pick(5, 20)
    seed0 = ctx.seed * 1000
    shown_sgd = run_2d(False, steps, sigma, lr, momentum, seed0)
    shown_la = run_2d(True, steps, sigma, lr, momentum, seed0)
    stats = {"sgd": [], "lookahead": []}
    for s in ctx.progress(range(n_seeds), desc="2-D seeds"):
        for key, use in (("sgd", False), ("lookahead", True)):
            r = (shown_sgd if use is False else shown_la) if s == 0 else run_2d(
                use, steps, sigma, lr, momentum, seed0 + s)
            stats[key].append((r["losses"][-1], r["losses"][-tail:].mean(),
                               _path_length(r["fast"])))
    stats = {k: np.array(v) for k, v in stats.items()}
    slow_pts = shown_la["slow"]
    slow_path = _path_length(slow_pts)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.8),
                                  gridspec_kw={"width_ratios": [1.6, 1]})
    g1, g2 = np.meshgrid(np.linspace(-9, 5.5, 291), np.linspace(-3.2, 3.2, 161))
    ax.contour(g1, g2, f2d(np.stack([g1, g2], -1)), levels=np.geomspace(0.05, 40, 14),
               colors="0.75", linewidths=0.7)
    ax.plot(*shown_sgd["fast"].T, color="tab:red", lw=0.9, alpha=0.8, label="SGD (momentum 0.9)")
    ax.plot(*shown_la["fast"].T, color="tab:blue", lw=0.5, alpha=0.8,
            label="Lookahead: fast weights")
    ax.plot(*slow_pts.T, "o-", color="navy", ms=4, lw=1.2,
            label=f"Lookahead: slow weights (every k={K} steps)")
    ax.plot(*X0, marker="o", color="k", ms=7, ls="none", zorder=6, label="start")
    ax.plot(0, 0, marker="*", color="k", mec="w", ms=16, ls="none", zorder=6, label="minimum")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(rf"$f = 0.1x_1^2 + 2x_2^2$, gradient noise $\sigma$={sigma:g}, lr={lr:g}, "
                 f"{steps} steps")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_aspect("equal")
    ax2.semilogy(shown_sgd["losses"], color="tab:red", lw=1, label="SGD")
    ax2.semilogy(shown_la["losses"], color="tab:blue", lw=1, label="Lookahead(SGD)")
    ax2.set_xlabel("step")
    ax2.set_ylabel("f (noise-free)")
    ax2.set_title("loss along the runs on the left")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "lookahead_2d")

    # -- 2. the MLP on digits -------------------------------------------------------
    data = load_digits_split(seed=ctx.seed)
    epochs, bpe = ctx.pick(3, 30), 20           # 20 batches of ~67: a multiple of K per epoch
    mlp_lr, mlp_mom = 0.1, 0.9
    mlp_seeds = [ctx.seed + i for i in range(MLP_SEEDS)]
    runs_sgd = [run_mlp(False, data, epochs, bpe, mlp_lr, mlp_mom, sd) for sd in mlp_seeds]
    runs_la = [run_mlp(True, data, epochs, bpe, mlp_lr, mlp_mom, sd) for sd in mlp_seeds]
    H_sgd = np.array([r[0] for r in runs_sgd])          # (seeds, epochs + 1, 3)
    H_la = np.array([r[0] for r in runs_la])
    h_sgd, h_la = np.median(H_sgd, axis=0), np.median(H_la, axis=0)
    _, path_sgd, _ = runs_sgd[0]
    _, path_la, slow_la = runs_la[0]
    la_lower = int((H_la[:, -1, 0] < H_sgd[:, -1, 0]).sum())

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    ep = np.arange(epochs + 1)

    def band(ax, H, col, ls, label, log=True):
        (ax.semilogy if log else ax.plot)(ep, np.median(H, axis=0), ls, color=col, label=label)
        ax.fill_between(ep, H.min(axis=0), H.max(axis=0), color=col, alpha=0.18)

    band(a1, H_sgd[:, :, 0], "tab:red", "-", "SGD train")
    band(a1, H_la[:, :, 0], "tab:blue", "-", "Lookahead train")
    band(a1, H_sgd[:, :, 1], "tab:red", "--", "SGD test")
    band(a1, H_la[:, :, 1], "tab:blue", "--", "Lookahead test")
    a1.set_xlabel("epoch")
    a1.set_ylabel("cross-entropy (log scale)")
    a1.set_title(f"MLP 64-32-10 on digits, SGD lr={mlp_lr:g} momentum {mlp_mom:g}\n"
                 f"median and min-max of {len(mlp_seeds)} seeds", fontsize=10)
    a1.legend(fontsize=8)
    band(a2, H_sgd[:, :, 2], "tab:red", "-", "SGD", log=False)
    band(a2, H_la[:, :, 2], "tab:blue", "-", "Lookahead", log=False)
    a2.set_xlabel("epoch")
    a2.set_ylabel("test accuracy")
    a2.set_title(f"test accuracy ({len(mlp_seeds)} seeds)")
    a2.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "lookahead_mlp")

    # -- report -----------------------------------------------------------------------
    sgd_tail, la_tail = float(stats["sgd"][:, 1].mean()), float(stats["lookahead"][:, 1].mean())
    rows = [["SGD", float(stats["sgd"][:, 0].mean()), sgd_tail, float(stats["sgd"][:, 2].mean()),
             ""],
            ["Lookahead(SGD)", float(stats["lookahead"][:, 0].mean()), la_tail,
             float(stats["lookahead"][:, 2].mean()), slow_path]]
    mlp_rows = [["SGD", h_sgd[-1, 0], h_sgd[-1, 1], h_sgd[-1, 2], path_sgd, ""],
                ["Lookahead(SGD)", h_la[-1, 0], h_la[-1, 1], h_la[-1, 2], path_la, slow_la]]
    n_mlp = len(mlp_seeds)
    if la_lower == 0:
        mlp_verdict = (f"on every one of the {n_mlp} seeds Lookahead's train loss is higher: the "
                       "pull-back toward the slow weights slows progress more than the averaging "
                       "reduces minibatch noise.")
    elif la_lower == n_mlp:
        mlp_verdict = (f"on every one of the {n_mlp} seeds Lookahead's train loss is lower: the "
                       "averaging of the minibatch noise outweighs the slower progress.")
    else:
        mlp_verdict = (f"Lookahead's train loss is lower on {la_lower} of {n_mlp} seeds only, so "
                       "neither method is ahead on every seed.")
    quad_lower = int((stats["lookahead"][:, 1] < stats["sgd"][:, 1]).sum())
    report = f"""
**Noisy quadratic** (`lookahead_2d.png`). The test function is the lectures'
ill-conditioned quadratic f(x) = 0.1 x1^2 + 2 x2^2 from x0 = (-8, 2.5), with Gaussian noise of
standard deviation {sigma:g} added to each gradient; both methods run SGD with lr {lr:g} and
momentum {momentum:g} for {steps} steps on the same noise, Lookahead with k = {K}, alpha = {ALPHA}.
The thin blue line is Lookahead's fast weights, the dark markers its {len(slow_pts) - 1} slow
weights (one every {K} steps, plus the start). Over {n_seeds} noise seeds the mean final loss is
{rows[0][1]:.4g} for SGD and {rows[1][1]:.4g} for Lookahead, and the mean loss over the last
{tail} steps (the steady state, where only the noise matters) is {sgd_tail:.4g} against
{la_tail:.4g}; Lookahead's steady-state loss is lower on {quad_lower} of {n_seeds} seeds.
The slow weights average the fast weights' noisy excursions, as the paper's
noisy-quadratic analysis predicts. SGD's iterates travel {rows[0][3]:.1f} on average, Lookahead's
fast weights {rows[1][3]:.1f} and its slow weights {slow_path:.1f} (the shown run).

{ctx.table(rows, ['method', 'final f (mean)', f'mean f, last {tail} steps', 'path length',
                   'slow-weight path (shown run)'])}

**MLP on digits** (`lookahead_mlp.png`, {n_mlp} seeds: initialisation and minibatch order;
medians below): after {epochs} epochs of {bpe} minibatches, SGD reaches
train/test cross-entropy {h_sgd[-1, 0]:.4f}/{h_sgd[-1, 1]:.4f} (test accuracy {h_sgd[-1, 2]:.3f})
and Lookahead(SGD) {h_la[-1, 0]:.4f}/{h_la[-1, 1]:.4f} (accuracy {h_la[-1, 2]:.3f}), the latter
evaluated on its slow weights. On seed {mlp_seeds[0]}, SGD's parameters travel {path_sgd:.2f} in weight space,
Lookahead's fast weights {path_la:.2f} (each synchronisation pulls them back by
1 - alpha = {1 - ALPHA:g} of the way, so they cover ground twice) and its slow weights
{slow_la:.2f}. At the same learning rate Lookahead's median train loss is
{h_la[-1, 0] / h_sgd[-1, 0]:.2f} times SGD's; {mlp_verdict}

{ctx.table(mlp_rows, ['method', 'train loss', 'test loss', 'test accuracy', 'path length',
                       'slow-weight path'])}
"""
    ctx.write_report(report)
    return {
        "quadratic": {
            "function": "f = 0.1 x1^2 + 2 x2^2 with Gaussian gradient noise",
            "sigma": sigma, "lr": lr, "momentum": momentum, "k": K, "alpha": ALPHA,
            "steps": steps, "seeds": n_seeds,
            "final_loss": {"sgd": rows[0][1], "lookahead": rows[1][1]},
            "steady_state_loss": {"sgd": sgd_tail, "lookahead": la_tail},
            "distance": {"sgd": rows[0][3], "lookahead_fast": rows[1][3],
                         "lookahead_slow": slow_path},
            "slow_weights_recorded": int(len(slow_pts) - 1),
            "slow_weights_first": slow_pts[1].tolist(),
            "slow_weights_last": slow_pts[-1].tolist(),
            "lookahead_lower_steady_state_on_seeds": quad_lower,
            "per_seed": {"steady_state_loss": {"sgd": stats["sgd"][:, 1].tolist(),
                                               "lookahead": stats["lookahead"][:, 1].tolist()}},
        },
        "mlp": {
            "dataset": "sklearn digits", "epochs": epochs, "lr": mlp_lr, "momentum": mlp_mom,
            "final_train_loss": {"sgd": float(h_sgd[-1, 0]), "lookahead": float(h_la[-1, 0])},
            "final_test_loss": {"sgd": float(h_sgd[-1, 1]), "lookahead": float(h_la[-1, 1])},
            "test_accuracy": {"sgd": float(h_sgd[-1, 2]), "lookahead": float(h_la[-1, 2])},
            "initial_train_loss": float(h_sgd[0, 0]),
            "distance": {"sgd": path_sgd, "lookahead_fast": path_la,
                         "lookahead_slow": slow_la},
            "seeds": mlp_seeds, "lookahead_lower_train_loss_on_seeds": la_lower,
            "per_seed": {"final_train_loss": {"sgd": H_sgd[:, -1, 0].tolist(),
                                              "lookahead": H_la[:, -1, 0].tolist()},
                         "test_accuracy": {"sgd": H_sgd[:, -1, 2].tolist(),
                                           "lookahead": H_la[:, -1, 2].tolist()}},
        },
        "final_loss": {"sgd": rows[0][1], "lookahead": rows[1][1],
                       "mlp_sgd": float(h_sgd[-1, 0]), "mlp_lookahead": float(h_la[-1, 0])},
    }
