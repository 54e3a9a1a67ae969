"""Homework 4: SGD and Adam classes. (One known mistake: adam.closure_loss_dropped.)"""
import numpy as np

from optim import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov}
        super().__init__(params, defaults)

    def _init_state(self, theta, group):
        return {"momentum_buffer": None}

    def _update(self, theta, grad, state, group):
        g = grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * theta
        buf = state["momentum_buffer"]
        if group["momentum"] != 0:
            if buf is None:
                buf = g.copy()
            else:
                buf = group["momentum"] * buf + (1 - group["dampening"]) * g
            if group["nesterov"]:
                g = g + group["momentum"] * buf
            else:
                g = buf
        return theta - group["lr"] * g, {"momentum_buffer": buf}, {}


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def step(self, closure=None):
        if closure is not None:
            closure()
        self._apply_update()

    def _init_state(self, theta, group):
        return {"step": 0, "exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}

    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * theta
        t = state["step"] + 1
        m = beta1 * state["exp_avg"] + (1 - beta1) * grad
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        new_theta = theta - group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])
        return new_theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {}
