r"""Method naming from real code: (AST of a method) → (its name as subtokens).

An example is one function or method with a body. Its input is the method's
abstract syntax tree, every node carrying a *node type* and possibly a *token*;
its target is the method's name split into lower-case subtokens
(:func:`~experiments.datasets.vocab.split_subtokens`: camelCase, snake_case,
digits dropped, as code2seq). Sources:

* Python, parsed with the standard :mod:`ast` module (:func:`build_python_corpus`);
  by default the running interpreter's own standard library, tests excluded;
* Java, parsed with tree-sitter-java, from a directory or a ``.zip`` of sources
  such as the JDK's ``src.zip`` (:func:`build_java_corpus`);
* ASTs already exported as JSON lines (:func:`load_jsonl_corpus`).

The tree
--------
:class:`Tree` holds three parallel sequences over its nodes, in **post-order**:
every node comes after all of its children, children in source order, and the
root is the last node. ``parent[i]`` is the index of node i's parent (always
greater than i) and ``-1`` for the root. The Child-Sum TreeLSTM schedules nodes
by height from ``parent`` alone, so it does not rely on this order, but a
simple sequential evaluator can walk the arrays from 0 to n-1.

``node_types[i]`` is the syntactic category (Python: the ``ast`` class name,
``Call``, ``Name``; Java: the tree-sitter node type, ``method_invocation``,
``identifier``). ``tokens[i]`` is the text the node carries, ``""`` when it
carries none:

* identifiers: the identifier (``Name.id``, ``Attribute.attr``, ``arg.arg``,
  keyword names, imported names; Java ``identifier``, ``type_identifier``);
* operators are folded into the node that applies them: a Python ``BinOp``
  gets the token ``Add``, a ``Compare`` ``Lt`` (``Lt,Eq`` for a chain); a Java
  ``binary_expression`` gets ``+``; Python's ``Load``/``Store`` contexts are
  dropped;
* literals: numbers as written when at most 10 characters, otherwise
  ``<num>``; strings kept when they look like an identifier of at most 30
  characters (``"utf_8"``, a key, an attribute name), otherwise ``<str>``;
  ``True``/``False``/``None`` (Java ``true``, ``null``) as themselves;
* Java nodes without named children but with keywords (``modifiers``,
  ``integral_type``) get the keywords joined by spaces (``public static``).

Docstrings of the method and of functions and classes nested in it are
removed (they often spell out the name); Java comments are skipped.

The method's own name is hidden: the root (the definition) gets the token
:data:`METHOD_NAME` instead of the name, and so does every other node whose
token equals the name (recursive calls ``f(...)``, ``self.f(...)``, a string
``"f"``). Names inside other identifiers (``_f_impl``) are left alone.

Which methods are kept
----------------------
Python: every ``def`` and ``async def`` at any depth (module functions,
methods, nested functions). Java: every ``method_declaration`` that has a body
(not abstract, interface or native methods; not constructors, whose name is
the class's). Then names with fewer than ``min_subtokens`` subtokens (default
2: ``__init__``, ``run``) are dropped, and trees larger than ``max_nodes``
when given. Every drop is counted in ``corpus.stats``.

Bad input
---------
A Python file that does not parse (``SyntaxError``, also a file that is not
UTF-8 or nests too deeply) is skipped and listed in ``corpus.problems`` with
its path, line and message. tree-sitter recovers from syntax errors, so a Java
file always parses: its methods whose subtree contains an error node are
dropped and counted, and the file is listed with the line of the first error.
A bad JSON line is skipped and listed with its file and line number.

Splits
------
:func:`split_by_project` assigns whole *projects* to train/validation/test
(default 80/10/10 of the examples, seeded), so no project contributes to two
splits, as the method-naming studies split by repository. The project of a
Python file is its top-level module or package (``email`` for
``email/mime/text.py``, ``json`` for ``json/__init__.py``, ``os`` for
``os.py``); of a Java file the JPMS module directory when the sources are laid
out by module, as the JDK's ``src.zip`` is (``java.base/java/util/List.java``
→ ``java.base``), otherwise the top-level package directory.

Caching
-------
Extracted examples are cached (see :mod:`.cache`) under a key made of the
extraction options and a fingerprint of the source files (path, size, mtime),
as one ``.npz`` of flat integer arrays plus a JSON manifest; the split is
recomputed on load (cheap), so changing ``seed`` or ``fractions`` reuses the
cache.
"""
from __future__ import annotations

import ast
import json
import os
import re
import sys
import sysconfig
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from . import cache as _cache
from .vocab import Vocab, pad_sequences, split_subtokens

__all__ = [
    "METHOD_NAME",
    "Tree",
    "MethodExample",
    "Problem",
    "MethodCorpus",
    "TreeBatch",
    "python_methods_from_source",
    "java_methods_from_source",
    "iter_python_files",
    "build_python_corpus",
    "build_java_corpus",
    "load_jsonl_corpus",
    "split_by_project",
    "python_stdlib_dir",
    "java_available",
    "encode_tree",
    "batch_trees",
    "batch_examples",
]

#: Token that replaces the method's own name inside its tree.
METHOD_NAME = "<METHOD_NAME>"

#: Part of every cache key: bump it whenever the extraction rules change, so
#: corpora cached by an older version are rebuilt instead of reused.
EXTRACTOR_VERSION = 1

_IDENT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,29}\Z")


# --------------------------------------------------------------------------- data


@dataclass
class Tree:
    """An AST in post-order: ``node_types``, ``tokens`` (``""`` = none), ``parent`` (-1 = root).

    Children precede their parent and the root is the last node.
    """

    node_types: list
    tokens: list
    parent: np.ndarray

    def __post_init__(self):
        self.parent = np.asarray(self.parent, dtype=np.int32)
        n = len(self.node_types)
        if len(self.tokens) != n or self.parent.shape != (n,):
            raise ValueError(
                f"Tree: node_types ({n}), tokens ({len(self.tokens)}) and parent "
                f"{self.parent.shape} must have one entry per node"
            )
        if n == 0:
            raise ValueError("Tree: a tree needs at least one node")
        idx = np.arange(n - 1)
        if self.parent[-1] != -1 or np.any(self.parent[:-1] <= idx):
            raise ValueError("Tree: not in post-order (every parent after its children, root last with -1)")

    def __len__(self):
        return len(self.node_types)

    def children(self):
        """List of child index lists, in source order."""
        kids = [[] for _ in range(len(self))]
        for i, p in enumerate(self.parent.tolist()):
            if p >= 0:
                kids[p].append(i)
        return kids

    def to_nested(self):
        """The tree as nested ``{"node", "token", "children"}`` dicts (the JSON-lines layout)."""
        made = [None] * len(self)
        kids = self.children()
        for i in range(len(self)):  # post-order: children are already made
            made[i] = {"node": self.node_types[i], "token": self.tokens[i], "children": [made[k] for k in kids[i]]}
        return made[-1]

    @classmethod
    def from_nested(cls, root):
        """Build from nested ``{"node": str, "token": str|None, "children": [...]}`` (iterative)."""
        types, tokens, parent = [], [], []
        # Post-order without recursion: the first visit of a node pushes it back
        # (expanded) above its children; the second emits it and links its children.
        out_index = {}
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if not isinstance(node, dict):
                raise ValueError(f"tree node must be an object, got {type(node).__name__}")
            if expanded:
                out_index[id(node)] = len(types)
                ntype = node.get("node")
                if not isinstance(ntype, str):
                    raise ValueError("tree node needs a string 'node' (its type)")
                tok = node.get("token")
                tokens.append("" if tok is None else str(tok))
                types.append(ntype)
                parent.append(-1)
                for child in node.get("children") or ():
                    parent[out_index[id(child)]] = len(types) - 1
            else:
                children = node.get("children") or []
                if not isinstance(children, list):
                    raise ValueError("'children' must be a list")
                stack.append((node, True))
                for child in reversed(children):
                    stack.append((child, False))
        return cls(types, tokens, np.asarray(parent, dtype=np.int32))


@dataclass
class MethodExample:
    """One method: its ``tree``, ``name``, ``target`` subtokens and where it came from."""

    tree: Tree
    name: str
    target: list
    project: str
    path: str
    line: int
    language: str


@dataclass
class Problem:
    """A skipped or partly used input: file, line (0 when unknown) and what was wrong."""

    path: str
    line: int
    message: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class MethodCorpus:
    """Examples split by project, with counts (``stats``) and the ``problems`` met."""

    train: list
    valid: list
    test: list
    stats: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def splits(self):
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def examples(self):
        return self.train + self.valid + self.test

    def build_vocabs(self, min_freq=1, token_min_freq=None, target_min_freq=None, max_size=None):
        """``(type_vocab, token_vocab, target_vocab)`` counted on the training split only.

        ``min_freq`` applies to all three unless ``token_min_freq``/``target_min_freq``
        override it (node types are few and all kept at ``min_freq=1``).
        """
        tok_mf = min_freq if token_min_freq is None else token_min_freq
        tgt_mf = min_freq if target_min_freq is None else target_min_freq
        types = Vocab.build((e.tree.node_types for e in self.train), min_freq=1)
        tokens = Vocab.build(([t for t in e.tree.tokens if t] for e in self.train), min_freq=tok_mf, max_size=max_size)
        targets = Vocab.build((e.target for e in self.train), min_freq=tgt_mf, max_size=max_size)
        return types, tokens, targets

    def summary(self):
        """One line of counts for logs."""
        s = self.stats
        return (
            f"{len(self.train)}/{len(self.valid)}/{len(self.test)} train/valid/test examples from "
            f"{s.get('projects', '?')} projects; {s.get('files_skipped', 0)} files skipped"
        )


# --------------------------------------------------------------------------- helpers


def _literal_token(value):
    """Token of a literal value (see the module docstring)."""
    if value is None or value is Ellipsis or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return value if _IDENT_LIKE.match(value) else "<str>"
    if isinstance(value, bytes):
        return "<bytes>"
    text = repr(value)
    return text if len(text) <= 10 else "<num>"


def _hide_name(tokens, name):
    """Replace every token equal to ``name`` by the placeholder, and the root's token."""
    out = [METHOD_NAME if t == name else t for t in tokens]
    out[-1] = METHOD_NAME
    return out


def _make_example(tree, name, project, path, line, language, opts, counts):
    target = split_subtokens(name)
    if len(target) < opts["min_subtokens"]:
        counts["dropped_short_name"] += 1
        return None
    if opts["max_nodes"] is not None and len(tree) > opts["max_nodes"]:
        counts["dropped_too_large"] += 1
        return None
    tree.tokens = _hide_name(tree.tokens, name)
    return MethodExample(tree, name, target, project, path, int(line), language)


def _new_counts():
    return {
        "files": 0,
        "files_skipped": 0,
        "files_with_errors": 0,
        "methods_seen": 0,
        "dropped_short_name": 0,
        "dropped_too_large": 0,
        "dropped_parse_error": 0,
        "dropped_no_body": 0,
    }


def _default_opts(min_subtokens, max_nodes):
    if min_subtokens < 1:
        raise ValueError(f"min_subtokens must be >= 1, got {min_subtokens}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes must be >= 1 or None, got {max_nodes}")
    return {"min_subtokens": int(min_subtokens), "max_nodes": None if max_nodes is None else int(max_nodes)}


def _progress(iterable, total, desc, progress):
    """Wrap in tqdm unless ``progress`` is False (None: only on a terminal)."""
    if progress is False:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="file", disable=None if progress is None else not progress)


# --------------------------------------------------------------------------- Python

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


def _extract_python_file(job):
    path, relpath, project, opts = job
    counts = _new_counts()
    counts["files"] = 1
    try:
        with open(path, "rb") as fh:
            source = fh.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning: invalid escape sequence, ...
            examples = python_methods_from_source(source, relpath, project, counts=counts, **opts)
    except SyntaxError as exc:  # includes IndentationError, and ValueError-free decoding errors
        counts["files_skipped"] = 1
        return [], counts, Problem(relpath, exc.lineno or 0, f"{type(exc).__name__}: {exc.msg}")
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError, OSError) as exc:
        counts["files_skipped"] = 1
        return [], counts, Problem(relpath, 0, f"{type(exc).__name__}: {exc}")
    return examples, counts, None


# --------------------------------------------------------------------------- Java

_JAVA = {}


def java_available():
    """True when tree-sitter and tree-sitter-java are importable and compatible."""
    try:
        _java_parser()
        return True
    except ImportError:
        return False


def _java_parser():
    if "parser" not in _JAVA:
        try:
            import tree_sitter
            import tree_sitter_java
        except ImportError as exc:
            raise ImportError(
                "Java sources need the packages tree-sitter and tree-sitter-java "
                "(pip install tree-sitter tree-sitter-java)"
            ) from exc
        try:
            language = tree_sitter.Language(tree_sitter_java.language())
            parser = tree_sitter.Parser(language)
            query = tree_sitter.Query(language, "(method_declaration) @m")
        except (TypeError, ValueError, AttributeError) as exc:
            raise ImportError(
                f"tree-sitter {getattr(tree_sitter, '__version__', '?')} cannot load tree-sitter-java "
                f"({exc}); install versions with the Language(tree_sitter_java.language()) API"
            ) from exc
        _JAVA.update(parser=parser, query=query, cursor=tree_sitter.QueryCursor, ts=tree_sitter)
    return _JAVA["parser"], _JAVA["query"], _JAVA["cursor"]


_JAVA_COMMENTS = {"line_comment", "block_comment"}
_JAVA_STRINGS = {"string_literal", "text_block"}
_JAVA_ATOMIC = _JAVA_STRINGS | {"character_literal"}
_JAVA_NUMBERS = {
    "decimal_integer_literal",
    "hex_integer_literal",
    "octal_integer_literal",
    "binary_integer_literal",
    "decimal_floating_point_literal",
    "hex_floating_point_literal",
}


def _java_text(node):
    return node.text.decode("utf-8", "replace")


def _java_leaf_token(node):
    t = node.type
    if t in _JAVA_STRINGS:
        text = _java_text(node)
        inner = text[3:-3] if t == "text_block" else text[1:-1]
        return inner if _IDENT_LIKE.match(inner) else "<str>"
    if t == "character_literal":
        return _java_text(node)
    if t in _JAVA_NUMBERS:
        text = _java_text(node)
        return text if len(text) <= 10 else "<num>"
    if node.child_count == 0:
        return _java_text(node)
    # keywords of a node without named children: modifiers, integral_type, ...
    words = [c.type for c in node.children if not c.is_named and c.type.isalpha()]
    return " ".join(words)


def _java_tree(method):
    """Post-order :class:`Tree` of a tree-sitter node (named nodes only, comments skipped)."""
    types, tokens, parent = [], [], []
    emitted = {}  # node id -> indices of its already emitted children
    stack = [(method, None, False)]  # (node, id of its parent, children done?)
    while stack:
        node, pid, expanded = stack.pop()
        if expanded:
            me = len(types)
            kids = emitted.pop(node.id, ())
            types.append(node.type)
            if kids and node.type not in _JAVA_ATOMIC:
                op = node.child_by_field_name("operator")
                tokens.append(_java_text(op) if op is not None else "")
            else:
                tokens.append(_java_leaf_token(node))
            parent.append(-1)
            for k in kids:
                parent[k] = me
            if pid is not None:
                emitted.setdefault(pid, []).append(me)
            continue
        stack.append((node, pid, True))
        if node.type in _JAVA_ATOMIC:
            continue
        for c in reversed(node.named_children):
            if c.type not in _JAVA_COMMENTS:
                stack.append((c, node.id, False))
    return Tree(types, tokens, np.asarray(parent, dtype=np.int32))


def _first_error_line(root):
    """1-based line of the first ERROR or MISSING node (0 if none found)."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n.start_point[0] + 1
        if n.has_error:
            stack.extend(reversed(n.children))
    return 0


def java_methods_from_source(source, path="<string>", project="", min_subtokens=2, max_nodes=None, counts=None,
                             problems=None):
    """All examples of one Java source text (``str`` or UTF-8 ``bytes``).

    Methods whose subtree has a syntax error are dropped and counted; when the
    file has errors a :class:`Problem` is appended to ``problems`` (a list).
    """
    opts = _default_opts(min_subtokens, max_nodes)
    counts = _new_counts() if counts is None else counts
    parser, query, cursor_cls = _java_parser()
    if isinstance(source, str):
        source = source.encode("utf-8")
    tree = parser.parse(source)
    root = tree.root_node
    if root.has_error:
        counts["files_with_errors"] += 1
        if problems is not None:
            problems.append(Problem(path, _first_error_line(root), "Java syntax error; affected methods dropped"))
    methods = cursor_cls(query).captures(root).get("m", [])
    methods = sorted(methods, key=lambda n: n.start_byte)
    out = []
    for m in methods:
        counts["methods_seen"] += 1
        body = m.child_by_field_name("body")
        name_node = m.child_by_field_name("name")
        if body is None or name_node is None:
            counts["dropped_no_body"] += 1
            continue
        if m.has_error:
            counts["dropped_parse_error"] += 1
            continue
        name = _java_text(name_node)
        if len(split_subtokens(name)) < opts["min_subtokens"]:
            counts["dropped_short_name"] += 1
            continue
        ex = _make_example(_java_tree(m), name, project, path, m.start_point[0] + 1, "java", opts, counts)
        if ex is not None:
            out.append(ex)
    return out


def _java_project(relpath):
    parts = relpath.replace("\\", "/").split("/")
    if len(parts) == 1:
        return ""
    first = parts[0]
    # JPMS layout (src.zip): java.base/java/lang/Object.java -> "java.base"
    if "." in first and len(parts) >= 3:
        return first
    return first


def _iter_java_sources(path):
    """``(relpath, reader)`` for each ``.java`` file of a directory or zip, sorted."""
    if os.path.isdir(path):
        files = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for f in filenames:
                if f.endswith(".java"):
                    full = os.path.join(dirpath, f)
                    files.append((os.path.relpath(full, path).replace(os.sep, "/"), full))
        files.sort()
        return [(rel, ("file", full)) for rel, full in files]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".java") and not n.endswith("/"))
        return [(n, ("zip", path, n)) for n in names]
    if os.path.isfile(path) and path.endswith(".java"):
        return [(os.path.basename(path), ("file", path))]
    raise FileNotFoundError(f"{path}: not a directory, a zip file or a .java file")


_ZIPS = {}


def _read_source(where):
    if where[0] == "file":
        with open(where[1], "rb") as fh:
            return fh.read()
    _, zpath, name = where
    zf = _ZIPS.get(zpath)
    if zf is None:
        zf = _ZIPS[zpath] = zipfile.ZipFile(zpath)
    return zf.read(name)


def _extract_java_file(job):
    relpath, where, project, opts = job
    counts = _new_counts()
    counts["files"] = 1
    problems = []
    try:
        source = _read_source(where)
        examples = java_methods_from_source(source, relpath, project, counts=counts, problems=problems, **opts)
    except (OSError, zipfile.BadZipFile, RecursionError, MemoryError, ValueError) as exc:
        counts["files_skipped"] = 1
        return [], counts, Problem(relpath, 0, f"{type(exc).__name__}: {exc}")
    return examples, counts, (problems[0] if problems else None)


# --------------------------------------------------------------------------- corpus building


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
        for k, v in c.items():
            counts[k] += v
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


def load_jsonl_corpus(path, *, fractions=(0.8, 0.1, 0.1), seed=0, min_subtokens=2, max_nodes=None,
                      language="unknown", progress=None):
    """Load ASTs exported as JSON lines (a file, or a directory of ``*.jsonl``).

    Each line is either a bare tree ``{"node": ..., "token": ..., "children": [...]}``
    whose root token is the method's name, or an object
    ``{"name": str, "ast": TREE, "project": str (optional), "target": [subtokens] (optional)}``.
    The children of a node are in source order and the tree is stored in
    post-order (:class:`Tree`). Missing projects default to the file's name
    without extension, so a directory with one file per project splits by
    project. Bad lines are skipped and listed with file and line.
    """
    opts = _default_opts(min_subtokens, max_nodes)
    counts, problems, examples = _new_counts(), [], []
    for fpath in _progress(_jsonl_files(os.fspath(path)), None, "jsonl files", progress):
        counts["files"] += 1
        default_project = os.path.splitext(os.path.basename(fpath))[0]
        try:
            fh = open(fpath, "r", encoding="utf-8")
        except OSError as exc:
            counts["files_skipped"] += 1
            problems.append(Problem(fpath, 0, f"{type(exc).__name__}: {exc}"))
            continue
        with fh:
            lineno = 0
            while True:
                try:
                    line = fh.readline()
                except UnicodeDecodeError as exc:
                    problems.append(Problem(fpath, lineno + 1, f"not UTF-8: {exc}"))
                    counts["dropped_parse_error"] += 1
                    counts["files_skipped"] += 1
                    break
                if not line:
                    break
                lineno += 1
                if not line.strip():
                    continue
                counts["methods_seen"] += 1
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("a line must hold a JSON object")
                    if "ast" in obj:
                        tree = Tree.from_nested(obj["ast"])
                        name = obj.get("name")
                        if name is None:
                            name = tree.tokens[-1]
                    else:
                        tree = Tree.from_nested(obj)
                        name = tree.tokens[-1]
                    if not isinstance(name, str) or not name:
                        raise ValueError("no method name: give 'name' or a root token")
                    project = str(obj.get("project", default_project)) if "ast" in obj else default_project
                    target = obj.get("target") if "ast" in obj else None
                except (ValueError, TypeError, KeyError, RecursionError) as exc:
                    counts["dropped_parse_error"] += 1
                    problems.append(Problem(fpath, lineno, f"{type(exc).__name__}: {exc}"))
                    continue
                ex = _make_example(tree, name, project, fpath, lineno, language, opts, counts)
                if ex is not None:
                    if target is not None:
                        ex.target = [str(t) for t in target]
                    examples.append(ex)
    return _finish(examples, counts, problems, fractions, seed, os.fspath(path))


# --------------------------------------------------------------------------- split


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


# --------------------------------------------------------------------------- cache layout


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


# --------------------------------------------------------------------------- batching


@dataclass
class TreeBatch:
    """Several trees concatenated for one TreeLSTM call.

    ``node_type_ids``, ``token_ids`` and ``parent`` have one entry per node of
    the batch; tree b occupies rows ``offsets[b]:offsets[b+1]``, in its own
    post-order, and ``parent`` holds batch-wide indices (``-1`` for each root).
    ``roots[b]`` is the row of tree b's root (``offsets[b+1] - 1``).
    """

    node_type_ids: np.ndarray
    token_ids: np.ndarray
    parent: np.ndarray
    offsets: np.ndarray
    roots: np.ndarray

    @property
    def num_trees(self):
        return len(self.roots)

    @property
    def num_nodes(self):
        return len(self.parent)

    def tree_of(self):
        """The tree index of every node."""
        return np.repeat(np.arange(self.num_trees), np.diff(self.offsets))


def encode_tree(tree, type_vocab, token_vocab):
    """``(node_type_ids, token_ids, parent)`` int64 arrays of one tree; nodes without a token get ``<pad>``."""
    types = np.fromiter((type_vocab[t] for t in tree.node_types), dtype=np.int64, count=len(tree))
    toks = np.fromiter((token_vocab[t] if t else token_vocab.pad_id for t in tree.tokens), dtype=np.int64,
                       count=len(tree))
    return types, toks, tree.parent.astype(np.int64)


def batch_trees(trees, type_vocab=None, token_vocab=None):
    """Concatenate trees into a :class:`TreeBatch`.

    ``trees`` are :class:`Tree` objects (then both vocabularies are needed) or
    already encoded ``(node_type_ids, token_ids, parent)`` triples from
    :func:`encode_tree`.
    """
    enc = []
    for t in trees:
        if isinstance(t, Tree):
            if type_vocab is None or token_vocab is None:
                raise ValueError("batch_trees needs type_vocab and token_vocab to encode Tree objects")
            enc.append(encode_tree(t, type_vocab, token_vocab))
        else:
            enc.append(tuple(np.asarray(a, dtype=np.int64) for a in t))
    if not enc:
        raise ValueError("batch_trees needs at least one tree")
    sizes = np.array([len(e[2]) for e in enc], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    parent = np.concatenate([np.where(e[2] >= 0, e[2] + off, -1) for e, off in zip(enc, offsets[:-1])])
    return TreeBatch(
        node_type_ids=np.concatenate([e[0] for e in enc]),
        token_ids=np.concatenate([e[1] for e in enc]),
        parent=parent,
        offsets=offsets,
        roots=offsets[1:] - 1,
    )


def batch_examples(examples, type_vocab, token_vocab, target_vocab, max_target_len=None):
    """A :class:`TreeBatch` and the padded targets ``(B, T)`` with ``<s>`` ... ``</s>``, and their lengths."""
    trees = batch_trees([e.tree for e in examples], type_vocab, token_vocab)
    seqs = [target_vocab.encode(e.target[:max_target_len] if max_target_len else e.target, add_bos=True,
                                add_eos=True) for e in examples]
    targets, lengths = pad_sequences(seqs, pad_id=target_vocab.pad_id)
    return trees, targets, lengths
