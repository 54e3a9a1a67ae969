"""The method-naming study's data: real code, split by project, prepared once per study.

Sources (``--data``):

* ``python`` (default): the running interpreter's standard library and, with the
  profile's ``python_sources="stdlib+site"``, every top-level package installed in
  its site-packages (numpy, scipy, scikit-learn, matplotlib, torch ...). Each
  top-level package is a project (a standard-library module or package too);
  folders named ``test``/``tests`` and ``test_*.py`` files are left out. A
  function that occurs twice (same name and same tree, e.g. vendored copies) is
  kept once.
* ``java``: the JDK's sources, the ``src.zip`` that Debian's
  ``openjdk-17-source`` package installs (``apt-get install openjdk-17-source``;
  found under ``$JAVA_HOME/lib`` or ``/usr/lib/jvm/*/lib``), split by module
  (``java.base``, ``java.desktop`` ...); needs tree-sitter-java.
* ``PATH``: a code2seq-style JSON-lines file or folder of them
  (:func:`experiments.datasets.load_jsonl_corpus`), a ``.zip`` or folder of Java
  sources, or a folder of Python sources (its top-level entries are the projects).

Projects go to train/validation/test (80/10/10 of the functions, seed 0) with
:func:`experiments.datasets.split_by_project`. The profile then drops trees over
``max_nodes`` nodes and keeps at most ``max_train``/``max_valid``/``max_test``
functions per split (a seeded sample, so still split by project). The
vocabularies are counted on the training split. The result is written once, to
``<study dir>/data.ckpt``, with its summary in ``corpus.json``; every trial, on any
worker, reads that file, so all trials see the same data even if the sources on
the machine change while a study is resumed.
"""
from __future__ import annotations

import glob
import json
import os
import site
import sysconfig

import numpy as np

import minigrad as mg
from minigrad.atomic import write_text

from ..datasets.method_naming import (
    build_java_corpus,
    build_python_corpus,
    encode_tree,
    java_available,
    load_jsonl_corpus,
    split_by_project,
)
from ..datasets.vocab import Vocab
from .trial import read_prepared_summary

__all__ = ["prepare", "load", "find_jdk_src_zip", "site_packages_dirs", "DATA_FILE", "SUMMARY_FILE"]

DATA_FILE = "data.ckpt"
SUMMARY_FILE = "corpus.json"
DATA_FORMAT = 1
#: trees are extracted (and cached, see experiments.datasets) up to this size, then
#: cut to the profile's max_nodes: one cached corpus serves every profile
EXTRACT_MAX_NODES = 400


def find_jdk_src_zip():
    """The JDK's ``src.zip`` if installed ($JAVA_HOME/lib, /usr/lib/jvm/*/lib), else None."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(os.path.join(os.environ["JAVA_HOME"], "lib", "src.zip"))
    candidates += sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip"))
    return next((c for c in candidates if os.path.isfile(c)), None)


def site_packages_dirs():
    """The running interpreter's site-packages folders that exist (purelib first)."""
    dirs = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    try:
        dirs += site.getsitepackages()
    except AttributeError:  # pragma: no cover - virtualenvs of old Pythons
        pass
    out = []
    for d in dirs:
        d = os.path.realpath(d)
        if os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def _dedupe(examples):
    seen, out = set(), []
    for e in examples:
        key = (e.name, tuple(e.tree.node_types), tuple(e.tree.tokens))
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out, len(examples) - len(out)


def _python_examples(sources, max_nodes, progress, workers):
    roots = [None]
    if sources == "stdlib+site":
        roots += site_packages_dirs()
    elif sources != "stdlib":
        raise ValueError(f"python_sources must be 'stdlib' or 'stdlib+site', got {sources!r}")
    examples, problems = [], 0
    for root in roots:
        c = build_python_corpus(root, max_nodes=max_nodes, progress=progress, workers=workers)
        examples += c.examples()
        problems += len(c.problems)
    return examples, {"python_roots": ["<stdlib>" if r is None else r for r in roots], "files_skipped": problems}


def _source_examples(data, max_nodes, sources, progress, workers):
    """All examples of ``--data`` (before the split) and a description."""
    if data == "python":
        ex, info = _python_examples(sources, max_nodes, progress, workers)
        return ex, dict(info, source="python")
    if data == "java":
        path = find_jdk_src_zip()
        if path is None:
            raise ValueError("--data java: no JDK src.zip found (install Debian's openjdk-17-source, "
                             "or pass the path of a src.zip with --data PATH)")
        data = path
    if not os.path.exists(data):
        raise ValueError(f"--data {data!r}: neither 'python', 'java' nor an existing file or folder")
    if data.endswith((".jsonl", ".json")) or (os.path.isdir(data) and glob.glob(os.path.join(data, "*.jsonl"))):
        c = load_jsonl_corpus(data, max_nodes=max_nodes, progress=progress)
        kind = "jsonl"
    elif data.endswith(".zip") or (os.path.isdir(data) and glob.glob(os.path.join(data, "**", "*.java"),
                                                                    recursive=True)):
        if not java_available():
            raise ValueError(f"--data {data!r}: Java sources need tree-sitter and tree-sitter-java")
        c = build_java_corpus(data, max_nodes=max_nodes, progress=progress, workers=workers)
        kind = "java"
    elif os.path.isdir(data):
        c = build_python_corpus(data, max_nodes=max_nodes, progress=progress, workers=workers)
        kind = "python"
    else:
        raise ValueError(f"--data {data!r}: expected a .jsonl file, a .zip of Java sources or a folder")
    return c.examples(), {"source": kind, "path": os.path.abspath(data), "files_skipped": len(c.problems)}


def _sample(examples, limit, seed):
    if limit is None or len(examples) <= limit:
        return list(examples)
    idx = np.sort(np.random.default_rng(seed).choice(len(examples), size=int(limit), replace=False))
    return [examples[i] for i in idx]


def _encode_split(examples, types, tokens, targets):
    enc = [encode_tree(e.tree, types, tokens) for e in examples]
    sizes = np.array([len(t[2]) for t in enc], dtype=np.int64)
    return {
        "node_types": np.concatenate([t[0] for t in enc]) if enc else np.zeros(0, np.int64),
        "tokens": np.concatenate([t[1] for t in enc]) if enc else np.zeros(0, np.int64),
        "parent": np.concatenate([t[2] for t in enc]) if enc else np.zeros(0, np.int64),
        "offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "targets": ["|".join(e.target) for e in examples],
        "projects": [e.project for e in examples],
    }


def _summary(splits, info, removed):
    out = {"source": info, "duplicates_removed": removed, "splits": {}}
    for name, exs in splits.items():
        nodes = [len(e.tree) for e in exs]
        out["splits"][name] = {"projects": len({e.project for e in exs}), "functions": len(exs),
                               "nodes": int(sum(nodes)), "nodes_mean": float(np.mean(nodes)) if nodes else 0.0}
    return out


def prepare(study_dir, data: str, profile, progress=None, workers=1) -> dict:
    """Write ``data.ckpt`` and ``corpus.json`` in ``study_dir`` unless they exist for the same
    settings; return the corpus summary. ``profile`` is a :class:`~.profiles.Profile`."""
    path = os.path.join(study_dir, DATA_FILE)
    settings = {"format": DATA_FORMAT, "data": data, "python_sources": profile.python_sources,
                "max_nodes": profile.max_nodes, "max_train": profile.max_train, "max_valid": profile.max_valid,
                "max_test": profile.max_test, "token_min_freq": profile.token_min_freq}
    summary_path = os.path.join(study_dir, SUMMARY_FILE)
    summary = read_prepared_summary(study_dir, summary_path, settings) if os.path.exists(path) else None
    if summary is not None:
        return summary
    limit = profile.max_nodes
    extract = EXTRACT_MAX_NODES if limit is not None and limit <= EXTRACT_MAX_NODES else limit
    examples, info = _source_examples(data, extract, profile.python_sources, progress, workers)
    if limit is not None:
        examples = [e for e in examples if len(e.tree) <= limit]
    examples, removed = _dedupe(examples)
    if not examples:
        raise ValueError(f"--data {data!r}: no functions found")
    train, valid, test = split_by_project(examples, fractions=(0.8, 0.1, 0.1), seed=0)
    if not (train and valid and test):
        raise ValueError(f"--data {data!r}: too few projects for a train/valid/test split "
                         f"({len({e.project for e in examples})} project(s))")
    train = _sample(train, profile.max_train, 1)
    valid = _sample(valid, profile.max_valid, 2)
    test = _sample(test, profile.max_test, 3)
    types = Vocab.build((e.tree.node_types for e in train), min_freq=1)
    tokens = Vocab.build(([t for t in e.tree.tokens if t] for e in train), min_freq=profile.token_min_freq)
    targets = Vocab.build((e.target for e in train), min_freq=1)
    state = {"settings": settings,
             "vocabs": {"types": types.to_dict()["itos"], "tokens": tokens.to_dict()["itos"],
                        "targets": targets.to_dict()["itos"]},
             "splits": {k: _encode_split(v, types, tokens, targets)
                        for k, v in (("train", train), ("valid", valid), ("test", test))}}
    mg.save(state, path)
    summary = _summary({"train": train, "valid": valid, "test": test}, info, removed)
    summary["settings"] = settings
    summary["vocab_sizes"] = {"node_types": len(types), "tokens": len(tokens), "targets": len(targets)}
    write_text(summary_path, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


class PreparedSplit:
    """One split in memory: encoded trees, padded targets, reference sub-tokens."""

    def __init__(self, d, targets: Vocab, max_target_len: int):
        off = np.asarray(d["offsets"], dtype=np.int64)
        nt, tk, par = (np.asarray(d[k], dtype=np.int64) for k in ("node_types", "tokens", "parent"))
        self.trees = [(nt[a:b], tk[a:b], par[a:b]) for a, b in zip(off[:-1], off[1:])]
        self.references = [t.split("|") if t else [] for t in d["targets"]]
        self.projects = list(d["projects"])
        seqs = [targets.encode(r[:max_target_len], add_bos=True, add_eos=True) for r in self.references]
        width = max((len(s) for s in seqs), default=2)
        self.targets = np.full((len(seqs), width), targets.pad_id, dtype=np.int64)
        for i, s in enumerate(seqs):
            self.targets[i, :len(s)] = s

    def __len__(self):
        return len(self.trees)


_CACHE = {}


def load(study_dir, max_target_len: int):
    """``(splits, vocabs)`` of a prepared study: ``splits[name]`` a :class:`PreparedSplit`,
    ``vocabs`` ``{"types", "tokens", "targets"}`` of :class:`Vocab` (cached per process)."""
    path = os.path.realpath(os.path.join(study_dir, DATA_FILE))
    key = (path, os.path.getmtime(path), int(max_target_len))
    if key not in _CACHE:
        state = mg.load(path)
        vocabs = {k: Vocab.from_dict({"itos": list(v)}) for k, v in state["vocabs"].items()}
        splits = {k: PreparedSplit(v, vocabs["targets"], max_target_len) for k, v in state["splits"].items()}
        _CACHE.clear()
        _CACHE[key] = (splits, vocabs)
    return _CACHE[key]
