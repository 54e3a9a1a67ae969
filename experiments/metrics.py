r"""Evaluation metrics for method naming and translation.

Inputs: each prediction and each reference is a list of tokens (subtokens for
method names) or a string, which is split on whitespace. One reference per
prediction.

Method naming (code2seq's definitions)
--------------------------------------
:func:`subtoken_prf` follows ``update_per_subtoken_statistics`` of code2seq
(Alon et al. 2019), micro-averaged over the corpus:

* the special tokens (``<pad> <unk> <s> </s>`` by default) are removed from
  both sides first (an ``<unk>`` prediction counts as no prediction);
* if the prediction equals the reference (the subtokens joined without a
  separator compare equal), all reference subtokens are true positives;
* otherwise each predicted subtoken is a true positive when it occurs in the
  reference, a false positive when it does not (membership, not counts: a
  subtoken predicted twice that occurs once counts twice), and each reference
  subtoken absent from the prediction is a false negative;
* precision = TP/(TP+FP), recall = TP/(TP+FN), F1 their harmonic mean (0 when
  a denominator is 0).

:func:`exact_match` is the fraction of predictions equal to their reference
(subtoken lists after the same filtering).

Translation (and names as sequences)
------------------------------------
* :func:`bleu`: corpus BLEU through sacrebleu; the result carries sacrebleu's
  signature (tokenizer, smoothing, version), to be reported with the score.
  Token lists are joined with spaces and scored with ``tokenize="none"``
  (already tokenised); strings use sacrebleu's default ``13a``.
* :func:`rouge`: ROUGE-1, ROUGE-2 and ROUGE-L through Google's
  ``rouge-score`` on the given tokens (a whitespace tokenizer replaces its
  default one, which would drop non-alphanumeric tokens such as ``<var>``); no
  stemming; precision, recall and F1 averaged over sentences.
* :func:`meteor`: METEOR through NLTK (``alpha=0.9, beta=3, gamma=0.5``,
  lower-cased), averaged over sentences. NLTK matches exact words, then Porter
  stems, then WordNet synonyms; WordNet needs NLTK's data package, which is
  never downloaded here: when it is absent (or ``use_wordnet=False``) only
  exact and stem matching are used, and the signature says ``wordnet=no``, so
  scores computed with and without it are never mixed up.
"""
from __future__ import annotations

__all__ = [
    "subtoken_prf",
    "exact_match",
    "bleu",
    "rouge",
    "meteor",
    "wordnet_available",
    "method_naming_metrics",
    "translation_metrics",
    "DEFAULT_IGNORE",
]

DEFAULT_IGNORE = frozenset({"<pad>", "<unk>", "<s>", "</s>"})


def _tokens(x):
    if isinstance(x, str):
        return x.split()
    return [str(t) for t in x]


def _check(predictions, references):
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    return predictions, references


def _safe_div(a, b):
    return a / b if b else 0.0


def subtoken_prf(predictions, references, ignore=DEFAULT_IGNORE):
    """Micro-averaged subtoken precision, recall, F1 (code2seq); also the raw counts."""
    predictions, references = _check(predictions, references)
    tp = fp = fn = 0
    for pred, ref in zip(predictions, references):
        p = [t for t in _tokens(pred) if t not in ignore]
        r = [t for t in _tokens(ref) if t not in ignore]
        if "".join(p) == "".join(r):
            tp += len(r)
            continue
        for t in p:
            if t in r:
                tp += 1
            else:
                fp += 1
        for t in r:
            if t not in p:
                fn += 1
    precision, recall = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def exact_match(predictions, references, ignore=DEFAULT_IGNORE):
    """Fraction of predictions whose filtered token list equals the reference's."""
    predictions, references = _check(predictions, references)
    if not predictions:
        return 0.0
    hits = sum(
        [t for t in _tokens(p) if t not in ignore] == [t for t in _tokens(r) if t not in ignore]
        for p, r in zip(predictions, references)
    )
    return hits / len(predictions)


def bleu(hypotheses, references, tokenize=None, lowercase=False):
    """Corpus BLEU (sacrebleu): ``{"score", "signature", "precisions", "bp", "sys_len", "ref_len"}``.

    ``tokenize``: sacrebleu tokenizer name; default ``"none"`` for token lists,
    ``"13a"`` for strings. The score is on sacrebleu's 0–100 scale.
    """
    from sacrebleu.metrics import BLEU

    hypotheses, references = _check(hypotheses, references)
    pretok = any(not isinstance(x, str) for x in hypotheses + references)
    if tokenize is None:
        tokenize = "none" if pretok else "13a"
    hyps = [" ".join(_tokens(h)) if not isinstance(h, str) else h for h in hypotheses]
    refs = [" ".join(_tokens(r)) if not isinstance(r, str) else r for r in references]
    metric = BLEU(tokenize=tokenize, lowercase=lowercase)
    res = metric.corpus_score(hyps, [refs])
    return {
        "score": float(res.score),
        "signature": str(metric.get_signature()),
        "precisions": [float(p) for p in res.precisions],
        "bp": float(res.bp),
        "sys_len": int(res.sys_len),
        "ref_len": int(res.ref_len),
    }


class _WhitespaceTokenizer:
    """rouge-score tokenizer that keeps the given tokens as they are."""

    def tokenize(self, text):
        return text.split()


def rouge(predictions, references, types=("rouge1", "rouge2", "rougeL")):
    """Mean ROUGE precision/recall/F1 per type (rouge-score, no stemming, tokens as given)."""
    from rouge_score import rouge_scorer

    predictions, references = _check(predictions, references)
    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=False, tokenizer=_WhitespaceTokenizer())
    sums = {t: [0.0, 0.0, 0.0] for t in types}
    for pred, ref in zip(predictions, references):
        scores = scorer.score(" ".join(_tokens(ref)), " ".join(_tokens(pred)))  # (target, prediction)
        for t in types:
            s = scores[t]
            sums[t][0] += s.precision
            sums[t][1] += s.recall
            sums[t][2] += s.fmeasure
    n = max(len(predictions), 1)
    return {t: {"precision": v[0] / n, "recall": v[1] / n, "f1": v[2] / n} for t, v in sums.items()}


_WORDNET = {}


def wordnet_available():
    """Whether NLTK's WordNet data can be loaded (never downloads)."""
    if "ok" not in _WORDNET:
        try:
            from nltk.corpus import wordnet

            wordnet.synsets("test")
            _WORDNET["ok"] = True
        except (LookupError, OSError, ImportError):
            _WORDNET["ok"] = False
    return _WORDNET["ok"]


class _NoWordNet:
    """Stands in for NLTK's WordNet reader: no synonyms, so no synonym matches."""

    def synsets(self, word, *args, **kwargs):
        return []


def meteor(predictions, references, use_wordnet=None, alpha=0.9, beta=3.0, gamma=0.5):
    """Mean sentence METEOR (NLTK): ``{"score", "signature", "wordnet"}``, score in [0, 1].

    ``use_wordnet``: None = when its data is installed; True requires it
    (``LookupError`` otherwise); False = exact and stem matching only.
    """
    import nltk
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score

    predictions, references = _check(predictions, references)
    have = wordnet_available()
    if use_wordnet and not have:
        raise LookupError("METEOR with WordNet needs NLTK's 'wordnet' data, which is not installed")
    use = have if use_wordnet is None else bool(use_wordnet)
    if use:
        from nltk.corpus import wordnet as wn
    else:
        wn = _NoWordNet()
    stemmer = PorterStemmer()
    total = 0.0
    for pred, ref in zip(predictions, references):
        p, r = _tokens(pred), _tokens(ref)
        if not p or not r:
            continue
        total += meteor_score([r], p, stemmer=stemmer, wordnet=wn, alpha=alpha, beta=beta, gamma=gamma)
    score = total / len(predictions) if predictions else 0.0
    sig = (f"meteor|nltk:{nltk.__version__}|alpha:{alpha:g}|beta:{beta:g}|gamma:{gamma:g}|lc:yes"
           f"|stem:porter|wordnet:{'yes' if use else 'no'}")
    return {"score": float(score), "signature": sig, "wordnet": use}


def method_naming_metrics(predictions, references, ignore=DEFAULT_IGNORE):
    """Subtoken P/R/F1, exact match, BLEU, ROUGE and METEOR of predicted names (subtoken lists)."""
    predictions, references = _check(predictions, references)
    prf = subtoken_prf(predictions, references, ignore)
    clean = lambda xs: [[t for t in _tokens(x) if t not in ignore] for x in xs]  # noqa: E731
    p, r = clean(predictions), clean(references)
    return {
        "precision": prf["precision"],
        "recall": prf["recall"],
        "f1": prf["f1"],
        "exact_match": exact_match(predictions, references, ignore),
        "bleu": bleu(p, r),
        "rouge": rouge(p, r),
        "meteor": meteor(p, r),
    }


def translation_metrics(hypotheses, references):
    """BLEU, ROUGE and METEOR of translations (token lists or strings)."""
    hypotheses, references = _check(hypotheses, references)
    return {
        "bleu": bleu(hypotheses, references),
        "rouge": rouge(hypotheses, references),
        "meteor": meteor(hypotheses, references),
        "exact_match": exact_match(hypotheses, references, ignore=()),
    }
