r"""muon-vs-adamw: Muon against AdamW on multinomial logistic regression (scikit-learn digits).

The model is softmax regression, logits :math:`= xW^\top + b` with
:math:`W \in \mathbb{R}^{10\times 64}` and :math:`b \in \mathbb{R}^{10}`, trained
on scikit-learn's digits (1347 training and 450 test images, 64 standardised pixel
features, 10 classes), minibatches of 128. The objective is L2-regularised
cross-entropy, :math:`F(W, b) = \operatorname{mean}_i CE(x_iW^\top + b, y_i) +
\tfrac{\lambda}{2}\lVert W\rVert_F^2` with :math:`\lambda = 10^{-3}`: strongly convex,
with one minimiser (the training set is linearly separable, so without the
penalty the loss would have no minimum and the largest learning rate would always
"win"). :math:`F^*` comes from SciPy's L-BFGS on the same objective, so the plots
show the suboptimality :math:`F - F^*`.

* **AdamW arm**: ``optim.AdamW`` on :math:`W` and :math:`b`.
* **Muon arm**: ``optim.Muon`` on the 2-D weight :math:`W`, ``optim.AdamW`` on
  the bias (1-D: Muon does not take it), the split made by
  ``optim.muon.split_params_for_muon(model, head=False)``. ``head=False``
  because here the only Linear layer *is* the output layer, which the default
  recipe would hand to AdamW; the point of this demo is Muon on that matrix.
  The bias's AdamW uses the best learning rate of the AdamW arm.

A third panel compares Muon's orthogonalisations on the full-batch gradient
of :math:`W` at the initialisation: the spectral-norm distance to the exact polar
factor :math:`UV^\top` (from the SVD, ``optim.functional.muon.svd_polar``) after
each step of Newton–Schulz (Jordan's quintic, PyTorch's) and of Polar Express
(Amsel et al. 2025), in float64.

The optimizers' own weight decay is 0 for both: the penalty is in the objective,
the same for both (their decoupled defaults, 0.1 and 0.01, would add different
regularisers). Each arm runs a small
learning-rate grid from the same initialisation and the same minibatch order;
the best rate (lowest final objective) is kept. The objective over the whole
training set is recorded after every step. The two best configurations then run
with ``SEEDS`` seeds (initialisation and minibatch order; the data split stays),
drawn as bands, and the verdict says on how many seeds each arm ends closer to
:math:`F^*`.

Wall time: :func:`interleaved_step_seconds` times the same work for both arms (one
training step: zero_grad, forward, backward, optimizer step, on the same minibatch)
alternately, Muon then AdamW then AdamW then Muon ..., so that a busy machine slows
both alike; the reported seconds per step are medians over those rounds.
"""
from __future__ import annotations

import time

import numpy as np

import minigrad as mg
import minigrad.functional as F
import optim
from experiments.registry import experiment
from minigrad import nn
from optim.functional.muon import newton_schulz, polar_express, svd_polar
from optim.muon import split_params_for_muon

from ._sklearn_data import load_digits_split

BATCH = 128
LAMBDA = 1e-3
SEEDS = 5


def _model(seed):
    mg.manual_seed(seed)
    return nn.Linear(64, 10)                   # multinomial logistic regression


def objective_optimum(data):
    """F* and the minimiser of F by SciPy's L-BFGS (float64)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    X, y = data.X_train.astype(np.float64), data.y_train
    n = len(y)
    onehot = np.eye(10)[y]

    def fg(theta):
        W, b = theta[:640].reshape(10, 64), theta[640:]
        z = X @ W.T + b
        lse = logsumexp(z, axis=1)
        f = float(np.mean(lse - z[np.arange(n), y]) + 0.5 * LAMBDA * (W * W).sum())
        dz = (np.exp(z - lse[:, None]) - onehot) / n
        return f, np.concatenate([(dz.T @ X + LAMBDA * W).ravel(), dz.sum(0)])

    res = minimize(fg, np.zeros(650), jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "gtol": 1e-8, "ftol": 1e-13})
    return float(res.fun)


def train(kind, lr, data, epochs, seed, bias_lr=None):
    """Train one configuration; returns a dict of curves and final metrics."""
    model, opts = _make_arm(kind, lr, bias_lr, seed)
    Xtr, ytr = mg.tensor(data.X_train), mg.tensor(data.y_train)
    Xte, yte = mg.tensor(data.X_test), mg.tensor(data.y_test)

    def objective(logits, y):
        return F.cross_entropy(logits, y) + 0.5 * LAMBDA * (model.weight * model.weight).sum()

    def evaluate(X, y, labels):
        """(cross-entropy, accuracy, objective F) on a data set."""
        with mg.no_grad():
            logits = model(X)
            loss = F.cross_entropy(logits, y).item()
            penalty = 0.5 * LAMBDA * float((model.weight.numpy().astype(np.float64) ** 2).sum())
        return loss, float((logits.numpy().argmax(-1) == labels).mean()), loss + penalty

    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    n_batches = int(np.ceil(n / BATCH))
    losses = [evaluate(Xtr, ytr, data.y_train)[2]]
    times = [0.0]
    step_seconds, step_times, opt_times = 0.0, [], []
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(n), n_batches):
            xb, yb = mg.tensor(data.X_train[idx]), mg.tensor(data.y_train[idx])
            t0 = time.perf_counter()
            for opt in opts:
                opt.zero_grad()
            objective(model(xb), yb).backward()
            t1 = time.perf_counter()
            for opt in opts:
                opt.step()
            t2 = time.perf_counter()
            step_seconds += t2 - t0
            step_times.append(t2 - t0)
            opt_times.append(t2 - t1)
            times.append(step_seconds)
            losses.append(evaluate(Xtr, ytr, data.y_train)[2])
    steps = len(losses) - 1
    train_loss, train_acc, train_obj = evaluate(Xtr, ytr, data.y_train)
    test_loss, test_acc, _ = evaluate(Xte, yte, data.y_test)
    return {"lr": lr, "losses": np.array(losses), "objective": train_obj,
            "times": np.array(times), "steps": steps,
            "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
            "test_acc": test_acc, "sec_per_step": float(np.median(step_times)),
            "opt_sec_per_step": float(np.median(opt_times))}


def _make_arm(kind, lr, bias_lr, seed):
    model = _model(seed)
    if kind == "adamw":
        opts = [optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)]
    else:
        split = split_params_for_muon(model, head=False)
        opts = [optim.Muon(split.muon, lr=lr, weight_decay=0.0),
                optim.AdamW(split.adamw, lr=bias_lr, weight_decay=0.0)]
    return model, opts


def interleaved_step_seconds(data, muon_lr, adamw_lr, rounds, seed):
    """Median seconds of one training step for each arm, timed alternately on the same batches.

    Returns ``{"muon": s, "adamw": s, "muon_opt": s, "adamw_opt": s}`` (``*_opt``: the
    optimizer step alone)."""
    arms = {"muon": _make_arm("muon", muon_lr, adamw_lr, seed),
            "adamw": _make_arm("adamw", adamw_lr, None, seed)}
    rng = np.random.default_rng(seed)
    times = {k: [] for k in ("muon", "adamw", "muon_opt", "adamw_opt")}
    n = len(data.y_train)
    for r in range(rounds):
        idx = rng.choice(n, BATCH, replace=False)
        xb, yb = mg.tensor(data.X_train[idx]), mg.tensor(data.y_train[idx])
        order = ("muon", "adamw") if r % 2 == 0 else ("adamw", "muon")
        for kind in order:
            model, opts = arms[kind]
            t0 = time.perf_counter()
            for opt in opts:
                opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb) + 0.5 * LAMBDA * (model.weight * model.weight).sum()
            loss.backward()
            t1 = time.perf_counter()
            for opt in opts:
                opt.step()
            t2 = time.perf_counter()
            times[kind].append(t2 - t0)
            times[kind + "_opt"].append(t2 - t1)
    return {k: float(np.median(v)) for k, v in times.items()}


def initial_gradient(data, seed):
    """The full-batch gradient of F with respect to W at the initialisation, as float64."""
    model = _model(seed)
    logits = model(mg.tensor(data.X_train))
    loss = F.cross_entropy(logits, mg.tensor(data.y_train)) + 0.5 * LAMBDA * (model.weight * model.weight).sum()
    loss.backward()
    return model.weight.grad.numpy().astype(np.float64)


def orthogonalization_distances(G, max_steps):
    """Spectral-norm distance to U V^T after k = 1..max_steps steps of each iteration."""
    exact = svd_polar(G)
    return {"newton_schulz": [float(np.linalg.norm(newton_schulz(G, steps=k) - exact, 2))
                              for k in range(1, max_steps + 1)],
            "polar_express": [float(np.linalg.norm(polar_express(G, k) - exact, 2))
                              for k in range(1, max_steps + 1)]}


def _finite_or_inf(x):
    return x if np.isfinite(x) else float("inf")


@experiment("muon-vs-adamw", "Muon (weight matrix) + AdamW (bias) vs AdamW on L2-regularised "
            "softmax regression on scikit-learn digits over 5 seeds: loss against step, and "
            "the cost of a step timed alternately",
            headline=("muon_closer_on_seeds", "muon.suboptimality", "adamw.suboptimality",
                      "muon.test_acc", "adamw.test_acc", "seconds_per_step_ratio"))
def run(ctx):
    import matplotlib.pyplot as plt

    data = load_digits_split(seed=ctx.seed)
    f_star = objective_optimum(data)
    epochs = ctx.pick(3, 30)
    adamw_grid = ctx.pick([1e-2, 3e-2], [1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    muon_grid = ctx.pick([0.03, 0.1], [0.01, 0.03, 0.1, 0.3])
    adamw_runs = [train("adamw", lr, data, epochs, ctx.seed)
                  for lr in ctx.progress(adamw_grid, desc="AdamW grid")]
    best_adamw = min(adamw_runs, key=lambda r: _finite_or_inf(r["objective"]))
    muon_runs = [train("muon", lr, data, epochs, ctx.seed, bias_lr=best_adamw["lr"])
                 for lr in ctx.progress(muon_grid, desc="Muon grid")]
    best_muon = min(muon_runs, key=lambda r: _finite_or_inf(r["objective"]))
    seeds = [ctx.seed + i for i in range(SEEDS)]
    seed_runs = {"adamw": [best_adamw], "muon": [best_muon]}
    for sd in ctx.progress(seeds[1:], desc="seeds"):
        seed_runs["adamw"].append(train("adamw", best_adamw["lr"], data, epochs, sd))
        seed_runs["muon"].append(train("muon", best_muon["lr"], data, epochs, sd,
                                       bias_lr=best_adamw["lr"]))
    sub = {k: np.array([r["objective"] - f_star for r in v]) for k, v in seed_runs.items()}
    muon_closer = int((sub["muon"] < sub["adamw"]).sum())
    timing = interleaved_step_seconds(data, best_muon["lr"], best_adamw["lr"],
                                      ctx.pick(40, 300), ctx.seed)
    ratio = timing["muon"] / timing["adamw"]
    opt_ratio = timing["muon_opt"] / timing["adamw_opt"]
    gap = lambda r: np.maximum(r["losses"] - f_star, 1e-8)        # noqa: E731

    def steps_to(r, level=1e-2):
        hit = np.nonzero(r["losses"] - f_star <= level)[0]
        return int(hit[0]) if hit.size else None

    G0 = initial_gradient(data, ctx.seed)
    sv = np.linalg.svd(G0, compute_uv=False)
    distances = orthogonalization_distances(G0, 12)

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(18, 4.3))
    for runs, best, color in ((adamw_runs, best_adamw, "tab:orange"),
                              (muon_runs, best_muon, "tab:blue")):
        for r in runs:
            if r is not best:
                ax1.semilogy(gap(r), color=color, lw=0.6, alpha=0.35, ls=":")
    for kind, name, color in (("adamw", "AdamW", "tab:orange"),
                              ("muon", "Muon + AdamW(bias)", "tab:blue")):
        curves = np.array([gap(r) for r in seed_runs[kind]])
        lo, med, hi = np.percentile(curves, [0, 50, 100], axis=0)
        ax1.semilogy(med, color=color, lw=1.6,
                     label=f"{name}, lr={seed_runs[kind][0]['lr']:g}: median of {len(seeds)} seeds")
        ax1.fill_between(np.arange(len(med)), lo, hi, color=color, alpha=0.25,
                         label=f"{name}: min-max over seeds")
    ax1.set_xlabel("step")
    ax1.set_ylabel("$F - F^*$ (whole training set, log scale)")
    ax1.set_title("against step (dotted: the other rates of the grid, seed 0)")
    ax1.legend(fontsize=7)
    x = np.arange(len(seeds))
    ax2.semilogy(x, sub["adamw"], "o-", color="tab:orange", label="AdamW")
    ax2.semilogy(x, sub["muon"], "s--", color="tab:blue", label="Muon + AdamW(bias)")
    ax2.set_xticks(x, [str(sd) for sd in seeds])
    ax2.set_xlabel("seed (initialisation and minibatch order)")
    ax2.set_ylabel("final $F - F^*$ (log scale)")
    ax2.set_title(f"final suboptimality per seed: Muon closer on {muon_closer} of {len(seeds)}")
    ax2.legend(fontsize=8)
    ks = np.arange(1, 13)
    ax3.semilogy(ks, np.maximum(distances["newton_schulz"], 1e-16), "o-", color="tab:blue",
                 label="Newton-Schulz (3.4445, -4.7750, 2.0315)")
    ax3.semilogy(ks, np.maximum(distances["polar_express"], 1e-16), "s-", color="tab:green",
                 label="Polar Express")
    ax3.axvline(5, color="gray", lw=0.6, ls=":")
    ax3.set_xlabel("iteration steps k")
    ax3.set_ylabel(r"$\|O_k - UV^\top\|_2$")
    ax3.set_title(f"orthogonalising the initial gradient of W (cond {sv[0] / sv[-1]:.0f})")
    ax3.legend(fontsize=8)
    fig.suptitle(f"L2-regularised softmax regression on digits, batch {BATCH}, {epochs} epochs")
    fig.tight_layout()
    ctx.savefig(fig, "muon_vs_adamw")

    grid_rows = ([["AdamW", r["lr"], r["objective"] - f_star, r["test_loss"], r["test_acc"]]
                  for r in adamw_runs]
                 + [["Muon", r["lr"], r["objective"] - f_star, r["test_loss"], r["test_acc"]]
                    for r in muon_runs])
    rows = [[name, r["lr"], r["objective"] - f_star, r["train_loss"], r["train_acc"],
             r["test_loss"], r["test_acc"]]
            for name, r in (("AdamW", best_adamw), ("Muon + AdamW(bias)", best_muon))]
    seed_rows = [[sd, sub["adamw"][i], sub["muon"][i], seed_runs["adamw"][i]["test_acc"],
                  seed_runs["muon"][i]["test_acc"]] for i, sd in enumerate(seeds)]
    if muon_closer == len(seeds):
        verdict = f"Muon gets closer to the optimum on every one of the {len(seeds)} seeds."
    elif muon_closer == 0:
        verdict = f"AdamW gets closer to the optimum on every one of the {len(seeds)} seeds."
    else:
        lead, k = (("Muon", muon_closer) if 2 * muon_closer > len(seeds)
                   else ("AdamW", len(seeds) - muon_closer))
        verdict = (f"{lead} gets closer to the optimum on {k} of {len(seeds)} seeds, not on "
                   "all: neither arm wins on every seed, so no seed alone decides it.")
    report = f"""
L2-regularised softmax regression (W: 10x64, b: 10, lambda = {LAMBDA:g}) on scikit-learn's digits,
{epochs} epochs of minibatches of {BATCH} ({best_adamw['steps']} steps); F* = {f_star:.5f}
(L-BFGS). The best AdamW rate of {adamw_grid} is {best_adamw['lr']:g}; the best Muon rate of
{muon_grid} is {best_muon['lr']:g} (the bias then uses AdamW at {best_adamw['lr']:g}), both
picked on seed {ctx.seed}. Those two configurations then run on seeds {seeds}, each seed
with the same initialisation and minibatches for both arms.

**Verdict**: {verdict} Median final F - F*: {np.median(sub['muon']):.2e} (Muon) and
{np.median(sub['adamw']):.2e} (AdamW). Muon's update has all singular values near one
whatever the size of the gradient, so with a constant rate its steps do not shrink near the
optimum: both methods end on a noise floor set by the rate and the minibatch noise.

The right panel orthogonalises the full-batch gradient of W at the initialisation (singular
values from {sv[0]:.3g} to {sv[-1]:.3g}): after 5 steps (Muon's default) Newton-Schulz is
{distances['newton_schulz'][4]:.3f} from the exact UV^T in spectral norm and Polar Express
{distances['polar_express'][4]:.3g}; after 12 steps {distances['newton_schulz'][11]:.3f} and
{distances['polar_express'][11]:.2g}. Jordan's quintic never converges (its singular values
oscillate around 1 in [0.68, 1.2]); Polar Express, a different minimax quintic at each step,
does.

{ctx.table(seed_rows, ['seed', 'AdamW F - F*', 'Muon F - F*', 'AdamW test acc', 'Muon test acc'])}

**Cost of a step**, timed alternately on the same minibatches ({ctx.pick(40, 300)} rounds,
medians): a training step costs {timing['muon'] * 1e3:.3f} ms with Muon and
{timing['adamw'] * 1e3:.3f} ms with AdamW (ratio {ratio:.2f}); the optimizer step alone
{timing['muon_opt'] * 1e3:.3f} ms and {timing['adamw_opt'] * 1e3:.3f} ms (ratio {opt_ratio:.2f}:
five Newton-Schulz iterations on a 10x64 matrix against AdamW's elementwise update), which is
{100 * timing['muon_opt'] / timing['muon']:.0f}% of Muon's training step, the rest being the
forward and backward passes. Per step, then, Muon costs {ratio:.2f} times as much here; the
comparison against step above is the one that does not depend on the machine.

Seed {ctx.seed}, the best rates:

{ctx.table(rows, ['method', 'lr', 'F - F*', 'train CE', 'train acc', 'test CE', 'test acc'])}

The grid (seed {ctx.seed}, final values):

{ctx.table(grid_rows, ['optimizer', 'lr', 'F - F*', 'test CE', 'test acc'])}
"""
    ctx.write_report(report)

    def summary(r):
        return {"lr": r["lr"], "initial_objective": float(r["losses"][0]),
                "final_objective": r["objective"], "suboptimality": r["objective"] - f_star,
                "train_loss": r["train_loss"], "train_acc": r["train_acc"],
                "test_loss": r["test_loss"], "test_acc": r["test_acc"],
                "steps_to_gap_1e-2": steps_to(r)}

    return {
        "dataset": "sklearn digits", "epochs": epochs, "batch": BATCH, "lambda": LAMBDA,
        "steps": best_adamw["steps"], "f_star": f_star,
        "adamw": summary(best_adamw), "muon": summary(best_muon),
        "muon_bias_lr": best_adamw["lr"],
        "grid": {"adamw": {f"{r['lr']:g}": r["objective"] for r in adamw_runs},
                 "muon": {f"{r['lr']:g}": r["objective"] for r in muon_runs}},
        "seeds": seeds, "muon_closer_on_seeds": muon_closer,
        "per_seed": {"muon": {"suboptimality": sub["muon"].tolist(),
                              "test_acc": [r["test_acc"] for r in seed_runs["muon"]]},
                     "adamw": {"suboptimality": sub["adamw"].tolist(),
                               "test_acc": [r["test_acc"] for r in seed_runs["adamw"]]}},
        "seconds_per_step": {"muon": timing["muon"], "adamw": timing["adamw"]},
        "orthogonalization_distance": distances,
        "seconds_per_step_ratio": ratio,
        "optimizer_step_seconds_ratio": opt_ratio,
    }
