"""The corpus cache: extracted examples stored as one ``.npz`` of flat integer arrays
plus a JSON manifest (see :mod:`experiments.datasets.cache`), under a key made of the
extraction options, :data:`EXTRACTOR_VERSION` and a fingerprint of the source files."""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .. import cache as _cache
from .records import MethodExample, Problem, Tree, _new_counts

#: Part of every cache key: bump it whenever the extraction rules change, so
#: corpora cached by an older version are rebuilt instead of reused.
EXTRACTOR_VERSION = 1


def _cached_extract(kind, source_files, opts, cache, cache_dir, refresh, build):
    """Load the extracted examples from the cache or build and store them."""
    if not cache:
        return build()
    key = _cache.cache_key(kind=kind, extractor=EXTRACTOR_VERSION, opts=opts,
                           files=_cache.fingerprint_files(source_files))
    path = os.path.join(cache_dir or _cache.default_cache_dir(), f"methods-{kind}-{key}.npz")
    if not refresh and os.path.exists(path):
        try:
            return _load_examples(path)
        except (_cache.CacheError, KeyError, ValueError) as exc:
            warnings.warn(f"ignoring unreadable cache {path}: {exc}", RuntimeWarning, stacklevel=3)
    result = build()
    _save_examples(path, *result)
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
        "problems": [[p.path, p.line, p.message] for p in problems],
    }
    meta["strings"] = list(strings)
    _cache.write_npz(path, meta, {"node_type": node_type, "node_token": node_token, "parent": parent,
                                  "offsets": offsets})


def _load_examples(path):
    meta, arrays = _cache.read_npz(path)
    if meta.get("format") != "minigrad-method-corpus":
        raise _cache.CacheError(f"{path}: not a method corpus cache")
    types = [sys.intern(t) for t in meta["types"]]
    tokens = [sys.intern(t) for t in meta["tokens"]]
    strings = meta["strings"]
    nt, nk, par, off = arrays["node_type"], arrays["node_token"], arrays["parent"], arrays["offsets"]
    if len(off) != len(meta["examples"]) + 1:
        raise _cache.CacheError(f"{path}: inconsistent offsets")
    examples = []
    for i, (name, target, proj, fpath, line, lang) in enumerate(meta["examples"]):
        a, b = int(off[i]), int(off[i + 1])
        tree = Tree([types[j] for j in nt[a:b].tolist()], [tokens[j] for j in nk[a:b].tolist()], par[a:b].copy())
        examples.append(MethodExample(tree, name, target.split("|") if target else [], strings[proj],
                                      strings[fpath], line, lang))
    counts = _new_counts()
    counts.update(meta["counts"])
    problems = [Problem(*p) for p in meta["problems"]]
    return examples, counts, problems
