"""``Linear`` (an affine map y = x W^T + b) and ``Identity``."""
from __future__ import annotations

import math

from .. import functional as F
from ..factories import empty
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity"]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002  (torch's argument name)
        return input


class Linear(Module):
    """``y = x W^T + b`` for inputs of shape ``(..., in_features)``.

    ``weight`` has shape ``(out_features, in_features)`` (PyTorch's layout: one
    row per output unit), ``bias`` shape ``(out_features,)``. Initialization is
    PyTorch's default: both drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)),
    written as ``kaiming_uniform_(weight, a=sqrt(5))`` (see :mod:`minigrad.nn.init`).
    Parameters are float32 unless ``dtype`` says otherwise.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        device = device or "cpu"
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw fresh weights from minigrad's seeded generator (PyTorch's scheme)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
