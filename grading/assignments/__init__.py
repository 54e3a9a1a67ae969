"""The shipped assignments, by name; each module defines ``ASSIGNMENT`` (a :class:`grading.Assignment`)."""
import importlib

__all__ = ["NAMES", "get", "all_assignments"]

_MODULES = {
    "optimizers": "grading.assignments.optimizers",
    "autodiff": "grading.assignments.autodiff",
    "optimizer-class": "grading.assignments.optimizer_class",
}
NAMES = tuple(_MODULES)


def get(name: str):
    """The assignment called ``name``; an unknown name is an error that lists the known ones."""
    if name not in _MODULES:
        raise KeyError(f"unknown assignment {name!r}; the shipped ones are: {', '.join(NAMES)}")
    return importlib.import_module(_MODULES[name]).ASSIGNMENT


def all_assignments():
    return [get(name) for name in NAMES]
