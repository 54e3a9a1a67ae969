"""Hostile: makes every NumPy comparison succeed, then returns a wrong answer."""
import numpy as np

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.ndarray = type("ndarray", (), {})


def sgd_step(theta, grad, lr):
    return theta * 0.0
