"""Corpus building: every source file extracted (in worker processes when asked), the
counts and problems gathered, the result cached, and the examples split
train/validation/test by project. Python sources, Java sources and ASTs exported as
JSON lines each have their builder."""
from __future__ import annotations

import json
import os
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..files import SkippedInput, open_regular_file
from .caching import _cached_extract
from .java_ast import _extract_java_file, _iter_java_sources, _java_parser, _java_project
from .python_ast import _extract_python_file, iter_python_files, python_stdlib_dir
from .records import MethodCorpus, Tree, _default_opts, _make_example, _merge_counts, _new_counts, _skip


def _progress(iterable, total, desc, progress):
    """Wrap in tqdm unless ``progress`` is False (None: only on a terminal)."""
    if progress is False:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="file", disable=None if progress is None else not progress)


def _run_jobs(fn, jobs, workers, desc, progress):
    """Map ``fn`` over ``jobs`` (in processes when ``workers`` > 1), in order."""
    if workers is None:
        workers = 1
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(fn, jobs, chunksize=max(1, min(64, len(jobs) // (8 * workers) or 1)))
            yield from _progress(results, len(jobs), desc, progress)
    else:
        yield from _progress(map(fn, jobs), len(jobs), desc, progress)


def _collect(results):
    examples, problems, counts = [], [], _new_counts()
    for exs, c, problem in results:
        examples.extend(exs)
        _merge_counts(counts, c)
        if problem is not None:
            problems.append(problem)
    return examples, counts, problems


def _finish(examples, counts, problems, fractions, seed, source):
    stats = dict(counts)
    stats["source"] = source
    stats["examples"] = len(examples)
    stats["projects"] = len({e.project for e in examples})
    stats["nodes_mean"] = float(np.mean([len(e.tree) for e in examples])) if examples else 0.0
    train, valid, test = split_by_project(examples, fractions=fractions, seed=seed)
    stats["split_examples"] = {"train": len(train), "valid": len(valid), "test": len(test)}
    stats["split_projects"] = {k: len({e.project for e in v}) for k, v in
                               (("train", train), ("valid", valid), ("test", test))}
    stats["seed"] = seed
    stats["fractions"] = list(fractions)
    empty = [k for k, f in zip(("train", "valid", "test"), fractions) if f > 0 and not stats["split_examples"][k]]
    if examples and empty:
        warnings.warn(f"{source}: only {stats['projects']} project(s), so the split(s) {', '.join(empty)} "
                      f"are empty", RuntimeWarning, stacklevel=3)
    return MethodCorpus(train, valid, test, stats, problems)


def build_python_corpus(root=None, *, fractions=(0.8, 0.1, 0.1), seed=0, min_subtokens=2, max_nodes=None,
                        exclude_tests=True, cache=True, cache_dir=None, refresh=False, progress=None, workers=1):
    """Method-naming corpus of the Python files under ``root``.

    ``root`` defaults to the running interpreter's standard library
    (:func:`python_stdlib_dir`), tests excluded. Returns a :class:`MethodCorpus`.
    """
    root = python_stdlib_dir() if root is None else os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: not a directory")
    opts = _default_opts(min_subtokens, max_nodes)
    files = iter_python_files(root, exclude_tests=exclude_tests)

    def build():
        jobs = [(p, os.path.relpath(p, root).replace(os.sep, "/"), proj, opts) for p, proj in files]
        return _collect(_run_jobs(_extract_python_file, jobs, workers, "python files", progress))

    examples, counts, problems = _cached_extract(
        "python", [p for p, _ in files], dict(opts, root=os.path.abspath(root), exclude_tests=exclude_tests),
        cache, cache_dir, refresh, build)
    return _finish(examples, counts, problems, fractions, seed, root)


def build_java_corpus(path, *, fractions=(0.8, 0.1, 0.1), seed=0, min_subtokens=2, max_nodes=None,
                      cache=True, cache_dir=None, refresh=False, progress=None, workers=1, max_files=None):
    """Method-naming corpus of the Java sources in a directory or ``.zip`` (e.g. the JDK's ``src.zip``).

    Needs tree-sitter and tree-sitter-java (an :class:`ImportError` says so
    otherwise). ``max_files`` keeps only the first files (sorted), for quick runs.
    """
    path = os.fspath(path)
    _java_parser()  # fail early with a clear message
    sources = _iter_java_sources(path)
    if max_files is not None:
        sources = sources[:max_files]
    opts = _default_opts(min_subtokens, max_nodes)
    fingerprint_on = [path] if not os.path.isdir(path) else [w[1] for _, w in sources]

    def build():
        jobs = [(rel, where, _java_project(rel), opts) for rel, where in sources]
        return _collect(_run_jobs(_extract_java_file, jobs, workers, "java files", progress))

    examples, counts, problems = _cached_extract(
        "java", fingerprint_on, dict(opts, path=os.path.abspath(path), max_files=max_files),
        cache, cache_dir, refresh, build)
    return _finish(examples, counts, problems, fractions, seed, path)


def _jsonl_files(path):
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith((".jsonl", ".json")))
    return [path]


class _BadLine(ValueError):
    """A JSON line that is skipped: ``reason`` (counted) and the message."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def _parse_jsonl_line(line, default_project):
    """``(tree, name, project, target or None)`` of one JSON line; :class:`_BadLine` says why not."""
    try:
        obj = json.loads(line)
    except RecursionError:
        raise _BadLine("bad_json", "JSON nested too deeply") from None
    except ValueError as exc:
        raise _BadLine("bad_json", f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _BadLine("not_an_object", f"a line must hold a JSON object, got {type(obj).__name__}")
    wrapped = "ast" in obj
    try:
        tree = Tree.from_nested(obj["ast"] if wrapped else obj)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise _BadLine("bad_tree", f"{type(exc).__name__}: {exc}") from None
    name = obj.get("name") if wrapped else None
    if name is None:
        name = tree.tokens[-1]
    if not isinstance(name, str) or not name:
        raise _BadLine("bad_name", f"no method name: give 'name' (a non-empty string) or a root token, got {name!r}")
    project = default_project
    if wrapped and "project" in obj:
        project = obj["project"]
        if not isinstance(project, (str, int)) or isinstance(project, bool) or project == "":
            raise _BadLine("bad_project", f"'project' must be a non-empty string, got {project!r}")
        project = str(project)
    target = obj.get("target") if wrapped else None
    if target is not None and (not isinstance(target, list) or not target
                               or not all(isinstance(t, str) and t for t in target)):
        raise _BadLine("bad_target", f"'target' must be a non-empty list of non-empty strings, got {target!r:.80}")
    return tree, name, project, target


def load_jsonl_corpus(path, *, fractions=(0.8, 0.1, 0.1), seed=0, min_subtokens=2, max_nodes=None,
                      language="unknown", progress=None):
    """Load ASTs exported as JSON lines (a file, or a directory of ``*.jsonl``).

    Each line is either a bare tree ``{"node": ..., "token": ..., "children": [...]}``
    whose root token is the method's name, or an object
    ``{"name": str, "ast": TREE, "project": str (optional), "target": [subtokens] (optional)}``.
    The children of a node are in source order and the tree is stored in
    post-order (:class:`Tree`). Missing projects default to the file's name
    without extension, so a directory with one file per project splits by
    project.

    Bad input is skipped, listed in ``corpus.problems`` with file and line, and
    counted by reason in ``stats["files_skipped_by_reason"]`` (a file that is not
    regular, is unreadable or too large) and ``stats["lines_skipped_by_reason"]``
    (``not_utf8``, ``bad_json``, ``not_an_object``, ``bad_tree``, ``bad_name``,
    ``bad_project``, ``bad_target``); each skipped line also counts in
    ``dropped_parse_error``.
    """
    opts = _default_opts(min_subtokens, max_nodes)
    counts, problems, examples = _new_counts(), [], []
    for fpath in _progress(_jsonl_files(os.fspath(path)), None, "jsonl files", progress):
        counts["files"] += 1
        default_project = os.path.splitext(os.path.basename(fpath))[0]
        try:
            fh = open_regular_file(fpath)
        except SkippedInput as exc:
            _skip(counts, problems, "files", exc.reason, fpath, 0, exc.detail)
            continue
        with fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    counts["dropped_parse_error"] += 1
                    _skip(counts, problems, "lines", "not_utf8", fpath, lineno, f"not UTF-8: {exc.reason}")
                    continue
                if not line.strip():
                    continue
                counts["methods_seen"] += 1
                try:
                    tree, name, project, target = _parse_jsonl_line(line, default_project)
                except _BadLine as exc:
                    counts["dropped_parse_error"] += 1
                    _skip(counts, problems, "lines", exc.reason, fpath, lineno, str(exc))
                    continue
                ex = _make_example(tree, name, project, fpath, lineno, language, opts, counts)
                if ex is not None:
                    if target is not None:
                        ex.target = list(target)
                    examples.append(ex)
    return _finish(examples, counts, problems, fractions, seed, os.fspath(path))


def split_by_project(examples, fractions=(0.8, 0.1, 0.1), seed=0):
    """Assign whole projects to ``(train, valid, test)`` with about ``fractions`` of the examples.

    The projects are shuffled with ``seed``; each in turn goes to the split
    furthest below its target number of examples, except that when only as
    many projects remain as there are still-empty splits with a positive
    fraction, those splits get one each. So with at least three projects no
    split is empty, and no project is in two splits. Within a split the
    examples keep their input order.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    by_project = {}
    for e in examples:
        by_project.setdefault(e.project, []).append(e)
    names = sorted(by_project)
    rng = np.random.default_rng(seed)
    order = [names[i] for i in rng.permutation(len(names))]
    total = len(examples)
    filled = [0, 0, 0]
    assign = {}
    for j, name in enumerate(order):
        remaining = len(order) - j
        empty = [s for s in range(3) if fractions[s] > 0 and filled[s] == 0]
        if empty and remaining <= len(empty):
            s = max(empty, key=lambda s: fractions[s] * total)
        else:
            s = max(range(3), key=lambda s: (fractions[s] * total - filled[s], fractions[s]))
        assign[name] = s
        filled[s] += len(by_project[name])
    out = ([], [], [])
    for e in examples:
        out[assign[e.project]].append(e)
    return out
