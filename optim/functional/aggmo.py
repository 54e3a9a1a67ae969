r"""AggMo: aggregated momentum, the average of several heavy-ball velocities.

Lucas, Sun, Zemel & Grosse (2019), "Aggregated Momentum: Stability Through
Passive Damping", Section 3 (and the authors' reference code, argument
``betas``), with :math:`K` damping coefficients :math:`\beta^{(1)}, \dots, \beta^{(K)}`:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \quad(+ \lambda\theta \text{ with weight decay}) \\
    v^{(i)}_t &\leftarrow \beta^{(i)} v^{(i)}_{t-1} - g_t \qquad(i = 1, \dots, K) \\
    \theta_t &\leftarrow \theta_{t-1} + \frac{\gamma}{K} \sum_{i=1}^K v^{(i)}_t

The reference code keeps :math:`b^{(i)} = -v^{(i)}` (PyTorch's momentum
buffer, :math:`b \leftarrow \beta b + g`) and subtracts; so does this module:
``momentum_buffer`` is one array of shape ``(K, *theta.shape)``, row ``i``
the buffer of :math:`\beta^{(i)}`. The small betas damp the oscillations the
large ones cause.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient, weight_decay_step

__all__ = ["aggmo", "aggmo_init"]


def aggmo_init(theta: Array, *, betas) -> dict:
    r"""The state before the first step: :math:`b^{(i)}_0 = 0` for each of the :math:`K` betas."""
    xp = get_array_module(theta)
    return {"momentum_buffer": xp.zeros((len(betas),) + tuple(theta.shape), dtype=theta.dtype)}


def aggmo(theta: Array, grad: Array, state: dict, *, lr: float = 0.1, betas=(0.0, 0.9, 0.99),
          weight_decay: float = 0.0, decoupled_weight_decay: bool = False, maximize: bool = False) -> Update:
    r"""One AggMo step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``momentum_buffer``, shape ``(K, *theta.shape)``.
        lr: :math:`\gamma`. betas: the :math:`K` damping coefficients.
        weight_decay: :math:`\lambda` (L2, or AdamW's with ``decoupled_weight_decay``).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``g``,
        ``b`` (the K buffers) and ``d`` (their mean, the step direction).
    """
    xp = get_array_module(theta)
    g = signed_gradient(grad, maximize)
    theta, g = weight_decay_step(theta, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay)
    beta = xp.asarray(betas, dtype=theta.dtype).reshape((-1,) + (1,) * theta.ndim)
    b = beta * state["momentum_buffer"] + g                  # b^(i)_t = beta^(i) b^(i)_{t-1} + g_t
    d = b.mean(axis=0)                                       # (1/K) sum_i b^(i)_t
    theta = theta - lr * d                                   # theta_t
    return theta, {"momentum_buffer": b}, {"g": g, "b": b, "d": d}
