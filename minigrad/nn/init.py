"""Weight initializers, ``minigrad.nn.init`` (like ``torch.nn.init``).

Each function fills a tensor *in place* and returns it. The values come from
minigrad's seeded generator for the tensor's device
(``minigrad.random.generator``), so ``minigrad.manual_seed(s)`` makes a model's
initial weights repeat exactly. Samples are drawn in float64 and then cast to
the tensor's dtype, which is kept: a float32 and a float64 model built after the
same seed start from the same numbers, up to rounding.

The scale rules
---------------
For a weight of shape ``(out, in, *kernel)`` the *receptive field* is the
product of the kernel sizes (1 for a Linear layer), and

    fan_in  = in  * receptive_field      (inputs summed by one output unit)
    fan_out = out * receptive_field      (outputs one input unit feeds)

Keeping the variance of activations (forward) or gradients (backward) constant
through a layer gives:

* Xavier/Glorot (2010): ``std = gain * sqrt(2 / (fan_in + fan_out))``.
* Kaiming/He (2015): ``std = gain / sqrt(fan)`` with ``fan`` = ``fan_in``
  (``mode="fan_in"``, preserves the forward pass) or ``fan_out``.

A uniform distribution U(-b, b) has standard deviation b / sqrt(3), so the
uniform versions use the bound ``b = sqrt(3) * std``. ``gain`` corrects for what
the nonlinearity does to the variance (:func:`calculate_gain`); ReLU halves it,
hence its gain sqrt(2).

PyTorch's ``nn.Linear`` uses ``kaiming_uniform_(w, a=sqrt(5))``: the leaky-ReLU
gain with slope sqrt(5) is sqrt(2 / (1 + 5)) = sqrt(1/3), so
``b = sqrt(3) * sqrt(1/3) / sqrt(fan_in) = 1 / sqrt(fan_in)``.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import backend
from ..grad_mode import no_grad
from ..random import generator

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_",
           "zeros_", "ones_", "eye_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_"]


# --------------------------------------------------------------------- helpers
def _write(tensor, values):
    """Store ``values`` (an array on the tensor's device) into ``tensor`` in place."""
    with no_grad():
        tensor.data[...] = values.astype(tensor.dtype, copy=False)
    return tensor


def _uniform_array(tensor, low, high):
    rng = generator(tensor.device)
    return low + (high - low) * rng.random(tensor.shape)


def _normal_array(tensor, mean, std):
    rng = generator(tensor.device)
    return mean + std * rng.standard_normal(tensor.shape)


def _no_elements(tensor, name):
    if tensor.numel() == 0:
        warnings.warn(f"{name}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return True
    return False


# ------------------------------------------------------------------- the scales
def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance after ``nonlinearity``.

    ================= ==============================
    linear, conv*,    1
    sigmoid
    tanh              5/3
    relu              sqrt(2)
    leaky_relu        sqrt(2 / (1 + slope^2)), slope = ``param`` (default 0.01)
    selu              3/4
    ================= ==============================
    """
    linear_like = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "sigmoid"]
    if nonlinearity in linear_like:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight of shape (out, in, *kernel); see the module doc."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer "
                         f"than 2 dimensions (got shape {tensor.shape})")
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    fan_in = tensor.shape[1] * receptive_field
    fan_out = tensor.shape[0] * receptive_field
    return fan_in, fan_out


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ---------------------------------------------------------- plain distributions
def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b)."""
    return _write(tensor, _uniform_array(tensor, a, b))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2)."""
    return _write(tensor, _normal_array(tensor, mean, std))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) samples conditioned on lying in [a, b].

    Rejection sampling: draw, keep the draws inside [a, b], redraw the rest.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    values = _normal_array(tensor, mean, std)
    outside = (values < a) | (values > b)
    for _ in range(1000):
        if not bool(outside.any()):
            break
        values[outside] = _normal_array(tensor, mean, std)[outside]
        outside = (values < a) | (values > b)
    else:
        raise ValueError(f"trunc_normal_: [{a}, {b}] is too unlikely under "
                         f"N({mean}, {std}^2) to sample by rejection")
    return _write(tensor, values)


def constant_(tensor, val):
    """Fill with the number ``val``."""
    with no_grad():
        tensor.data[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    """The identity matrix (2-D tensors only)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    with no_grad():
        tensor.data[...] = 0
        n = min(tensor.shape)
        tensor.data[range(n), range(n)] = 1
    return tensor


# ------------------------------------------------------------- scaled by fans
def xavier_uniform_(tensor, gain=1.0):
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _write(tensor, _uniform_array(tensor, -bound, bound))


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _write(tensor, _normal_array(tensor, 0.0, std))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b) with b = sqrt(3) * gain / sqrt(fan) (He et al., 2015).

    ``a`` is the negative slope of a leaky ReLU (used only when
    ``nonlinearity="leaky_relu"``; ``a=0`` gives the ReLU gain sqrt(2)).
    """
    if _no_elements(tensor, "kaiming_uniform_"):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _write(tensor, _uniform_array(tensor, -bound, bound))


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    if _no_elements(tensor, "kaiming_normal_"):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return _write(tensor, _normal_array(tensor, 0.0, std))


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013).

    The tensor is viewed as ``(shape[0], rest)``. The Q factor of a Gaussian
    matrix, with the signs of R's diagonal multiplied in, is uniformly
    distributed over orthogonal matrices (Haar measure); rows are orthonormal
    when there are fewer rows than columns, columns otherwise.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    rng = generator(tensor.device)
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    xp = backend.get_array_module(flat)
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tensor.shape))
