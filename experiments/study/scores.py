r"""Per-example scores of predicted method names, and their corpus values.

A method name has 2 to 4 sub-tokens, so corpus-level 4-gram BLEU is 0 for
almost every model (few names have any 4-gram in common with the reference).
The code-summarization literature (CodeNN, Iyer et al. 2016; CodeXGLUE) scores
each name with the **smoothed sentence-level BLEU-4 of Lin & Och (2004)**
("BLEU+1") and averages over examples; we do the same:

.. math::

    \mathrm{BLEU}(h, r) = \exp\Big(\tfrac14 \sum_{n=1}^{4}
        \log \frac{m_n + [n > 1]}{l_n + [n > 1]}
        + \min\big(0,\ 1 - \tfrac{|r| + 1}{|h| + 1}\big)\Big)

where :math:`m_n` is the number of the hypothesis' n-grams that occur in the
reference (clipped to the reference's count), :math:`l_n = \max(0, |h| - n + 1)`
the number of the hypothesis' n-grams: one is added to both counts for
n = 2, 3, 4, and to both lengths in the brevity penalty. Without a matching
unigram (also for an empty prediction) the score is 0. Scores are on the 0-1
scale of the original study's table.

The other per-example scores: METEOR (NLTK, the settings of
:func:`experiments.metrics.meteor`, WordNet only when its data is installed),
ROUGE-1/2/L F-measure (rouge-score, on sub-tokens, no stemming), sub-token
precision/recall/F1 of one example as code2seq counts them, and exact match.
Their means equal :func:`experiments.metrics.meteor` and
:func:`experiments.metrics.rouge`; the corpus F1 (``f1``) is code2seq's
micro-average (:func:`experiments.metrics.subtoken_prf`), while ``f1`` in the
per-example scores is each example's own F1 (what a paired test needs).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .. import metrics as _metrics

__all__ = ["smoothed_sentence_bleu", "per_example_scores", "corpus_scores", "BLEU_SMOOTHING"]

BLEU_SMOOTHING = "sentence BLEU-4, Lin & Och (2004) add-one smoothing for n>1 (BLEU+1, as CodeNN/CodeXGLUE)"


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def smoothed_sentence_bleu(hypothesis, reference, max_n: int = 4) -> float:
    """Smoothed sentence BLEU of one token list against one reference (see the module docstring)."""
    h, r = list(hypothesis), list(reference)
    if not h or not r:
        return 0.0
    log_sum = 0.0
    for n in range(1, max_n + 1):
        hyp, ref = _ngrams(h, n), _ngrams(r, n)
        matches = sum(min(c, ref[g]) for g, c in hyp.items())
        total = max(0, len(h) - n + 1)
        add = 1 if n > 1 else 0
        if matches + add == 0:
            return 0.0
        log_sum += math.log((matches + add) / (total + add))
    bp = min(0.0, 1.0 - (len(r) + 1) / (len(h) + 1))
    return math.exp(log_sum / max_n + bp)


def _clean(x, ignore):
    return [t for t in (x.split() if isinstance(x, str) else map(str, x)) if t not in ignore]


def per_example_scores(predictions, references, ignore=_metrics.DEFAULT_IGNORE) -> dict:
    """``{metric: float64 array}``: bleu, meteor, rouge1, rouge2, rougeL, f1, precision, recall, exact_match."""
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    wordnet = _metrics.wordnet_available()
    if wordnet:
        from nltk.corpus import wordnet as wn
    else:
        wn = _metrics._NoWordNet()
    stemmer = PorterStemmer()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False,
                                      tokenizer=_metrics._WhitespaceTokenizer())
    keys = ("bleu", "meteor", "rouge1", "rouge2", "rougeL", "precision", "recall", "f1", "exact_match")
    out = {k: np.zeros(len(predictions)) for k in keys}
    for i, (pred, ref) in enumerate(zip(predictions, references)):
        p, r = _clean(pred, ignore), _clean(ref, ignore)
        out["bleu"][i] = smoothed_sentence_bleu(p, r)
        if p and r:
            out["meteor"][i] = meteor_score([r], p, stemmer=stemmer, wordnet=wn, alpha=0.9, beta=3.0, gamma=0.5)
        rs = scorer.score(" ".join(r), " ".join(p))
        for k in ("rouge1", "rouge2", "rougeL"):
            out[k][i] = rs[k].fmeasure
        prf = _metrics.subtoken_prf([p], [r], ignore=())
        out["precision"][i], out["recall"][i], out["f1"][i] = prf["precision"], prf["recall"], prf["f1"]
        out["exact_match"][i] = float(p == r)
    return out


def corpus_scores(predictions, references, per_example=None, ignore=_metrics.DEFAULT_IGNORE) -> dict:
    """The metrics of a test set: means of the per-example scores, code2seq's micro P/R/F1.

    Keys: ``bleu``, ``meteor``, ``rouge1``, ``rouge2``, ``rougeL``, ``f1``,
    ``precision``, ``recall``, ``exact_match``, ``f1_macro`` (mean per-example F1)
    and ``n`` (examples).
    """
    per = per_example if per_example is not None else per_example_scores(predictions, references, ignore)
    prf = _metrics.subtoken_prf(predictions, references, ignore)
    out = {k: float(np.mean(per[k])) if len(per[k]) else 0.0
           for k in ("bleu", "meteor", "rouge1", "rouge2", "rougeL", "exact_match")}
    out.update(precision=prf["precision"], recall=prf["recall"], f1=prf["f1"],
               f1_macro=float(np.mean(per["f1"])) if len(per["f1"]) else 0.0, n=len(per["bleu"]))
    return out
