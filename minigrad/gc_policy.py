"""How Python's cyclic garbage collector treats recorded graphs.

Why: a recorded graph holds no reference cycles (a Function holds its inputs, an
output holds its Function, and a Function holds its outputs only weakly), so
reference counting frees it, and the cyclic collector has nothing to find in it.
Yet the collector's full collections visit every tracked object, and a graph of
``n`` ops is several objects per op: once a graph outgrows the rest of the heap,
each full collection rescans all of it, and the per-op cost of recording rose from
about 6 µs at 1,000 ops to 14 µs at 100,000 (``benchmarks/bench_graph_size.py``).

What: a callback on the collector (``gc.callbacks``). Once :data:`MIN_OPS` ops
have been recorded since the last full collection, it spaces full collections
further apart (the third threshold of ``gc.set_threshold`` times
:data:`BACKOFF`), and again after each full collection that found almost nothing
to free while many ops were recorded (at most :data:`MAX_THRESHOLD`). As soon as
a full collection finds real cyclic garbage (one object per 100 recorded ops),
or one comes with few ops recorded since the previous, the threshold the user
had is restored. Young
collections are never changed: short-lived cycles are collected as before, and
the cost per op no longer depends on the size of the graph. Users need not touch
the collector; :func:`disable` turns the policy off (restoring the threshold),
:func:`enable` turns it back on. A threshold set by the user while the policy is
on becomes the one it restores.
"""
from __future__ import annotations

import gc

#: ops recorded since the last full collection (``Function.__call__`` adds one
#: per recorded op; a list so that the hot path bumps a cell, not a global)
recorded = [0]

#: a full collection counts as "graph-bound" after at least this many recorded ops
MIN_OPS = 2000
#: the factor applied to the full-collection threshold after a graph-bound collection
BACKOFF = 16
#: the largest full-collection threshold the policy sets (a larger one set by the
#: user is kept as it is)
MAX_THRESHOLD = 10 * BACKOFF ** 2

_state = {"base": None, "current": None, "installed": False}


def _on_collect(phase: str, info: dict) -> None:
    if phase != "stop":
        return
    t0, t1, t2 = gc.get_threshold()
    if t2 != _state["current"]:          # set by the user meanwhile: that is the base
        _state["base"] = _state["current"] = t2
    if info.get("generation") != 2:
        # a young collection while a graph is being recorded: relax the full
        # collections before the first one rescans the graph
        if recorded[0] >= MIN_OPS and t2 == _state["base"]:
            _set(t0, t1, _relaxed(t2))
        return
    ops, recorded[0] = recorded[0], 0
    if ops >= MIN_OPS and info.get("collected", 0) * 100 < ops:
        new = _relaxed(t2)
    else:
        new = _state["base"]
    _set(t0, t1, new)


def _relaxed(t2: int) -> int:
    """The next, larger threshold: never above MAX_THRESHOLD unless the user's base is."""
    return max(min(max(t2, 1) * BACKOFF, MAX_THRESHOLD), _state["base"])


def _set(t0: int, t1: int, t2: int) -> None:
    if t2 != gc.get_threshold()[2]:
        gc.set_threshold(t0, t1, t2)
    _state["current"] = t2


def enable() -> None:
    """Turn the policy on (it is on after ``import minigrad``)."""
    if _state["installed"]:
        return
    t2 = gc.get_threshold()[2]
    _state.update(base=t2, current=t2, installed=True)
    recorded[0] = 0
    gc.callbacks.append(_on_collect)


def disable() -> None:
    """Turn the policy off and give the collector back the threshold it had."""
    if not _state["installed"]:
        return
    gc.callbacks.remove(_on_collect)
    t0, t1, t2 = gc.get_threshold()
    if t2 == _state["current"]:
        gc.set_threshold(t0, t1, _state["base"])
    _state["installed"] = False


def is_enabled() -> bool:
    return bool(_state["installed"])
