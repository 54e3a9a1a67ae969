"""Java extraction through tree-sitter-java: each ``method_declaration`` with a body as a
:class:`~.records.Tree`, and the ``.java`` files of a directory or a ``.zip`` (such as
the JDK's ``src.zip``) with their projects. tree-sitter is imported on first use, so
the rest of the package works without it."""
from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np

from ..files import DEFAULT_MAX_BYTES, SkippedInput, read_regular_file
from ..vocab import split_subtokens
from .records import _IDENT_LIKE, Problem, Tree, _default_opts, _make_example, _new_counts, _skip

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
    if not os.path.isfile(path):  # a FIFO or device is not opened (is_zipfile would block on a FIFO)
        raise FileNotFoundError(f"{path}: not a directory, a zip file or a .java file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".java") and not n.endswith("/"))
        return [(n, ("zip", path, n)) for n in names]
    if path.endswith(".java"):
        return [(os.path.basename(path), ("file", path))]
    raise FileNotFoundError(f"{path}: not a directory, a zip file or a .java file")


_ZIPS = {}


def _read_source(where, max_bytes=DEFAULT_MAX_BYTES):
    """The bytes of one Java source: a regular file, or a zip member of at most ``max_bytes``.

    Raises :class:`SkippedInput` with the reason (``not_regular``, ``too_large``,
    ``unreadable``, ``bad_zip_member``: encrypted, an unsupported compression,
    corrupt data or a wrong checksum).
    """
    if where[0] == "file":
        return read_regular_file(where[1], max_bytes)
    _, zpath, name = where
    zf = _ZIPS.get(zpath)
    try:
        if zf is None:
            zf = _ZIPS[zpath] = zipfile.ZipFile(zpath)
        info = zf.getinfo(name)
        if info.file_size > max_bytes:
            raise SkippedInput("too_large", f"{zpath}!{name}",
                               f"zip member of {info.file_size} bytes, more than the limit of {max_bytes}")
        with zf.open(info) as fh:
            data = fh.read(max_bytes + 1)
    except SkippedInput:
        raise
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error, KeyError,
            ValueError) as exc:
        raise SkippedInput("bad_zip_member", f"{zpath}!{name}", f"unreadable zip member: "
                           f"{type(exc).__name__}: {exc}") from None
    if len(data) > max_bytes:
        raise SkippedInput("too_large", f"{zpath}!{name}", f"zip member of more than {max_bytes} bytes")
    return data


def _extract_java_file(job):
    """Examples of one Java source: ``(examples, counts, problem or None)``. A source that cannot
    be read or is binary (NUL bytes) is skipped and counted by reason."""
    relpath, where, project, opts = job
    counts = _new_counts()
    counts["files"] = 1
    problems = []
    try:
        source = _read_source(where)
    except SkippedInput as exc:
        return [], counts, _skip(counts, None, "files", exc.reason, relpath, 0, exc.detail)
    if b"\0" in source:
        return [], counts, _skip(counts, None, "files", "binary", relpath, 0,
                                 "contains NUL bytes: a binary file, not Java source")
    try:
        examples = java_methods_from_source(source, relpath, project, counts=counts, problems=problems, **opts)
    except (RecursionError, MemoryError) as exc:
        return [], counts, _skip(counts, None, "files", "too_deep", relpath, 0,
                                 f"{type(exc).__name__}: nested too deeply to extract")
    except ValueError as exc:
        return [], counts, _skip(counts, None, "files", "bad_tree", relpath, 0, f"{type(exc).__name__}: {exc}")
    return examples, counts, (problems[0] if problems else None)
