"""SOAP against the paper's algorithm written out here, and against pytorch_optimizer's SOAP.

The reference below is Algorithms 3 and 4 of Vyas et al. (2024) in plain NumPy
for a matrix (left and right statistics) and for a vector (one statistic):
the first call builds the statistics and their eigenbases and does not move
the parameter; then Adam in the rotated basis, decoupled weight decay, the
statistics' update and, every ``f`` steps, one power iteration and QR with
``V`` permuted by the sorted eigenvalue estimates.
"""
import numpy as np
import pytest

import minigrad as mg
import optim
from optim.functional.soap import soap_shape


def _eigvecs_desc(H):
    _, Q = np.linalg.eigh(H + 1e-30 * np.eye(len(H)))
    return Q[:, ::-1]


def _power_qr(H, Q, V, axis):
    P = H @ Q
    est = np.einsum("ij,ij->j", Q, P)
    order = np.argsort(-est, kind="stable")
    V = np.take(V, order, axis=axis)
    return np.linalg.qr(P[:, order])[0], V


def reference_matrix(W, grads, *, lr, b1, b2, bs, eps, wd, f, eigh=False):
    """Algorithm 3 for W (m x n): returns the list of W after each call."""
    L = np.zeros((W.shape[0],) * 2)
    R = np.zeros((W.shape[1],) * 2)
    M = np.zeros_like(W)
    V = np.zeros_like(W)
    out, t = [], 0
    for k, G in enumerate(grads):
        if k == 0:
            L = bs * L + (1 - bs) * G @ G.T
            R = bs * R + (1 - bs) * G.T @ G
            QL, QR = _eigvecs_desc(L), _eigvecs_desc(R)
            out.append(W.copy())
            continue
        t += 1
        Gr = QL.T @ G @ QR
        M = b1 * M + (1 - b1) * G
        Mr = QL.T @ M @ QR
        V = b2 * V + (1 - b2) * Gr * Gr
        N = QL @ (Mr / (np.sqrt(V) + eps)) @ QR.T
        W = W - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * N
        W = W * (1 - lr * wd)
        L = bs * L + (1 - bs) * G @ G.T
        R = bs * R + (1 - bs) * G.T @ G
        if t % f == 0:
            if eigh:
                QL, QR = _eigvecs_desc(L), _eigvecs_desc(R)
            else:
                QL, V = _power_qr(L, QL, V, 0)
                QR, V = _power_qr(R, QR, V, 1)
        out.append(W.copy())
    return out


def reference_vector(w, grads, *, lr, b1, b2, bs, eps, wd, f, precondition=True):
    """A vector: one statistic g g^T and its basis (or the identity: Adam after the skipped call)."""
    n = len(w)
    H = np.zeros((n, n))
    m = np.zeros(n)
    v = np.zeros(n)
    out, t = [], 0
    for k, g in enumerate(grads):
        if k == 0:
            H = bs * H + (1 - bs) * np.outer(g, g)
            Q = _eigvecs_desc(H) if precondition else np.eye(n)
            out.append(w.copy())
            continue
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * (Q.T @ g) ** 2
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * (Q @ ((Q.T @ m) / (np.sqrt(v) + eps)))
        w = w * (1 - lr * wd)
        H = bs * H + (1 - bs) * np.outer(g, g)
        if precondition and t % f == 0:
            Q, v = _power_qr(H, Q, v, 0)
        out.append(w.copy())
    return out


def run_soap(inits, grads, **kwargs):
    params = [mg.Tensor(w.copy(), requires_grad=True) for w in inits]
    opt = optim.SOAP(params, **kwargs)
    history = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = mg.Tensor(g.copy())
        opt.step()
        history.append([p.data.copy() for p in params])
    return history, opt


SETTINGS = dict(lr=0.05, b1=0.9, b2=0.95, bs=0.8, eps=1e-8, wd=0.01, f=3)


def _kwargs(s, **extra):
    return dict(lr=s["lr"], betas=(s["b1"], s["b2"]), shampoo_beta=s["bs"], eps=s["eps"],
                weight_decay=s["wd"], precondition_frequency=s["f"], **extra)


@pytest.mark.parametrize("eigh", [False, True])
@pytest.mark.parametrize("shape", [(4, 3), (3, 4)])
def test_matrix_matches_the_paper_step_by_step(shape, eigh):
    """Shapes whose first statistics have at most a 1-D null space: their eigenbases are unique up to signs,
    which the update does not see (a wider null space has an arbitrary basis, and V depends on it)."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) for _ in range(14)]
    expected = reference_matrix(W, grads, eigh=eigh, **SETTINGS)
    got, _ = run_soap([W], [[g] for g in grads], eigenbasis="eigh" if eigh else "power_qr", **_kwargs(SETTINGS))
    assert np.array_equal(got[0][0], W)                    # the first call does not move the parameter
    for k, (e, (g,)) in enumerate(zip(expected, got)):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-10, err_msg=f"step {k + 1}")
    assert not np.allclose(got[-1][0], W)


def test_default_shampoo_beta_is_beta2():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((3, 3))
    grads = [rng.standard_normal((3, 3)) for _ in range(8)]
    s = {**SETTINGS, "bs": SETTINGS["b2"]}
    expected = reference_matrix(W, grads, **s)
    got, _ = run_soap([W], [[g] for g in grads], **_kwargs({**s, "bs": -1}))
    np.testing.assert_allclose(got[-1][0], expected[-1], rtol=0, atol=1e-10)


@pytest.mark.parametrize("precondition_1d", [False, True])
def test_vectors(precondition_1d):
    """1-D parameters: Adam by default (the paper's handling), a full statistic with precondition_1d."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal(2)                              # n = 2: the basis of g g^T is unique up to signs
    grads = [rng.standard_normal(2) for _ in range(10)]
    expected = reference_vector(w, grads, precondition=precondition_1d, **SETTINGS)
    got, opt = run_soap([w], [[g] for g in grads], precondition_1d=precondition_1d, **_kwargs(SETTINGS))
    for k, (e, (g,)) in enumerate(zip(expected, got)):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-10, err_msg=f"step {k + 1}")
    state = next(iter(opt.state.values()))
    assert state["Q"][0].shape == ((2, 2) if precondition_1d else (0, 0))


def test_large_modes_keep_the_identity_and_merge_dims():
    assert soap_shape((2, 3, 4), max_precond_dim=12, merge_dims=True) == (6, 4)
    assert soap_shape((20, 3), max_precond_dim=10, merge_dims=True) == (20, 3)
    assert soap_shape((2, 3, 4), max_precond_dim=12) == (2, 3, 4)
    rng = np.random.default_rng(3)
    W = rng.standard_normal((5, 2))
    _, opt = run_soap([W], [[rng.standard_normal((5, 2))] for _ in range(3)], max_precond_dim=4)
    state = next(iter(opt.state.values()))
    assert state["Q"][0].shape == (0, 0) and state["Q"][1].shape == (2, 2)
    _, opt = run_soap([rng.standard_normal((2, 3, 4))], [[rng.standard_normal((2, 3, 4))] for _ in range(3)],
                      max_precond_dim=12, merge_dims=True)
    assert [q.shape for q in next(iter(opt.state.values()))["Q"]] == [(6, 6), (4, 4)]


def test_state_dict_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    inits = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    grads = [[rng.standard_normal((4, 3)), rng.standard_normal(3)] for _ in range(9)]
    full, _ = run_soap(inits, grads, precondition_frequency=2)
    half, opt = run_soap(inits, grads[:4], precondition_frequency=2)
    mg.save(opt.state_dict(), tmp_path / "soap.ckpt")
    params = [mg.Tensor(w.copy(), requires_grad=True) for w in half[-1]]
    resumed = optim.SOAP(params)
    resumed.load_state_dict(mg.load(tmp_path / "soap.ckpt"))
    assert resumed.param_groups[0]["precondition_frequency"] == 2
    for gs in grads[4:]:
        for p, g in zip(params, gs):
            p.grad = mg.Tensor(g.copy())
        resumed.step()
    for p, e in zip(params, full[-1]):
        np.testing.assert_array_equal(p.data, e)


def test_maximize_and_trace():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((3, 3))
    grads = [[rng.standard_normal((3, 3))] for _ in range(4)]
    up, _ = run_soap([W], grads, maximize=True, weight_decay=0.0)
    down, opt = run_soap([W], [[-g[0]] for g in grads], weight_decay=0.0, trace=True)
    np.testing.assert_allclose(up[-1][0], down[-1][0], rtol=0, atol=1e-12)
    assert [r["t"] for r in opt.trace] == [0, 1, 2, 3]
    assert {"G_rot", "m", "m_rot", "v", "n_rot", "n", "lr_t", "L_1", "Q_2"} <= set(opt.trace[-1])


def test_bad_hyperparameters():
    p = [mg.Tensor(np.zeros((2, 2)), requires_grad=True)]
    with pytest.raises(ValueError, match="shampoo_beta"):
        optim.SOAP(p, shampoo_beta=1.0)
    with pytest.raises(ValueError, match="precondition_frequency"):
        optim.SOAP(p, precondition_frequency=0)
    with pytest.raises(ValueError, match="eigenbasis"):
        optim.SOAP(p, eigenbasis="exact")


# ---------------------------------------------------------------------------
# pytorch_optimizer 4.1.0
# ---------------------------------------------------------------------------

def _pytorch_optimizer_run(inits, grads, **kwargs):
    torch = pytest.importorskip("torch")
    po = pytest.importorskip("pytorch_optimizer")
    params = [torch.tensor(w.copy(), requires_grad=True) for w in inits]
    opt = po.SOAP(params, **kwargs)
    history = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g.copy())
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize("frequency, atol", [
    (100, 1e-10),    # no refresh: the same arithmetic
    (3, 1e-6),       # refreshes: pytorch_optimizer computes the QR in float32 (docs/CONVENTIONS.md)
])
def test_matches_pytorch_optimizer(frequency, atol):
    rng = np.random.default_rng(6)
    inits = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    grads = [[rng.standard_normal((4, 3)), rng.standard_normal(3)] for _ in range(10)]
    kw = dict(lr=0.05, betas=(0.9, 0.95), shampoo_beta=0.8, weight_decay=0.01, eps=1e-8,
              precondition_frequency=frequency)
    expected = _pytorch_optimizer_run(inits, grads, **kw)
    got, _ = run_soap(inits, grads, **kw)
    for k, (es, gs) in enumerate(zip(expected, got)):
        for e, g in zip(es, gs):
            np.testing.assert_allclose(g, e, rtol=0, atol=atol, err_msg=f"step {k + 1}")
