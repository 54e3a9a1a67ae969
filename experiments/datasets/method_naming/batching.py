"""Batching: trees encoded with vocabularies and concatenated into one
:class:`TreeBatch` for a TreeLSTM call, with the padded target name subtokens."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vocab import pad_sequences
from .records import Tree


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
