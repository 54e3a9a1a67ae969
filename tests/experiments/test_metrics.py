"""Metrics equal values computed by hand on small cases."""
import math

import pytest

from experiments import metrics as M


def test_subtoken_prf_code2seq_definition():
    preds = [
        ["get", "value"],                     # tp 1 (get), fp 1 (value), fn 1 (name)
        ["set", "x"],                         # exact: tp 2
        ["to", "<unk>", "string", "string"],  # <unk> ignored; membership: tp 3, fn 1 (builder)
        ["<unk>"],                            # nothing predicted: fn 2
    ]
    refs = [["get", "name"], ["set", "x"], ["to", "string", "builder"], ["run", "tests"]]
    r = M.subtoken_prf(preds, refs)
    assert (r["tp"], r["fp"], r["fn"]) == (6, 1, 4)
    assert r["precision"] == pytest.approx(6 / 7)
    assert r["recall"] == pytest.approx(6 / 10)
    assert r["f1"] == pytest.approx(12 / 17)          # 2TP / (2TP + FP + FN)
    # code2seq compares the joined subtokens first
    assert M.subtoken_prf([["getvalue"]], [["get", "value"]])["tp"] == 2
    # strings are split on whitespace; no predictions at all gives 0, not an error
    assert M.subtoken_prf(["a b"], ["a b"])["f1"] == 1.0
    assert M.subtoken_prf([[]], [["a"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 1}
    with pytest.raises(ValueError):
        M.subtoken_prf([["a"]], [])


def test_exact_match():
    preds = [["get", "value"], ["set", "x", "</s>"], ["to"], ["a", "b"]]
    refs = [["get", "name"], ["set", "x"], ["to", "string"], ["b", "a"]]
    assert M.exact_match(preds, refs) == 0.25


def test_bleu_hand_computed_and_signature():
    r = M.bleu([["a", "b", "c", "d", "e"]], [["a", "b", "c", "d", "f"]])
    # n-gram precisions 4/5, 3/4, 2/3, 1/2; equal lengths so BP = 1
    assert r["score"] == pytest.approx(100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)
    assert r["precisions"] == pytest.approx([80.0, 75.0, 200 / 3, 50.0])
    assert "tok:none" in r["signature"] and "version:" in r["signature"] and "smooth:exp" in r["signature"]
    short = M.bleu([["a", "b", "c", "d"]], [["a", "b", "c", "d", "e"]])
    assert short["bp"] == pytest.approx(math.exp(1 - 5 / 4))
    assert short["score"] == pytest.approx(100 * math.exp(-0.25))
    s = M.bleu(["The cat sat."], ["The cat sat."])
    assert s["score"] == pytest.approx(100.0) and "tok:13a" in s["signature"]


def test_rouge_hand_computed():
    r = M.rouge([["a", "c", "d", "e"]], [["a", "b", "c", "d"]])
    assert r["rouge1"]["precision"] == pytest.approx(0.75) and r["rouge1"]["recall"] == pytest.approx(0.75)
    assert r["rouge2"]["f1"] == pytest.approx(1 / 3)          # bigram cd only
    assert r["rougeL"]["f1"] == pytest.approx(0.75)           # LCS a c d
    r = M.rouge([["a", "c", "b", "d"]], [["a", "b", "c", "d", "e"]])
    assert r["rouge1"]["precision"] == pytest.approx(1.0) and r["rouge1"]["recall"] == pytest.approx(0.8)
    assert r["rouge2"]["f1"] == 0.0
    p, rec = 3 / 4, 3 / 5
    assert r["rougeL"]["f1"] == pytest.approx(2 * p * rec / (p + rec))
    # tokens such as <var> are kept (rouge-score's own tokenizer would drop them)
    assert M.rouge([["<var>", "x"]], [["<var>", "y"]])["rouge1"]["f1"] == pytest.approx(0.5)
    # mean over sentences
    two = M.rouge([["a"], ["b"]], [["a"], ["c"]])
    assert two["rouge1"]["f1"] == pytest.approx(0.5)


def _meteor_by_hand(m, hyp_len, ref_len, chunks, alpha=0.9, beta=3.0, gamma=0.5):
    p, r = m / hyp_len, m / ref_len
    fmean = p * r / (alpha * p + (1 - alpha) * r)
    return fmean * (1 - gamma * (chunks / m) ** beta)


def test_meteor_exact_and_stem_matching_without_wordnet():
    r = M.meteor([["a", "b", "c", "d"]], [["a", "b", "c", "d"]], use_wordnet=False)
    assert r["score"] == pytest.approx(_meteor_by_hand(4, 4, 4, 1))   # 1 - 0.5 * (1/4)^3
    assert r["score"] == pytest.approx(0.9921875)
    assert r["wordnet"] is False and "wordnet:no" in r["signature"] and "stem:porter" in r["signature"]
    part = M.meteor([["a", "b", "x"]], [["a", "b", "c", "d"]], use_wordnet=False)
    assert part["score"] == pytest.approx(_meteor_by_hand(2, 3, 4, 1))
    stem = M.meteor([["running", "dogs"]], [["run", "dog"]], use_wordnet=False)   # Porter stems match
    assert stem["score"] == pytest.approx(_meteor_by_hand(2, 2, 2, 1))
    split = M.meteor([["b", "a"]], [["a", "b"]], use_wordnet=False)               # two chunks
    assert split["score"] == pytest.approx(_meteor_by_hand(2, 2, 2, 2))
    assert M.meteor([[]], [["a"]], use_wordnet=False)["score"] == 0.0


def test_meteor_detects_missing_wordnet(monkeypatch):
    monkeypatch.setitem(M._WORDNET, "ok", False)
    r = M.meteor([["a"]], [["a"]])
    assert r["wordnet"] is False and r["signature"].endswith("wordnet:no")
    with pytest.raises(LookupError):
        M.meteor([["a"]], [["a"]], use_wordnet=True)
    assert isinstance(M.wordnet_available(), bool)


def test_bundles():
    m = M.method_naming_metrics([["get", "value"], ["set", "x"]], [["get", "name"], ["set", "x"]])
    assert m["exact_match"] == 0.5 and m["precision"] == pytest.approx(0.75)
    assert set(m) == {"precision", "recall", "f1", "exact_match", "bleu", "rouge", "meteor"}
    t = M.translation_metrics(["the cat sat on the mat", "a dog ran"], ["the cat sat on the mat", "the dog ran"])
    assert t["exact_match"] == 0.5 and 0 < t["bleu"]["score"] <= 100
