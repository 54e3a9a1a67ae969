r"""RAdam: the variance of Adam's adaptive learning rate and its rectification.

Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond".
Adam's adaptive learning rate (per coordinate) is

.. math:: \psi_t = \sqrt{\frac{1-\beta_2^t}{(1-\beta_2)\sum_{i=1}^t \beta_2^{t-i} g_i^2}}
          = \sqrt{(1-\beta_2^t)/v_t}.

For :math:`g_i \sim N(0, \sigma^2)`, :math:`\psi_t^2` is approximately a scaled
inverse :math:`\chi^2` with :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`
degrees of freedom, :math:`\rho_\infty = 2/(1-\beta_2) - 1`, which gives

.. math:: \mathrm{Var}[\psi_t] \approx \frac{\rho_t}{2(\rho_t-2)(\rho_t-4)\sigma^2}
          \quad (\rho_t > 4),

unbounded for the first steps. RAdam multiplies the Adam step by
:math:`r_t = \sqrt{\mathrm{Var}[\psi]_{\rho_\infty} / \mathrm{Var}[\psi]_{\rho_t}}`
once :math:`\rho_t` exceeds a threshold (4 in the paper, 5 in PyTorch and the
authors' code) and takes an un-adapted momentum step before.

Three parts: (1) the variance, analytic against Monte Carlo; (2) :math:`\rho_t` and
:math:`r_t` from ``optim.RAdam(trace=True)`` with ``threshold=5`` and ``4``;
(3) Adam without warmup, with linear warmup, and RAdam, on a logistic regression
with a large learning rate, where Adam's first steps are too large; (4) inside a
real model: Tree2Seq learning to name this project's own functions, traced with
``optim.Trace`` (summaries per layer, every step): RAdam's :math:`r_t` and the
effective step sizes of Adam and RAdam per layer.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment
from minigrad import functional as F
from models import LogisticRegression

BETA2 = 0.999
SEEDS = 5          # seeds of the warmup comparison (initialisation and minibatches)


def rho_inf(beta2):
    return 2.0 / (1.0 - beta2) - 1.0


def rho(t, beta2):
    t = np.asarray(t, dtype=np.float64)
    b = beta2 ** t
    return rho_inf(beta2) - 2.0 * t * b / (1.0 - b)


def var_psi(rho_t, sigma=1.0):
    """The paper's approximation of Var[psi_t] (NaN where rho_t <= 4)."""
    rho_t = np.asarray(rho_t, dtype=np.float64)
    out = np.full_like(rho_t, np.nan)
    ok = rho_t > 4
    out[ok] = rho_t[ok] / (2 * (rho_t[ok] - 2) * (rho_t[ok] - 4) * sigma ** 2)
    return out


def monte_carlo_var_psi(T, n, beta2, sigma, rng):
    """Var[psi_t], t = 1..T, over n independent gradient sequences g ~ N(0, sigma^2)."""
    v = np.zeros(n)
    out = np.empty(T)
    for t in range(1, T + 1):
        g = sigma * rng.standard_normal(n)
        v = beta2 * v + (1 - beta2) * g * g
        psi = np.sqrt((1 - beta2 ** t) / v)
        out[t - 1] = psi.var(ddof=1)
    return out


def radam_trace(threshold, steps, seed=0):
    """rho_t, rectified and r_t as recorded by optim.RAdam(trace=True)."""
    rng = np.random.default_rng(seed)
    w = mg.nn.Parameter(mg.tensor(np.zeros(4), dtype=np.float64))
    opt = optim.RAdam([w], lr=1e-3, betas=(0.9, BETA2), threshold=threshold, trace=True)
    for _ in range(steps):
        opt.zero_grad()
        (w * mg.tensor(rng.standard_normal(4), dtype=np.float64)).sum().backward()
        opt.step()
    rho_t = opt.trace_of("rho_t")
    rectified = opt.trace_of("rectified").astype(bool)
    r_steps, r_t = opt.trace_of("r_t", steps=True)
    return rho_t, rectified, r_steps, r_t


# --- part 3: a model where the early variance hurts ---------------------------------

def logistic_data(d=100, n=2000, k=5, seed=123):
    """n points in d dimensions, labels from a logistic model on the first k features;
    the other d - k features are pure noise."""
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d))
    w = np.zeros(d)
    w[:k] = r.normal(0, 2, k)
    p = 1 / (1 + np.exp(-X @ w))
    y = (r.random(n) < p).astype(np.int64)
    return X.astype(np.float32), y


VARIANTS = {
    "Adam (no warmup)": lambda m, lr: (optim.Adam(m.parameters(), lr=lr, betas=(0.9, BETA2)),
                                       None),
    "Adam + linear warmup 2/(1-b2)": "warmup_untuned",
    "Adam + linear warmup 200": "warmup_200",
    "RAdam": lambda m, lr: (optim.RAdam(m.parameters(), lr=lr, betas=(0.9, BETA2)), None),
}


def _make(variant, model, lr):
    spec = VARIANTS[variant]
    if callable(spec):
        return spec(model, lr)
    opt = optim.Adam(model.parameters(), lr=lr, betas=(0.9, BETA2))
    if spec == "warmup_untuned":
        return opt, optim.lr_scheduler.LinearWarmupLR(opt)          # tau = 2000
    return opt, optim.lr_scheduler.LinearWarmupLR(opt, warmup_steps=200)


def train(variant, seed, lr, steps, X, y, batch=16):
    mg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LogisticRegression(X.shape[1], 2)
    opt, sched = _make(variant, model, lr)
    losses = np.empty(steps)
    for t in range(steps):
        idx = rng.integers(0, len(X), batch)
        loss = F.cross_entropy(model(mg.tensor(X[idx])), mg.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses[t] = loss.item()
    with mg.no_grad():
        full = F.cross_entropy(model(mg.tensor(X)), mg.tensor(y)).item()
        w = next(iter(model.parameters())).numpy()
    noise_weight = float(np.abs(w[:, 5:]).mean())
    return losses, float(full), noise_weight


def _smooth(x, k=25):
    if len(x) < k:
        return x
    c = np.cumsum(np.insert(x, 0, 0.0))
    out = (c[k:] - c[:-k]) / k
    return np.concatenate([np.cumsum(x[:k - 1]) / np.arange(1, k), out])


# --- part 4: inside a real model (tracing summaries per layer) ---------------------

def tree2seq_effective_steps(steps, batch, size, seed, lr=1e-3, eps=1e-8):
    """Tree2Seq on the functions of ``optim/functional``, trained with Adam and with
    RAdam, both traced with ``optim.Trace`` every step: per layer the median and
    mean of the effective step size (Adam: gamma / (sqrt(v_hat) + eps); RAdam:
    gamma r_t l_t on rectified steps), and RAdam's r_t. Returns the two traces."""
    import os

    from experiments.datasets import method_naming as mn
    from models import Tree2Seq

    corpus = mn.build_python_corpus(os.path.join(os.path.dirname(optim.__file__), "functional"),
                                    fractions=(1.0, 0.0, 0.0), max_nodes=200, cache=False,
                                    progress=False)
    vocabs = corpus.build_vocabs(min_freq=1)
    trees, tgt, _ = mn.batch_examples(corpus.train[:batch], *vocabs)
    args = (trees.token_ids, trees.node_type_ids, trees.parent)
    types, tokens, targets = vocabs
    derived = {
        "Adam": {"eta_eff": lambda q: lr / (np.sqrt(q["v_hat"]) + eps)},
        "RAdam": {"eta_eff": lambda q: lr * q["r_t"] * q["l_t"]},
    }
    traces = {}
    for name, cls in (("Adam", optim.Adam), ("RAdam", optim.RAdam)):
        mg.manual_seed(seed)
        model = Tree2Seq(len(tokens), len(types), len(targets), embed_size=size, hidden_size=size,
                         pad_idx=targets.pad_id, bos_idx=targets.bos_id, eos_idx=targets.eos_id)
        # the weight matrices; not the embeddings: the rows of tokens absent from the batch
        # never get a gradient, v_hat stays 0 there and the "step" is gamma / eps
        layers = [n for n, p in model.named_parameters() if p.ndim == 2 and "embedding" not in n]
        trace = optim.Trace(quantities=["r_t", "rho_t"], params=layers, derived=derived[name],
                            stats=("mean",), quantiles=(0.5,))
        opt = cls(model.named_parameters(), lr=lr, betas=(0.9, BETA2), eps=eps, trace=trace)
        for _ in range(steps):
            opt.zero_grad()
            model.loss(*args, tgt).backward()
            opt.step()
        traces[name] = trace
    return traces


@experiment("radam-variance",
            "Variance of Adam's adaptive lr (analytic vs Monte Carlo), RAdam's rho_t and "
            "r_t with thresholds 5 and 4, and Adam vs warmup vs RAdam at a large lr",
            headline=("first_rectified_step_threshold5", "first_rectified_step_threshold4",
                      "final_loss"))
def run(ctx):
    import matplotlib.pyplot as plt

    sigma = 1.0
    # (1) Var[psi_t]: analytic vs Monte Carlo
    T_mc = ctx.pick(300, 2000)
    n_mc = ctx.pick(4000, 20000)
    var_mc = monte_carlo_var_psi(T_mc, n_mc, BETA2, sigma, ctx.rng)
    t_an = np.arange(1, 20001)
    rho_an = rho(t_an, BETA2)
    var_an = var_psi(rho_an, sigma)
    var_inf = float(var_psi(np.array([rho_inf(BETA2)]), sigma)[0])
    check_ts = [t for t in (6, 10, 20, 50, 100, 300, 1000, 2000) if t <= T_mc]
    ratio = {str(t): float(var_mc[t - 1] / var_an[t - 1]) for t in check_ts}

    # (2) rho_t and r_t from optim.RAdam(trace=True)
    n_trace = ctx.pick(300, 3000)
    traces = {th: radam_trace(th, n_trace, seed=ctx.seed) for th in (5, 4)}
    first = {th: int(np.argmax(traces[th][1]) + 1) for th in traces}
    rho5, rho6 = float(traces[5][0][4]), float(traces[5][0][5])
    # r_t against the variance ratio, analytic and Monte Carlo
    r_steps, r_t = traces[4][2], traces[4][3]
    r_from_var = np.sqrt(var_inf / var_an[r_steps - 1])
    in_mc = r_steps <= T_mc
    r_from_mc = np.sqrt(var_inf / var_mc[r_steps[in_mc] - 1])
    r_err = float(np.max(np.abs(r_t - r_from_var)))
    i100 = min(int(np.searchsorted(traces[5][2], 100)), len(traces[5][2]) - 1)
    step_100, r_100 = int(traces[5][2][i100]), float(traces[5][3][i100])
    r_last = float(traces[5][3][-1])

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    ax.loglog(np.arange(1, T_mc + 1), var_mc, ".", ms=3, color="C0",
              label=f"Monte Carlo ({n_mc} sequences)")
    ax.loglog(t_an, var_an, color="C3", lw=1.5,
              label=r"$\rho_t / (2(\rho_t-2)(\rho_t-4)\sigma^2)$")
    ax.axhline(var_inf, color="k", ls=":", lw=0.8, label=r"value at $\rho_\infty$")
    ax.set(xlabel="t", ylabel=r"Var[$\psi_t$]",
           title=rf"adaptive lr variance, $\beta_2$={BETA2}, $\sigma$={sigma:g}")
    ax.legend(fontsize=7)
    ax = axes[1]
    k = 12
    ts = np.arange(1, k + 1)
    ax.plot(ts, traces[5][0][:k], "o-", color="C0", label=r"$\rho_t$ (trace)")
    ax.axhline(5, color="C2", ls="--", lw=1, label="threshold 5 (PyTorch)")
    ax.axhline(4, color="C1", ls="--", lw=1, label="threshold 4 (paper)")
    for th, color, dy in ((5, "C2", 0.6), (4, "C1", -0.9)):
        f = first[th]
        ax.annotate(f"first rectified step: {f}", (f, traces[th][0][f - 1]),
                    xytext=(f + 0.6, traces[th][0][f - 1] + dy), color=color, fontsize=8,
                    arrowprops=dict(arrowstyle="->", color=color))
    ax.set(xlabel="step t", ylabel=r"$\rho_t$", title=r"$\rho_t$ over the first steps")
    ax.set_xticks(ts)
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[2]
    for th, color, ls, lw in ((5, "C2", "-", 3), (4, "C1", "--", 1.5)):
        s, r = traces[th][2], traces[th][3]
        ax.semilogx(s, r, ls, lw=lw, color=color, label=f"$r_t$ (trace), threshold {th}")
        ax.plot(s[0], r[0], "o", color=color, ms=5)
    pick = np.unique(np.geomspace(1, in_mc.sum(), 40).astype(int)) - 1
    ax.semilogx(r_steps[in_mc][pick], r_from_mc[pick], "x", ms=5, color="C0",
                label=r"$\sqrt{Var_{\rho_\infty} / Var_{MC}(t)}$")
    ax.set(xlabel="step t", ylabel="$r_t$", title="rectification term")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "variance_and_rectification")

    # (3) Adam without warmup, with warmup, RAdam, at a large lr
    lr = 0.1
    steps = ctx.pick(150, 1500)
    seeds = list(range(SEEDS))
    X, y = logistic_data()
    curves, finals, noise_w = {}, {}, {}
    jobs = [(v, s) for v in VARIANTS for s in seeds]
    for v, s in ctx.progress(jobs, desc="warmup comparison", total=len(jobs)):
        losses, full, nw = train(v, ctx.seed * 100 + s, lr, steps, X, y)
        curves.setdefault(v, []).append(losses)
        finals.setdefault(v, []).append(full)
        noise_w.setdefault(v, []).append(nw)
    early = min(100, steps)
    summary = {v: {"final_loss": float(np.mean(finals[v])),
                   "peak_loss_first_100": float(np.mean([c[:early].max() for c in curves[v]])),
                   "mean_loss_first_100": float(np.mean([c[:early].mean() for c in curves[v]])),
                   "noise_feature_weight": float(np.mean(noise_w[v]))} for v in VARIANTS}

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    for (v, cs), color in zip(curves.items(), ("C3", "C0", "C9", "C2")):
        cs = np.array(cs)
        mean = cs.mean(axis=0)
        smooth = np.array([_smooth(c) for c in cs])
        axes[0].semilogy(_smooth(mean), color=color, label=f"{v} (mean)")
        axes[0].fill_between(np.arange(smooth.shape[1]), smooth.min(0), smooth.max(0),
                             color=color, alpha=0.15)
        k = min(150, steps)
        axes[1].semilogy(np.arange(1, k + 1), mean[:k], color=color, label=f"{v} (mean)")
        axes[1].fill_between(np.arange(1, k + 1), cs[:, :k].min(0), cs[:, :k].max(0),
                             color=color, alpha=0.15)
    axes[0].set(xlabel="step", ylabel="minibatch loss (smoothed, log scale)",
                title=f"logistic regression, 95 noise features, lr {lr}, "
                      rf"$\beta_2$ {BETA2}; bands: min-max of {len(seeds)} seeds")
    axes[1].set(xlabel="step", ylabel="minibatch loss (log scale)",
                title=f"the first steps (mean, min-max of {len(seeds)} seeds)")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    ctx.savefig(fig, "warmup_vs_radam")

    # (4) inside Tree2Seq: summaries per layer, every step
    from optim.trace_plot import plot_trace

    t2s_steps = ctx.pick(12, 300)
    t2s = tree2seq_effective_steps(t2s_steps, batch=ctx.pick(8, 48), size=ctx.pick(16, 64),
                                   seed=ctx.seed)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    first_layer = next(r["name"] for r in t2s["RAdam"] if "r_t" in r)
    plot_trace(t2s["RAdam"], "r_t", params=[first_layer], ax=axes[0], color="C2")
    axes[0].set_title("RAdam's rectification in Tree2Seq (the same for every layer)")
    for ax, name in zip(axes[1:], ("Adam", "RAdam")):
        plot_trace(t2s[name], "eta_eff.q50", ax=ax, logy=True,
                   ylabel=r"median effective step $\gamma\, r_t l_t$" if name == "RAdam"
                   else r"median effective step $\gamma/(\sqrt{\hat v_t}+\epsilon)$")
        ax.set_title(f"{name}: per layer (optim.Trace summaries)")
    ctx.savefig(fig, "tree2seq_effective_steps")
    adam_first = {r["name"]: r["eta_eff.q50"] for r in t2s["Adam"] if r["step"] == 1}
    radam_first_step = min(r["step"] for r in t2s["RAdam"] if "eta_eff.q50" in r)

    rho_end = float(rho(steps, BETA2))
    ri = rho_inf(BETA2)
    r_end = float(np.sqrt((rho_end - 4) * (rho_end - 2) * ri / ((ri - 4) * (ri - 2) * rho_end)))
    rows = [[v, d["peak_loss_first_100"], d["mean_loss_first_100"], d["final_loss"],
             d["noise_feature_weight"]] for v, d in summary.items()]
    a, wu, w200, ra = (summary[v] for v in VARIANTS)
    peaks = {v: [float(c[:early].max()) for c in curves[v]] for v in VARIANTS}
    adam_name, radam_name = list(VARIANTS)[0], list(VARIANTS)[-1]
    radam_lower_peak = int(sum(r < q for r, q in zip(peaks[radam_name], peaks[adam_name])))
    peak_verdict = (f"on every one of the {len(seeds)} seeds" if radam_lower_peak == len(seeds)
                    else f"on {radam_lower_peak} of {len(seeds)} seeds")
    columns = ["variant", "peak loss, first 100", "mean loss, first 100", "final loss",
               "mean \\|w\\| on noise features"]  # pipes escaped: they would split the Markdown table's cell
    report = f"""
**Variance of the adaptive learning rate** (left). For $g \\sim N(0, 1)$ and
$\\beta_2 = {BETA2}$ the Monte-Carlo variance of
$\\psi_t = \\sqrt{{(1-\\beta_2^t)/v_t}}$ over {n_mc} gradient sequences is huge in the
first steps ($\\psi_1 = 1/|g_1|$ has infinite variance; the sample value at $t = 1$
is {var_mc[0]:.3g}) and falls towards the $\\rho_\\infty$ value {var_inf:.3g}. The
paper's approximation $\\rho_t / (2(\\rho_t-2)(\\rho_t-4)\\sigma^2)$, defined for
$\\rho_t > 4$, tracks it: Monte Carlo / analytic = {', '.join(f'{ratio[t]:.2f} at t = {t}' for t in ratio)}
(a first-order approximation: it overestimates the variance where $\\rho_t$ is
small, and is within {100 * max(abs(1 - ratio[t]) for t in ratio if int(t) >= 20):.0f}% from
$t = 20$ on).

**$\\rho_t$ and $r_t$** (middle, right; from `optim.RAdam(trace=True)`). With
$\\beta_2 = 0.999$, $\\rho_5 = {rho5:.4f}$ and $\\rho_6 = {rho6:.4f}$: PyTorch's rule
$\\rho_t > 5$ rectifies from step **{first[5]}**, the paper's $\\rho_t > 4$ from step
**{first[4]}** (where $r_5 = {traces[4][3][0]:.4f}$, a step {1 / traces[4][3][0]:.0f} times smaller
than Adam's). Before that RAdam takes plain momentum steps $\\gamma \\hat m_t$. The traced
$r_t$ equals $\\sqrt{{\\mathrm{{Var}}_{{\\rho_\\infty}}/\\mathrm{{Var}}_{{\\rho_t}}}}$ of the
formula above to {r_err:.1e}, and the Monte-Carlo version (crosses) follows it; $r_t$
is still only {r_100:.3f} at step {step_100} and {r_last:.3f} at step {n_trace}.

**Warmup vs RAdam** (second figure). Logistic regression on 100 features of which
95 are noise, minibatches of 16, lr {lr} (large for Adam), $\\beta_2 = {BETA2}$,
{len(seeds)} seeds, {steps} steps. Adam's first updates are $\\pm\\gamma$ on every
coordinate whatever its gradient, so the noise features get large weights and the
loss jumps: peak minibatch loss in the first 100 steps {a['peak_loss_first_100']:.2f}
(mean {a['mean_loss_first_100']:.2f}), against {ra['peak_loss_first_100']:.2f} for
RAdam (means over seeds; RAdam's peak is below Adam's {peak_verdict}),
{wu['peak_loss_first_100']:.2f} with the untuned warmup
$\\tau = 2/(1-\\beta_2) = 2000$ steps and {w200['peak_loss_first_100']:.2f} with a
200-step warmup. Final full-data loss: Adam {a['final_loss']:.3f}, warmup (2000)
{wu['final_loss']:.3f}, warmup (200) {w200['final_loss']:.3f}, RAdam
{ra['final_loss']:.3f}. The untuned warmup is longer than this run, so its lr never
reaches {lr} (it ends at {lr * min(1.0, steps / 2000):.3g}): part of its advantage
is simply a smaller lr. RAdam's own $r_t$ acts the same way: it is a slow warmup
({r_100:.3f} at step 100, {r_end:.3f} at step {steps}), so over this run RAdam also
takes smaller steps than Adam and sits at a lower noise floor. The 200-step warmup,
at the full lr from step 200 on, ends
close to Adam: once the learning rates are equal the runs drift to the same noise
floor; in this convex problem the early damage costs steps, it is not permanent.

{ctx.table(rows, columns)}

**Inside a real model** (third figure). Tree2Seq learns to name the functions of
`optim/functional` ({t2s_steps} steps), once with Adam and once with RAdam, both
traced with `optim.Trace`: for every weight matrix but the embeddings, every step,
only the median and mean of the effective step size (no full arrays kept). Adam's median
effective step $\\gamma/(\\sqrt{{\\hat v_t}}+\\epsilon)$ at step 1 ranges from
{min(adam_first.values()):.3g} to {max(adam_first.values()):.3g} across layers
(a $\\pm\\gamma$ step on every coordinate whatever the size of its gradient:
the layers whose gradients are small get the largest multipliers). RAdam takes no adaptive step
before step {radam_first_step}, then $\\gamma r_t l_t$ grows with $r_t$ from
{float(t2s["RAdam"].trace_of("r_t", param=first_layer)[0]):.3f}: the same warmup in every layer."""
    ctx.write_report(report, title="RAdam: variance of the adaptive learning rate")
    return {
        "beta2": BETA2,
        "first_rectified_step_threshold5": first[5],
        "first_rectified_step_threshold4": first[4],
        "rho_5": rho5, "rho_6": rho6, "rho_inf": rho_inf(BETA2),
        "var_psi_inf_analytic": var_inf,
        "var_psi_mc_over_analytic": ratio,
        "r_t_max_abs_error_vs_variance_ratio": r_err,
        "r_t_at_step_100": r_100,
        "final_loss": {v: d["final_loss"] for v, d in summary.items()},
        "warmup_comparison": summary,
        "lr": lr, "steps": steps, "seeds": len(seeds),
        "radam_lower_peak_on_seeds": radam_lower_peak,
        "tree2seq": {"steps": t2s_steps, "adam_median_effective_step_at_step_1": adam_first,
                     "radam_first_adaptive_step": radam_first_step},
        "per_seed": {"peak_loss_first_100": peaks,
                     "final_loss": {v: [float(x) for x in finals[v]] for v in VARIANTS}},
    }
