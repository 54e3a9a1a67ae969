"""The experiments, one module each; importing this package registers them all.

Every module ``experiments/demos/<module>.py`` is imported: first the lecture
demonstrations in :data:`experiments.registry.LECTURES` order, then any other
module in alphabetical order. A module that raises on import does not take the
others down: it is registered as *unavailable* under its derived name (module
name with ``_`` written as ``-``), ``python -m experiments list`` shows why, and
``run`` fails loudly for that one experiment with the full traceback.

A new experiment needs no change here: drop ``experiments/demos/<module>.py``
defining ``@experiment("<module-with-dashes>", "...")``.
"""
from __future__ import annotations

import importlib
import pkgutil
import traceback

from ..registry import LECTURES, register_unavailable

IMPORT_ERRORS: dict = {}


def _module_names() -> list:
    found = sorted(m.name for m in pkgutil.iter_modules(__path__)
                   if not m.name.startswith("_"))
    lecture_modules = [n.replace("-", "_") for n in LECTURES]
    ordered = [m for m in lecture_modules if m in found]
    return ordered + [m for m in found if m not in ordered]


def _import_all() -> None:
    for mod in _module_names():
        full = f"{__name__}.{mod}"
        try:
            importlib.import_module(full)
        except Exception:  # ImportError above all; any import-time failure counts
            err = traceback.format_exc()
            IMPORT_ERRORS[mod] = err
            register_unavailable(mod.replace("_", "-"), full, err)


_import_all()
