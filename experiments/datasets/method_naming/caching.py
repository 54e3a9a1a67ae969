"""The corpus cache: extracted examples stored as one ``.npz`` of flat integer arrays
plus a JSON manifest (see :mod:`experiments.datasets.cache`), under a key made of the
extraction options, :data:`EXTRACTOR_VERSION` and a fingerprint of the source files."""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .. import cache as _cache
from ..files import cache_file
from .records import MethodExample, Problem, Tree, _new_counts

#: Part of every cache key: bump it whenever the extraction rules change, so
#: corpora cached by an older version are rebuilt instead of reused.
EXTRACTOR_VERSION = 2


def _cached_extract(kind, source_files, opts, cache, cache_dir, refresh, build):
    """Load the extracted examples from the cache or build and store them."""
    if not cache:
        return build()
    key = _cache.cache_key(kind=kind, extractor=EXTRACTOR_VERSION, opts=opts,
                           files=_cache.fingerprint_files(source_files))
    path = cache_file(cache_dir or _cache.default_cache_dir(), "methods", kind, key, ext="npz")
    if not refresh and os.path.lexists(path):
        try:
            return _load_examples(path)
        except _cache.CacheError as exc:
            warnings.warn(f"ignoring unreadable cache {path}: {exc}", RuntimeWarning, stacklevel=3)
    result = build()
    try:
        _save_examples(path, *result)
    except OSError as exc:  # a read-only or full disk, a directory in the way: the corpus is still good
        warnings.warn(f"could not write the cache {path}: {exc}", RuntimeWarning, stacklevel=3)
    return result


def _save_examples(path, examples, counts, problems):
    type_ids, tok_ids, strings = {}, {}, {}

    def sid(table, s):
        i = table.get(s)
        if i is None:
            i = table[s] = len(table)
        return i

    n_nodes = sum(len(e.tree) for e in examples)
    node_type = np.empty(n_nodes, dtype=np.int32)
    node_token = np.empty(n_nodes, dtype=np.int32)
    parent = np.empty(n_nodes, dtype=np.int32)
    offsets = np.zeros(len(examples) + 1, dtype=np.int64)
    pos = 0
    for i, e in enumerate(examples):
        n = len(e.tree)
        node_type[pos:pos + n] = [sid(type_ids, t) for t in e.tree.node_types]
        node_token[pos:pos + n] = [sid(tok_ids, t) for t in e.tree.tokens]
        parent[pos:pos + n] = e.tree.parent
        pos += n
        offsets[i + 1] = pos
    meta = {
        "format": "minigrad-method-corpus",
        "types": list(type_ids),
        "tokens": list(tok_ids),
        "strings": None,
        "examples": [
            [e.name, "|".join(e.target), sid(strings, e.project), sid(strings, e.path), e.line, e.language]
            for e in examples
        ],
        "counts": counts,
        "problems": [[p.path, p.line, p.message, p.reason] for p in problems],
    }
    meta["strings"] = list(strings)
    _cache.write_npz(path, meta, {"node_type": node_type, "node_token": node_token, "parent": parent,
                                  "offsets": offsets})


def _load_examples(path):
    """The ``(examples, counts, problems)`` of a cache file; :class:`CacheError` for any
    inconsistency (a corrupted or foreign file is rebuilt, never half-used)."""
    meta, arrays = _cache.read_npz(path)
    try:
        return _decode_examples(path, meta, arrays)
    except _cache.CacheError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise _cache.CacheError(f"{path}: inconsistent method corpus cache ({type(exc).__name__}: {exc})") from exc


def _str_list(meta, key, path):
    value = meta[key]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _cache.CacheError(f"{path}: '{key}' is not a list of strings")
    return value


def _int_array(arrays, key, path, lo, hi):
    """``arrays[key]`` as a 1-D integer array with every value in ``[lo, hi)``."""
    a = arrays[key]
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise _cache.CacheError(f"{path}: array '{key}' is not a 1-D integer array ({a.dtype}, shape {a.shape})")
    if a.size and (int(a.min()) < lo or int(a.max()) >= hi):
        raise _cache.CacheError(f"{path}: array '{key}' has values outside [{lo}, {hi})")
    return a


def _decode_examples(path, meta, arrays):
    if not isinstance(meta, dict) or meta.get("format") != "minigrad-method-corpus":
        raise _cache.CacheError(f"{path}: not a method corpus cache")
    types = [sys.intern(t) for t in _str_list(meta, "types", path)]
    tokens = [sys.intern(t) for t in _str_list(meta, "tokens", path)]
    strings = _str_list(meta, "strings", path)
    records = meta["examples"]
    if not isinstance(records, list):
        raise _cache.CacheError(f"{path}: 'examples' is not a list")
    off = _int_array(arrays, "offsets", path, 0, 2 ** 62)
    if len(off) != len(records) + 1 or (len(off) and off[0] != 0) or np.any(np.diff(off) < 1):
        raise _cache.CacheError(f"{path}: inconsistent offsets")
    n_nodes = int(off[-1])
    nt = _int_array(arrays, "node_type", path, 0, len(types))
    nk = _int_array(arrays, "node_token", path, 0, len(tokens))
    par = _int_array(arrays, "parent", path, -1, max(n_nodes, 1))
    if not len(nt) == len(nk) == len(par) == n_nodes:
        raise _cache.CacheError(f"{path}: node arrays of {len(nt)}, {len(nk)}, {len(par)} entries for {n_nodes} nodes")
    examples = []
    for i, rec in enumerate(records):
        if not isinstance(rec, list) or len(rec) != 6:
            raise _cache.CacheError(f"{path}: example {i} is not a 6-field record")
        name, target, proj, fpath, line, lang = rec
        if not (isinstance(name, str) and isinstance(target, str) and isinstance(lang, str)
                and all(isinstance(x, int) and not isinstance(x, bool) for x in (proj, fpath, line))
                and 0 <= proj < len(strings) and 0 <= fpath < len(strings)):
            raise _cache.CacheError(f"{path}: example {i} has fields of the wrong type or out of range")
        a, b = int(off[i]), int(off[i + 1])
        tree = Tree([types[j] for j in nt[a:b].tolist()], [tokens[j] for j in nk[a:b].tolist()], par[a:b].copy())
        examples.append(MethodExample(tree, name, target.split("|") if target else [], strings[proj],
                                      strings[fpath], line, lang))
    counts = _new_counts()
    stored = meta["counts"]
    if not isinstance(stored, dict) or not all(
            isinstance(v, int) or (isinstance(v, dict) and all(isinstance(n, int) for n in v.values()))
            for v in stored.values()):
        raise _cache.CacheError(f"{path}: 'counts' is not a dict of counts")
    counts.update(stored)
    problems = []
    for p in meta["problems"]:
        if not (isinstance(p, list) and 3 <= len(p) <= 4 and isinstance(p[0], str) and isinstance(p[1], int)
                and all(isinstance(x, str) for x in p[2:])):
            raise _cache.CacheError(f"{path}: a problem record is malformed")
        problems.append(Problem(*p))
    return examples, counts, problems
