r"""Tree2Seq: a Child-Sum Tree-LSTM encoder and an LSTM decoder with Luong attention.

The model of the method-naming study: the input is a method's syntax tree, the
output the method's name as a sequence of sub-tokens (``get``, ``user``,
``name``).

Encoder. Each node carries a token (an identifier, literal or keyword) and a
node type (``If``, ``Call``, ...); its input vector is the sum of two learned
embeddings,

.. math:: x_j = E_{tok}[\mathrm{token}_j] + E_{type}[\mathrm{type}_j],

and a :class:`~models.treelstm.ChildSumTreeLSTM` computes (h_j, c_j) for every
node, bottom-up. Every node's h_j, the state of its subtree, is a memory slot.

Decoder. An LSTM started from the root's state, (h_0, c_0) = (h_root, c_root),
reads the previous name token y_{t-1} (its embedding) and gives h_t; Luong
attention (:class:`~models.attention.LuongAttention`, general score) over all
subtree states of the method gives h~_t, and

.. math:: p(y_t \mid y_{<t}, \text{tree}) = \mathrm{softmax}(W_s \tilde h_t + b_s).

(Attention as in Luong et al. 2015, without input feeding, so in training the
decoder runs over all target steps at once.)

Training uses teacher forcing: with a target ``tgt = [BOS, y_1, ..., y_n, EOS,
PAD, ...]`` the decoder reads ``tgt[:, :-1]`` and is scored by cross-entropy
against ``tgt[:, 1:]``, padding ignored (``ignore_index=pad_idx``). Inference:
:meth:`Tree2Seq.greedy_decode` and :meth:`Tree2Seq.beam_search`
(:mod:`models.decoding`), each with a length limit.

Trees are given as a batch: ``tokens``, ``node_types`` (N,) and ``parent`` (N,)
for all nodes of B trees (:func:`models.treelstm.batch_trees` joins single
trees); tree b is the b-th root in node order and goes with row b of ``tgt``.
"""
from __future__ import annotations

import minigrad.functional as F
from minigrad import nn
from minigrad.ops import constant, getitem, index_tensor, on_device

from ._ops import inference
from .attention import LuongAttention
from .decoding import beam_search, greedy_search
from .lstm import LSTM
from .treelstm import ChildSumTreeLSTM, TreeSchedule

__all__ = ["Tree2Seq"]


class Tree2Seq(nn.Module):
    """Tree-to-sequence model (see the module docstring).

    ``Tree2Seq(src_vocab_size, num_node_types, tgt_vocab_size, embed_size=64,
    hidden_size=64, dropout=0.0, pad_idx=0, bos_idx=1, eos_idx=2, cell="fused")``.

    Submodules: ``token_embedding`` (src_vocab_size, E), ``type_embedding``
    (num_node_types, E), ``encoder`` (ChildSumTreeLSTM(E, H)),
    ``tgt_embedding`` (tgt_vocab_size, E; row ``pad_idx`` fixed at zero),
    ``decoder`` (LSTM(E, H), batch first), ``attention`` (LuongAttention(H)),
    ``generator`` (Linear(H, tgt_vocab_size): W_s, b_s). ``cell`` ("fused" or
    "composed") is passed to the encoder and the decoder; "composed" makes the
    whole model twice differentiable. ``dropout`` applies to the node and target
    embeddings and to h~ before the generator.
    """

    def __init__(self, src_vocab_size, num_node_types, tgt_vocab_size, embed_size=64,
                 hidden_size=64, dropout=0.0, pad_idx=0, bos_idx=1, eos_idx=2, cell="fused",
                 device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.pad_idx, self.bos_idx, self.eos_idx = pad_idx, bos_idx, eos_idx
        self.token_embedding = nn.Embedding(src_vocab_size, embed_size, **kw)
        self.type_embedding = nn.Embedding(num_node_types, embed_size, **kw)
        self.encoder = ChildSumTreeLSTM(embed_size, hidden_size, cell=cell, **kw)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_size, padding_idx=pad_idx, **kw)
        self.decoder = LSTM(embed_size, hidden_size, batch_first=True, cell=cell, **kw)
        self.attention = LuongAttention(hidden_size, **kw)
        self.generator = nn.Linear(hidden_size, tgt_vocab_size, **kw)
        self.dropout = nn.Dropout(dropout)

    # ------------------------------------------------------------- encoder
    def encode(self, tokens, node_types, parent):
        """Encode a batch of trees.

        Returns ``(memory, memory_mask, state)``: ``memory`` (B, S, H) holds the
        subtree states h_j of tree b's nodes in row b (S = the largest tree),
        ``memory_mask`` (B, S) is a boolean Tensor, True at real nodes, and
        ``state = (h_0, c_0)``, each (1, B, H), the roots' states that start
        the decoder.
        """
        sched = parent if isinstance(parent, TreeSchedule) else TreeSchedule(parent)
        x = (self.token_embedding(index_tensor(tokens))
             + self.type_embedding(index_tensor(node_types)))
        h, c = self.encoder(self.dropout(x), sched)
        index, valid = sched.padded_nodes()
        memory = getitem(h, on_device(index, h))
        roots = on_device(sched.roots, h)
        B, H = sched.num_trees, h.shape[1]
        state = (getitem(h, roots).reshape((1, B, H)), getitem(c, roots).reshape((1, B, H)))
        return memory, constant(valid, h), state

    # ------------------------------------------------------------- decoder
    def decode(self, tgt_in, memory, memory_mask, state, keys=None):
        """Logits (B, T, V) for the decoder inputs ``tgt_in`` (B, T), and the new state."""
        emb = self.dropout(self.tgt_embedding(index_tensor(tgt_in)))
        out, state = self.decoder(emb, state)
        h_tilde, _ = self.attention(out, memory, memory_mask, keys=keys)
        return self.generator(self.dropout(h_tilde)), state

    def forward(self, tokens, node_types, parent, tgt_in):
        """Teacher-forced logits (B, T, V) for decoder inputs ``tgt_in`` (B, T)."""
        memory, mask, state = self.encode(tokens, node_types, parent)
        logits, _ = self.decode(tgt_in, memory, mask, state)
        return logits

    def loss(self, tokens, node_types, parent, tgt):
        """Mean cross-entropy of ``tgt[:, 1:]`` given ``tgt[:, :-1]`` (padding ignored)."""
        tgt = index_tensor(tgt).data
        logits = self(tokens, node_types, parent, index_tensor(tgt[:, :-1]))
        B, T, V = logits.shape
        return F.cross_entropy(logits.reshape((B * T, V)), index_tensor(tgt[:, 1:].reshape(-1)),
                               ignore_index=self.pad_idx)

    # ------------------------------------------------------------ inference
    def _decoding(self, tokens, node_types, parent):
        memory, mask, state = self.encode(tokens, node_types, parent)
        keys = self.attention.project_memory(memory)

        def step(prev, st):
            h, c, keys_, memory_, mask_ = st
            logits, (h, c) = self.decode(prev.reshape(-1, 1), memory_, mask_,
                                         (h.reshape((1,) + h.shape), c.reshape((1,) + c.shape)),
                                         keys=keys_)
            return logits.reshape((logits.shape[0], logits.shape[2])), (
                h.reshape(h.shape[1:]), c.reshape(c.shape[1:]), keys_, memory_, mask_)

        h0, c0 = state
        first = (h0.reshape(h0.shape[1:]), c0.reshape(c0.shape[1:]), keys, memory, mask)
        return step, first, memory.shape[0], memory.device

    def greedy_decode(self, tokens, node_types, parent, max_len=20):
        """The argmax name of every tree: a list of token-id lists (no BOS/EOS)."""
        with inference(self):
            step, state, B, device = self._decoding(tokens, node_types, parent)
            return greedy_search(step, state, B, bos_idx=self.bos_idx, eos_idx=self.eos_idx,
                                 max_len=max_len, device=device)

    def beam_search(self, tokens, node_types, parent, beam_size=4, max_len=20,
                    length_penalty=0.0):
        """The best name of every tree under beam search (see :mod:`models.decoding`)."""
        with inference(self):
            step, state, B, device = self._decoding(tokens, node_types, parent)
            return beam_search(step, state, B, beam_size=beam_size, bos_idx=self.bos_idx,
                               eos_idx=self.eos_idx, max_len=max_len,
                               length_penalty=length_penalty, device=device)
