"""Two small models for the optimization demos: an MLP and logistic regression.

* :class:`MLP`: ``MLP(sizes, activation='tanh')`` is the composition
  h_0 = x, h_k = phi(h_{k-1} W_k^T + b_k) for k < n, output h_{n-1} W_n^T + b_n
  (no activation on the last layer: it gives logits or a regression value).
* :class:`LogisticRegression`: multinomial logistic (softmax) regression,
  p(y = k | x) = softmax(x W^T + b)_k; ``forward`` returns the logits, so the
  loss is ``minigrad.functional.cross_entropy(model(x), y)``, which is convex
  in (W, b). With ``n_classes=1`` it is binary: p(y = 1 | x) = sigma(x w + b).
"""
from __future__ import annotations

import minigrad.functional as F
from minigrad import nn

__all__ = ["MLP", "LogisticRegression"]

ACTIVATIONS = {
    "tanh": F.tanh,
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "gelu": F.gelu,
    "identity": lambda x: x,
}


class MLP(nn.Module):
    """Fully connected network with layer sizes ``sizes = [in, hidden..., out]``.

    Parameters: ``layers.{k}.weight`` (sizes[k+1], sizes[k]) and ``layers.{k}.bias``,
    PyTorch's Linear initialization. ``activation``: 'tanh' (default), 'relu',
    'sigmoid', 'gelu', 'identity', or any function of a Tensor.
    """

    def __init__(self, sizes, activation="tanh", bias=True, device=None, dtype=None):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got {sizes}")
        if callable(activation):
            self.activation_fn, self.activation = activation, getattr(
                activation, "__name__", "custom")
        elif activation in ACTIVATIONS:
            self.activation_fn, self.activation = ACTIVATIONS[activation], activation
        else:
            raise ValueError(f"unknown activation {activation!r}; expected one of "
                             f"{sorted(ACTIVATIONS)} or a function")
        self.sizes = sizes
        self.layers = nn.ModuleList([nn.Linear(a, b, bias=bias, device=device, dtype=dtype)
                                     for a, b in zip(sizes[:-1], sizes[1:])])

    def forward(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation_fn(layer(x))
        return last(x)

    def extra_repr(self):
        return f"sizes={self.sizes}, activation={self.activation!r}"


class LogisticRegression(nn.Module):
    """``LogisticRegression(in_features, n_classes)``: logits = x W^T + b.

    Parameters ``linear.weight`` (n_classes, in_features) and ``linear.bias``.
    :meth:`predict_proba` gives the class probabilities (softmax, or sigmoid
    when ``n_classes == 1``), :meth:`predict` the most probable class.
    """

    def __init__(self, in_features, n_classes, device=None, dtype=None):
        super().__init__()
        self.in_features, self.n_classes = in_features, n_classes
        self.linear = nn.Linear(in_features, n_classes, device=device, dtype=dtype)

    def forward(self, x):
        return self.linear(x)

    def predict_proba(self, x):
        logits = self(x)
        return F.sigmoid(logits) if self.n_classes == 1 else F.softmax(logits, dim=-1)

    def predict(self, x):
        logits = self(x)
        if self.n_classes == 1:
            return (logits.reshape(logits.shape[:-1]) > 0)
        return logits.argmax(axis=-1)
