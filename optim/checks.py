r"""Hyperparameter checks, with PyTorch's messages.

One place for every argument check of :mod:`optim` and its formulas, so that
a wrong value gets the same clear error wherever it is given.

Values out of range raise ``ValueError`` with PyTorch's words:
``"Invalid learning rate: -1.0"``, ``"Invalid epsilon value: -1e-08"``,
``"Invalid beta parameter at index 0: 1.0"``, ``"Invalid momentum_form:
'x' (expected one of 'torch', 'lecture')"``, ``"Invalid k value: 0 (expected
an int >= 1)"``. Like PyTorch, optimizers check the constructor's arguments
only, not the values given in param-group dicts.

Values of the wrong type raise :class:`HyperparameterTypeError` (a
``TypeError``) naming the argument, the type expected and the value received:
``"Adam: lr must be a real number (float or int), got str '0.01'"``. The class
name in front is added by :func:`names_owner`, which :class:`optim.Optimizer`
and :class:`optim.lr_scheduler.LRScheduler` wrap around every subclass's
``__init__``, so a check called in any constructor names its class. The rules:

* a real number is any ``numbers.Real`` (Python and NumPy ints and floats), not
  a ``bool``: ``lr=True`` is almost certainly a mistake;
* the learning rate may also be a one-element minigrad Tensor (as in PyTorch);
* an int is any ``numbers.Integral`` (Python or NumPy), not a ``bool``;
* a flag is a ``bool`` (or ``numpy.bool_``), not ``0``/``1`` or a string.

Where PyTorch or an earlier version of these checks raised ``ValueError`` for a
wrong type (a count given as ``2.5``, an unknown option of the wrong type,
betas of the wrong length, some scheduler arguments),
:class:`HyperparameterTypeValueError` is raised: it is both a ``TypeError`` and
a ``ValueError``, so both kinds of ``except`` catch it.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from numbers import Integral, Real

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["check_lr", "check_nonnegative", "check_range", "check_betas", "check_choice",
           "check_count", "check_real", "check_int", "check_bool", "check_str", "check_callable",
           "check_reals", "check_betas3", "check_ints", "check_strs", "check_trace", "check_instance",
           "check_real_or_list", "describe",
           "HyperparameterTypeError", "HyperparameterTypeValueError", "names_owner"]

REAL = "a real number (float or int)"
INT = "an int"
BOOL = "a bool (True or False)"


class HyperparameterTypeError(TypeError):
    """A hyperparameter of the wrong type; the message names the argument and the type received.

    :func:`names_owner` puts the name of the class being constructed in front of
    the message, once per object (a wrapper building an inner optimizer adds its
    own name before the inner one's: ``"SAM: SGD: lr must be ..."``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._owners: set[int] = set()

    def claim(self, owner: object) -> None:
        """Prefix the message with ``type(owner).__name__`` unless that object already did."""
        if id(owner) in self._owners:
            return
        self._owners.add(id(owner))
        self.args = (f"{type(owner).__name__}: {self.args[0]}", *self.args[1:])


class HyperparameterTypeValueError(HyperparameterTypeError, ValueError):
    """A wrong type where PyTorch or an earlier check raised ``ValueError``: catchable as both."""


def names_owner(init: Callable) -> Callable:
    """Wrap a constructor so that a :class:`HyperparameterTypeError` it raises names the class."""
    if getattr(init, "_names_owner", False):
        return init

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except HyperparameterTypeError as err:
            err.claim(self)
            raise

    __init__._names_owner = True
    return __init__


def describe(value) -> str:
    """``"str '0.01'"``: the type's name and a short repr, for messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _wrong_type(name: str, expected: str, value, *, value_error: bool = False):
    cls = HyperparameterTypeValueError if value_error else HyperparameterTypeError
    return cls(f"{name} must be {expected}, got {describe(value)}")


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, Real) and not _is_bool(value)


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not _is_bool(value)


def check_real(value, name: str, *, allow_none: bool = False, allow_tensor: bool = False,
               value_error: bool = False):
    """Require a real number (not a bool), or None when ``allow_none``, or a one-element
    Tensor when ``allow_tensor`` (a learning rate, as in PyTorch); return it unchanged."""
    if (value is None and allow_none) or _is_real(value) or (allow_tensor and isinstance(value, Tensor)):
        return value
    raise _wrong_type(name, REAL + (" or None" if allow_none else ""), value, value_error=value_error)


def check_int(value, name: str, *, allow_none: bool = False, value_error: bool = False):
    """Require an int (Python or NumPy, not a bool), or None when ``allow_none``."""
    if (value is None and allow_none) or _is_int(value):
        return value
    raise _wrong_type(name, INT + (" or None" if allow_none else ""), value, value_error=value_error)


def check_bool(value, name: str, *, allow_none: bool = False):
    """Require a flag: ``True``/``False`` (or ``numpy.bool_``), or None when ``allow_none``."""
    if (value is None and allow_none) or _is_bool(value):
        return value
    raise _wrong_type(name, BOOL + (" or None" if allow_none else ""), value)


def check_str(value, name: str, *, allow_none: bool = False, value_error: bool = False):
    """Require a str (or None when ``allow_none``): the type check of an option whose values
    are checked elsewhere with PyTorch's own message."""
    if (value is None and allow_none) or isinstance(value, str):
        return value
    raise _wrong_type(name, "a str" + (" or None" if allow_none else ""), value, value_error=value_error)


def check_instance(value, name: str, types: type | tuple, expected: str):
    """Require ``isinstance(value, types)``; ``expected`` words the type for the message."""
    if isinstance(value, types):
        return value
    raise _wrong_type(name, expected, value)


def check_callable(value, name: str, *, allow_none: bool = False):
    """Require a callable (a function, or an object with ``__call__``), or None when allowed."""
    if (value is None and allow_none) or callable(value):
        return value
    raise _wrong_type(name, "a function" + (" or None" if allow_none else ""), value)


def _sequence(value, name: str, expected: str, length: int | None, value_error: bool) -> tuple:
    if isinstance(value, (str, bytes, Tensor, np.ndarray)) or not isinstance(value, Iterable):
        raise _wrong_type(name, expected, value, value_error=value_error)
    items = tuple(value)
    if length is not None and len(items) != length:
        raise _wrong_type(name, expected, value, value_error=True)
    return items


def check_reals(value, name: str, length: int | None = None, *, none_at: Iterable[int] = (),
                value_error: bool = False, expected: str | None = None) -> tuple:
    """Require a sequence of real numbers (of ``length`` items when given); return it as a tuple.

    ``none_at``: indices where None is allowed too (Adafactor's ``eps=(None, 1e-3)``).
    A wrong length is a :class:`HyperparameterTypeValueError`. ``expected`` words
    the sequence for the message when the default (``"a tuple of 2 real
    numbers"``) does not say enough (``"a pair (nu1, nu2) of real numbers"``).
    """
    size = f"{length} " if length is not None else ""
    expected = expected or f"a tuple of {size}real numbers"
    items = _sequence(value, name, expected, length, value_error)
    none_at = set(none_at)
    for i, item in enumerate(items):
        check_real(item, f"{name}[{i}]", allow_none=i in none_at, value_error=value_error)
    return items


def check_ints(value, name: str, *, value_error: bool = False) -> list:
    """Require a sequence of ints (milestones); return it as a list."""
    items = _sequence(value, name, "a list of ints", None, value_error)
    for i, item in enumerate(items):
        check_int(item, f"{name}[{i}]", value_error=value_error)
    return list(items)


def check_strs(value, name: str) -> tuple:
    """Require a sequence of str (names of state entries, ...); return it as a tuple."""
    items = _sequence(value, name, "a list of str", None, False)
    for i, item in enumerate(items):
        check_str(item, f"{name}[{i}]")
    return items


def check_trace(value, name: str = "trace"):
    """Require a tracing switch: a bool, None, a quantity name or a list of them."""
    if value is None or _is_bool(value) or isinstance(value, str):
        return value
    if isinstance(value, Iterable) and not isinstance(value, (Tensor, np.ndarray, bytes)):
        value = tuple(value)
        for i, item in enumerate(value):
            check_str(item, f"{name}[{i}]")
        return value
    raise _wrong_type(name, "a bool or a list of quantity names", value)


def check_real_or_list(value, name: str, *, allow_none: bool = False):
    """Require a real number or a list/tuple of them (one per parameter group)."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_real(item, f"{name}[{i}]")
        return value
    if (value is None and allow_none) or _is_real(value):
        return value
    raise _wrong_type(name, REAL + (" or None" if allow_none else "")
                      + " or a list of them (one per parameter group)", value)


def _scalar(value, what: str):
    """A one-element minigrad Tensor becomes a Python float; numbers pass through."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {what} must be 1-element")
        return float(value.item())
    return value


def check_lr(lr, name: str = "lr"):
    """The learning rate as a number; raises ``ValueError("Invalid learning rate: lr")``.

    A one-element Tensor is accepted (as in PyTorch) and turned into a float;
    anything else but a real number is a :class:`HyperparameterTypeError`.
    """
    lr = _scalar(check_real(lr, name, allow_tensor=True), name)
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    return lr


def check_nonnegative(value, name: str, *, arg: str | None = None):
    """Require a real number with ``0 <= value``; the message is ``"Invalid {name} value: {value}"``.

    PyTorch's names: ``"epsilon"`` for eps, ``"weight_decay"``, ``"momentum"``,
    ``"alpha"``, ``"lr_decay"``, ``"initial_accumulator_value"``, ... ``arg``
    is the argument's own name for the type error (``eps``), when it differs.
    NaN fails the check.
    """
    check_real(value, arg or name)
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")
    return value


def check_range(value, name: str, low: float, high: float, *,
                include_low: bool = True, include_high: bool = True, arg: str | None = None):
    """Require a real number with ``low <= value <= high`` (ends as given); messages as
    :func:`check_nonnegative`."""
    check_real(value, arg or name)
    above = low <= value if include_low else low < value
    below = value <= high if include_high else value < high
    if not (above and below):
        raise ValueError(f"Invalid {name} value: {value}")
    return value


def check_betas(betas, name: str = "betas"):
    """Require ``0 <= beta < 1`` for each of the two betas; return them as floats.

    The message names the index, as PyTorch's does:
    ``"Invalid beta parameter at index 1: 1.0"``. Unlike PyTorch, ints are
    accepted (``betas=(0, 0.99)``) and become floats; one-element Tensors too
    (as in PyTorch). Not a pair: ``"betas must be a pair (beta1, beta2) of real
    numbers, got ..."``.
    """
    expected = "a pair (beta1, beta2) of real numbers"
    items = _sequence(betas, name, expected, 2, False)
    out = []
    for i, beta in enumerate(items):
        beta = _scalar(check_real(beta, f"{name}[{i}]", allow_tensor=True), f"{name}[{i}]")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        out.append(float(beta))
    return tuple(out)


def check_betas3(betas, name: str = "betas"):
    """Require three betas with ``0 <= beta < 1`` (Adan, AdEMAMix); return them as floats.

    Not a triple: ``"betas must be a triple (beta1, beta2, beta3) of real
    numbers, got ..."`` (a :class:`HyperparameterTypeValueError`); an element of
    the wrong type names its index (``betas[2]``); out of range:
    ``"Invalid beta parameter at index 2 value: 1.5"``.
    """
    items = check_reals(betas, name, 3, expected="a triple (beta1, beta2, beta3) of real numbers")
    for i, beta in enumerate(items):
        check_range(beta, f"beta parameter at index {i}", 0.0, 1.0, include_high=False, arg=f"{name}[{i}]")
    return tuple(float(b) for b in items)


def check_choice(value, name: str, choices):
    """Require ``value`` to be one of ``choices`` (for the lecture-convention options).

    A value of a type none of the choices has (``momentum_form=1``) is a
    :class:`HyperparameterTypeValueError` naming the type.
    """
    if type(value) is str and value in choices:      # the common case, cheap: fast paths check per chunk
        return value
    options = ", ".join(repr(c) for c in choices)
    if not any(type(value) is type(c) or (isinstance(c, str) and isinstance(value, str))
               for c in choices):
        raise HyperparameterTypeValueError(
            f"Invalid {name}: {value!r} (expected one of {options}; got {type(value).__name__})")
    if value not in choices:
        raise ValueError(f"Invalid {name}: {value!r} (expected one of {options})")
    return value


def check_count(value, name: str, *, minimum: int = 1, allow_none: bool = False):
    """Require an int (not a bool) ``>= minimum`` (or None when ``allow_none``).

    For step counts and periods (``k``, ``update_freq``, ``inner_steps``,
    ``num_iterations``, ...); the message is ``"Invalid {name} value: {value!r}
    (expected an int >= {minimum})"``, ending in the type received when that is
    wrong (then a :class:`HyperparameterTypeValueError`).
    """
    if value is None and allow_none:
        return None
    expected = f"expected an int >= {minimum}" + (" or None" if allow_none else "")
    if not _is_int(value):
        raise HyperparameterTypeValueError(
            f"Invalid {name} value: {value!r} ({expected}; got {type(value).__name__})")
    if value < minimum:
        raise ValueError(f"Invalid {name} value: {value!r} ({expected})")
    return value
