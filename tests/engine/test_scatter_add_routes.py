"""backend.scatter_add: the fast routes give np.add.at's result bit for bit (into zeros)."""
import numpy as np
import pytest

from minigrad import backend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("key_shape", [(40,), (8, 5), (2, 4, 5)])
def test_row_index_of_any_shape_equals_add_at(dtype, key_shape):
    rng = np.random.default_rng(0)
    rows, width = 7, 3
    key = rng.integers(-rows, rows, size=key_shape)            # repeats and negative indices
    values = (rng.standard_normal(key_shape + (width,)) * 10 ** rng.uniform(-3, 3, key_shape + (1,))).astype(dtype)
    expected = np.zeros((rows, width), dtype)
    np.add.at(expected, key, values)
    for k in (key, (key,)):
        got = np.zeros((rows, width), dtype)
        backend.scatter_add(got, k, values)
        assert got.dtype == dtype and np.array_equal(got.view(np.uint8), expected.view(np.uint8))


def test_broadcast_values_and_other_keys():
    rng = np.random.default_rng(1)
    key = rng.integers(0, 5, size=(4, 3))
    row = rng.standard_normal(2)
    expected = np.zeros((5, 2))
    np.add.at(expected, key, row)                               # one row broadcast to every index
    got = np.zeros((5, 2))
    backend.scatter_add(got, key, row)
    assert np.array_equal(got, expected)
    # two index arrays (element picks) still take np.add.at; basic keys take +=
    i, j = rng.integers(0, 5, 10), rng.integers(0, 2, 10)
    v = rng.standard_normal(10)
    expected = np.zeros((5, 2))
    np.add.at(expected, (i, j), v)
    got = np.zeros((5, 2))
    backend.scatter_add(got, (i, j), v)
    assert np.array_equal(got, expected)
    got = np.zeros((5, 2))
    backend.scatter_add(got, (slice(1, 3),), np.ones((2, 2)))
    assert got.sum() == 4 and got[1:3].all()
