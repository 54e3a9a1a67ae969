'''Starter file of the ``optimizers`` assignment (written to the student's directory by ``starter``).'''

STARTER = '''"""Optimizers as update formulas, one function per method.

Fill in every function. Arguments are float64 NumPy arrays (any shape, 0-d
included) and Python numbers; return new arrays, in the order given under
"Returns". ``t`` is the 1-based step number. Do not modify the input arrays.
Only NumPy is available.
"""
import numpy as np


def sgd_step(theta, grad, lr):
    """Plain gradient descent.

        θ ← θ − η g

    Returns: theta_new
    """
    raise NotImplementedError("sgd_step")


def momentum_step(theta, grad, v, lr, gamma):
    """Gradient descent with momentum (the lecture's form).

        v ← γ v + η g
        θ ← θ − v

    Returns: theta_new, v_new
    """
    raise NotImplementedError("momentum_step")


def nesterov_step(theta, grad_fn, v, lr, gamma):
    """Nesterov's accelerated gradient. ``grad_fn(x)`` returns ∇f(x).

        v ← γ v + η ∇f(θ − γ v)
        θ ← θ − v

    Returns: theta_new, v_new
    """
    raise NotImplementedError("nesterov_step")


def adagrad_step(theta, grad, G, lr, eps):
    """AdaGrad (elementwise).

        G ← G + g²
        θ ← θ − η g / √(G + ε)

    Returns: theta_new, G_new
    """
    raise NotImplementedError("adagrad_step")


def rmsprop_step(theta, grad, G, lr, gamma, eps):
    """RMSProp (elementwise).

        G ← γ G + (1 − γ) g²
        θ ← θ − η g / √(G + ε)

    Returns: theta_new, G_new
    """
    raise NotImplementedError("rmsprop_step")


def adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):
    """Adam (elementwise).

        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²
        m̂ = m / (1 − β1ᵗ)
        v̂ = v / (1 − β2ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)

    Returns: theta_new, m_new, v_new
    """
    raise NotImplementedError("adam_step")


def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    """AMSGrad: Adam with the running maximum of v in the denominator.

        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²
        v_max ← max(v_max, v)            (elementwise)
        m̂ = m / (1 − β1ᵗ)
        θ ← θ − η m̂ / (√(v_max / (1 − β2ᵗ)) + ε)

    Returns: theta_new, m_new, v_new, v_max_new
    """
    raise NotImplementedError("amsgrad_step")


def radam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):
    """Rectified Adam.

        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²
        m̂ = m / (1 − β1ᵗ)
        ρ∞ = 2 / (1 − β2) − 1
        ρₜ = ρ∞ − 2 t β2ᵗ / (1 − β2ᵗ)
        if ρₜ > 4:
            lₜ = √(1 − β2ᵗ) / (√v + ε)
            rₜ = √((ρₜ − 4)(ρₜ − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρₜ))
            θ ← θ − η rₜ m̂ lₜ
        else:
            θ ← θ − η m̂

    Returns: theta_new, m_new, v_new
    """
    raise NotImplementedError("radam_step")


def bb_step_size(s, y, variant):
    """The Barzilai-Borwein step size from s = θₖ − θₖ₋₁ and y = gₖ − gₖ₋₁ (arrays of one shape).

        variant 1:  sᵀs / sᵀy
        variant 2:  sᵀy / yᵀy

    Returns: the step size, a float
    """
    raise NotImplementedError("bb_step_size")
'''
