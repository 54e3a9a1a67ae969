"""Collecting a study's trials: comparisons, ``results.json``, ``report.md`` and plots.

Comparisons, for every phase, every pair of its methods and every metric:

* ``"wilcoxon"``: the Wilcoxon signed-rank test over the test examples' scores of
  the two methods, paired by (seed, example): each seed's test set scored by both
  methods trained with that seed, all seeds together; effect size: the
  matched-pairs rank-biserial correlation;
* ``"mannwhitneyu"``: the Mann-Whitney U test of the two methods' per-seed scores
  (one number per seed); effect size: the rank-biserial correlation. With k seeds
  per method its smallest possible two-sided p is 2/C(2k, k) (0.1 for 3 seeds), so
  it cannot be significant with very few seeds; the report says so.

``p_holm`` is Holm's correction over all comparisons of one phase, one metric and
one test. Effects are signed: positive when ``a`` scores higher than ``b``.

The local phase has an extra row, ``start``: the global model each local trial
of a seed started from (its own test scores), the baseline of the local phase.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
from itertools import combinations

import numpy as np

from minigrad.atomic import write_text

from .. import stats
from ..context import markdown_table
from .trial import TrialSpec, read_examples

__all__ = ["collect", "comparisons", "write_results", "write_report", "ALPHA"]

ALPHA = 0.05
START = "start"
LABELS = {"bleu": "BLEU", "meteor": "METEOR", "rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L",
          "f1": "F1", "accuracy": "accuracy", "test_loss": "test loss"}


class Table:
    """The numbers of one phase: ``rows[method][seed] = (metrics, examples loader)``."""

    def __init__(self, phase):
        self.phase = phase
        self.rows = {}

    def add(self, method, seed, metrics, examples, record=None):
        self.rows.setdefault(method, {})[seed] = (metrics, examples, record)

    def methods(self):
        return list(self.rows)

    def per_seed(self, method, metric):
        seeds = sorted(self.rows[method])
        return [float(self.rows[method][s][0][metric]) for s in seeds]

    def examples(self, method, seed, metric):
        return self.rows[method][seed][1]()[metric]


def collect(study_dir, module, specs, records) -> dict:
    """``{phase: Table}`` from the finished records (only phases with trials)."""
    tables = {}
    cache = {}

    def loader(spec):
        def load():
            if spec.key not in cache:
                cache[spec.key] = read_examples(study_dir, spec)
            return cache[spec.key]
        return load

    for phase in module.PHASES:
        t = Table(phase)
        starts = {}
        for s in specs:
            if s.phase != phase or s.key not in records:
                continue
            rec = records[s.key]
            if phase == "local" and "start" in rec and s.seed not in starts:
                st = rec["start"]
                starts[s.seed] = st
                gspec = TrialSpec(s.study, "global", st["method"], s.seed)
                t.add(START, s.seed, st["metrics"], loader(gspec))
        for s in specs:
            if s.phase == phase and s.key in records:
                t.add(s.method, s.seed, records[s.key]["metrics"], loader(s), records[s.key])
        if t.rows:
            # the start row first: it is the phase's baseline
            if START in t.rows:
                t.rows = {START: t.rows.pop(START), **t.rows}
            tables[phase] = t
    return tables


def comparisons(tables, metrics) -> list:
    """Every pairwise comparison (see the module docstring), Holm-corrected."""
    out = []
    for phase, t in tables.items():
        for metric in metrics:
            groups = {"wilcoxon": [], "mannwhitneyu": []}
            for a, b in combinations(t.methods(), 2):
                seeds = sorted(set(t.rows[a]) & set(t.rows[b]))
                if seeds:
                    xa = np.concatenate([t.examples(a, s, metric) for s in seeds])
                    xb = np.concatenate([t.examples(b, s, metric) for s in seeds])
                    w = stats.wilcoxon_signed_rank(xa, xb)
                    groups["wilcoxon"].append({
                        "phase": phase, "a": a, "b": b, "metric": metric, "test": "wilcoxon", "p": w["pvalue"],
                        "statistic": w["statistic"], "effect_size": w["rank_biserial"],
                        "effect": "matched-pairs rank-biserial", "mean_difference": w["mean_difference"],
                        "n": int(xa.size), "seeds": seeds})
                pa, pb = t.per_seed(a, metric), t.per_seed(b, metric)
                mw = stats.mann_whitney(pa, pb)
                groups["mannwhitneyu"].append({
                    "phase": phase, "a": a, "b": b, "metric": metric, "test": "mannwhitneyu", "p": mw["pvalue"],
                    "statistic": mw["statistic"], "effect_size": mw["rank_biserial"], "effect": "rank-biserial",
                    "mean_difference": float(np.mean(pa) - np.mean(pb)), "n": [len(pa), len(pb)]})
            for rows in groups.values():
                if rows:
                    for r, adj in zip(rows, stats.holm([r["p"] for r in rows])):
                        r["p_holm"] = adj
                    out += rows
    return out


def _mean_sd(values):
    s = stats.summarize(values)
    return s["mean"], s["std"]


def _cell(values):
    m, sd = _mean_sd(values)
    return f"{m:.4f}" if math.isnan(sd) else f"{m:.4f} ± {sd:.4f}"


def phase_table(t, metrics, baseline) -> str:
    """Method | BLEU | ... | F1 (mean ± sd over seeds) and the "upside %" row."""
    headers = ["Method"] + [LABELS.get(m, m) for m in metrics] + ["seeds", "examples/s"]
    rows = []
    for method in t.methods():
        eps = [r[2].get("examples_per_s") for r in t.rows[method].values() if r[2] is not None]
        eps = [e for e in eps if e]
        rows.append([method] + [_cell(t.per_seed(method, m)) for m in metrics]
                    + [len(t.rows[method]), f"{np.mean(eps):.0f}" if eps else "–"])
    best = best_method(t, exclude=(baseline,))
    if best is not None and baseline in t.rows:
        ups = []
        for m in metrics:
            b, x = np.mean(t.per_seed(baseline, m)), np.mean(t.per_seed(best, m))
            ups.append(f"{100 * (x - b) / b:+.1f}%" if b else "n/a")
        rows.append([f"upside % ({best} over {baseline})"] + ups + ["", ""])
    return markdown_table(rows, headers)


def best_method(t, metric="bleu", exclude=()):
    names = [m for m in t.methods() if m not in exclude]
    if not names:
        return None
    return max(names, key=lambda m: np.mean(t.per_seed(m, metric)))


def _p(p):
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def significance_table(comps, phase, metrics=("bleu", "f1")) -> str:
    by = {(c["a"], c["b"], c["metric"], c["test"]): c for c in comps if c["phase"] == phase}
    pairs = list(dict.fromkeys((c["a"], c["b"]) for c in comps if c["phase"] == phase))
    headers = ["a", "b"]
    for m in metrics:
        headers += [f"{LABELS[m]} Δ", f"{LABELS[m]} Wilcoxon p_holm", f"{LABELS[m]} r", f"{LABELS[m]} MW p_holm"]
    rows = []
    for a, b in pairs:
        row = [a, b]
        for m in metrics:
            w, mw = by.get((a, b, m, "wilcoxon")), by.get((a, b, m, "mannwhitneyu"))
            mark = lambda c: _p(c["p_holm"]) + (" *" if c["p_holm"] < ALPHA else "")  # noqa: E731
            row += [f"{(w or mw)['mean_difference']:+.4f}", mark(w) if w else "–",
                    f"{w['effect_size']:+.2f}" if w else "–", mark(mw) if mw else "–"]
        rows.append(row)
    return markdown_table(rows, headers)


def ranking(t, comps, phase, metric="bleu") -> str:
    """The methods by mean ``metric``, each with what it beats significantly (Wilcoxon, Holm)."""
    order = sorted(t.methods(), key=lambda m: -np.mean(t.per_seed(m, metric)))
    sig = {}
    for c in comps:
        if c["phase"] == phase and c["metric"] == metric and c["test"] == "wilcoxon" and c["p_holm"] < ALPHA:
            hi, lo = (c["a"], c["b"]) if c["mean_difference"] > 0 else (c["b"], c["a"])
            sig.setdefault(hi, []).append((lo, c["p_holm"]))
    lines = []
    for i, m in enumerate(order, 1):
        beats = sig.get(m, [])
        text = (", ".join(f"{lo} (p_holm {_p(p)})" for lo, p in beats) if beats
                else "no method significantly")
        lines.append(f"{i}. **{m}** (mean {LABELS.get(metric, metric)} "
                     f"{np.mean(t.per_seed(m, metric)):.4f}): better than {text}")
    top = order[0]
    others = [m for m in order[1:]]
    beaten = {lo for lo, _ in sig.get(top, [])}
    if others and beaten == set(others):
        claim = f"**{top}** is the best method on {LABELS.get(metric, metric)}: better than every other, after Holm."
    elif others:
        tied = [m for m in others if m not in beaten]
        claim = (f"{top} has the highest mean {LABELS.get(metric, metric)}, but it is not significantly better "
                 f"than {', '.join(tied)} (Wilcoxon, Holm, alpha {ALPHA}): no single best method is claimed.")
    else:
        claim = f"{top} is the only method."
    return "\n".join(lines) + "\n\n" + claim + "\n"


def plot_curves(tables, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from ..context import DPI

    files = []
    for phase, t in tables.items():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for method in t.methods():
            recs = [r[2] for r in t.rows[method].values() if r[2] is not None]
            if not recs:
                continue
            for ax, key in zip(axes, ("train_loss", "valid_loss")):
                curves = [r["curves"].get(key, []) for r in recs]
                n = min(len(c) for c in curves)
                if n == 0:
                    continue
                a = np.array([c[:n] for c in curves], dtype=float)
                x = np.arange(1, n + 1)
                mean = a.mean(axis=0)
                line, = ax.plot(x, mean, marker="o", label=method)
                if len(a) > 1:
                    sd = a.std(axis=0, ddof=1)
                    ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.15)
        for ax, title in zip(axes, ("training loss", "validation loss")):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_title(f"{phase}: {title} (mean ± sd over seeds)")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        name = f"curves_{phase}.png"
        fig.savefig(pathlib.Path(out_dir) / name, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        files.append(name)
    return files


def plot_metrics(tables, metrics, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..context import DPI

    files = []
    for phase, t in tables.items():
        methods = t.methods()
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(metrics) * len(methods) / 3), 4))
        width = 0.8 / max(len(methods), 1)
        for j, method in enumerate(methods):
            means, errs = [], []
            for m in metrics:
                s = stats.summarize(t.per_seed(method, m))
                means.append(s["mean"])
                errs.append(0.0 if math.isnan(s["ci_high"]) else s["ci_high"] - s["mean"])
            x = np.arange(len(metrics)) + (j - (len(methods) - 1) / 2) * width
            ax.bar(x, means, width, yerr=errs, capsize=2, label=method)
        ax.set_xticks(np.arange(len(metrics)))
        ax.set_xticklabels([LABELS.get(m, m) for m in metrics])
        ax.set_title(f"{phase}: test metrics, mean and 95% CI over seeds")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(axis="y", alpha=0.3)
        name = f"metrics_{phase}.png"
        fig.savefig(pathlib.Path(out_dir) / name, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        files.append(name)
    return files


def write_results(study_dir, name, profile, specs, records, comps, corpus, extra=None) -> pathlib.Path:
    trials = [records[s.key] for s in specs if s.key in records]
    doc = {"study": name, "profile": profile.to_dict(), "trials": trials, "comparisons": comps,
           "corpus": corpus, "alpha": ALPHA, **(extra or {})}
    from ..runner import jsonable

    path = pathlib.Path(study_dir) / "results.json"
    write_text(path, json.dumps(jsonable(doc), indent=1) + "\n")
    return path


def write_report(study_dir, name, module, profile, tables, comps, corpus, notes=()) -> pathlib.Path:
    metrics = module.METRICS
    lines = [f"# Study: {name} (profile `{profile.name}`)", "", module.DESCRIPTION + ".", ""]
    if corpus:
        src = dict(corpus.get("source") or {})
        where = ", ".join(src.pop("python_roots", []) or ([src.pop("path")] if "path" in src else []))
        lines += ["## Data", "", f"Source: {src.pop('source', '?')}" + (f" ({where})" if where else "")
                  + f"; {src.pop('files_skipped', 0)} files skipped (unreadable or not parsing); "
                  f"{corpus.get('duplicates_removed', 0)} duplicate functions removed.", ""]
        rows = [[k, v["projects"], v["functions"], v["nodes"], f"{v['nodes_mean']:.1f}"]
                for k, v in corpus.get("splits", {}).items()]
        lines += [markdown_table(rows, ["split", "projects", "functions", "nodes", "nodes/function"])]
    for note in notes:
        lines += [note, ""]
    for phase, t in tables.items():
        base = module.BASELINES.get(phase)
        lines += [f"## Phase `{phase}`", "", "Test metrics of the final models, mean ± sd over seeds "
                  "(examples/s: training throughput).", "", phase_table(t, metrics, base)]
        if phase == "local":
            starts = sorted({(s, r[2]["start"]["method"]) for m in t.methods() if m != START
                             for s, r in t.rows[m].items() if r[2] is not None and "start" in r[2]})
            lines += ["Start (best global model by validation BLEU) per seed: "
                      + ", ".join(f"seed {s}: {m}" for s, m in starts) + ".", ""]
        lines += [f"### Significance ({phase})", "",
                  "Δ = mean(a) - mean(b); Wilcoxon over test examples paired by (seed, example), "
                  "Mann-Whitney (MW) over per-seed scores; p Holm-corrected within each metric and test; "
                  f"* = p_holm < {ALPHA}; r = matched-pairs rank-biserial effect. All metrics and raw p "
                  "values are in results.json.", "", significance_table(comps, phase),
                  f"### Ranking ({phase}, by BLEU; claims only what survives Holm)", "",
                  ranking(t, comps, phase)]
    plots = plot_curves(tables, study_dir) + plot_metrics(tables, metrics, study_dir)
    if hasattr(module, "claims"):
        lines += ["## The original study's claims", "", module.claims(tables, comps), ""]
    lines += ["## Plots", ""] + [f"![{os.path.splitext(p)[0]}]({p})\n" for p in plots]
    path = pathlib.Path(study_dir) / "report.md"
    write_text(path, "\n".join(lines).rstrip() + "\n")
    return path
