"""``minigrad.nn``: Modules, Parameters, layers, losses and initializers.

The pieces, one job per file:

======================  ===========================================================
``parameter.py``        ``Parameter``: a Tensor that Modules register as learnable
``module.py``           ``Module``: registration, parameter walks, state dicts,
                        ``to()``, ``train()/eval()``, ``zero_grad()``, ``repr``
``containers.py``       ``Sequential``, ``ModuleList``, ``ModuleDict``
``linear.py``           ``Linear``, ``Identity``
``embedding.py``        ``Embedding``
``normalization.py``    ``LayerNorm``
``dropout.py``          ``Dropout``
``activation.py``       ``ReLU``, ``Tanh``, ``Sigmoid``, ``GELU``, ``Softmax``, ...
``loss.py``             ``MSELoss``, ``NLLLoss``, ``CrossEntropyLoss``
``init.py``             ``nn.init``: xavier/kaiming/orthogonal initializers
======================  ===========================================================

``minigrad.nn.functional`` is the very module :mod:`minigrad.functional` (not a
copy), so both ``import minigrad.nn.functional as F`` and
``from minigrad.nn import functional as F`` work as they do in PyTorch.
"""
import sys as _sys

from .. import functional
from . import init
from .activation import GELU, Flatten, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .containers import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .embedding import Embedding
from .linear import Identity, Linear
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, StateDictError
from .normalization import LayerNorm
from .parameter import Parameter

# make `import minigrad.nn.functional` find the alias
_sys.modules[__name__ + ".functional"] = functional

__all__ = ["Parameter", "Module", "IncompatibleKeys", "StateDictError",
           "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "Embedding",
           "LayerNorm", "Dropout", "ReLU", "Tanh", "Sigmoid", "GELU", "Softmax",
           "LogSoftmax", "Flatten", "MSELoss", "NLLLoss", "CrossEntropyLoss",
           "functional", "init"]
