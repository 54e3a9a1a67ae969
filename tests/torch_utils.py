"""The op parity helpers, now in :mod:`minigrad.testing` (``check_parity``,
``assert_close``, input builders) and :mod:`minigrad.testing.strategies` (shapes,
axes, seeds); re-exported here under their former names for tests that import
``torch_utils``. New tests import from ``minigrad.testing`` directly."""
from minigrad.testing import (  # noqa: F401
    assert_close,
    check_parity,
    mg_tensor,
    randn,
    reduced_sizes,
    rng_of,
    to_numpy,
    torch_dims,
    torch_tensor,
)
from minigrad.testing.ops import ATOL, RTOL  # noqa: F401
from minigrad.testing.strategies import axes_for, broadcastable_shapes, shapes  # noqa: F401
from minigrad.testing.strategies import seeds as _seeds

seeds = _seeds()
