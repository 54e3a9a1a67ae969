r"""The reference of the ``autodiff`` assignment: the backward rule of each op, and the op itself.

A backward rule takes the op's inputs and ``grad_out`` (the gradient of the loss
with respect to the op's output) and returns the gradient with respect to each
differentiable input, of that input's shape: broadcasting in the forward pass is
undone by summing over the broadcast axes (:func:`sum_to`). The forward ops are
here for the finite-difference check of ``python -m grading check autodiff``.
These run only in the grader's process.
"""
import numpy as np


def sum_to(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so that it has ``shape``."""
    shape = tuple(shape)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _softmax(x, axis):
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _expand(grad_out, axis, keepdims):
    """``grad_out`` with the reduced axis put back (size 1), ready to broadcast against the input."""
    if axis is None or keepdims:
        return grad_out  # a 0-d array, or the reduced axes already kept
    return np.expand_dims(grad_out, axis)


# --- forward ops ----------------------------------------------------------------------------

def mul(a, b):
    return a * b


def add(a, b):
    return a + b


def matmul(a, b):
    return a @ b


def sum_(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis, keepdims):
    return np.mean(x, axis=axis, keepdims=keepdims)


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def tanh(x):
    return np.tanh(x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0.0)


def softmax(x, axis):
    return _softmax(x, axis)


def log_softmax(x, axis):
    return _log_softmax(x, axis)


def cross_entropy(logits, targets):
    n = logits.shape[0]
    return -np.mean(_log_softmax(logits, 1)[np.arange(n), targets])


# --- backward rules (the reference) ---------------------------------------------------------

def mul_backward(a, b, grad_out):
    return sum_to(grad_out * b, np.shape(a)), sum_to(grad_out * a, np.shape(b))


def add_backward(a, b, grad_out):
    return sum_to(grad_out, np.shape(a)), sum_to(grad_out, np.shape(b))


def matmul_backward(a, b, grad_out):
    return grad_out @ b.T, a.T @ grad_out


def sum_backward(x, grad_out, axis, keepdims):
    return np.broadcast_to(_expand(grad_out, axis, keepdims), np.shape(x)).copy()


def mean_backward(x, grad_out, axis, keepdims):
    count = np.size(x) if axis is None else np.shape(x)[axis]
    return sum_backward(x, grad_out, axis, keepdims) / count


def exp_backward(x, grad_out):
    return grad_out * np.exp(x)


def log_backward(x, grad_out):
    return grad_out / x


def tanh_backward(x, grad_out):
    return grad_out * (1.0 - np.tanh(x) ** 2)


def sigmoid_backward(x, grad_out):
    s = sigmoid(x)
    return grad_out * s * (1.0 - s)


def relu_backward(x, grad_out):
    return grad_out * (x > 0)


def softmax_backward(x, grad_out, axis):
    s = _softmax(x, axis)
    return s * (grad_out - np.sum(grad_out * s, axis=axis, keepdims=True))


def log_softmax_backward(x, grad_out, axis):
    return grad_out - _softmax(x, axis) * np.sum(grad_out, axis=axis, keepdims=True)


def cross_entropy_backward(logits, targets, grad_out):
    n = logits.shape[0]
    p = _softmax(logits, 1)
    p[np.arange(n), targets] -= 1.0
    return grad_out * p / n
