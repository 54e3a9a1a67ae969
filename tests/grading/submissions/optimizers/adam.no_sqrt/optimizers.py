"""Homework 3: optimizers. (One known mistake: adam.no_sqrt.)"""
import numpy as np


def sgd_step(theta, grad, lr):
    new_theta = theta - lr * grad
    return new_theta


def momentum_step(theta, grad, v, lr, gamma):
    v = gamma * v + lr * grad
    theta = theta - v
    return theta, v


def nesterov_step(theta, grad_fn, v, lr, gamma):
    lookahead = theta - gamma * v
    g = grad_fn(lookahead)
    v_new = gamma * v + lr * g
    return theta - v_new, v_new


def adagrad_step(theta, grad, G, lr, eps):
    G = G + grad * grad
    theta = theta - lr * grad / np.sqrt(G + eps)
    return theta, G


def rmsprop_step(theta, grad, G, lr, gamma, eps):
    G = gamma * G + (1 - gamma) * np.square(grad)
    return theta - lr * grad / np.sqrt(G + eps), G


def adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    theta = theta - lr * m_hat / (v_hat + eps)
    return theta, m, v


def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    v_max = np.maximum(v_max, v)
    m_hat = m / (1 - beta1 ** t)
    denom = np.sqrt(v_max / (1 - beta2 ** t)) + eps
    return theta - lr * m_hat / denom, m, v, v_max


def radam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2 ** t / (1.0 - beta2 ** t)
    if rho_t > 4:
        l_t = np.sqrt(1 - beta2 ** t) / (np.sqrt(v) + eps)
        r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        theta = theta - lr * r_t * m_hat * l_t
    else:
        theta = theta - lr * m_hat
    return theta, m, v


def bb_step_size(s, y, variant):
    sy = np.sum(s * y)
    if variant == 1:
        return np.sum(s * s) / sy
    return sy / np.sum(y * y)
