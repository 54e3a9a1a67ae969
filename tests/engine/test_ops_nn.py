"""minigrad.functional against torch.nn.functional in float64: softmax,
log_softmax, the losses (cross_entropy, nll_loss, mse_loss), layer_norm and
dropout. Values, gradients and second derivatives, on hypothesis-drawn shapes.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.functional as F
from minigrad.testing import assert_close, check_parity, randn, rng_of
from minigrad.testing.strategies import seeds, shapes

REDUCTIONS = ["mean", "sum", "none"]


# ----------------------------------------------------------- softmax family
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data(),
       scale=st.sampled_from([1.0, 50.0, 1000.0]))
def test_softmax(which, shape, seed, data, scale):
    """Any dim (negative too); large logits (scale 1000) must not overflow."""
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    x = randn(rng_of(seed), shape) * scale
    mg_fn, th_fn = getattr(F, which), getattr(TF, which)
    check_parity(lambda x: mg_fn(x, dim), lambda x: th_fn(x, dim), [x], seed=seed,
                 atol=1e-12 * scale)
    check_parity(lambda x: getattr(x, which)(dim=dim), lambda x: getattr(x, which)(dim),
                 [x], seed=seed, atol=1e-12 * scale)


@given(shape=shapes(min_dims=1, min_side=1), seed=seeds())
def test_softmax_default_dim_is_last(shape, seed):
    x = randn(rng_of(seed), shape)
    check_parity(F.softmax, lambda x: TF.softmax(x, -1), [x], seed=seed)
    check_parity(F.log_softmax, lambda x: TF.log_softmax(x, -1), [x], seed=seed)


def test_softmax_with_masked_logits():
    """-inf logits (masked attention positions) get probability 0 and no NaN."""
    x = np.array([[0.0, -np.inf, 1.0, -np.inf], [2.0, 2.0, -np.inf, 0.5]])
    check_parity(lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), [x])


# ------------------------------------------------------------------- losses
@st.composite
def classification_case(draw):
    """Logits/log-probs of shape (C,), (N, C) or (N, C, d1[, d2]) and matching targets,
    with optional class weights, ignore_index (default -100 or a real class)."""
    layout = draw(st.sampled_from(["C", "NC", "NC", "NCd", "NCdd"]))
    n = draw(st.integers(0, 5))
    c = draw(st.integers(1, 5))
    spatial = [draw(st.integers(0, 3)) for _ in range(layout.count("d"))]
    if layout == "C":
        shape, target_shape = (c,), ()
    else:
        shape, target_shape = (n, c, *spatial), (n, *spatial)
    rng = rng_of(draw(seeds()))
    target = np.asarray(rng.integers(0, c, size=target_shape))
    ignore_index = draw(st.sampled_from([-100, -100, 0, c - 1]))
    if ignore_index == -100 and target.size and draw(st.booleans()):
        target = np.where(rng.random(target_shape) < 0.3, -100, target)
    weight = rng.uniform(0.2, 2.0, size=c) if draw(st.booleans()) else None
    reduction = draw(st.sampled_from(REDUCTIONS))
    return shape, target, weight, ignore_index, reduction


def _counted(target, ignore_index):
    return int(np.sum(np.asarray(target) != ignore_index))


@given(case=classification_case(), seed=seeds(),
       smoothing=st.sampled_from([0.0, 0.0, 0.1, 0.25, 1.0]))
def test_cross_entropy(case, seed, smoothing):
    shape, target, weight, ignore_index, reduction = case
    if reduction == "mean":
        # all targets ignored: the mean is 0/0 = NaN in both, but torch's gradient
        # is 0 there and minigrad's NaN (see the note in test_nll_loss)
        assume(_counted(target, ignore_index) > 0)
    x = randn(rng_of(seed), shape) * 2
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)

    def mg_fn(x):
        w = None if weight is None else mg.tensor(weight)
        return F.cross_entropy(x, mg.tensor(target), weight=w, **kw)

    def th_fn(x):
        w = None if weight is None else torch.from_numpy(weight)
        return TF.cross_entropy(x, torch.from_numpy(target), weight=w, **kw)

    check_parity(mg_fn, th_fn, [x], seed=seed)


@given(case=classification_case(), seed=seeds())
def test_nll_loss(case, seed):
    shape, target, weight, ignore_index, reduction = case
    if reduction == "mean":
        # Known difference when every target is ignored: the loss is NaN in both,
        # torch's gradient is 0 and minigrad's NaN (sum(w l) / sum(w) with sum(w) = 0).
        assume(_counted(target, ignore_index) > 0)
    x = randn(rng_of(seed), shape)
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    w_mg = None if weight is None else mg.tensor(weight)
    w_th = None if weight is None else torch.from_numpy(weight)
    check_parity(lambda x: F.nll_loss(x, target, weight=w_mg, **kw),
                 lambda x: TF.nll_loss(x, torch.from_numpy(target), weight=w_th, **kw),
                 [x], seed=seed)


@given(case=classification_case(), seed=seeds())
def test_nll_loss_of_log_softmax_is_cross_entropy(case, seed):
    shape, target, weight, ignore_index, reduction = case
    assume(reduction != "mean" or _counted(target, ignore_index) > 0)
    x = randn(rng_of(seed), shape)
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    dim = 0 if len(shape) == 1 else 1
    check_parity(lambda x: F.nll_loss(F.log_softmax(x, dim), target, **kw),
                 lambda x: TF.cross_entropy(x, torch.from_numpy(target), **kw),
                 [x], seed=seed)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=shapes(), seed=seeds())
def test_mse_loss(reduction, shape, seed):
    rng = rng_of(seed)
    x, y = randn(rng, shape), randn(rng, shape)
    with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, in both
        check_parity(lambda x, y: F.mse_loss(x, y, reduction=reduction),
                     lambda x, y: TF.mse_loss(x, y, reduction=reduction), [x, y], seed=seed)
        check_parity(lambda x, y: F.mse_loss(x, y, reduction=reduction),
                     lambda x, y: TF.mse_loss(x, y, reduction=reduction), [x, y], wrt=[0],
                     seed=seed)


def test_losses_reject_an_unknown_reduction():
    x = mg.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        F.mse_loss(x, x, reduction="average")
    with pytest.raises(ValueError):
        F.cross_entropy(x, np.array([0, 1]), reduction="average")


# --------------------------------------------------------------- layer norm
@st.composite
def layer_norm_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=4, min_side=1))
    k = draw(st.integers(1, len(shape)))
    return shape, tuple(shape[len(shape) - k:])


@given(case=layer_norm_case(), seed=seeds(), affine=st.sampled_from(["none", "weight", "both"]),
       eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_layer_norm(case, seed, affine, eps):
    shape, normalized_shape = case
    rng = rng_of(seed)
    x = randn(rng, shape) * 3 + 1
    args = [x]
    if affine != "none":
        args.append(randn(rng, normalized_shape))
    if affine == "both":
        args.append(randn(rng, normalized_shape))
    check_parity(lambda x, *wb: F.layer_norm(x, normalized_shape, *wb, eps=eps),
                 lambda x, *wb: TF.layer_norm(x, normalized_shape, *wb, eps=eps),
                 args, seed=seed)


@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), seed=seeds())
def test_layer_norm_int_normalized_shape_and_bias_only(shape, seed):
    rng = rng_of(seed)
    x, b = randn(rng, shape), randn(rng, shape[-1:])
    # torch's layer_norm double backward fails with a bias but no weight ("Expected a
    # proper Tensor but got None"); a constant weight of ones is the same function
    ones = torch.ones(shape[-1], dtype=torch.float64)
    check_parity(lambda x, b: F.layer_norm(x, shape[-1], bias=b),
                 lambda x, b: TF.layer_norm(x, (shape[-1],), ones, b), [x, b], seed=seed)


# ------------------------------------------------------------------ dropout
# torch's dropout masks come from its own generator, so they cannot be compared
# element by element; the tests below check the rules torch's dropout follows.
@given(shape=shapes(min_dims=1, min_side=1), seed=st.integers(0, 2**31 - 1),
       p=st.sampled_from([0.1, 0.5, 0.9]))
def test_dropout_same_seed_same_mask(shape, seed, p):
    x = np.abs(randn(rng_of(seed), shape)) + 0.5  # no exact zeros: the mask is visible
    mg.manual_seed(seed)
    a = F.dropout(mg.tensor(x), p).numpy()
    mg.manual_seed(seed)
    b = F.dropout(mg.tensor(x), p).numpy()
    np.testing.assert_array_equal(a, b)
    # every element is either dropped or scaled by 1 / (1 - p)
    kept = a != 0
    np.testing.assert_allclose(a[kept], x[kept] / (1 - p), rtol=1e-15)


def test_dropout_different_seeds_differ_and_stream_advances():
    x = mg.tensor(np.ones(1000))
    mg.manual_seed(1)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()  # the generator moved on: a new mask
    mg.manual_seed(2)
    c = F.dropout(x, 0.5).numpy()
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, c)


@given(shape=shapes(), seed=seeds())
def test_dropout_p0_and_eval_are_identity(shape, seed):
    """p = 0 and training=False give x back unchanged, as torch, gradient 1."""
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: F.dropout(x, 0.0), lambda x: TF.dropout(x, 0.0), [x], seed=seed)
    check_parity(lambda x: F.dropout(x, 0.7, training=False),
                 lambda x: TF.dropout(x, 0.7, training=False), [x], seed=seed)


@given(shape=shapes(), seed=seeds())
def test_dropout_p1_zeroes_everything(shape, seed):
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: F.dropout(x, 1.0), lambda x: TF.dropout(x, 1.0), [x], seed=seed)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError):
        F.dropout(mg.tensor(np.ones(3)), p)
    with pytest.raises(ValueError):
        TF.dropout(torch.ones(3), p)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_preserves_the_mean_in_expectation(p):
    """E[dropout(x)] = x: the kept fraction is 1 - p and survivors are scaled by
    1/(1-p). With n = 200,000 the sample mean of dropout(1) is within 5 standard
    errors of 1 (sd of one element: sqrt(p / (1 - p)))."""
    n = 200_000
    mg.manual_seed(1234)
    y = F.dropout(mg.tensor(np.ones(n)), p).numpy()
    sd = np.sqrt(p / (1 - p))
    assert abs(y.mean() - 1.0) < 5 * sd / np.sqrt(n)
    assert abs((y != 0).mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    # torch's dropout obeys the same law (a check that the law above is torch's)
    torch.manual_seed(1234)
    t = TF.dropout(torch.ones(n, dtype=torch.float64), p)
    assert abs(t.mean().item() - 1.0) < 5 * sd / np.sqrt(n)


@given(shape=shapes(min_dims=1, min_side=1), seed=st.integers(0, 2**31 - 1),
       p=st.sampled_from([0.1, 0.5, 0.9]))
def test_dropout_gradient_is_mask_over_keep_probability(shape, seed, p):
    """d dropout(x) / dx = mask / (1 - p), the mask being the one of the forward pass;
    checked against torch with the mask read off the forward output."""
    x = np.abs(randn(rng_of(seed), shape)) + 0.5
    v = randn(rng_of(seed + 1), shape)
    mg.manual_seed(seed)
    xt = mg.tensor(x, requires_grad=True)
    y = F.dropout(xt, p)
    mask = (y.numpy() != 0).astype(np.float64)
    (gx,) = mg.grad(y, [xt], grad_outputs=mg.tensor(v))
    # torch: x * mask / (1 - p) is dropout with that mask
    xt_th = torch.from_numpy(x.copy()).requires_grad_(True)
    y_th = xt_th * torch.from_numpy(mask) / (1 - p)
    (gx_th,) = torch.autograd.grad(y_th, xt_th, torch.from_numpy(v))
    assert_close(y, y_th, what="dropout output")
    assert_close(gx, gx_th, what="dropout gradient")


def test_dropout_module_follows_train_and_eval():
    drop = mg.nn.Dropout(0.5)
    x = mg.tensor(np.ones((50, 40)))
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    drop.train()
    mg.manual_seed(0)
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0 < (y == 0).sum() < y.size
