r"""Optimizer paths on 2-D test functions (lecture: "how the optimizers move").

Each optimizer of the lectures (``optim`` classes, PyTorch's forms) minimises three
functions of :math:`w = (x_1, x_2)`, a 2-element minigrad Parameter, with the
gradient from minigrad's backward pass:

* the ill-conditioned quadratic :math:`f = 0.1x_1^2 + 2x_2^2` (condition number 20),
  minimum 0 at the origin;
* Rosenbrock :math:`(1-x_1)^2 + 100(x_2-x_1^2)^2`, minimum 0 at (1, 1);
* Beale :math:`(1.5-x_1+x_1x_2)^2 + (2.25-x_1+x_1x_2^2)^2 + (2.625-x_1+x_1x_2^3)^2`,
  minimum 0 at (3, 0.5).

Each runs twice: with the exact gradient, and with Gaussian noise
:math:`g + \sigma\xi`, :math:`\xi\sim N(0, I)` added to it (a stand-in for minibatch
noise; one noise sequence per function, the same for every optimizer). The
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


def quadratic(w):
    return 0.1 * w[0] ** 2 + 2.0 * w[1] ** 2


def rosenbrock(w):
    x, y = w[0], w[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x ** 2) ** 2


def beale(w):
    x, y = w[0], w[1]
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


def run_one(fn_name, opt_name, steps, noise):
    """Run one optimizer on one function; return the path (steps+1, 2) and losses."""
    spec = FUNCTIONS[fn_name]
    make, _ = OPTIMIZERS[opt_name]
    w = mg.nn.Parameter(mg.tensor(np.array(spec["start"], dtype=np.float64), dtype=np.float64))
    opt = make([w], spec)
    path = [w.numpy().copy()]
    losses = []
    for t in range(steps):
        opt.zero_grad()
        loss = spec["f"](w)
        loss.backward()
        value = float(loss.item())
        losses.append(value)
        if not math.isfinite(value) or value > DIVERGED:
            break
        if noise is not None:
            w.grad.data += noise[t]
        opt.step()
        path.append(w.numpy().copy())
    final = float(spec["np"](*path[-1]))
    losses.append(final)
    return np.array(path), np.array(losses)


def _plot_contours(ax, spec, name):
    (x0, x1), (y0, y1) = spec["box"]
    X, Y = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    Z = spec["np"](X, Y)
    levels = np.logspace(-2, math.log10(max(Z.max(), 1.0)), 25)
    ax.contour(X, Y, Z + 1e-12, levels=levels, colors="0.75", linewidths=0.6)
    ax.plot(*spec["argmin"], marker="*", color="k", ms=12, zorder=5)
    ax.plot(*spec["start"], marker="o", color="k", ms=5, zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(name)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


@experiment("trajectories",
            "Paths and loss curves of GD, momentum, Nesterov, AdaGrad, RMSProp, Adadelta, "
            "Adam, AMSGrad, NAdam, RAdam on an ill-conditioned quadratic, Rosenbrock and "
            "Beale, exact and noisy gradients",
            headline=("best.deterministic", "best.noisy"))
def run(ctx):
    import matplotlib.pyplot as plt

    settings = {"deterministic": False, "noisy": True}
    colors = plt.get_cmap("tab10").colors
    results = {s: {} for s in settings}
    paths = {s: {} for s in settings}
    curves = {s: {} for s in settings}
    jobs = [(s, f, o) for s in settings for f in FUNCTIONS for o in OPTIMIZERS]
    noises = {}
    for f, spec in FUNCTIONS.items():
        steps = ctx.pick(*spec["steps"])
        noises[f] = spec["sigma"] * ctx.rng.standard_normal((steps, 2))
    for s, f, o in ctx.progress(jobs, desc="trajectories", total=len(jobs)):
        steps = ctx.pick(*FUNCTIONS[f]["steps"])
        path, losses = run_one(f, o, steps, noises[f] if settings[s] else None)
        paths[s].setdefault(f, {})[o] = path
        curves[s].setdefault(f, {})[o] = losses
        results[s].setdefault(f, {})[o] = float(losses[-1])

    for s in settings:
        fig, axes = plt.subplots(1, len(FUNCTIONS), figsize=(5.2 * len(FUNCTIONS), 4.6))
        for ax, (f, spec) in zip(axes, FUNCTIONS.items()):
            _plot_contours(ax, spec, f"{f} ({s})")
            for c, o in zip(colors, OPTIMIZERS):
                p = paths[s][f][o]
                ax.plot(p[:, 0], p[:, 1], "-", color=c, lw=1.2, label=o, alpha=0.9)
                ax.plot(p[-1, 0], p[-1, 1], "x", color=c, ms=6)
        axes[0].legend(fontsize=7, loc="best", ncol=2)
        fig.suptitle(f"Optimizer paths, {s} gradients (o start, * minimum, x end)")
        ctx.savefig(fig, f"paths_{s}")

    fig, axes = plt.subplots(2, len(FUNCTIONS), figsize=(5.2 * len(FUNCTIONS), 8),
                             sharex="col")
    for row, s in enumerate(settings):
        for col, f in enumerate(FUNCTIONS):
            ax = axes[row, col]
            for c, o in zip(colors, OPTIMIZERS):
                ax.semilogy(np.maximum(curves[s][f][o], 1e-16), color=c, lw=1.1, label=o)
            ax.set_title(f"{f} ({s})")
            ax.set_ylim(1e-16, 1e6)
            ax.set_xlabel("step")
            ax.set_ylabel("$f(w_t) - f^*$")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=2)
    ctx.savefig(fig, "loss_curves")

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
    w0 = mg.nn.Parameter(mg.tensor(np.array(FUNCTIONS["rosenbrock"]["start"]), dtype=np.float64))
    rosenbrock(w0).backward()
    g0 = float(np.linalg.norm(w0.grad.numpy()))
    lr_r = FUNCTIONS["rosenbrock"]["lr_ada"]
    bp = paths["deterministic"]["beale"]["RAdam"][-1]
    plain = ["GD", "Momentum", "Nesterov"]
    adaptive = ["Adam", "AMSGrad", "NAdam", "RMSProp"]
    report = f"""
Every optimizer starts from the same point (circle) and takes the same number of
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
accumulator $u$ grows. RAdam is the instructive failure: its first five steps
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
Best final loss per function, exact gradients: {best['deterministic']}; noisy:
{best['noisy']}.

Final loss $f(w_T) - f^*$:

{ctx.table(rows, headers)}
Settings: GD uses lr_gd, momentum and Nesterov lr_mom ($\\mu$ 0.9, PyTorch's
form); Adam, AMSGrad, NAdam and RAdam use lr_ada, RMSProp lr_ada/2, AdaGrad
10·lr_ada, Adadelta lr 1.0; every other hyperparameter is PyTorch's default; σ is
the noise standard deviation per coordinate (one noise sequence per function,
shared by all optimizers). One reasonable setting per family, not a tuned race.

{ctx.table(hp_rows, ["function", "steps", "start", "lr_gd", "lr_mom", "lr_ada", "sigma"])}"""
    ctx.write_report(report, title="Optimizer trajectories on 2-D test functions")
    return {"final_loss": results, "best": best,
            "steps": {f: ctx.pick(*spec["steps"]) for f, spec in FUNCTIONS.items()}}
