"""The translation study's data: French→English sentence pairs, split, encoded, prepared once per study.

Sources (``--data``):

* ``gettext`` (default): the French message catalogs of this machine
  (``/usr/share/locale/fr/LC_MESSAGES/*.mo``, cleaned by
  :func:`experiments.datasets.parallel_text.load_gettext_pairs`); the catalogs
  (text domains) are split 80/10/10 by pairs, each catalog in one split, so the
  test sentences come from programs the model never saw;
* ``tatoeba:PATH``: a Tatoeba tab-separated file
  (:func:`experiments.datasets.parallel_text.load_tatoeba_tsv`), split 80/10/10
  at random.

The split is seeded by the profile's ``split_seed`` (default 0): every trial, of
every seed, sees the same train/validation/test sentences, so each seed's
methods are scored on the same test sentences (the paired tests need that).
Pairs with a side longer than ``max_len - 2`` tokens are dropped (the decoder
input adds ``<s>``, the target ``</s>``, and the positional table has
``max_len`` rows); then at most ``max_train``/``max_valid``/``max_test`` pairs
are kept per split (a seeded sample). The vocabularies (lower-cased tokens of
:func:`experiments.datasets.vocab.tokenize`) are counted on the training split
with a minimum frequency (``token_min_freq``).

The encoded splits go to ``<study dir>/data.ckpt`` and a summary to
``corpus.json``; every trial reads that file, so all trials see the same data.
"""
from __future__ import annotations

import json
import os

import numpy as np

import minigrad as mg
from minigrad.atomic import write_text

from ..datasets.parallel_text import load_gettext_pairs, load_tatoeba_tsv
from ..datasets.vocab import Vocab, pad_sequences
from .trial import read_prepared_summary

__all__ = ["prepare", "load", "parse_data", "encode_pairs", "PreparedSplit", "DATA_FILE", "SUMMARY_FILE"]

DATA_FILE = "data.ckpt"
SUMMARY_FILE = "corpus.json"
DATA_FORMAT = 1
SPLITS = ("train", "valid", "test")


def parse_data(data: str):
    """``("gettext", None)`` or ``("tatoeba", path)`` from the ``--data`` text."""
    if data in (None, "", "gettext"):
        return "gettext", None
    kind, sep, path = str(data).partition(":")
    if kind == "tatoeba" and sep and path:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--data {data!r}: no file {path!r}")
        return "tatoeba", path
    raise ValueError(f"--data for the translation study is 'gettext' or 'tatoeba:PATH', got {data!r}")


def _load_corpus(kind, path, progress=None):
    if kind == "gettext":
        return load_gettext_pairs(progress=progress)
    return load_tatoeba_tsv(path)


def _sample(items, limit, salt, split_seed):
    if limit is None or len(items) <= limit:
        return items
    rng = np.random.default_rng([int(split_seed), salt])
    keep = np.sort(rng.choice(len(items), size=int(limit), replace=False))
    return [items[i] for i in keep]


def encode_pairs(tokens, src_vocab: Vocab, tgt_vocab: Vocab) -> dict:
    """Padded id arrays of token pairs: ``src`` (N, S) without specials, ``tgt`` (N, T) as
    ``<s> ... </s>``, and the references (the target tokens themselves, space-joined)."""
    src, _ = pad_sequences([src_vocab.encode(s) for s, _ in tokens], pad_id=src_vocab.pad_id)
    tgt, _ = pad_sequences([tgt_vocab.encode(t, add_bos=True, add_eos=True) for _, t in tokens],
                           pad_id=tgt_vocab.pad_id)
    return {"src": src, "tgt": tgt, "references": [" ".join(t) for _, t in tokens],
            "sources": [" ".join(s) for s, _ in tokens]}


def _settings(data, profile):
    return {"format": DATA_FORMAT, "data": data, "split_seed": profile.split_seed, "max_len": profile.max_len,
            "max_train": profile.max_train, "max_valid": profile.max_valid, "max_test": profile.max_test,
            "token_min_freq": profile.token_min_freq}


def prepare(study_dir, data: str, profile, progress=None, workers=1) -> dict:
    """Write ``data.ckpt`` and ``corpus.json`` in ``study_dir`` unless they exist for the same
    settings; return the corpus summary (``splits[name]["pairs"]`` ...)."""
    kind, path = parse_data(data)
    data = "gettext" if kind == "gettext" else f"tatoeba:{path}"
    settings = _settings(data, profile)
    data_path = os.path.join(study_dir, DATA_FILE)
    summary_path = os.path.join(study_dir, SUMMARY_FILE)
    summary = read_prepared_summary(study_dir, summary_path, settings) if os.path.exists(data_path) else None
    if summary is not None:
        return summary
    corpus = _load_corpus(kind, path, progress)
    if len(corpus) < 3:
        raise ValueError(f"--data {data!r}: {len(corpus)} sentence pair(s), too few for a split")
    parts = corpus.split((0.8, 0.1, 0.1), seed=int(profile.split_seed), by_group=kind == "gettext")
    if not all(parts):
        raise ValueError(f"--data {data!r}: an empty split ({[len(p) for p in parts]} pairs)")
    limit = int(profile.max_len) - 2
    splits, dropped = {}, {}
    for salt, (name, pairs, cap) in enumerate(zip(SPLITS, parts, (profile.max_train, profile.max_valid,
                                                                  profile.max_test)), 1):
        tok = corpus.tokenize(pairs)
        keep = [(s, t) for s, t in tok if 0 < len(s) <= limit and 0 < len(t) <= limit]
        dropped[name] = len(tok) - len(keep)
        splits[name] = _sample(keep, cap, salt, profile.split_seed)
    src_vocab = Vocab.build((s for s, _ in splits["train"]), min_freq=int(profile.token_min_freq))
    tgt_vocab = Vocab.build((t for _, t in splits["train"]), min_freq=int(profile.token_min_freq))
    state = {"settings": settings, "vocabs": {"src": src_vocab.itos, "tgt": tgt_vocab.itos},
             "splits": {k: encode_pairs(v, src_vocab, tgt_vocab) for k, v in splits.items()}}
    mg.save(state, data_path)
    # which catalogs went where (gettext): recounted from the text pairs of each split
    group_of = {}
    for pair, g in zip(corpus.pairs, corpus.groups):
        group_of.setdefault(pair, g)
    summary = {"source": data, "settings": settings, "cleaning": corpus.stats, "splits": {},
               "vocab_sizes": {"src": len(src_vocab), "tgt": len(tgt_vocab)}}
    for name, pairs, kept in zip(SPLITS, parts, (splits[k] for k in SPLITS)):
        summary["splits"][name] = {
            "pairs": len(kept), "pairs_before_sampling": len(pairs) - dropped[name],
            "dropped_too_long": dropped[name], "groups": len({group_of.get(p) for p in pairs}),
            "src_tokens": int(sum(len(s) for s, _ in kept)), "tgt_tokens": int(sum(len(t) for _, t in kept))}
    write_text(summary_path, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


class PreparedSplit:
    """One split in memory: ``src`` (N, S), ``tgt`` (N, T) id arrays and the reference token lists."""

    def __init__(self, d):
        self.src = np.asarray(d["src"], dtype=np.int64)
        self.tgt = np.asarray(d["tgt"], dtype=np.int64)
        self.references = [r.split() for r in d["references"]]
        self.sources = [s.split() for s in d["sources"]]

    def __len__(self):
        return len(self.src)

    def batch(self, idx, pad_id=0):
        """``(src, tgt)`` of the rows ``idx``, cut to their longest sequences."""
        src, tgt = self.src[idx], self.tgt[idx]
        s = max(int((src != pad_id).sum(axis=1).max()), 1)
        t = max(int((tgt != pad_id).sum(axis=1).max()), 2)
        return src[:, :s], tgt[:, :t]


_CACHE = {}


def load(study_dir):
    """``(splits, vocabs)`` of a prepared study: :class:`PreparedSplit` per split name and
    ``{"src", "tgt"}`` :class:`Vocab` (cached per process)."""
    path = os.path.realpath(os.path.join(study_dir, DATA_FILE))
    key = (path, os.path.getmtime(path))
    if key not in _CACHE:
        state = mg.load(path)
        vocabs = {k: Vocab.from_dict({"itos": list(v)}) for k, v in state["vocabs"].items()}
        splits = {k: PreparedSplit(v) for k, v in state["splits"].items()}
        _CACHE.clear()
        _CACHE[key] = (splits, vocabs)
    return _CACHE[key]
