"""Hostile: sgd_step prints 1 GB."""
import sys


def sgd_step(theta, grad, lr):
    line = "x" * (1 << 20)
    for _ in range(1024):
        sys.stdout.write(line)
    return theta - lr * grad
