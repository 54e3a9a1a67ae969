r"""Tokenisation and vocabularies.

Special tokens
--------------
Every :class:`Vocab` starts with the same four specials, at fixed ids:

=====  ==========  =====================================================
id     token       use
=====  ==========  =====================================================
0      ``<pad>``   padding of batches; also the token id of AST nodes that
                   carry no token (an ``If`` node), so an ``Embedding``
                   with a zero row 0 adds nothing for them
1      ``<unk>``   any token below the minimum frequency or never seen
2      ``<s>``     start of a target sequence (decoder input)
3      ``</s>``    end of a target sequence
=====  ==========  =====================================================

Vocabulary choices
------------------
:meth:`Vocab.build` counts tokens over the *training* sequences only, keeps
those seen at least ``min_freq`` times (optionally the ``max_size`` most
frequent), and orders them by decreasing count, ties broken by the token's
text, so the same data always gives the same ids. Validation and test tokens
not in the vocabulary become ``<unk>``.

Method names (:func:`split_subtokens`)
--------------------------------------
As code2seq's extractor does: split at lower→upper case changes
(``getValue``), before the last capital of an acronym followed by lower case
(``HTTPServer`` → ``http``, ``server``), at underscores and whitespace, and at
digits, which are dropped (``utf8Decode`` → ``utf``, ``decode``); subtokens are
lower-cased and empty pieces removed. ``__init__`` → ``["init"]``.

Natural-language text (:func:`tokenize`)
----------------------------------------
Unicode NFC normalisation; typographic apostrophes ’ and ʼ become ``'``;
lower-cased unless ``lowercase=False``. Tokens are, in order of preference:
placeholders such as ``<var>`` (kept whole), words (letters, digits and
underscores, with inner hyphens and apostrophes kept: ``peut-être``,
``don't``), and single punctuation characters. For French (``lang="fr"``) an
elided article or pronoun is split off with its apostrophe: ``l'homme`` →
``l'``, ``homme``; ``qu'il`` → ``qu'``, ``il`` (the same rule the usual
Tatoeba preprocessing follows in spirit, but without gluing punctuation).
:func:`detokenize` joins tokens with spaces and removes the spaces before
``, . ! ? ; :`` and after ``'`` for readable output; metrics are computed on
the token sequences themselves.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

__all__ = [
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "SPECIALS",
    "Vocab",
    "VocabError",
    "split_subtokens",
    "tokenize",
    "detokenize",
    "pad_sequences",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)

# code2seq: str.split("(?<=[a-z])(?=[A-Z])|_|[0-9]|(?<=[A-Z])(?=[A-Z][a-z])|\\s+")
_SUBTOKEN_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])|_|[0-9]|(?<=[A-Z])(?=[A-Z][a-z])|\s+")


def split_subtokens(name):
    """Split an identifier into lower-case subtokens (camelCase, snake_case, digits)."""
    return [p.lower() for p in _SUBTOKEN_SPLIT.split(name.strip()) if p]


_PLACEHOLDER = r"<[a-z_]+>"
_WORD = r"\w+(?:['\-]\w+)*"
_TOKEN_RE = re.compile(rf"{_PLACEHOLDER}|{_WORD}|[^\w\s]", re.UNICODE)
# French elision: a short clitic followed by an apostrophe and a letter.
_FR_ELISION = re.compile(
    r"^((?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu|presqu|quelqu)')(?=\w)", re.IGNORECASE
)


def tokenize(text, lang=None, lowercase=True):
    """Tokenise natural-language text; see the module docstring for the rules."""
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\u02bc", "'")
    if lowercase:
        # keep placeholders lower-case anyway, they are already
        text = text.lower()
    out = []
    for tok in _TOKEN_RE.findall(text):
        if lang == "fr" and "'" in tok:
            # split every elided clitic: "jusqu'à" -> "jusqu'", "à"; "l'arbre" -> "l'", "arbre"
            while True:
                m = _FR_ELISION.match(tok)
                if not m:
                    break
                out.append(m.group(1))
                tok = tok[m.end():]
        if tok:
            out.append(tok)
    return out


_NO_SPACE_BEFORE = {",", ".", "!", "?", ";", ":", ")", "%"}


def detokenize(tokens):
    """Join tokens into readable text (spaces removed before punctuation and after ``'``)."""
    out = ""
    for i, tok in enumerate(tokens):
        if i == 0 or tok in _NO_SPACE_BEFORE or out.endswith("'") or out.endswith("("):
            out += tok
        else:
            out += " " + tok
    return out


class Vocab:
    """A token ↔ id mapping whose first ids are the four specials.

    ``Vocab(tokens)`` takes the non-special tokens in id order;
    :meth:`build` makes one from data with a minimum frequency.
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, tokens=(), counts=None):
        self.itos = list(SPECIALS)
        seen = set(SPECIALS)
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"vocabulary tokens must be str, got {type(tok).__name__}")
            if tok in seen:
                continue
            seen.add(tok)
            self.itos.append(tok)
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        self.counts = dict(counts) if counts else {}

    @classmethod
    def build(cls, sequences, min_freq=1, max_size=None):
        """Count tokens over ``sequences`` (iterables of str) and keep the frequent ones.

        Tokens with count >= ``min_freq`` are kept, most frequent first (ties by
        text); ``max_size`` caps the number of non-special tokens. Specials found
        in the data are not counted twice.
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counter = Counter()
        for seq in sequences:
            counter.update(seq)
        for s in SPECIALS:
            counter.pop(s, None)
        items = sorted((kv for kv in counter.items() if kv[1] >= min_freq), key=lambda kv: (-kv[1], kv[0]))
        if max_size is not None:
            items = items[:max_size]
        return cls([t for t, _ in items], counts=dict(items))

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __getitem__(self, token):
        return self.stoi.get(token, self.unk_id)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self):
        return f"Vocab(size={len(self)})"

    def lookup(self, idx):
        """The token of id ``idx``."""
        return self.itos[idx]

    def encode(self, tokens, add_bos=False, add_eos=False):
        """Ids of ``tokens`` (unknown → ``<unk>``), optionally wrapped in ``<s>`` ... ``</s>``."""
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        if add_bos:
            ids.insert(0, self.bos_id)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids, strip_special=True):
        """Tokens of ``ids``; stops at the first ``</s>`` and drops ``<pad>``/``<s>`` when
        ``strip_special`` (``<unk>`` is kept, it is a real prediction)."""
        out = []
        for i in ids:
            i = int(i)
            if strip_special:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.itos[i])
        return out

    def to_dict(self):
        """``{"itos": [...], "counts": {...}}``: the JSON layout of :meth:`save`."""
        return {"itos": self.itos, "counts": self.counts}

    @classmethod
    def from_dict(cls, d):
        """The vocabulary of a :meth:`to_dict` dict; :class:`VocabError` says what is wrong.

        ``itos`` must be a list of distinct strings starting with the four
        specials (a duplicate would silently shift every later id);
        ``counts``, when present, maps tokens to non-negative integers.
        """
        if not isinstance(d, dict):
            raise VocabError(f"a vocabulary is a JSON object with 'itos', got {type(d).__name__}")
        if "itos" not in d:
            raise VocabError("no 'itos' (the list of tokens in id order)")
        itos = d["itos"]
        if not isinstance(itos, list):
            raise VocabError(f"'itos' must be a list of tokens, got {type(itos).__name__}")
        bad = next((i for i, t in enumerate(itos) if not isinstance(t, str)), None)
        if bad is not None:
            raise VocabError(f"'itos' entry {bad} is {type(itos[bad]).__name__} {itos[bad]!r:.40}, not a string")
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise VocabError(f"not a vocabulary of this package: 'itos' starts with {itos[:4]!r:.80}, "
                             f"expected {list(SPECIALS)}")
        if len(set(itos)) != len(itos):
            seen, dup = set(), None
            for t in itos:
                if t in seen:
                    dup = t
                    break
                seen.add(t)
            raise VocabError(f"'itos' lists the token {dup!r:.40} twice (ids would shift)")
        counts = d.get("counts")
        if counts is not None and not (
            isinstance(counts, dict)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values())
        ):
            raise VocabError("'counts' must map tokens to non-negative integers")
        return cls(itos[len(SPECIALS):], counts=counts)

    def save(self, path):
        """Atomically write the vocabulary as JSON."""
        from .cache import write_json

        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by :meth:`save`.

        Raises :class:`FileNotFoundError` when there is no file and
        :class:`VocabError` (a :class:`ValueError`) naming the file and what is
        wrong for anything else: not a regular file, not JSON, not the layout.
        """
        from .cache import CacheError, read_json

        try:
            d = read_json(path)
        except CacheError as exc:
            raise VocabError(f"cannot read the vocabulary: {exc}", path) from exc
        try:
            return cls.from_dict(d)
        except VocabError as exc:
            raise VocabError(exc.detail, path) from None


class VocabError(ValueError):
    """A vocabulary file or dict that is not a vocabulary of this package; names the file when known."""

    def __init__(self, detail, path=None):
        self.detail, self.path = detail, None if path is None else str(path)
        super().__init__(detail if path is None else f"{path}: {detail}")


def pad_sequences(sequences, pad_id=0, max_len=None, dtype="int64"):
    """Stack id lists into a ``(B, T)`` array padded with ``pad_id``; returns ``(array, lengths)``.

    ``max_len`` truncates longer sequences (the lengths report the truncated sizes).
    """
    import numpy as np

    seqs = [list(s)[:max_len] if max_len is not None else list(s) for s in sequences]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    width = int(lengths.max()) if len(seqs) else 0
    out = np.full((len(seqs), width), pad_id, dtype=dtype)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths
