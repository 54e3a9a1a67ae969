"""Neural-network functions (``minigrad.functional``, like ``torch.nn.functional``).

Most are compositions of the ops in :mod:`minigrad.ops`, so their gradients
(and second derivatives) come from the chain rule without extra code. Softmax
has its own backward, the Jacobian-vector product y * (g - sum(g * y)).
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .errors import ShapeError
from .function import Function
from .grad_mode import state
from .ops import (
    clip,
    gelu,
    getitem,
    matmul,
    mean,
    relu,
    reshape,
    sigmoid,
    softplus,
    sqrt,
    tanh,
    transpose,
    where,
)
from .ops import sum as _sum
from .ops._convert import coerce
from .ops.reduction import normalize_axis
from .tensor import Tensor
from .typing import Shape, TensorLike

__all__ = ["relu", "sigmoid", "tanh", "gelu", "softplus", "softmax", "log_softmax",
           "linear", "embedding", "dropout", "layer_norm", "masked_fill", "mse_loss",
           "nll_loss", "cross_entropy", "clip"]


class Softmax(Function):
    saved_inputs = ()

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:  # nothing to normalize (and max() of an empty axis fails)
            return xp.zeros_like(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, g):
        if not state.grad_enabled:   # no create_graph: the same formula on arrays
            return Tensor._make(self.backward_array(g.data))
        y = self.output
        return y * (g - _sum(g * y, self.axis, keepdims=True))

    def backward_array(self, g):
        """:meth:`backward` on arrays (no graph); tested equal to it."""
        y = self._output_arrays[0]
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


def softmax(x: TensorLike, dim: int = -1) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``."""
    if not isinstance(x, Tensor):
        x = coerce(x, "softmax", "x")
    return Softmax(normalize_axis(dim, x.ndim, "softmax"))(x)


class LogSoftmax(Function):
    """(x - m) - log sum exp(x - m) with m = max x: the shifted logits are exact, so
    float32 logits near 1e4 keep their precision (x - logsumexp(x) would subtract
    two numbers near 1e4 and keep three digits). Backward: g - softmax * sum(g)."""

    saved_inputs = ()

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:
            return xp.zeros_like(x)
        m = x.max(axis=self.axis, keepdims=True)
        shifted = x - xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        if not state.grad_enabled:   # no create_graph: the same formula on arrays
            return Tensor._make(self.backward_array(g.data))
        from .ops import exp

        return g - exp(self.output) * _sum(g, self.axis, keepdims=True)

    def backward_array(self, g):
        """:meth:`backward` on arrays (no graph); tested equal to it."""
        xp = backend.get_array_module(g)
        return g - xp.exp(self._output_arrays[0]) * g.sum(axis=self.axis, keepdims=True)


def log_softmax(x: TensorLike, dim: int = -1) -> Tensor:
    """x_i - log sum_j exp(x_j) along ``dim``, computed stably (see :class:`LogSoftmax`)."""
    if not isinstance(x, Tensor):
        x = coerce(x, "log_softmax", "x")
    return LogSoftmax(normalize_axis(dim, x.ndim, "log_softmax"))(x)


def linear(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """x W^T + b, with ``weight`` of shape (out_features, in_features) as in PyTorch."""
    if not isinstance(weight, Tensor):
        weight = coerce(weight, "linear", "weight")
    if not isinstance(x, Tensor):
        x = coerce(x, "linear", "x")
    if x.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"linear: input of shape {x.shape} has {x.shape[-1]} features "
                         f"but the weight of shape {weight.shape} expects {weight.shape[-1]}")
    if x.ndim > 2:
        # (..., in) inputs as one (N, in) product: as a batched product the weight's
        # gradient would be one small product per leading index plus a sum over them
        # (measured: 15 s of a 31 s Tree2Seq step with a 10k-word output layer)
        lead = x.shape[:-1]
        y = matmul(x.reshape((-1, x.shape[-1])), transpose(weight)).reshape(lead + (weight.shape[0],))
    else:
        y = matmul(x, transpose(weight))
    return y if bias is None else y + bias


def embedding(indices: TensorLike, weight: TensorLike, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by integer ``indices``: out[..., :] = W[indices[...], :].

    The backward scatter-adds the gradient rows into a zero matrix; with
    ``padding_idx`` that row gets no gradient (as in PyTorch).
    """
    if not isinstance(weight, Tensor):
        weight = coerce(weight, "embedding", "weight")
    xp = backend.get_array_module(weight.data)
    idx = backend.to_device(_data(indices), weight.device)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= weight.shape[0]):
        raise IndexError(f"embedding: index out of range [0, {weight.shape[0]}): "
                         f"min {int(idx.min())}, max {int(idx.max())}")
    out = getitem(weight, idx)
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise IndexError(f"embedding: padding_idx {padding_idx} out of range for "
                             f"{weight.shape[0]} embeddings")
        padding_idx %= weight.shape[0]  # -1 is the last row, as in torch
        # the padding rows are constants: detach them so no gradient reaches W[pad]
        keep = xp.asarray(idx != padding_idx)[..., None]
        out = where(keep, out, getitem(weight.detach(), idx))
    return out


def dropout(x: TensorLike, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The mask comes from minigrad's seeded generator (``minigrad.manual_seed``).
    """
    if not isinstance(x, Tensor):
        x = coerce(x, "dropout", "x")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    rng = backend.random_generator(x.device)
    keep = rng.random(x.shape) >= p
    mask = keep.astype(x.dtype) / (1.0 - p)
    return x * Tensor._make(mask.astype(x.dtype))


def layer_norm(
        x: TensorLike, normalized_shape: int | Shape, weight: TensorLike | None = None,
        bias: TensorLike | None = None, eps: float = 1e-5
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape)
    axes, with the biased variance (as ``torch.nn.functional.layer_norm``)."""
    if not isinstance(x, Tensor):
        x = coerce(x, "layer_norm", "x")
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end with the "
                         f"normalized shape {normalized_shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = mean(x, axes, keepdims=True)
    centered = x - mu
    var = mean(centered * centered, axes, keepdims=True)
    y = centered / sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def masked_fill(x: TensorLike, mask: TensorLike, value: float) -> Tensor:
    """``value`` where ``mask`` is true (broadcast against x), x elsewhere.

    Attention uses it with value = -inf (or a large negative number) to hide
    padding and future positions.
    """
    if not isinstance(x, Tensor):
        x = coerce(x, "masked_fill", "x")
    return where(mask, value, x)


# -------------------------------------------------------------------- losses
def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return _sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:  # noqa: A002  (torch's names)
    if not isinstance(input, Tensor):
        input = coerce(input, "mse_loss", "input")
    if input.shape != getattr(target, "shape", input.shape):
        raise ShapeError(f"mse_loss: input shape {input.shape} and target shape "
                         f"{target.shape} differ")
    diff = input - target
    return _reduce(diff * diff, reduction)


def _classes_last(input):
    """(N, C, d1, ...) -> (N*d1*..., C): move the class axis last and flatten."""
    if input.ndim == 1:
        return reshape(input, (1, -1))
    if input.ndim == 2:
        return input
    perm = (0,) + tuple(range(2, input.ndim)) + (1,)
    return reshape(input.permute(*perm), (-1, input.shape[1]))


def _target_array(target, input):
    if type(target) is np.ndarray and type(input.data) is np.ndarray:
        t = target                  # the common case: nothing to convert or move
    else:
        t = backend.to_device(_data(target), input.device)
    if t.dtype.kind not in "iu":
        raise TypeError(f"class-index targets must be integers, got dtype {t.dtype}")
    expected = (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ()
    if tuple(t.shape) != expected:
        raise ShapeError(f"target of shape {tuple(t.shape)} does not fit input of shape "
                         f"{input.shape} (expected {expected})")
    return t.reshape(-1)


def _weighted_mean(total, weights):
    """``total / sum(weights)``; when every target is ignored (the weights sum to 0)
    the loss is NaN, as in torch, but its gradient is 0, not 0 * (1/0) = NaN: one
    all-padding batch must not turn every weight into NaN."""
    denom = weights.sum()
    if float(denom) == 0:
        return total * 0.0 + float("nan")
    return total / Tensor._make(denom)


def nll_loss(
        input: TensorLike, target: TensorLike, weight: TensorLike | None = None, ignore_index: int = -100,
        reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of the target classes, given log-probabilities.

    loss_i = -w[y_i] * input[i, y_i]; targets equal to ``ignore_index`` count
    for nothing; 'mean' divides by the sum of the weights of the counted targets.
    """
    if not isinstance(input, Tensor):
        input = coerce(input, "nll_loss", "input")
    logp = _classes_last(input)
    y = _target_array(target, input)
    xp = backend.get_array_module(y)
    n_classes = logp.shape[1]
    counted = y != ignore_index
    safe_y = xp.where(counted, y, 0)
    if safe_y.size and (int(safe_y.min()) < 0 or int(safe_y.max()) >= n_classes):
        raise IndexError(f"nll_loss: target out of range [0, {n_classes})")
    w = counted.astype(logp.dtype)
    if weight is not None:
        w = w * _data(weight)[safe_y]
    w_t = Tensor._make(w)
    picked = getitem(logp, (xp.arange(logp.shape[0]), safe_y))
    loss = -(picked * w_t)
    if reduction == "mean":
        return _weighted_mean(_sum(loss), w)
    if reduction == "none":
        return reshape(loss, (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ())
    return _reduce(loss, reduction)


class CrossEntropy(Function):
    """Softmax cross-entropy of (N, C) logits as one op.

    With log p = log_softmax(x) (stable, as :class:`LogSoftmax`) and the target
    distribution of row i, Q[i, c] = u_i ((1 - eps) w[y_i] [c = y_i] + eps / C w[c])
    (u_i = 0 for an ignored target, else 1; w the class weights, 1 without),
    the loss of row i is -sum_c Q[i, c] log p[i, c], and its gradient is

        d loss_i / d x[i, c] = p[i, c] sum_c' Q[i, c'] - Q[i, c]

    (softmax minus one-hot, scaled). 'mean' divides by D = sum_i u_i w[y_i]; when
    every target is ignored (D = 0) the loss is NaN, as in torch, and the gradient
    is 0. ``backward`` is written with Tensor ops, so it is differentiable again.
    """

    saved_inputs = (0,)
    saves_output = False

    def __init__(self, target, weight, ignore_index, reduction, label_smoothing):
        self.target, self.weight = target, weight
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, x):
        xp = backend.get_array_module(x)
        n, n_classes = x.shape
        self._find_counted_targets(xp, n_classes)
        # w_row[i] = u_i w[y_i]; None when every row counts with weight 1 (the common case,
        # which then skips building, multiplying by and summing a vector of ones)
        if self.counted is None:
            w_row = None if self.weight is None else self.weight[self.safe_y]
        else:
            w_row = self.counted.astype(x.dtype)
            if self.weight is not None:
                w_row = w_row * self.weight[self.safe_y]
        self._w_row, self._dtype = w_row, x.dtype
        self._rows = xp.arange(n)
        with np.errstate(invalid="ignore", divide="ignore"):   # said by the second pass, if at all
            out = self._loss(x, xp, guard_max=False)
        if x.size and not _all_finite(out, xp):
            # A row whose maximum is infinite or NaN made the shift NaN. Compute again with
            # LogSoftmax's guard (shift by 0 there); where every maximum is finite the guard
            # changes nothing, so it is only paid when the result is not finite.
            with np.errstate(divide="ignore"):                 # log 0 = -inf for an all -inf row
                out = self._loss(x, xp, guard_max=True)
        return out

    def _find_counted_targets(self, xp, n_classes):
        """Set ``safe_y`` (the targets, 0 where ignored) and ``counted`` (None: every row counts)."""
        y, ignore = self.target, self.ignore_index
        top = int(_as_unsigned(y).max()) if y.size else -1
        if top < n_classes and not 0 <= ignore < n_classes:
            self.safe_y, self.counted = y, None    # every target is a class, so none is ignore_index
            return
        counted = y != ignore
        safe_y = xp.where(counted, y, 0)
        if safe_y.size and int(_as_unsigned(safe_y).max()) >= n_classes:
            raise IndexError(f"cross_entropy: target out of range [0, {n_classes})")
        self.safe_y, self.counted = safe_y, counted

    def _loss(self, x, xp, guard_max):
        n, n_classes = x.shape
        # log p = shifted - log s, as LogSoftmax computes it; only the target
        # entries of log p are needed without label smoothing
        if x.size:
            m = x.max(axis=1, keepdims=True)
            if guard_max:
                m = xp.where(xp.isfinite(m), m, 0)
            shifted = x - m
            e = xp.exp(shifted)
            s = e.sum(axis=1, keepdims=True)
            log_s = xp.log(s)
        else:
            shifted = e = xp.zeros_like(x)
            s, log_s = xp.ones((n, 1), x.dtype), xp.zeros((n, 1), x.dtype)
        self._e, self._s = e, s     # for backward_array: softmax = e / s
        w_row = self._w_row
        logp_y = shifted[self._rows, self.safe_y] - log_s[:, 0]       # log p[i, y_i]
        loss = -logp_y if w_row is None else -(logp_y * w_row)
        eps = self.label_smoothing
        if eps:
            logp = shifted - log_s
            per_class = logp if self.weight is None else logp * self.weight
            smooth = -per_class.sum(axis=1)
            if self.counted is not None:
                smooth = smooth * self.counted.astype(x.dtype)
        if self.reduction == "none":
            return loss if not eps else (1 - eps) * loss + smooth * (eps / n_classes)
        total = loss.sum()
        if eps:
            smooth = smooth.sum()
        if self.reduction == "mean":
            # D = sum_i w_row[i]: the number of rows when every row counts with weight 1
            denom = x.dtype.type(n) if w_row is None else w_row.sum()
            self.denom = denom
            if float(denom) == 0:
                return xp.asarray(float("nan"), dtype=x.dtype)
            total = total / denom
            if eps:
                smooth = smooth / denom
        out = total if not eps else (1 - eps) * total + smooth * (eps / n_classes)
        return xp.asarray(out, dtype=x.dtype)

    @property
    def w_row(self):
        """u_i w[y_i] for each row i, as an (N,) array."""
        if self._w_row is not None:
            return self._w_row
        return backend.get_array_module(self.safe_y).ones(self.safe_y.shape[0], self._dtype)

    def target_distribution(self, like):
        """Q as an (N, C) array, and its row sums as (N, 1)."""
        xp = backend.get_array_module(like)
        n, n_classes = like.shape
        eps = self.label_smoothing
        q = xp.zeros_like(like)
        q[xp.arange(n), self.safe_y] = (1 - eps) * self.w_row
        if eps:
            w = xp.ones(n_classes, like.dtype) if self.weight is None else self.weight
            spread = (eps / n_classes) * w[None, :]
            q += spread if self.counted is None else spread * self.counted.astype(like.dtype)[:, None]
        return q, q.sum(axis=1, keepdims=True)

    def backward(self, g):
        if not state.grad_enabled:   # no create_graph: the same formula on arrays
            return Tensor._make(self.backward_array(g.data))
        x = self.inputs[0]
        q, mass = self.target_distribution(x.data)
        grad = softmax(x, dim=1) * Tensor._make(mass) - Tensor._make(q)
        if self.reduction == "none":
            return grad * reshape(g, (-1, 1))
        if self.reduction == "mean":
            if float(self.denom) == 0:   # every target ignored: no gradient, not NaN
                return grad * 0.0
            return grad * (g / Tensor._make(xp_asarray(self.denom, x.data)))
        return grad * g


    def backward_array(self, g):
        """:meth:`backward` on arrays (the same formula, no graph), used when the
        gradient need not be differentiable; tested equal to it."""
        xp = backend.get_array_module(self._e)
        e, s = self._e, self._s
        if self.reduction == "none":
            scale = g.reshape(-1)
        elif self.reduction == "mean":
            if float(self.denom) == 0:
                return xp.zeros_like(e)
            scale = g / self.denom          # denom: a scalar of e's dtype (w_row.sum())
        else:
            scale = g
        if self.label_smoothing:
            q, mass = self.target_distribution(e)
            grad = (e / s) * mass - q
            return grad * (scale.reshape(-1, 1) if scale.ndim else scale)
        # Q is w_row at the targets: p * w_row * scale, less w_row * scale there
        w = scale if self._w_row is None else self._w_row * scale
        grad = e * (w / s[:, 0])[:, None]
        grad[self._rows, self.safe_y] -= w
        return grad

    def release(self) -> None:
        super().release()
        self.__dict__.pop("_e", None)
        self.__dict__.pop("_s", None)
        self.__dict__.pop("_rows", None)


def _as_unsigned(indices):
    """Integer indices seen as unsigned (a view): a negative index is then huge, so one
    ``max()`` checks both ends of a range."""
    if indices.dtype.kind == "u":
        return indices
    return indices.view(indices.dtype.str.replace("i", "u"))


def _all_finite(a, xp) -> bool:
    """Whether every element of the array ``a`` is finite (one Python check for a scalar)."""
    if a.ndim == 0:
        return math.isfinite(float(a))
    return bool(xp.isfinite(a).all())


def xp_asarray(value, like):
    """``value`` as a 0-d array of ``like``'s module and dtype."""
    return backend.get_array_module(like).asarray(value, dtype=like.dtype)


def cross_entropy(
        input: TensorLike, target: TensorLike, weight: TensorLike | None = None, ignore_index: int = -100,
        reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """Softmax cross-entropy from logits and class indices, as in PyTorch.

    With label smoothing eps and C classes the target distribution is
    (1 - eps) one_hot(y) + eps / C, i.e. the loss is
    (1 - eps) * nll + eps / C * sum_c (-w_c log p_c). One op
    (:class:`CrossEntropy`): its gradient is softmax minus the target distribution.
    """
    if not isinstance(input, Tensor):
        input = coerce(input, "cross_entropy", "input")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    flat = _classes_last(input)
    y = _target_array(target, input)
    w = None
    if weight is not None:
        w = backend.to_device(_data(weight), input.device).astype(flat.dtype, copy=False)
    loss = CrossEntropy(y, w, ignore_index, reduction, float(label_smoothing))(flat)
    if reduction == "none" and input.ndim != 2:
        return reshape(loss, (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ())
    return loss


def _data(x):
    """The backend array of a Tensor; NumPy/CuPy arrays and lists as arrays."""
    if isinstance(x, Tensor):
        return x.data
    return x if backend.is_cupy_array(x) else np.asarray(x)

