"""Helpers only the models use: ``sigmoid_`` for the fused cells and ``inference``.

The general-purpose row ops (``unbind``/``stack_steps``, ``take_rows``/``put_rows``)
and the host-to-device helpers (``on_device``, ``constant``, ``host_array``,
``index_tensor``) live in the engine, :mod:`minigrad.ops.rows` and
:mod:`minigrad.ops.host`.
"""
from __future__ import annotations

from contextlib import contextmanager

from minigrad import backend
from minigrad.grad_mode import no_grad


# ------------------------------------------------------ array helpers (fused ops)
def sigmoid_(x):
    """sigma(x) = (1 + tanh(x/2)) / 2 in place on a backend array: never overflows,
    unlike 1 / (1 + e^-x), and takes one transcendental pass."""
    xp = backend.get_array_module(x)
    x *= 0.5
    xp.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


@contextmanager
def inference(module):
    """Evaluation mode and ``no_grad`` inside the block; the previous mode afterwards."""
    was_training = module.training
    module.eval()
    try:
        with no_grad():
            yield
    finally:
        module.train(was_training)
