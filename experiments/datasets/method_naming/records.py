"""The records of a method-naming corpus and the rules every extractor shares.

:class:`Tree` (an AST in post-order), :class:`MethodExample` (a tree and its
name), :class:`Problem` (an input skipped or partly used) and
:class:`MethodCorpus` (examples split by project); the placeholder
:data:`METHOD_NAME` that hides a method's own name, the token of a literal, the
name filter (``min_subtokens``, ``max_nodes``) and the drop counters. The rules
are described in :mod:`experiments.datasets.method_naming`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..vocab import Vocab, split_subtokens

#: Token that replaces the method's own name inside its tree.
METHOD_NAME = "<METHOD_NAME>"

_IDENT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,29}\Z")


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
        if self.parent[-1] != -1 or np.any(self.parent[:-1] <= idx) or np.any(self.parent[:-1] >= n):
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
    """A skipped or partly used input: file, line (0 when unknown), what was wrong, and the
    short ``reason`` it is counted under in the corpus statistics (``""`` when not a skip)."""

    path: str
    line: int
    message: str
    reason: str = ""

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
        text = (
            f"{len(self.train)}/{len(self.valid)}/{len(self.test)} train/valid/test examples from "
            f"{s.get('projects', '?')} projects; {s.get('files_skipped', 0)} files skipped"
        )
        return text + _by_reason(s.get("files_skipped_by_reason")) + (
            f"; {s['lines_skipped']} lines skipped" + _by_reason(s.get("lines_skipped_by_reason"))
            if s.get("lines_skipped") else "")


def _by_reason(by_reason):
    """`` (2 syntax_error, 1 not_regular)`` of a reason → count dict, most frequent first; ``""`` if empty."""
    if not by_reason:
        return ""
    items = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    return " (" + ", ".join(f"{n} {r}" for r, n in items) + ")"


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
        "files_skipped_by_reason": {},
        "lines_skipped": 0,
        "lines_skipped_by_reason": {},
    }


def _skip(counts, problems, kind, reason, path, line, message):
    """Count one skipped file (``kind="files"``) or line (``"lines"``) under ``reason`` and list it."""
    counts[kind + "_skipped"] += 1
    by_reason = counts[kind + "_skipped_by_reason"]
    by_reason[reason] = by_reason.get(reason, 0) + 1
    problem = Problem(path, line, message, reason)
    if problems is not None:
        problems.append(problem)
    return problem


def _merge_counts(total, counts):
    """Add ``counts`` into ``total``: numbers summed, reason dicts merged (summed per reason)."""
    for k, v in counts.items():
        if isinstance(v, dict):
            into = total.setdefault(k, {})
            for r, n in v.items():
                into[r] = into.get(r, 0) + n
        else:
            total[k] = total.get(k, 0) + v
    return total


def _default_opts(min_subtokens, max_nodes):
    if min_subtokens < 1:
        raise ValueError(f"min_subtokens must be >= 1, got {min_subtokens}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes must be >= 1 or None, got {max_nodes}")
    return {"min_subtokens": int(min_subtokens), "max_nodes": None if max_nodes is None else int(max_nodes)}
