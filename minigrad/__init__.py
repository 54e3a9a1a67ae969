"""minigrad: a small reverse-mode autodiff engine on NumPy (and CuPy on a GPU).

Example::

    import minigrad as mg
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    w.grad            # tensor([2., 4.])
"""
from . import backend, cuda, functional, gc_policy, ops
from .autograd import grad
from .errors import AnomalyError, CheckpointError, DeviceError, GraphError, ShapeError
from .factories import (
                        arange,
                        empty,
                        eye,
                        full,
                        full_like,
                        linspace,
                        ones,
                        ones_like,
                        rand,
                        randint,
                        randn,
                        zeros,
                        zeros_like,
)
from .grad_mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graphviz import to_dot
from .ops import (
                        abs,
                        broadcast_to,
                        chunk,
                        clip,
                        concatenate,
                        erf,
                        exp,
                        flatten,
                        gelu,
                        index_add,
                        log,
                        logsumexp,
                        matmul,
                        max,
                        maximum,
                        mean,
                        min,
                        minimum,
                        permute,
                        relu,
                        reshape,
                        segment_sum,
                        sigmoid,
                        softplus,
                        split,
                        sqrt,
                        squeeze,
                        stack,
                        std,
                        sum,
                        sum_to,
                        tanh,
                        transpose,
                        unsqueeze,
                        var,
                        where,
)
from .random import manual_seed
from .serialization import load, save
from .tensor import Tensor, get_default_dtype, set_default_dtype, tensor

# Bind the ops as Tensor operators and methods (x + y, x.sum(), ...): tensor.py
# cannot import the ops itself, since every op module imports Tensor.
ops.install_tensor_methods(Tensor)

from . import nn  # noqa: E402  (nn builds on everything above)

gc_policy.enable()  # recorded graphs do not make the cyclic collector rescan them (gc_policy.py)

float32, float64, int64, int32, bool_ = "float32", "float64", "int64", "int32", "bool"
cat = concatenate
clamp = clip

__version__ = "0.1.0"
