r"""new-optimizers: the methods beyond the lectures against Adam and SGD with momentum.

Sixteen optimizers of ``optim`` (SGD with momentum and Adam as the references; Lion, Adan,
ADOPT, Yogi, AdaBound, QHAdam, AggMo, NovoGrad, MADGRAD, AdEMAMix, ScheduleFreeAdamW,
Prodigy, DAdaptAdam and AdaHessian) run on two problems, each over ``SEEDS`` seeds:

* **Test functions** of the lectures (from :mod:`experiments.demos.trajectories`): the
  ill-conditioned quadratic :math:`0.1x_1^2 + 2x_2^2` and Rosenbrock, exact gradients,
  a seed moving the start point by Gaussian noise (standard deviation ``START_JITTER``)
  around the lecture's start. One run per seed and optimizer: Prodigy, D-Adapt Adam and
  NovoGrad pool statistics over a whole parameter, so runs cannot share one Parameter.
* **A small model**: L2-regularised softmax regression on scikit-learn's digits, the
  objective of :mod:`experiments.demos.muon_vs_adamw` (strongly convex, :math:`F^*` from
  L-BFGS), minibatches of 128, a seed fixing the initialisation and the minibatch order.

Each method has one learning rate per problem (table in the report; AdaBound's final rate
is in :data:`ADABOUND_FINAL_LR`), a usual setting
from its paper or defaults scaled to the problem, not a tuned race; the parameter-free
methods (Prodigy, D-Adapt Adam) run at their ``lr = 1``. ScheduleFreeAdamW is evaluated
at its average :math:`x` (``eval()``), as its authors prescribe; AdaHessian gets the
gradient's graph (``backward(create_graph=True)``) for its Hessian-vector products.
The verdicts say, per problem, on how many of the seeds each method ends below Adam and
below SGD (by more than ``REL_MARGIN``, so that rounding-level ties do not count).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import minigrad.functional as F
import optim
from experiments.registry import experiment
from minigrad import nn

from ._sklearn_data import load_digits_split
from .muon_vs_adamw import BATCH, LAMBDA, objective_optimum
from .trajectories import DIVERGED, FUNCTIONS

SEEDS = 5
START_JITTER = 0.1
TEST_FUNCTIONS = ("quadratic", "rosenbrock")
#: steps per test function (quick, full)
STEPS = {"quadratic": (30, 150), "rosenbrock": (40, 500)}
REFERENCES = ("SGD", "Adam")
#: a method "ends below" a reference on a seed when its final value is lower by more than
#: this fraction: AdaBound, for one, tracks Adam to rounding for hundreds of steps, and a
#: difference in the last digits is no result
REL_MARGIN = 0.01

# name: (constructor(params, lr), lr on quadratic, lr on Rosenbrock, lr on the digits model)
METHODS = {
    "SGD": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9), 0.05, 1e-3, 0.1),
    "Adam": (lambda p, lr: optim.Adam(p, lr=lr), 0.1, 2e-2, 1e-2),
    "Lion": (lambda p, lr: optim.Lion(p, lr=lr), 0.03, 5e-3, 1e-3),
    "Adan": (lambda p, lr: optim.Adan(p, lr=lr), 0.1, 2e-2, 1e-2),
    "ADOPT": (lambda p, lr: optim.ADOPT(p, lr=lr), 0.1, 2e-2, 1e-2),
    "Yogi": (lambda p, lr: optim.Yogi(p, lr=lr), 0.1, 2e-2, 1e-2),
    "AdaBound": (lambda p, lr: optim.AdaBound(p, lr=lr), 0.1, 2e-2, 1e-2),
    "QHAdam": (lambda p, lr: optim.QHAdam(p, lr=lr), 0.1, 2e-2, 1e-2),
    "AggMo": (lambda p, lr: optim.AggMo(p, lr=lr), 0.05, 1e-3, 0.1),
    "NovoGrad": (lambda p, lr: optim.NovoGrad(p, lr=lr), 0.1, 2e-2, 1e-2),
    "MADGRAD": (lambda p, lr: optim.MADGRAD(p, lr=lr), 0.1, 2e-2, 1e-2),
    "AdEMAMix": (lambda p, lr: optim.AdEMAMix(p, lr=lr), 0.1, 2e-2, 1e-2),
    "ScheduleFreeAdamW": (lambda p, lr: optim.ScheduleFreeAdamW(p, lr=lr), 0.1, 2e-2, 1e-2),
    "Prodigy": (lambda p, lr: optim.Prodigy(p, lr=lr), 1.0, 1.0, 1.0),
    "DAdaptAdam": (lambda p, lr: optim.DAdaptAdam(p, lr=lr), 1.0, 1.0, 1.0),
    "AdaHessian": (lambda p, lr: optim.AdaHessian(p, lr=lr), 0.1, 2e-2, 0.1),
}
LR_COLUMN = {"quadratic": 1, "rosenbrock": 2, "digits": 3}


#: AdaBound's final (SGD) rate per problem: plain gradient descent's rate of the lectures
#: on the test functions, AdaBound's default 0.1 on the model
ADABOUND_FINAL_LR = {"quadratic": FUNCTIONS["quadratic"]["lr_gd"],
                     "rosenbrock": FUNCTIONS["rosenbrock"]["lr_gd"], "digits": 0.1}


def _make(name, params, problem):
    spec = METHODS[name]
    lr = spec[LR_COLUMN[problem]]
    if name == "AdaBound":
        return optim.AdaBound(params, lr=lr, final_lr=ADABOUND_FINAL_LR[problem])
    return spec[0](params, lr)


def _backward(name, loss):
    loss.backward(create_graph=(name == "AdaHessian"))


def _eval_mode(opt):
    if isinstance(opt, optim.ScheduleFreeAdamW):
        opt.eval()


def _train_mode(opt):
    if isinstance(opt, optim.ScheduleFreeAdamW):
        opt.train()


def run_function(fn_name, method, steps, start):
    """One run of ``method`` on a test function from ``start``.

    Returns the path (steps+1, 2) and the loss at each point (steps+1,), taken at the
    point the optimizer reports (ScheduleFree: its average). A run whose loss exceeds
    ``DIVERGED`` or is not finite stops and keeps its last loss."""
    spec = FUNCTIONS[fn_name]
    w = nn.Parameter(mg.tensor(np.array(start, dtype=np.float64), dtype=np.float64))
    opt = _make(method, [w], fn_name)
    path = np.empty((steps + 1, 2))
    losses = np.empty(steps + 1)
    path[0] = start
    losses[0] = spec["np"](*path[0])
    for t in range(steps):
        _train_mode(opt)
        opt.zero_grad()
        _backward(method, spec["f"](w[0], w[1]))
        opt.step()
        _eval_mode(opt)
        path[t + 1] = w.numpy()
        losses[t + 1] = spec["np"](*path[t + 1])
        if not np.isfinite(losses[t + 1]) or losses[t + 1] > DIVERGED:
            path[t + 1:] = path[t]
            losses[t + 1:] = losses[t] if np.isfinite(losses[t]) else np.inf
            break
    return path, losses


def run_model(method, data, epochs, seed):
    """Train softmax regression with ``method``; the objective F over the training set
    after every epoch (epochs+1 values, the first at the initialisation) and the final
    test accuracy."""
    mg.manual_seed(seed)
    model = nn.Linear(64, 10)
    opt = _make(method, model.parameters(), "digits")
    Xtr, ytr = mg.tensor(data.X_train), mg.tensor(data.y_train)

    def objective(X, y):
        return F.cross_entropy(model(X), y) + 0.5 * LAMBDA * (model.weight * model.weight).sum()

    def full_objective():
        _eval_mode(opt)
        with mg.no_grad():
            value = float(objective(Xtr, ytr).item())
        _train_mode(opt)
        return value

    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    batches = int(np.ceil(n / BATCH))
    values = [full_objective()]
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(n), batches):
            opt.zero_grad()
            _backward(method, objective(mg.tensor(data.X_train[idx]), mg.tensor(data.y_train[idx])))
            opt.step()
        values.append(full_objective())
    _eval_mode(opt)
    with mg.no_grad():
        pred = model(mg.tensor(data.X_test)).numpy().argmax(-1)
    return np.array(values), float((pred == data.y_test).mean())


def _count_below(values, ref):
    """On how many seeds ``values`` ends below ``ref`` by more than ``REL_MARGIN`` (seed by seed)."""
    return int(np.sum(np.asarray(values) < (1.0 - REL_MARGIN) * np.asarray(ref)))


def _verdict(name, problem, below):
    parts = []
    for ref in REFERENCES:
        k = below[ref]
        parts.append(f"below {ref} on {k} of {SEEDS} seeds"
                     + (" (every seed)" if k == SEEDS else " (no seed)" if k == 0 else ""))
    return f"{name} on {problem}: ends " + ", ".join(parts) + "."


def _band(ax, x, curves, color, label):
    """Median over seeds (references dashed and thicker) and a light min-max band."""
    curves = np.asarray(curves, dtype=float)
    lo, med, hi = np.nanmin(curves, 0), np.nanmedian(curves, 0), np.nanmax(curves, 0)
    ref = label in REFERENCES
    ax.semilogy(x, med, color=color, lw=2.0 if ref else 1.2, ls="--" if ref else "-",
                label=label, zorder=5 if ref else 2)
    ax.fill_between(x, lo, hi, color=color, alpha=0.1)


@experiment("new-optimizers",
            "Lion, Adan, ADOPT, Yogi, AdaBound, QHAdam, AggMo, NovoGrad, MADGRAD, AdEMAMix, "
            "ScheduleFreeAdamW, Prodigy, D-Adapt Adam, AdaHessian against Adam and SGD on the "
            "quadratic, Rosenbrock and softmax regression on digits, 5 seeds",
            headline=("digits_best", "rosenbrock_best", "quadratic_best"))
def run(ctx):
    import matplotlib.pyplot as plt

    seeds = [ctx.seed + i for i in range(SEEDS)]
    # the references in black and red (dashed, thick), the new methods in tab20 without its reds
    palette = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (6, 7)]
    new_methods = [m for m in METHODS if m not in REFERENCES]
    color = {"SGD": "k", "Adam": "tab:red", **{m: palette[i % len(palette)] for i, m in enumerate(new_methods)}}
    final = {}          # problem -> method -> [final value per seed]
    curves = {}         # problem -> method -> [curve per seed]
    paths0 = {}         # test function -> method -> path of the first seed
    for fn_name in TEST_FUNCTIONS:
        spec = FUNCTIONS[fn_name]
        steps = ctx.pick(*STEPS[fn_name])
        starts = [np.array(spec["start"]) + START_JITTER * np.random.default_rng([sd, 7]).standard_normal(2)
                  for sd in seeds]
        final[fn_name], curves[fn_name], paths0[fn_name] = {}, {}, {}
        for m in ctx.progress(list(METHODS), desc=fn_name):
            runs = [run_function(fn_name, m, steps, s) for s in starts]
            curves[fn_name][m] = [r[1] for r in runs]
            final[fn_name][m] = [float(r[1][-1]) for r in runs]
            paths0[fn_name][m] = runs[0][0]

    data = load_digits_split(seed=ctx.seed)
    f_star = objective_optimum(data)
    epochs = ctx.pick(2, 12)
    final["digits"], curves["digits"], test_acc, initial = {}, {}, {}, {}
    for m in ctx.progress(list(METHODS), desc="digits"):
        runs = [run_model(m, data, epochs, sd) for sd in seeds]
        curves["digits"][m] = [r[0] - f_star for r in runs]
        final["digits"][m] = [float(r[0][-1] - f_star) for r in runs]
        initial[m] = [float(r[0][0] - f_star) for r in runs]
        test_acc[m] = [r[1] for r in runs]

    problems = list(TEST_FUNCTIONS) + ["digits"]
    below = {p: {m: {ref: _count_below(final[p][m], final[p][ref]) for ref in REFERENCES}
                 for m in METHODS if m not in REFERENCES} for p in problems}
    lowered = {m: int(sum(f < i for f, i in zip(final["digits"][m], initial[m]))) for m in METHODS}
    median = {p: {m: float(np.median(final[p][m])) for m in METHODS} for p in problems}
    best = {p: min(METHODS, key=lambda m, p=p: median[p][m] if np.isfinite(median[p][m]) else np.inf)
            for p in problems}

    # --- figures --------------------------------------------------------------------
    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    for col, fn_name in enumerate(TEST_FUNCTIONS):
        spec = FUNCTIONS[fn_name]
        ax = axes[0, col]
        (x0, x1), (y0, y1) = spec["box"]
        X, Y = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
        Z = spec["np"](X, Y)
        ax.contour(X, Y, Z + 1e-12, levels=np.logspace(-2, np.log10(max(Z.max(), 1.0)), 25),
                   colors="0.75", linewidths=0.6)
        for m, path in paths0[fn_name].items():
            ax.plot(path[:, 0], path[:, 1], color=color[m], lw=1.8 if m in REFERENCES else 1.0,
                    ls="--" if m in REFERENCES else "-", label=m, zorder=5 if m in REFERENCES else 2)
        ax.plot(*spec["argmin"], marker="*", color="k", ms=14, ls="none", zorder=6)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"{fn_name}: paths from the start of seed {seeds[0]}")
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax = axes[1, col]
        for m in METHODS:
            c = np.maximum(np.array(curves[fn_name][m]), 1e-16)
            _band(ax, np.arange(c.shape[1]), c, color[m], m)
        ax.set_xlabel("step")
        ax.set_ylabel("f (log scale)")
        ax.set_title(f"{fn_name}: median and min-max over {SEEDS} start points")
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    fig.legend(*axes[1, 0].get_legend_handles_labels(), loc="center right", fontsize=8)
    ctx.savefig(fig, "test_functions")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5))
    for m in METHODS:
        _band(ax1, np.arange(epochs + 1), np.maximum(np.array(curves["digits"][m]), 1e-8), color[m], m)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("$F - F^*$ (whole training set, log scale)")
    ax1.set_title(f"softmax regression on digits: median and min-max over {SEEDS} seeds")
    ax1.legend(fontsize=7, ncol=2)
    for i, m in enumerate(METHODS):
        ax2.semilogy(np.full(SEEDS, i), np.maximum(final["digits"][m], 1e-8), "o", color=color[m], ms=4)
    for ref, ls in zip(REFERENCES, (":", "--")):
        ax2.axhline(np.median(final["digits"][ref]), color="0.4", ls=ls, lw=0.8, label=f"{ref} median")
    ax2.set_xticks(np.arange(len(METHODS)), list(METHODS), rotation=60, fontsize=7)
    ax2.set_ylabel("final $F - F^*$ per seed (log scale)")
    ax2.set_title("final suboptimality, one dot per seed")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "digits")

    # --- report -----------------------------------------------------------------------
    verdicts = {p: {m: _verdict(m, p, below[p][m]) for m in below[p]} for p in problems}
    beats_both = {p: [m for m in below[p] if all(v == SEEDS for v in below[p][m].values())]
                  for p in problems}
    lr_rows = [[m] + [METHODS[m][LR_COLUMN[p]] for p in problems] for m in METHODS]
    tables = []
    for p in problems:
        rows = [[m, median[p][m], min(final[p][m]), max(final[p][m])]
                + ([below[p][m]["Adam"], below[p][m]["SGD"]] if m in below[p] else ["-", "-"])
                + ([float(np.median(test_acc[m]))] if p == "digits" else [])
                for m in METHODS]
        head = ["method", "median final", "min", "max", f"below Adam (of {SEEDS})", f"below SGD (of {SEEDS})"]
        tables.append(f"**{p}** (final {'F - F*' if p == 'digits' else 'f'}, over seeds {seeds}):\n\n"
                      + ctx.table(rows, head + (["median test acc"] if p == "digits" else [])))

    def names(ms):
        return ", ".join(ms) if ms else "none"

    never_lowered = [m for m in METHODS if lowered[m] < SEEDS]
    n_new = len(METHODS) - len(REFERENCES)
    sgd_vs_adam = {p: _count_below(final[p]["SGD"], final[p]["Adam"]) for p in problems}
    report = f"""
Sixteen optimizers, each with one fixed learning rate per problem (below), on {SEEDS} seeds
({seeds}). Test functions: exact gradients, {ctx.pick(*STEPS['quadratic'])} steps on the quadratic
and {ctx.pick(*STEPS['rosenbrock'])} on Rosenbrock, the seed moving the start by N(0, {START_JITTER}^2)
per coordinate. Model: L2-regularised softmax regression (lambda = {LAMBDA:g}) on scikit-learn's
digits, {epochs} epochs of minibatches of {BATCH}, F* = {f_star:.5f} (L-BFGS); the seed fixes the
initialisation and the minibatch order.

**What our numbers show.**

* Lowest median final value: {best['quadratic']} on the quadratic, {best['rosenbrock']} on
  Rosenbrock, {best['digits']} on digits.
* Below both Adam and SGD on every seed: quadratic: {names(beats_both['quadratic'])};
  Rosenbrock: {names(beats_both['rosenbrock'])}; digits: {names(beats_both['digits'])}.
* New methods below Adam on every seed: {sum(below['quadratic'][m]['Adam'] == SEEDS for m in below['quadratic'])}
  of {n_new} on the quadratic, {sum(below['rosenbrock'][m]['Adam'] == SEEDS for m in below['rosenbrock'])} on
  Rosenbrock, {sum(below['digits'][m]['Adam'] == SEEDS for m in below['digits'])} on digits; SGD with momentum itself
  ends below Adam on {sgd_vs_adam['quadratic']}, {sgd_vs_adam['rosenbrock']} and {sgd_vs_adam['digits']} of
  {SEEDS} seeds on the three problems.
* On digits every method lowers the objective from its initialisation on
  {"every seed" if not never_lowered else "every seed except: " + names(never_lowered)}.
* The ranking depends on the problem and on each method's single learning rate: these are
  one reasonable setting each, not tuned, so a method's place says how it does at that
  setting, not at its best. The per-seed counts below say how far each comparison holds.

Verdicts (a method ends below a reference on a seed when its final value is lower by more
than {REL_MARGIN:.0%}, so that ties to rounding do not count):

""" + "\n".join(f"* {v}" for p in problems for v in verdicts[p].values()) + "\n\n" + "\n\n".join(tables) + f"""

Learning rates:

{ctx.table(lr_rows, ['method', 'quadratic', 'rosenbrock', 'digits'])}
"""
    ctx.write_report(report)

    return {
        "seeds": seeds, "methods": list(METHODS), "references": list(REFERENCES),
        "epochs": epochs, "f_star": f_star,
        "steps": {f: ctx.pick(*STEPS[f]) for f in TEST_FUNCTIONS},
        "quadratic_best": best["quadratic"], "rosenbrock_best": best["rosenbrock"],
        "digits_best": best["digits"],
        "per_seed": {p: {m: final[p][m] for m in METHODS} for p in problems},
        "digits_initial": initial, "digits_test_acc": test_acc,
        "digits_lowered_on_seeds": lowered,
        "below_reference_on_seeds": below, "sgd_below_adam_on_seeds": sgd_vs_adam,
        "verdicts": verdicts,
        "lr": {m: {p: METHODS[m][LR_COLUMN[p]] for p in problems} for m in METHODS},
    }
