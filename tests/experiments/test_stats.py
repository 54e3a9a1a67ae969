"""Seed statistics equal hand-computed values."""
import math

import pytest

from experiments import stats as S


def test_summarize_mean_std_ci():
    s = S.summarize([1.0, 2.0, 3.0, 4.0])
    std = math.sqrt(((1.5 ** 2) * 2 + (0.5 ** 2) * 2) / 3)
    half = 3.182446305284263 * std / 2            # t_{0.975, 3} * std / sqrt(4)
    assert s["n"] == 4 and s["mean"] == 2.5
    assert s["std"] == pytest.approx(std) and s["sem"] == pytest.approx(std / 2)
    assert s["ci_low"] == pytest.approx(2.5 - half) and s["ci_high"] == pytest.approx(2.5 + half)
    one = S.summarize([3.0])
    assert one["mean"] == 3.0 and math.isnan(one["std"]) and math.isnan(one["ci_low"])
    with pytest.raises(ValueError):
        S.summarize([])
    with pytest.raises(ValueError):
        S.summarize([1.0, float("nan")])


def test_welch_ttest_by_hand():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    ma, mb = 2.5, 4.0
    va, vb = 5 / 3, 4.0
    se2 = va / 4 + vb / 3
    t = (ma - mb) / math.sqrt(se2)
    df = se2 ** 2 / ((va / 4) ** 2 / 3 + (vb / 3) ** 2 / 2)
    r = S.welch_ttest(a, b)
    assert r["statistic"] == pytest.approx(t) and r["df"] == pytest.approx(df)
    from scipy import stats

    assert r["pvalue"] == pytest.approx(2 * stats.t.sf(abs(t), df))
    with pytest.raises(ValueError):
        S.welch_ttest([1.0], [2.0, 3.0])


def test_mann_whitney_exact_small():
    r = S.mann_whitney([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    # U = 0: complete separation; exact two-sided p = 2 / C(6, 3) = 0.1
    assert r["statistic"] == 0.0 and r["pvalue"] == pytest.approx(0.1)
    assert r["rank_biserial"] == -1.0
    assert S.mann_whitney([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])["statistic"] == 9.0


def test_paired_tests_by_hand():
    a = [1.0, 2.0, 3.0, 4.0]
    b = [0.5, 1.8, 2.1, 3.9]
    d = [0.5, 0.2, 0.9, 0.1]
    md = sum(d) / 4
    sd = math.sqrt(sum((x - md) ** 2 for x in d) / 3)
    r = S.paired_test(a, b)
    assert r["statistic"] == pytest.approx(md / (sd / 2)) and r["mean_difference"] == pytest.approx(md)
    w = S.paired_test(a, b, method="wilcoxon")
    # all four differences positive: W = 0 (smaller rank sum), exact two-sided p = 2 / 2^4
    assert w["statistic"] == 0.0 and w["pvalue"] == pytest.approx(0.125)
    with pytest.raises(ValueError):
        S.paired_test(a, b[:3])
    with pytest.raises(ValueError):
        S.paired_test(a, b, method="sign")


def test_cohens_d_and_holm():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    pooled = (3 * (5 / 3) + 2 * 4.0) / 5
    assert S.cohens_d(a, b) == pytest.approx((2.5 - 4.0) / math.sqrt(pooled))
    assert S.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_compare_and_markdown_table():
    results = {"sgd": [0.50, 0.52, 0.49, 0.51], "adam": [0.40, 0.41, 0.39, 0.42], "one": [0.3]}
    rows = S.compare(results, paired=True)
    assert [r["name"] for r in rows] == ["sgd", "adam", "one"] and rows[0]["baseline"]
    assert "welch_p" not in rows[0]
    assert rows[1]["welch_p"] == pytest.approx(S.welch_ttest(results["adam"], results["sgd"])["pvalue"])
    assert rows[1]["paired_p"] == pytest.approx(S.paired_test(results["adam"], results["sgd"])["pvalue"])
    assert rows[2]["welch_p"] is None and rows[2]["paired_p"] is None   # one seed: no test
    table = S.format_table(results, metric="loss", paired=True)
    lines = table.strip().splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("| optimizer | n | loss (mean ± std) | 95% CI | Welch p | Mann–Whitney p")
    assert lines[2].startswith("| sgd (baseline) | 4 | 0.5050 ± 0.0129 |")
    assert "| one | 1 | 0.3000 ± n/a | [n/a, n/a] | – |" in lines[4]
    assert S.format_table(rows) .count("\n") == 5
    with pytest.raises(KeyError):
        S.compare(results, baseline="lion")
