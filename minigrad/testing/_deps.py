"""The optional libraries of :mod:`minigrad.testing`, imported only when a check needs them.

minigrad itself needs NumPy and SciPy only; PyTorch (the reference) and hypothesis
(the example generator) come with the ``test`` extra. A check called without them
raises an ImportError that says what to install, instead of failing at
``import minigrad.testing``.
"""
import importlib

_INSTALL = {
    "torch": "pip install torch (or the test extra: pip install 'minigrad[test]')",
    "hypothesis": "pip install hypothesis (or the test extra: pip install 'minigrad[test]')",
}


def _require(name, why):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"minigrad.testing: {why} needs {name}, which is not installed; "
                          f"{_INSTALL[name]}") from exc


def require_torch(why="comparing with PyTorch"):
    """The ``torch`` module, or an ImportError naming ``pip install torch``."""
    return _require("torch", why)


def require_hypothesis(why="drawing random examples"):
    """The ``hypothesis`` module, or an ImportError naming ``pip install hypothesis``."""
    return _require("hypothesis", why)
