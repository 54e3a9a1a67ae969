r"""
RAdam: the variance of the adaptive learning rate, and warmup
=============================================================

Adam divides each step by :math:`\sqrt{\hat v_t}`. In the first steps
:math:`\hat v_t` is an average of very few squared gradients, so this *adaptive
learning rate* :math:`\psi_t = 1/\sqrt{\hat v_t}` is wildly variable, and Adam's
first updates can be large and in bad directions. Warmup (a small learning rate at
first) is the usual cure. Liu et al. (2020), "On the Variance of the Adaptive
Learning Rate and Beyond", measure that variance and divide it out: RAdam.

This tutorial (1) computes the variance of :math:`\psi_t` by Monte Carlo and
against the paper's formula, (2) reads RAdam's :math:`\rho_t` and rectification
:math:`r_t` from ``optim.RAdam(trace=True)``, and (3) compares Adam, Adam with
warmup and RAdam at a large learning rate; (4) traces a real model (Tree2Seq) per
layer with ``optim.Trace`` and plots it with ``optim.trace_plot.plot_trace``.
"""

# %%
# The variance of the adaptive learning rate
# ------------------------------------------
# With gradients :math:`g_i \sim N(0, \sigma^2)`,
# :math:`\psi_t = \sqrt{(1-\beta_2^t) / v_t}`. The paper approximates
# :math:`\psi_t^2` by a scaled inverse :math:`\chi^2` with :math:`\rho_t` degrees
# of freedom, the length of the simple moving average that matches the
# exponential one:
#
# .. math::
#    \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad
#    \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}, \qquad
#    \mathrm{Var}[\psi_t] \approx \frac{\rho_t}{2(\rho_t-2)(\rho_t-4)\,\sigma^2}
#    \quad (\rho_t > 4).
#
# The variance does not exist until :math:`\rho_t > 4`, and it is large just after.
# The formula is a first-order approximation: it overestimates the variance where
# :math:`\rho_t` is small and is close from a few tens of steps on.
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import optim
from experiments.datasets import method_naming as mn
from minigrad import functional as F
from models import LogisticRegression, Tree2Seq
from optim.trace_plot import plot_trace

beta2 = 0.999
rho_inf = 2 / (1 - beta2) - 1


def rho(t):
    t = np.asarray(t, dtype=np.float64)
    return rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)


def var_psi(rho_t):
    out = np.full_like(rho_t, np.nan)
    ok = rho_t > 4
    out[ok] = rho_t[ok] / (2 * (rho_t[ok] - 2) * (rho_t[ok] - 4))
    return out


T, n = 200, 3000
rng = np.random.default_rng(0)
v = np.zeros(n)
mc = np.empty(T)
for t in range(1, T + 1):  # n independent runs of Adam's v_t, sigma = 1
    v = beta2 * v + (1 - beta2) * rng.normal(size=n) ** 2
    mc[t - 1] = np.sqrt((1 - beta2 ** t) / v).var()
steps = np.arange(1, T + 1)
analytic = var_psi(rho(steps))
for t in (6, 20, 100, 200):
    print(f"t = {t:3d}: rho_t = {rho(t):6.2f}, Var[psi] Monte Carlo {mc[t - 1]:.4f}, formula {analytic[t - 1]:.4f}")

# %%
# RAdam's rectification, from the trace
# -------------------------------------
# RAdam multiplies Adam's step by
# :math:`r_t = \sqrt{\mathrm{Var}[\psi_\infty] / \mathrm{Var}[\psi_t]}`, which in
# closed form is
#
# .. math::
#    r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}},
#
# once :math:`\rho_t` passes a threshold (5 in PyTorch and by default, 4 in the
# paper's Algorithm 2: ``threshold=4``); before, it takes a plain momentum step.
# ``trace=True`` records ``rho_t``, ``rectified`` and ``r_t`` at every step:
traces = {}
for threshold in (5, 4):
    w = mg.tensor(np.zeros(3), requires_grad=True)
    opt = optim.RAdam([w], lr=1e-3, threshold=threshold, trace=True)
    for _ in range(T):
        opt.zero_grad()
        (w * mg.tensor(rng.normal(size=3))).sum().backward()
        opt.step()
    traces[threshold] = opt
    first = next(r for r in opt.trace if r["rectified"])
    print(f"threshold {threshold}: first rectified step t = {first['t']}, "
          f"rho_t = {first['rho_t']:.3f}, r_t = {first['r_t']:.4f}")

rectified = [r for r in traces[5].trace if r["rectified"]]
t_r = np.array([r["t"] for r in rectified])
r_traced = np.array([r["r_t"] for r in rectified])
r_from_variance = np.sqrt(var_psi(np.array([rho_inf]))[0] / var_psi(rho(t_r)))
print("largest |traced r_t - sqrt(Var_inf / Var_t)|:", np.abs(r_traced - r_from_variance).max())
assert np.allclose(r_traced, r_from_variance, rtol=1e-9)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].semilogy(steps, mc, label="Monte Carlo")
axes[0].semilogy(steps, analytic, "--", label="formula (ρ_t > 4)")
axes[0].set(title="Var[ψ_t], σ = 1", xlabel="step t")
axes[0].legend()
axes[1].plot(*traces[5].trace_of("r_t", steps=True), label="threshold 5 (PyTorch)")
axes[1].plot(*traces[4].trace_of("r_t", steps=True), ":", label="threshold 4 (paper)")
axes[1].set(title="RAdam's r_t (from the trace)", xlabel="step t")
axes[1].legend()
fig.tight_layout()

# %%
# Warmup versus RAdam at a large learning rate
# --------------------------------------------
# A logistic regression on 100 features, of which 95 are noise, trained with
# minibatches of 16 at ``lr=0.1``. Adam's first step moves *every* weight by
# about :math:`\pm\gamma`, the noise weights included, and the loss jumps. A linear
# warmup over :math:`2/(1-\beta_2)` steps (``LinearWarmupLR``, the "untuned"
# warmup of Ma & Yarats) or RAdam's rectification keeps the first steps small.
def make_data(seed, n=400, d=100, informative=5):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, d))
    y = (x[:, :informative] @ r.normal(size=informative) > 0).astype(np.int64)
    return x, y


def train(method, seed, steps=120, lr=0.1):
    x, y = make_data(seed)
    mg.manual_seed(seed)
    model = LogisticRegression(x.shape[1], 2, dtype=np.float64)
    if method == "RAdam":
        opt = optim.RAdam(model.parameters(), lr=lr)
    else:
        opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.LinearWarmupLR(opt) if method == "Adam + warmup" else None
    order = np.random.default_rng(seed + 100)
    losses = []
    for _ in range(steps):
        idx = order.integers(0, len(x), 16)
        opt.zero_grad()
        loss = F.cross_entropy(model(mg.tensor(x[idx])), mg.tensor(y[idx]))
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        with mg.no_grad():
            losses.append(F.cross_entropy(model(mg.tensor(x)), mg.tensor(y)).item())
    return np.array(losses)


methods = ["Adam", "Adam + warmup", "RAdam"]
curves = {m: np.mean([train(m, seed) for seed in (0, 1)], axis=0) for m in methods}
for m, c in curves.items():
    print(f"{m:14s} peak loss in the first 30 steps {c[:30].max():.3f}, final {c[-1]:.3f}")
assert max(curves["RAdam"][:30].max(), curves["Adam + warmup"][:30].max()) < curves["Adam"][:30].max()

fig, ax = plt.subplots(figsize=(6, 3.6))
for m, c in curves.items():
    ax.plot(c, label=m)
ax.set(title="full-data loss, lr = 0.1 (mean of 2 seeds)", xlabel="step", ylabel="cross-entropy")
ax.legend()
fig.tight_layout()

# %%
# RAdam's first steps are momentum-SGD steps of size :math:`\gamma \hat m_t`, not
# :math:`\pm\gamma` per coordinate, and its adaptive steps start damped by
# :math:`r_t < 1`; warmup reaches the same end by shrinking :math:`\gamma` itself.
# The lecture demonstration ``python -m experiments run radam-variance`` repeats
# this at full size.

# %%
# Inside a real model: tracing per layer
# --------------------------------------
# ``trace=True`` keeps every full array at every step: fine for four weights, not
# for a model. ``optim.Trace`` records summaries instead (here the median of the
# effective step size per weight matrix, every step) and streams them to disk in
# ``.npz`` chunks that can be read while training runs. The model is Tree2Seq
# learning to name a few functions of ``optim/functional``; Adam's effective step
# is :math:`\gamma/(\sqrt{\hat v_t}+\epsilon)`, RAdam's :math:`\gamma\, r_t l_t`
# (a ``derived`` quantity, computed from the step's intermediates).
corpus = mn.build_python_corpus(os.path.join(os.path.dirname(optim.__file__), "functional"),
                                fractions=(1.0, 0.0, 0.0), max_nodes=200, cache=False, progress=False)
types, tokens, targets = corpus.build_vocabs(min_freq=1)
trees, tgt, _ = mn.batch_examples(corpus.train[:8], types, tokens, targets)
batch = (trees.token_ids, trees.node_type_ids, trees.parent)
lr, eps = 1e-3, 1e-8
effective_step = {"Adam": lambda q: lr / (np.sqrt(q["v_hat"]) + eps),
                  "RAdam": lambda q: lr * q["r_t"] * q["l_t"]}
store = tempfile.mkdtemp()
traces = {}
for name, cls in (("Adam", optim.Adam), ("RAdam", optim.RAdam)):
    mg.manual_seed(0)
    model = Tree2Seq(len(tokens), len(types), len(targets), embed_size=16, hidden_size=16,
                     pad_idx=targets.pad_id, bos_idx=targets.bos_id, eos_idx=targets.eos_id)
    matrices = [n for n, p in model.named_parameters() if p.ndim == 2 and "embedding" not in n]
    traces[name] = optim.Trace(quantities=["r_t"], params=matrices, stats=("mean",), quantiles=(0.5,),
                               derived={"eta_eff": effective_step[name]},
                               store=os.path.join(store, name), chunk_steps=5)
    opt = cls(model.named_parameters(), lr=lr, eps=eps, trace=traces[name])
    for step in range(1, 21):
        opt.zero_grad()
        model.loss(*batch, tgt).backward()
        opt.step()
        if name == "RAdam" and step == 12:        # read the stream while training runs
            so_far = optim.TraceReader(os.path.join(store, name))
            print(f"after step {step}: {len(so_far)} records on disk, r_t so far",
                  np.round(so_far.trace_of("r_t", param=matrices[0]), 4))
    traces[name].flush()
    print(f"{name}: median effective step at step 20 per matrix:",
          {m: f"{v:.3g}" for m, v in zip(matrices, (traces[name].trace_of("eta_eff.q50", param=m)[-1]
                                                    for m in matrices))})

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
plot_trace(os.path.join(store, "RAdam"), "r_t", params=[matrices[0]], ax=axes[0])
plot_trace(traces["Adam"], "eta_eff.q50", ax=axes[1], logy=True)
plot_trace(traces["RAdam"], "eta_eff.q50", ax=axes[2], logy=True)
axes[0].set_title("RAdam's r_t")
axes[1].set_title("Adam: median step per matrix")
axes[2].set_title("RAdam: median step per matrix")
fig.tight_layout()

# %%
# Adam's per-layer multipliers differ by more than an order of magnitude from the
# first step on (:math:`\gamma/|g_1|` at step 1). RAdam has none before
# :math:`\rho_t > 5` (plain momentum steps), and then all of its multipliers grow
# with the same :math:`r_t`. ``optim/TRACING.md`` lists every option
# (parameter subsets, step schedules, coordinates, the memory bound).
