"""Muon's three orthogonalisations: the exact polar factor UV^T (SVD), Newton-Schulz and Polar Express.

The polar factor is checked against its definition (orthonormal, same
singular vectors, the LMO of the spectral norm); Polar Express against the
same loop written out with the paper's coefficients, and for converging to
UV^T where Jordan's quintic does not.
"""
import importlib

import numpy as np
import pytest

import minigrad as mg
import optim

M = importlib.import_module("optim.functional.muon")     # the module (optim.functional.muon is the function)

PAPER = [  # Amsel et al. (2025), l = 1e-3; all but the last divided by the safety factor 1.01
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
]


def _matrix(m, n, cond, seed=0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    k = min(m, n)
    return (U[:, :k] * np.logspace(0, -np.log10(cond), k)) @ V[:, :k].T, U[:, :k] @ V[:, :k].T


@pytest.mark.parametrize("m, n", [(6, 4), (4, 6), (5, 5)])
def test_svd_polar_is_the_polar_factor_and_the_spectral_lmo(m, n):
    G, UVt = _matrix(m, n, 100.0)
    P = M.svd_polar(G)
    np.testing.assert_allclose(P, UVt, atol=1e-13)
    assert np.linalg.norm(P, 2) == pytest.approx(1.0, rel=1e-13)
    # <G, P> = nuclear norm of G = the largest <G, O> over ||O||_2 <= 1
    assert np.sum(G * P) == pytest.approx(np.linalg.svd(G, compute_uv=False).sum(), rel=1e-13)
    rng = np.random.default_rng(1)
    for _ in range(20):
        O = rng.standard_normal((m, n))
        O /= np.linalg.norm(O, 2)
        assert np.sum(G * O) <= np.sum(G * P) + 1e-12
    np.testing.assert_array_equal(M.svd_polar(np.zeros((3, 2))), np.zeros((3, 2)))


def test_polar_express_is_the_papers_iteration():
    G, _ = _matrix(7, 4, 50.0, seed=2)
    for steps in (1, 5, 9):
        X = G.T / (1.01 * np.linalg.norm(G) + M.NS_EPS)
        coefficients = [(a / 1.01, b / 1.01 ** 3, c / 1.01 ** 5) for a, b, c in PAPER] + [(1.875, -1.25, 0.375)] * 3
        for a, b, c in coefficients[:steps]:
            A = X @ X.T
            X = a * X + (b * A + c * A @ A) @ X
        np.testing.assert_allclose(M.polar_express(G, steps), X.T, rtol=1e-12, atol=1e-15)


def test_polar_express_converges_to_uvt_where_newton_schulz_oscillates():
    """Singular values spread over 1e-3..1: after 10 steps Polar Express is at UV^T to 1e-10,
    Jordan's quintic stays about 0.3 away (its fixed point is not 1)."""
    G, UVt = _matrix(40, 20, 1e3)
    pe = [np.linalg.norm(M.polar_express(G, k) - UVt, 2) for k in range(1, 11)]
    ns = np.linalg.norm(M.newton_schulz(G, steps=10) - UVt, 2)
    assert pe[-1] < 1e-10
    assert all(b < a for a, b in zip(pe[:8], pe[1:8]))      # then at rounding level
    assert ns > 0.1


@pytest.mark.parametrize("method", ["newton_schulz", "polar_express", "svd"])
def test_muon_orthogonalize_option(method):
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((5, 3))
    w = mg.Tensor(w0.copy(), requires_grad=True)
    opt = optim.Muon([w], lr=0.1, weight_decay=0.0, momentum=0.0, nesterov=False, orthogonalize=method,
                     trace=["O"])
    g = rng.standard_normal((5, 3))
    w.grad = mg.Tensor(g)
    opt.step()
    expected = M.orthogonalize(g, method)
    np.testing.assert_allclose(opt.trace[-1]["O"], expected, rtol=1e-13)
    np.testing.assert_allclose(w.numpy(), w0 - 0.1 * np.sqrt(5 / 3) * expected, rtol=1e-13)
    assert "orthogonalize" not in opt.param_groups[0]          # PyTorch's group keys only


def test_orthogonalize_errors():
    w = mg.Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="Invalid orthogonalize: 'qr'"):
        optim.Muon([w], orthogonalize="qr")
    with pytest.raises(ValueError, match="2D"):
        M.polar_express(np.zeros(3))
    with pytest.raises(ValueError, match="less than 100"):
        M.polar_express(np.zeros((2, 2)), steps=100)
