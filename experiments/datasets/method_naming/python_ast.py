"""Python extraction: the ``ast`` of each ``def`` as a :class:`~.records.Tree`, and the
``.py`` files of a source tree with their projects (tests excluded)."""
from __future__ import annotations

import ast
import io
import os
import sysconfig
import tokenize
import warnings

import numpy as np

from ..files import SkippedInput, read_regular_file
from ..vocab import split_subtokens
from .records import Tree, _default_opts, _literal_token, _make_example, _new_counts, _skip

_SKIP_FIELDS = {"ctx", "type_comment", "kind", "lineno", "col_offset", "end_lineno", "end_col_offset",
                "level", "conversion", "simple", "is_async", "type_ignores"}
_OP_FIELDS = {"op", "ops"}
_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _strip_docstring(body):
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        return body[1:]
    return body


def _python_tree(fn):
    """Post-order :class:`Tree` of a Python ``ast`` node (iterative, no recursion limit)."""
    types, tokens, parent = [], [], []
    index = {}
    # Work items: ("visit", node) expands; ("emit", node, kids) appends the node.
    stack = [("visit", fn)]
    while stack:
        item = stack.pop()
        if item[0] == "emit":
            _, node, kids, ntype, tok = item
            me = len(types)
            types.append(ntype)
            tokens.append(tok)
            parent.append(-1)
            for k in kids:
                parent[index.pop(id(k))] = me
            index[id(node)] = me
            continue
        node = item[1]
        tok = ""
        kids = []
        for name, value in ast.iter_fields(node):
            if name == "value" and isinstance(node, (ast.Constant, ast.MatchSingleton)):
                tok = _literal_token(value)  # before the None test: `None` is a literal here
                continue
            if name in _SKIP_FIELDS or value is None:
                continue
            if name in _OP_FIELDS:
                ops = value if isinstance(value, list) else [value]
                tok = ",".join(type(o).__name__ for o in ops)
                continue
            if name == "body" and isinstance(node, _DEF_TYPES):
                value = _strip_docstring(value)
            if isinstance(value, ast.AST):
                kids.append(value)
            elif isinstance(value, list):
                for v in value:
                    if isinstance(v, ast.AST):
                        kids.append(v)
                    elif isinstance(v, str):
                        kids.append(_Ident(v))
            elif isinstance(value, str) and not tok:
                tok = value  # the node's identifier: Name.id, Attribute.attr, arg.arg, ...
        stack.append(("emit", node, kids, type(node).__name__, tok))
        for k in reversed(kids):
            stack.append(("visit", k) if not isinstance(k, _Ident) else ("emit", k, [], "identifier", k.name))
    return Tree(types, tokens, np.asarray(parent, dtype=np.int32))


class _Ident:
    """A string item of a list field (``Global.names``), given a node of its own."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


def python_methods_from_source(source, path="<string>", project="", min_subtokens=2, max_nodes=None, counts=None):
    """All examples of one Python source text; raises ``SyntaxError`` when it does not parse."""
    opts = _default_opts(min_subtokens, max_nodes)
    counts = _new_counts() if counts is None else counts
    module = ast.parse(source, filename=path)
    out = []
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            counts["methods_seen"] += 1
            # the name test first: cheaper than building a tree that is dropped
            if len(split_subtokens(node.name)) < opts["min_subtokens"]:
                counts["dropped_short_name"] += 1
                continue
            ex = _make_example(_python_tree(node), node.name, project, path, node.lineno, "python", opts, counts)
            if ex is not None:
                out.append(ex)
    out.sort(key=lambda e: e.line)
    return out


_TEST_DIRS = {"test", "tests", "idle_test", "__pycache__", "site-packages", "dist-packages"}


def python_stdlib_dir():
    """The running interpreter's standard-library directory."""
    return sysconfig.get_paths()["stdlib"]


def iter_python_files(root, exclude_tests=True):
    """``(path, project)`` of every ``.py`` file under ``root``, sorted.

    With ``exclude_tests`` directories named ``test``, ``tests`` or
    ``idle_test`` and files ``test_*.py`` / ``*_test.py`` / ``conftest.py``
    are skipped; ``site-packages`` and ``__pycache__`` always are.
    """
    root = os.path.abspath(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        skip = {"__pycache__", "site-packages", "dist-packages"}
        if exclude_tests:
            skip = _TEST_DIRS
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        for f in sorted(filenames):
            if not f.endswith(".py"):
                continue
            if exclude_tests and (f.startswith("test_") or f.endswith("_test.py") or f == "conftest.py"):
                continue
            project = parts[0] if parts else f[:-3]
            found.append((os.path.join(dirpath, f), project))
    found.sort()
    return found


def _python_skip_reason(source):
    """Why ``source`` (bytes) is not Python text: ``"binary"``, ``"not_text"`` or None (it may still not parse)."""
    if b"\0" in source:
        return "binary", "contains NUL bytes: a binary file, not Python source"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        source.decode(encoding)
    except SyntaxError as exc:
        return "not_text", f"not decodable: not UTF-8 and no valid encoding declaration ({exc.msg})"
    except (UnicodeDecodeError, LookupError) as exc:
        return "not_text", f"not decodable as its declared or default encoding: {exc}"
    return None


def _extract_python_file(job):
    """Examples of one file: ``(examples, counts, problem or None)``; a file that is not a regular,
    readable, decodable and parseable Python file is skipped and counted by reason."""
    path, relpath, project, opts = job
    counts = _new_counts()
    counts["files"] = 1
    try:
        source = read_regular_file(path)
    except SkippedInput as exc:
        return [], counts, _skip(counts, None, "files", exc.reason, relpath, 0, exc.detail)
    bad = _python_skip_reason(source)
    if bad is not None:
        return [], counts, _skip(counts, None, "files", bad[0], relpath, 0, bad[1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning: invalid escape sequence, ...
            examples = python_methods_from_source(source, relpath, project, counts=counts, **opts)
    except SyntaxError as exc:  # includes IndentationError
        return [], counts, _skip(counts, None, "files", "syntax_error", relpath, exc.lineno or 0,
                                 f"{type(exc).__name__}: {exc.msg}")
    except (RecursionError, MemoryError) as exc:
        return [], counts, _skip(counts, None, "files", "too_deep", relpath, 0,
                                 f"{type(exc).__name__}: nested too deeply to parse")
    except ValueError as exc:
        return [], counts, _skip(counts, None, "files", "not_text", relpath, 0, f"{type(exc).__name__}: {exc}")
    return examples, counts, None
