'''Starter file of the ``autodiff`` assignment (written to the student's directory by ``starter``).'''

STARTER = '''"""Backward rules of a reverse-mode autodiff engine, one function per op.

Each ``<op>_backward`` receives the op's inputs and ``grad_out``, the gradient
of the loss L with respect to the op's output (same shape as the output), and
returns ∂L/∂input for each differentiable input, with that input's shape.
Arrays are float64 NumPy arrays (``targets`` is int64). The forward op is given
in each docstring. Broadcasting in the forward pass must be undone: sum the
gradient over the axes that broadcasting added or stretched. Only NumPy is
available.
"""
import numpy as np


def mul_backward(a, b, grad_out):
    """out = a * b (NumPy broadcasting). Returns: grad_a, grad_b"""
    raise NotImplementedError("mul_backward")


def add_backward(a, b, grad_out):
    """out = a + b (NumPy broadcasting). Returns: grad_a, grad_b"""
    raise NotImplementedError("add_backward")


def matmul_backward(a, b, grad_out):
    """out = a @ b, with a of shape (n, k) and b of shape (k, m). Returns: grad_a, grad_b"""
    raise NotImplementedError("matmul_backward")


def sum_backward(x, grad_out, axis, keepdims):
    """out = np.sum(x, axis=axis, keepdims=keepdims); axis is None or an int. Returns: grad_x"""
    raise NotImplementedError("sum_backward")


def mean_backward(x, grad_out, axis, keepdims):
    """out = np.mean(x, axis=axis, keepdims=keepdims); axis is None or an int. Returns: grad_x"""
    raise NotImplementedError("mean_backward")


def exp_backward(x, grad_out):
    """out = np.exp(x). Returns: grad_x"""
    raise NotImplementedError("exp_backward")


def log_backward(x, grad_out):
    """out = np.log(x), x > 0. Returns: grad_x"""
    raise NotImplementedError("log_backward")


def tanh_backward(x, grad_out):
    """out = np.tanh(x). Returns: grad_x"""
    raise NotImplementedError("tanh_backward")


def sigmoid_backward(x, grad_out):
    """out = σ(x) = 1 / (1 + exp(−x)). Returns: grad_x"""
    raise NotImplementedError("sigmoid_backward")


def relu_backward(x, grad_out):
    """out = max(x, 0); take the derivative at 0 as 0. Returns: grad_x"""
    raise NotImplementedError("relu_backward")


def softmax_backward(x, grad_out, axis):
    """out = s = exp(x) / Σ exp(x), the sum along ``axis``. Returns: grad_x"""
    raise NotImplementedError("softmax_backward")


def log_softmax_backward(x, grad_out, axis):
    """out = x − log Σ exp(x), the sum along ``axis``. Returns: grad_x"""
    raise NotImplementedError("log_softmax_backward")


def cross_entropy_backward(logits, targets, grad_out):
    """out = −(1/N) Σᵢ log softmax(logitsᵢ)[targetsᵢ], a scalar; logits (N, C), targets (N,) class indices,
    grad_out a 0-d array. Returns: grad_logits
    """
    raise NotImplementedError("cross_entropy_backward")
'''
