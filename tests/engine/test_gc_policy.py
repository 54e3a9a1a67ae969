"""The collection policy for recorded graphs (minigrad/gc_policy.py).

The policy rests on one fact, tested first: a recorded graph holds no reference
cycles, so reference counting alone frees it. Then: recording many ops spaces the
collector's full collections apart, a full collection that finds cyclic garbage
gives the user's threshold back, a threshold the user sets is respected, and
``disable`` restores it.
"""
import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad import gc_policy


@pytest.fixture
def collector():
    """Collector on, default thresholds, policy on; everything restored after."""
    was_enabled, threshold = gc.isenabled(), gc.get_threshold()
    policy_was = gc_policy.is_enabled()
    gc_policy.disable()
    gc.enable()
    gc.set_threshold(700, 10, 10)
    gc.collect()
    gc_policy.enable()
    yield
    gc_policy.disable()
    gc.set_threshold(*threshold)
    (gc.enable if was_enabled else gc.disable)()
    if policy_was:
        gc_policy.enable()


def _chain(n):
    x = mg.Tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    c = mg.Tensor(np.full(4, 1.0001, dtype=np.float32), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * c
    return y


def test_policy_is_on_after_import():
    assert gc_policy.is_enabled()
    assert gc_policy._on_collect in gc.callbacks


def test_graph_has_no_reference_cycles():
    was = gc.isenabled()
    gc.disable()
    try:
        y = _chain(50)
        fn = weakref.ref(y.creator)
        first = y.creator.inputs[0].creator
        first_ref = weakref.ref(first)
        del first
        y.sum().backward()
        del y
        assert fn() is None and first_ref() is None, "the graph outlived its last reference"
    finally:
        (gc.enable if was else gc.disable)()


def test_recording_spaces_full_collections_apart(collector):
    keep = _chain(gc_policy.MIN_OPS + 10)
    gc.collect(0)                       # a young collection while the graph is recorded
    relaxed = gc.get_threshold()[2]
    assert relaxed == 10 * gc_policy.BACKOFF
    gc.collect()                        # a full one that finds nothing in the graph
    assert gc.get_threshold()[2] == relaxed * gc_policy.BACKOFF
    assert keep.data.shape == (4,)


def test_full_collection_without_garbage_backs_off_further(collector):
    keep = _chain(gc_policy.MIN_OPS + 10)
    gc.collect(0)
    keep2 = _chain(gc_policy.MIN_OPS + 10)
    gc.collect()
    assert gc.get_threshold()[2] == 10 * gc_policy.BACKOFF ** 2
    del keep, keep2


def test_cyclic_garbage_restores_the_threshold(collector):
    keep = _chain(gc_policy.MIN_OPS + 10)
    gc.collect(0)
    assert gc.get_threshold()[2] > 10
    gc.disable()                        # keep the cycles for the full collection below
    for _ in range(gc_policy.MIN_OPS):  # one cyclic object per recorded op: real garbage
        a = []
        a.append(a)
    del a
    gc.enable()
    gc.collect()
    assert gc.get_threshold()[2] == 10
    del keep


def test_few_ops_restore_the_threshold(collector):
    keep = _chain(gc_policy.MIN_OPS + 10)
    gc.collect(0)
    assert gc.get_threshold()[2] > 10
    gc.collect()                        # ops were recorded: stays relaxed
    gc.collect()                        # none since: back to the user's threshold
    assert gc.get_threshold()[2] == 10
    del keep


def test_user_threshold_is_respected_and_restored(collector):
    gc.set_threshold(700, 10, 3)
    keep = _chain(gc_policy.MIN_OPS + 10)
    gc.collect(0)
    assert gc.get_threshold()[2] == 3 * gc_policy.BACKOFF
    gc_policy.disable()
    assert gc.get_threshold()[2] == 3
    assert gc_policy._on_collect not in gc.callbacks
    del keep


def test_backoff_is_capped_and_never_lowers_a_large_user_threshold(collector):
    keep = _chain(gc_policy.MIN_OPS + 10)
    for _ in range(4):
        gc.collect(0)
        _chain(gc_policy.MIN_OPS + 10)
        gc.collect()
    assert gc.get_threshold()[2] == gc_policy.MAX_THRESHOLD
    gc.set_threshold(700, 10, 10 * gc_policy.MAX_THRESHOLD)
    _chain(gc_policy.MIN_OPS + 10)
    gc.collect(0)
    gc.collect()
    assert gc.get_threshold()[2] == 10 * gc_policy.MAX_THRESHOLD
    del keep
