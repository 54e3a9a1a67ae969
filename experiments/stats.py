r"""Statistics for comparing optimizers across random seeds.

A study trains each optimizer with several seeds and records one number per run
(final loss, best validation F1, ...). This module summarises and compares such
samples with :mod:`scipy.stats`:

* :func:`summarize`: n, mean, sample standard deviation (``ddof=1``), standard
  error and the confidence interval of the mean from Student's t distribution,
  ``mean ± t_{(1+c)/2, n-1} · std / sqrt(n)`` (95% by default). One seed gives
  no spread: std and the interval are NaN.
* :func:`welch_ttest`: two-sided Welch's t-test (unequal variances),
  ``scipy.stats.ttest_ind(equal_var=False)``, with its degrees of freedom.
* :func:`mann_whitney`: two-sided Mann–Whitney U test
  (``scipy.stats.mannwhitneyu``; exact p-value for small samples without
  ties, as scipy chooses) and the rank-biserial correlation ``2U/(n_a n_b) - 1``
  (positive when ``a`` tends to be larger).
* :func:`paired_test`: when the runs are paired by seed (same seed, same data
  order and initialisation for both optimizers): the paired t-test
  (``ttest_rel``) or the Wilcoxon signed-rank test (``wilcoxon``).
* :func:`wilcoxon_signed_rank`: the Wilcoxon signed-rank test of paired
  samples (``scipy.stats.wilcoxon``, zero differences dropped as Wilcoxon
  did) with the matched-pairs rank-biserial correlation
  ``(R+ - R-) / (R+ + R-)`` over the non-zero differences (positive when ``a``
  tends to be larger); all pairs equal gives p = 1 and effect 0.
* :func:`cohens_d`: standardised mean difference with the pooled standard
  deviation.
* :func:`compare` and :func:`format_table`: every optimizer against a baseline,
  as rows and as a Markdown table.

No correction for multiple comparisons is applied; with many optimizers,
compare the p-values with a Holm or Bonferroni threshold (:func:`holm`).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "summarize",
    "welch_ttest",
    "mann_whitney",
    "paired_test",
    "wilcoxon_signed_rank",
    "cohens_d",
    "holm",
    "compare",
    "format_table",
]


def _sample(x, name="values"):
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf: {a.tolist()}")
    return a


def summarize(values, confidence=0.95):
    """``{"n", "mean", "std", "sem", "ci_low", "ci_high", "confidence"}`` of one sample."""
    from scipy import stats

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    a = _sample(values)
    n = a.size
    mean = float(a.mean())
    if n < 2:
        nan = float("nan")
        return {"n": n, "mean": mean, "std": nan, "sem": nan, "ci_low": nan, "ci_high": nan,
                "confidence": confidence}
    std = float(a.std(ddof=1))
    sem = std / math.sqrt(n)
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sem
    return {"n": n, "mean": mean, "std": std, "sem": sem, "ci_low": mean - half, "ci_high": mean + half,
            "confidence": confidence}


def welch_ttest(a, b):
    """Two-sided Welch's t-test: ``{"statistic", "pvalue", "df"}``."""
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size < 2 or b.size < 2:
        raise ValueError("Welch's t-test needs at least two values per sample")
    res = stats.ttest_ind(a, b, equal_var=False)
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue), "df": float(res.df)}


def mann_whitney(a, b):
    """Two-sided Mann–Whitney U test: ``{"statistic" (U of a), "pvalue", "rank_biserial"}``."""
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    u = float(res.statistic)
    return {"statistic": u, "pvalue": float(res.pvalue), "rank_biserial": 2 * u / (a.size * b.size) - 1}


def paired_test(a, b, method="t"):
    """Test of paired samples (run i of ``a`` and of ``b`` share seed i).

    ``method="t"``: paired t-test; ``"wilcoxon"``: Wilcoxon signed-rank test.
    Returns ``{"statistic", "pvalue", "method", "mean_difference"}``.
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.size} and {b.size}")
    if method == "t":
        if a.size < 2:
            raise ValueError("a paired t-test needs at least two pairs")
        res = stats.ttest_rel(a, b)
    elif method == "wilcoxon":
        res = stats.wilcoxon(a, b)
    else:
        raise ValueError(f"method must be 't' or 'wilcoxon', got {method!r}")
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue), "method": method,
            "mean_difference": float(np.mean(a - b))}


def wilcoxon_signed_rank(a, b):
    """Two-sided Wilcoxon signed-rank test of ``a`` against ``b`` (paired by position).

    Returns ``{"statistic", "pvalue", "rank_biserial", "n_nonzero", "mean_difference"}``;
    scipy chooses the exact distribution for small samples without ties, else
    the normal approximation.
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.size} and {b.size}")
    d = a - b
    nz = d[d != 0]
    mean_diff = float(d.mean())
    if nz.size == 0:
        return {"statistic": 0.0, "pvalue": 1.0, "rank_biserial": 0.0, "n_nonzero": 0,
                "mean_difference": mean_diff}
    ranks = stats.rankdata(np.abs(nz))
    r_plus, r_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    res = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue),
            "rank_biserial": (r_plus - r_minus) / (r_plus + r_minus), "n_nonzero": int(nz.size),
            "mean_difference": mean_diff}


def cohens_d(a, b):
    """``(mean(a) - mean(b)) / pooled std`` (NaN when the pooled std is 0 or undefined)."""
    a, b = _sample(a, "a"), _sample(b, "b")
    na, nb = a.size, b.size
    if na + nb <= 2:
        return float("nan")
    pooled = ((na - 1) * a.var(ddof=1 if na > 1 else 0) + (nb - 1) * b.var(ddof=1 if nb > 1 else 0)) / (na + nb - 2)
    if pooled <= 0:
        return float("nan")
    return float((a.mean() - b.mean()) / math.sqrt(pooled))


def holm(pvalues):
    """Holm–Bonferroni adjusted p-values, in the input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def compare(results, baseline=None, confidence=0.95, paired=False, paired_method="t"):
    """Rows comparing each entry of ``results`` (``{name: [value per seed]}``) with ``baseline``.

    ``baseline`` defaults to the first name. Each row has the
    :func:`summarize` fields plus, for non-baseline rows, ``welch_p``,
    ``mannwhitney_p``, ``cohens_d`` and (``paired=True``, equal lengths)
    ``paired_p``; tests that cannot run (too few seeds) give None.
    """
    names = list(results)
    if not names:
        raise ValueError("results is empty")
    baseline = names[0] if baseline is None else baseline
    if baseline not in results:
        raise KeyError(f"baseline {baseline!r} not in results ({names})")
    base = results[baseline]
    rows = []
    for name in names:
        row = {"name": name, "baseline": name == baseline, **summarize(results[name], confidence)}
        if name != baseline:
            vals = results[name]
            row["welch_p"] = _try(lambda vals=vals: welch_ttest(vals, base)["pvalue"])
            row["mannwhitney_p"] = _try(lambda vals=vals: mann_whitney(vals, base)["pvalue"])
            row["cohens_d"] = cohens_d(vals, base)
            if paired:
                row["paired_p"] = _try(lambda vals=vals: paired_test(vals, base, paired_method)["pvalue"])
        rows.append(row)
    return rows


def _try(fn):
    try:
        return fn()
    except ValueError:
        return None


def _fmt(x, digits):
    if x is None:
        return "–"
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    return f"{x:.{digits}f}"


def _fmt_p(p):
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_table(results, baseline=None, metric="value", digits=4, confidence=0.95, paired=False,
                 paired_method="t"):
    """Markdown table: one row per optimizer, mean ± std, CI and the tests against the baseline.

    ``results`` is ``{name: [value per seed]}`` or the rows from :func:`compare`.
    """
    rows = results if isinstance(results, list) else compare(results, baseline, confidence, paired, paired_method)
    pct = f"{round(100 * confidence)}% CI"
    head = ["optimizer", "n", f"{metric} (mean ± std)", pct, "Welch p", "Mann–Whitney p", "Cohen's d"]
    with_paired = any("paired_p" in r for r in rows)
    if with_paired:
        head.append("paired p")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in rows:
        name = f"{r['name']} (baseline)" if r["baseline"] else r["name"]
        cells = [
            name,
            str(r["n"]),
            f"{_fmt(r['mean'], digits)} ± {_fmt(r['std'], digits)}",
            f"[{_fmt(r['ci_low'], digits)}, {_fmt(r['ci_high'], digits)}]",
            _fmt_p(r.get("welch_p")),
            _fmt_p(r.get("mannwhitney_p")),
            _fmt(r.get("cohens_d"), 2),
        ]
        if with_paired:
            cells.append(_fmt_p(r.get("paired_p")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
