"""Homework 2: backward rules. (One known mistake: mul.grads_swapped.)"""
import numpy as np


def unbroadcast(grad, shape):
    # sum out the dimensions numpy added in front
    while len(grad.shape) > len(shape):
        grad = grad.sum(axis=0)
    # sum over dimensions that were 1 in the input
    for i in range(len(shape)):
        if shape[i] == 1 and grad.shape[i] > 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


def mul_backward(a, b, grad_out):
    da = unbroadcast(grad_out * a, a.shape)
    db = unbroadcast(grad_out * b, b.shape)
    return da, db


def add_backward(a, b, grad_out):
    return unbroadcast(grad_out, a.shape), unbroadcast(grad_out, b.shape)


def matmul_backward(a, b, grad_out):
    da = grad_out @ b.T
    db = a.T @ grad_out
    return da, db


def sum_backward(x, grad_out, axis, keepdims):
    g = np.asarray(grad_out)
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return g * np.ones_like(x)


def mean_backward(x, grad_out, axis, keepdims):
    if axis is None:
        n = x.size
    else:
        n = x.shape[axis]
    return sum_backward(x, grad_out, axis, keepdims) / n


def exp_backward(x, grad_out):
    return grad_out * np.exp(x)


def log_backward(x, grad_out):
    return grad_out / x


def tanh_backward(x, grad_out):
    t = np.tanh(x)
    return grad_out * (1 - t * t)


def sigmoid_backward(x, grad_out):
    s = 1 / (1 + np.exp(-x))
    return grad_out * s * (1 - s)


def relu_backward(x, grad_out):
    return np.where(x > 0, grad_out, 0.0)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(x, grad_out, axis):
    s = _softmax(x, axis)
    dot = (grad_out * s).sum(axis=axis, keepdims=True)
    return s * (grad_out - dot)


def log_softmax_backward(x, grad_out, axis):
    s = _softmax(x, axis)
    return grad_out - s * grad_out.sum(axis=axis, keepdims=True)


def cross_entropy_backward(logits, targets, grad_out):
    n = logits.shape[0]
    probs = _softmax(logits, 1)
    one_hot = np.zeros_like(probs)
    one_hot[np.arange(n), targets] = 1
    return grad_out * (probs - one_hot) / n
