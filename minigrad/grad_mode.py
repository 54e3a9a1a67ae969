"""Global switches of the autograd engine: grad mode and anomaly mode.

``no_grad()`` turns graph recording off (for evaluation and for optimizer
updates), ``enable_grad()`` turns it back on inside a ``no_grad`` block. Both
work as context managers and as decorators, like PyTorch's.
"""
from __future__ import annotations

import contextlib


class _State:
    grad_enabled = True
    anomaly_enabled = False
    #: the Function whose backward is running (set by the engine in anomaly mode)
    backward_fn = None


state = _State()


def is_grad_enabled() -> bool:
    return state.grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager (or decorator) that sets grad mode to ``mode``."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = None

    def __enter__(self):
        self.prev = state.grad_enabled
        state.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self.prev
        return False


class no_grad(set_grad_enabled):
    """Ops inside do not record a graph: outputs have ``requires_grad=False``."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Re-enables graph recording inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)


def is_anomaly_enabled() -> bool:
    return state.anomaly_enabled


class detect_anomaly(contextlib.ContextDecorator):
    """Check every op's output (forward) and every gradient (backward) for NaN/Inf.

    The first op that produces one raises :class:`minigrad.errors.AnomalyError`
    naming the op, its input shapes, and, for backward, the line of user code
    where the op was created. Slow: for debugging only.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.prev = None

    def __enter__(self):
        self.prev = state.anomaly_enabled
        state.anomaly_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        state.anomaly_enabled = self.prev
        return False


