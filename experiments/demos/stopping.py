r"""The lecture's stopping criteria on one training run (``optim.stopping``).

Lecture 4 lists five ways to decide when to stop:

1. an iteration or time limit (``MaxIterations``, ``TimeBudget``);
2. the validation loss getting worse (early stopping, ``Patience``);
3. :math:`J(\theta_t) - J(\theta^*) \le \varepsilon` (``TargetGap``);
4. :math:`J(\theta_t) \le \varepsilon J(\theta_0)` (``RelativeLoss``);
5. :math:`\lVert\nabla J(\theta_t)\rVert \le \varepsilon \lVert\nabla J(\theta_0)\rVert`
   (``RelativeGradNorm``).

The run: least-squares linear regression with 80 features and only 100 training
points, feature scales :math:`j^{-1}` (a decaying spectrum), the signal in the first
10 features, label noise :math:`\sigma = 0.5`. Full-batch gradient descent with
momentum from :math:`w = 0` fits the large-scale (signal) directions first and the
small-scale ones, where only noise is left to fit, much later: the validation loss
falls, bottoms out and then rises while the training loss keeps falling to its
minimum :math:`J^*`, known exactly from ``numpy.linalg.lstsq`` (so criterion 3 can
be used). Every criterion watches the same run, which continues to the end; the
step where each one would have stopped it is marked.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment
from optim import stopping as S


def make_data(rng, n_train=100, n_val=1000, p=80, k=10, sigma=0.5):
    scale = np.arange(1, p + 1, dtype=np.float64) ** -1.0
    w_true = np.zeros(p)
    w_true[:k] = 3.0 * rng.standard_normal(k)
    X = rng.standard_normal((n_train, p)) * scale
    Xv = rng.standard_normal((n_val, p)) * scale
    y = X @ w_true + sigma * rng.standard_normal(n_train)
    yv = Xv @ w_true + sigma * rng.standard_normal(n_val)
    return X, y, Xv, yv


def mse(w, X, y):
    r = mg.matmul(X, w) - y
    return 0.5 * (r * r).mean()


@experiment("stopping",
            "The five stopping criteria of lecture 4 (iteration/time limit, validation "
            "patience, J-J*<=eps, J<=eps*J0, ||grad||<=eps*||grad0||) on one overfitting run",
            headline=("stop_step",))
def run(ctx):
    import matplotlib.pyplot as plt

    X, y, Xv, yv = make_data(ctx.rng)
    n = len(y)
    J_star = 0.5 * float(np.mean((X @ np.linalg.lstsq(X, y, rcond=None)[0] - y) ** 2))
    L = float(np.linalg.eigvalsh(X.T @ X / n).max())
    lr = 0.5 / L
    steps = ctx.pick(400, 3000)
    eval_every = 2                       # validation "epochs"
    Xt, yt = mg.tensor(X, dtype=np.float64), mg.tensor(y, dtype=np.float64)
    Xvt, yvt = mg.tensor(Xv, dtype=np.float64), mg.tensor(yv, dtype=np.float64)
    w = mg.nn.Parameter(mg.zeros(X.shape[1], dtype=np.float64))
    opt = optim.SGD([w], lr=lr, momentum=0.9)

    budget = ctx.pick(0.03, 0.25)
    criteria = {
        "MaxIterations": S.MaxIterations(steps),
        "TimeBudget": S.TimeBudget(budget),
        "Patience": S.Patience(patience=20, min_delta=1e-4),
        "TargetGap": S.TargetGap(f_star=J_star, eps=0.02),
        "RelativeLoss": S.RelativeLoss(eps=0.1),
        "RelativeGradNorm": S.RelativeGradNorm(eps=1e-2),
    }
    labels = {
        "MaxIterations": f"1. iteration limit t ≥ {steps}",
        "TimeBudget": f"1. time limit {budget:g} s",
        "Patience": "2. val. loss not better for 20 evals",
        "TargetGap": "3. J − J* ≤ 0.02",
        "RelativeLoss": "4. J ≤ 0.1·J(θ0)",
        "RelativeGradNorm": "5. ‖∇J‖ ≤ 0.01·‖∇J(θ0)‖",
    }
    fired, reasons = {k: None for k in criteria}, {k: None for k in criteria}
    train, val_steps, val, gnorm = [], [], [], []

    def observe(t, loss, g, v=None):
        obs = {"step": t, "loss": loss, "grad_norm": g}
        if v is not None:
            obs["val_loss"] = v
        for name, c in criteria.items():
            if c.update(**obs) and fired[name] is None:
                fired[name] = t
                reasons[name] = c.reason

    for c in criteria.values():
        c.reset()
    # t = 0: the initial point (theta_0), then one observation after every step
    for t in ctx.progress(range(steps + 1), desc="training", total=steps + 1):
        opt.zero_grad()
        loss = mse(w, Xt, yt)
        loss.backward()
        J = float(loss.item())
        g = S.total_grad_norm([w])
        v = None
        if t % eval_every == 0:
            with mg.no_grad():
                v = float(mse(w, Xvt, yvt).item())
            val_steps.append(t)
            val.append(v)
        train.append(J)
        gnorm.append(g)
        observe(t, J, g, v)
        if t < steps:
            opt.step()

    train, val, gnorm = np.array(train), np.array(val), np.array(gnorm)
    val_steps = np.array(val_steps)
    best_i = int(np.argmin(val))
    best_val_step = int(val_steps[best_i])

    def val_at(t):
        if t is None:
            return None
        return float(val[np.searchsorted(val_steps, t, side="right") - 1])

    colors = dict(zip(criteria, ("k", "0.45", "C3", "C2", "C4", "C1")))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    ax.semilogy(np.arange(steps + 1), train, color="C0", label="training loss J")
    ax.semilogy(val_steps, val, color="C1", lw=1.2, label="validation loss")
    ax.axhline(J_star, color="C0", ls=":", lw=1, label="J* (least squares)")
    for name, t in fired.items():
        if t is not None:
            for a in axes:
                a.axvline(t, color=colors[name], ls="--", lw=1.1)
            ax.plot([], [], color=colors[name], ls="--", label=f"{labels[name]}: step {t}")
    ax.set(xlabel="step", ylabel="loss", xscale="symlog",
           title="where each criterion stops the run")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1]
    ax.semilogy(np.arange(steps + 1), gnorm, color="C2", label=r"$\|\nabla J(\theta_t)\|$")
    ax.axhline(1e-2 * gnorm[0], color="C1", ls=":", lw=1, label=r"$0.01\|\nabla J(\theta_0)\|$")
    ax.set(xlabel="step", ylabel="gradient norm", xscale="symlog", title="gradient norm")
    ax.legend(fontsize=8)
    axes[0].plot(best_val_step, val[best_i], "o", color="C1", ms=5)
    for a in axes:
        a.set_xlim(0, steps * 1.15)
    ctx.savefig(fig, "stopping")

    rows = [[labels[k], fired[k] if fired[k] is not None else "never", val_at(fired[k]),
             (train[fired[k]] if fired[k] is not None else None)] for k in criteria]
    order = sorted((t, k) for k, t in fired.items() if t is not None)
    first_name = order[0][1] if order else None
    loss_criteria_text = ", ".join(f"{val_at(fired[k]):.3f} ({k})"
                                   for k in ("TargetGap", "RelativeLoss", "RelativeGradNorm") if fired[k] is not None)
    report = f"""
One run of gradient descent with momentum (lr $0.5/L$ = {lr:.3g}, momentum 0.9,
{steps} steps, validation every {eval_every} steps) on an over-parameterised
least-squares problem (80 features, 100 training points). The training loss falls
towards $J^* = {J_star:.4f}$ while the validation loss reaches its minimum
{val[best_i]:.4f} at step {best_val_step} and then rises to {val[-1]:.4f}: the
model starts fitting the label noise. Each dashed line is where one criterion
fires; the first to fire is {labels[first_name] if first_name else 'none'}.
Early stopping (patience 20 evaluations) fires at step {fired['Patience']}, keeping
the best weights of step {criteria['Patience'].best_step} (validation
{criteria['Patience'].best:.4f}); the loss-based criteria know nothing about
generalisation and stop where the optimisation target says so, with validation
losses {loss_criteria_text}.
The time budget is wall-clock time and so varies between machines and runs (here
step {fired['TimeBudget']}).

{ctx.table(rows, ["criterion", "fires at step", "val. loss there", "train loss there"])}"""
    ctx.write_report(report, title="Stopping criteria")
    return {
        "stop_step": fired,
        "val_loss_at_stop": {k: val_at(t) for k, t in fired.items()},
        "best_val_step": best_val_step, "best_val_loss": float(val[best_i]),
        "patience_best_step": criteria["Patience"].best_step,
        "J_star": J_star, "final_train_loss": float(train[-1]), "final_val_loss": float(val[-1]),
        "reasons": reasons, "steps": steps,
    }
