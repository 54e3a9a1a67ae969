"""optim.swa_utils against torch.optim.swa_utils (float64), and the SWA formulas.

* AveragedModel (SWA average, EMA through avg_fn and multi_avg_fn, buffers):
  the averaged weights after N updates equal torch's within 1e-12 (the same
  arithmetic, so in practice exactly), and equal the plain mean of the
  snapshots.
* SWALR: the learning rates of 100 steps equal torch's (1e-12), both
  strategies, several anneal_epochs, several groups.
* SWACyclicLR: the paper's eq. (1) written out here.
"""
import numpy as np
import pytest
import torch

import minigrad as mg
import optim
from minigrad import nn
from optim import functional as F
from optim.swa_utils import (
    SWALR,
    AveragedModel,
    SWACyclicLR,
    get_ema_avg_fn,
    get_ema_multi_avg_fn,
    get_swa_avg_fn,
    get_swa_multi_avg_fn,
)

TOL = 1e-12


# ---------------------------------------------------------------------------
# a batch-norm-like module (buffers that the averaged model copies)
# ---------------------------------------------------------------------------

class BatchNormLike(nn.Module):
    """torch.nn.BatchNorm1d's training-mode behaviour on (N, C) inputs.

    Normalize with the batch mean and biased variance; update the running
    mean and the running *unbiased* variance with ``momentum``, or with the
    cumulative factor 1/num_batches_tracked when ``momentum`` is None.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(mg.Tensor(np.ones(num_features)))
        self.bias = nn.Parameter(mg.Tensor(np.zeros(num_features)))
        self.register_buffer("running_mean", mg.Tensor(np.zeros(num_features)))
        self.register_buffer("running_var", mg.Tensor(np.ones(num_features)))
        self.register_buffer("num_batches_tracked", mg.Tensor(np.array(0, dtype=np.int64)))

    def reset_running_stats(self):
        self.running_mean.data[...] = 0
        self.running_var.data[...] = 1
        self.num_batches_tracked.data[...] = 0

    def forward(self, x):
        if not self.training:
            mean, var = self.running_mean, self.running_var
        else:
            mean = x.mean(dim=0)
            var = ((x - mean) ** 2).mean(dim=0)
            n = x.shape[0]
            self.num_batches_tracked.data[...] += 1
            f = (1.0 / int(self.num_batches_tracked.item()) if self.momentum is None
                 else self.momentum)
            self.running_mean.data[...] = (1 - f) * self.running_mean.data + f * mean.data
            self.running_var.data[...] = ((1 - f) * self.running_var.data
                                          + f * var.data * n / (n - 1))
        return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias


def make_models(seed=0, bn=False):
    """A minigrad MLP and the same torch MLP (float64, equal weights)."""
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Linear(3, 4), *( [BatchNormLike(4)] if bn else []), nn.Tanh(),
                         nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4),
                                 *([torch.nn.BatchNorm1d(4)] if bn else []),
                                 torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        a = rng.standard_normal(p.shape)
        p.data[...] = a
        with torch.no_grad():
            q.copy_(torch.tensor(a))
    return ours, theirs


def perturb(rng, ours, theirs, with_buffers=False):
    """Move both models' weights (and float buffers) by the same random amount."""
    pairs = list(zip(ours.parameters(), theirs.parameters()))
    if with_buffers:
        pairs += [(b, c) for b, c in zip(ours.buffers(), theirs.buffers())
                  if b.dtype.kind == "f"]
    for p, q in pairs:
        delta = rng.standard_normal(p.shape)
        p.data[...] = p.data + delta
        with torch.no_grad():
            q.copy_(q + torch.tensor(delta))


def assert_models_close(ours, theirs, tol=TOL):
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_o) == list(sd_t)
    for key in sd_t:
        np.testing.assert_allclose(np.asarray(sd_o[key].numpy(), dtype=np.float64),
                                   sd_t[key].detach().numpy().astype(np.float64),
                                   rtol=tol, atol=tol, err_msg=key)


# ---------------------------------------------------------------------------
# AveragedModel
# ---------------------------------------------------------------------------

AVERAGERS = {
    "swa": ({}, {}),
    "swa_avg_fn": ({"avg_fn": get_swa_avg_fn()},
                   {"avg_fn": torch.optim.swa_utils.get_swa_avg_fn()}),
    "swa_multi": ({"multi_avg_fn": get_swa_multi_avg_fn()},
                  {"multi_avg_fn": torch.optim.swa_utils.get_swa_multi_avg_fn()}),
    "ema_avg_fn": ({"avg_fn": get_ema_avg_fn(0.9)},
                   {"avg_fn": torch.optim.swa_utils.get_ema_avg_fn(0.9)}),
    "ema_multi": ({"multi_avg_fn": get_ema_multi_avg_fn(0.9)},
                  {"multi_avg_fn": torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)}),
}


CASES = [(kind, use_buffers) for kind in sorted(AVERAGERS) for use_buffers in (False, True)
         # torch's swa_multi_avg_fn fails on integer buffers (num_batches_tracked):
         # "Integer division with addcdiv is no longer supported"
         if not (kind == "swa_multi" and use_buffers)]


@pytest.mark.parametrize("kind, use_buffers", CASES)
def test_averaged_model_matches_torch(kind, use_buffers):
    # torch's get_swa_multi_avg_fn computes its lerp weight 1/(n+1) from the
    # int64 n_averaged tensor, which gives a float32 tensor: the weight is
    # rounded to 24 bits (relative error <= 2**-24 = 6e-8) where ours is exact.
    tol = 1e-7 if kind == "swa_multi" else TOL
    ours, theirs = make_models(bn=True)
    kw_o, kw_t = AVERAGERS[kind]
    avg_o = AveragedModel(ours, use_buffers=use_buffers, **kw_o)
    avg_t = torch.optim.swa_utils.AveragedModel(theirs, use_buffers=use_buffers, **kw_t)
    rng = np.random.default_rng(1)
    for _ in range(7):
        perturb(rng, ours, theirs, with_buffers=True)
        avg_o.update_parameters(ours)
        avg_t.update_parameters(theirs)
        assert_models_close(avg_o, avg_t, tol)
    assert int(avg_o.n_averaged.item()) == int(avg_t.n_averaged) == 7


@pytest.mark.parametrize("kw", [{}, {"avg_fn": get_swa_avg_fn()},
                                {"multi_avg_fn": get_swa_multi_avg_fn()}],
                         ids=["default", "avg_fn", "multi_avg_fn"])
def test_swa_average_is_the_mean_of_the_snapshots(kw):
    ours, theirs = make_models()
    avg = AveragedModel(ours, **kw)
    rng = np.random.default_rng(2)
    snapshots = []
    for _ in range(9):
        perturb(rng, ours, theirs)
        snapshots.append([p.data.copy() for p in ours.parameters()])
        avg.update_parameters(ours)
    for k, p in enumerate(avg.parameters()):
        np.testing.assert_allclose(p.data, np.mean([s[k] for s in snapshots], axis=0),
                                   rtol=TOL, atol=TOL)


def test_ema_is_the_exponential_average():
    ours, theirs = make_models()
    beta = 0.8
    avg = AveragedModel(ours, multi_avg_fn=get_ema_multi_avg_fn(beta))
    rng = np.random.default_rng(3)
    expected = None
    for _ in range(6):
        perturb(rng, ours, theirs)
        current = [p.data.copy() for p in ours.parameters()]
        expected = current if expected is None else [beta * e + (1 - beta) * c
                                                     for e, c in zip(expected, current)]
        avg.update_parameters(ours)
    for p, e in zip(avg.parameters(), expected):
        np.testing.assert_allclose(p.data, e, rtol=TOL, atol=TOL)


def test_averaged_model_copies_buffers_and_forward():
    ours, theirs = make_models(bn=True)
    avg = AveragedModel(ours)
    assert avg.module is not ours and avg.module[0].weight is not ours[0].weight
    ours[1].running_mean.data[...] = 5.0
    avg.update_parameters(ours)
    np.testing.assert_array_equal(avg.module[1].running_mean.data, 5.0)   # copied, not averaged
    x = mg.Tensor(np.random.default_rng(0).standard_normal((4, 3)))
    avg.eval()
    ours.eval()
    np.testing.assert_allclose(avg(x).numpy(), ours(x).numpy(), rtol=1e-14)
    assert list(avg.state_dict()) == list(
        torch.optim.swa_utils.AveragedModel(theirs).state_dict())
    with pytest.raises(ValueError, match="Only one"):
        AveragedModel(ours, avg_fn=get_swa_avg_fn(), multi_avg_fn=get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match="decay"):
        get_ema_avg_fn(1.5)


# ---------------------------------------------------------------------------
# SWALR
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("anneal_epochs", [10, 1, 0, 37])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_matches_torch(strategy, anneal_epochs):
    p = mg.Tensor(np.zeros(2), requires_grad=True)
    q = mg.Tensor(np.zeros(2), requires_grad=True)
    tp = torch.zeros(2, requires_grad=True)
    tq = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([{"params": [p], "lr": 0.1}, {"params": [q], "lr": 0.5}])
    topt = torch.optim.SGD([{"params": [tp], "lr": 0.1}, {"params": [tq], "lr": 0.5}])
    sched = SWALR(opt, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs,
                  anneal_strategy=strategy)
    tsched = torch.optim.swa_utils.SWALR(topt, swa_lr=[0.05, 0.01],
                                         anneal_epochs=anneal_epochs,
                                         anneal_strategy=strategy)
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=TOL, atol=0)
    for _ in range(100):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(),
                                   rtol=TOL, atol=0)
    np.testing.assert_allclose(sched.get_last_lr(), [0.05, 0.01], rtol=TOL)


def test_swalr_formula_and_state_dict():
    p = mg.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = SWALR(opt, swa_lr=0.2, anneal_epochs=4, anneal_strategy="cos")
    lrs = [sched.get_last_lr()[0]]
    for _ in range(6):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    for t, lr in enumerate(lrs):
        a = (1 - np.cos(np.pi * min(1, t / 4))) / 2
        assert lr == pytest.approx(a * 0.2 + (1 - a) * 1.0, rel=1e-12)
    state = sched.state_dict()
    assert "anneal_func" not in state and "optimizer" not in state
    sched2 = SWALR(opt, swa_lr=0.2, anneal_epochs=4, anneal_strategy="linear")
    sched2.load_state_dict(state)
    assert sched2.anneal_func(0.5) == pytest.approx(0.5)       # the cos strategy, restored
    assert sched2.anneal_func(0.25) == pytest.approx((1 - np.cos(np.pi / 4)) / 2)
    with pytest.raises(ValueError, match="anneal_strategy"):
        SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        SWALR(opt, swa_lr=0.1, anneal_epochs=-1)


# ---------------------------------------------------------------------------
# the paper's cyclical learning rate
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("c", [1, 4, 7])
def test_swa_cyclic_lr_is_the_papers_formula(c):
    alpha_1, alpha_2 = 0.05, 0.001
    p = mg.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=alpha_1)
    sched = SWACyclicLR(opt, alpha_1=alpha_1, alpha_2=alpha_2, cycle_length=c)
    for i in range(1, 3 * c + 2):
        t = (((i - 1) % c) + 1) / c                         # Izmailov et al. 2018, eq. (1)
        expected = (1 - t) * alpha_1 + t * alpha_2
        assert opt.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-15, abs=0)
        assert sched.is_cycle_end() == (i % c == 0)
        if i % c == 0:
            assert opt.param_groups[0]["lr"] == pytest.approx(alpha_2, rel=1e-15)
        opt.step()
        sched.step()
    # closed form: jump to an iteration
    sched.step(epoch=c + 1)                                 # i = c + 2
    alpha, s = F.swa_cyclic_lr(c + 2, alpha_1, alpha_2, c)
    assert opt.param_groups[0]["lr"] == pytest.approx(alpha, rel=1e-15)


def test_swa_with_cyclic_lr_trains_a_regression():
    """The paper's Algorithm 1 end to end: the average beats the last iterate's noise."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 5))
    w_true = rng.standard_normal((5, 1))
    Y = X @ w_true + 0.1 * rng.standard_normal((256, 1))
    model = nn.Linear(5, 1).double()
    swa_model = AveragedModel(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = SWACyclicLR(opt, alpha_1=0.1, alpha_2=0.02, cycle_length=8)
    for epoch in range(12):
        for b in range(32):
            xb, yb = mg.Tensor(X[b::32]), mg.Tensor(Y[b::32])
            opt.zero_grad()
            mg.functional.mse_loss(model(xb), yb).backward()
            opt.step()
            if epoch >= 4 and sched.is_cycle_end():
                swa_model.update_parameters(model)
            sched.step()
    assert int(swa_model.n_averaged.item()) == 8 * 4
    w_ls = np.linalg.lstsq(np.hstack([X, np.ones((256, 1))]), Y, rcond=None)[0]
    err_swa = np.abs(swa_model.module.weight.numpy().T - w_ls[:5]).max()
    err_last = np.abs(model.weight.numpy().T - w_ls[:5]).max()
    assert err_swa < err_last
