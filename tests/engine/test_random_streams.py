"""minigrad.random: one seedable source; saving/restoring the CPU state; reseeding one device."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F


def _mask():
    return F.dropout(mg.ones(64), 0.5, True).numpy()


def test_manual_seed_repeats_and_state_round_trip():
    mg.manual_seed(3)
    a = _mask()
    mg.manual_seed(3)
    assert np.array_equal(a, _mask())
    state = mg.random.get_rng_state()
    b = _mask()
    mg.random.set_rng_state(state)
    assert np.array_equal(b, _mask())


def test_seed_device_reseeds_that_device_only():
    mg.manual_seed(0)
    mg.random.seed_device("cpu", 11)
    a = _mask()
    mg.manual_seed(99)
    mg.random.seed_device("cpu", 11)
    assert np.array_equal(a, _mask())          # the draws after a reseed depend on the seed alone
    mg.random.seed_device("cpu", 12)
    assert not np.array_equal(a, _mask())


@pytest.mark.parametrize("seed", [1.5, "3", True, None])
def test_seed_device_names_a_bad_seed(seed):
    with pytest.raises(TypeError, match="seed_device expects an int seed"):
        mg.random.seed_device("cpu", seed)
