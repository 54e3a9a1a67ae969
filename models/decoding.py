"""Greedy and beam-search decoding for the sequence-to-sequence models.

Both drive a model through one function,
``step(tokens, state) -> (logits, state)``: ``tokens`` is a backend int array
(B',) with the previous token of every hypothesis, ``logits`` a Tensor (B', V)
for the next one, ``state`` whatever the model carries from step to step (a
tuple of Tensors whose first axis is B'). Decoding runs under ``no_grad``.

* Greedy: y_t = argmax_v p(v | y_<t, x); stops at EOS or after ``max_len`` tokens.
* Beam search (width K): keeps the K prefixes of highest total log-probability
  sum_t log p(y_t | y_<t, x). At each step every live prefix is extended by
  every token, and the best K of the K*V candidates are kept. A prefix that
  emitted EOS is finished: it is kept with its score and extended only by EOS
  at cost 0, so finished and live prefixes compete on the same scores. At the
  end the best prefix wins, its score divided by ``length ** length_penalty``
  (0 by default: no normalization). With K = 1 this is greedy decoding.

Returned sequences are Python lists of token ids, without BOS and EOS.
"""
from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.functional import log_softmax
from minigrad.grad_mode import no_grad
from minigrad.ops import getitem
from minigrad.tensor import Tensor

__all__ = ["greedy_search", "beam_search", "reorder_state"]


def reorder_state(state, index):
    """Pick rows ``index`` (a backend int array) of every Tensor/array in ``state``."""
    out = []
    for s in state:
        if s is None:
            out.append(None)
        elif isinstance(s, Tensor):
            out.append(getitem(s, index))
        else:
            out.append(s[index])
    return tuple(out)


def _strip(rows, eos_idx):
    """Token matrix (B, T) on the host -> lists cut before the first EOS."""
    result = []
    for row in rows:
        row = row.tolist()
        result.append(row[:row.index(eos_idx)] if eos_idx in row else row)
    return result


def greedy_search(step, state, batch_size, *, bos_idx, eos_idx, max_len, device="cpu"):
    """Greedy decoding of ``batch_size`` sequences (see the module docstring)."""
    xp = backend.xp_for(device)
    tokens = xp.full((batch_size,), bos_idx, dtype=np.int64)
    done = xp.zeros((batch_size,), dtype=bool)
    emitted = []
    with no_grad():
        for _ in range(max_len):
            logits, state = step(tokens, state)
            nxt = logits.data.argmax(axis=-1)
            nxt = xp.where(done, eos_idx, nxt).astype(np.int64)
            emitted.append(nxt)
            done = done | (nxt == eos_idx)
            if bool(done.all()):
                break
            tokens = nxt
    if not emitted:
        return [[] for _ in range(batch_size)]
    return _strip(backend.to_numpy(xp.stack(emitted, axis=1)), eos_idx)


def beam_search(step, state, batch_size, *, beam_size, bos_idx, eos_idx, max_len,
                length_penalty=0.0, device="cpu", reorder=reorder_state):
    """Beam search with ``beam_size`` hypotheses per sequence (see the module docstring).

    ``state`` describes the ``batch_size`` sequences; it is repeated K times
    (rows b*K .. b*K+K-1 are the beams of sequence b) and reordered with
    ``reorder(state, index)`` whenever beams are selected.
    """
    B, K = batch_size, beam_size
    if K < 1:
        raise ValueError(f"beam_size must be at least 1, got {K}")
    xp = backend.xp_for(device)
    state = reorder(state, xp.repeat(xp.arange(B), K))
    tokens = xp.full((B * K,), bos_idx, dtype=np.int64)
    scores = xp.zeros((B, K))
    scores[:, 1:] = -np.inf                # all beams start as the same empty prefix
    finished = xp.zeros((B, K), dtype=bool)
    lengths = xp.zeros((B, K))
    history = []                           # (beam each came from, token), per step
    with no_grad():
        for _ in range(max_len):
            logits, state = step(tokens, state)
            logp = log_softmax(logits, dim=-1).data.astype(np.float64)
            V = logp.shape[-1]
            logp = logp.reshape(B, K, V)
            only_eos = xp.full((V,), -np.inf)
            only_eos[eos_idx] = 0.0
            logp = xp.where(finished[:, :, None], only_eos, logp)
            candidates = (scores[:, :, None] + logp).reshape(B, K * V)
            # best K candidates; ties go to the lowest index, as argmax does
            top = xp.argsort(-candidates, axis=1, kind="stable")[:, :K]
            beam, token = top // V, top % V
            scores = xp.take_along_axis(candidates, top, axis=1)
            was_finished = xp.take_along_axis(finished, beam, axis=1)
            lengths = xp.take_along_axis(lengths, beam, axis=1) + ~was_finished
            finished = was_finished | (token == eos_idx)
            history.append((beam, token))
            state = reorder(state, (xp.arange(B)[:, None] * K + beam).reshape(-1))
            tokens = token.reshape(-1).astype(np.int64)
            if bool(finished.all()):
                break
    if not history:
        return [[] for _ in range(B)]
    final = scores / xp.maximum(lengths, 1) ** length_penalty if length_penalty else scores
    best = backend.to_numpy(final.argmax(axis=1))
    beams = [backend.to_numpy(b) for b, _ in history]
    toks = [backend.to_numpy(t) for _, t in history]
    rows = np.zeros((B, len(history)), dtype=np.int64)
    k = best.copy()
    for t in range(len(history) - 1, -1, -1):       # follow the back-pointers
        rows[:, t] = toks[t][np.arange(B), k]
        k = beams[t][np.arange(B), k]
    return _strip(rows, eos_idx)
