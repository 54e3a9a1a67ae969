r"""Hyperparameter checks, with PyTorch's messages.

One place for every argument check of :mod:`optim` and its formulas, so that
a wrong value gets the same clear ``ValueError`` wherever it is given:
``"Invalid learning rate: -1.0"``, ``"Invalid epsilon value: -1e-08"``,
``"Invalid beta parameter at index 0: 1.0"``, ``"Invalid momentum_form:
'x' (expected one of 'torch', 'lecture')"``, ``"Invalid k value: 0 (expected
an int >= 1)"``. Like PyTorch, optimizers check the constructor's arguments
only, not the values given in param-group dicts.
"""
from __future__ import annotations

from numbers import Integral, Real

from minigrad.tensor import Tensor

__all__ = ["check_lr", "check_nonnegative", "check_range", "check_betas", "check_choice",
           "check_count"]


def _scalar(value, what: str):
    """A one-element minigrad Tensor becomes a Python float; numbers pass through."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {what} must be 1-element")
        return float(value.item())
    return value


def check_lr(lr):
    """The learning rate as a number; raises ``ValueError("Invalid learning rate: lr")``.

    A one-element Tensor is accepted (as in PyTorch) and turned into a float.
    """
    lr = _scalar(lr, "lr")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    return lr


def check_nonnegative(value, name: str):
    """Require ``0 <= value``; the message is ``"Invalid {name} value: {value}"``.

    PyTorch's names: ``"epsilon"`` for eps, ``"weight_decay"``, ``"momentum"``,
    ``"alpha"``, ``"lr_decay"``, ``"initial_accumulator_value"``, ...
    NaN fails the check.
    """
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")
    return value


def check_range(value, name: str, low: float, high: float, *,
                include_low: bool = True, include_high: bool = True):
    """Require ``low <= value <= high`` (ends as given); message as :func:`check_nonnegative`."""
    above = low <= value if include_low else low < value
    below = value <= high if include_high else value < high
    if not (above and below):
        raise ValueError(f"Invalid {name} value: {value}")
    return value


def check_betas(betas):
    """Require ``0 <= beta < 1`` for each of the two betas; return them as floats.

    The message names the index, as PyTorch's does:
    ``"Invalid beta parameter at index 1: 1.0"``. Unlike PyTorch, ints are
    accepted (``betas=(0, 0.99)``) and become floats.
    """
    betas = tuple(betas)
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    out = []
    for i, beta in enumerate(betas):
        beta = _scalar(beta, f"betas[{i}]")
        if not isinstance(beta, Real):
            raise TypeError(f"betas[{i}] must be a number, got {type(beta).__name__}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        out.append(float(beta))
    return tuple(out)


def check_choice(value, name: str, choices):
    """Require ``value`` to be one of ``choices`` (for the lecture-convention options)."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Invalid {name}: {value!r} (expected one of {options})")
    return value


def check_count(value, name: str, *, minimum: int = 1, allow_none: bool = False):
    """Require an int (not a bool) ``>= minimum`` (or None when ``allow_none``).

    For step counts and periods (``k``, ``update_freq``, ``inner_steps``,
    ``num_iterations``, ...); the message is ``"Invalid {name} value: {value!r}
    (expected an int >= {minimum})"``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"Invalid {name} value: {value!r} (expected an int >= {minimum}"
                         + (" or None)" if allow_none else ")"))
    return value
