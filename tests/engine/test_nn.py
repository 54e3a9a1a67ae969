"""minigrad.nn: registration, layers, initializers, state dicts, modes, devices.

Torch is the reference for names, orderings, layer outputs and gradients, and
for the scale of every initializer. The init checks compare *statistics* (the
distribution's bound and spread), not values: minigrad and torch draw from
different generators.
"""
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
from scipy import stats

import minigrad as mg
from minigrad import nn
from minigrad.nn import init

F64 = np.float64


# ------------------------------------------------------------------ helpers
def tensor_named(model, name):
    """The parameter or buffer called ``name`` (a dotted path) in ``model``."""
    return model.state_dict(keep_vars=True)[name]


def build(lib, parameter, zeros, ones):
    """The same nested model in minigrad (lib=minigrad.nn) or torch (lib=torch.nn)."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.Linear(4, 4)
            self.ln = lib.LayerNorm(4, bias=False)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.scale = parameter(ones(1))
            self.register_buffer("steps", zeros(1))
            self.embed = lib.Embedding(10, 4, padding_idx=0)
            self.blocks = lib.ModuleList([Block() for _ in range(2)])
            self.head = lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Linear(8, 3))
            self.register_buffer("mask", ones(3), persistent=False)
            self.norm = lib.LayerNorm(4)
            self.out = lib.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight          # tied weights
            self.named = lib.Sequential(OrderedDict([("proj", lib.Linear(3, 2)),
                                                     ("act", lib.Tanh())]))

    return Net()


def mg_net():
    return build(nn, nn.Parameter, mg.zeros, mg.ones)


def torch_net():
    return build(torch.nn, torch.nn.Parameter, torch.zeros, torch.ones)


def shapes(named):
    return [(name, tuple(t.shape)) for name, t in named]


class MLP(nn.Module):
    def __init__(self, n_in=3, n_hidden=16, n_out=1, dtype=None):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden, dtype=dtype)
        self.act = nn.Tanh()
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(n_hidden, n_out, dtype=dtype)

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.fc1(x))))


# ------------------------------------------------------- registration, names
def test_names_and_shapes_match_torch():
    m, t = mg_net(), torch_net()
    assert shapes(m.named_parameters()) == shapes(t.named_parameters())
    assert shapes(m.named_buffers()) == shapes(t.named_buffers())
    assert shapes(m.state_dict().items()) == shapes(t.state_dict().items())
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert (shapes(m.named_parameters(recurse=False))
            == shapes(t.named_parameters(recurse=False)))
    assert shapes(m.named_parameters(prefix="net")) == shapes(t.named_parameters(prefix="net"))
    assert (shapes(m.named_parameters(remove_duplicate=False))
            == shapes(t.named_parameters(remove_duplicate=False)))


def test_tied_parameter_yielded_once_but_saved_under_both_names():
    m = mg_net()
    params = list(m.parameters())
    assert len({id(p) for p in params}) == len(params)
    assert "out.weight" not in dict(m.named_parameters())
    sd = m.state_dict()
    assert "out.weight" in sd and "embed.weight" in sd
    assert "mask" not in sd                       # non-persistent buffer
    assert "mask" in dict(m.named_buffers())


def test_state_dict_is_detached_and_shares_memory():
    m = MLP()
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    w = sd["fc1.weight"]
    assert type(w) is mg.Tensor and not w.requires_grad and w.is_leaf
    assert w.data is m.fc1.weight.data
    assert m.state_dict(keep_vars=True)["fc1.weight"] is m.fc1.weight


def test_repr_matches_torch():
    def make(lib, parameter, ones):
        class Net(lib.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.Embedding(10, 4, padding_idx=1)
                self.body = lib.Sequential(lib.Linear(4, 8), lib.GELU(), lib.Linear(8, 4, bias=False))
                self.norm = lib.LayerNorm((2, 4), eps=1e-6)
                self.layers = lib.ModuleList([lib.Sigmoid(), lib.ReLU()])
                self.w = parameter(ones(2))
        return Net()

    assert repr(make(nn, nn.Parameter, mg.ones)) == repr(make(torch.nn, torch.nn.Parameter,
                                                             torch.ones))
    assert repr(nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)"


def test_parameter_basics():
    t = mg.randn(3, 2)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and p.data is t.data
    assert nn.Parameter(np.zeros(2)).dtype == np.float64      # arrays keep dtype
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32       # python floats: default
    assert not nn.Parameter(mg.ones(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert repr(nn.Parameter(mg.ones(2))).startswith("Parameter containing:\ntensor(")
    assert type(p * 2) is mg.Tensor
    with pytest.raises(TypeError):
        nn.Parameter(np.arange(3))          # integers cannot require grad


def test_registration_rules():
    class NoInit(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        NoInit()

    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = mg.zeros(3, 2)           # a plain Tensor is not a Parameter
    m.plain = mg.zeros(2, requires_grad=True)   # just an attribute, as in torch
    assert "plain" not in dict(m.named_parameters())
    m.extra = nn.Parameter(mg.zeros(2))
    assert list(dict(m.named_parameters())) == ["weight", "bias", "extra"]
    del m.extra
    assert list(dict(m.named_parameters())) == ["weight", "bias"]
    m.register_buffer("b", None)
    assert "b" not in m.state_dict()
    m.b = mg.ones(1)
    assert "b" in m.state_dict()
    with pytest.raises(TypeError):
        m.b = 3
    with pytest.raises(KeyError):
        m.register_buffer("a.b", mg.ones(1))
    with pytest.raises(KeyError):
        m.register_parameter("in_features", nn.Parameter(mg.ones(1)))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = m.nothing
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_containers():
    a, b, c = nn.Linear(1, 2), nn.Linear(2, 3), nn.Linear(3, 4)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert seq(mg.ones(5, 1)).shape == (5, 4)
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert [n for n, _ in named.named_children()] == ["first", "second"]
    assert named[1] is b
    with pytest.raises(IndexError):
        seq[3]

    ml = nn.ModuleList([a])
    ml.append(b)
    ml.extend([c])
    ml.insert(0, nn.ReLU())
    assert len(ml) == 4 and ml[1] is a and ml[-1] is c
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    del ml[0]
    assert list(ml) == [a, b, c]
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                      "1.bias", "2.weight", "2.bias"]
    assert isinstance(ml[:2], nn.ModuleList) and len(ml[:2]) == 2

    md = nn.ModuleDict({"enc": a, "dec": b})
    assert list(md) == ["enc", "dec"] and md["dec"] is b and "enc" in md
    assert [n for n, _ in md.named_parameters()][:1] == ["enc.weight"]


def test_apply_train_eval_requires_grad():
    m = MLP()
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Tanh", "Dropout", "Linear", "MLP"]
    assert m.eval() is m
    assert all(not mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_functional_alias():
    import minigrad.nn.functional as F

    assert F is mg.functional and nn.functional is mg.functional


# ------------------------------------------------------- layers against torch
def test_linear_matches_torch():
    mg.manual_seed(1)
    m = nn.Linear(5, 3, dtype=F64)
    t = torch.nn.Linear(5, 3, dtype=torch.float64)
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 2, 5))
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = m(xm), t(xt)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(ym.shape)
    ym.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.bias.grad.numpy(), t.bias.grad.numpy(), rtol=1e-12)
    assert nn.Linear(5, 3, bias=False).bias is None


def test_embedding_matches_torch():
    m = nn.Embedding(7, 3, padding_idx=2, dtype=F64)
    assert np.all(m.weight.numpy()[2] == 0)
    t = torch.nn.Embedding(7, 3, padding_idx=2, dtype=torch.float64)
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    idx = np.array([[0, 2, 5, 5], [6, 2, 1, 0]])
    ym, yt = m(mg.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    g = np.random.default_rng(2).standard_normal(ym.shape)
    ym.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-12)
    assert np.all(m.weight.grad.numpy()[2] == 0)
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4
    assert m.weight.numpy().shape == (7, 3)


def test_embedding_init_is_standard_normal():
    w = nn.Embedding(4000, 50).weight.numpy().ravel()
    assert w.dtype == np.float32
    assert stats.kstest(w, "norm").pvalue > 1e-3
    # a wrong scale fails: the same sample against N(0, 1/3) is rejected
    assert stats.kstest(w, "norm", args=(0, 1 / math.sqrt(3))).pvalue < 1e-6


@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm_matches_torch(affine, bias):
    shape = (3, 4)
    m = nn.LayerNorm(shape, eps=1e-4, elementwise_affine=affine, bias=bias, dtype=F64)
    t = torch.nn.LayerNorm(shape, eps=1e-4, elementwise_affine=affine, bias=bias,
                           dtype=torch.float64)
    rng = np.random.default_rng(3)
    with mg.no_grad():     # non-trivial affine parameters
        for p in m.parameters():
            p.copy_(rng.standard_normal(p.shape))
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    x = rng.standard_normal((2, 3, 4)) * 3 + 1
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = m(xm), t(xt)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(ym.shape)
    ym.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (tname, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12)
    fresh = nn.LayerNorm(4)
    if fresh.weight is not None:
        assert np.all(fresh.weight.numpy() == 1) and np.all(fresh.bias.numpy() == 0)


def test_activation_and_loss_modules_match_torch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 5, size=6)
    y[0] = 3
    w = rng.random(5) + 0.5
    xm, xt = mg.tensor(x), torch.tensor(x)
    pairs = [(nn.ReLU(), torch.nn.ReLU()), (nn.Tanh(), torch.nn.Tanh()),
             (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.GELU(), torch.nn.GELU()),
             (nn.GELU("tanh"), torch.nn.GELU("tanh")),
             (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
             (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1))]
    for mm, tm in pairs:
        np.testing.assert_allclose(mm(xm).numpy(), tm(xt).numpy(), rtol=1e-10, atol=1e-12)
    losses = [
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()),
        (nn.CrossEntropyLoss(w, ignore_index=3, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(torch.tensor(w), ignore_index=3, label_smoothing=0.1)),
        (nn.CrossEntropyLoss(reduction="sum"), torch.nn.CrossEntropyLoss(reduction="sum")),
        (nn.NLLLoss(w, reduction="none"), torch.nn.NLLLoss(torch.tensor(w), reduction="none")),
    ]
    for mm, tm in losses:
        inp_m = xm if not isinstance(mm, nn.NLLLoss) else mg.functional.log_softmax(xm, 1)
        inp_t = xt if not isinstance(tm, torch.nn.NLLLoss) else torch.log_softmax(xt, 1)
        np.testing.assert_allclose(mm(inp_m, mg.tensor(y)).numpy(),
                                   tm(inp_t, torch.tensor(y)).numpy(), rtol=1e-10)
    target = rng.standard_normal((6, 5))
    np.testing.assert_allclose(nn.MSELoss()(xm, mg.tensor(target)).item(),
                               torch.nn.MSELoss()(xt, torch.tensor(target)).item(), rtol=1e-12)
    assert "weight" in nn.CrossEntropyLoss(w).state_dict()
    with pytest.raises(ValueError):
        nn.MSELoss(reduction="avg")


def test_dropout_train_eval():
    mg.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = mg.ones(1000)
    y = drop(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 400 < (y == 0).sum() < 600
    drop.eval()
    assert np.array_equal(drop(x).numpy(), x.numpy())
    model = MLP()
    model.eval()
    inp = mg.randn(8, 3)
    assert np.array_equal(model(inp).numpy(), model(inp).numpy())
    model.train()
    assert not np.array_equal(model(inp).numpy(), model(inp).numpy())
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


# ----------------------------------------------------------------- init
def test_linear_init_bounds_and_variance():
    fan_in, fan_out = 256, 512
    m = nn.Linear(fan_in, fan_out)
    w, b = m.weight.numpy(), m.bias.numpy()
    assert w.dtype == np.float32 and b.dtype == np.float32
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound
    # U(-bound, bound): variance bound^2 / 3; a bound off by sqrt(3) triples it
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=0.03)
    assert stats.kstest(w.ravel(), "uniform", args=(-bound, 2 * bound)).pvalue > 1e-3
    wrong = bound * math.sqrt(3)
    assert stats.kstest(w.ravel(), "uniform", args=(-wrong, 2 * wrong)).pvalue < 1e-6
    # torch's Linear has the same scale
    tw = torch.nn.Linear(fan_in, fan_out).weight.detach().numpy()
    np.testing.assert_allclose(w.std(), tw.std(), rtol=0.03)


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
@pytest.mark.parametrize("name,kwargs", [
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.0}),
    ("xavier_normal_", {}), ("xavier_normal_", {"gain": 0.5}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}),
    ("kaiming_normal_", {"a": 0.2}),
])
def test_initializer_scales_match_torch(shape, name, kwargs):
    mine = getattr(init, name)(mg.zeros(shape), **kwargs).numpy()
    theirs = getattr(torch.nn.init, name)(torch.zeros(shape, dtype=torch.float64),
                                          **kwargs).numpy()
    assert mine.dtype == np.float32
    np.testing.assert_allclose(mine.std(), theirs.std(), rtol=0.03)
    assert abs(mine.mean()) < 0.05 * theirs.std()
    if "uniform" in name:   # same support: the largest |value| sits at the bound
        np.testing.assert_allclose(np.abs(mine).max(), np.abs(theirs).max(), rtol=0.01)
    else:
        assert stats.kstest(mine.ravel(), "norm", args=(0, theirs.std())).pvalue > 1e-4


def test_gain_and_fans_match_torch():
    for nl in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu"]:
        assert init.calculate_gain(nl) == pytest.approx(torch.nn.init.calculate_gain(nl))
    for slope in [None, 0.0, 0.2, math.sqrt(5)]:
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope))
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    for shape in [(3, 5), (4, 2, 3), (6, 3, 2, 5)]:
        assert (init._calculate_fan_in_and_fan_out(mg.zeros(shape))
                == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape)))
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(mg.zeros(5))


def test_simple_initializers_keep_dtype_and_identity():
    t = mg.zeros(400, 300, dtype=F64)
    data = t.data
    assert init.uniform_(t, -2.0, 3.0) is t and t.data is data and t.dtype == F64
    assert -2 <= t.numpy().min() and t.numpy().max() < 3
    init.normal_(t, 1.0, 0.5)
    np.testing.assert_allclose([t.numpy().mean(), t.numpy().std()], [1.0, 0.5], rtol=0.02)
    init.trunc_normal_(t, std=1.0, a=-1.0, b=1.5)
    assert t.numpy().min() >= -1 and t.numpy().max() <= 1.5
    init.constant_(t, 0.3)
    assert np.all(t.numpy() == 0.3)
    init.ones_(t)
    assert np.all(t.numpy() == 1)
    init.zeros_(t)
    assert np.all(t.numpy() == 0)
    p = nn.Parameter(mg.zeros(6, 4))          # works on Parameters in grad mode
    init.orthogonal_(p, gain=2.0)
    np.testing.assert_allclose(p.numpy().T @ p.numpy(), 4 * np.eye(4), atol=1e-5)
    wide = init.orthogonal_(mg.zeros(3, 2, 4)).numpy().reshape(3, 8)
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-5)


def test_manual_seed_repeats_models():
    mg.manual_seed(0)
    a = MLP()
    mg.manual_seed(0)
    b = MLP()
    mg.manual_seed(1)
    c = MLP()
    for (na, pa), (nb, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(),
                                            c.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
        assert not np.array_equal(pa.numpy(), pc.numpy())
    mg.manual_seed(0)
    d = MLP(dtype=F64)          # same draws, kept in float64
    assert d.fc1.weight.dtype == F64
    np.testing.assert_allclose(d.fc1.weight.numpy(), a.fc1.weight.numpy(), rtol=1e-6)


# ----------------------------------------------------- state dict round trip
def test_save_load_round_trip(tmp_path):
    mg.manual_seed(0)
    model = mg_net()
    model.steps.data[...] = 7
    path = tmp_path / "model.ckpt"
    mg.save(model.state_dict(), path)
    mg.manual_seed(123)
    fresh = mg_net()
    params_before = {name: p for name, p in fresh.named_parameters()}
    result = fresh.load_state_dict(mg.load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    for name, p in fresh.named_parameters():
        assert p is params_before[name]                      # same objects
        np.testing.assert_array_equal(p.numpy(), tensor_named(model, name).numpy())
    assert fresh.steps.item() == 7
    assert fresh.out.weight is fresh.embed.weight            # still tied
    x = mg.tensor([[1, 2, 3]])
    h_a, h_b = model.embed(x), fresh.embed(x)
    for blk_a, blk_b in zip(model.blocks, fresh.blocks):
        h_a, h_b = blk_a.ln(blk_a.fc(h_a)), blk_b.ln(blk_b.fc(h_b))
    np.testing.assert_array_equal(model.out(model.norm(h_a)).numpy(),
                                  fresh.out(fresh.norm(h_b)).numpy())

    mlp, other = MLP().eval(), MLP().eval()
    mg.save(mlp.state_dict(), path)
    other.load_state_dict(mg.load(path))
    inp = mg.randn(5, 3)
    np.testing.assert_array_equal(mlp(inp).numpy(), other(inp).numpy())


def test_load_state_dict_accepts_arrays_and_keeps_dtype():
    m = MLP()                                      # float32
    arrays = {k: np.full(v.shape, 0.5, dtype=np.float64) for k, v in m.state_dict().items()}
    w = m.fc1.weight
    data = w.data
    m.load_state_dict(arrays)
    assert m.fc1.weight is w and w.data is data and w.dtype == np.float32
    assert np.all(w.numpy() == 0.5)


def test_load_state_dict_errors_list_everything():
    m = MLP()
    sd = m.state_dict()
    before = {k: v.numpy().copy() for k, v in sd.items()}
    broken = OrderedDict((k, v.numpy() + 1) for k, v in sd.items())
    del broken["fc1.bias"], broken["fc2.weight"]
    broken["fc3.weight"] = np.zeros(2)
    broken["extra"] = np.zeros(1)
    with pytest.raises(nn.StateDictError) as info:
        m.load_state_dict(broken)
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "MLP" in msg
    for key in ["fc1.bias", "fc2.weight", "fc3.weight", "extra"]:
        assert f'"{key}"' in msg
    assert info.value.missing_keys == ["fc1.bias", "fc2.weight"]
    assert info.value.unexpected_keys == ["fc3.weight", "extra"]
    for k, v in m.state_dict().items():                  # nothing was loaded
        np.testing.assert_array_equal(v.numpy(), before[k])

    result = m.load_state_dict(broken, strict=False)
    assert result == (["fc1.bias", "fc2.weight"], ["fc3.weight", "extra"])
    assert result.missing_keys == ["fc1.bias", "fc2.weight"]
    np.testing.assert_array_equal(m.fc1.weight.numpy(), before["fc1.weight"] + 1)
    np.testing.assert_array_equal(m.fc1.bias.numpy(), before["fc1.bias"])


def test_load_state_dict_shape_mismatch_names_key_and_shapes():
    m = MLP(n_hidden=16)
    sd = MLP(n_hidden=8).state_dict()
    for strict in (True, False):
        with pytest.raises(RuntimeError) as info:
            m.load_state_dict(sd, strict=strict)
        msg = str(info.value)
        assert "size mismatch for fc1.weight" in msg
        assert "(8, 3)" in msg and "(16, 3)" in msg
        assert "size mismatch for fc2.weight" in msg and "(1, 8)" in msg and "(1, 16)" in msg
        assert "fc2.bias" not in msg                      # same shape, no complaint


# ---------------------------------------------------------- to, zero_grad
def test_to_dtype_in_place():
    m = MLP()
    m.register_buffer("count", mg.tensor([3]))            # an integer buffer
    m.register_buffer("running", mg.zeros(2))
    params = list(m.parameters())
    loss = m(mg.randn(4, 3)).sum()
    loss.backward()
    assert m.to(dtype=F64) is m
    assert all(a is b for a, b in zip(m.parameters(), params))
    assert all(p.dtype == F64 and p.grad.dtype == F64 for p in m.parameters())
    assert m.running.dtype == F64 and m.count.dtype == np.int64
    assert m(mg.randn(2, 3, dtype=F64)).dtype == F64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    m.to(mg.float64)                                      # a dtype name
    assert all(p.dtype == F64 for p in m.parameters())
    m.double().cpu().to("cpu")
    assert all(p.device == "cpu" for p in m.parameters())
    with pytest.raises(TypeError):
        m.to(dtype=np.int32)


def test_zero_grad():
    m = MLP()
    m(mg.randn(4, 3)).sum().backward()
    grads = {id(p): p.grad for p in m.parameters()}
    m.zero_grad(set_to_none=False)
    for p in m.parameters():
        assert p.grad is grads[id(p)] and np.all(p.grad.numpy() == 0)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_gradients_accumulate_until_zero_grad():
    m = nn.Linear(3, 1, dtype=F64)
    x = mg.randn(5, 3, dtype=F64)
    m(x).sum().backward()
    g1 = m.weight.grad.numpy().copy()
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), 2 * g1)


# --------------------------------------------------------------- end to end
def test_mlp_trains_with_plain_gradient_descent():
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 3)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]).astype(np.float32)
    model = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 1))
    criterion = nn.MSELoss()
    xt, yt = mg.tensor(x), mg.tensor(y)
    lr = 0.1
    losses = []
    for _ in range(200):
        model.zero_grad()
        loss = criterion(model(xt), yt)
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.data -= lr * p.grad.data
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_deepcopy_gives_an_independent_model():
    import copy

    m = MLP()
    clone = copy.deepcopy(m)
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in m.named_parameters()]
    assert clone.fc1.weight is not m.fc1.weight
    with mg.no_grad():
        clone.fc1.weight.data[...] = 0
    assert not np.all(m.fc1.weight.numpy() == 0)


@pytest.mark.gpu
def test_module_to_cuda_and_back():
    mg.manual_seed(0)
    m = MLP().eval()
    x = mg.randn(4, 3)
    expected = m(x).numpy()
    m(x).sum().backward()
    weight = m.fc1.weight
    assert m.to("cuda") is m and m.fc1.weight is weight
    assert all(p.device == "cuda" and p.grad.device == "cuda" for p in m.parameters())
    np.testing.assert_allclose(m(x.to("cuda")).numpy(), expected, rtol=1e-5, atol=1e-6)
    cpu_state = {k: v.numpy() for k, v in m.state_dict().items()}
    fresh = MLP().cuda().eval()
    fresh.load_state_dict(cpu_state)                 # host arrays into GPU parameters
    assert fresh.fc1.weight.device == "cuda"
    np.testing.assert_allclose(fresh(x.to("cuda")).numpy(), expected, rtol=1e-5, atol=1e-6)
    gpu_linear = nn.Linear(64, 32, device="cuda")    # init draws on the GPU generator
    bound = 1 / math.sqrt(64)
    w = gpu_linear.weight.numpy()
    assert np.abs(w).max() <= bound and w.dtype == np.float32
    assert m.cpu().fc1.weight.device == "cpu"
