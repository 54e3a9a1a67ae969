r"""Every learning-rate schedule of the lectures and of ``torch.optim.lr_scheduler``.

Each schedule drives ``optim.lr_scheduler`` on a dummy ``optim.SGD`` (one scalar
Parameter, momentum 0.9) and the learning rate is recorded before every
``scheduler.step()``: value number i is the lr the (i+1)-th optimizer step uses
(the scheduler's construction already sets the first one, as in PyTorch).

Lecture schedules: step (÷k every n), exponential base·0.95^epoch, hyperbolic
:math:`\eta_0/(1+kt)`, cosine, SGDR (:math:`T_0`, :math:`T_{mult}`), cyclic (CLR
and the SWA sawtooth), the Transformer's
:math:`d^{-1/2}\min(s^{-1/2}, s\,w^{-3/2})` for three warmup lengths, linear warmup
:math:`\min(1, t(1-\beta_2)/2)\eta` (Ma & Yarats), one-cycle. The remaining PyTorch
schedulers are shown too (MultiStep, Constant, Linear, Polynomial, Multiplicative,
Sequential, Chained, ReduceLROnPlateau on a synthetic validation curve).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment
from optim import lr_scheduler as S

LR0 = 0.1


def dummy_optimizer(lr=LR0):
    p = mg.nn.Parameter(mg.tensor([0.0], dtype=np.float64))
    return optim.SGD([p], lr=lr, momentum=0.9)


def trace(make, n, lr=LR0, metric=None):
    """lr (and momentum) used by optimizer steps 1..n under the scheduler ``make(opt)``."""
    opt = dummy_optimizer(lr)
    sched = make(opt)
    lrs, moms = np.empty(n), np.empty(n)
    for i in range(n):
        lrs[i] = opt.param_groups[0]["lr"]
        moms[i] = opt.param_groups[0]["momentum"]
        opt.step()  # no gradient: a no-op, but the order is the real one
        if metric is not None:
            sched.step(metric(i))
        else:
            sched.step()
    return lrs, moms


def _swa_cyclic(c, a1=LR0, a2=LR0 / 20):
    """SWA's sawtooth (Izmailov et al. 2018): alpha(i) = (1-s) a1 + s a2,
    s = (((i-1) mod c) + 1)/c, i = 1, 2, ... (as a LambdaLR factor of a1)."""
    def factor(epoch):
        i = epoch + 1
        s = (((i - 1) % c) + 1) / c
        return ((1 - s) * a1 + s * a2) / a1
    return factor


def _plateau_val_loss(rng, n):
    """A synthetic validation curve: fast progress, then a noisy plateau."""
    noise = 0.004 * rng.standard_normal(n)
    return lambda i: 0.3 + 0.7 * math.exp(-i / 8) + noise[i]


@experiment("schedules",
            "All learning-rate schedules of the lectures and torch.optim.lr_scheduler "
            "(step, exponential, hyperbolic, cosine, SGDR, cyclic, Transformer warmup, "
            "linear warmup, one-cycle, ...) on one figure",
            headline=tuple(f"transformer_warmup.{w}.{k}" for w in (1000, 4000, 8000)
                           for k in ("peak_step", "peak_lr"))
            + ("one_cycle.peak_step", "one_cycle.peak_lr"))
def run(ctx):
    import matplotlib.pyplot as plt

    E = 100                 # "epochs" for the epoch-level schedules
    T_noam = ctx.pick(12000, 30000)
    T_warm = 3000
    d_model = 512
    warmups = (1000, 4000, 8000)
    val = _plateau_val_loss(ctx.rng, E)

    panels = []   # (title, [(label, lrs)], xlabel, log-y?, extra)

    def add(title, curves, xlabel="epoch", logy=False, note=None):
        panels.append((title, curves, xlabel, logy, note))

    add("step: ÷2 every 25 (StepLR)", [("StepLR(25, 0.5)", trace(
        lambda o: S.StepLR(o, step_size=25, gamma=0.5), E)[0])])
    add("MultiStepLR [30, 60, 90], ×0.1", [("MultiStepLR", trace(
        lambda o: S.MultiStepLR(o, milestones=[30, 60, 90], gamma=0.1), E)[0])], logy=True)
    add("exponential: base·0.95^epoch", [("ExponentialLR(0.95)", trace(
        lambda o: S.ExponentialLR(o, gamma=0.95), E)[0])], logy=True)
    add("hyperbolic: η0/(1+kt)", [(f"HyperbolicLR(k={k})", trace(
        lambda o, k=k: S.HyperbolicLR(o, k=k), E)[0]) for k in (0.05, 0.2)])
    add("cosine (CosineAnnealingLR)", [(f"T_max={tm}", trace(
        lambda o, tm=tm: S.CosineAnnealingLR(o, T_max=tm, eta_min=0.001), E)[0])
        for tm in (E, 30)])
    sgdr = trace(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2), E)[0]
    add("SGDR: T_0=10, T_mult=2", [("CosineAnnealingWarmRestarts", sgdr),
                                   ("T_0=20, T_mult=1", trace(
                                       lambda o: S.CosineAnnealingWarmRestarts(o, T_0=20), E)[0])])
    add("cyclic (CyclicLR, step_size_up=10)", [(mode, trace(
        lambda o, m=mode: S.CyclicLR(o, base_lr=0.01, max_lr=LR0, step_size_up=10, mode=m,
                                     gamma=0.97), E)[0])
        for mode in ("triangular", "triangular2", "exp_range")])
    add("SWA cyclic sawtooth, c=10", [("LambdaLR", trace(
        lambda o: S.LambdaLR(o, _swa_cyclic(10)), E)[0])])
    noam = {w: trace(lambda o, w=w: S.TransformerWarmupLR(o, d_model=d_model, warmup_steps=w),
                     T_noam)[0] for w in warmups}
    add(f"Transformer: d^-0.5·min(s^-0.5, s·w^-1.5), d={d_model}",
        [(f"w={w}", noam[w]) for w in warmups], xlabel="step")
    lin = {b2: trace(lambda o, b2=b2: S.LinearWarmupLR(o, beta2=b2), T_warm)[0]
           for b2 in (0.99, 0.998, 0.999)}
    add("linear warmup min(1, t(1-β2)/2)·η", [(f"β2={b2}: τ={round(2 / (1 - b2))}", lin[b2])
                                             for b2 in lin], xlabel="step")
    oc_lr, oc_mom = trace(lambda o: S.OneCycleLR(o, max_lr=LR0, total_steps=E), E)
    add("one-cycle (OneCycleLR, max_lr 0.1)", [("lr", oc_lr)], note=("momentum", oc_mom))
    add("ConstantLR / LinearLR", [
        ("ConstantLR(1/3, 20)", trace(lambda o: S.ConstantLR(o, factor=1 / 3, total_iters=20),
                                      E)[0]),
        ("LinearLR(0.1→1, 30)", trace(lambda o: S.LinearLR(o, start_factor=0.1,
                                                           total_iters=30), E)[0])])
    add("PolynomialLR(total 100)", [(f"power={pw}", trace(
        lambda o, pw=pw: S.PolynomialLR(o, total_iters=E, power=pw), E)[0]) for pw in (0.5, 1, 2)])
    add("Lambda / Multiplicative", [
        ("LambdaLR 1/√(t+1)", trace(lambda o: S.LambdaLR(o, lambda e: 1 / math.sqrt(e + 1)),
                                    E)[0]),
        ("MultiplicativeLR ×0.97", trace(lambda o: S.MultiplicativeLR(o, lambda e: 0.97),
                                         E)[0])])
    add("SequentialLR: linear warmup 10, then cosine", [("SequentialLR", trace(
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=10),
                                     S.CosineAnnealingLR(o, T_max=E - 10)], milestones=[10]),
        E)[0])])
    add("ChainedScheduler: ExponentialLR(0.97) · StepLR", [("ChainedScheduler", trace(
        lambda o: S.ChainedScheduler([S.ExponentialLR(o, gamma=0.97),
                                      S.StepLR(o, step_size=30, gamma=0.5)]), E)[0])],
        logy=True)
    plateau = trace(lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5), E, metric=val)[0]
    add("ReduceLROnPlateau(0.5, patience 5)", [("lr", plateau)], logy=True,
        note=("val loss", np.array([val(i) for i in range(E)])))

    ncol = 4
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.3 * nrow))
    for ax, (title, curves, xlabel, logy, note) in zip(axes.flat, panels):
        for label, lrs in curves:
            x = np.arange(1, len(lrs) + 1) if xlabel == "step" else np.arange(len(lrs))
            (ax.semilogy if logy else ax.plot)(x, lrs, lw=1.4, label=label)
        if note is not None:
            ax2 = ax.twinx()
            ax2.plot(note[1], color="0.6", ls="--", lw=1)
            ax2.set_ylabel(note[0], color="0.5", fontsize=8)
            ax2.tick_params(labelsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("lr", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(curves) > 1:
            ax.legend(fontsize=6.5)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"Learning-rate schedules (optim.lr_scheduler, base lr {LR0} unless stated)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    ctx.savefig(fig, "schedules")

    noam_out = {}
    for w in warmups:
        i = int(np.argmax(noam[w]))
        noam_out[str(w)] = {"peak_step": i + 1, "peak_lr": float(noam[w][i]),
                            "formula_peak_lr": (d_model * w) ** -0.5,
                            "lr_at_end": float(noam[w][-1])}
    oc_i = int(np.argmax(oc_lr))
    one_cycle = {"peak_step": oc_i + 1, "peak_lr": float(oc_lr[oc_i]),
                 "initial_lr": float(oc_lr[0]), "final_lr": float(oc_lr[-1]),
                 "momentum_at_peak": float(oc_mom[oc_i]), "total_steps": E}
    restarts = [int(i) for i in np.where(np.diff(sgdr) > 0)[0] + 1]
    lin_out = {str(b2): {"full_lr_from_step": int(np.argmax(lin[b2] >= LR0 * (1 - 1e-12)) + 1),
                         "first_lr": float(lin[b2][0])} for b2 in lin}
    plateau_drops = [int(i) for i in np.where(np.diff(plateau) < 0)[0] + 1]

    noam_rows = [[w, noam_out[str(w)]["peak_step"], noam_out[str(w)]["peak_lr"],
                  noam_out[str(w)]["formula_peak_lr"], noam_out[str(w)]["lr_at_end"]]
                 for w in warmups]
    report = f"""
One panel per schedule, each recorded from `optim.lr_scheduler` driving a dummy
`optim.SGD` (lr {LR0}): the value at step/epoch i is what the optimizer uses there.
The Transformer schedule ignores the base lr (the formula *is* the lr): with
$d = {d_model}$ it rises linearly and peaks exactly at $s = w$ with
$(d\\,w)^{{-1/2}}$, then decays as $s^{{-1/2}}$, so a longer warmup gives a lower,
later peak:

{ctx.table(noam_rows, ["warmup w", "peak step", "peak lr", "(d w)^-1/2", f"lr at step {T_noam}"])}
One-cycle (100 steps, max_lr {LR0}, PyTorch defaults) starts at max_lr/25 =
{one_cycle['initial_lr']:.4g}, peaks at step {one_cycle['peak_step']} with
{one_cycle['peak_lr']:.4g} (30% of the cycle), where momentum is at its minimum
{one_cycle['momentum_at_peak']:.3g} (dashed, right axis), and ends at
{one_cycle['final_lr']:.3g}. SGDR ($T_0 = 10$, $T_{{mult}} = 2$) restarts at epochs
{restarts}: periods 10, 20, 40. The untuned linear warmup reaches the full lr at
step {', '.join(f"{v['full_lr_from_step']} (β2 = {k})" for k, v in lin_out.items())},
i.e. $2/(1-\\beta_2)$. Exponential decay with 0.95 leaves
{0.95 ** (E - 1) * LR0:.3g} after {E - 1} epochs; hyperbolic decay with k = 0.05 leaves
{LR0 / (1 + 0.05 * (E - 1)):.3g}. ReduceLROnPlateau halves the lr at epochs
{plateau_drops} once the synthetic validation loss stops improving for 5 epochs.
"""
    ctx.write_report(report, title="Learning-rate schedules")
    return {"transformer_warmup": noam_out, "one_cycle": one_cycle,
            "sgdr_restart_epochs": restarts, "linear_warmup": lin_out,
            "plateau_reductions": plateau_drops, "panels": len(panels)}
