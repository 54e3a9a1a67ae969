r"""finite-sum: gradient descent against SGD on a strongly convex finite sum (the seminar's opening).

The objective is L2-regularised logistic regression on scikit-learn's bundled
breast-cancer data (426 training rows, 30 standardised features and a constant
feature for the intercept, each row then scaled to unit norm so that every summand
has the same smoothness; labels :math:`y_i \in \{-1, +1\}`):

.. math::

    f(w) = \frac1n \sum_{i=1}^n \log\bigl(1 + e^{-y_i x_i^\top w}\bigr) + \frac{\lambda}{2}\|w\|^2,

:math:`\mu`-strongly convex with :math:`\mu = \lambda` and :math:`L`-smooth with
:math:`L = \lambda_{\max}(X^\top X)/(4n) + \lambda`; every summand is
:math:`L_i`-smooth with :math:`L_i = \|x_i\|^2/4 + \lambda`. :math:`f^*` comes from
SciPy's L-BFGS to 1e-13. Every method is ``optim.SGD`` on a minigrad Parameter
holding one weight vector per seed (the seeds train side by side, each with its
own minibatches; the objective is the sum over seeds, so each gets its own
gradient):

* **GD**: full batch, step :math:`1/L`; theory: :math:`f(w_k) - f^* \le (1 - \mu/L)^k (f(w_0) - f^*)`.
* **SGD, constant step** :math:`\alpha = 1/(2 L_{\max})`, batch 1, 2, 16 and the full
  batch: linear convergence to a noise floor of order :math:`\alpha\sigma^2/(\mu b)`,
  which shrinks with the batch size :math:`b`.
* **SGD, decreasing step** :math:`\alpha_k = \beta/(k + \gamma)`, :math:`\beta = 2/\mu`,
  :math:`\gamma` such that :math:`\alpha_0 = 1/(2L_{\max})`, batch 1: :math:`O(1/k)`.

Outcomes: ``mu``, ``L``, ``L_max``; ``gd_rate`` (the fitted per-iteration contraction
of GD's suboptimality) and ``gd_rate_bound`` (:math:`1 - \mu/L`); ``sgd_decreasing_slope``
(the slope of log suboptimality, averaged over the seeds, against log k over the
last decade of iterations; theory -1) with the per-seed slopes in ``per_seed``;
``floors`` (``{"1", "2", "16", "full"}``: median over seeds of the mean suboptimality
over the last half of the iterations at constant step, round-off clamped at 1e-16)
with ``per_seed``; ``floors_decrease_on_seeds`` (on how many seeds the floor falls
at every increase of the batch size); ``seeds``.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment

from ._sklearn_data import load_breast_cancer_split

LAMBDA = 1e-2
BATCHES = (1, 2, 16, "full")
#: suboptimality below this is round-off (f* itself is known to about 1e-15)
FLOOR = 1e-16

RATE_TABLE = [
    ["PL / strongly convex", "f - f*", "O((1 - μ/L)^k): linear", "O(1/k) with α_k ~ 1/k; "
     "constant α: linear to a floor O(ασ²/(μb))"],
    ["convex", "f - f*", "O(1/k)", "O(1/√k)"],
    ["non-convex", "min ‖∇f‖²", "O(1/k)", "O(1/√k)"],
]


def problem(seed):
    data = load_breast_cancer_split(seed=seed)
    X = np.hstack([data.X_train, np.ones((len(data.y_train), 1))]).astype(np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.where(data.y_train == 1, 1.0, -1.0)
    return X, y


def objective(W, X, y):
    """f at each row of ``W`` (seeds x d), in NumPy."""
    z = -(W @ X.T) * y                                # (S, n)
    return np.logaddexp(0.0, z).mean(axis=1) + 0.5 * LAMBDA * (W * W).sum(axis=1)


def optimum(X, y):
    from scipy.optimize import minimize

    def fg(w):
        z = -(X @ w) * y
        s = 0.5 * (1 + np.tanh(0.5 * z))              # sigmoid(z), overflow-free
        return (np.logaddexp(0.0, z).mean() + 0.5 * LAMBDA * w @ w,
                X.T @ (-y * s) / len(y) + LAMBDA * w)

    res = minimize(fg, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B",
                   options={"maxiter": 10000, "gtol": 1e-12, "ftol": 1e-15})
    return float(res.fun)


def record_points(iters, n_points):
    pts = np.unique(np.round(np.geomspace(1, iters, n_points)).astype(int))
    return set(pts.tolist()) | {0, iters}


def run_sgd(X, y, f_star, batch, iters, lr, seeds, rng, schedule=None, every=None):
    """SGD (or GD with ``batch=None``) for all seeds at once; (iterations, suboptimality per seed)."""
    n, d = X.shape
    S = len(seeds)
    W = mg.nn.Parameter(mg.tensor(np.zeros((S, d, 1))))
    opt = optim.SGD([W], lr=lr)
    Xt, yt = mg.tensor(X), mg.tensor(y)
    pts = record_points(iters, 120) if every is None else set(range(0, iters + 1, every))
    ks, subs = [], []
    for k in range(iters + 1):
        if k in pts:
            ks.append(k)
            subs.append(objective(W.numpy()[:, :, 0], X, y) - f_star)
        if k == iters:
            break
        if batch is None:
            Xb, yb = Xt, yt                                        # (n, d), (n,)
            z = (Xb @ W)[..., 0]                                   # (S, n)
        else:
            idx = rng.integers(0, n, size=(S, batch))              # with replacement
            Xb, yb = mg.tensor(X[idx]), mg.tensor(y[idx])         # (S, b, d), (S, b)
            z = (Xb @ W)[..., 0]                                   # (S, b)
        loss = mg.softplus(-(z * yb)).mean(axis=-1).sum() + 0.5 * LAMBDA * (W * W).sum()
        if schedule is not None:
            opt.param_groups[0]["lr"] = schedule(k)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(ks), np.maximum(np.array(subs), FLOOR)        # (K,), (K, S)


def fit_linear_rate(ks, sub, lo=1e-12):
    """Per-iteration contraction exp(slope) of log suboptimality while above ``lo``."""
    keep = (sub > lo) & (ks > 0)
    slope = np.polyfit(ks[keep], np.log(sub[keep]), 1)[0]
    return float(np.exp(slope))


def loglog_slope(ks, sub, frac=0.1):
    keep = ks >= frac * ks[-1]
    return float(np.polyfit(np.log(ks[keep]), np.log(sub[keep]), 1)[0])


@experiment("finite-sum",
            "GD against SGD on L2-regularised logistic regression (breast cancer): GD's linear "
            "rate, SGD's noise floor shrinking with the batch size, and O(1/k) with a "
            "decreasing step; measured slopes beside the lecture's rate table",
            headline=("gd_rate", "gd_rate_bound", "sgd_decreasing_slope", "floors"))
def run(ctx):
    import matplotlib.pyplot as plt

    X, y = problem(ctx.seed)
    n, d = X.shape
    f_star = optimum(X, y)
    mu = LAMBDA
    L = float(np.linalg.eigvalsh(X.T @ X / n).max() / 4 + LAMBDA)
    L_max = float((X * X).sum(1).max() / 4 + LAMBDA)
    seeds = [ctx.seed + i for i in range(5)]
    rng = np.random.default_rng([ctx.seed, 7])
    iters = ctx.pick(1000, 3000)
    gd_iters = ctx.pick(300, 600)
    alpha = 1.0 / (2 * L_max)

    ks_gd, sub_gd = run_sgd(X, y, f_star, None, gd_iters, 1.0 / L, [0], rng, every=1)
    gd_rate = fit_linear_rate(ks_gd, sub_gd[:, 0])
    runs = {}
    for b in BATCHES:
        runs[b] = run_sgd(X, y, f_star, None if b == "full" else b, iters, alpha, seeds, rng)
    beta = 2.0 / mu
    gamma = beta / alpha
    dec = run_sgd(X, y, f_star, 1, iters, beta / gamma, seeds, rng,
                  schedule=lambda k: beta / (k + 1 + gamma))

    floors_seed = {}
    for b, (ks, sub) in runs.items():
        tail = ks >= 0.5 * iters
        floors_seed[str(b)] = sub[tail].mean(axis=0)
    floors = {k: float(np.median(v)) for k, v in floors_seed.items()}
    order = [str(b) for b in BATCHES]
    decreasing = int(sum(all(floors_seed[a][s] > floors_seed[b][s] for a, b in zip(order, order[1:]))
                         for s in range(len(seeds))))
    slopes = [loglog_slope(dec[0], dec[1][:, s]) for s in range(len(seeds))]
    dec_slope = loglog_slope(dec[0], dec[1].mean(axis=1))

    colors = {1: "C3", 2: "C1", 16: "C2", "full": "C0"}

    def band(ax, x, sub, col, label, ls="-"):
        keep = x > 0                                   # iteration 0 has no place on a log axis
        x, sub = x[keep], sub[keep]
        lo, med, hi = np.percentile(sub, [0, 50, 100], axis=1)
        ax.plot(x, med, color=col, ls=ls, label=label)
        ax.fill_between(x, lo, hi, color=col, alpha=0.2)

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for ax, xkind in zip(axes, ("iterations", "passes")):
        scale = lambda b, kind=xkind: 1.0 if kind == "iterations" else (n if b == "full" else b) / n  # noqa: E731
        ax.semilogy(ks_gd[1:] * scale("full"), sub_gd[1:, 0], color="k", lw=1.6,
                    label=f"GD, step 1/L (rate {gd_rate:.4f}/iter)")
        for b, (ks, sub) in runs.items():
            band(ax, ks * scale(b), sub, colors[b], f"SGD batch {b}, constant step 1/(2L_max)")
        band(ax, dec[0] * scale(1), dec[1], "C4", "SGD batch 1, step β/(k+γ)", ls="--")
        ax.set_xlabel("iterations" if xkind == "iterations" else "passes over the data (gradients / n)")
        ax.set_ylabel("$f(w_k) - f^*$ (log scale)")
        ax.set_ylim(1e-14, 2.0)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"suboptimality against {xkind} (band: min-max over {len(seeds)} seeds)")
    axes[1].set_xscale("log")
    axes[0].legend(fontsize=7, loc="lower left")
    ctx.savefig(fig, "suboptimality")

    fig, ax = plt.subplots(figsize=(6.6, 4.6))
    band(ax, dec[0], dec[1], "C4", "SGD batch 1, step β/(k+γ)")
    band(ax, runs[1][0], runs[1][1], "C3", "SGD batch 1, constant step")
    k_ref = dec[0][dec[0] >= 0.1 * iters]
    c = np.median(dec[1][dec[0] >= 0.1 * iters][0])
    ax.loglog(k_ref, c * k_ref[0] / k_ref, "k:", label="slope -1 (O(1/k))")
    ax.set_xlabel("iteration k (log scale)")
    ax.set_ylabel("$f(w_k) - f^*$ (log scale)")
    ax.set_title(f"decreasing step: fitted slope {dec_slope:.2f} (mean over {len(seeds)} seeds)")
    ax.legend(fontsize=8)
    ctx.savefig(fig, "decreasing_step")

    fig, ax = plt.subplots(figsize=(6.6, 4.6))
    xs = np.arange(len(order))
    for s in range(len(seeds)):
        ax.semilogy(xs, [floors_seed[b][s] for b in order], "o-", color="0.6", lw=0.8,
                    label="one seed" if s == 0 else None)
    ax.semilogy(xs, [floors[b] for b in order], "s-", color="C3", lw=2, label="median over seeds")
    ax.set_xticks(xs, [f"b = {b}" for b in order])
    ax.set_xlabel("batch size")
    ax.set_ylabel("floor: mean $f - f^*$ over the last half (log scale)")
    ax.set_title("constant-step SGD: the noise floor against the batch size")
    ax.legend(fontsize=8)
    ctx.savefig(fig, "floors")

    measured = [
        ["PL / strongly convex", f"rate {gd_rate:.4f}/iter (bound 1 - μ/L = {1 - mu / L:.4f})",
         f"slope {dec_slope:.2f} with α_k = β/(k+γ); floors {', '.join(f'b={b}: {floors[b]:.2e}' for b in order)}"],
        ["convex", "not measured", "not measured"],
        ["non-convex", "not measured", "not measured"],
    ]
    gd_one_pass = float(sub_gd[1, 0])
    ks1, sub1 = runs[1]
    i1 = min(int(np.searchsorted(ks1, min(n, iters))), len(ks1) - 1)   # first record >= n steps
    sgd_one_pass, k_one_pass = float(np.median(sub1[i1])), int(ks1[i1])
    below = np.nonzero(sub_gd[:, 0] < floors["1"])[0]
    gd_passes_to_floor = int(ks_gd[below[0]]) if below.size else None
    bf = [int(b) * floors[b] for b in order if b != "full"]
    spread = max(bf) / min(bf)
    floor_text = (f"The floor falls at every increase of the batch size on {decreasing} of "
                  f"{len(seeds)} seeds")
    report = f"""
**Claim** (the seminar's opening slides): on a strongly convex finite sum, full
gradient descent converges linearly, $f(w_k) - f^* \\le (1 - \\mu/L)^k (f(w_0) - f^*)$,
but each iteration costs n gradients; SGD's iterations cost one (or b) gradient(s),
and with a constant step it converges linearly only down to a noise floor that
shrinks with the batch size; with a step decreasing like 1/k it reaches $f^*$ at
the sublinear rate O(1/k).

**What our numbers show**: μ = {mu:g}, L = {L:.4g}, L_max = {L_max:.4g} (κ = L/μ =
{L / mu:.0f}). GD with step 1/L contracts the suboptimality by {gd_rate:.4f} per
iteration, {'within' if gd_rate <= 1 - mu / L + 1e-9 else 'above'} the bound 1 - μ/L =
{1 - mu / L:.4f} (faster than the worst case, as the bound allows). Constant-step
SGD (α = 1/(2L_max) = {alpha:.3g}) stalls at floors (median over {len(seeds)} seeds)
{', '.join(f'batch {b}: {floors[b]:.2e}' for b in order)}; batch × floor is
{', '.join(f'{int(b) * floors[b]:.2e}' for b in order if b != 'full')} for batches
{', '.join(b for b in order if b != 'full')}, within a factor {spread:.2f} of each other:
{'the floor falls about like 1/b' if spread < 2 else 'the floor does not fall like 1/b'}. {floor_text}
(the full batch has no noise: its "floor" is where GD has got to at the same step).
SGD with α_k = β/(k + γ) (β = 2/μ = {beta:g}, γ = {gamma:.0f}): its suboptimality,
averaged over the seeds, follows a line of slope {dec_slope:.2f} on the log-log plot over
the last decade of iterations (single seeds are noisier:
{', '.join(f'{v:.2f}' for v in slopes)}; theory -1). Per pass over the data (n gradients;
right panel of the first figure) the comparison differs from the one per iteration: after
one pass GD (one step) is at {gd_one_pass:.2e} and batch-1 SGD (after {k_one_pass} steps) at
{sgd_one_pass:.2e}
(median over seeds); GD goes below batch-1 SGD's floor after {gd_passes_to_floor} passes.

The lecture's rates (iterations to reach the criterion):

{ctx.table(RATE_TABLE, ["assumption", "criterion", "GD", "SGD"])}
Measured here (this problem is strongly convex; the convex and non-convex rows are
the lecture's and are not measured by this experiment):

{ctx.table(measured, ["assumption", "GD measured", "SGD measured"])}
Setting: {n} training rows of the breast-cancer data, d = {d}, λ = {LAMBDA}; GD
{gd_iters} iterations, SGD {iters} iterations per run, minibatches drawn with replacement,
seeds {seeds} (bands: min-max over seeds)."""
    ctx.write_report(report, title="GD against SGD on a finite sum")
    return {"mu": mu, "L": L, "L_max": L_max, "f_star": f_star, "gd_rate": gd_rate,
            "gd_rate_bound": 1 - mu / L, "sgd_decreasing_slope": dec_slope, "floors": floors,
            "floors_decrease_on_seeds": decreasing, "seeds": seeds,
            "one_pass": {"gd": gd_one_pass, "sgd_batch_1": sgd_one_pass},
            "gd_passes_to_sgd_floor": gd_passes_to_floor,
            "per_seed": {"sgd_decreasing_slope": slopes,
                         "floors": {k: v.tolist() for k, v in floors_seed.items()}}}
