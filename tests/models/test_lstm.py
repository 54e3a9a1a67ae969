"""models.LSTM / LSTMCell: the two cells agree, the fused sequence op equals the
composed cell unrolled, and the layer equals torch.nn.LSTM.

Everything compared in float64 with weights copied from torch: outputs, final
states, and gradients with respect to the input, h_0, c_0 and every weight,
including variable lengths against torch's pack_padded_sequence.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import GraphError
from models import LSTM, LSTMCell, lstm_cell_composed, lstm_cell_fused
from models.lstm import lstm_layer_fused

TOL = dict(rtol=1e-9, atol=1e-11)


def copy_from_torch(module, torch_module):
    params = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        p.data[...] = params[name].detach().numpy()


def check_close(mine, ref, what):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else ref
    np.testing.assert_allclose(mine.numpy(), ref, err_msg=what, **TOL)


# ------------------------------------------------------------------ the cells
def cell_inputs(rng, B, H, with_mask):
    xg = mg.tensor(rng.standard_normal((B, 4 * H)), requires_grad=True)
    h = mg.tensor(rng.standard_normal((B, H)), requires_grad=True)
    c = mg.tensor(rng.standard_normal((B, H)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4 * H, H)) / math.sqrt(H), requires_grad=True)
    mask = (rng.random((B, 1)) < 0.6) if with_mask else None
    return [xg, h, c, w], mask


@pytest.mark.parametrize("with_mask", [False, True])
def test_fused_and_composed_cells_agree(with_mask):
    rng = np.random.default_rng(0)
    (xg, h, c, w), mask = cell_inputs(rng, 5, 3, with_mask)
    gh, gc = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    results = []
    for cell in (lstm_cell_fused, lstm_cell_composed):
        h1, c1 = cell(xg, h, c, w, mask)
        grads = mg.grad((h1 * mg.tensor(gh)).sum() + (c1 * mg.tensor(gc)).sum(), [xg, h, c, w])
        results.append([h1, c1, *grads])
    for a, b, name in zip(*results, ["h'", "c'", "d xg", "d h", "d c", "d w_hh"]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=name, **TOL)
    if with_mask:   # frozen rows keep their state
        frozen = ~mask[:, 0]
        np.testing.assert_array_equal(results[0][0].numpy()[frozen], h.numpy()[frozen])
        np.testing.assert_array_equal(results[0][1].numpy()[frozen], c.numpy()[frozen])


@pytest.mark.parametrize("with_mask", [False, True])
def test_fused_cell_gradcheck(with_mask):
    rng = np.random.default_rng(1)
    inputs, mask = cell_inputs(rng, 3, 2, with_mask)
    assert mg.gradcheck(lambda *a: lstm_cell_fused(*a, mask), inputs)


def test_composed_cell_is_twice_differentiable():
    rng = np.random.default_rng(2)
    inputs, mask = cell_inputs(rng, 2, 2, True)
    assert mg.gradgradcheck(lambda *a: lstm_cell_composed(*a, mask), inputs)


def test_fused_cell_refuses_create_graph():
    rng = np.random.default_rng(3)
    (xg, h, c, w), _ = cell_inputs(rng, 2, 2, False)
    h1, _ = lstm_cell_fused(xg, h, c, w)
    with pytest.raises(GraphError, match="once differentiable"):
        mg.grad(h1.sum(), [w], create_graph=True)


def test_lstm_cell_module_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.LSTMCell(3, 4).double()
    rng = np.random.default_rng(4)
    x, h, c = rng.standard_normal((5, 3)), rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    h1t, c1t = ref(xt, (ht, ct))
    (h1t.sum() + 2 * c1t.sum()).backward()
    for cell in ("composed", "fused"):
        m = LSTMCell(3, 4, cell=cell).double()
        copy_from_torch(m, ref)
        xm, hm, cm = (mg.tensor(a, requires_grad=True) for a in (x, h, c))
        h1, c1 = m(xm, (hm, cm))
        (h1.sum() + 2 * c1.sum()).backward()
        check_close(h1, h1t, "h'")
        check_close(c1, c1t, "c'")
        for mine, theirs in ((xm, xt), (hm, ht), (cm, ct)):
            check_close(mine.grad, theirs.grad, f"{cell}: input grad")
        for name, p in m.named_parameters():
            check_close(p.grad, getattr(ref, name).grad, f"{cell}: {name}.grad")


# ------------------------------------------------------- the fused sequence op
def layer_inputs(rng, T, B, H, with_bias):
    xg = mg.tensor(rng.standard_normal((T, B, 4 * H)), requires_grad=True)
    h0 = mg.tensor(rng.standard_normal((B, H)), requires_grad=True)
    c0 = mg.tensor(rng.standard_normal((B, H)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4 * H, H)) / math.sqrt(H), requires_grad=True)
    bias = mg.tensor(rng.standard_normal(4 * H), requires_grad=True) if with_bias else None
    return xg, h0, c0, w, bias


def unrolled_composed(xg, h0, c0, w, bias, valid, zero_invalid):
    """The reference: the composed cell, step by step, as the composed layer runs it."""
    h, c, outputs = h0, c0, []
    for t in range(xg.shape[0]):
        xg_t = xg[t] if bias is None else xg[t] + bias
        mask = None if valid is None else valid[t][:, None]
        h, c = lstm_cell_composed(xg_t, h, c, w, mask)
        outputs.append(h * mg.tensor(valid[t][:, None].astype(float))
                       if zero_invalid and valid is not None else h)
    return mg.stack(outputs), h, c


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("lengths", [None, [3, 1, 5, 5], [1, 1, 1, 2]])
@pytest.mark.parametrize("zero_invalid", [False, True])
def test_sequence_op_equals_the_composed_cell_unrolled(with_bias, lengths, zero_invalid):
    rng = np.random.default_rng(5)
    T, B, H = 5, 4, 3
    xg, h0, c0, w, bias = layer_inputs(rng, T, B, H, with_bias)
    valid = None if lengths is None else np.arange(T)[:, None] < np.array(lengths)[None, :]
    g_out, g_h, g_c = (mg.tensor(rng.standard_normal(s)) for s in ((T, B, H), (B, H), (B, H)))
    wrt = [xg, h0, c0, w] + ([bias] if with_bias else [])
    results = []
    for run in (lstm_layer_fused, unrolled_composed):
        if run is lstm_layer_fused:
            out, h, c = run(xg, h0, c0, w, bias, valid, zero_invalid=zero_invalid)
        else:
            out, h, c = run(xg, h0, c0, w, bias, valid, zero_invalid)
        loss = (out * g_out).sum() + (h * g_h).sum() + (c * g_c).sum()
        results.append([out, h, c, *mg.grad(loss, wrt)])
    names = ["output", "h_n", "c_n", "d xg", "d h0", "d c0", "d w_hh", "d bias"]
    for a, b, name in zip(*results, names):
        np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=name, **TOL)
    if valid is not None:
        out = results[0][0].numpy()
        for b, n in enumerate(lengths):          # past its end a row keeps its last state
            np.testing.assert_array_equal(results[0][1].numpy()[b], out[n - 1, b])
            if zero_invalid:
                assert np.all(out[n:, b] == 0)
            else:
                assert np.all(out[n:, b] == out[n - 1, b])


@pytest.mark.parametrize("lengths", [None, [2, 3, 1]])
def test_sequence_op_gradcheck(lengths):
    rng = np.random.default_rng(6)
    T, B, H = 3, 3, 2
    xg, h0, c0, w, bias = layer_inputs(rng, T, B, H, True)
    valid = None if lengths is None else np.arange(T)[:, None] < np.array(lengths)[None, :]

    def f(*a):
        return lstm_layer_fused(*a, valid=valid, zero_invalid=True)

    assert mg.gradcheck(f, [xg, h0, c0, w, bias])


def test_sequence_op_single_step_and_single_row():
    rng = np.random.default_rng(7)
    for T, B in ((1, 3), (4, 1), (1, 1)):
        xg, h0, c0, w, bias = layer_inputs(rng, T, B, 2, True)
        out, h, c = lstm_layer_fused(xg, h0, c0, w, bias)
        ref_out, ref_h, ref_c = unrolled_composed(xg, h0, c0, w, bias, None, False)
        for a, b in ((out, ref_out), (h, ref_h), (c, ref_c)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)
        assert out.shape == (T, B, 2)


def test_sequence_op_keeps_float32():
    rng = np.random.default_rng(8)
    xg, h0, c0, w, bias = layer_inputs(rng, 4, 3, 5, True)
    as32 = [mg.tensor(t.numpy().astype(np.float32), requires_grad=True) for t in (xg, h0, c0, w, bias)]
    out, h, c = lstm_layer_fused(*as32)
    out.sum().backward()
    ref, _, _ = lstm_layer_fused(xg, h0, c0, w, bias)
    assert out.dtype == np.float32 and as32[3].grad.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_sequence_op_refuses_create_graph():
    rng = np.random.default_rng(9)
    xg, h0, c0, w, _ = layer_inputs(rng, 3, 2, 2, False)
    out, _, _ = lstm_layer_fused(xg, h0, c0, w)
    with pytest.raises(GraphError, match="once differentiable"):
        mg.grad(out.sum(), [w], create_graph=True)
    m = LSTM(2, 2).double()                           # the layer says the same
    y, _ = m(mg.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True))
    with pytest.raises(GraphError, match="cell='composed'"):
        mg.grad(y.sum(), [m.weight_hh_l0], create_graph=True)


def test_sequence_op_reports_bad_shapes():
    rng = np.random.default_rng(10)
    xg, h0, c0, w, bias = layer_inputs(rng, 3, 2, 2, True)
    with pytest.raises(mg.ShapeError, match="LSTMLayerFused"):
        lstm_layer_fused(xg[0], h0, c0, w)                      # no time axis
    with pytest.raises(mg.ShapeError, match="bias"):
        lstm_layer_fused(xg, h0, c0, w, bias[:4])
    with pytest.raises(mg.ShapeError, match="w_hh"):
        lstm_layer_fused(xg, h0, c0, w[:, :1])


@pytest.mark.parametrize("lengths", [None, [4, 2, 3]])
def test_fused_and_composed_layers_agree(lengths):
    """The two cells of the layer give the same outputs and gradients (3 layers)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 3))
    g = rng.standard_normal((3, 4, 5))
    results = []
    for cell in ("fused", "composed"):
        mg.manual_seed(0)
        m = LSTM(3, 5, num_layers=3, batch_first=True, cell=cell).double()
        xm = mg.tensor(x, requires_grad=True)
        out, (h, c) = m(xm, lengths=lengths)
        ((out * mg.tensor(g)).sum() + h.sum() + 2 * c.sum()).backward()
        results.append([out.numpy(), h.numpy(), c.numpy(), xm.grad.numpy()]
                       + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL)


# ----------------------------------------------------------------- the layer
def test_parameters_have_torch_names_shapes_and_init():
    mg.manual_seed(0)
    m = LSTM(3, 5, num_layers=2)
    ref = torch.nn.LSTM(3, 5, num_layers=2)
    assert [(n, p.shape) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in ref.named_parameters()]
    bound = 1 / math.sqrt(5)
    values = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert abs(values.mean()) < 0.05 and abs(values.std() - bound / math.sqrt(3)) < 0.02
    assert LSTM(3, 5, bias=False).state_dict().keys() == {"weight_ih_l0", "weight_hh_l0"}


def run_pair(*, num_layers, batch_first, initial_state, lengths, cell, T=4, B=3, I=3, H=4,
             seed=0, use_mask=False):
    """Run torch.nn.LSTM and models.LSTM on the same data; compare everything."""
    torch.manual_seed(seed)
    ref = torch.nn.LSTM(I, H, num_layers=num_layers, batch_first=batch_first).double()
    m = LSTM(I, H, num_layers=num_layers, batch_first=batch_first, cell=cell).double()
    copy_from_torch(m, ref)
    rng = np.random.default_rng(seed)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = rng.standard_normal(shape)
    h0 = rng.standard_normal((num_layers, B, H))
    c0 = rng.standard_normal((num_layers, B, H))
    out_shape = (B, T, H) if batch_first else (T, B, H)
    g_out = rng.standard_normal(out_shape)
    g_h, g_c = rng.standard_normal((num_layers, B, H)), rng.standard_normal((num_layers, B, H))

    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    hx_t = (h0t, c0t) if initial_state else None
    if lengths is None:
        out_t, (hn_t, cn_t) = ref(xt, hx_t)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out_t, (hn_t, cn_t) = ref(packed, hx_t)
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first,
                                                          total_length=T)
    loss_t = ((out_t * torch.tensor(g_out)).sum() + (hn_t * torch.tensor(g_h)).sum()
              + (cn_t * torch.tensor(g_c)).sum())
    loss_t.backward()

    xm, h0m, c0m = (mg.tensor(a, requires_grad=True) for a in (x, h0, c0))
    hx_m = (h0m, c0m) if initial_state else None
    if use_mask and lengths is not None:
        valid = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
        out_m, (hn_m, cn_m) = m(xm, hx_m, mask=valid.T if batch_first else valid)
    else:
        out_m, (hn_m, cn_m) = m(xm, hx_m, lengths=lengths)
    loss_m = ((out_m * mg.tensor(g_out)).sum() + (hn_m * mg.tensor(g_h)).sum()
              + (cn_m * mg.tensor(g_c)).sum())
    loss_m.backward()

    check_close(out_m, out_t, "output")
    check_close(hn_m, hn_t, "h_n")
    check_close(cn_m, cn_t, "c_n")
    check_close(xm.grad, xt.grad, "input grad")
    if initial_state:
        check_close(h0m.grad, h0t.grad, "h_0 grad")
        check_close(c0m.grad, c0t.grad, "c_0 grad")
    for name, p in m.named_parameters():
        check_close(p.grad, getattr(ref, name).grad, f"{name}.grad")
    return out_m


@pytest.mark.parametrize("cell", ["fused", "composed"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("initial_state", [False, True])
def test_lstm_matches_torch(cell, num_layers, batch_first, initial_state):
    run_pair(num_layers=num_layers, batch_first=batch_first, initial_state=initial_state,
             lengths=None, cell=cell)


@pytest.mark.parametrize("T", [1, 2, 7])
def test_lstm_matches_torch_for_several_lengths(T):
    run_pair(num_layers=2, batch_first=False, initial_state=True, lengths=None, cell="fused",
             T=T, seed=T)


@pytest.mark.parametrize("cell", ["fused", "composed"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[4, 2, 3], [1, 4, 1], [4, 4, 4]])
def test_variable_lengths_match_pack_padded_sequence(cell, batch_first, lengths):
    out = run_pair(num_layers=2, batch_first=batch_first, initial_state=True, lengths=lengths,
                   cell=cell)
    out = out.numpy() if batch_first else out.numpy().transpose(1, 0, 2)
    for b, n in enumerate(lengths):
        assert np.all(out[b, n:] == 0)          # zeros past each sequence's end


@pytest.mark.parametrize("batch_first", [False, True])
def test_three_fused_layers_with_lengths_match_torch(batch_first):
    run_pair(num_layers=3, batch_first=batch_first, initial_state=True, lengths=[4, 1, 3],
             cell="fused", T=4, B=3, seed=3)


def test_mask_is_the_same_as_lengths():
    run_pair(num_layers=1, batch_first=True, initial_state=False, lengths=[2, 4, 3],
             cell="fused", use_mask=True)


@given(data=st.data())
def test_variable_lengths_hypothesis(data):
    T = data.draw(st.integers(1, 5), label="T")
    B = data.draw(st.integers(1, 4), label="B")
    lengths = data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B), label="lengths")
    run_pair(num_layers=data.draw(st.sampled_from([1, 2])), batch_first=data.draw(st.booleans()),
             initial_state=data.draw(st.booleans()), lengths=lengths,
             cell=data.draw(st.sampled_from(["fused", "composed"])), T=T, B=B,
             seed=data.draw(st.integers(0, 1000)))


def test_lstm_without_bias_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, bias=False).double()
    m = LSTM(3, 4, bias=False).double()
    copy_from_torch(m, ref)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    xt, xm = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    ref(xt)[0].sum().backward()
    m(xm)[0].sum().backward()
    check_close(xm.grad, xt.grad, "input grad")
    check_close(m.weight_hh_l0.grad, ref.weight_hh_l0.grad, "weight_hh_l0.grad")


def test_unbatched_input_is_a_batch_of_one():
    mg.manual_seed(0)
    m = LSTM(3, 4, num_layers=2).double()
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    out, (h, c) = m(x)
    out_b, (h_b, c_b) = m(x.reshape((5, 1, 3)))
    assert out.shape == (5, 4) and h.shape == (2, 4)
    np.testing.assert_allclose(out.numpy(), out_b.numpy()[:, 0])
    np.testing.assert_allclose(c.numpy(), c_b.numpy()[:, 0])


def test_dropout_between_layers_only_in_training():
    mg.manual_seed(0)
    m = LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(a.numpy(), b.numpy())
    m.eval()
    c, _ = m(x)
    d, _ = m(x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())


def test_bad_arguments_are_reported():
    m = LSTM(3, 4)
    x = mg.zeros(5, 2, 3)
    with pytest.raises(ValueError, match="lengths"):
        m(x, lengths=[0, 5])
    with pytest.raises(ValueError, match="lengths"):
        m(x, lengths=[6, 5])
    with pytest.raises(mg.ShapeError, match="features"):
        m(mg.zeros(5, 2, 4))
    with pytest.raises(mg.ShapeError, match="h_0"):
        m(x, (mg.zeros(2, 2, 4), mg.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="cell"):
        LSTM(3, 4, cell="cudnn")
    m.cell = "cudnn"
    with pytest.raises(ValueError, match="cudnn"):
        m(x)


@pytest.mark.gpu
def test_lstm_on_gpu_matches_cpu():
    mg.manual_seed(0)
    m = LSTM(3, 4, num_layers=2, batch_first=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 3)).astype(np.float32)
    lengths = [5, 2, 4]
    results = []
    for device in ("cpu", "cuda"):
        m.to(device)
        for cell in ("fused", "composed"):
            m.cell = cell
            m.zero_grad()
            xm = mg.tensor(x, device=device, requires_grad=True)
            out, (h, c) = m(xm, lengths=lengths)
            (out.sum() + h.sum() + c.sum()).backward()
            assert out.device == device
            results.append([out.numpy(), h.numpy(), xm.grad.numpy(),
                            m.weight_hh_l1.grad.numpy()])
    for i in (0, 1):
        for a, b in zip(results[i], results[i + 2]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
