"""The statistics and scores of the study machinery, checked against scipy, NLTK and hand counts."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from experiments import stats
from experiments.metrics import meteor, rouge
from experiments.study.results import Table, comparisons
from experiments.study.scores import corpus_scores, per_example_scores, smoothed_sentence_bleu


def test_wilcoxon_matches_scipy_and_exact_enumeration():
    a = np.array([3.0, 1.0, 7.0, 9.0, 0.0, 12.0])
    b = np.array([2.0, 3.0, 4.0, 5.0, 5.0, 6.0])        # differences 1, -2, 3, 4, -5, 6
    res = stats.wilcoxon_signed_rank(a, b)
    ref = sps.wilcoxon(a, b)
    assert res["pvalue"] == pytest.approx(float(ref.pvalue), rel=1e-12)
    assert res["statistic"] == float(ref.statistic) == 7.0          # R- = 2 + 5
    assert res["rank_biserial"] == pytest.approx((14 - 7) / 21)
    # exact two-sided p: the share of the 2^6 sign patterns with min(R+, R-) <= 7
    ranks = np.arange(1, 7)
    hits = sum(min(r := ranks[np.array(s, bool)].sum(), 21 - r) <= 7 for s in itertools.product((0, 1), repeat=6))
    assert res["pvalue"] == pytest.approx(hits / 64, rel=1e-12)


def test_wilcoxon_drops_zero_differences_and_handles_all_equal():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    b = a + rng.normal(0.3, 1.0, size=40)
    b[:5] = a[:5]                                          # five ties
    res = stats.wilcoxon_signed_rank(a, b)
    assert res["pvalue"] == pytest.approx(float(sps.wilcoxon(a, b, zero_method="wilcox").pvalue), rel=1e-12)
    assert res["n_nonzero"] == 35
    same = stats.wilcoxon_signed_rank(a, a)
    assert same["pvalue"] == 1.0 and same["rank_biserial"] == 0.0
    with pytest.raises(ValueError, match="equal lengths"):
        stats.wilcoxon_signed_rank(a, b[:-1])


def test_holm_known_values():
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def _table():
    rng = np.random.default_rng(1)
    t = Table("global")
    data = {}
    for m, shift in (("SGD", 0.0), ("Adam", 0.3), ("RAdam", 0.32)):
        for seed in range(3):
            x = np.clip(rng.uniform(0, 0.8, size=50) + shift, 0, 1)
            data[m, seed] = {"bleu": x, "f1": x ** 2}
            t.add(m, seed, {"bleu": float(x.mean()), "f1": float((x ** 2).mean())},
                  lambda m=m, seed=seed: data[m, seed])
    return t, data


def test_comparisons_match_scipy_with_holm_per_metric_and_test():
    t, data = _table()
    comps = comparisons({"global": t}, ("bleu", "f1"))
    assert len(comps) == 3 * 2 * 2
    for metric in ("bleu", "f1"):
        w = [c for c in comps if c["metric"] == metric and c["test"] == "wilcoxon"]
        assert [(c["a"], c["b"]) for c in w] == [("SGD", "Adam"), ("SGD", "RAdam"), ("Adam", "RAdam")]
        for c in w:
            xa = np.concatenate([data[c["a"], s][metric] for s in range(3)])
            xb = np.concatenate([data[c["b"], s][metric] for s in range(3)])
            assert c["p"] == pytest.approx(float(sps.wilcoxon(xa, xb).pvalue), rel=1e-12)
            assert c["n"] == 150 and c["mean_difference"] == pytest.approx(float(np.mean(xa - xb)))
        assert [c["p_holm"] for c in w] == pytest.approx(stats.holm([c["p"] for c in w]))
        mw = [c for c in comps if c["metric"] == metric and c["test"] == "mannwhitneyu"]
        for c in mw:
            pa = [float(data[c["a"], s][metric].mean()) for s in range(3)]
            pb = [float(data[c["b"], s][metric].mean()) for s in range(3)]
            ref = sps.mannwhitneyu(pa, pb, alternative="two-sided")
            assert c["p"] == pytest.approx(float(ref.pvalue)) and c["n"] == [3, 3]
            assert c["effect_size"] == pytest.approx(2 * float(ref.statistic) / 9 - 1)
    sgd_adam = next(c for c in comps if c["test"] == "wilcoxon" and c["metric"] == "bleu" and c["b"] == "Adam")
    assert sgd_adam["p_holm"] < 0.05 and sgd_adam["effect_size"] < 0     # Adam is better, by construction


def test_smoothed_sentence_bleu_by_hand_and_against_nltk():
    # 1-grams 2/3; 2-grams (1+1)/(2+1); 3-grams (0+1)/(1+1); 4-grams (0+1)/(0+1); no brevity penalty
    assert smoothed_sentence_bleu("get user name".split(), "get user id".split()) == pytest.approx((2 / 9) ** 0.25)
    assert smoothed_sentence_bleu(["get", "name"], ["get", "name"]) == 1.0
    assert smoothed_sentence_bleu(["set"], ["get", "name"]) == 0.0
    assert smoothed_sentence_bleu([], ["get", "name"]) == 0.0
    # shorter hypothesis: brevity penalty exp(1 - (r+1)/(c+1)) = exp(1 - 4/3)
    assert smoothed_sentence_bleu(["get", "name"], ["get", "user", "name"]) == pytest.approx(
        math.exp((math.log(1.0) + math.log(1 / 2) + 0 + 0) / 4 + 1 - 4 / 3))
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    # where the two agree (hypothesis of 4+ tokens, as long as the reference): NLTK's method 2
    h, r = "a b c d e f".split(), "a b x d e g".split()
    assert smoothed_sentence_bleu(h, r) == pytest.approx(
        sentence_bleu([r], h, smoothing_function=SmoothingFunction().method2), rel=1e-12)


def test_per_example_means_are_the_corpus_metrics():
    preds = [["get", "name"], ["set", "value"], ["read", "file", "lines"], [], ["close"]]
    refs = [["get", "name"], ["get", "value"], ["read", "lines"], ["open", "file"], ["close", "all"]]
    per = per_example_scores(preds, refs)
    r = rouge(preds, refs)
    for k in ("rouge1", "rouge2", "rougeL"):
        assert per[k].mean() == pytest.approx(r[k]["f1"], rel=1e-12)
    assert per["meteor"].mean() == pytest.approx(meteor(preds, refs)["score"], rel=1e-12)
    assert per["exact_match"].tolist() == [1, 0, 0, 0, 0]
    assert per["f1"][1] == pytest.approx(0.5)      # one of two predicted, one of two reference sub-tokens
    c = corpus_scores(preds, refs, per)
    assert c["bleu"] == pytest.approx(np.mean([smoothed_sentence_bleu(p, q) for p, q in zip(preds, refs)]))
    assert c["n"] == 5 and 0 < c["f1"] < 1
