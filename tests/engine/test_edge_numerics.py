"""Edge cases that used to give silently wrong numbers or internal errors,
each compared with torch.autograd where torch has the behaviour."""
import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F
from minigrad.errors import ShapeError

# overflow and 0^-1 at the extremes are the point of these tests
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _pair(values, dtype=np.float64, requires_grad=True):
    arr = np.asarray(values, dtype=dtype)
    return (mg.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


# ------------------------------------------------------------ losses
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_every_target_ignored_gives_zero_gradients(smoothing, weighted):
    rng = np.random.default_rng(0)
    x, xt = _pair(rng.normal(size=(3, 4)))
    target = np.array([-100, -100, -100])
    w = np.array([1.0, 2.0, 0.5, 1.0]) if weighted else None
    loss = F.cross_entropy(x, target, weight=w, label_smoothing=smoothing)
    tl = torch.nn.functional.cross_entropy(
        xt, torch.tensor(target), weight=None if w is None else torch.tensor(w),
        label_smoothing=smoothing)
    loss.backward()
    tl.backward()
    assert np.isnan(loss.item()) and torch.isnan(tl)
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    assert np.all(x.grad.numpy() == 0)


def test_nll_loss_every_target_ignored():
    x, xt = _pair(np.log(np.full((2, 3), 1 / 3)))
    F.nll_loss(x, np.array([-100, -100])).backward()
    torch.nn.functional.nll_loss(xt, torch.tensor([-100, -100])).backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("scale", [1e4, 1e6, 1e7])
def test_log_softmax_keeps_precision_at_large_float32_logits(scale):
    z = (scale + np.array([[0.0, 1.5, -2.0, 0.25]])).astype(np.float32)
    ours = F.log_softmax(mg.tensor(z)).numpy()
    exact = torch.log_softmax(torch.tensor(z, dtype=torch.float64), -1).numpy()
    np.testing.assert_allclose(ours, exact, rtol=1e-6, atol=1e-6)
    ce = F.cross_entropy(mg.tensor(z), np.array([2])).item()
    ce_exact = torch.nn.functional.cross_entropy(torch.tensor(z, dtype=torch.float64),
                                                 torch.tensor([2])).item()
    assert ce > 0
    np.testing.assert_allclose(ce, ce_exact, rtol=1e-6)


def test_log_softmax_gradients_match_torch_including_second_order():
    rng = np.random.default_rng(1)
    x, xt = _pair(rng.normal(size=(3, 5)) * 10)
    v = rng.normal(size=(3, 5))
    g, = mg.grad(F.log_softmax(x, 1), [x], grad_outputs=[mg.tensor(v)], create_graph=True)
    gt, = torch.autograd.grad(torch.log_softmax(xt, 1), [xt], torch.tensor(v), create_graph=True)
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    h, = mg.grad((g * g).sum(), [x])
    ht, = torch.autograd.grad((gt * gt).sum(), [xt])
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-9, atol=1e-12)


def test_log_softmax_with_minus_inf_logits():
    z = np.array([[0.0, -np.inf, 1.0]])
    x, xt = _pair(z)
    y, yt = F.log_softmax(x), torch.log_softmax(xt, -1)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    y[:, 0].sum().backward()
    yt[:, 0].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


# -------------------------------------------------------- arithmetic
def test_pow_zero_exponent_at_zero_has_zero_gradient():
    x, xt = _pair([0.0, 1.0, -2.0])
    (x ** 0).sum().backward()
    (xt ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    x, xt = _pair([0.0, 1.0, -2.0])
    e, et = _pair([0.0, 2.0, 0.0])
    (x ** e).sum().backward()
    (xt ** et).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_division_gradient_does_not_overflow():
    a = mg.tensor(1e-200, dtype=np.float64)
    b = mg.tensor(1e-170, dtype=np.float64, requires_grad=True)
    (a / b).backward()
    np.testing.assert_allclose(b.grad.item(), -1e140, rtol=1e-12)  # -a / b^2
    assert np.isfinite(b.grad.item())


def test_division_gradients_match_torch():
    rng = np.random.default_rng(2)
    a, at = _pair(rng.normal(size=(3, 2)))
    b, bt = _pair(rng.uniform(0.5, 2, size=(2,)))
    g, gb = mg.grad((a / b).sum(), [a, b], create_graph=True)
    gt, gbt = torch.autograd.grad((at / bt).sum(), [at, bt], create_graph=True)
    np.testing.assert_allclose(gb.numpy(), gbt.detach().numpy(), rtol=1e-12)
    h, = mg.grad((gb * gb).sum(), [b])
    ht, = torch.autograd.grad((gbt * gbt).sum(), [bt])
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-10)


# ------------------------------------------------------------- dtypes
def test_gradient_takes_the_leaf_dtype():
    w = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    c = mg.tensor(np.full(3, 2.0, np.float64))
    (w * c).sum().backward()
    wt = torch.ones(3, dtype=torch.float32, requires_grad=True)
    (wt * torch.full((3,), 2.0, dtype=torch.float64)).sum().backward()
    assert w.grad.dtype == np.float32 and wt.grad.dtype == torch.float32
    np.testing.assert_array_equal(w.grad.numpy(), wt.grad.numpy())


def test_adam_state_stays_float32_with_a_float64_constant():
    from optim import Adam

    w = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = Adam([w], lr=0.1)
    (w * mg.tensor(np.full(3, 2.0))).sum().backward()
    opt.step()
    assert w.dtype == np.float32
    for v in opt.state[w].values():
        if isinstance(v, np.ndarray) and v.ndim:
            assert v.dtype == np.float32


def test_erf_keeps_float16():
    x = mg.tensor(np.array([0.1, 0.5], np.float16))
    assert mg.erf(x).dtype == np.float16
    assert torch.erf(torch.tensor([0.1, 0.5], dtype=torch.float16)).dtype == torch.float16


# ----------------------------------------------------------- indexing
@pytest.mark.parametrize("key", [[], np.array([], dtype=np.int64)])
def test_empty_list_index_gives_an_empty_tensor(key):
    x, xt = _pair([1.0, 2.0, 3.0])
    y, yt = x[key], xt[[] if isinstance(key, list) else torch.tensor(key)]
    assert y.shape == tuple(yt.shape) == (0,)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_concatenating_zero_dim_tensors_is_a_clear_error():
    with pytest.raises(RuntimeError):
        torch.cat([torch.tensor(1.0), torch.tensor(2.0)])
    with pytest.raises(ShapeError, match="zero-dimensional"):
        mg.concatenate([mg.tensor(1.0), mg.tensor(2.0)])


def test_float16_embedding_backward():
    w = mg.tensor(np.ones((4, 3), np.float16), requires_grad=True)
    wt = torch.ones(4, 3, dtype=torch.float16, requires_grad=True)
    idx = np.array([0, 1, 1])
    F.embedding(idx, w).sum().backward()
    torch.nn.functional.embedding(torch.tensor(idx), wt).sum().backward()
    assert w.grad.dtype == np.float16
    np.testing.assert_array_equal(w.grad.numpy(), wt.grad.numpy())


def test_float16_integer_array_indexing_backward():
    w = mg.tensor(np.ones((4, 3), np.float16), requires_grad=True)
    wt = torch.ones(4, 3, dtype=torch.float16, requires_grad=True)
    idx = np.array([[0, 1], [1, 3]])
    w[idx].sum().backward()
    wt[torch.tensor(idx)].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), wt.grad.numpy())


# ------------------------------------------------------- array inputs
A = np.random.default_rng(3).normal(size=(3, 4))

ARRAY_CALLS = {
    "exp": lambda w: mg.exp(A) * w.sum(),
    "relu": lambda w: F.relu(A) * w.sum(),
    "matmul": lambda w: mg.matmul(A, w),
    "matmul_vector": lambda w: mg.matmul(A[0], w),
    "linear_module": lambda w: mg.nn.Linear(4, 3, bias=False)(A) * w.sum(),
    "cross_entropy": lambda w: F.cross_entropy(A, np.array([0, 1, 2])) * w.sum(),
    "softmax": lambda w: F.softmax(A) * w.sum(),
    "reshape": lambda w: mg.reshape(A, (12,)) * w.sum(),
    "sum": lambda w: mg.sum(A) * w.sum(),
    "concatenate": lambda w: mg.concatenate([A, w.T]),
    "where": lambda w: mg.where(A > 0, A, 0.0) * w.sum(),
    "maximum": lambda w: mg.maximum(A, 0.0) * w.sum(),
    "clip": lambda w: mg.clip(A, 0, 1) * w.sum(),
    "ndarray_plus_tensor": lambda w: A.T + w,
}


@pytest.mark.parametrize("name", sorted(ARRAY_CALLS))
def test_numpy_arrays_become_constant_tensors(name):
    w = mg.tensor(np.ones((4, 3)), requires_grad=True)
    y = ARRAY_CALLS[name](w)
    assert isinstance(y, mg.Tensor)
    y.sum().backward()
    assert w.grad is not None and w.grad.shape == w.shape


@pytest.mark.parametrize("bad", ["text", None, {"a": 1}])
def test_other_objects_are_a_type_error_naming_the_op(bad):
    with pytest.raises(TypeError, match=r"(?i)exp.*minigrad.tensor"):
        mg.exp(bad)
    with pytest.raises(TypeError, match="matmul"):
        mg.matmul(bad, mg.tensor(np.ones((2, 2))))
