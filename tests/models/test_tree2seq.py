"""models.Tree2Seq and models.LuongAttention.

* the attention equals a plain torch implementation of Luong's equations;
* the encoder's memory and initial decoder state are the TreeLSTM's states;
* teacher forcing ignores padding; greedy decoding follows the argmax path;
  beam search of width 1 is greedy, and a beam wide enough to keep every prefix
  finds the best sequence found by brute force;
* the model overfits 30 tiny trees -> names pairs (a learning test).
"""
import itertools

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F
import optim
from models import LuongAttention, Tree2Seq, TreeSchedule, batch_trees

PAD, BOS, EOS = 0, 1, 2


# ---------------------------------------------------------------- attention
def torch_luong(query, memory, mask, W_a, W_c):
    """score = h_t^T W_a h_s; a = softmax; c_t = sum_s a h_s; h~ = tanh(W_c [c_t; h_t])."""
    scores = torch.einsum("bth,hk,bsk->bts", query, W_a, memory)
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    a = torch.softmax(scores, dim=-1)
    context = a @ memory
    return torch.tanh(torch.cat([context, query], dim=-1) @ W_c.T), a


@pytest.mark.parametrize("one_step", [False, True])
def test_attention_matches_plain_torch(one_step):
    rng = np.random.default_rng(0)
    B, T, S, H = 3, 1 if one_step else 4, 5, 6
    mg.manual_seed(0)
    att = LuongAttention(H).double()
    q, mem = rng.standard_normal((B, T, H)), rng.standard_normal((B, S, H))
    mask = np.ones((B, S), dtype=bool)
    mask[0, 3:] = False
    mask[2, 1:] = False
    g = rng.standard_normal((B, T, H))

    qt, mt = torch.tensor(q, requires_grad=True), torch.tensor(mem, requires_grad=True)
    W_a = torch.tensor(att.linear_in.weight.numpy(), requires_grad=True)
    W_c = torch.tensor(att.linear_out.weight.numpy(), requires_grad=True)
    h_t, a_t = torch_luong(qt, mt, torch.tensor(mask), W_a, W_c)
    (h_t * torch.tensor(g)).sum().backward()

    qm, mm = mg.tensor(q, requires_grad=True), mg.tensor(mem, requires_grad=True)
    if one_step:
        h, a = att(qm.reshape((B, H)), mm, mask)
        h, a = h.reshape((B, 1, H)), a.reshape((B, 1, S))
    else:
        h, a = att(qm, mm, mask)
    (h * mg.tensor(g)).sum().backward()

    tol = dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), h_t.detach().numpy(), **tol)
    np.testing.assert_allclose(a.numpy(), a_t.detach().numpy(), **tol)
    assert np.all(a.numpy()[~np.broadcast_to(mask[:, None], a.shape)] == 0)
    np.testing.assert_allclose(qm.grad.numpy(), qt.grad.numpy(), **tol)
    np.testing.assert_allclose(mm.grad.numpy(), mt.grad.numpy(), **tol)
    np.testing.assert_allclose(att.linear_in.weight.grad.numpy(), W_a.grad.numpy(), **tol)
    np.testing.assert_allclose(att.linear_out.weight.grad.numpy(), W_c.grad.numpy(), **tol)


# ----------------------------------------------------------------- the model
def tiny_batch(seed=0, n=30, vocab=12, types=4):
    """n random trees of 2..6 nodes; the name is the root's token followed by the
    tokens of (up to three of) its children, shifted past PAD/BOS/EOS."""
    rng = np.random.default_rng(seed)
    parents, tokens, kinds, names = [], [], [], []
    for _ in range(n):
        size = int(rng.integers(2, 7))
        p = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, size)])
        tok = rng.integers(0, vocab, size)
        parents.append(p)
        tokens.append(tok)
        kinds.append(rng.integers(0, types, size))
        names.append([3 + int(tok[0])] + [3 + int(tok[j]) for j in range(size) if p[j] == 0][:3])
    tgt = np.full((n, max(map(len, names)) + 2), PAD, dtype=np.int64)
    for b, name in enumerate(names):
        tgt[b, :len(name) + 2] = [BOS, *name, EOS]
    return (np.concatenate(tokens), np.concatenate(kinds), batch_trees(parents)), tgt, names


def make_model(seed=0, E=16, H=16, vocab=12, types=4, tgt_vocab=15, dtype=None):
    mg.manual_seed(seed)
    m = Tree2Seq(vocab, types, tgt_vocab, embed_size=E, hidden_size=H)
    return m.double() if dtype == np.float64 else m


def test_submodules_and_parameter_names():
    m = make_model()
    names = [n for n, _ in m.named_parameters()]
    assert names[:3] == ["token_embedding.weight", "type_embedding.weight", "encoder.weight_ih"]
    assert {"decoder.weight_ih_l0", "attention.linear_in.weight", "attention.linear_out.weight",
            "generator.weight", "generator.bias"} <= set(names)


def test_fused_and_composed_cells_give_the_same_loss_and_gradients():
    (tok, typ, parent), tgt, _ = tiny_batch(n=5)
    results = []
    for cell in ("fused", "composed"):
        mg.manual_seed(0)
        m = Tree2Seq(12, 4, 15, embed_size=8, hidden_size=8, cell=cell).double()
        loss = m.loss(tok, typ, parent, tgt)
        loss.backward()
        results.append([loss.numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_encoder_memory_and_initial_state_are_the_tree_states():
    (tok, typ, parent), _, _ = tiny_batch(n=4)
    m = make_model(dtype=np.float64)
    memory, mask, (h0, c0) = m.encode(tok, typ, parent)
    x = m.token_embedding(tok) + m.type_embedding(typ)
    h, c = m.encoder(x, parent)
    sched = TreeSchedule(parent)
    for b in range(4):
        nodes = np.flatnonzero(sched.tree_of == b)
        np.testing.assert_allclose(memory.numpy()[b, :len(nodes)], h.numpy()[nodes])
        assert mask.numpy()[b].sum() == len(nodes)
        np.testing.assert_allclose(h0.numpy()[0, b], h.numpy()[sched.roots[b]])
        np.testing.assert_allclose(c0.numpy()[0, b], c.numpy()[sched.roots[b]])


def test_teacher_forcing_loss_ignores_padding():
    (tok, typ, parent), tgt, _ = tiny_batch(n=5)
    m = make_model(dtype=np.float64)
    loss = m.loss(tok, typ, parent, tgt).item()
    longer = np.concatenate([tgt, np.full((5, 3), PAD)], axis=1)
    assert abs(m.loss(tok, typ, parent, longer).item() - loss) < 1e-12
    logits = m(tok, typ, parent, tgt[:, :-1]).numpy()
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    y = tgt[:, 1:]
    counted = y != PAD
    expected = -np.take_along_axis(logp, y[..., None], -1)[..., 0][counted].mean()
    assert abs(loss - expected) < 1e-10


def test_greedy_decoding_follows_the_argmax_path():
    (tok, typ, parent), _, _ = tiny_batch(n=6, seed=1)
    m = make_model(seed=1, dtype=np.float64)
    decoded = m.greedy_decode(tok, typ, parent, max_len=5)
    for b, seq in enumerate(decoded):
        # feed the decoded prefix back in: each next token must be the argmax
        ended = len(seq) < 5
        tree = np.flatnonzero(TreeSchedule(parent).tree_of == b)
        sub = batch_trees([np.where(parent[tree] < 0, -1, np.searchsorted(tree, parent[tree]))])
        logits = m(tok[tree], typ[tree], sub, np.array([[BOS, *seq]])).numpy()[0]
        np.testing.assert_array_equal(logits.argmax(-1), seq + [EOS] if ended else seq + [
            int(logits[-1].argmax())])
        assert EOS not in seq


def test_beam_of_width_one_is_greedy():
    for seed in range(3):
        (tok, typ, parent), _, _ = tiny_batch(n=8, seed=seed)
        m = make_model(seed=seed)
        greedy = m.greedy_decode(tok, typ, parent, max_len=6)
        assert m.beam_search(tok, typ, parent, beam_size=1, max_len=6) == greedy


def sequence_logprob(m, tok, typ, parent, seq, finished):
    tgt_in = np.array([[BOS, *seq]])
    logits = m(tok, typ, parent, tgt_in)
    logp = F.log_softmax(logits, dim=-1).numpy()[0]
    targets = list(seq) + ([EOS] if finished else [])
    return sum(logp[t, y] for t, y in enumerate(targets))


def test_exhaustive_beam_finds_the_best_sequence():
    """With a beam as wide as all V^L prefixes, beam search is exact search."""
    V, L = 5, 3
    (tok, typ, parent), _, _ = tiny_batch(n=1, seed=3)
    m = make_model(seed=3, tgt_vocab=V, dtype=np.float64)
    best, best_score = None, -np.inf
    for n in range(L + 1):
        for seq in itertools.product([v for v in range(V) if v != EOS], repeat=n):
            score = sequence_logprob(m, tok, typ, parent, seq, finished=n < L)
            if score > best_score:
                best, best_score = list(seq), score
    assert m.beam_search(tok, typ, parent, beam_size=V ** L, max_len=L) == [best]


def test_tree2seq_overfits_tiny_pairs():
    (tok, typ, parent), tgt, names = tiny_batch(n=30)
    m = make_model(E=32, H=32)
    opt = optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = m.loss(tok, typ, parent, tgt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < 0.01:
            break
    assert losses[-1] < 0.02, losses[::20]
    assert m.greedy_decode(tok, typ, parent, max_len=6) == names
    assert m.beam_search(tok, typ, parent, beam_size=3, max_len=6) == names


@pytest.mark.gpu
def test_tree2seq_on_gpu_matches_cpu():
    (tok, typ, parent), tgt, _ = tiny_batch(n=5)
    m = make_model()
    results = {}
    for device in ("cpu", "cuda"):
        m.to(device)
        m.zero_grad()
        loss = m.loss(tok, typ, parent, tgt)
        loss.backward()
        results[device] = (loss.item(), m.encoder.weight_hh.grad.numpy(),
                           m.greedy_decode(tok, typ, parent, max_len=5),
                           m.beam_search(tok, typ, parent, beam_size=2, max_len=5))
    cpu, gpu = results["cpu"], results["cuda"]
    assert abs(cpu[0] - gpu[0]) < 1e-4
    np.testing.assert_allclose(cpu[1], gpu[1], rtol=1e-3, atol=1e-5)
    assert cpu[2] == gpu[2] and cpu[3] == gpu[3]
