"""models.MultiheadAttention and the Transformer layers against torch.nn, and the
small encoder-decoder learning a reversal task.

The layers are compared with ``torch.nn.MultiheadAttention``,
``TransformerEncoderLayer`` and ``TransformerDecoderLayer`` (batch_first,
norm_first=False, dropout 0, ReLU) with copied weights, in float64: outputs,
gradients with respect to the inputs and to every parameter, with padding and
causal masks.
"""
import math

import numpy as np
import pytest
import torch

import minigrad as mg
import optim
from models import (
    MultiheadAttention,
    PositionalEncoding,
    Transformer,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    causal_mask,
)

TOL = dict(rtol=1e-9, atol=1e-11)
E, HEADS, B, L, S = 8, 2, 3, 4, 5


def copy_from_torch(module, torch_module):
    params = dict(torch_module.named_parameters())
    names = [n for n, _ in module.named_parameters()]
    assert names == list(params), (names, list(params))
    for name, p in module.named_parameters():
        p.data[...] = params[name].detach().numpy()


def key_padding(batch, length):
    mask = np.zeros((batch, length), dtype=bool)
    mask[0, -2:] = True
    mask[-1, -1] = True
    return mask


def assert_grads_match(module, torch_module):
    params = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), err_msg=name, **TOL)


def t(a, grad=True):
    return torch.tensor(a, requires_grad=grad)


def m(a, grad=True):
    return mg.tensor(a, requires_grad=grad)


# ------------------------------------------------------------ attention
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", ["self", "cross", "separate"])
@pytest.mark.parametrize("masks", ["none", "padding", "causal_bool", "float_and_padding"])
def test_multihead_attention_matches_torch(batch_first, kind, masks):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(E, HEADS, batch_first=batch_first).double()
    mine = MultiheadAttention(E, HEADS, batch_first=batch_first).double()
    copy_from_torch(mine, ref)
    src_len = L if kind == "self" else S
    shape_q = (B, L, E) if batch_first else (L, B, E)
    shape_k = (B, src_len, E) if batch_first else (src_len, B, E)
    q = rng.standard_normal(shape_q)
    k = q if kind == "self" else rng.standard_normal(shape_k)
    v = rng.standard_normal(shape_k) if kind == "separate" else k
    kw_t, kw_m = {}, {}
    if masks in ("padding", "float_and_padding"):
        kp = key_padding(B, src_len)
        if masks == "float_and_padding":       # torch wants both masks of one type
            kp = np.where(kp, -np.inf, 0.0)
        kw_t["key_padding_mask"], kw_m["key_padding_mask"] = torch.tensor(kp), kp
    if masks == "causal_bool":
        am = causal_mask(max(L, src_len))[:L, :src_len]
        kw_t["attn_mask"], kw_m["attn_mask"] = torch.tensor(am), am
    if masks == "float_and_padding":
        am = rng.standard_normal((L, src_len))
        kw_t["attn_mask"], kw_m["attn_mask"] = torch.tensor(am), am
    g = rng.standard_normal(shape_q)

    qt = t(q)
    kt = qt if kind == "self" else t(k)
    vt = kt if kind != "separate" else t(v)
    out_t, w_t = ref(qt, kt, vt, **kw_t)
    (out_t * torch.tensor(g)).sum().backward()
    qm = m(q)
    km = qm if kind == "self" else m(k)
    vm = km if kind != "separate" else m(v)
    out_m, w_m = mine(qm, km, vm, **kw_m)
    (out_m * mg.tensor(g)).sum().backward()

    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(w_m.numpy(), w_t.detach().numpy(), **TOL)
    for a, b in ((qm, qt), (km, kt), (vm, vt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)
    assert_grads_match(mine, ref)


def test_per_head_weights_and_no_weights():
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    ref = torch.nn.MultiheadAttention(E, HEADS, batch_first=True).double()
    mine = MultiheadAttention(E, HEADS, batch_first=True).double()
    copy_from_torch(mine, ref)
    x = rng.standard_normal((B, L, E))
    _, w_t = ref(*(torch.tensor(x),) * 3, average_attn_weights=False)
    _, w_m = mine(*(mg.tensor(x),) * 3, average_attn_weights=False)
    assert w_m.shape == (B, HEADS, L, L)
    np.testing.assert_allclose(w_m.numpy(), w_t.detach().numpy(), **TOL)
    assert mine(*(mg.tensor(x),) * 3, need_weights=False)[1] is None


def test_per_batch_and_head_attention_mask():
    """A 3-D attn_mask has one (L, S) mask per batch element and head: row b*h + j."""
    rng = np.random.default_rng(5)
    torch.manual_seed(5)
    ref = torch.nn.MultiheadAttention(E, HEADS, batch_first=True).double()
    mine = MultiheadAttention(E, HEADS, batch_first=True).double()
    copy_from_torch(mine, ref)
    q, kv = rng.standard_normal((B, L, E)), rng.standard_normal((B, S, E))
    am = rng.random((B * HEADS, L, S)) < 0.3
    am[..., 0] = False                      # every query keeps one key
    out_t, w_t = ref(torch.tensor(q), torch.tensor(kv), torch.tensor(kv),
                     attn_mask=torch.tensor(am), average_attn_weights=False)
    out_m, w_m = mine(mg.tensor(q), mg.tensor(kv), mg.tensor(kv), attn_mask=am,
                      average_attn_weights=False)
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(w_m.numpy(), w_t.detach().numpy(), **TOL)


def test_parameter_layout_and_init():
    mine = MultiheadAttention(6, 3)
    assert [(n, p.shape) for n, p in mine.named_parameters()] == [
        ("in_proj_weight", (18, 6)), ("in_proj_bias", (18,)),
        ("out_proj.weight", (6, 6)), ("out_proj.bias", (6,))]
    assert np.all(mine.in_proj_bias.numpy() == 0) and np.all(mine.out_proj.bias.numpy() == 0)
    assert np.abs(mine.in_proj_weight.numpy()).max() <= math.sqrt(6 / (18 + 6))


# ----------------------------------------------------------------- layers
def test_encoder_layer_matches_torch():
    rng = np.random.default_rng(2)
    torch.manual_seed(2)
    ref = torch.nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True).double()
    mine = TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True).double()
    copy_from_torch(mine, ref)
    x, g = rng.standard_normal((B, S, E)), rng.standard_normal((B, S, E))
    kp = key_padding(B, S)
    am = causal_mask(S)
    xt = t(x)
    out_t = ref(xt, src_mask=torch.tensor(am), src_key_padding_mask=torch.tensor(kp))
    (out_t * torch.tensor(g)).sum().backward()
    xm = m(x)
    out_m = mine(xm, src_mask=am, src_key_padding_mask=kp)
    (out_m * mg.tensor(g)).sum().backward()
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL)
    assert_grads_match(mine, ref)


def test_decoder_layer_matches_torch():
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    ref = torch.nn.TransformerDecoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True).double()
    mine = TransformerDecoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True).double()
    copy_from_torch(mine, ref)
    y, mem = rng.standard_normal((B, L, E)), rng.standard_normal((B, S, E))
    g = rng.standard_normal((B, L, E))
    tgt_pad, mem_pad = key_padding(B, L), key_padding(B, S)
    future = causal_mask(L)
    yt, memt = t(y), t(mem)
    out_t = ref(yt, memt, tgt_mask=torch.tensor(future), tgt_key_padding_mask=torch.tensor(tgt_pad),
                memory_key_padding_mask=torch.tensor(mem_pad))
    (out_t * torch.tensor(g)).sum().backward()
    ym, memm = m(y), m(mem)
    out_m = mine(ym, memm, tgt_mask=future, tgt_key_padding_mask=tgt_pad,
                 memory_key_padding_mask=mem_pad)
    (out_m * mg.tensor(g)).sum().backward()
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(ym.grad.numpy(), yt.grad.numpy(), **TOL)
    np.testing.assert_allclose(memm.grad.numpy(), memt.grad.numpy(), **TOL)
    assert_grads_match(mine, ref)


def test_is_causal_builds_the_causal_mask():
    rng = np.random.default_rng(4)
    mg.manual_seed(0)
    layer = TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True).double()
    x = mg.tensor(rng.standard_normal((B, S, E)))
    np.testing.assert_array_equal(layer(x, is_causal=True).numpy(),
                                  layer(x, src_mask=causal_mask(S)).numpy())
    # the first position sees only itself: changing later positions leaves it alone
    x2 = x.numpy().copy()
    x2[:, 1:] += 1.0
    np.testing.assert_allclose(layer(mg.tensor(x2), is_causal=True).numpy()[:, 0],
                               layer(x, is_causal=True).numpy()[:, 0])


def test_positional_encoding_formula():
    pe = PositionalEncoding(6, max_len=10).pe.numpy()
    pos, i = 7, 1
    assert abs(pe[pos, 2 * i] - math.sin(pos / 10000 ** (2 * i / 6))) < 1e-6
    assert abs(pe[pos, 2 * i + 1] - math.cos(pos / 10000 ** (2 * i / 6))) < 1e-6
    assert "pe" not in PositionalEncoding(6).state_dict()


# ------------------------------------------------------------- the model
def reversal_pairs(n=32, vocab=10, seed=0):
    """Source: 3..6 random tokens (ids 3..vocab-1); target: the same reversed."""
    rng = np.random.default_rng(seed)
    src = np.zeros((n, 6), dtype=np.int64)
    tgt = np.zeros((n, 8), dtype=np.int64)
    for b in range(n):
        k = int(rng.integers(3, 7))
        seq = rng.integers(3, vocab, k)
        src[b, :k] = seq
        tgt[b, :k + 2] = [1, *seq[::-1], 2]
    return src, tgt


def test_model_sizes_and_shared_embeddings():
    model = Transformer(10)   # the review paper's setting: d 32, 2 heads, 2 + 2 layers
    assert model.d_model == 32 and len(model.encoder_layers) == 2 and len(model.decoder_layers) == 2
    assert model.encoder_layers[0].self_attn.num_heads == 2 and model.positional.max_len == 32
    shared = Transformer(10, share_embeddings=True)
    assert shared.src_embedding is shared.tgt_embedding
    count = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in shared.parameters()) == count - 10 * 32
    with pytest.raises(ValueError, match="share_embeddings"):
        Transformer(10, 12, share_embeddings=True)
    src, tgt = reversal_pairs(4)
    assert shared(src, tgt[:, :-1]).shape == (4, 7, 10)


def test_padding_does_not_change_the_model_output():
    src, tgt = reversal_pairs(4)
    mg.manual_seed(0)
    model = Transformer(10, dropout=0.0).double()
    out = model(src, tgt[:, :-1]).numpy()
    src2 = np.concatenate([src, np.zeros((4, 3), dtype=np.int64)], axis=1)
    tgt2 = np.concatenate([tgt[:, :-1], np.zeros((4, 2), dtype=np.int64)], axis=1)
    out2 = model(src2, tgt2).numpy()[:, :tgt.shape[1] - 1]
    real = tgt[:, :-1] != 0
    np.testing.assert_allclose(out2[real], out[real], rtol=1e-9, atol=1e-10)


def test_transformer_learns_to_reverse():
    src, tgt = reversal_pairs(32)
    mg.manual_seed(0)
    model = Transformer(10, dropout=0.0)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(250):
        opt.zero_grad()
        loss = model.loss(src, tgt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < 0.01:
            break
    assert losses[-1] < 0.02, losses[::25]
    expected = [list(row[1:list(row).index(2)]) for row in tgt]
    greedy = model.greedy_decode(src, max_len=8)
    assert greedy == expected
    assert model.beam_search(src, beam_size=1, max_len=8) == greedy
    assert model.beam_search(src[:8], beam_size=3, max_len=8) == expected[:8]


@pytest.mark.gpu
def test_transformer_on_gpu_matches_cpu():
    src, tgt = reversal_pairs(6)
    mg.manual_seed(0)
    model = Transformer(10, dropout=0.0)
    results = {}
    for device in ("cpu", "cuda"):
        model.to(device)
        model.zero_grad()
        loss = model.loss(src, tgt)
        loss.backward()
        results[device] = (loss.item(), model.generator.weight.grad.numpy(),
                           model.greedy_decode(src, max_len=8),
                           model.beam_search(src, beam_size=2, max_len=8))
    cpu, gpu = results["cpu"], results["cuda"]
    assert abs(cpu[0] - gpu[0]) < 1e-4
    np.testing.assert_allclose(cpu[1], gpu[1], rtol=1e-3, atol=1e-5)
    assert cpu[2] == gpu[2] and cpu[3] == gpu[3]
