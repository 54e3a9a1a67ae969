r"""Ranger21's gradient transforms in place, on the ``.grad`` of a list of parameters.

The formulas are pure functions in :mod:`optim.functional.transforms` (with
their sources); these apply three of them to the gradients of a model, to run
between ``backward()`` and any optimizer's ``step()``::

    loss.backward()
    transforms.clip_gradients_adaptive_(model.parameters(), clipping=1e-2)
    transforms.centralize_gradients_(model.parameters())
    opt.step()

The pure transforms and Ranger21's schedule factors are importable from here
too (``transforms.unitwise_norm``, ``transforms.linear_warmup``,
``transforms.default_warmup_steps`` = :func:`optim.functional.schedules.untuned_warmup_steps`,
``transforms.lookahead`` = :func:`optim.functional.lookahead.lookahead_sync`),
for code written against this module; new code imports them from
:mod:`optim.functional`.
"""
from __future__ import annotations

from .functional.lookahead import lookahead_sync as lookahead
from .functional.schedules import linear_warmdown, linear_warmup
from .functional.schedules import untuned_warmup_steps as default_warmup_steps
from .functional.transforms import (
    adamw_denominator,
    adaptive_gradient_clipping,
    gradient_centralization,
    gradient_normalization,
    norm_loss,
    positive_negative_momentum,
    stable_weight_decay,
    unitwise_norm,
)

__all__ = [
    "clip_gradients_adaptive_", "centralize_gradients_", "normalize_gradients_",
    "unitwise_norm", "adaptive_gradient_clipping", "gradient_centralization",
    "gradient_normalization", "positive_negative_momentum", "adamw_denominator",
    "stable_weight_decay", "norm_loss", "linear_warmup", "default_warmup_steps",
    "linear_warmdown", "lookahead",
]


def _transform_(params, fn):
    for p in params:
        if p.grad is not None:
            p.grad.data[...] = fn(p.grad.data, p.data)


def clip_gradients_adaptive_(params, clipping=1e-2, eps=1e-3):
    """Adaptive gradient clipping of every ``p.grad`` in place (see the module docstring)."""
    _transform_(params, lambda g, w: adaptive_gradient_clipping(g, w, clipping=clipping,
                                                                eps=eps))


def centralize_gradients_(params):
    """Gradient centralization of every ``p.grad`` in place."""
    _transform_(params, lambda g, w: gradient_centralization(g))


def normalize_gradients_(params, eps=1e-8):
    """Gradient normalization of every ``p.grad`` in place."""
    _transform_(params, lambda g, w: gradient_normalization(g, eps=eps))
