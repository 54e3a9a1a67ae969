"""What a training step costs with each optimizer, against Adam, on one small MLP.

    python benchmarks/bench_optim_costs.py [--quick] [--repeats N] [--threads N]
                                           [--clock wall|cpu] [--keep-blas-spin]
                                           [--only NAME,NAME,...] [--list]

The model is ``models.MLP([64, 128, 128, 10])`` (tanh, float32, 26,122
parameters: three weight matrices and three bias vectors), cross-entropy loss,
batches of 256 rows from a synthetic classification data set of 10 batches
(2,560 rows; labels from a random linear teacher, 10% of them replaced at
random). Step t uses batch t mod 10 (all batches have the same shape, so the
cost of a step does not depend on which). Every candidate starts from the same
weights. A *step* is everything a training loop does for one update with that
optimizer: ``zero_grad``, forward, backward, the extra forward/backward passes
the method needs (SAM's second pass, SVRG's pass at the snapshot, L-BFGS's line
search, Sophia's Hessian estimate, ...) and ``step()``.

Periodic work is averaged over its period: every timed sample is ``PERIOD`` = 10
consecutive steps, and the reported time per step is the sample's time / 10.
Within 10 steps every periodic method does its periodic work a whole number of
times: Sophia's Hessian estimate (k = 10), Shampoo's inverse roots (with
``update_freq=10``; the default 1 recomputes them every step), Lookahead's and
Ranger's synchronisation (k = 5, twice), SVRG's and SVRG-BB's full-gradient
snapshot (epoch m = 10 steps: one full pass over the data set, i.e. 10 batch
passes, per epoch), SGD-BB's step-size update (m = 10), SWA's average (cycle
of 10 steps). L-BFGS runs with ``max_iter=1``, so that one ``step(closure)`` is
one iteration (one update); with the line search ``max_eval=25`` (torch's
default for ``max_iter=20``; with ``max_iter=1`` torch's default ``max_eval`` is
1, which leaves the line search no trial). L-BFGS and Barzilai-Borwein are
full-batch methods; here they see the minibatches like the others (their cost
per step is the same; on a fixed batch L-BFGS soon reaches its gradient
tolerance and its steps become no-ops).

Columns of the table:

* ``f+b / step``: forward+backward passes per step, in units of one pass over a
  256-row batch, counted while timing (SVRG's full pass counts 10; Sophia's
  Hessian estimate is not counted here, see the ``extra work`` column);
* ``ms / step`` and ``vs Adam``: the median over the samples, and its ratio to
  Adam's (with the median and interquartile range of the round-by-round ratio);
* ``update ms``: the part of a step spent outside the forward/backward passes
  (including Sophia's Hessian estimate among the passes): for an optimizer used
  as ``loss.backward(); opt.step()`` that is exactly ``opt.step()``; for the
  closure-driven ones (SAM, L-BFGS, SVRG, lecture Nesterov) it is ``step()``
  minus the time in the closure: the copies, swaps, two-loop recursion, line
  search bookkeeping. ``update vs Adam``: its ratio to Adam's ``step()``.

Candidates take turns in rounds (``_common.interleaved``), the order rotating
every round; every candidate first runs two warm-up samples (L-BFGS enough to
fill its 100-pair history). At the end the mean loss of every candidate over
the data set is printed: all must be finite (a diverged run can time
differently), and a warning is printed otherwise.
All optimizers use their default implementation (``impl="teaching"``).
"""
from __future__ import annotations

import argparse
import math

import numpy as np
from _common import (
    OtherLoad,
    add_common_args,
    get_clock,
    interleaved,
    linear_init,
    load_average,
    machine_info,
    markdown_table,
    match_threads,
    paired_ratio,
)

import minigrad as mg
import minigrad.functional as F
import optim
from minigrad.grad_mode import no_grad
from models.mlp import MLP
from optim.muon import split_params_for_muon
from optim.swa_utils import AveragedModel, SWACyclicLR

SIZES = (64, 128, 128, 10)
BATCH = 256
PERIOD = 10          # steps per timed sample; every periodic method's period divides it
N_BATCHES = 10       # SVRG's data set: 10 batches, one epoch = 10 steps
LBFGS_HISTORY = 100  # torch's default history_size


# ------------------------------------------------------------------ data, model
def make_data(seed=1):
    """N_BATCHES * BATCH rows: x ~ N(0, I), y = argmax of a random linear teacher, 10% noise."""
    rng = np.random.default_rng(seed)
    n = N_BATCHES * BATCH
    x = rng.standard_normal((n, SIZES[0])).astype(np.float32)
    teacher = rng.standard_normal((SIZES[0], SIZES[-1]))
    y = (x @ teacher).argmax(axis=1)
    noisy = rng.random(n) < 0.1
    y[noisy] = rng.integers(0, SIZES[-1], int(noisy.sum()))
    return x, y.astype(np.int64)


class Env:
    def __init__(self, clock):
        self.clock = clock
        self.weights = linear_init(SIZES)
        x, y = make_data()
        self.full = (mg.Tensor(x), y)
        self.batches = [(mg.Tensor(x[i * BATCH:(i + 1) * BATCH]), y[i * BATCH:(i + 1) * BATCH])
                        for i in range(N_BATCHES)]

    def new_model(self):
        model = MLP(SIZES, activation="tanh")
        params = list(model.parameters())
        assert [tuple(p.shape) for p in params] == [w.shape for w in self.weights]
        for p, w in zip(params, self.weights):
            p.data = w.copy()
        return model


# ------------------------------------------------------------------ candidates
class Candidate:
    """One optimizer's training loop; ``period()`` runs PERIOD steps.

    The forward/backward passes go through :meth:`fb` (directly or inside a
    closure), which times them and counts them; whatever else a step does is
    the optimizer's own work.
    """

    def __init__(self, name, work, group, setup, env):
        self.name, self.work, self.group = name, work, group
        self.env = env
        self.clock = env.clock
        self.model = env.new_model()
        self.params = list(self.model.parameters())
        self.passes_time = 0.0
        self.passes_count = 0.0
        self.t = 0                        # steps taken: step t uses batch t mod N_BATCHES
        self.extra = {}                   # facts to report (history length, ...)
        self._step = setup(self)          # builds the optimizer(s); returns one step

    def fb(self, batch, zero=()):
        """zero_grad, forward, loss, backward on ``batch`` (timed as a pass)."""
        x, y = batch
        t0 = self.clock()
        for opt in zero:
            opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.passes_time += self.clock() - t0
        self.passes_count += x.shape[0] / BATCH
        return loss

    def closure(self, opt, batch):
        return lambda: self.fb(batch, zero=(opt,))

    def next_batch(self):
        batch = self.env.batches[self.t % N_BATCHES]
        self.t += 1
        return batch

    def timed(self, fn, *args, count=0.0, **kwargs):
        """Run ``fn`` as part of the passes (e.g. Sophia's Hessian estimate)."""
        t0 = self.clock()
        out = fn(*args, **kwargs)
        self.passes_time += self.clock() - t0
        self.passes_count += count
        return out

    def period(self):
        step = self._step
        for _ in range(PERIOD):
            step()

    def loss(self):
        """The mean loss over the data set (all N_BATCHES batches)."""
        with no_grad():
            x, y = self.env.full
            return float(F.cross_entropy(self.model(x), y).item())


def plain(make):
    """The usual loop: zero_grad, forward, backward, ``step()`` of every optimizer made."""
    def setup(c):
        opts = make(c)
        opts = opts if isinstance(opts, (list, tuple)) else [opts]
        c.opt = opts[0]

        def step():
            c.fb(c.next_batch(), zero=opts)
            for opt in opts:
                opt.step()
        return step
    return setup


def with_closure(make):
    """``opt.step(closure)``, the closure on the step's batch (SAM, L-BFGS, lecture Nesterov)."""
    def setup(c):
        opt = make(c)

        def step():
            opt.step(c.closure(opt, c.next_batch()))
        c.opt = opt
        return step
    return setup


def sophia(estimator):
    def setup(c):
        opt = optim.Sophia(c.params, lr=1e-4, estimator=estimator, update_period=PERIOD,
                           seed=0)

        def step():
            x, y = c.next_batch()
            t0 = c.clock()
            opt.zero_grad()
            logits = c.model(x)
            loss = F.cross_entropy(logits, y)
            c.passes_time += c.clock() - t0
            if opt.hessian_due:                      # t = 1, k + 1, ...: once per period
                if estimator == "hutchinson":
                    c.timed(opt.update_hessian, loss)
                else:
                    c.timed(opt.update_hessian, logits=logits, count=0.0)
            t0 = c.clock()
            loss.backward()
            c.passes_time += c.clock() - t0
            c.passes_count += 1
            opt.step()
        return step
    return setup


def svrg(cls, **kwargs):
    """An epoch of PERIOD steps: take_snapshot over the data set, then one step per batch."""
    def setup(c):
        opt = cls(c.params, **kwargs)
        full = c.closure(opt, c.env.full)

        def step():
            if c.t % PERIOD == 0:
                opt.take_snapshot(full)
            opt.step(c.closure(opt, c.next_batch()))
        return step
    return setup


def swa(c):
    """SGD with the SWA paper's cyclic rate; the average is taken at each cycle's end."""
    opt = optim.SGD(c.params, lr=0.05, momentum=0.9)
    sched = SWACyclicLR(opt, alpha_1=0.05, alpha_2=0.01, cycle_length=PERIOD)
    swa_model = AveragedModel(c.model)

    def step():
        c.fb(c.next_batch(), zero=(opt,))
        opt.step()
        if sched.is_cycle_end():
            swa_model.update_parameters(c.model)
        sched.step()
    return step


def muon(c):
    split = split_params_for_muon(c.model)
    c.extra["split"] = (f"Muon: {len(split.muon)} hidden weights, "
                        f"AdamW: {len(split.adamw)} (head, biases)")
    return [optim.Muon(split.muon, lr=0.02), optim.AdamW(split.adamw, lr=1e-3)]


# (name, extra work per step, group, setup)
REFERENCE = "Adam"
CANDIDATES = [
    ("Adam", "none (reference)", "ref", plain(lambda c: optim.Adam(c.params, lr=1e-3))),
    # -------- beyond torch.optim (and the two newer torch ones the issue lists)
    ("LAMB", "per-tensor norms of w and of the update (trust ratio)", "beyond",
     plain(lambda c: optim.LAMB(c.params, lr=1e-3))),
    ("LARS", "per-tensor norms of w and g (local lr), momentum", "beyond",
     plain(lambda c: optim.LARS(c.params, lr=0.1))),
    ("AdaBelief", "Adam with (g - m)^2 for the second moment", "beyond",
     plain(lambda c: optim.AdaBelief(c.params, lr=1e-3))),
    ("SWATS", "Adam + projected SGD step size per tensor (2 dot products)", "beyond",
     plain(lambda c: optim.SWATS(c.params, lr=1e-3))),
    ("Lookahead(Adam), k=5", "Adam + slow-weight update every 5 steps", "beyond",
     plain(lambda c: optim.Lookahead(optim.Adam(c.params, lr=1e-3), k=5))),
    ("Ranger (Lookahead(RAdam)), k=5", "RAdam + slow-weight update every 5 steps", "beyond",
     plain(lambda c: optim.Ranger(c.params, lr=1e-3))),
    ("Ranger21", "AGC, centralization, normalization, PNM (2 moments), norm loss, "
     "two passes over the parameters, Lookahead every 5", "beyond",
     plain(lambda c: optim.Ranger21(c.params, lr=1e-3))),
    ("SAM (SGD momentum base)", "2nd forward+backward at w + e(w); ascent step, copies of w",
     "beyond", with_closure(lambda c: optim.SAM(c.params, optim.SGD, rho=0.05, lr=0.05,
                                                momentum=0.9))),
    ("SWA (SGD momentum, cyclic lr)", "cyclic lr schedule; average of the weights every "
     "10 steps", "beyond", swa),
    ("SVRG, m=10", "forward+backward at the snapshot each step; full-data gradient "
     "(10 batches) once per epoch of 10 steps", "beyond", svrg(optim.SVRG, lr=0.05)),
    ("Barzilai-Borwein (full batch)", "s = x_k - x_{k-1}, y = g_k - g_{k-1}, "
     "3 dot products over all parameters", "beyond",
     plain(lambda c: optim.BarzilaiBorwein(c.params, lr=1e-3))),
    ("SGD-BB, m=10", "running average of g; BB step size once per epoch of 10", "beyond",
     plain(lambda c: optim.SGDBB(c.params, lr=0.05, inner_steps=PERIOD))),
    ("SVRG-BB, m=10", "SVRG's passes; BB step size at each snapshot", "beyond",
     svrg(optim.SVRGBB, lr=0.05, inner_steps=PERIOD)),
    ("L-BFGS, no line search, max_iter=1", "flatten params and grads; two-loop recursion "
     f"over {LBFGS_HISTORY} (s, y) pairs", "beyond",
     with_closure(lambda c: optim.LBFGS(c.params, lr=0.1, max_iter=1,
                                        history_size=LBFGS_HISTORY))),
    ("L-BFGS, strong Wolfe, max_iter=1", "two-loop recursion over 100 pairs; line search "
     "(up to 24 trials), each trial a forward+backward", "beyond",
     with_closure(lambda c: optim.LBFGS(c.params, lr=1, max_iter=1, max_eval=25,
                                        history_size=LBFGS_HISTORY,
                                        line_search_fn="strong_wolfe"))),
    ("Sophia (Hutchinson), k=10", "Hessian-vector product (double backward) every 10 steps",
     "beyond", sophia("hutchinson")),
    ("Sophia (GNB), k=10", "backward of a loss on sampled labels every 10 steps", "beyond",
     sophia("gnb")),
    ("Shampoo, update_freq=1", "L += GG^T, R += G^TG; eigh of every statistic every step: "
     "5 of 128x128, 1 of 64x64, 2 of 10x10 (biases: full-matrix statistics)", "beyond",
     plain(lambda c: optim.Shampoo(c.params, lr=1e-3))),
    ("Shampoo, update_freq=10", "L, R every step; eigh of L and R every 10 steps",
     "beyond", plain(lambda c: optim.Shampoo(c.params, lr=1e-3, update_freq=PERIOD))),
    ("Muon + AdamW", "5 Newton-Schulz iterations per hidden weight (128x64, 128x128); "
     "AdamW on the head and biases", "beyond", plain(muon)),
    # -------- torch.optim, for context
    ("SGD", "none", "torch", plain(lambda c: optim.SGD(c.params, lr=0.05))),
    ("SGD momentum 0.9", "momentum buffer", "torch",
     plain(lambda c: optim.SGD(c.params, lr=0.05, momentum=0.9))),
    ("SGD Nesterov (torch form)", "momentum buffer", "torch",
     plain(lambda c: optim.SGD(c.params, lr=0.05, momentum=0.9, nesterov=True))),
    ("SGD Nesterov (lecture form)", "closure at the look-ahead point (copies of w)",
     "torch", with_closure(lambda c: optim.SGD(c.params, lr=0.05, momentum=0.9,
                                               nesterov=True, momentum_form="lecture"))),
    ("AdamW", "decoupled weight decay", "torch",
     plain(lambda c: optim.AdamW(c.params, lr=1e-3))),
    ("NAdam", "", "torch", plain(lambda c: optim.NAdam(c.params))),
    ("RAdam", "", "torch", plain(lambda c: optim.RAdam(c.params))),
    ("Adamax", "", "torch", plain(lambda c: optim.Adamax(c.params))),
    ("Adagrad", "", "torch", plain(lambda c: optim.Adagrad(c.params))),
    ("RMSprop", "", "torch", plain(lambda c: optim.RMSprop(c.params, lr=1e-3))),
    ("Adadelta", "", "torch", plain(lambda c: optim.Adadelta(c.params))),
    ("Adafactor", "factored second moment (row and column means)", "torch",
     plain(lambda c: optim.Adafactor(c.params, lr=1e-3))),
    ("ASGD", "", "torch", plain(lambda c: optim.ASGD(c.params))),
    ("Rprop", "", "torch", plain(lambda c: optim.Rprop(c.params, lr=1e-3))),
]
GROUPS = {"ref": "reference", "beyond": "beyond torch.optim (and L-BFGS, Muon)",
          "torch": "torch.optim, for context"}


# ------------------------------------------------------------------ timing
def time_candidates(cands, repeats, warmup, lbfgs_warmup):
    for c in cands:        # L-BFGS: fill the (s, y) history first (steady-state cost)
        if isinstance(getattr(c, "opt", None), optim.LBFGS):
            for _ in range(lbfgs_warmup):
                c.period()
    phases = {c.name: [] for c in cands}

    def recorder(c):
        def run():
            c.passes_time = c.passes_count = 0.0
            c.period()
            phases[c.name].append((c.passes_time, c.passes_count))
        return run

    stats = interleaved({c.name: recorder(c) for c in cands}, repeats=repeats, number=1,
                        warmup=warmup, block=1, clock=cands[0].clock)
    for name in phases:
        phases[name] = phases[name][warmup:]
    return stats, phases


def report(cands, stats, phases):
    ms = 1e3 / PERIOD
    ref = stats[REFERENCE]
    ref_update = np.median([t - p for t, (p, _) in zip(ref.samples, phases[REFERENCE])])
    rows, group = [], None
    for c in cands:
        s = stats[c.name]
        update = np.median([t - p for t, (p, _) in zip(s.samples, phases[c.name])])
        passes = np.mean([n for _, n in phases[c.name]]) / PERIOD
        r, r1, r3 = paired_ratio(s, ref)
        if c.group != group:
            group = c.group
            rows.append([f"*{GROUPS[group]}*", "", "", "", "", "", ""])
        rows.append([c.name, c.work or "-", f"{passes:.2f}", f"{s.median * ms:.3f}",
                     f"**{s.median / ref.median:.2f}x** [{r1:.2f}, {r3:.2f}]",
                     f"{update * ms:.3f}", f"{update / ref_update:.2f}x"])
    print(markdown_table(["optimizer", "extra work", "f+b / step", "ms / step",
                          "vs Adam [paired IQR]", "update ms", "update vs Adam"], rows))


def sanity(cands):
    bad = []
    lines = []
    for c in cands:
        loss = c.loss()
        note = f"{c.name} {loss:.4f}"
        opt = getattr(c, "opt", None)
        if isinstance(opt, optim.LBFGS):
            st = opt.state[opt._params[0]]
            note += (f" (history {len(st.get('old_dirs') or [])} pairs, "
                     f"{st['func_evals'] / max(st['n_iter'], 1):.2f} closure calls/iteration)")
        lines.append(note)
        if not math.isfinite(loss):
            bad.append(c.name)
    print("mean loss over the data set after the run: " + "; ".join(lines))
    for c in cands:
        for value in c.extra.values():
            print(f"{c.name}: {value}")
    if bad:
        print(f"WARNING: non-finite loss for {', '.join(bad)}: their timings may not be "
              "representative")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=None,
                    help="rounds (samples of 10 steps per candidate; default 40, quick 3)")
    ap.add_argument("--only", default=None,
                    help="comma-separated candidate names to run (Adam is always added)")
    ap.add_argument("--list", action="store_true", help="list the candidates and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, work, group, _ in CANDIDATES:
            print(f"{name}  [{group}]  {work}")
        return
    repeats = args.repeats or (3 if args.quick else 40)
    warmup = 1 if args.quick else 2
    lbfgs_warmup = 0 if args.quick else math.ceil(LBFGS_HISTORY / PERIOD) + 1
    threads = match_threads(args.threads)
    clock = get_clock(args.clock, threads["torch_threads"])

    specs = CANDIDATES
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")} | {REFERENCE}
        unknown = wanted - {s[0] for s in specs}
        if unknown:
            raise SystemExit(f"unknown candidates: {sorted(unknown)} (see --list)")
        specs = [s for s in specs if s[0] in wanted]

    print("# Cost of a training step per optimizer, against Adam\n")
    print(machine_info(threads))
    print(f"model MLP {'-'.join(map(str, SIZES))} tanh, float32, batch {BATCH}, "
          f"cross-entropy; {len(specs)} candidates, {repeats} rounds x 1 sample of "
          f"{PERIOD} steps each after {warmup} warm-up samples (L-BFGS: "
          f"{lbfgs_warmup} more, to fill its history); medians, {args.clock} clock\n")
    env = Env(clock)
    cands = [Candidate(name, work, group, setup, env) for name, work, group, setup in specs]
    other = OtherLoad()
    stats, phases = time_candidates(cands, repeats, warmup, lbfgs_warmup)
    report(cands, stats, phases)
    print()
    sanity(cands)
    print(other.report(cpu_clock=args.clock == "cpu"))
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
