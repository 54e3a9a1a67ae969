"""Hostile: sgd_step allocates 10 GB."""
import numpy as np


def sgd_step(theta, grad, lr):
    big = np.ones(10 * 1024**3 // 8)
    return theta - lr * grad + big[0] - 1
