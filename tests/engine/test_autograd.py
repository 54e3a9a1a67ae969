"""The autograd engine's semantics, each checked against PyTorch or a closed form."""
import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import backend
from minigrad.errors import DeviceError, GraphError, ShapeError
from minigrad.function import _check_same_device


def t64(a, requires_grad=True):
    return mg.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def th(a, requires_grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(mine, theirs, **kw):
    mine = mine.numpy() if isinstance(mine, mg.Tensor) else np.asarray(mine)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(mine, theirs, rtol=kw.get("rtol", 1e-12),
                               atol=kw.get("atol", 1e-12))


X0 = np.array([0.5, -1.3, 2.0])


# ------------------------------------------------------------ accumulation
def test_gradients_accumulate_across_backward_calls():
    x, tx = t64(X0), th(X0)
    for f in (lambda v: (v * v).sum(), lambda v: (v * 3.0).sum()):
        f(x).backward()
        f(tx).backward()
    close(x.grad, tx.grad)          # 2x + 3
    close(x.grad, 2 * X0 + 3)


def test_zero_grad_and_setting_grad_to_none():
    x = t64(X0)
    (x * x).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    close(x.grad, np.full(3, 3.0))
    x.grad = None
    (x * 5.0).sum().backward()
    close(x.grad, np.full(3, 5.0))


# ------------------------------------------------------------- retain_graph
def test_second_backward_without_retain_graph_raises():
    x = t64(X0)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(GraphError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x, tx = t64(X0), th(X0)
    y, ty = (x.exp() * x).sum(), (tx.exp() * tx).sum()
    y.backward(retain_graph=True)
    ty.backward(retain_graph=True)
    y.backward()
    ty.backward()
    close(x.grad, tx.grad)
    close(x.grad, 2 * (np.exp(X0) * (1 + X0)))


# ------------------------------------------------ create_graph, higher order
def test_higher_derivatives_of_x4_match_torch_and_closed_form():
    x, tx = t64(X0), th(X0)
    g, tg = (x ** 4).sum(), (tx ** 4).sum()
    expected = [4 * X0 ** 3, 12 * X0 ** 2, 24 * X0]
    for order in range(3):
        g, = mg.grad(g, [x], create_graph=True)
        tg, = torch.autograd.grad(tg, [tx], create_graph=True)
        close(g, tg)
        close(g, expected[order])
        g, tg = g.sum(), tg.sum()


def test_third_derivative_of_tanh_matches_torch():
    x, tx = t64(X0), th(X0)
    y, ty = x.tanh(), tx.tanh()
    for _ in range(3):
        y, = mg.grad(y.sum(), [x], create_graph=True)
        ty, = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    close(y, ty)
    t = np.tanh(X0)
    close(y, -2 * (1 - t ** 2) * (1 - 3 * t ** 2))  # d3/dx3 tanh


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph_gives_differentiable_grad():
    x, tx = t64(X0), th(X0)
    (x ** 3).sum().backward(create_graph=True)
    (tx ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    gx, = mg.grad(x.grad.sum(), [x])
    gtx, = torch.autograd.grad(tx.grad.sum(), tx)
    close(gx, gtx)


# ------------------------------------------------------------ minigrad.grad
def test_grad_with_grad_outputs_matches_torch():
    a = np.arange(6.0).reshape(2, 3) / 7
    v = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    x, tx = t64(a), th(a)
    y, ty = x.tanh() * x, tx.tanh() * tx
    g = mg.grad(y, [x], grad_outputs=[mg.tensor(v)], retain_graph=True)
    tg = torch.autograd.grad(ty, [tx], grad_outputs=[torch.tensor(v)])
    assert isinstance(g, tuple) and len(g) == 1
    close(g[0], tg[0])
    assert x.grad is None  # grad() returns, it does not accumulate
    # minigrad extension: a single (non-list) input gives a single Tensor back
    g_single = mg.grad(y, x, grad_outputs=mg.tensor(v))
    assert isinstance(g_single, mg.Tensor)
    close(g_single, tg[0])


def test_grad_of_several_outputs_sums_them():
    x, tx = t64(X0), th(X0)
    g, = mg.grad([(x * x).sum(), x.exp().sum()], [x])
    tg, = torch.autograd.grad([(tx * tx).sum(), tx.exp().sum()], [tx])
    close(g, tg)


def test_allow_unused():
    x, z = t64(X0), t64(X0)
    y = (x * 2.0).sum()
    with pytest.raises(GraphError, match="input 1.*allow_unused=True"):
        mg.grad(y, [x, z], retain_graph=True)
    gx, gz = mg.grad(y, [x, z], allow_unused=True)
    assert gz is None
    close(gx, np.full(3, 2.0))


def test_grad_with_respect_to_non_leaf():
    x, tx = t64(X0), th(X0)
    h, th_ = x.exp(), tx.exp()
    y, ty = (h * h * x).sum(), (th_ * th_ * tx).sum()
    gh, gx = mg.grad(y, [h, x])
    tgh, tgx = torch.autograd.grad(ty, [th_, tx])
    close(gh, tgh)
    close(gx, tgx)


def test_grad_input_without_requires_grad_raises():
    x = t64(X0)
    c = t64(X0, requires_grad=False)
    with pytest.raises(GraphError, match="does not require grad"):
        mg.grad((x * c).sum(), [c])


# ------------------------------------------------------------- deep graphs
def test_10000_op_chain_backprops_without_recursion_error():
    x = t64([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    close(y, [1.0001 ** 10_000], rtol=1e-9)
    close(x.grad, [1.0001 ** 10_000], rtol=1e-9)


def test_deep_tanh_chain_matches_closed_form():
    x0 = np.array([0.9, -0.3])
    x = t64(x0)
    y = x
    for _ in range(10_000):
        y = y.tanh()
    y.sum().backward()
    # d y_n / d x = prod_k (1 - y_k^2), y_k = tanh(y_{k-1})
    v, d = x0.copy(), np.ones(2)
    for _ in range(10_000):
        v = np.tanh(v)
        d *= 1 - v * v
    close(y, v)
    close(x.grad, d, rtol=1e-10)


# --------------------------------------- outputs dropped before their backward
def test_op_output_dropped_before_its_backward():
    # The Mul consuming sqrt(x) releases its inputs before Sqrt's backward runs,
    # and nothing else holds sqrt(x): Sqrt must still see its output.
    x, tx = t64([1.0, 2.0]), th([1.0, 2.0])
    (mg.sqrt(x) * x.log()).sum().backward()
    (torch.sqrt(tx) * tx.log()).sum().backward()
    close(x.grad, tx.grad)
    w, b = t64(np.ones((3, 2)) * 0.3), t64([0.1, -0.2])
    tw, tb = th(np.ones((3, 2)) * 0.3), th([0.1, -0.2])
    a = np.arange(6.0).reshape(2, 3) / 5
    (mg.sigmoid(mg.tanh(mg.tensor(a) @ w + b) * 2.0).exp()).sum().backward()
    (torch.sigmoid(torch.tanh(torch.tensor(a) @ tw + tb) * 2.0).exp()).sum().backward()
    close(w.grad, tw.grad)
    close(b.grad, tb.grad)


def test_unused_output_of_multi_output_op_was_dropped():
    x, tx = t64(X0), th(X0)
    (mg.split(x, 1)[0] * 2.0).sum().backward()
    (torch.split(tx, 1)[0] * 2.0).sum().backward()
    close(x.grad, tx.grad)


def test_custom_function_using_a_dropped_output():
    from minigrad.function import Function

    class ExpAndNeg(Function):
        def forward(self, x):
            return np.exp(x), -x

        def backward(self, g_exp, g_neg):
            e, _ = self.outputs_tensors()
            return g_exp * e - g_neg

    x = t64(X0)
    e = ExpAndNeg()(x)[0]          # the second output is dropped at once
    (e * 3.0).sum().backward()
    close(x.grad, 3 * np.exp(X0))


# ------------------------------------------------------ shared subexpressions
def test_diamond_graph():
    x, tx = t64(X0), th(X0)

    def f(x, exp):
        a = x * 2.0
        b = exp(a)
        c = a * a
        return (b * c + a).sum()

    f(x, mg.exp).backward()
    f(tx, torch.exp).backward()
    close(x.grad, tx.grad)


def test_input_used_many_times_sums_all_paths():
    x = t64(X0)
    y = x * 1.0
    for k in range(2, 51):
        y = y + x * float(k)
    (y * x).sum().backward()    # d/dx (c x^2) = 2 c x with c = 1 + ... + 50
    close(x.grad, 2 * 1275 * X0)


def test_x_plus_x_and_x_times_x():
    x = t64(X0)
    (x + x).sum().backward()
    close(x.grad, np.full(3, 2.0))
    x.grad = None
    (x * x).sum().backward()
    close(x.grad, 2 * X0)


# ------------------------------------------------------- requires_grad flow
def test_requires_grad_propagates_iff_an_input_requires_it():
    a, b = t64(X0), t64(X0, requires_grad=False)
    assert (a * b).requires_grad and (b * a).requires_grad
    assert not (b * b).requires_grad
    assert (a * b).grad_fn is not None and (b * b).grad_fn is None
    assert not (a * b).is_leaf and a.is_leaf


def test_no_grad_and_enable_grad():
    a = t64(X0)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = a * 2.0
        with mg.enable_grad():
            z = a * 2.0
        w = a * 2.0
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    assert not w.requires_grad


def test_grad_mode_decorators():
    a = t64(X0)

    @mg.no_grad()
    def f(x):
        return x * 2.0

    @mg.enable_grad()
    def g(x):
        return x * 2.0

    assert not f(a).requires_grad
    with mg.no_grad():
        assert g(a).requires_grad
    assert mg.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            _ = 1 / 0
    assert mg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x, tx = t64(X0), th(X0)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (x.detach() * x * x).sum().backward()      # only the undetached factors count
    (tx.detach() * tx * tx).sum().backward()
    close(x.grad, tx.grad)
    close(x.grad, 2 * X0 * X0)


def test_requires_grad_off_on_non_leaf_raises():
    y = t64(X0) * 2.0
    with pytest.raises(GraphError, match="leaf"):
        y.requires_grad = False


def test_retain_grad_on_non_leaves():
    x, tx = t64(X0), th(X0)
    h, h_t = x * 3.0, tx * 3.0
    k = h.exp()
    h.retain_grad()
    h_t.retain_grad()
    (k * h).sum().backward()
    (h_t.exp() * h_t).sum().backward()
    close(h.grad, h_t.grad)
    assert k.grad is None  # not retained
    close(x.grad, tx.grad)


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grads_are_fresh_writable_arrays(create_graph):
    x, y = t64(X0), t64(X0)
    (x + y).sum().backward(create_graph=create_graph)
    assert x.grad.data.flags.writeable
    assert not np.shares_memory(x.grad.data, y.grad.data)
    x.grad.data[0] = 100.0
    close(y.grad, np.ones(3))


def test_leaf_grad_does_not_alias_the_given_gradient():
    x = t64(X0)
    seed = mg.tensor(np.ones(3))
    (x + 0.0).backward(seed)
    seed.data[:] = 7.0
    close(x.grad, np.ones(3))


def test_backward_with_explicit_gradient_matches_torch():
    x, tx = t64(X0), th(X0)
    v = np.array([1.0, -1.0, 2.0])
    (x.exp() * x).backward(mg.tensor(v))
    (tx.exp() * tx).backward(torch.tensor(v))
    close(x.grad, tx.grad)


# ------------------------------------------------------------------- errors
def test_backward_on_non_scalar_without_gradient_raises():
    y = t64(np.ones((2, 3))) * 2.0
    with pytest.raises(GraphError, match=r"scalar.*\(2, 3\)"):
        y.backward()


def test_backward_on_tensor_without_graph_raises():
    with pytest.raises(GraphError, match="does not require grad"):
        mg.tensor(1.0).backward()
    with mg.no_grad():
        y = t64(X0).sum()
    with pytest.raises(GraphError):
        y.backward()


def test_gradient_of_wrong_shape_raises():
    y = t64(X0) * 2.0
    with pytest.raises(GraphError, match=r"\(2,\).*\(3,\)"):
        y.backward(mg.tensor([1.0, 2.0]))


@pytest.mark.parametrize("data", ["abc", b"abc", ["a", "b"], [object()], {"a": 1}])
def test_tensor_from_strings_or_objects_raises_type_error(data):
    with pytest.raises(TypeError):
        mg.tensor(data)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating point"):
        mg.tensor([1, 2, 3], requires_grad=True)
    t = mg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="int64"):
        t.requires_grad_()


def test_broadcast_mismatch_in_add_names_op_and_shapes():
    a, b = t64(np.ones((2, 3))), t64(np.ones((4,)))
    with pytest.raises(ShapeError) as info:
        a + b
    msg = str(info.value)
    assert "Add" in msg and "(2, 3)" in msg and "(4,)" in msg
    assert isinstance(info.value, ValueError)


def test_matmul_mismatch_names_shapes():
    a, b = t64(np.ones((2, 3))), t64(np.ones((4, 5)))
    with pytest.raises(ShapeError) as info:
        a @ b
    msg = str(info.value)
    assert "matmul" in msg and "(2, 3)" in msg and "(4, 5)" in msg


def test_device_mix_names_op_and_devices(monkeypatch):
    class FakeCudaArray(np.ndarray):
        """Not a plain ndarray, so the op asks device_of (plain ndarrays are on the CPU)."""

    a, b = t64(X0), t64(X0)
    b.data = b.data.view(FakeCudaArray)
    real = backend.device_of
    monkeypatch.setattr(backend, "device_of",
                        lambda arr: "cuda" if arr is b.data else real(arr))
    assert b.device == "cuda" and a.device == "cpu"
    with pytest.raises(DeviceError) as info:
        a * b
    msg = str(info.value)
    assert "Mul" in msg and "cpu" in msg and "cuda" in msg
    assert isinstance(info.value, RuntimeError)


def test_check_same_device_with_fake_tensors(monkeypatch):
    class FakeArray:
        def __init__(self, device):
            self.device = device

    class FakeTensor:
        def __init__(self, device):
            self.data = FakeArray(device)

    class FakeFn:
        op_name = "Concatenate"

    monkeypatch.setattr(backend, "device_of", lambda arr: arr.device)
    _check_same_device(FakeFn(), [FakeTensor("cpu"), FakeTensor("cpu")])
    with pytest.raises(DeviceError, match="Concatenate.*cpu.*cuda"):
        _check_same_device(FakeFn(), [FakeTensor("cpu"), FakeTensor("cuda"),
                                      FakeTensor("cpu")])


# ------------------------------------------------------------------- dtypes
def test_dtype_defaults_and_promotion():
    assert mg.tensor(1.5).dtype == np.float32
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert mg.tensor(np.float64(1.0)).dtype == np.float64
    assert mg.tensor([1.0], dtype=np.float64).dtype == np.float64
    f32 = mg.tensor([1.0, 2.0], requires_grad=True)
    f64 = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert (f32 + f64).dtype == np.float64
    assert (f64 * f32).dtype == np.float64
    # torch agrees
    assert (torch.ones(2, dtype=torch.float32) + torch.ones(2, dtype=torch.float64)).dtype \
        == torch.float64


def test_python_scalar_keeps_float32():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * 0.5, 0.5 * x, x + 1, 2.0 - x, x / 3.0, x ** 2.0, 2.0 ** x):
        assert y.dtype == np.float32, y
    y = (x * 0.5).sum()
    y.backward()
    assert x.grad.dtype == np.float32


def test_grad_dtype_follows_leaf_through_promotion():
    f32 = mg.tensor([1.0, 2.0], requires_grad=True)
    f64 = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (f32 * f64).sum().backward()
    assert f64.grad.dtype == np.float64
    close(f32.grad, [3.0, 4.0])
    close(f64.grad, [1.0, 2.0])


# ------------------------------------------------------- Hessian-vector product
def test_hvp_of_small_mlp_matches_torch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    Y = rng.standard_normal((8, 1))
    shapes = [(3, 4), (4,), (4, 1), (1,)]
    values = [rng.standard_normal(s) * 0.7 for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]

    def loss_mg(W1, b1, W2, b2):
        h = mg.tanh(mg.tensor(X) @ W1 + b1)
        r = h @ W2 + b2 - mg.tensor(Y)
        return (r * r).mean()

    def loss_torch(W1, b1, W2, b2):
        h = torch.tanh(torch.tensor(X) @ W1 + b1)
        r = h @ W2 + b2 - torch.tensor(Y)
        return (r * r).mean()

    params = [t64(v) for v in values]
    g = mg.grad(loss_mg(*params), params, create_graph=True)
    dot = sum((gi * mg.tensor(vi)).sum() for gi, vi in zip(g, vs))
    hv = mg.grad(dot, params)

    _, thv = torch.autograd.functional.hvp(
        loss_torch, tuple(th(v, requires_grad=False) for v in values),
        tuple(torch.tensor(v) for v in vs))
    for mine, theirs in zip(hv, thv):
        close(mine, theirs, rtol=1e-10, atol=1e-12)
