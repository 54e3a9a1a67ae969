"""The registry of experiments.

An experiment is a function ``run(ctx) -> dict`` registered under a name::

    from experiments.registry import experiment

    @experiment("bb-step", "Barzilai-Borwein step sizes on a quadratic")
    def run(ctx):
        ...
        return {"final_loss": 1e-6}

``ctx`` is a :class:`experiments.context.RunContext`; the returned dict holds the
experiment's key outcomes (JSON-serialisable, with names that stay stable between
versions, because tests and the index read them).

Experiments live one per module in ``experiments/demos/<module>.py``; the module
name is the experiment name with ``-`` written as ``_`` (``bb-step`` lives in
``bb_step.py``). ``experiments/demos/__init__.py`` imports every module there; a
module that fails to import is registered as *unavailable* under that derived
name, and running it raises :class:`ExperimentUnavailable` with the reason.

Registration order is kept: :func:`names` lists the experiments in the order
they were registered (the demos package imports the lecture demonstrations first,
in :data:`LECTURES` order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from . import dependencies

__all__ = [
    "LECTURES",
    "Experiment",
    "ExperimentUnavailable",
    "UnknownExperiment",
    "experiment",
    "register_unavailable",
    "get",
    "names",
    "lectures",
    "all_experiments",
]

#: The lecture demonstrations, in the order the lectures meet them. ``run lectures``
#: runs those of them that are registered, in this order.
LECTURES: tuple = (
    "trajectories",
    "amsgrad-counterexample",
    "radam-variance",
    "bb-step",
    "schedules",
    "lookahead",
    "sam",
    "muon-vs-adamw",
    "stopping",
    "landscape",
    "finite-sum",
    "adabelief-regions",
    "double-descent",
    "mode-connectivity",
    "grokking",
)

#: Names the command line uses for itself; no experiment may take them.
RESERVED = ("lectures", "all", "list")


class UnknownExperiment(KeyError):
    """No experiment is registered under the name; the message lists the names."""

    def __init__(self, name: str, known: Sequence[str]):
        self.name = name
        self.known = list(known)
        super().__init__(name)

    def __str__(self):
        return (f"unknown experiment {self.name!r}; known experiments: "
                + (", ".join(self.known) if self.known else "(none)"))


class ExperimentUnavailable(RuntimeError):
    """The experiment's module could not be imported (the message says why)."""


@dataclass
class Experiment:
    name: str
    description: str
    fn: Callable
    module: str = ""
    #: keys of the outcomes dict to show first on the experiment's line of the
    #: index (dotted paths into nested dicts allowed); None: the first scalars.
    headline: Optional[tuple] = None
    #: the reason the module failed to import, or None when it is usable
    error: Optional[str] = None
    extra: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.error is None

    def __call__(self, ctx):
        if self.error is not None:
            hint = dependencies.missing_message(self.error)
            raise ExperimentUnavailable(
                f"experiment {self.name!r} is unavailable: its module {self.module} "
                f"failed to import:\n{self.error}" + (f"\n{hint}" if hint else ""))
        return self.fn(ctx)


_REGISTRY: "dict[str, Experiment]" = {}


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or name != name.strip() or " " in name:
        raise ValueError(f"experiment name must be a non-empty word, got {name!r}")
    if name in RESERVED:
        raise ValueError(f"experiment name {name!r} is reserved by the command line")


def experiment(name: str, description: str, *, headline: Optional[Sequence[str]] = None):
    """Register the decorated ``run(ctx) -> dict`` as experiment ``name``.

    ``description`` is the one line ``python -m experiments list`` prints.
    ``headline`` (optional) names the outcome keys the index shows first.
    The function is returned unchanged. Registering a name twice from a
    different function raises ``ValueError`` (re-importing the same module,
    e.g. after ``importlib.reload``, replaces the entry).
    """
    _check_name(name)
    description = " ".join(str(description).split())

    def decorator(fn: Callable) -> Callable:
        module = getattr(fn, "__module__", "")
        old = _REGISTRY.get(name)
        if (old is not None and old.available
                and (old.module, old.fn.__qualname__) != (module, fn.__qualname__)):
            raise ValueError(f"experiment {name!r} is already registered by "
                             f"{old.module}.{old.fn.__qualname__}")
        _REGISTRY[name] = Experiment(name, description, fn, module,
                                     tuple(headline) if headline else None)
        fn.experiment_name = name
        return fn

    return decorator


def register_unavailable(name: str, module: str, error: str) -> Experiment:
    """Record that ``module`` (which should define ``name``) failed to import."""
    if name in _REGISTRY and _REGISTRY[name].available:
        return _REGISTRY[name]

    def _unavailable(ctx):  # pragma: no cover - Experiment.__call__ raises first
        raise ExperimentUnavailable(error)

    first = error.strip().splitlines()[-1] if error.strip() else "import failed"
    library = dependencies.missing_library(error)
    if library is not None:
        first += f"; install the '{dependencies.EXTRA}' extra"
    exp = Experiment(name, f"[unavailable: {first}]", _unavailable, module, None, error)
    _REGISTRY[name] = exp
    return exp


def _load_demos() -> None:
    # Importing the package registers everything (once; later imports are no-ops).
    from . import demos  # noqa: F401


def get(name: str) -> Experiment:
    """The registered experiment ``name``; :class:`UnknownExperiment` if none."""
    _load_demos()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownExperiment(name, names()) from None


def names() -> list:
    """All registered names, in registration order (unavailable ones included)."""
    _load_demos()
    return list(_REGISTRY)


def all_experiments() -> list:
    _load_demos()
    return list(_REGISTRY.values())


def lectures() -> list:
    """The names of :data:`LECTURES` that are registered, in lecture order."""
    _load_demos()
    return [n for n in LECTURES if n in _REGISTRY]
