"""The method-naming optimizer study: which optimizer trains Tree2Seq best?

A Tree2Seq model (:class:`models.Tree2Seq`: token + node-type embedding, Child-Sum
TreeLSTM encoder, LSTM decoder with Luong attention) names a function from its
syntax tree (:mod:`.naming_data`). Two phases, each a set of trials, one per
method and seed:

* ``global``: every method trains from the same initialisation (seeded by the
  seed alone) and sees the same data order (also seeded by the seed alone):
  ``SGD``, ``Adam``, ``RAdam``, ``LAMB``, ``LaSGD``, ``LaAdam``, ``LaRAdam``,
  ``SWA``; base lr 0.01, ``lr * 0.95**epoch``, 7 epochs (``full``).
* ``local``: for each seed, the global model with the best validation BLEU is the
  start of ``Adadelta``, ``BB``, ``LaRAdam``, ``SVRG``, ``SWA``, each continuing
  for 4 epochs at base lr 0.0037. A local trial waits for every global trial of
  its seed. The start itself is the local phase's baseline (``start``).

The test metrics of a trial are those of its final model (SWA: the averaged
model), decoded greedily; see :mod:`.scores` for the metrics.
"""
from __future__ import annotations

import time

import numpy as np

import minigrad as mg

from ..datasets.method_naming import batch_trees
from . import naming_data
from .methods import Method
from .scores import corpus_scores, per_example_scores
from .trial import TrialSpec, limit_blas_threads

__all__ = ["NAME", "DESCRIPTION", "PHASES", "GLOBAL", "LOCAL", "BASELINES", "trial_specs", "make_trainer",
           "prepare"]

NAME = "method-naming"
DESCRIPTION = ("Tree2Seq names functions from their syntax trees (real code split by project): "
               "8 global optimizers from scratch, 5 local ones from the best global model; "
               "BLEU/METEOR/ROUGE/F1 over seeds with Wilcoxon and Mann-Whitney tests")
GLOBAL = ("SGD", "Adam", "RAdam", "LAMB", "LaSGD", "LaAdam", "LaRAdam", "SWA")
LOCAL = ("Adadelta", "BB", "LaRAdam", "SVRG", "SWA")
PHASES = {"global": GLOBAL, "local": LOCAL}
#: the row each phase's "upside %" is measured against
BASELINES = {"global": "SGD", "local": "start"}
#: the metric that ranks methods and picks the local phase's start
PRIMARY = "bleu"
METRICS = ("bleu", "meteor", "rouge1", "rouge2", "rougeL", "f1")


def select_methods(spec: str | None) -> dict:
    """``{phase: methods}`` from ``--methods A,B,...``: a plain name selects the method in
    every phase that has it, ``global:X`` / ``local:X`` in one phase."""
    if not spec:
        return {p: list(m) for p, m in PHASES.items()}
    chosen = {p: [] for p in PHASES}
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        phase, _, name = item.rpartition(":")
        phases = [phase] if phase else list(PHASES)
        if phase and phase not in PHASES:
            raise ValueError(f"--methods: unknown phase {phase!r} in {item!r}; phases: {', '.join(PHASES)}")
        hit = False
        for p in phases:
            if name in PHASES[p]:
                hit = True
                if name not in chosen[p]:
                    chosen[p].append(name)
        if not hit:
            known = ", ".join(f"{p}: {' '.join(m)}" for p, m in PHASES.items())
            raise ValueError(f"--methods: unknown method {item!r} ({known})")
    if chosen["local"] and not chosen["global"]:
        raise ValueError("--methods: local methods start from a global model; select at least one global method")
    return {p: [m for m in PHASES[p] if m in chosen[p]] for p in PHASES}


def prepare(study_dir, data, profile, progress=None, workers=1) -> dict:
    return naming_data.prepare(study_dir, data, profile, progress=progress, workers=workers)


def trial_specs(profile, seeds, methods: dict) -> list:
    """Every trial of the study in a fixed order (phase, seed, method), with dependencies."""
    config = profile.to_dict()
    specs = []
    for seed in seeds:
        for m in methods["global"]:
            specs.append(TrialSpec(NAME, "global", m, seed, config))
    for seed in seeds:
        deps = tuple(f"global/{m}/seed{seed}" for m in methods["global"])
        for m in methods["local"]:
            # stream 1: the local methods continue a global model, so they must not replay its batches and masks
            specs.append(TrialSpec(NAME, "local", m, seed, config, deps, stream=1))
    return specs


def best_global(deps: dict) -> dict:
    """The global record with the best validation BLEU (ties: the first in the method order)."""
    recs = sorted(deps.values(), key=lambda r: GLOBAL.index(r["method"]))
    if not recs:
        raise ValueError("a local trial needs the records of its seed's global trials")
    return max(recs, key=lambda r: r["valid"][PRIMARY])


def build_model(cfg, vocabs, seed):
    """Tree2Seq of the configuration, initialised from ``seed`` alone (the same for every method)."""
    from models import Tree2Seq

    mg.manual_seed(int(seed))
    v = vocabs
    model = Tree2Seq(len(v["tokens"]), len(v["types"]), len(v["targets"]), cfg["embed_size"], cfg["hidden_size"],
                     dropout=cfg["dropout"], pad_idx=v["targets"].pad_id, bos_idx=v["targets"].bos_id,
                     eos_idx=v["targets"].eos_id)
    device = cfg.get("device", "cpu")
    if device != "cpu":
        # initialised on the CPU generator (the same weights as on the CPU), then moved; on a GPU the
        # dropout masks come from the GPU generator, so resuming there is exact only up to them
        model.to(device)
    return model


def calibrate(study_dir, profile, device="cpu", steps=2) -> float:
    """Seconds per training example of a plain optimizer step here (timed over ``steps`` batches)."""
    import optim

    cfg = dict(profile.to_dict(), device=device)
    limit_blas_threads(cfg)
    splits, vocabs = naming_data.load(study_dir, cfg["max_target_len"])
    train = splits["train"]
    model = build_model(cfg, vocabs, 0)
    opt = optim.Adam(model.parameters(), lr=cfg["global_lr"])
    b = min(int(cfg["batch_size"]), len(train))
    batches = [np.arange(i * b, (i + 1) * b) % len(train) for i in range(steps + 1)]
    width = train.targets.shape[1]
    elapsed = 0.0
    for k, idx in enumerate(batches):
        t0 = time.perf_counter()
        tb = batch_trees([train.trees[i] for i in idx])
        opt.zero_grad()
        model.loss(tb.token_ids, tb.node_type_ids, tb.parent, train.targets[idx][:, :width]).backward()
        opt.step()
        if k:                                   # the first step warms up
            elapsed += time.perf_counter() - t0
    return elapsed / (steps * b)


class NamingTrainer:
    """The trainer of one trial (see :class:`experiments.study.trial.Trainer`)."""

    def __init__(self, spec: TrialSpec, deps: dict, out):
        cfg = spec.config
        self.out = out
        self.study_dir = out.parents[3]
        self.cfg = cfg
        self.splits, self.vocabs = naming_data.load(self.study_dir, cfg["max_target_len"])
        self.train = self.splits["train"]
        self.num_train = len(self.train)
        self.batch = int(cfg["batch_size"])
        steps = -(-self.num_train // self.batch)
        self._limit_threads()
        self.model = build_model(cfg, self.vocabs, int(spec.seed))
        self.start = None
        if spec.phase == "local":
            start = best_global(deps)
            path = self.study_dir / "trials" / "global" / start["method"] / f"seed{spec.seed}" / "model.ckpt"
            self.model.load_state_dict(mg.load(path))
            self.start = {"method": start["method"], "valid": start["valid"], "metrics": start["metrics"]}
            self.epochs, lr, swa_start = int(cfg["local_epochs"]), float(cfg["local_lr"]), 0
        else:
            self.epochs, lr = int(cfg["global_epochs"]), float(cfg["global_lr"])
            swa_start = self.epochs // 2
        self.method = Method(spec.method, self.model, lr=lr, steps_per_epoch=steps, epochs=self.epochs,
                             gamma=float(cfg["gamma"]), swa_lr_min=float(cfg["swa_lr_min"]),
                             swa_lr_max=float(cfg["swa_lr_max"]), swa_start=swa_start)

    def _limit_threads(self):
        limit_blas_threads(self.cfg)

    # ------------------------------------------------------------------ batches
    def _batch(self, split, idx):
        tb = batch_trees([split.trees[i] for i in idx])
        return tb, split.targets[idx]

    def _loss(self, model, split, idx):
        tb, tgt = self._batch(split, idx)
        width = int((tgt != self.vocabs["targets"].pad_id).sum(axis=1).max())
        return model.loss(tb.token_ids, tb.node_type_ids, tb.parent, tgt[:, :width])

    def _batches(self, order):
        return [order[i:i + self.batch] for i in range(0, len(order), self.batch)]

    # ------------------------------------------------------------------ training
    def state_dict(self):
        return self.method.state_dict()

    def load_state_dict(self, state):
        self.method.load_state_dict(state)

    def train_epoch(self, epoch, order):
        t0 = time.perf_counter()
        model, n = self.model, self.num_train
        model.train()
        batches = self._batches(np.asarray(order))

        def full_loss(accumulate):
            for idx in batches:
                accumulate(self._loss(model, self.train, idx) * (len(idx) / n))

        self.method.begin_epoch(full_loss)
        lr = self.method.lr
        total = 0.0
        for idx in batches:
            total += self.method.step(lambda idx=idx: self._loss(model, self.train, idx)) * len(idx)
        self.method.end_epoch()
        train_seconds = time.perf_counter() - t0
        return {"train_loss": total / n, "valid_loss": self._eval_loss(self.splits["valid"]), "lr": lr,
                "train_seconds": train_seconds}

    def _eval_loss(self, split):
        model = self.method.eval_model
        model.eval()
        total = 0.0
        with mg.no_grad():
            for idx in self._batches(np.arange(len(split))):
                total += float(self._loss(model, split, idx).item()) * len(idx)
        return total / max(len(split), 1)

    # ------------------------------------------------------------------ evaluation
    def predict(self, split):
        model = self.method.eval_model
        model.eval()
        tv = self.vocabs["targets"]
        out = []
        size = int(self.cfg["eval_batch"])
        for a in range(0, len(split), size):
            tb = batch_trees(split.trees[a:a + size])
            ids = model.greedy_decode(tb.token_ids, tb.node_type_ids, tb.parent,
                                      max_len=int(self.cfg["max_target_len"]) + 1)
            out += [tv.decode(x) for x in ids]
        return out

    def finish(self):
        valid = self.splits["valid"]
        vpred = self.predict(valid)
        vper = per_example_scores(vpred, valid.references)
        test = self.splits["test"]
        tpred = self.predict(test)
        per = per_example_scores(tpred, test.references)
        metrics = corpus_scores(tpred, test.references, per)
        mg.save(self.method.eval_model.state_dict(), self.out / "model.ckpt")
        extra = {"valid": {"bleu": float(np.mean(vper["bleu"])), "f1": corpus_scores(vpred, valid.references,
                                                                                     vper)["f1"]},
                 "model_file": "model.ckpt",
                 "predictions_sample": [{"predicted": p, "reference": r}
                                        for p, r in zip(tpred[:10], test.references[:10])]}
        if self.start is not None:
            extra["start"] = self.start
        return metrics, {k: per[k] for k in ("bleu", "meteor", "rouge1", "rouge2", "rougeL", "f1")}, extra


def make_trainer(spec, deps, out):
    return NamingTrainer(spec, deps, out)


def _upside(t, a, b, metric="bleu"):
    """``a`` over ``b`` in percent, as text (n/a when ``b`` scores 0)."""
    base, x = np.mean(t.per_seed(b, metric)), np.mean(t.per_seed(a, metric))
    return f"{100 * (x - base) / base:+.2f}%" if base else "n/a (the baseline scores 0)"


def _wilcoxon(comps, phase, a, b, metric="bleu"):
    for c in comps:
        if c["phase"] == phase and c["metric"] == metric and c["test"] == "wilcoxon" and {c["a"], c["b"]} == {a, b}:
            return c
    return None


def claims(tables, comps) -> str:
    """Which of the original study's claims hold here (BLEU, Wilcoxon with Holm)."""
    from .results import ALPHA, START, best_method

    out = []
    g = tables.get("global")
    if g is not None and {"LaRAdam", "SGD"} <= set(g.methods()):
        best = best_method(g)
        c = _wilcoxon(comps, "global", "LaRAdam", "SGD")
        sig = c is not None and c["p_holm"] < ALPHA
        out.append(f"* *LaRAdam is the best global method (0.3647 vs SGD 0.2777, +31%)*: here the best mean BLEU "
                   f"is {best}'s; LaRAdam vs SGD: {_upside(g, 'LaRAdam', 'SGD')} BLEU "
                   f"(Wilcoxon p_holm {c['p_holm']:.3g}: {'significant' if sig else 'not significant'}). "
                   f"Claim {'holds' if best == 'LaRAdam' and sig else 'does not hold'} on this data.")
    loc = tables.get("local")
    if loc is not None and START in loc.methods():
        best = best_method(loc, exclude=(START,))
        parts = []
        for m in ("SWA", "BB"):
            if m in loc.methods():
                c = _wilcoxon(comps, "local", m, START)
                parts.append(f"{m} vs start {_upside(loc, m, START)} BLEU (Wilcoxon p_holm "
                             f"{c['p_holm']:.3g})")
        out.append(f"* *SWA and BB are the best local methods, about +1% over their start*: here the best local "
                   f"method by mean BLEU is {best}; " + "; ".join(parts) + ".")
    return "\n".join(out) if out else "(the methods the claims concern were not run)"
