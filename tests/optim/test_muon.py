"""Muon: against the algorithm written out here, against torch.optim.Muon, and its properties.

Tolerances, and why:

* Against the algorithm written out plainly below (same dtype): 1e-12
  relative in float64, 1e-6 in float32 (only the order of a few roundings
  differs).
* Against torch.optim.Muon with its bfloat16 cast switched off
  (``Tensor.bfloat16`` patched to a copy, so PyTorch runs the very same
  iteration in float64): 1e-12 relative, parameters and momentum buffers.
  This shows the algorithm is PyTorch's, line for line.
* Against the real torch.optim.Muon (Newton–Schulz in bfloat16) in float32:
  the momentum buffers do not go through Newton–Schulz and agree to 1e-6;
  the orthogonalized update O differs by bfloat16's rounding. bfloat16 keeps
  8 significant bits, unit roundoff u = 2**-8 = 3.9e-3; each of the 5 steps
  rounds X, A and B, and X = aX + BX cancels (for singular values near 1,
  aX ~ 3.4X and BX ~ (b + c)X = -2.7X leave ~0.7X, amplifying the rounding
  of the two terms), so a few u per element are expected. Measured on the
  shapes below: ||O - O_torch||_F / ||O||_F = 2.8u to 7.6u per call (median
  ~4u); the bound used is 16u = 2**-4. Over T steps the parameters then
  satisfy ||theta - theta_torch||_F <= sum_t lr_adj * 16u * ||O_t||_F
  (weight decay shrinks old differences; the momentum buffers are equal);
  measured: 1.2u to 1.5u times sum_t lr_adj ||O_t||_F after 10 steps (the
  per-step errors partly cancel), a margin of 10.
  Ill-conditioned inputs (a singular value below ~1e-3 of ||G||_F, still
  growing after 5 steps) and extreme aspect ratios (3 x 50: up to 17u) are
  worse and are not used for the bound.
"""
import numpy as np
import pytest
import torch
from torch.optim._muon import _zeropower_via_newtonschulz as torch_newton_schulz

import minigrad as mg
import optim
from minigrad import nn
from optim import functional as F
from optim.muon import split_params_for_muon

ABC = (3.4445, -4.7750, 2.0315)
U_BF16 = 2.0 ** -8                 # bfloat16 unit roundoff (8 significant bits)
NS_BOUND = 16 * U_BF16             # relative Frobenius error of one bf16 Newton-Schulz call
SHAPES = [(8, 16), (16, 8), (12, 12), (24, 40)]


# ---------------------------------------------------------------------------
# the algorithm written out plainly (Jordan et al. 2024; torch's _muon.py)
# ---------------------------------------------------------------------------

def reference_newton_schulz(G, a=ABC[0], b=ABC[1], c=ABC[2], steps=5, eps=1e-7):
    X = G.copy()
    if G.shape[0] > G.shape[1]:
        X = X.T
    X = X / max(np.sqrt(np.sum(X * X)), eps)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    if G.shape[0] > G.shape[1]:
        X = X.T
    return X


def reference_muon(theta, grads, lr, weight_decay, mu, nesterov, adjust="original", **ns):
    """T steps of Muon on one parameter; returns theta and the momentum buffer."""
    m, n = theta.shape
    buf = np.zeros_like(theta)
    for g in grads:
        buf = mu * buf + (1 - mu) * g                    # B = mu B + (1 - mu) g
        U = (1 - mu) * g + mu * buf if nesterov else buf
        O = reference_newton_schulz(U, **ns)
        scale = np.sqrt(max(1, m / n)) if adjust == "original" else 0.2 * np.sqrt(max(m, n))
        theta = theta * (1 - lr * weight_decay)
        theta = theta - lr * scale * O
    return theta, buf


CONFIGS = [
    {},
    {"lr": 0.02, "weight_decay": 0.0},
    {"lr": 0.01, "nesterov": False},
    {"lr": 0.01, "momentum": 0.9, "adjust_lr_fn": "match_rms_adamw"},
    {"lr": 0.05, "weight_decay": 0.01, "ns_steps": 3, "adjust_lr_fn": "original"},
    {"lr": 0.01, "ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-6},     # cubic-like NS
]


def _cfg_id(cfg):
    return ",".join(f"{k}={v}" for k, v in cfg.items()) or "default"


def _grads(rng, shape, steps, dtype):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_cfg_id)
def test_muon_equals_the_algorithm_written_out(cfg, dtype, rtol):
    rng = np.random.default_rng(0)
    for shape in SHAPES[:3]:
        theta0 = rng.standard_normal(shape).astype(dtype)
        grads = _grads(rng, shape, 8, dtype)
        p = mg.Tensor(theta0.copy(), requires_grad=True)
        opt = optim.Muon([p], **cfg)
        for g in grads:
            p.grad = mg.Tensor(g.copy())
            opt.step()
        full = {"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True,
                "adjust_lr_fn": None, **cfg}
        a, b, c = full.get("ns_coefficients", ABC)
        theta, buf = reference_muon(
            theta0, grads, full["lr"], full["weight_decay"], full["momentum"],
            full["nesterov"], full["adjust_lr_fn"] or "original", a=a, b=b, c=c,
            steps=full.get("ns_steps", 5), eps=full.get("eps", 1e-7))
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, theta, rtol=rtol, atol=rtol * np.abs(theta).max())
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"], buf, rtol=rtol,
                                   atol=rtol * np.abs(buf).max())


# ---------------------------------------------------------------------------
# against torch.optim.Muon
# ---------------------------------------------------------------------------

def run_pair(cfg, shape, steps, dtype, seed=0):
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal(shape).astype(dtype)
    p = mg.Tensor(theta0.copy(), requires_grad=True)
    q = torch.tensor(theta0.copy(), requires_grad=True)
    opt = optim.Muon([p], trace=["O", "lr_adj"], **cfg)
    topt = torch.optim.Muon([q], **cfg)
    for g in _grads(rng, shape, steps, dtype):
        p.grad = mg.Tensor(g.copy())
        q.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    return p, q, opt, topt


@pytest.mark.parametrize("cfg", CONFIGS, ids=_cfg_id)
def test_muon_matches_torch_with_bfloat16_switched_off(cfg, monkeypatch):
    # PyTorch's Newton-Schulz starts with grad.bfloat16(); make that a float64 copy
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self: self.clone())
    for shape in SHAPES:
        p, q, opt, topt = run_pair(cfg, shape, 10, np.float64)
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"],
                                   topt.state[q]["momentum_buffer"].numpy(),
                                   rtol=1e-12, atol=1e-15)
        assert set(opt.state[p]) == set(topt.state[q])


@pytest.mark.parametrize("cfg", CONFIGS[:4], ids=_cfg_id)
def test_muon_matches_torch_within_the_bfloat16_bound(cfg):
    steps = 10
    for shape in SHAPES:
        p, q, opt, topt = run_pair(cfg, shape, steps, np.float32)
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"],
                                   topt.state[q]["momentum_buffer"].numpy(),
                                   rtol=1e-6, atol=1e-7)
        O = opt.trace_of("O")
        lr_adj = opt.trace_of("lr_adj")
        bound = sum(lr_adj[t] * NS_BOUND * np.linalg.norm(O[t]) for t in range(steps))
        diff = np.linalg.norm(p.data.astype(np.float64) - q.detach().numpy())
        assert diff <= bound, (shape, diff, bound)
        assert diff > 0          # the bf16 difference is real: the test is not vacuous


@pytest.mark.parametrize("shape", SHAPES)
def test_newton_schulz_vs_torch_bfloat16(shape):
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(10):
        G = rng.standard_normal(shape).astype(np.float32)
        O = F.newton_schulz(G)
        O_torch = torch_newton_schulz(torch.tensor(G), ABC, 5, 1e-7).float().numpy()
        errors.append(np.linalg.norm(O - O_torch) / np.linalg.norm(O))
    assert max(errors) <= NS_BOUND, max(errors) / U_BF16
    assert min(errors) >= U_BF16 / 4        # and it is bfloat16 rounding, not float32's


# ---------------------------------------------------------------------------
# what Newton-Schulz computes
# ---------------------------------------------------------------------------

def _quintic(s, steps=5, a=ABC[0], b=ABC[1], c=ABC[2]):
    for _ in range(steps):
        s = a * s + b * s ** 3 + c * s ** 5
    return s


@pytest.mark.parametrize("shape", SHAPES + [(1, 7), (30, 5)])
def test_newton_schulz_acts_on_singular_values(shape):
    """NS(G) = U p^5(Sigma / ||G||_F) V^T, and the singular values end in [0.68, 1.21]."""
    rng = np.random.default_rng(2)
    G = rng.standard_normal(shape)
    U, S, Vt = np.linalg.svd(G, full_matrices=False)
    O = F.newton_schulz(G)
    np.testing.assert_allclose(O, U @ np.diag(_quintic(S / np.linalg.norm(G))) @ Vt,
                               rtol=1e-10, atol=1e-12)
    assert S[-1] / np.linalg.norm(G) >= 3e-3        # the precondition of the range below
    sv = np.linalg.svd(O, compute_uv=False)
    assert sv.min() >= 0.68 and sv.max() <= 1.21, sv
    # float32 gives the same up to float32 rounding
    np.testing.assert_allclose(F.newton_schulz(G.astype(np.float32)), O, atol=1e-5)


def test_quintic_range_after_five_steps():
    s = np.logspace(np.log10(3e-3), 0, 100001)
    out = _quintic(s)
    assert 0.68 <= out.min() and out.max() <= 1.21
    assert _quintic(np.array([1e-4]))[0] < 0.2        # tiny singular values are still growing


def test_newton_schulz_zero_and_checks():
    np.testing.assert_array_equal(F.newton_schulz(np.zeros((3, 4))), 0.0)   # eps: no 0/0
    with pytest.raises(ValueError, match="2D"):
        F.newton_schulz(np.zeros(3))
    with pytest.raises(ValueError, match="less than 100"):
        F.newton_schulz(np.zeros((2, 2)), steps=100)
    with pytest.raises(ValueError, match="exactly 3"):
        F.newton_schulz(np.zeros((2, 2)), coefficients=(1.0, 2.0))


def test_adjust_lr():
    assert F.muon_adjust_lr(0.1, None, (32, 8)) == pytest.approx(0.2)
    assert F.muon_adjust_lr(0.1, "original", (8, 32)) == pytest.approx(0.1)
    assert F.muon_adjust_lr(0.1, "match_rms_adamw", (8, 32)) == pytest.approx(0.1 * 0.2 * 32 ** 0.5)


# ---------------------------------------------------------------------------
# the class
# ---------------------------------------------------------------------------

def test_errors_and_defaults():
    w = mg.Tensor(np.zeros((3, 4)), requires_grad=True)
    b = mg.Tensor(np.zeros(4), requires_grad=True)
    with pytest.raises(ValueError, match="only supports 2D"):
        optim.Muon([w, b])
    opt = optim.Muon([w])
    with pytest.raises(ValueError, match="only supports 2D"):
        opt.add_param_group({"params": [b]})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="Learning rate"):
        optim.Muon([w], lr=-1)
    with pytest.raises(ValueError, match="momentum"):
        optim.Muon([w], momentum=-0.1)
    with pytest.raises(ValueError, match="weight decay"):
        optim.Muon([w], weight_decay=-0.1)
    with pytest.raises(ValueError, match="not supported"):
        optim.Muon([w], adjust_lr_fn="spectral")
    tw = torch.zeros((3, 4), requires_grad=True)
    theirs = torch.optim.Muon([tw]).defaults
    ours = optim.Muon([w]).defaults
    assert ours == {k: (tuple(v) if isinstance(v, tuple) else v) for k, v in theirs.items()}


def test_trace_and_state_dict():
    rng = np.random.default_rng(3)
    w = mg.Tensor(rng.standard_normal((4, 6)), requires_grad=True)
    opt = optim.Muon([w], lr=0.02, trace=True)
    for _ in range(3):
        w.grad = mg.Tensor(rng.standard_normal((4, 6)))
        opt.step()
    assert set(opt.trace[0]) >= {"g", "B", "U", "O", "lr_adj", "theta"}
    assert opt.trace_of("O").shape == (3, 4, 6)
    sd = opt.state_dict()
    assert set(sd["state"][0]) == {"momentum_buffer"}


def test_muon_trains_a_small_mlp():
    rng = np.random.default_rng(4)
    X = mg.Tensor(rng.standard_normal((64, 8)))
    Y = mg.Tensor(np.sin(rng.standard_normal((64, 8)) @ rng.standard_normal((8, 2))))
    model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 2)).double()
    split = split_params_for_muon(model)
    opt_m = optim.Muon(split.muon, lr=0.05, weight_decay=0.0)
    opt_a = optim.AdamW(split.adamw, lr=1e-2)
    losses = []
    for _ in range(60):
        opt_m.zero_grad()
        opt_a.zero_grad()
        loss = mg.functional.mse_loss(model(X), Y)
        loss.backward()
        opt_m.step()
        opt_a.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ---------------------------------------------------------------------------
# split_params_for_muon
# ---------------------------------------------------------------------------

class TinyLM(nn.Module):
    def __init__(self, tie=False):
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.fc1 = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.fc2 = nn.Linear(8, 6, bias=False)
        self.head = nn.Linear(6, 10)
        if tie:
            self.head.weight = self.embed.weight

    def forward(self, idx):
        return self.head(self.fc2(self.norm(self.fc1(self.embed(idx)).tanh())))


def test_split_params_for_muon():
    model = TinyLM()
    split = split_params_for_muon(model, named=True)
    assert [n for n, _ in split.muon] == ["fc1.weight", "fc2.weight"]
    assert [n for n, _ in split.adamw] == ["embed.weight", "fc1.bias", "norm.weight",
                                           "norm.bias", "head.weight", "head.bias"]
    plain = split_params_for_muon(model)
    assert plain.muon[0] is model.fc1.weight and len(plain.adamw) == 6
    # the lists are valid optimizer params, and cover every parameter once
    optim.Muon(plain.muon)
    optim.AdamW(plain.adamw)
    ids = [id(p) for p in plain.muon + plain.adamw]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    # head chosen by name, or none
    by_name = split_params_for_muon(model, head="fc2", named=True)
    assert [n for n, _ in by_name.muon] == ["fc1.weight", "head.weight"]
    no_head = split_params_for_muon(model, head=False, named=True)
    assert [n for n, _ in no_head.muon] == ["fc1.weight", "fc2.weight", "head.weight"]


def test_split_params_for_muon_tied_weights():
    model = TinyLM(tie=True)
    split = split_params_for_muon(model, named=True)
    assert [n for n, _ in split.muon] == ["fc1.weight", "fc2.weight"]
    assert "embed.weight" in [n for n, _ in split.adamw]
    assert len(split.muon) + len(split.adamw) == len(list(model.parameters()))
