"""Hostile: ends the process at import, with a success exit code."""
import os

os._exit(0)


def sgd_step(theta, grad, lr):
    return theta - lr * grad
