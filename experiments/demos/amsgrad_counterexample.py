r"""Adam's non-convergence and AMSGrad's fix (Reddi, Kale & Kumar 2018, Theorem 1).

The online problem: :math:`x \in [-1, 1]`, :math:`f_t(x) = Cx` if
:math:`t \bmod 3 = 1`, else :math:`-x`, with :math:`C > 2`. Over a cycle of three
steps the sum is :math:`(C-2)x`, so the best fixed point is :math:`x^* = -1`.
With :math:`\beta_1 = 0`, :math:`\beta_2 = 1/(1+C^2)`, :math:`\alpha_t = \alpha/\sqrt t`,
no bias correction and projection by clipping, Adam's rare large gradient
:math:`C` is divided by a :math:`\sqrt{v_t}` that has just jumped, while the two
frequent small gradients :math:`-1` are divided by a :math:`\sqrt{v_t}` that has
already decayed: the net step points to :math:`+1`. At :math:`x = +1` every cycle
costs :math:`2(C-2)` more than at :math:`x^*`, so the average regret
:math:`R_T/T` tends to :math:`2(C-2)/3` instead of 0. AMSGrad's
:math:`\hat v_t = \max(\hat v_{t-1}, v_t)` keeps the denominator at its peak and
the iterate goes to :math:`-1`.

Two implementations are run side by side:

* ``lecture``: the update exactly as in the theorem, written out in this file
  (:func:`online_adam`): :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1)g_t`,
  :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2)g_t^2`, (AMSGrad:
  :math:`\hat v_t = \max(\hat v_{t-1}, v_t)`),
  :math:`x_{t+1} = \Pi_{[-1,1]}(x_t - \alpha_t m_t/\sqrt{\hat v_t})`, no bias
  correction. ``optim.Adam`` has no option to switch bias correction off
  (``bias_correction`` is ``"standard"`` or ``"efficient"``, both correct), hence
  this loop.
* ``library``: ``optim.Adam(amsgrad=False/True)`` on a minigrad Parameter, with the
  gradient from ``backward()`` of :math:`f_t`, ``lr`` set to :math:`\alpha/\sqrt t`
  before each step, the parameter clipped to :math:`[-1, 1]` after it, and
  PyTorch's bias correction (with :math:`\beta_2 = 0.1` it is
  :math:`1 - 0.1^t \approx 1` after a few steps, so the behaviour is the same).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment

X0 = 0.0  # starting point of every run (halfway between x* = -1 and Adam's +1)
SEEDS = 5  # seeds of the stochastic Figure 1 setting


def online_adam(coef, T, alpha, beta1, beta2, amsgrad, x0=X0, eps=1e-8,
                expected_coef=None, record_every=1):
    r"""The theorem's Adam/AMSGrad on linear losses :math:`f_t(x) = c_t x`, :math:`x\in[-1,1]`.

    ``coef(t)`` gives :math:`c_t` (the gradient) for t = 1..T. Regret is measured
    against :math:`x^* = -1`: :math:`R_T = \sum_t \bar c_t (x_t - x^*)`, with
    :math:`\bar c_t = c_t` or, for a stochastic problem, its expectation
    ``expected_coef``. Returns the final x, and (t, x_t, R_t/t) every
    ``record_every`` steps.
    """
    m = v = v_hat = 0.0
    x = x0
    regret = 0.0
    ts, xs, avg = [], [], []
    for t in range(1, T + 1):
        g = coef(t)
        regret += (g if expected_coef is None else expected_coef) * (x + 1.0)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_hat, v) if amsgrad else v
        x = x - alpha / math.sqrt(t) * m / (math.sqrt(v_hat) + eps)
        x = min(1.0, max(-1.0, x))                        # projection onto [-1, 1]
        if t % record_every == 0 or t == T:
            ts.append(t)
            xs.append(x)
            avg.append(regret / t)
    return x, np.array(ts), np.array(xs), np.array(avg)


def online_adam_sequence(c, alpha, beta1, beta2, amsgrad, x0=X0, eps=1e-8,
                         expected_coef=None, record_every=1):
    r""":func:`online_adam` for a given gradient sequence ``c`` (``c[t-1]`` = :math:`c_t`), faster.

    The moments do not depend on :math:`x`: :math:`m_t` and :math:`v_t` are linear
    recursions in :math:`c_t` (``scipy.signal.lfilter``), AMSGrad's
    :math:`\hat v_t` is their running maximum, so every increment
    :math:`\alpha_t m_t/(\sqrt{\hat v_t}+\epsilon)` is known in advance and only
    the clipped sum :math:`x_{t+1} = \Pi_{[-1,1]}(x_t - \text{increment}_t)` is a loop.
    Same returns as :func:`online_adam`.
    """
    from scipy.signal import lfilter

    c = np.asarray(c, dtype=np.float64)
    T = len(c)
    t = np.arange(1, T + 1)
    m = lfilter([1 - beta1], [1.0, -beta1], c)
    v = lfilter([1 - beta2], [1.0, -beta2], c * c)
    v_hat = np.maximum.accumulate(v) if amsgrad else v
    inc = (alpha / np.sqrt(t) * m / (np.sqrt(v_hat) + eps)).tolist()
    xs = np.empty(T)
    x = x0
    for i, d in enumerate(inc):
        x = min(1.0, max(-1.0, x - d))
        xs[i] = x
    before = np.concatenate([[x0], xs[:-1]])                  # x_t, where f_t is evaluated
    cbar = c if expected_coef is None else expected_coef
    avg = np.cumsum(cbar * (before + 1.0)) / t
    keep = (t % record_every == 0) | (t == T)
    return x, t[keep], xs[keep], avg[keep]


def library_adam(coef, T, alpha, beta1, beta2, amsgrad, x0=X0):
    """The same problem driven through ``optim.Adam`` (bias correction included)."""
    x = mg.nn.Parameter(mg.tensor([x0], dtype=np.float64))
    opt = optim.Adam([x], lr=alpha, betas=(beta1, beta2), amsgrad=amsgrad)
    regret = 0.0
    xs, avg = np.empty(T), np.empty(T)
    for t in range(1, T + 1):
        c = coef(t)
        opt.zero_grad()
        loss = (c * x).sum()                              # f_t(x) = c_t x
        loss.backward()
        regret += c * (float(x.data[0]) + 1.0)
        opt.param_groups[0]["lr"] = alpha / math.sqrt(t)  # alpha_t = alpha / sqrt(t)
        opt.step()
        x.data[...] = np.clip(x.data, -1.0, 1.0)          # projection onto [-1, 1]
        xs[t - 1] = float(x.data[0])
        avg[t - 1] = regret / t
    return float(x.data[0]), np.arange(1, T + 1), xs, avg


def theorem_coef(C):
    return lambda t: float(C) if t % 3 == 1 else -1.0


def steady_drift(C, beta2):
    r"""Adam's net movement per 3-step cycle, in units of :math:`\alpha_t`, once
    :math:`v` has reached its periodic steady state (:math:`\beta_1 = 0`):
    :math:`C/\sqrt{v_1} - 1/\sqrt{v_2} - 1/\sqrt{v_3}`. Positive: x moves towards
    :math:`-1` (Adam converges); negative: towards :math:`+1` (Adam fails)."""
    b = beta2
    v1 = ((1 - b) * C * C + b * (1 - b) + b * b * (1 - b)) / (1 - b ** 3)
    v2 = b * v1 + (1 - b)
    v3 = b * v2 + (1 - b)
    return C / math.sqrt(v1) - 1 / math.sqrt(v2) - 1 / math.sqrt(v3)


def _critical_C(beta2_of_C, lo=2.0001, hi=1000.0):
    """The C at which the steady drift changes sign (None if it never does)."""
    from scipy.optimize import brentq

    f = lambda C: steady_drift(C, beta2_of_C(C))  # noqa: E731
    grid = np.linspace(lo, hi, 4000)
    vals = [f(c) for c in grid]
    for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
        if fa < 0 <= fb:
            return float(brentq(f, a, b))
    return None


def _downsample(n, T):
    return max(1, T // n)


@experiment("amsgrad-counterexample",
            "Reddi et al.'s online problem where Adam converges to the worst point x=+1 "
            "and AMSGrad to x*=-1; their Figure 1 settings; beta2=1/(1+C) sweep",
            headline=("adam_final_x", "amsgrad_final_x", "adam_avg_regret",
                      "adam_fails_up_to_C_with_beta2_1_over_1pC"))
def run(ctx):
    import matplotlib.pyplot as plt

    C = 3
    alpha = 0.5
    b2 = 1.0 / (1 + C * C)
    T = ctx.pick(3000, 30000)
    T_lib = ctx.pick(3000, 30000)
    coef = theorem_coef(C)
    every = _downsample(3000, T)

    lect = {name: online_adam(coef, T, alpha, 0.0, b2, ams, record_every=every)
            for name, ams in (("Adam", False), ("AMSGrad", True))}
    lib = {name: library_adam(coef, T_lib, alpha, 0.0, b2, ams)
           for name, ams in (("Adam", False), ("AMSGrad", True))}
    limit = 2 * (C - 2) / 3

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, color in (("Adam", "C3"), ("AMSGrad", "C0")):
        _, ts, xs, avg = lect[name]
        axes[0].semilogx(ts, xs, color=color, label=f"{name} (lecture, no bias corr.)")
        axes[1].loglog(ts, avg, color=color, label=f"{name} (lecture)")
        _, lts, lxs, lavg = lib[name]
        axes[0].semilogx(lts, lxs, "--", color=color, lw=1,
                         label=f"optim.Adam(amsgrad={name == 'AMSGrad'})")
        axes[1].loglog(lts, np.maximum(lavg, 1e-12), "--", color=color, lw=1,
                       label=f"optim.Adam(amsgrad={name == 'AMSGrad'})")
    axes[0].axhline(-1, color="k", lw=0.6, ls=":")
    axes[0].set(xlabel="t", ylabel="$x_t$", title=f"Theorem 1, C = {C}: iterate")
    axes[1].axhline(limit, color="k", lw=0.8, ls=":", label="2(C-2)/3")
    axes[1].set(xlabel="t", ylabel="$R_t/t$", title="average regret vs x* = -1")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    ctx.savefig(fig, "theorem1")

    # --- the paper's Figure 1 settings (online and stochastic) ---------------------
    T1 = ctx.pick(20000, 1_000_000)
    alpha1 = 1.0
    every1 = _downsample(4000, T1)
    online = np.where(np.arange(1, T1 + 1) % 101 == 1, 1010.0, -10.0)
    seeds = [ctx.seed + i for i in range(SEEDS)]
    stoch = {sd: np.where(np.random.default_rng([sd, 3]).random(T1) < 0.01, 1010.0, -10.0)
             for sd in seeds}
    fig1, stoch_runs = {}, {}
    for name, ams in (("Adam", False), ("AMSGrad", True)):
        fig1[("online", name)] = online_adam_sequence(online, alpha1, 0.9, 0.99, ams,
                                                      record_every=every1)
        stoch_runs[name] = [online_adam_sequence(stoch[sd], alpha1, 0.9, 0.99, ams,
                                                 expected_coef=0.2, record_every=every1)
                            for sd in seeds]
        fig1[("stochastic", name)] = stoch_runs[name][0]
    stoch_final = {n: [r[0] for r in runs] for n, runs in stoch_runs.items()}
    adam_up = int(sum(x > 0 for x in stoch_final["Adam"]))
    ams_down = int(sum(x < 0 for x in stoch_final["AMSGrad"]))
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 8.2), constrained_layout=True)
    for row, setting in enumerate(("online", "stochastic")):
        for name, color in (("Adam", "C3"), ("AMSGrad", "C0")):
            _, ts, xs, avg = fig1[(setting, name)]
            label = name if setting == "online" else f"{name}, seed {seeds[0]}"
            axes[row, 0].semilogx(ts, xs, color=color, label=label)
            axes[row, 1].loglog(ts, avg, color=color, label=label)
            if setting == "stochastic":
                X = np.array([r[2] for r in stoch_runs[name]])
                A = np.array([r[3] for r in stoch_runs[name]])
                axes[row, 0].fill_between(ts, X.min(0), X.max(0), color=color, alpha=0.15,
                                          label=f"{name}: min-max of {len(seeds)} seeds")
                axes[row, 1].fill_between(ts, A.min(0), A.max(0), color=color, alpha=0.15,
                                          label=f"{name}: min-max of {len(seeds)} seeds")
        axes[row, 0].axhline(-1, color="k", lw=0.6, ls=":")
        axes[row, 0].set(xlabel="t", ylabel="$x_t$", title=f"{setting}: iterate")
        axes[row, 1].set(xlabel="t", ylabel="$R_t/t$",
                         title=f"{setting}: average regret"
                         + (" (expected loss 0.2x)" if setting == "stochastic" else ""))
        axes[row, 0].legend(fontsize=8, loc="center right")
        axes[row, 1].legend(fontsize=8, loc="lower left")
    fig.suptitle(r"Reddi et al. Figure 1 settings: $\beta_1$ 0.9, $\beta_2$ 0.99, "
                 rf"$\alpha_t = {alpha1:g}/\sqrt{{t}}$, no bias correction")
    ctx.savefig(fig, "figure1_settings")

    # --- beta2 = 1/(1+C) (the review paper's transcription) vs 1/(1+C^2) ------------
    Cs = [3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 20, 30, 50, 100]
    Ts = ctx.pick(3000, 30000)
    sweep = {"C": Cs, "final_x_beta2_1_over_1pC2": [], "final_x_beta2_1_over_1pC": [],
             "avg_regret_beta2_1_over_1pC": [], "drift_beta2_1_over_1pC": []}
    for c in Cs:
        xa, *_ = online_adam(theorem_coef(c), Ts, alpha, 0.0, 1 / (1 + c * c), False,
                             record_every=Ts)
        xb, _, _, avgb = online_adam(theorem_coef(c), Ts, alpha, 0.0, 1 / (1 + c), False,
                                     record_every=Ts)
        sweep["final_x_beta2_1_over_1pC2"].append(xa)
        sweep["final_x_beta2_1_over_1pC"].append(xb)
        sweep["avg_regret_beta2_1_over_1pC"].append(float(avgb[-1]))
        sweep["drift_beta2_1_over_1pC"].append(steady_drift(c, 1 / (1 + c)))
    c_crit = _critical_C(lambda c: 1 / (1 + c))
    c_crit_sq = _critical_C(lambda c: 1 / (1 + c * c))
    fails_up_to = max((c for c, x in zip(Cs, sweep["final_x_beta2_1_over_1pC"]) if x > 0),
                      default=None)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    axes[0].semilogx(Cs, sweep["final_x_beta2_1_over_1pC2"], "o-", color="C3",
                     label=r"$\beta_2 = 1/(1+C^2)$ (Theorem 1)")
    axes[0].semilogx(Cs, sweep["final_x_beta2_1_over_1pC"], "s-", color="C2",
                     label=r"$\beta_2 = 1/(1+C)$ (review paper)")
    axes[0].set(xlabel="C", ylabel=f"Adam's $x_T$, T = {Ts}", title="where Adam ends")
    axes[0].legend(fontsize=8)
    cgrid = np.geomspace(2.05, 100, 300)
    axes[1].semilogx(cgrid, [steady_drift(c, 1 / (1 + c * c)) for c in cgrid], color="C3",
                     label=r"$\beta_2 = 1/(1+C^2)$")
    axes[1].semilogx(cgrid, [steady_drift(c, 1 / (1 + c)) for c in cgrid], color="C2",
                     label=r"$\beta_2 = 1/(1+C)$")
    axes[1].axhline(0, color="k", lw=0.6)
    if c_crit:
        axes[1].axvline(c_crit, color="C2", ls=":", lw=1)
    axes[1].set(xlabel="C", ylabel=r"drift per cycle / $\alpha_t$",
                title="steady-state drift (> 0: towards x* = -1)")
    axes[1].legend(fontsize=8)
    ctx.savefig(fig, "beta2_sweep")

    rows = [[f"lecture loop (no bias correction), T={T}", lect["Adam"][0], lect["Adam"][3][-1],
             lect["AMSGrad"][0], lect["AMSGrad"][3][-1]],
            [f"optim.Adam (bias correction), T={T_lib}", lib["Adam"][0], lib["Adam"][3][-1],
             lib["AMSGrad"][0], lib["AMSGrad"][3][-1]]]
    f1rows = [[s, n, fig1[(s, n)][0], fig1[(s, n)][3][-1]]
              for s in ("online", "stochastic") for n in ("Adam", "AMSGrad")]
    swrows = [[c, xa, xb, d] for c, xa, xb, d in zip(
        Cs, sweep["final_x_beta2_1_over_1pC2"], sweep["final_x_beta2_1_over_1pC"],
        sweep["drift_beta2_1_over_1pC"])]
    report = f"""
**Theorem 1 setting** ($C = {C}$, $\\beta_1 = 0$, $\\beta_2 = 1/(1+C^2) = {b2:g}$,
$\\alpha_t = {alpha}/\\sqrt t$, start $x_1 = {X0}$, projection by clipping). The
lecture's update has no bias correction; `optim.Adam` always corrects
($1-\\beta_2^t$, which is $\\ge 0.999$ from $t = 3$ on here), so the theorem's loop
is written out in the demo and the library class is run on the same problem as a
check. Both agree: Adam ends at $x = {lect['Adam'][0]:+.4f}$ (library
{lib['Adam'][0]:+.4f}), the worst point, and its average regret
$R_T/T = \\frac1T\\sum_t f_t(x_t) - f_t(-1)$ is {lect['Adam'][3][-1]:.4f} at
$T = {T}$ (library {lib['Adam'][3][-1]:.4f}), against the predicted limit
$2(C-2)/3 = {limit:.4f}$: it does not vanish. AMSGrad ends at
$x = {lect['AMSGrad'][0]:+.4f}$ (library {lib['AMSGrad'][0]:+.4f}) and its
average regret falls like $1/\\sqrt T$ to {lect['AMSGrad'][3][-1]:.4f}.

{ctx.table(rows, ["run", "Adam x_T", "Adam R_T/T", "AMSGrad x_T", "AMSGrad R_T/T"])}
**Figure 1 settings** ($\\beta_1 = 0.9$, $\\beta_2 = 0.99$, $\\alpha_t = {alpha1:g}/\\sqrt t$,
no bias correction, $T = {T1}$): online, $f_t = 1010x$ if $t \\bmod 101 = 1$ else
$-10x$; stochastic, $1010x$ with probability 0.01 else $-10x$ (expected loss
$0.2x$, so $x^* = -1$; regret measured on the expected loss). Adam again heads to
$+1$, AMSGrad to $-1$ (the table: seed {seeds[0]}). Over {len(seeds)} seeds of the
stochastic setting, Adam ends at $x_T > 0$ on {adam_up} of {len(seeds)} and AMSGrad at
$x_T < 0$ on {ams_down} of {len(seeds)} (final $x$: Adam
{', '.join(f'{x:+.2f}' for x in stoch_final['Adam'])}; AMSGrad
{', '.join(f'{x:+.2f}' for x in stoch_final['AMSGrad'])}):

{ctx.table(f1rows, ["setting", "optimizer", "x_T", "R_T/T"])}
**$\\beta_2 = 1/(1+C)$ instead of $1/(1+C^2)$.** With the theorem's $\\beta_2$ the
steady-state drift per cycle is negative for every $C > 2$ (Adam always goes to
$+1${'' if c_crit_sq is None else f'; sign change at C = {c_crit_sq:.2f}'}). With
the review paper's $\\beta_2 = 1/(1+C)$ the drift changes sign at
$C \\approx {c_crit:.2f}$: Adam still fails for $C \\le {math.floor(c_crit)}$ and
converges to $-1$ for $C \\ge {math.ceil(c_crit)}$ (simulated, $T = {Ts}$: last failing C
in the sweep = {fails_up_to}; near the boundary the drift is tiny and $x_T$ is
still in between, e.g. C = 12 and 13). So "Adam fails for small C but not for
$C \\ge 20$" holds, and the actual boundary is $C \\approx {c_crit:.1f}$.

{ctx.table(swrows, ["C", "x_T, beta2=1/(1+C^2)", "x_T, beta2=1/(1+C)", "drift/alpha_t, 1/(1+C)"])}"""
    ctx.write_report(report, title="AMSGrad's counterexample to Adam (Reddi et al. 2018)")
    return {
        "C": C, "alpha": alpha, "beta2": b2, "steps": T,
        "adam_final_x": lect["Adam"][0],
        "amsgrad_final_x": lect["AMSGrad"][0],
        "adam_avg_regret": float(lect["Adam"][3][-1]),
        "amsgrad_avg_regret": float(lect["AMSGrad"][3][-1]),
        "predicted_adam_avg_regret": limit,
        "library_adam_final_x": lib["Adam"][0],
        "library_amsgrad_final_x": lib["AMSGrad"][0],
        "library_adam_avg_regret": float(lib["Adam"][3][-1]),
        "figure1": {f"{s}_{n.lower()}_final_x": fig1[(s, n)][0]
                    for s in ("online", "stochastic") for n in ("Adam", "AMSGrad")},
        "figure1_stochastic": {"seeds": seeds, "adam_positive_on_seeds": adam_up,
                               "amsgrad_negative_on_seeds": ams_down,
                               "per_seed_final_x": stoch_final},
        "critical_C_beta2_1_over_1pC": c_crit,
        "adam_fails_up_to_C_with_beta2_1_over_1pC": fails_up_to,
        "sweep": sweep,
    }
