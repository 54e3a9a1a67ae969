r"""Optimizer paths on 2-D test functions (lecture: "how the optimizers move").

Each optimizer of the lectures (``optim`` classes, PyTorch's forms) minimises three
functions of :math:`w = (x_1, x_2)`, a 2-element minigrad Parameter, with the
gradient from minigrad's backward pass:

* the ill-conditioned quadratic :math:`f = 0.1x_1^2 + 2x_2^2` (condition number 20),
  minimum 0 at the origin;
* Rosenbrock :math:`(1-x_1)^2 + 100(x_2-x_1^2)^2`, minimum 0 at (1, 1);
* Beale :math:`(1.5-x_1+x_1x_2)^2 + (2.25-x_1+x_1x_2^2)^2 + (2.625-x_1+x_1x_2^3)^2`,
  minimum 0 at (3, 0.5).

Each runs with the exact gradient, and with Gaussian noise
:math:`g + \sigma\xi`, :math:`\xi\sim N(0, I)` added to it (a stand-in for minibatch
noise) for ``SEEDS`` noise sequences per function, the same for every optimizer; the
noisy runs of all seeds go side by side in one Parameter per coordinate, and the
verdict on the noisy runs says on how many seeds each optimizer ends lowest. The
learning rates are fixed per function and family (table in the report): one
reasonable setting each, not a tuned race.
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment

# --- the functions (minigrad ops, so backward gives the gradient) ----------------


def quadratic(x, y):
    return 0.1 * x ** 2 + 2.0 * y ** 2


def rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x ** 2) ** 2


def beale(x, y):
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def _np_quadratic(x, y):
    return 0.1 * x ** 2 + 2.0 * y ** 2


def _np_rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _np_beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


# name: (function, numpy version, start, minimum, plot box, steps (quick, full),
#        noise sigma, lr scale for the plain-gradient family, lr for the adaptive family)
FUNCTIONS = {
    "quadratic": dict(f=quadratic, np=_np_quadratic, start=(-4.5, 1.5), argmin=(0.0, 0.0),
                      box=((-5, 5), (-2.2, 2.2)), steps=(60, 150), sigma=0.5,
                      lr_gd=0.2, lr_mom=0.05, lr_ada=0.1),
    "rosenbrock": dict(f=rosenbrock, np=_np_rosenbrock, start=(-1.2, 1.0), argmin=(1.0, 1.0),
                       box=((-2.0, 2.0), (-1.0, 3.0)), steps=(100, 1000), sigma=2.0,
                       lr_gd=1e-3, lr_mom=1e-3, lr_ada=2e-2),
    "beale": dict(f=beale, np=_np_beale, start=(1.0, 1.5), argmin=(3.0, 0.5),
                  box=((-0.5, 4.0), (-1.0, 2.0)), steps=(100, 600), sigma=0.5,
                  lr_gd=1e-2, lr_mom=2e-3, lr_ada=2e-2),
}

# name: (constructor from the function's settings, the lr it uses, for the report)
OPTIMIZERS = {
    "GD": (lambda p, h: optim.SGD(p, lr=h["lr_gd"]), "lr_gd"),
    "Momentum": (lambda p, h: optim.SGD(p, lr=h["lr_mom"], momentum=0.9), "lr_mom"),
    "Nesterov": (lambda p, h: optim.SGD(p, lr=h["lr_mom"], momentum=0.9, nesterov=True),
                 "lr_mom"),
    "AdaGrad": (lambda p, h: optim.Adagrad(p, lr=10 * h["lr_ada"]), "10·lr_ada"),
    "RMSProp": (lambda p, h: optim.RMSprop(p, lr=h["lr_ada"] / 2), "lr_ada/2"),
    "Adadelta": (lambda p, h: optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-4), "1.0"),
    "Adam": (lambda p, h: optim.Adam(p, lr=h["lr_ada"]), "lr_ada"),
    "AMSGrad": (lambda p, h: optim.Adam(p, lr=h["lr_ada"], amsgrad=True), "lr_ada"),
    "NAdam": (lambda p, h: optim.NAdam(p, lr=h["lr_ada"]), "lr_ada"),
    "RAdam": (lambda p, h: optim.RAdam(p, lr=h["lr_ada"]), "lr_ada"),
}

DIVERGED = 1e12  # a loss above this (or non-finite) ends the run: diverged
SEEDS = 5        # noise sequences of the noisy setting

#: line style and marker per optimizer, so that paths that overlap stay apart
STYLES = {
    "GD": ("-", None), "Momentum": ("-", "o"), "Nesterov": ("--", "s"),
    "AdaGrad": ("-", None), "RMSProp": ("-.", "v"), "Adadelta": ("-", None),
    "Adam": ("-", "D"), "AMSGrad": ("--", "^"), "NAdam": (":", "x"), "RAdam": ("-", None),
}


def run_one(fn_name, opt_name, steps, noise):
    """Run one optimizer on one function, for every noise sequence at once.

    ``noise`` is None (exact gradients, one run) or an array (seeds, steps, 2). The
    runs are the entries of two (seeds,) Parameters, one per coordinate; every
    optimizer here is elementwise, so the runs do not interact. A row whose loss exceeds ``DIVERGED``
    (or is not finite) is frozen where it was. Returns the paths (seeds, steps+1, 2)
    and the losses (seeds, steps+1), the last entry the loss at the final point.
    """
    spec = FUNCTIONS[fn_name]
    make, _ = OPTIMIZERS[opt_name]
    n_runs = 1 if noise is None else noise.shape[0]
    start = np.tile(np.array(spec["start"], dtype=np.float64), (n_runs, 1))
    x = mg.nn.Parameter(mg.tensor(start[:, 0].copy(), dtype=np.float64))
    y = mg.nn.Parameter(mg.tensor(start[:, 1].copy(), dtype=np.float64))
    opt = make([x, y], spec)
    path = np.empty((n_runs, steps + 1, 2))
    losses = np.empty((n_runs, steps + 1))
    path[:, 0] = start
    frozen = np.zeros(n_runs, dtype=bool)
    for t in range(steps):
        opt.zero_grad()
        values = spec["f"](x, y)
        values.sum().backward()
        vals = values.numpy()
        losses[:, t] = np.where(frozen, losses[:, max(t - 1, 0)], vals)
        frozen |= ~np.isfinite(vals) | (vals > DIVERGED)
        if noise is not None:
            x.grad.data += noise[:, t, 0]
            y.grad.data += noise[:, t, 1]
        opt.step()
        x.data[frozen] = path[frozen, t, 0]
        y.data[frozen] = path[frozen, t, 1]
        path[:, t + 1, 0] = x.numpy()
        path[:, t + 1, 1] = y.numpy()
    losses[:, steps] = spec["np"](path[:, -1, 0], path[:, -1, 1])
    return path, losses


def _plot_contours(ax, spec, name):
    (x0, x1), (y0, y1) = spec["box"]
    X, Y = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    Z = spec["np"](X, Y)
    levels = np.logspace(-2, math.log10(max(Z.max(), 1.0)), 25)
    ax.contour(X, Y, Z + 1e-12, levels=levels, colors="0.75", linewidths=0.6)
    ax.plot(*spec["argmin"], marker="*", color="k", ms=14, ls="none", zorder=6,
            label="minimum")
    ax.plot(*spec["start"], marker="o", color="k", ms=7, ls="none", zorder=6, label="start")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(name)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def _annotate_radam(ax, path, spec, lr, g0):
    """Explain RAdam's first steps on the Rosenbrock panel, where it flies off."""
    (x0, x1), (y0, y1) = spec["box"]

    def inside(q):
        return x0 <= q[0] <= x1 and y0 <= q[1] <= y1

    # the last point of the path inside the plot, on the segment where it leaves
    k = next((i for i in range(1, len(path)) if not inside(path[i])), None)
    if k is None:
        point = path[-1]
    else:
        seg = [path[k - 1] + u * (path[k] - path[k - 1]) for u in np.linspace(0, 1, 201)]
        point = [q for q in seg if inside(q)][-1]
    ax.annotate(f"RAdam: steps 1-5 ($\\rho_t \\leq 5$) are plain\nmomentum steps $\\gamma\\hat m_t$, "
                f"$\\gamma$={lr:g},\n$\\|\\nabla f\\|$={g0:.0f} at the start: "
                f"step ~{lr * g0:.1f},\nthrown out of the valley",
                xy=tuple(point), xytext=(x0 + 0.05 * (x1 - x0), y1 - 0.05 * (y1 - y0)),
                fontsize=7, va="top", color="C9",
                bbox=dict(boxstyle="round", fc="w", ec="C9", alpha=0.9),
                arrowprops=dict(arrowstyle="->", color="C9"))


@experiment("trajectories",
            "Paths and loss curves of GD, momentum, Nesterov, AdaGrad, RMSProp, Adadelta, "
            "Adam, AMSGrad, NAdam, RAdam on an ill-conditioned quadratic, Rosenbrock and "
            "Beale, exact and noisy gradients",
            headline=("best.deterministic", "best.noisy"))
def run(ctx):
    import matplotlib.pyplot as plt

    settings = {"deterministic": False, "noisy": True}
    colors = plt.get_cmap("tab10").colors
    seeds = [ctx.seed + i for i in range(SEEDS)]
    results = {s: {} for s in settings}       # final loss: exact run; median over seeds (noisy)
    per_seed = {}                             # noisy: {f: {o: [final loss per seed]}}
    paths = {s: {} for s in settings}
    curves = {s: {} for s in settings}
    jobs = [(s, f, o) for s in settings for f in FUNCTIONS for o in OPTIMIZERS]
    noises = {}
    for f, spec in FUNCTIONS.items():
        steps = ctx.pick(*spec["steps"])
        noises[f] = spec["sigma"] * np.stack(
            [np.random.default_rng([sd, 1]).standard_normal((steps, 2)) for sd in seeds])
    for s, f, o in ctx.progress(jobs, desc="trajectories", total=len(jobs)):
        steps = ctx.pick(*FUNCTIONS[f]["steps"])
        path, losses = run_one(f, o, steps, noises[f] if settings[s] else None)
        paths[s].setdefault(f, {})[o] = path
        curves[s].setdefault(f, {})[o] = losses
        results[s].setdefault(f, {})[o] = float(np.median(losses[:, -1]))
        if settings[s]:
            per_seed.setdefault(f, {})[o] = losses[:, -1].tolist()

    x0, y0 = (mg.nn.Parameter(mg.tensor(v, dtype=np.float64)) for v in FUNCTIONS["rosenbrock"]["start"])
    rosenbrock(x0, y0).backward()
    g0 = float(math.hypot(x0.grad.item(), y0.grad.item()))
    lr_r = FUNCTIONS["rosenbrock"]["lr_ada"]

    def draw(ax, p, c, o, markevery):
        ls, mk = STYLES[o]
        ax.plot(p[:, 0], p[:, 1], ls=ls, color=c, lw=1.3, label=o, alpha=0.9, marker=mk,
                ms=4, markevery=markevery, mfc="none")
        ax.plot(p[-1, 0], p[-1, 1], "x", color=c, ms=7, mew=1.5)

    for s in settings:
        fig, axes = plt.subplots(1, len(FUNCTIONS), figsize=(5.4 * len(FUNCTIONS), 4.9))
        for ax, (f, spec) in zip(axes, FUNCTIONS.items()):
            _plot_contours(ax, spec, f"{f} ({s}{', seed ' + str(seeds[0]) if settings[s] else ''})")
            for c, o in zip(colors, OPTIMIZERS):
                p = paths[s][f][o][0]
                draw(ax, p, c, o, max(1, len(p) // 12))
            if f == "rosenbrock":
                _annotate_radam(ax, paths[s][f]["RAdam"][0], spec, lr_r, g0)
        axes[0].legend(fontsize=7, loc="lower left", ncol=2)
        extra = (f"; noise of seed {seeds[0]}, the other seeds in the loss curves"
                 if settings[s] else "")
        fig.suptitle(f"Optimizer paths, {s} gradients (● start, ★ minimum, x end{extra})")
        ctx.savefig(fig, f"paths_{s}")

    fig, axes = plt.subplots(2, len(FUNCTIONS), figsize=(5.4 * len(FUNCTIONS), 8.4),
                             sharex="col")
    for row, s in enumerate(settings):
        for col, f in enumerate(FUNCTIONS):
            ax = axes[row, col]
            for c, o in zip(colors, OPTIMIZERS):
                ls, mk = STYLES[o]
                cur = np.maximum(curves[s][f][o], 1e-16)
                x = np.arange(cur.shape[1])
                med = np.median(cur, axis=0)
                ax.semilogy(x, med, color=c, lw=1.1, ls=ls, marker=mk, ms=3, mfc="none",
                            markevery=max(1, len(x) // 10), label=o)
                if cur.shape[0] > 1:
                    ax.fill_between(x, cur.min(axis=0), cur.max(axis=0), color=c, alpha=0.12)
            ax.set_title(f"{f} ({s}" + (f", median and min-max of {len(seeds)} seeds)"
                                        if settings[s] else ")"))
            ax.set_ylim(1e-16, 1e6)
            ax.set_xlabel("step")
            ax.set_ylabel("$f(w_t) - f^*$ (log scale)")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.suptitle("Loss against step")
    ctx.savefig(fig, "loss_curves")

    wins = {f: {o: 0 for o in OPTIMIZERS} for f in FUNCTIONS}
    for f in FUNCTIONS:
        for i in range(len(seeds)):
            wins[f][min(OPTIMIZERS, key=lambda o, i=i, f=f: per_seed[f][o][i])] += 1
    best = {s: {f: min(results[s][f], key=results[s][f].get) for f in FUNCTIONS}
            for s in settings}
    rows = []
    for o in OPTIMIZERS:
        rows.append([o] + [results[s][f][o] for s in settings for f in FUNCTIONS])
    headers = ["optimizer"] + [f"{f} ({'exact' if s == 'deterministic' else s})"
                               for s in settings for f in FUNCTIONS]
    hp_rows = [[f, ctx.pick(*spec["steps"]), spec["start"], spec["lr_gd"], spec["lr_mom"],
                spec["lr_ada"], spec["sigma"]] for f, spec in FUNCTIONS.items()]
    q = results["deterministic"]["quadratic"]
    r = results["deterministic"]["rosenbrock"]
    qn = results["noisy"]["quadratic"]
    diverged = sorted({f"{o} on {f} ({s})" for s in settings for f in FUNCTIONS
                       for o in OPTIMIZERS
                       if not results[s][f][o] < float(FUNCTIONS[f]["np"](*FUNCTIONS[f]["start"]))})
    bp = paths["deterministic"]["beale"]["RAdam"][0][-1]

    def noisy_verdict(f):
        top = max(wins[f], key=wins[f].get)
        k = wins[f][top]
        others = ", ".join(f"{o} on {n}" for o, n in sorted(wins[f].items(), key=lambda kv: -kv[1])
                           if n and o != top)
        if k == len(seeds):
            return f"{f}: {top} on every one of the {len(seeds)} seeds"
        return f"{f}: {top} on {k} of {len(seeds)} seeds" + (f" ({others})" if others else "")
    plain = ["GD", "Momentum", "Nesterov"]
    adaptive = ["Adam", "AMSGrad", "NAdam", "RMSProp"]
    report = f"""
Every optimizer starts from the same point (filled circle; the star is the minimum, a
cross each run's end; line styles and markers tell apart the paths that overlap) and takes the same number of
steps (table below); the paths are drawn over the contours of each function
(first figure: exact gradients, second: noisy), and the loss $f(w_t) - f^*$
against the step on a log scale (third figure). All minima are 0.

On the ill-conditioned quadratic ($\\kappa = 20$) GD with lr
{FUNCTIONS['quadratic']['lr_gd']} contracts the flat $x_1$ direction by only
$1 - 0.2\\cdot$lr per step and ends at {q['GD']:.2e}; momentum and Nesterov
(lr {FUNCTIONS['quadratic']['lr_mom']}, $\\mu$ 0.9) overshoot across the valley and
end at {q['Momentum']:.2e} and {q['Nesterov']:.2e}. The adaptive methods divide
each coordinate by its own gradient scale, so their first steps are sign-like
(diagonal) whatever the conditioning: Adam ends at {q['Adam']:.2e}, AdaGrad at
{q['AdaGrad']:.2e}. On Rosenbrock's curved valley (start (-1.2, 1)) GD ends at
{r['GD']:.2e}, momentum {r['Momentum']:.2e}, Nesterov {r['Nesterov']:.2e}, Adam
{r['Adam']:.2e}, RMSProp {r['RMSProp']:.2e}. Adadelta ($\\rho$ 0.95, $\\epsilon$ 1e-4)
starts with steps of about $\\sqrt{{\\epsilon}}$ = 0.01 and only speeds up as its
accumulator $u$ grows. RAdam is the instructive failure (the note on the Rosenbrock panel): its first five steps
($\\rho_t \\le 5$) are un-normalised momentum steps $\\gamma \\hat m_t$, and with the
Adam-sized lr {lr_r} against $\\|\\nabla f\\| = {g0:.0f}$ at the Rosenbrock start the
first step is {lr_r * g0:.1f} long, which throws it out of the valley (final loss
{r['RAdam']:.2e}). On Beale the same early steps leave it at
({bp[0]:.2f}, {bp[1]:.2f}) with loss {results['deterministic']['beale']['RAdam']:.3g}, on the
function's flat outer region. Runs that ended above their starting loss: {', '.join(diverged) or 'none'}.

With Gaussian gradient noise the iterates no longer settle: near the minimum the
plain methods move by about lr·σ per step, the adaptive ones by about lr (their
step is normalised), so the final loss is a noise floor, not a convergence
measure: on the quadratic GD/momentum/Nesterov end at
{', '.join(f'{qn[o]:.2e}' for o in plain)}, Adam/AMSGrad/NAdam/RMSProp at
{', '.join(f'{qn[o]:.2e}' for o in adaptive)}.
Best final loss per function with exact gradients: {best['deterministic']}. With noise
the lowest final loss depends on the noise sequence, so it is counted over {len(seeds)}
seeds ({seeds}): lowest final loss on {'; '.join(noisy_verdict(f) for f in FUNCTIONS)}.
The noisy column of the table is the median over the seeds.

Final loss $f(w_T) - f^*$:

{ctx.table(rows, headers)}
Settings: GD uses lr_gd, momentum and Nesterov lr_mom ($\\mu$ 0.9, PyTorch's
form); Adam, AMSGrad, NAdam and RAdam use lr_ada, RMSProp lr_ada/2, AdaGrad
10·lr_ada, Adadelta lr 1.0; every other hyperparameter is PyTorch's default; σ is
the noise standard deviation per coordinate (one noise sequence per function,
shared by all optimizers). One reasonable setting per family, not a tuned race.

{ctx.table(hp_rows, ["function", "steps", "start", "lr_gd", "lr_mom", "lr_ada", "sigma"])}"""
    ctx.write_report(report, title="Optimizer trajectories on 2-D test functions")
    return {"final_loss": results, "best": best, "seeds": seeds,
            "noisy_best_on_seeds": {f: {o: n for o, n in wins[f].items() if n} for f in FUNCTIONS},
            "per_seed": {"noisy_final_loss": per_seed},
            "steps": {f: ctx.pick(*spec["steps"]) for f, spec in FUNCTIONS.items()}}
