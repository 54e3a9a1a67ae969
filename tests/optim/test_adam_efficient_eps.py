"""The relation the docstring of optim/functional/adam.py states: the efficient form with eps_hat is
the standard form with eps = eps_hat / sqrt(1 - beta2^t) (so the two differ only while 1 - beta2^t is small)."""
import numpy as np
import pytest

from optim import functional as F


@pytest.mark.parametrize("t", [1, 2, 10, 1000])
def test_efficient_eps_hat_is_standard_eps_over_sqrt_bias_correction(t):
    rng = np.random.default_rng(t)
    theta, grad = rng.standard_normal(6), 1e-4 * rng.standard_normal(6)
    state = {"step": t - 1, "exp_avg": 1e-4 * rng.standard_normal(6), "exp_avg_sq": 1e-8 * rng.random(6)}
    eps_hat, beta2 = 1e-6, 0.999
    efficient, _, _ = F.adam(theta, grad, state, lr=0.1, beta2=beta2, eps=eps_hat, bias_correction="efficient")
    standard, _, _ = F.adam(theta, grad, state, lr=0.1, beta2=beta2, eps=eps_hat / np.sqrt(1 - beta2 ** t))
    inverted, _, _ = F.adam(theta, grad, state, lr=0.1, beta2=beta2, eps=eps_hat * np.sqrt(1 - beta2 ** t))
    np.testing.assert_allclose(efficient, standard, rtol=1e-13)
    assert not np.allclose(efficient, inverted, rtol=1e-6)
