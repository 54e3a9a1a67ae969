"""Which libraries the experiments need beyond the engine, and what to say when one is
missing.

The engine, the optimizers and the models need NumPy and SciPy only. The
experiments (plots, progress bars, translation and summarisation metrics, Java
parsing, scikit-learn data sets) need the libraries of the ``experiments`` extra,
:data:`LIBRARIES`; setup.cfg's ``experiments`` extra lists the same distributions.
When one of them is missing, the command line names it and the command that
installs the extra (:data:`INSTALL`) instead of showing a bare traceback.
"""
from __future__ import annotations

import re
import sys

__all__ = ["EXTRA", "INSTALL", "LIBRARIES", "missing_library", "missing_message", "exit_if_missing"]

#: The extra that installs the experiments' libraries.
EXTRA = "experiments"

#: The commands that install it: from a checkout of the project, and from the index.
INSTALL = f'pip install -e ".[{EXTRA}]"  (or: pip install "minigrad-edu[{EXTRA}]")'

#: Import name -> distribution name of every library of the ``experiments`` extra.
LIBRARIES = {
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
    "sacrebleu": "sacrebleu",
    "rouge_score": "rouge-score",
    "nltk": "nltk",
    "tree_sitter": "tree-sitter",
    "tree_sitter_java": "tree-sitter-java",
    "sklearn": "scikit-learn",
    "dask": "dask",
    "distributed": "dask",  # dask.distributed, the study scheduler
}

_NO_MODULE = re.compile(r"No module named '([^']+)'")


def missing_library(error) -> str | None:
    """The distribution of the ``experiments`` extra that ``error`` reports missing, or
    None when it reports none.

    ``error`` is a :class:`ModuleNotFoundError` or the text of one (a traceback, as
    the registry keeps for a demo that failed to import).
    """
    if isinstance(error, ModuleNotFoundError):
        names = [error.name or ""]
    else:
        names = _NO_MODULE.findall(str(error))
    for name in names:
        top = name.split(".")[0]
        if top in LIBRARIES:
            return LIBRARIES[top]
    return None


def missing_message(error) -> str | None:
    """A one-line message naming the missing library and the extra that installs it,
    or None when ``error`` is not about a library of the extra."""
    library = missing_library(error)
    if library is None:
        return None
    return f"the experiments need {library}, which is not installed; install the '{EXTRA}' extra: {INSTALL}"


def exit_if_missing(error: ModuleNotFoundError) -> None:
    """Exit with status 1 and :func:`missing_message` when ``error`` is about a library
    of the extra; re-raise it otherwise."""
    message = missing_message(error)
    if message is None:
        raise error
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)
