"""Hostile: sgd_step crashes the interpreter (segmentation fault); momentum_step is correct."""
import ctypes


def sgd_step(theta, grad, lr):
    ctypes.string_at(0)
    return theta - lr * grad


def momentum_step(theta, grad, v, lr, gamma):
    v = gamma * v + lr * grad
    return theta - v, v
