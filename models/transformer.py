r"""A small Transformer encoder-decoder (Vaswani et al. 2017, "Attention Is All You Need").

Pieces, each with ``torch.nn``'s parameter names and layout so weights can be
copied one-to-one:

* :class:`MultiheadAttention` (``in_proj_weight`` (3E, E), ``in_proj_bias``
  (3E,), ``out_proj``): for h heads of size d = E/h,

  .. math::

      Q = q W_Q^\top + b_Q,\; K = k W_K^\top + b_K,\; V = v W_V^\top + b_V
      \qquad ([W_Q; W_K; W_V] = \text{in\_proj\_weight})\\
      \mathrm{head}_j = \mathrm{softmax}\Big(\frac{Q_j K_j^\top}{\sqrt d} + M\Big) V_j,
      \qquad \mathrm{out} = [\mathrm{head}_1; \ldots; \mathrm{head}_h] W_O^\top + b_O

  where M is -inf where attention is not allowed (padding keys, future
  positions) and 0 elsewhere (section 3.2.2).
* :class:`TransformerEncoderLayer`, :class:`TransformerDecoderLayer`: post-norm
  residual blocks (section 3.1), ReLU feed-forward FFN(x) = max(0, x W_1^T + b_1) W_2^T + b_2::

      encoder:  x = LN1(x + SelfAttn(x));  x = LN2(x + FFN(x))
      decoder:  y = LN1(y + CausalSelfAttn(y));  y = LN2(y + CrossAttn(y, memory));
                y = LN3(y + FFN(y))

  (dropout on each sub-layer's output before the residual sum, and inside the
  FFN and on the attention weights; ``torch.nn``'s ``norm_first=False``).
* :class:`PositionalEncoding`: PE(pos, 2i) = sin(pos / 10000^{2i/d}),
  PE(pos, 2i+1) = cos(pos / 10000^{2i/d}) (section 3.5), added to the token
  embeddings scaled by sqrt(d) (section 3.4).
* :class:`Transformer`: embeddings (shared between source and target or
  separate), positions, the two stacks and a linear ``generator`` to the target
  vocabulary, with teacher-forced loss and greedy / beam decoding.

Masks follow torch's boolean convention: True marks a position that may *not*
be attended to (``key_padding_mask``: (B, S); ``attn_mask``: (L, S) or
(B*h, L, S)); a float ``attn_mask`` is added to the scores.
"""
from __future__ import annotations

import math

import numpy as np

import minigrad.functional as F
from minigrad import backend, nn
from minigrad.factories import empty
from minigrad.nn import init
from minigrad.ops import index_tensor, matmul, split, transpose, where
from minigrad.tensor import Tensor

from ._ops import inference
from .decoding import beam_search, greedy_search

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
           "PositionalEncoding", "Transformer", "causal_mask"]


def causal_mask(size):
    """(size, size) booleans, True above the diagonal: position i may not see j > i."""
    return np.triu(np.ones((size, size), dtype=bool), k=1)


def _mask_array(mask, like):
    """A mask (Tensor, NumPy/CuPy array or list) as a backend array on ``like``'s device."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        mask = mask.data
    elif not (isinstance(mask, np.ndarray) or backend.is_cupy_array(mask)):
        mask = np.asarray(mask)
    return backend.to_device(mask, like.device)


class MultiheadAttention(nn.Module):
    """Multi-head attention with ``torch.nn.MultiheadAttention``'s parameters and call.

    ``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False)``.
    Parameters: ``in_proj_weight`` (3E, E) = [W_Q; W_K; W_V] (xavier-uniform),
    ``in_proj_bias`` (3E,) (zeros), ``out_proj.weight`` (E, E), ``out_proj.bias``
    (zeros).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` returns
    ``(output, weights)``: output (B, L, E) with ``batch_first`` (else (L, B, E)),
    weights (B, L, S) averaged over heads (or (B, h, L, S)), None unless
    ``need_weights``. ``is_causal=True`` without ``attn_mask`` builds the causal mask.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False,
                 device=None, dtype=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        device = device or "cpu"
        self.in_proj_weight = nn.Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype,
                                                 device=device))
        if bias:
            self.in_proj_bias = nn.Parameter(empty(3 * embed_dim, dtype=dtype, device=device))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query, key, value):
        """Q, K, V: one product when query, key and value are the same tensor."""
        E = self.embed_dim
        if query is key and key is value:
            return split(F.linear(query, self.in_proj_weight, self.in_proj_bias), E, -1)
        ws = split(self.in_proj_weight, E, 0)
        bs = (None,) * 3 if self.in_proj_bias is None else split(self.in_proj_bias, E, 0)
        return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), ws, bs))

    def _heads(self, x):
        """(B, L, E) -> (B, h, L, d)."""
        B, L, _ = x.shape
        return x.reshape((B, L, self.num_heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if not self.batch_first:
            same_kv = key is value
            same_qk = query is key
            query = transpose(query, 0, 1)
            key = query if same_qk else transpose(key, 0, 1)
            value = key if same_kv else transpose(value, 0, 1)
        B, L, E = query.shape
        S = key.shape[1]
        h = self.num_heads
        q, k, v = (self._heads(t) for t in self._project(query, key, value))
        scores = matmul(q, transpose(k)) * (1.0 / math.sqrt(self.head_dim))   # (B, h, L, S)

        if attn_mask is None and is_causal:
            attn_mask = causal_mask(L)
        blocked, additive = None, None
        if attn_mask is not None:
            m = _mask_array(attn_mask, scores)
            m = m.reshape((B, h, L, S)) if m.ndim == 3 else m.reshape((1, 1, L, S))
            if m.dtype == bool:
                blocked = m
            else:
                additive = Tensor._make(m.astype(scores.dtype))
        if key_padding_mask is not None:
            kp = _mask_array(key_padding_mask, scores)
            if kp.dtype == bool:
                kp = kp.reshape((B, 1, 1, S))
                blocked = kp if blocked is None else (blocked | kp)
            else:
                kp = Tensor._make(kp.astype(scores.dtype).reshape((B, 1, 1, S)))
                additive = kp if additive is None else additive + kp
        if additive is not None:
            scores = scores + additive
        if blocked is not None:
            scores = where(blocked, float("-inf"), scores)

        weights = F.softmax(scores, dim=-1)
        attended = F.dropout(weights, self.dropout, self.training)
        out = matmul(attended, v).permute(0, 2, 1, 3).reshape((B, L, E))
        out = self.out_proj(out)
        if not self.batch_first:
            out = transpose(out, 0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(axis=1) if average_attn_weights else weights)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


class TransformerEncoderLayer(nn.Module):
    """Post-norm encoder layer, ``torch.nn.TransformerEncoderLayer``'s names:
    ``self_attn``, ``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``,
    ``dropout1``, ``dropout2`` (ReLU, ``norm_first=False``)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, layer_norm_eps=1e-5,
                 batch_first=False, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, **kw)
        self.linear1 = nn.Linear(d_model, dim_feedforward, **kw)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, **kw)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        a, _ = self.self_attn(x, x, x, key_padding_mask=src_key_padding_mask,
                              attn_mask=src_mask, need_weights=False, is_causal=is_causal)
        x = self.norm1(x + self.dropout1(a))
        x = self.norm2(x + self.dropout2(self._ff(x)))
        return x

    def _ff(self, x):
        return self.linear2(self.dropout(F.relu(self.linear1(x))))


class TransformerDecoderLayer(nn.Module):
    """Post-norm decoder layer, ``torch.nn.TransformerDecoderLayer``'s names:
    ``self_attn``, ``multihead_attn``, ``linear1``, ``dropout``, ``linear2``,
    ``norm1``..``norm3``, ``dropout1``..``dropout3`` (ReLU, ``norm_first=False``)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, layer_norm_eps=1e-5,
                 batch_first=False, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, **kw)
        self.linear1 = nn.Linear(d_model, dim_feedforward, **kw)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, **kw)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        y = tgt
        a, _ = self.self_attn(y, y, y, key_padding_mask=tgt_key_padding_mask,
                              attn_mask=tgt_mask, need_weights=False, is_causal=tgt_is_causal)
        y = self.norm1(y + self.dropout1(a))
        a, _ = self.multihead_attn(y, memory, memory, key_padding_mask=memory_key_padding_mask,
                                   attn_mask=memory_mask, need_weights=False,
                                   is_causal=memory_is_causal)
        y = self.norm2(y + self.dropout2(a))
        y = self.norm3(y + self.dropout3(self.linear2(self.dropout(F.relu(self.linear1(y))))))
        return y


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table to (B, T, d) inputs, then applies dropout.

    The table PE (max_len, d) is a non-persistent buffer (moves with ``to()``,
    not saved): PE[pos, 2i] = sin(pos w_i), PE[pos, 2i+1] = cos(pos w_i),
    w_i = 10000^(-2i/d).
    """

    def __init__(self, d_model, max_len=32, dropout=0.0, device=None, dtype=None):
        super().__init__()
        pos = np.arange(max_len)[:, None]
        rates = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2) / d_model)
        pe = np.zeros((max_len, d_model))
        pe[:, 0::2] = np.sin(pos * rates)
        pe[:, 1::2] = np.cos(pos * rates)[:, :d_model // 2]
        from minigrad.tensor import get_default_dtype

        self.register_buffer("pe", Tensor(pe, dtype=dtype or get_default_dtype(),
                                          device=device or "cpu"), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.max_len = max_len

    def forward(self, x):
        T = x.shape[1]
        if T > self.max_len:
            raise ValueError(f"PositionalEncoding: sequence of length {T} exceeds max_len "
                             f"{self.max_len}")
        return self.dropout(x + self.pe[:T])


class Transformer(nn.Module):
    """Encoder-decoder Transformer for token sequences (batch first).

    ``Transformer(src_vocab_size, tgt_vocab_size=None, d_model=32, nhead=2,
    num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=None (4 d_model),
    dropout=0.1, max_len=32, share_embeddings=False, pad_idx=0, bos_idx=1,
    eos_idx=2)``; the defaults are the review paper's small setting.

    Submodules: ``src_embedding``, ``tgt_embedding`` (the same module when
    ``share_embeddings``; padding row fixed at zero), ``positional``,
    ``encoder_layers``, ``decoder_layers`` (ModuleLists), ``generator``
    (Linear(d_model, tgt_vocab_size)). Matrices are xavier-uniform initialized
    (as in ``torch.nn.Transformer``). Masks: source padding is hidden from both
    attentions over the source, target padding and future positions from the
    decoder's self-attention.
    """

    def __init__(self, src_vocab_size, tgt_vocab_size=None, d_model=32, nhead=2,
                 num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=None,
                 dropout=0.1, max_len=32, share_embeddings=False, pad_idx=0, bos_idx=1,
                 eos_idx=2, device=None, dtype=None):
        super().__init__()
        tgt_vocab_size = src_vocab_size if tgt_vocab_size is None else tgt_vocab_size
        if share_embeddings and tgt_vocab_size != src_vocab_size:
            raise ValueError("share_embeddings needs one vocabulary: src_vocab_size "
                             f"{src_vocab_size} != tgt_vocab_size {tgt_vocab_size}")
        kw = {"device": device, "dtype": dtype}
        dim_feedforward = dim_feedforward or 4 * d_model
        self.d_model, self.pad_idx, self.bos_idx, self.eos_idx = d_model, pad_idx, bos_idx, eos_idx
        self.share_embeddings = share_embeddings
        self.src_embedding = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_idx, **kw)
        self.tgt_embedding = (self.src_embedding if share_embeddings else
                              nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_idx, **kw))
        self.positional = PositionalEncoding(d_model, max_len, dropout, **kw)
        layer_kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True, **kw)
        self.encoder_layers = nn.ModuleList([TransformerEncoderLayer(d_model, nhead, **layer_kw)
                                             for _ in range(num_encoder_layers)])
        self.decoder_layers = nn.ModuleList([TransformerDecoderLayer(d_model, nhead, **layer_kw)
                                             for _ in range(num_decoder_layers)])
        self.generator = nn.Linear(d_model, tgt_vocab_size, **kw)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        for emb in (self.src_embedding, self.tgt_embedding):
            emb._zero_padding_row()

    def _embed(self, embedding, tokens):
        return self.positional(embedding(tokens) * math.sqrt(self.d_model))

    def encode(self, src):
        """Memory (B, S, d) and the source padding mask (B, S), a boolean Tensor
        (True at padding)."""
        src = index_tensor(src)
        pad = Tensor._make(src.data == self.pad_idx)
        x = self._embed(self.src_embedding, src)
        for layer in self.encoder_layers:
            x = layer(x, src_key_padding_mask=pad)
        return x, pad

    def decode(self, tgt_in, memory, src_pad):
        """Logits (B, T, V) for decoder inputs ``tgt_in`` (B, T)."""
        tgt_in = index_tensor(tgt_in)
        T = tgt_in.shape[1]
        y = self._embed(self.tgt_embedding, tgt_in)
        tgt_pad = Tensor._make(tgt_in.data == self.pad_idx)
        future = causal_mask(T)
        for layer in self.decoder_layers:
            y = layer(y, memory, tgt_mask=future, tgt_key_padding_mask=tgt_pad,
                      memory_key_padding_mask=src_pad)
        return self.generator(y)

    def forward(self, src, tgt_in):
        memory, src_pad = self.encode(src)
        return self.decode(tgt_in, memory, src_pad)

    def loss(self, src, tgt):
        """Mean cross-entropy of ``tgt[:, 1:]`` given ``tgt[:, :-1]`` (padding ignored)."""
        tgt = index_tensor(tgt).data
        logits = self(src, index_tensor(tgt[:, :-1]))
        B, T, V = logits.shape
        return F.cross_entropy(logits.reshape((B * T, V)), index_tensor(tgt[:, 1:].reshape(-1)),
                               ignore_index=self.pad_idx)

    # ------------------------------------------------------------ inference
    def _decoding(self, src):
        memory, src_pad = self.encode(src)
        xp = backend.get_array_module(memory.data)
        prefix = xp.zeros((memory.shape[0], 0), dtype=np.int64)

        def step(prev, state):
            memory_, pad_, prefix_ = state
            prefix_ = xp.concatenate([prefix_, prev.reshape(-1, 1)], axis=1)
            logits = self.decode(prefix_, memory_, pad_)
            return logits[:, -1], (memory_, pad_, prefix_)

        return step, (memory, src_pad, prefix), memory.shape[0], memory.device

    def greedy_decode(self, src, max_len=None):
        """Argmax decoding: a list of token-id lists (no BOS/EOS), at most ``max_len``
        tokens (default: what the positional table allows)."""
        max_len = self.positional.max_len if max_len is None else max_len
        with inference(self):
            step, state, B, device = self._decoding(src)
            return greedy_search(step, state, B, bos_idx=self.bos_idx, eos_idx=self.eos_idx,
                                 max_len=max_len, device=device)

    def beam_search(self, src, beam_size=4, max_len=None, length_penalty=0.0):
        max_len = self.positional.max_len if max_len is None else max_len
        with inference(self):
            step, state, B, device = self._decoding(src)
            return beam_search(step, state, B, beam_size=beam_size, bos_idx=self.bos_idx,
                               eos_idx=self.eos_idx, max_len=max_len,
                               length_penalty=length_penalty, device=device)
