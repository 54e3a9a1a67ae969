"""The muon-vs-adamw demo's orthogonalisation panel: distances to U V^T of the initial gradient of W."""
import numpy as np
import pytest

pytest.importorskip("sklearn")

from experiments.demos._sklearn_data import load_digits_split  # noqa: E402
from experiments.demos.muon_vs_adamw import initial_gradient, orthogonalization_distances  # noqa: E402


def test_polar_express_reaches_uvt_and_newton_schulz_does_not():
    G = initial_gradient(load_digits_split(seed=0), seed=0)
    assert G.shape == (10, 64) and G.dtype == np.float64
    d = orthogonalization_distances(G, 12)
    assert len(d["newton_schulz"]) == len(d["polar_express"]) == 12
    assert d["polar_express"][-1] < 1e-6
    assert d["newton_schulz"][-1] > 0.05                      # oscillates in [0.68, 1.2] around 1
    assert d["polar_express"][4] < d["newton_schulz"][4]      # better already at Muon's 5 steps
