r"""The update formulas, one pure function per optimizer.

Each function takes one parameter's array, its gradient and its state, plus
the hyperparameters as keywords, and returns::

    theta_new, new_state, intermediates = optim.functional.adam(theta, grad, state, lr=1e-3)

* ``theta``, ``grad``: backend arrays (NumPy, or CuPy on a GPU); the array
  module comes from ``minigrad.backend.get_array_module``.
* ``state``: a dict keyed by PyTorch's buffer names (``exp_avg``,
  ``momentum_buffer``, ``step``, ...); ``<name>_init(theta, ...)`` builds the
  state before the first step.
* ``intermediates``: the formula's quantities by their lecture names (``g``,
  ``m``, ``v``, ``m_hat``, ``v_hat``, ...); tracing and grading read them.

The functions are pure: they never write into their inputs (they allocate
new arrays instead), so calling one twice with the same arguments gives the
same result. Each module's docstring holds the formula in LaTeX and its
source, and the lines of code follow the formula's lines with its symbols.

The optimizer classes in :mod:`optim` call these functions parameter by
parameter.
"""
from .adadelta import adadelta, adadelta_init
from .adagrad import adagrad, adagrad_init
from .adam import adam, adam_init, adamw
from .rmsprop import rmsprop, rmsprop_init
from .sgd import sgd, sgd_init, sgd_lookahead

__all__ = [
    "adadelta", "adadelta_init", "adagrad", "adagrad_init", "adam", "adam_init", "adamw",
    "rmsprop", "rmsprop_init", "sgd", "sgd_init", "sgd_lookahead",
]
