r"""
Comparing optimizers: several seeds and significance tests
==========================================================

"Adam beat SGD" from one run says little: a different seed (initialisation, batch
order) can reverse the verdict. This tutorial trains a small network on a real
data set with three optimizers and eight seeds each, then asks whether the
differences are larger than the seed-to-seed spread: means with confidence
intervals, tests paired by seed, and a correction for testing several pairs.
"""

# %%
# The task
# --------
# The handwritten digits of scikit-learn (1797 images of 8x8 pixels, ten
# classes), split once into training and validation halves; a multilayer
# perceptron 64-32-10 trained for a fixed budget of minibatch steps.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import minigrad as mg
import optim
from experiments import stats
from minigrad import functional as F
from models import MLP

digits = load_digits()
x_all = digits.data / 16.0
y_all = digits.target.astype(np.int64)
split = np.random.default_rng(0).permutation(len(x_all))
train_idx, val_idx = split[:900], split[900:]
x_val, y_val = mg.tensor(x_all[val_idx]), mg.tensor(y_all[val_idx])

OPTIMIZERS = {
    "SGD momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "Adam": lambda p: optim.Adam(p, lr=1e-2),
    "RAdam": lambda p: optim.RAdam(p, lr=1e-2),
}


def run(name, seed, steps=120, batch=32):
    """Validation loss after ``steps`` minibatch steps; the seed fixes the
    initialisation and the batch order, the same for every optimizer."""
    mg.manual_seed(seed)
    model = MLP([64, 32, 10], activation="tanh", dtype=np.float64)
    opt = OPTIMIZERS[name](model.parameters())
    order = np.random.default_rng(seed)
    for _ in range(steps):
        idx = train_idx[order.integers(0, len(train_idx), batch)]
        opt.zero_grad()
        F.cross_entropy(model(mg.tensor(x_all[idx])), mg.tensor(y_all[idx])).backward()
        opt.step()
    with mg.no_grad():
        logits = model(x_val)
        loss = F.cross_entropy(logits, y_val).item()
        accuracy = float((logits.numpy().argmax(1) == y_all[val_idx]).mean())
    return loss, accuracy


# %%
# Eight seeds per optimizer
# -------------------------
seeds = range(8)
results = {name: [run(name, s) for s in seeds] for name in OPTIMIZERS}
val_loss = {name: [r[0] for r in runs] for name, runs in results.items()}
val_acc = {name: [r[1] for r in runs] for name, runs in results.items()}
for name in OPTIMIZERS:
    print(f"{name:13s} validation loss per seed: {np.round(val_loss[name], 3)}")

# %%
# Means and confidence intervals
# ------------------------------
# ``experiments.stats.summarize`` gives the mean, the sample standard deviation
# and the 95% confidence interval of the mean from Student's t distribution,
# :math:`\bar x \pm t_{0.975,\,n-1}\, s/\sqrt n`. Overlapping intervals are a
# warning sign, not a test.
for name, values in val_loss.items():
    s = stats.summarize(values)
    print(f"{name:13s} {s['mean']:.4f} ± {s['std']:.4f}   95% CI [{s['ci_low']:.4f}, {s['ci_high']:.4f}]")

# %%
# Tests paired by seed
# --------------------
# Run :math:`i` of every optimizer starts from the same weights and sees the same
# batches, so the runs pair up. The Wilcoxon signed-rank test asks whether the
# paired differences are centred on zero, without assuming they are normal
# (Welch's t-test and the Mann–Whitney U test ignore the pairing). The table
# compares every optimizer with the baseline, SGD with momentum:
print(stats.format_table(val_loss, baseline="SGD momentum", metric="validation loss",
                         paired=True, paired_method="wilcoxon"))

# %%
# Compare the columns: where the seed-to-seed spread is large next to the
# difference, the unpaired tests (Welch, Mann–Whitney) see it as noise, while the
# paired test, which looks at the differences seed by seed, removes it. And RAdam
# is far behind at this budget: in its first steps it takes small momentum-SGD
# steps, and its rectification :math:`r_t` is still well below 1 after a hundred
# steps (see the RAdam tutorial) — a verdict about a budget, not about RAdam.
#
# Correcting for several comparisons
# ----------------------------------
# Two comparisons at level 0.05 give two chances of a false alarm. Holm's method
# multiplies the smallest p-value by the number of tests :math:`m`, the next by
# :math:`m-1`, and so on (keeping the order), which controls the chance of *any*
# false alarm at 0.05.
rows = stats.compare(val_loss, baseline="SGD momentum", paired=True, paired_method="wilcoxon")
others = [r for r in rows if not r["baseline"]]
adjusted = stats.holm([r["paired_p"] for r in others])
for r, p_adj in zip(others, adjusted):
    verdict = "differs from SGD momentum" if p_adj < 0.05 else "no significant difference"
    print(f"{r['name']:6s} Wilcoxon p = {r['paired_p']:.4f}, Holm-adjusted {p_adj:.4f}: {verdict}")

# %%
# With eight pairs the smallest two-sided Wilcoxon p-value is
# :math:`2/2^8 \approx 0.0078`: eight seeds can show a consistent difference, but
# not a small one. Report the number of seeds with every verdict.
#
# The spread, seed by seed
# ------------------------
# Lines join the runs of one seed: a difference that holds seed by seed shows as
# parallel lines, whatever the spread between seeds.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
names = list(OPTIMIZERS)
for ax, data, label in ((axes[0], val_loss, "validation loss"), (axes[1], val_acc, "validation accuracy")):
    table = np.array([data[n] for n in names])
    for s in range(table.shape[1]):
        ax.plot(range(len(names)), table[:, s], "-", color="0.8", lw=0.8)
    for k, n in enumerate(names):
        ax.plot(np.full(len(data[n]), k), data[n], "o", ms=4)
        ax.errorbar(k + 0.15, np.mean(data[n]), yerr=np.std(data[n], ddof=1), fmt="s", color="k", capsize=3)
    ax.set_xticks(range(len(names)), names)
    ax.set(title=f"{label}, 8 seeds", ylabel=label)
fig.tight_layout()
