"""Optimizers, each written as its lecture formula.

* :mod:`optim.functional`: the update formulas as pure functions (one module
  per family, the formula and its source in each docstring).
* :class:`optim.Optimizer`: the base class (PyTorch's API: param groups,
  state, ``zero_grad``, ``step(closure)``, ``state_dict``, tracing).
* The optimizers, with PyTorch 2.13's names, arguments and defaults:
  :class:`SGD` (``optim/sgd.py``), :class:`Adagrad`, :class:`RMSprop`,
  :class:`Adadelta`, :class:`Adam` and :class:`AdamW` (``optim/adam.py``).
  Where the lecture writes a formula differently from PyTorch, a named option
  selects the lecture's form; PyTorch's is the default.
"""
from . import functional
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer, required
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["functional", "Optimizer", "required", "SGD", "Adagrad", "RMSprop",
           "Adadelta", "Adam", "AdamW"]
from . import lr_scheduler, stopping
