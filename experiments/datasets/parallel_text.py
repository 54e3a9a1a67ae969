r"""French–English sentence pairs, read offline.

Sources
-------
* :func:`load_gettext_pairs`: the gettext catalogs (``.mo``) of the French
  locale on this machine, by default every ``/usr/share/locale/fr/LC_MESSAGES/*.mo``:
  the messages of real programs (``msgid``, English) and their French
  translations (``msgstr``). The ``.mo`` files are parsed here
  (:func:`read_mo`), without :mod:`gettext`, so that contexts, plural forms and
  malformed files are all under control.
* :func:`load_tatoeba_tsv`: tab-separated sentence pairs from Tatoeba, for
  users who have downloaded them; see its docstring for the layouts read.

Both give a :class:`ParallelCorpus` of ``(source, target)`` pairs with source
French and target English (the fr→en direction of the experiments).

Cleaning of gettext messages (each choice is counted in ``corpus.stats``)
-----------------------------------------------------------------------
1. Entries: the header (empty ``msgid``) and untranslated entries are skipped;
   a ``msgctxt`` is dropped from the pair (it is not text); a plural entry
   gives two pairs, singular (``msgid``, ``msgstr[0]``) and plural
   (``msgid_plural``, ``msgstr[1]``, French's plural form). Messages are
   decoded with the catalog's declared charset; an undecodable entry is
   skipped. System-dependent strings (``<PRIu64>``, the ``.mo`` revision-1
   extension) are not read. A catalog that is not a regular file, is
   truncated, points outside itself, references more than 8 times its size
   (entries sharing strings) or declares a charset that is not one
   (``punycode``) is skipped, listed in ``corpus.problems`` and counted by
   reason in ``stats["files_skipped_by_reason"]`` (see
   :meth:`ParallelCorpus.summary`).
2. Markup and whitespace: Pango/HTML tags (``<b>``, ``</a>``) are removed and
   entities (``&amp;``) decoded; newlines and tabs become spaces; runs of spaces
   collapse.
3. Keyboard accelerators: a single ``_`` or ``&`` before a letter in a short
   message (at most 6 words) is the GTK/Qt mnemonic marker and is removed
   (``_Open`` → ``Open``, ``Ou_vrir`` → ``Ouvrir``); an underscore inside a
   longer message or a second one is kept (``file_name``).
4. Format specifiers become the placeholder ``<var>``: printf-style
   (``%s``, ``%5.2f``, ``%1$s``, ``%lu``, ``%m``), Python ``%(name)s``,
   Qt/KDE ``%1``, brace fields ``{0}``, ``{name}``, ``{:.2f}``, and shell
   variables ``$HOME``, ``${NAME}``; ``%%`` becomes ``%``. A pair whose sides
   have different numbers of placeholders is dropped (a mistranslated or
   re-ordered message that the model could not learn).
5. Dropped: pairs with no letter on one side (``%s: %s``), pairs whose two
   sides are identical (untranslated technical strings) when
   ``drop_identical``, and pairs with a side longer than ``max_tokens`` tokens
   (:func:`~experiments.datasets.vocab.tokenize`) or empty.
6. Deduplicated: each distinct (French, English) text pair is kept once (the
   first occurrence, catalogs read in sorted order); ``groups`` records the
   catalog (text domain) it came from.

Tokenisation and vocabularies: :mod:`.vocab` (lower-cased, French elision
split, placeholders kept whole); :meth:`ParallelCorpus.build_vocabs` counts the
training split with a minimum frequency.
"""
from __future__ import annotations

import codecs
import html
import os
import re
import struct
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import cache as _cache
from .files import DEFAULT_MAX_BYTES, SkippedInput, cache_file, open_regular_file, read_regular_file
from .method_naming import Problem, _progress
from .method_naming.records import _by_reason, _skip
from .vocab import Vocab, tokenize

__all__ = [
    "MoEntry",
    "MoError",
    "read_mo",
    "find_mo_files",
    "clean_pair",
    "replace_format_specifiers",
    "ParallelCorpus",
    "load_gettext_pairs",
    "load_tatoeba_tsv",
    "DEFAULT_LOCALE_DIR",
    "PLACEHOLDER",
]

DEFAULT_LOCALE_DIR = "/usr/share/locale"
PLACEHOLDER = "<var>"
_MO_MAGIC = 0x950412DE
#: Part of the cache key: bump it whenever the cleaning rules change.
CLEANER_VERSION = 2


class MoError(ValueError):
    """A ``.mo`` file that cannot be parsed; ``reason`` is ``bad_mo`` or ``bad_charset``."""

    def __init__(self, message, reason="bad_mo"):
        super().__init__(message)
        self.reason = reason


@dataclass
class MoEntry:
    """One catalog entry: ``context`` (or None), ``msgid``, ``msgid_plural`` (or None), ``msgstr`` list."""

    context: object
    msgid: str
    msgid_plural: object
    msgstr: list


def _charset(header):
    m = re.search(r"charset=([A-Za-z0-9_.:-]+)", header)
    return m.group(1) if m else "utf-8"


#: Codecs that Python finds under a charset name but that are not character sets
#: of text files (they encode domain names or escape sequences).
_NOT_CHARSETS = {"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined"}
#: The strings of a catalog may reference at most this many times the file's size
#: (entries pointing at one long string would otherwise be copied once each).
MO_MAX_AMPLIFICATION = 8


def _check_charset(charset):
    """Raise :class:`MoError` unless ``charset`` names a character set Python can decode."""
    try:
        info = codecs.lookup(charset)
    except LookupError:
        raise MoError(f"unknown charset {charset!r} in the header", "bad_charset") from None
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        raise MoError(f"charset {charset!r} in the header is not a character set of text", "bad_charset")


def read_mo(source, max_bytes=DEFAULT_MAX_BYTES):
    """Parse a GNU ``.mo`` file (a path or its ``bytes``); returns ``(entries, charset)``.

    Raises :class:`MoError` for a wrong magic number, an unknown major
    revision, a string table or string pointing outside the file, strings
    referencing more than :data:`MO_MAX_AMPLIFICATION` times the file's size,
    or a charset that is not one (``punycode``); :class:`~.files.SkippedInput`
    (an :class:`OSError`) for a path that is not a regular file of at most
    ``max_bytes``. Entries that cannot be decoded with the declared charset are
    returned with ``msgid=None``.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = read_regular_file(source, max_bytes)
    if len(data) < 20:
        raise MoError(f"too short for a .mo file ({len(data)} bytes)")
    for endian in ("<", ">"):
        if struct.unpack(endian + "I", data[:4])[0] == _MO_MAGIC:
            break
    else:
        raise MoError(f"bad magic number 0x{data[:4].hex()}: not a .mo file")
    revision, n, orig_off, trans_off = struct.unpack(endian + "4I", data[4:20])
    if revision >> 16 not in (0, 1):
        raise MoError(f"unknown .mo major revision {revision >> 16}")

    def table(offset):
        end = offset + 8 * n  # Python ints: no overflow
        if end > len(data):
            raise MoError(f"string table at {offset} with {n} entries runs past the end ({len(data)} bytes)")
        # plain Python ints, so that offset + length below cannot wrap around as uint32 would
        return np.frombuffer(data, dtype=endian + "u4", count=2 * n, offset=offset).reshape(n, 2).tolist()

    orig, trans = table(orig_off), table(trans_off)
    total = 0
    limit = MO_MAX_AMPLIFICATION * len(data)
    spans = []
    for i in range(n):
        (ol, oo), (tl, to) = orig[i], trans[i]
        if oo + ol > len(data) or to + tl > len(data):
            raise MoError(f"entry {i} points past the end of the file ({len(data)} bytes)")
        total += ol + tl
        if total > limit:
            raise MoError(f"the strings reference more than {MO_MAX_AMPLIFICATION} times the file's "
                          f"{len(data)} bytes (entries sharing strings)")
        spans.append((oo, ol, to, tl))
    raw = [(data[oo:oo + ol], data[to:to + tl]) for oo, ol, to, tl in spans]
    charset = "utf-8"
    for k, v in raw:
        if k == b"":
            charset = _charset(v.decode("ascii", "replace"))
            break
    _check_charset(charset)
    entries = []
    for k, v in raw:
        try:
            key, val = k.decode(charset), v.decode(charset)
        except (UnicodeError, ValueError):  # UnicodeDecodeError, and the codecs' own errors
            entries.append(MoEntry(None, None, None, []))
            continue
        context = None
        if "\x04" in key:
            context, key = key.split("\x04", 1)
        msgid, _, plural = key.partition("\x00")
        entries.append(MoEntry(context, msgid, plural if "\x00" in key else None, val.split("\x00")))
    return entries, charset


_LOCALE_RE = re.compile(r"[A-Za-z]{2,3}(?:_[A-Za-z0-9]+)?(?:\.[A-Za-z0-9_-]+)?(?:@[A-Za-z0-9_]+)?\Z")


def find_mo_files(lang="fr", locale_dir=DEFAULT_LOCALE_DIR):
    """Sorted paths of ``{locale_dir}/{lang}/LC_MESSAGES/*.mo`` (empty when there are none).

    ``lang`` must be a locale name (``fr``, ``pt_BR``, ``sr@latin``): a
    :class:`ValueError` otherwise, so that it cannot name another directory.
    """
    if not isinstance(lang, str) or not _LOCALE_RE.match(lang):
        raise ValueError(f"lang must be a locale name such as 'fr', 'pt_BR' or 'sr@latin', got {lang!r}")
    d = os.path.join(locale_dir, lang, "LC_MESSAGES")
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".mo"))


# --------------------------------------------------------------------------- cleaning

_C_FORMAT = r"%(?:\d+\$)?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|ll|[hlLqjzZt])?[diouxXeEfFgGaAcspnCSm]"
_PY_NAMED = r"%\([A-Za-z0-9_.]+\)[-+#0 ]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
_QT = r"%L?\d+"
_BRACE = r"\{[A-Za-z0-9_.\[\]]*(?:![rsa])?(?::[^{}]*)?\}"
_SHELL = r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*"
_SPEC_RE = re.compile(rf"%%|{_PY_NAMED}|{_C_FORMAT}|{_QT}|{_BRACE}|{_SHELL}")
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_ENTITY_RE = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_LETTER_RE = re.compile(r"[^\W\d_]")


def replace_format_specifiers(text):
    """``(text with each specifier replaced by <var> and %% by %, number of specifiers)``."""
    count = 0

    def sub(m):
        nonlocal count
        if m.group(0) == "%%":
            return "%"
        count += 1
        return f" {PLACEHOLDER} "

    out = _SPEC_RE.sub(sub, text)
    return re.sub(r"\s+", " ", out).strip(), count


def _strip_accelerator(text):
    for mark in ("_", "&"):
        if text.count(mark) == 1 and len(text.split()) <= 6:
            i = text.index(mark)
            if i + 1 < len(text) and text[i + 1].isalnum():
                return text[:i] + text[i + 1:]
    return text


def _normalize(text, markup=True):
    if markup:
        if _TAG_RE.search(text):
            text = _TAG_RE.sub(" ", text)
        if _ENTITY_RE.search(text):
            text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()


def clean_pair(source, target, *, source_lang="fr", target_lang="en", format_specifiers=True, accelerators=True,
               markup=True, drop_identical=True, max_tokens=50):
    """Clean one (source, target) pair: ``(source, target, None)`` or ``(None, None, reason)``.

    ``reason`` is one of ``format_mismatch``, ``no_text``, ``identical``,
    ``too_long``, ``empty``. See the module docstring for the steps.
    """
    s, t = _normalize(source, markup), _normalize(target, markup)
    if accelerators:
        s, t = _strip_accelerator(s), _strip_accelerator(t)
    if format_specifiers:
        s, ns = replace_format_specifiers(s)
        t, nt = replace_format_specifiers(t)
        if ns != nt:
            return None, None, "format_mismatch"
    if not s or not t:
        return None, None, "empty"
    if not _LETTER_RE.search(s.replace(PLACEHOLDER, "")) or not _LETTER_RE.search(t.replace(PLACEHOLDER, "")):
        return None, None, "no_text"
    if drop_identical and s == t:
        return None, None, "identical"
    if max_tokens is not None and (
        len(tokenize(s, source_lang)) > max_tokens or len(tokenize(t, target_lang)) > max_tokens
    ):
        return None, None, "too_long"
    return s, t, None


# --------------------------------------------------------------------------- corpus


@dataclass
class ParallelCorpus:
    """``pairs`` of ``(source, target)`` text, the ``groups`` (catalog or file) of each, counts, problems."""

    pairs: list
    groups: list
    stats: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    source_lang: str = "fr"
    target_lang: str = "en"

    def __len__(self):
        return len(self.pairs)

    def summary(self):
        """One line of counts for logs: pairs, catalogs, and the files and lines skipped by reason."""
        s = self.stats
        text = (f"{len(self.pairs)} {self.source_lang}-{self.target_lang} pairs from {s.get('files', '?')} files; "
                f"{s.get('files_skipped', 0)} files skipped" + _by_reason(s.get("files_skipped_by_reason")))
        if s.get("lines_skipped"):
            text += f"; {s['lines_skipped']} lines skipped" + _by_reason(s.get("lines_skipped_by_reason"))
        if s.get("entries_undecodable"):
            text += f"; {s['entries_undecodable']} entries undecodable"
        return text

    def split(self, fractions=(0.8, 0.1, 0.1), seed=0, by_group=False):
        """``(train, valid, test)`` lists of pairs, shuffled with ``seed``.

        ``by_group=True`` keeps each catalog in one split (greedy as
        :func:`~experiments.datasets.method_naming.split_by_project`).
        """
        fractions = tuple(float(f) for f in fractions)
        if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
            raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
        if by_group:
            from .method_naming import split_by_project

            class _P:  # minimal stand-in with a .project
                __slots__ = ("pair", "project")

                def __init__(self, pair, project):
                    self.pair, self.project = pair, project

            parts = split_by_project([_P(p, g) for p, g in zip(self.pairs, self.groups)], fractions, seed)
            return tuple([x.pair for x in part] for part in parts)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.pairs))
        n_train = int(round(fractions[0] * len(order)))
        n_valid = int(round(fractions[1] * len(order)))
        idx = (order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:])
        return tuple([self.pairs[i] for i in part] for part in idx)

    def tokenize(self, pairs=None, lowercase=True):
        """Token lists ``[(source_tokens, target_tokens), ...]`` of ``pairs`` (default: all)."""
        pairs = self.pairs if pairs is None else pairs
        return [(tokenize(s, self.source_lang, lowercase), tokenize(t, self.target_lang, lowercase))
                for s, t in pairs]

    def build_vocabs(self, train_pairs, min_freq=2, max_size=None, lowercase=True):
        """``(source_vocab, target_vocab)`` counted on ``train_pairs`` (text pairs) only."""
        tok = self.tokenize(train_pairs, lowercase)
        return (Vocab.build((s for s, _ in tok), min_freq=min_freq, max_size=max_size),
                Vocab.build((t for _, t in tok), min_freq=min_freq, max_size=max_size))


def _clean_all(raw, opts, counts):
    """``raw``: iterable of (source, target, group); dedup and clean into pairs/groups."""
    seen = set()
    pairs, groups = [], []
    for s, t, g in raw:
        counts["raw_pairs"] += 1
        cs, ct, reason = clean_pair(s, t, **opts)
        if reason is not None:
            counts["dropped_" + reason] += 1
            continue
        if (cs, ct) in seen:
            counts["duplicates"] += 1
            continue
        seen.add((cs, ct))
        pairs.append((cs, ct))
        groups.append(g)
    return pairs, groups


def _new_counts():
    c = {"files": 0, "files_skipped": 0, "entries": 0, "entries_untranslated": 0, "entries_undecodable": 0,
         "raw_pairs": 0, "duplicates": 0, "lines_skipped": 0, "files_skipped_by_reason": {},
         "lines_skipped_by_reason": {}}
    for r in ("format_mismatch", "no_text", "identical", "too_long", "empty"):
        c["dropped_" + r] = 0
    return c


def _mo_raw_pairs(entries, counts):
    """(English, French) message pairs of one catalog's entries."""
    for e in entries:
        if e.msgid is None:
            counts["entries_undecodable"] += 1
            continue
        if e.msgid == "":
            continue  # header
        counts["entries"] += 1
        if not any(e.msgstr):
            counts["entries_untranslated"] += 1
            continue
        if e.msgstr[0]:
            yield e.msgid, e.msgstr[0]
        if e.msgid_plural and len(e.msgstr) > 1 and e.msgstr[1]:
            yield e.msgid_plural, e.msgstr[1]


def _corpus_from_cache(path, d, lang):
    """The :class:`ParallelCorpus` of a cache file's JSON; :class:`CacheError` when it is malformed."""
    def bad(what):
        return _cache.CacheError(f"{path}: {what}")

    if not isinstance(d, dict) or not {"pairs", "groups", "stats", "problems"} <= set(d):
        raise bad("not a parallel corpus cache")
    pairs, groups, stats, problems = d["pairs"], d["groups"], d["stats"], d["problems"]
    if not (isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                                            for p in pairs)):
        raise bad("'pairs' is not a list of two strings each")
    if not (isinstance(groups, list) and len(groups) == len(pairs) and all(isinstance(g, str) for g in groups)):
        raise bad("'groups' is not one string per pair")
    if not isinstance(stats, dict):
        raise bad("'stats' is not an object")
    if not (isinstance(problems, list) and all(
            isinstance(p, list) and 3 <= len(p) <= 4 and isinstance(p[0], str) and isinstance(p[1], int)
            and all(isinstance(x, str) for x in p[2:]) for p in problems)):
        raise bad("'problems' is malformed")
    return ParallelCorpus([tuple(p) for p in pairs], groups, stats, [Problem(*p) for p in problems], lang, "en")


def load_gettext_pairs(paths=None, *, lang="fr", locale_dir=DEFAULT_LOCALE_DIR, max_tokens=50, drop_identical=True,
                       format_specifiers=True, accelerators=True, cache=True, cache_dir=None, refresh=False,
                       progress=None):
    """French→English pairs from gettext catalogs (default: every French ``.mo`` of the machine).

    ``paths``: ``.mo`` files to read instead of the locale directory's. A file
    that is not a regular file or not a valid ``.mo`` is skipped, listed in
    ``corpus.problems`` and counted by reason in
    ``stats["files_skipped_by_reason"]`` (``not_regular``, ``unreadable``,
    ``too_large``, ``bad_mo``, ``bad_charset``). ``lang`` is a locale name
    (see :func:`find_mo_files`); in the cache file's name it is reduced to safe
    characters. Raises :class:`FileNotFoundError` when there is no catalog at all.
    """
    if paths is None:
        paths = find_mo_files(lang, locale_dir)
        if not paths:
            raise FileNotFoundError(
                f"no gettext catalogs in {os.path.join(locale_dir, lang, 'LC_MESSAGES')}; install the "
                f"French translations of some packages, or pass paths=..."
            )
    paths = sorted(os.fspath(p) for p in paths)
    opts = dict(source_lang=lang, target_lang="en", format_specifiers=format_specifiers, accelerators=accelerators,
                drop_identical=drop_identical, max_tokens=max_tokens)
    cache_path = None
    if cache:
        key = _cache.cache_key(kind="gettext", cleaner=CLEANER_VERSION, opts=opts,
                               files=_cache.fingerprint_files(paths), paths=paths)
        cache_path = cache_file(cache_dir or _cache.default_cache_dir(), "gettext", lang, key, ext="json")
        if not refresh and os.path.lexists(cache_path):
            try:
                return _corpus_from_cache(cache_path, _cache.read_json(cache_path), lang)
            except _cache.CacheError as exc:
                warnings.warn(f"ignoring unreadable cache {cache_path}: {exc}", RuntimeWarning, stacklevel=2)
    counts, problems = _new_counts(), []

    def raw():
        for p in _progress(paths, len(paths), "gettext catalogs", progress):
            counts["files"] += 1
            domain = os.path.splitext(os.path.basename(p))[0]
            try:
                entries, _ = read_mo(p)
            except SkippedInput as exc:
                _skip(counts, problems, "files", exc.reason, p, 0, exc.detail)
                continue
            except MoError as exc:
                _skip(counts, problems, "files", exc.reason, p, 0, f"MoError: {exc}")
                continue
            for en, fr in _mo_raw_pairs(entries, counts):
                yield fr, en, domain  # source French, target English

    pairs, groups = _clean_all(raw(), opts, counts)
    counts["pairs"] = len(pairs)
    counts["catalogs_used"] = len(set(groups))
    corpus = ParallelCorpus(pairs, groups, counts, problems, lang, "en")
    if cache_path is not None:
        try:
            _cache.write_json(cache_path, {"pairs": pairs, "groups": groups, "stats": counts,
                                           "problems": [[p.path, p.line, p.message, p.reason] for p in problems]})
        except OSError as exc:  # a read-only or full disk, a directory in the way: the corpus is still good
            warnings.warn(f"could not write the cache {cache_path}: {exc}", RuntimeWarning, stacklevel=2)
    return corpus


def load_tatoeba_tsv(path, *, source_column=1, target_column=0, source_lang="fr", target_lang="en",
                     max_tokens=50, drop_identical=False, encoding="utf-8"):
    """Sentence pairs from a Tatoeba tab-separated file.

    Layouts read (the *text columns* are numbered from 0 after removing id columns):

    * ``English<TAB>French[<TAB>attribution]`` as distributed by manythings.org
      (``fra.txt``) and used by the PyTorch sequence-to-sequence tutorial
      (``eng-fra.txt``): text columns 0 = English, 1 = French (the defaults
      ``source_column=1, target_column=0`` give French→English);
    * Tatoeba's own "sentence pairs" export ``id<TAB>text<TAB>id<TAB>text``,
      recognised from the first line (numeric first and third columns): the id
      columns are dropped, text columns 0
      and 1 are the two sentences in the order of the download (pass
      ``source_column=0, target_column=1`` when French comes first).

    A line with fewer than two text columns (reason ``bad_columns``) or not in
    ``encoding`` (``not_text``) is skipped, listed with its line number and
    counted in ``stats["lines_skipped_by_reason"]``. ``path`` must be a regular
    file (a FIFO or device raises :class:`~.files.SkippedInput`). Cleaning:
    whitespace normalised, no format-specifier or accelerator handling, length limit and deduplication as for gettext.
    """
    path = os.fspath(path)
    opts = dict(source_lang=source_lang, target_lang=target_lang, format_specifiers=False, accelerators=False,
                markup=False, drop_identical=drop_identical, max_tokens=max_tokens)
    counts, problems = _new_counts(), []
    counts["files"] = 1
    group = os.path.splitext(os.path.basename(path))[0]
    layout = [None]  # decided by the first non-empty line

    def raw():
        with open_regular_file(path) as fh:
            for lineno, bline in enumerate(fh, 1):
                try:
                    line = bline.decode(encoding).rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    _skip(counts, problems, "lines", "not_text", path, lineno, f"not {encoding} text: {exc.reason}")
                    continue
                if lineno == 1:
                    line = line.lstrip("\ufeff")
                if not line.strip():
                    continue
                cols = line.split("\t")
                is_ids = len(cols) >= 4 and cols[0].strip().isdigit() and cols[2].strip().isdigit()
                if layout[0] is None:
                    layout[0] = "ids" if is_ids else "texts"
                if layout[0] == "ids":
                    text = [cols[1], cols[3]] if is_ids else []
                    expected = "id<TAB>text<TAB>id<TAB>text"
                else:
                    text = cols[:2]
                    expected = "two tab-separated texts"
                if len(text) < 2 or max(source_column, target_column) >= len(text):
                    _skip(counts, problems, "lines", "bad_columns", path, lineno,
                          f"expected {expected}, got {len(cols)} column(s)")
                    continue
                yield text[source_column], text[target_column], group

    pairs, groups = _clean_all(raw(), opts, counts)
    counts["pairs"] = len(pairs)
    return ParallelCorpus(pairs, groups, counts, problems, source_lang, target_lang)

