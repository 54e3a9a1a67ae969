r"""adabelief-regions: the step each optimizer takes in the three regions of AdaBelief's picture.

The optimizer lecture explains AdaBelief (Zhuang et al. 2020) with a one-dimensional
loss of three regions and a table of the step each method takes there:

=========================  =========  =========  =========
method                     region 1   region 2   region 3
=========================  =========  =========  =========
SGD / momentum             S          L          L
Adam                       L          S          S
AdaBelief                  L          S          L
ideal                      L          S          L
=========================  =========  =========  =========

* region 1, *flat*: small gradients, no curvature (a plateau; the ideal step is large);
* region 2, *steep*: large gradients and large curvature (a narrow valley; the ideal
  step is small, or the iterate overshoots);
* region 3, large gradients and *small curvature* (a long slope; the ideal step is large).

The loss here is continuous and piecewise: a narrow quadratic valley
:math:`f = \tfrac h2 x^2` for :math:`|x| \le \delta` (region 2), a plateau of slope
:math:`g_1` for :math:`x < -\delta` (region 1) and a slope :math:`g_3` for
:math:`x > \delta` (region 3). The "step" is the quantity of the paper's argument:
for SGD and momentum the update :math:`|\Delta\theta|` (:math:`\alpha|g|`,
:math:`\alpha|b|`: proportional to the gradient); for Adam and AdaBelief the
adaptive step size, the factor on :math:`\hat m_t`: :math:`\alpha/(\sqrt{\hat v_t} +
\epsilon)` and :math:`\alpha/(\sqrt{\hat s_t} + \epsilon)`, read from the optimizers'
traces (``v_hat``, ``s_hat``); for the ideal the inverse curvature :math:`1/f''`
(infinite on the linear pieces). Each method starts far out on the plateau and far
up the slope and runs ``STEPS`` steps there (the pieces are long enough that it
stays in them), and the step is averaged over the last eighth of them: the
optimizer's state has forgotten its start. In the valley it starts at the rim and
the step is averaged over the first ``VALLEY_STEPS`` steps, while it crosses the valley.
Every update is also tabulated.

A cell is L when the method's step there is at least the geometric mean of its
smallest and largest step over the three regions, S otherwise.

Outcomes: ``steps`` (``{method: {region: step}}``; the ideal's infinite steps are
null in ``summary.json``), ``updates`` (the mean
:math:`|\Delta\theta|`), ``measured`` and ``lecture`` (``{method: "L,S,L"}``),
``agree`` (``{method: bool}``), ``cells_agree`` and ``cells``.
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment

H = 1e4           # curvature of the valley (region 2)
DELTA = 0.05      # half-width of the valley
G1 = 0.01         # slope of the plateau (region 1)
G3 = 10.0         # slope of region 3
F_RIM = 0.5 * H * DELTA ** 2
START = {"region 1": -3000.0, "region 2": DELTA, "region 3": 3000.0}
REGIONS = tuple(START)
VALLEY_STEPS = 20
LR_SGD = 1.5e-4   # stable in the valley: alpha h = 1.5 < 2
LR_ADAPTIVE = 1e-2
BETAS = (0.9, 0.99)

METHODS = {
    "SGD": lambda p: optim.SGD(p, lr=LR_SGD, trace=["theta"]),
    "momentum": lambda p: optim.SGD(p, lr=LR_SGD, momentum=0.9, trace=["theta"]),
    "Adam": lambda p: optim.Adam(p, lr=LR_ADAPTIVE, betas=BETAS, trace=["theta", "v_hat"]),
    "AdaBelief": lambda p: optim.AdaBelief(p, lr=LR_ADAPTIVE, betas=BETAS,
                                           trace=["theta", "s_hat"]),
}
LECTURE = {"SGD": "S,L,L", "momentum": "S,L,L", "Adam": "L,S,S", "AdaBelief": "L,S,L",
           "ideal": "L,S,L"}


def loss(w):
    """The three-region loss at the 1-element Parameter ``w`` (a minigrad expression)."""
    x = float(w.item())
    if x < -DELTA:
        return F_RIM + G1 * (-DELTA - w)
    if x > DELTA:
        return F_RIM + G3 * (w - DELTA)
    return 0.5 * H * w * w


def loss_np(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x < -DELTA, F_RIM + G1 * (-DELTA - x),
                    np.where(x > DELTA, F_RIM + G3 * (x - DELTA), 0.5 * H * x * x))


def curvature(region):
    return H if region == "region 2" else 0.0


def run_method(name, region, steps):
    """Run one method from the region's start; return (x path, step series, update series)."""
    w = mg.nn.Parameter(mg.tensor(np.array(START[region], dtype=np.float64), dtype=np.float64))
    opt = METHODS[name]([w])
    n = VALLEY_STEPS if region == "region 2" else steps
    for _ in range(n):
        opt.zero_grad()
        loss(w).backward()
        opt.step()
    theta = np.concatenate([[START[region]], np.ravel(opt.trace_of("theta"))])
    updates = np.abs(np.diff(theta))
    if name == "Adam":
        step = LR_ADAPTIVE / (np.sqrt(np.ravel(opt.trace_of("v_hat"))) + 1e-8)
    elif name == "AdaBelief":
        step = LR_ADAPTIVE / (np.sqrt(np.ravel(opt.trace_of("s_hat"))) + 1e-16)
    else:
        step = updates
    return theta, step, updates


def window(series, region):
    return series if region == "region 2" else series[-max(1, len(series) // 8):]


def classify(values):
    """"L"/"S" per region: L at or above the geometric mean of the row's extremes."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = v.min(), v.max()
    threshold = math.inf if math.isinf(hi) else math.sqrt(lo * hi)
    return ",".join("L" if x >= threshold else "S" for x in v)


@experiment("adabelief-regions",
            "AdaBelief's three regions: the step SGD, momentum, Adam and AdaBelief take on a "
            "plateau, in a steep valley and on a long slope, measured from their traces "
            "against the lecture's table",
            headline=("measured", "cells_agree"))
def run(ctx):
    import matplotlib.pyplot as plt

    steps = ctx.pick(600, 1000)
    paths, step_series, upd_series = {}, {}, {}
    for name in ctx.progress(METHODS, desc="methods"):
        for region in REGIONS:
            paths[name, region], step_series[name, region], upd_series[name, region] = \
                run_method(name, region, steps)
    step = {m: {r: float(np.mean(window(step_series[m, r], r))) for r in REGIONS} for m in METHODS}
    upd = {m: {r: float(np.mean(window(upd_series[m, r], r))) for r in REGIONS} for m in METHODS}
    step["ideal"] = {r: (1.0 / curvature(r) if curvature(r) > 0 else math.inf) for r in REGIONS}
    measured = {m: classify([step[m][r] for r in REGIONS]) for m in step}
    agree = {m: measured[m] == LECTURE[m] for m in step}
    cells = sum(a == b for m in step for a, b in zip(measured[m].split(","), LECTURE[m].split(",")))
    n_cells = 3 * len(step)

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    ax = axes[0]
    xs = np.concatenate([-np.geomspace(4000, DELTA, 200), np.linspace(-DELTA, DELTA, 101),
                         np.geomspace(DELTA, 4000, 200)])
    ax.plot(xs, loss_np(xs), color="k", label="loss f(x)")
    shades = {"region 1": ((-4000, -DELTA), "C0"), "region 2": ((-DELTA, DELTA), "C3"),
              "region 3": ((DELTA, 4000), "C2")}
    for r, ((a, b), col) in shades.items():
        ax.axvspan(a, b, color=col, alpha=0.15, label=r)
        ax.plot(START[r], loss_np(START[r]), "o", color=col, mec="k", ms=7)
    ax.set_xscale("symlog", linthresh=DELTA)
    ticks = [-1e3, -1, 0, 1, 1e3]
    ax.set_xticks(ticks, ["-1000", "-1", "0", "1", "1000"])
    ax.set_yscale("log")
    ax.set_xlabel("x (symmetric log scale)")
    ax.set_ylabel("f(x) (log scale)")
    ax.set_title("the loss: plateau, steep valley, long slope (o: starts)")
    ax.legend(fontsize=8, loc="upper center")

    ax = axes[1]
    x = np.arange(len(REGIONS))
    width = 0.18
    names = list(step)
    for i, m in enumerate(names):
        vals = [step[m][r] for r in REGIONS]
        finite = [v if math.isfinite(v) else np.nan for v in vals]
        ax.bar(x + (i - 2) * width, finite, width, label=f"{m} ({measured[m]})",
               color=f"C{i}", hatch="//" if m == "ideal" else None)
        for xi, v in zip(x + (i - 2) * width, vals):
            if not math.isfinite(v):
                ax.annotate("∞", (xi, 1), ha="center", fontsize=11)
    ax.set_yscale("log")
    ax.set_xticks(x, ["region 1\nflat", "region 2\nsteep valley", "region 3\nlong slope"])
    ax.set_xlabel("region")
    ax.set_ylabel("step (log scale): |Δθ| for SGD/momentum,\nα/√v̂, α/√ŝ for Adam/AdaBelief, 1/f'' ideal")
    ax.set_title("the step each method takes (label: measured L/S)")
    ax.legend(fontsize=7, loc="lower left")
    ctx.savefig(fig, "regions")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, r in zip(axes, REGIONS):
        for i, m in enumerate(METHODS):
            s = step_series[m, r]
            ax.semilogy(np.arange(1, len(s) + 1), s, color=f"C{i}", label=m,
                        ls="--" if m == "momentum" else "-")
        if r != "region 2":
            ax.axvspan(len(s) - len(window(s, r)), len(s), color="0.85", label="averaged")
        ax.set_xlabel("step")
        ax.set_ylabel("step (log scale)")
        ax.set_title(f"{r}: the step along the run")
        ax.legend(fontsize=7)
    ctx.savefig(fig, "steps_over_time")

    rows = []
    for m in step:
        rows.append([m] + [step[m][r] for r in REGIONS] + [measured[m], LECTURE[m],
                                                           "yes" if agree[m] else "no"])
    upd_rows = [[m] + [upd[m][r] for r in REGIONS] for m in METHODS]
    disagree = [m for m in step if not agree[m]]
    verdict = ("Every row matches the lecture's table." if not disagree else
               f"The rows of {', '.join(disagree)} differ from the lecture's table "
               f"({cells} of {n_cells} cells agree).")
    report = f"""
**Claim** (the optimizer lecture, after Zhuang et al. 2020): SGD's step follows the
gradient (small on a plateau, large on steep or sloped ground), Adam's step size
$\\alpha/\\sqrt{{\\hat v}}$ follows the inverse gradient magnitude (large on the plateau,
small wherever gradients are large), and AdaBelief's $\\alpha/\\sqrt{{\\hat s}}$ follows the
inverse *change* of the gradient, i.e. the curvature: large on the plateau and on the
long slope, where the gradient does not change, small in the steep valley, where it
flips sign. Only AdaBelief matches the ideal (L, S, L).

**What our numbers show**: {verdict} On the long slope the gradient is the same at
every step, so $\\hat s$ decays with $\\beta_2^t$ while $\\hat v$ stays at $g_3^2$:
AdaBelief's step there is {step['AdaBelief']['region 3'] / step['Adam']['region 3']:.0f}
times Adam's. In the valley the gradient flips sign from step to step, and both
adaptive steps are small.

Step (see the module's text for what is measured), with the measured and the
lecture's labels:

{ctx.table(rows, ["method", "region 1 (flat)", "region 2 (steep)", "region 3 (slope)",
                  "measured", "lecture", "agrees"])}
Mean update |Δθ| in each region:

{ctx.table(upd_rows, ["method", "region 1 (flat)", "region 2 (steep)", "region 3 (slope)"])}
Setting: plateau slope {G1}, valley $f = \\tfrac{{h}}{{2}}x^2$ with h = {H:g} on |x| ≤ {DELTA},
slope {G3}; SGD and momentum (0.9) lr {LR_SGD} (stable in the valley), Adam and AdaBelief
lr {LR_ADAPTIVE}, betas {BETAS}, their default epsilons; {steps} steps on the plateau and
the slope (mean over the last {max(1, steps // 8)}), {VALLEY_STEPS} in the valley. A cell
is L when the step is at least the geometric mean of the row's smallest and largest.
The loss is deterministic: no seeds."""
    ctx.write_report(report, title="AdaBelief's three regions")
    return {"steps": step, "updates": upd, "measured": measured, "lecture": LECTURE,
            "agree": agree, "cells_agree": cells, "cells": n_cells}
