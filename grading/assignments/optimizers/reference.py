r"""The reference of the ``optimizers`` assignment: each update as the lecture writes it, in NumPy.

These are the forms the assignment's table fixes (the lectures' forms: momentum
:math:`v \leftarrow \gamma v + \eta g`, :math:`\epsilon` inside the root for
AdaGrad and RMSProp, outside for Adam, RAdam's threshold :math:`\rho_t > 4`).
They run only in the grader's process.
"""
import numpy as np

__all__ = ["sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step",
           "amsgrad_step", "radam_step", "bb_step_size"]


def sgd_step(theta, grad, lr):
    return theta - lr * grad


def momentum_step(theta, grad, v, lr, gamma):
    v_new = gamma * v + lr * grad
    return theta - v_new, v_new


def nesterov_step(theta, grad_fn, v, lr, gamma):
    v_new = gamma * v + lr * grad_fn(theta - gamma * v)
    return theta - v_new, v_new


def adagrad_step(theta, grad, G, lr, eps):
    G_new = G + grad**2
    return theta - lr * grad / np.sqrt(G_new + eps), G_new


def rmsprop_step(theta, grad, G, lr, gamma, eps):
    G_new = gamma * G + (1 - gamma) * grad**2
    return theta - lr * grad / np.sqrt(G_new + eps), G_new


def adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    v_max_new = np.maximum(v_max, v_new)
    m_hat = m_new / (1 - beta1**t)
    return theta - lr * m_hat / (np.sqrt(v_max_new / (1 - beta2**t)) + eps), m_new, v_new, v_max_new


def radam_rho(t, beta2):
    r"""(:math:`\rho_\infty`, :math:`\rho_t`) of RAdam."""
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf, rho_inf - 2 * t * beta2**t / (1 - beta2**t)


def radam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat = m_new / (1 - beta1**t)
    rho_inf, rho_t = radam_rho(t, beta2)
    if rho_t > 4:
        l_t = np.sqrt(1 - beta2**t) / (np.sqrt(v_new) + eps)
        r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        theta_new = theta - lr * r_t * m_hat * l_t
    else:
        theta_new = theta - lr * m_hat
    return theta_new, m_new, v_new


def bb_step_size(s, y, variant):
    s = np.ravel(s)
    y = np.ravel(y)
    if variant == 1:
        return float(s @ s / (s @ y))
    if variant == 2:
        return float(s @ y / (y @ y))
    raise ValueError(f"variant must be 1 or 2, got {variant!r}")
