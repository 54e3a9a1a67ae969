"""``cross_entropy`` as one op (functional.CrossEntropy): one graph node, the
analytic gradient softmax - target distribution, and a backward that is itself
differentiable. Value parity with torch over many cases is in test_ops_nn.py."""
import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F

TF = torch.nn.functional


def _logits(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * 2


def test_one_node_in_the_graph():
    x = mg.tensor(_logits((4, 5)), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 4, 1, 2]))
    assert type(loss.creator).__name__ == "CrossEntropy"
    assert loss.creator.inputs[0] is x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_is_softmax_minus_target_distribution(reduction, smoothing, weighted):
    x_np = _logits((6, 4), seed=1)
    y = np.array([0, 3, -100, 1, 2, 3])
    w = np.array([0.5, 2.0, 1.0, 1.5]) if weighted else None
    x = mg.tensor(x_np, requires_grad=True)
    loss = F.cross_entropy(x, y, weight=None if w is None else mg.tensor(w), reduction=reduction,
                           label_smoothing=smoothing)
    seed = np.arange(1.0, 7.0) if reduction == "none" else None
    loss.backward(None if seed is None else mg.tensor(seed))
    # the formula, by hand
    p = np.exp(x_np - x_np.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    wc = np.ones(4) if w is None else w
    counted = (y != -100).astype(float)
    q = np.zeros_like(x_np)
    q[np.arange(6), np.where(y == -100, 0, y)] = (1 - smoothing) * wc[np.where(y == -100, 0, y)]
    q = (q + smoothing / 4 * wc[None, :]) * counted[:, None]
    g = p * q.sum(1, keepdims=True) - q
    if reduction == "none":
        g = g * seed[:, None]
    elif reduction == "mean":
        g = g / (counted * wc[np.where(y == -100, 0, y)]).sum()
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-10, atol=1e-12)
    xt = torch.tensor(x_np, requires_grad=True)
    lt = TF.cross_entropy(xt, torch.from_numpy(y), weight=None if w is None else torch.from_numpy(w),
                          reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(loss.numpy(), lt.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_second_derivatives_match_torch(reduction):
    x_np = _logits((3, 4), seed=2)
    y = np.array([1, -100, 3])
    w = np.array([1.0, 0.5, 2.0, 1.5])
    v = np.random.default_rng(3).standard_normal((3, 4))
    x = mg.tensor(x_np, requires_grad=True)
    loss = F.cross_entropy(x, y, weight=mg.tensor(w), reduction=reduction, label_smoothing=0.1).sum()
    g, = mg.grad(loss, [x], create_graph=True)
    hv, = mg.grad((g * mg.tensor(v)).sum(), [x])
    xt = torch.tensor(x_np, requires_grad=True)
    lt = TF.cross_entropy(xt, torch.from_numpy(y), weight=torch.from_numpy(w), reduction=reduction,
                          label_smoothing=0.1).sum()
    gt, = torch.autograd.grad(lt, [xt], create_graph=True)
    hvt, = torch.autograd.grad((gt * torch.from_numpy(v)).sum(), [xt])
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hv.numpy(), hvt.numpy(), rtol=1e-9, atol=1e-12)


def test_every_target_ignored_mean_is_nan_with_zero_gradient():
    x = mg.tensor(_logits((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, np.array([-100, -100]), label_smoothing=0.2)
    assert np.isnan(loss.item())
    loss.backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_out_of_range_target_is_named():
    with pytest.raises(IndexError, match="cross_entropy: target out of range"):
        F.cross_entropy(mg.tensor(_logits((2, 3))), np.array([0, 3]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("targets", [[2, -100, 0, 3], [-100, -100, -100, -100]])
def test_array_backward_equals_the_tensor_backward(reduction, smoothing, targets):
    """The array form (used without create_graph) is the Tensor form's formula."""
    x = mg.tensor(_logits((4, 5), seed=4), requires_grad=True)
    loss = F.cross_entropy(x, np.array(targets), weight=mg.tensor(np.linspace(0.5, 2.0, 5)),
                           reduction=reduction, label_smoothing=smoothing)
    fn = loss.creator
    g = mg.tensor(np.arange(1.0, 5.0)) if reduction == "none" else mg.tensor(np.array(0.7))
    tensor_form = fn.backward(g)          # grad mode on: the recorded Tensor ops
    assert tensor_form.creator is not None
    array_form = fn.backward_array(g.data)
    np.testing.assert_allclose(array_form, tensor_form.numpy(), rtol=1e-13, atol=1e-15)


def _loss_and_grad(x_np, y, create_graph=False, **kwargs):
    x = mg.tensor(x_np, requires_grad=True)
    loss = F.cross_entropy(x, y, **kwargs)
    seed = mg.tensor(np.linspace(0.5, 1.5, len(y))) if kwargs.get("reduction") == "none" else None
    grad, = mg.grad(loss, [x], grad_outputs=None if seed is None else [seed], create_graph=create_graph)
    return loss.numpy(), grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_target_counted_gives_the_masked_computation_bit_for_bit(reduction, smoothing, weighted,
                                                                       create_graph, dtype):
    """With every target a class and ignore_index outside [0, C), no row is masked and the
    op skips the mask and its vector of ones; an ignore_index that is a class but not among
    the targets takes the masked route. Both give the same bits."""
    x_np = _logits((7, 5), seed=3).astype(dtype)
    y = np.array([0, 1, 2, 3, 1, 0, 2])          # class 4 is never a target
    kwargs = dict(reduction=reduction, label_smoothing=smoothing,
                  weight=mg.tensor(np.linspace(0.5, 2.0, 5).astype(dtype)) if weighted else None)
    plain = _loss_and_grad(x_np, y, create_graph, ignore_index=-100, **kwargs)
    masked = _loss_and_grad(x_np, y, create_graph, ignore_index=4, **kwargs)
    for a, b in zip(plain, masked):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("row", ["+inf", "all -inf", "nan", "one -inf"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_non_finite_logits_give_the_log_softmax_values(row, reduction):
    """A row whose maximum is not finite is shifted by 0, as LogSoftmax shifts it: the op
    equals nll_loss(log_softmax(x)), NaN for NaN, in the loss and the gradient; and torch
    where its log_softmax agrees (torch shifts a +inf row by +inf, which makes it all NaN)."""
    x_np = _logits((4, 5), seed=5)
    x_np[1] = {"+inf": [np.inf, 0, 1, 2, 3], "all -inf": [-np.inf] * 5,
               "nan": [0, np.nan, 1, 2, 3], "one -inf": [-np.inf, 0, 1, 2, 3]}[row]
    y = np.array([0, 2, 1, 3])
    seed = None if reduction == "mean" else np.linspace(0.5, 1.5, 4)
    loss, grad = _loss_and_grad(x_np, y, reduction=reduction)
    x = mg.tensor(x_np, requires_grad=True)
    with np.errstate(invalid="ignore"):
        composed = F.nll_loss(F.log_softmax(x, 1), y, reduction=reduction)
        composed_grad, = mg.grad(composed, [x], grad_outputs=None if seed is None else [mg.tensor(seed)])
    np.testing.assert_array_equal(loss, composed.numpy())
    np.testing.assert_allclose(grad, composed_grad.numpy(), rtol=1e-12, atol=1e-15, equal_nan=True)
    if row != "+inf":
        xt = torch.tensor(x_np, requires_grad=True)
        lt = TF.cross_entropy(xt, torch.tensor(y), reduction=reduction)
        gt, = torch.autograd.grad(lt, [xt], None if seed is None else torch.tensor(seed))
        np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(grad, gt.numpy(), rtol=1e-12, atol=1e-15, equal_nan=True)
