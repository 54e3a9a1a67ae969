r"""Luong attention: global attention with the "general" score
(Luong, Pham & Manning 2015, "Effective Approaches to Attention-based Neural
Machine Translation", section 3.1, eqs. 5, 7, 8).

For a decoder state h_t and the encoder states (the memory) \bar h_1..\bar h_S:

.. math::

    \mathrm{score}(h_t, \bar h_s) &= h_t^\top W_a \bar h_s                  && \text{(general)}\\
    a_t(s) &= \frac{\exp \mathrm{score}(h_t, \bar h_s)}
                  {\sum_{s'} \exp \mathrm{score}(h_t, \bar h_{s'})}        && \text{(eq. 7)}\\
    c_t &= \sum_s a_t(s)\, \bar h_s                                       && \text{(context)}\\
    \tilde h_t &= \tanh(W_c [c_t; h_t])                                   && \text{(eq. 5)}

Parameters: ``linear_in.weight`` is W_a (H, H) and ``linear_out.weight`` is W_c
(H, 2H), both without bias as in the paper (the names are OpenNMT's). W_a is
applied to the memory, ``keys = memory W_a^T``, so that score = h_t . (W_a h_s)
and, during decoding, the keys are computed once per source, not once per step.
Positions where ``memory_mask`` is False (padding) get score -inf, i.e. weight 0.
"""
from __future__ import annotations

from minigrad import nn
from minigrad.functional import softmax
from minigrad.ops import concatenate, host_array, matmul, tanh, transpose, where
from minigrad.tensor import Tensor

__all__ = ["LuongAttention"]


class LuongAttention(nn.Module):
    """``forward(query, memory, memory_mask=None, keys=None) -> (h_tilde, weights)``.

    ``query``: (B, T, H) decoder states (or (B, H) for one step); ``memory``:
    (B, S, H); ``memory_mask``: (B, S) booleans, True at real positions;
    ``keys``: ``project_memory(memory)`` when already computed. Returns the
    attentional states h~ (shape of ``query``) and the weights a, (B, T, S)
    (or (B, S)).
    """

    def __init__(self, hidden_size, device=None, dtype=None):
        super().__init__()
        self.hidden_size = hidden_size
        self.linear_in = nn.Linear(hidden_size, hidden_size, bias=False, device=device,
                                   dtype=dtype)                               # W_a
        self.linear_out = nn.Linear(2 * hidden_size, hidden_size, bias=False, device=device,
                                    dtype=dtype)                              # W_c

    def project_memory(self, memory):
        """W_a h_s for every memory position: the keys the scores are taken against."""
        return self.linear_in(memory)

    def forward(self, query, memory, memory_mask=None, keys=None):
        one_step = query.ndim == 2
        if one_step:
            query = query.reshape((query.shape[0], 1, query.shape[1]))
        if keys is None:
            keys = self.project_memory(memory)
        scores = matmul(query, transpose(keys))                   # (B, T, S)
        if memory_mask is not None:
            mask = memory_mask.data if isinstance(memory_mask, Tensor) else memory_mask
            if isinstance(mask, (list, tuple)):
                mask = host_array(mask, bool)
            mask = mask.reshape((mask.shape[0], 1, mask.shape[1]))
            scores = where(mask, scores, float("-inf"))
        weights = softmax(scores, dim=-1)                          # a_t(s)
        context = matmul(weights, memory)                         # c_t
        h_tilde = tanh(self.linear_out(concatenate([context, query], -1)))
        if one_step:
            return (h_tilde.reshape((h_tilde.shape[0], h_tilde.shape[2])),
                    weights.reshape((weights.shape[0], weights.shape[2])))
        return h_tilde, weights

    def extra_repr(self):
        return f"{self.hidden_size}, score='general'"
