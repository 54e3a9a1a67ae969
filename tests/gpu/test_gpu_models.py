"""LSTM, TreeLSTM, Tree2Seq and the Transformer on the GPU: forward, backward and short training.

Each model is built once from a seed, copied to the GPU, and run on both
devices from the same inputs: outputs, the loss and every parameter's
gradient must agree (float64 tight, float32 within tolerance), and a short
training run of Tree2Seq and of the Transformer must give the same loss curve.
"""
import copy
import os
import sys

import numpy as np
import pytest
from gpu_utils import GPU, assert_close, on

import minigrad as mg
import optim
from models.lstm import LSTM
from models.transformer import Transformer
from models.treelstm import ChildSumTreeLSTM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models"))
from test_transformer import reversal_pairs  # noqa: E402
from test_tree2seq import make_model, tiny_batch  # noqa: E402

pytestmark = pytest.mark.gpu
DTYPES = [np.float64, np.float32]


def _pair(model, dtype):
    """The model in ``dtype`` on the CPU and an exact copy on the GPU."""
    model = model.double() if dtype == np.float64 else model
    return model, copy.deepcopy(model).to(GPU)


def _grads(model):
    return {name: p.grad for name, p in model.named_parameters() if p.grad is not None}


def _compare_grads(cpu, gpu, dtype, what, scale=1.0):
    a, b = _grads(cpu), _grads(gpu)
    assert a.keys() == b.keys() and a, what
    for name in a:
        assert b[name].device == mg.backend.normalize_device(GPU)
        assert_close(a[name], b[name], dtype, f"{what}: gradient of {name}", scale)


@pytest.mark.parametrize("cell", ["fused", "composed"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm(dtype, cell):
    mg.manual_seed(0)
    cpu, gpu = _pair(LSTM(3, 8, num_layers=2, batch_first=True, cell=cell), dtype)
    x = np.random.default_rng(0).standard_normal((4, 6, 3))
    lengths = [6, 2, 5, 3]
    results = []
    for model, device in ((cpu, "cpu"), (gpu, GPU)):
        xm = on(device, x, dtype, requires_grad=True)
        out, (h, c) = model(xm, lengths=lengths)
        (out.sum() + (h * h).sum() + c.sum()).backward()
        results.append((out, h, c, xm.grad))
    for i, (a, b) in enumerate(zip(*results)):
        assert_close(a, b, dtype, f"LSTM result {i}")
    _compare_grads(cpu, gpu, dtype, "LSTM")


@pytest.mark.parametrize("cell", ["fused", "composed"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_treelstm(dtype, cell):
    parent = np.array([3, 3, -1, 2, 2, -1, 5, 6, 6, 2, 9, 9])
    mg.manual_seed(0)
    cpu, gpu = _pair(ChildSumTreeLSTM(3, 8, cell=cell), dtype)
    x = np.random.default_rng(0).standard_normal((len(parent), 3))
    results = []
    for model, device in ((cpu, "cpu"), (gpu, GPU)):
        xm = on(device, x, dtype, requires_grad=True)
        h, c = model(xm, parent)
        ((h * h).sum() + c.sum()).backward()
        results.append((h, c, xm.grad))
    for i, (a, b) in enumerate(zip(*results)):
        assert_close(a, b, dtype, f"TreeLSTM result {i}")
    _compare_grads(cpu, gpu, dtype, "TreeLSTM")


@pytest.mark.parametrize("dtype", DTYPES)
def test_tree2seq_forward_backward_and_decoding(dtype):
    (tok, typ, parent), tgt, _ = tiny_batch(n=8)
    cpu, gpu = _pair(make_model(), dtype)
    losses = []
    for model in (cpu, gpu):
        loss = model.loss(tok, typ, parent, tgt)
        loss.backward()
        losses.append(loss.item())
    assert_close(losses[0], losses[1], dtype, "Tree2Seq loss")
    _compare_grads(cpu, gpu, dtype, "Tree2Seq", scale=5)
    if dtype == np.float64:
        assert cpu.greedy_decode(tok, typ, parent, max_len=5) == gpu.greedy_decode(tok, typ, parent, max_len=5)
        assert (cpu.beam_search(tok, typ, parent, beam_size=2, max_len=5)
                == gpu.beam_search(tok, typ, parent, beam_size=2, max_len=5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_forward_backward_and_decoding(dtype):
    src, tgt = reversal_pairs(8)
    mg.manual_seed(0)
    cpu, gpu = _pair(Transformer(10, dropout=0.0), dtype)
    losses = []
    for model in (cpu, gpu):
        loss = model.loss(src, tgt)
        loss.backward()
        losses.append(loss.item())
    assert_close(losses[0], losses[1], dtype, "Transformer loss")
    _compare_grads(cpu, gpu, dtype, "Transformer", scale=5)
    if dtype == np.float64:
        assert cpu.greedy_decode(src, max_len=8) == gpu.greedy_decode(src, max_len=8)
        assert cpu.beam_search(src, beam_size=2, max_len=8) == gpu.beam_search(src, beam_size=2, max_len=8)


def _curve(model, loss_fn, steps, impl):
    opt = optim.Adam(model.parameters(), lr=1e-2, impl=impl)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("impl", ["teaching", "flat"])
def test_training_curves_agree(impl):
    """30 Adam steps of Tree2Seq and of the Transformer, float32: the GPU's loss curve is the CPU's."""
    (tok, typ, parent), tgt, _ = tiny_batch(n=16)
    src, ttgt = reversal_pairs(16)
    mg.manual_seed(0)
    cases = {"Tree2Seq": (make_model(E=32, H=32), lambda m: m.loss(tok, typ, parent, tgt)),
             "Transformer": (Transformer(10, dropout=0.0), lambda m: m.loss(src, ttgt))}
    for name, (model, loss_fn) in cases.items():
        cpu, gpu = _pair(model, np.float32)
        a = _curve(cpu, loss_fn, 30, impl)
        b = _curve(gpu, loss_fn, 30, impl)
        assert a[-1] < 0.8 * a[0], f"{name} did not learn: {a}"
        np.testing.assert_allclose(b, a, rtol=2e-3, atol=1e-4, err_msg=f"{name} loss curve")


def test_save_and_load_across_devices(tmp_path):
    """A model and its optimizer saved on the GPU load on the CPU (and back) and continue alike."""
    src, tgt = reversal_pairs(8)
    mg.manual_seed(0)
    model = Transformer(10, dropout=0.0).to(GPU)
    opt = optim.Adam(model.parameters(), lr=1e-2, impl="flat")
    for _ in range(3):
        opt.zero_grad()
        model.loss(src, tgt).backward()
        opt.step()
    mg.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "gpu.ckpt")
    ckpt = mg.load(tmp_path / "gpu.ckpt")

    mg.manual_seed(1)
    twin = Transformer(10, dropout=0.0)                      # other weights, on the CPU
    twin.load_state_dict(ckpt["model"])
    twin_opt = optim.Adam(twin.parameters(), lr=1e-2, impl="flat")
    twin_opt.load_state_dict(ckpt["optim"])
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert q.device == "cpu"
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    for m, o in ((model, opt), (twin, twin_opt)):
        for _ in range(2):
            o.zero_grad()
            m.loss(src, tgt).backward()
            o.step()
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert_close(q, p, np.float32, f"after loading: {name}")

    mg.save(twin.state_dict(), tmp_path / "cpu.ckpt")            # and back onto the GPU
    back = copy.deepcopy(twin).to(GPU)
    for p in back.parameters():
        p.data[...] = 0
    back.load_state_dict(mg.load(tmp_path / "cpu.ckpt"))
    for (name, p), (_, q) in zip(twin.named_parameters(), back.named_parameters()):
        assert q.device == mg.backend.normalize_device(GPU)
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
