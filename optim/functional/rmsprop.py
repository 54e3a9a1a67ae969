r"""RMSprop as a pure function.

Tieleman & Hinton (2012), COURSERA "Neural Networks for Machine Learning",
lecture 6.5; the centered variant from Graves (2013), "Generating Sequences
With Recurrent Neural Networks", eqs. 38-41. The form below is the one of the
``torch.optim.RMSprop`` documentation (PyTorch 2.13):

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    v_t &\leftarrow \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\
    \bar g_t &\leftarrow \alpha\, \bar g_{t-1} + (1-\alpha)\, g_t
          \quad(\text{centered only}) \\
    a_t &\leftarrow \begin{cases} \sqrt{v_t - \bar g_t^2} + \epsilon & \text{centered} \\
                                  \sqrt{v_t} + \epsilon & \text{otherwise} \end{cases} \\
    \text{if } \mu > 0:\quad b_t &\leftarrow \mu\, b_{t-1} + g_t / a_t, \qquad
        \theta_t \leftarrow \theta_{t-1} - \gamma\, b_t \\
    \text{else}:\quad \theta_t &\leftarrow \theta_{t-1} - \gamma\, g_t / a_t

The lecture puts :math:`\epsilon` inside the root, :math:`a_t = \sqrt{v_t +
\epsilon}` (centered: :math:`\sqrt{v_t - \bar g_t^2 + \epsilon}`):
``eps_inside_sqrt=True``.

:func:`rmsprop_` is the same formula in place (each line with ``out=``, the
same operations in the same order, so bitwise equal), for the flat fast path
(``impl="flat"``, :mod:`optim.flat`).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

__all__ = ["rmsprop", "rmsprop_", "rmsprop_init"]


def rmsprop_init(theta, *, momentum=0.0, centered=False):
    r"""The state before the first step: zeros for :math:`v`, :math:`b` (if momentum), :math:`\bar g` (if centered)."""
    xp = get_array_module(theta)
    state = {"step": 0, "square_avg": xp.zeros_like(theta)}
    if momentum > 0:
        state["momentum_buffer"] = xp.zeros_like(theta)
    if centered:
        state["grad_avg"] = xp.zeros_like(theta)
    return state


def rmsprop(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
            momentum=0.0, centered=False, maximize=False, eps_inside_sqrt=False):
    r"""One RMSprop step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``square_avg`` (:math:`v`), and ``momentum_buffer``
            (:math:`b`) / ``grad_avg`` (:math:`\bar g`) when used; see
            :func:`rmsprop_init`.
        lr: :math:`\gamma`. alpha: :math:`\alpha`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`. momentum: :math:`\mu`.
        centered, maximize: as in ``torch.optim.RMSprop``.
        eps_inside_sqrt: the lecture's :math:`\sqrt{v_t + \epsilon}`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``v``, ``a`` and, when used, ``g_bar`` and ``b``. Inputs are
        not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = -grad if maximize else grad                 # g_t (negated to maximize)
    if weight_decay != 0:
        g = g + weight_decay * theta                # g_t <- g_t + lambda theta_{t-1}
    v = alpha * state["square_avg"] + (1 - alpha) * g * g     # v_t
    new_state = {"step": t, "square_avg": v}
    intermediates = {"t": t, "g": g, "v": v}
    if centered:
        g_bar = alpha * state["grad_avg"] + (1 - alpha) * g   # g_bar_t
        variance = v - g_bar * g_bar                           # v_t - g_bar_t^2
        new_state["grad_avg"] = intermediates["g_bar"] = g_bar
    else:
        variance = v
    if eps_inside_sqrt:
        a = xp.sqrt(variance + eps)                 # a_t <- sqrt(v_t + eps)     (lecture)
    else:
        a = xp.sqrt(variance) + eps                 # a_t <- sqrt(v_t) + eps     (PyTorch)
    intermediates["a"] = a
    if momentum > 0:
        b = momentum * state["momentum_buffer"] + g / a       # b_t <- mu b_{t-1} + g_t / a_t
        theta = theta - lr * b                      # theta_t <- theta_{t-1} - gamma b_t
        new_state["momentum_buffer"] = intermediates["b"] = b
    else:
        theta = theta - lr * g / a                  # theta_t <- theta_{t-1} - gamma g_t / a_t
    return theta, new_state, intermediates


def rmsprop_(theta, grad, state, out, work, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
             momentum=0.0, centered=False, maximize=False, eps_inside_sqrt=False):
    r""":func:`rmsprop` in place, for the flat fast path: the same operations in the same order.

    Each line is the line of :func:`rmsprop` with the same comment, written
    with ``out=``; the results are bitwise equal to :func:`rmsprop`'s (tested
    in ``tests/test_optim_fast.py``).

    Args:
        theta: :math:`\theta_{t-1}`, overwritten with :math:`\theta_t`.
        grad: the gradient (read only).
        state: as for :func:`rmsprop` (read only, but its arrays may be ``out``'s).
        out: where the new state's arrays go: ``out["square_avg"]`` and, when
            used, ``out["grad_avg"]``, ``out["momentum_buffer"]``; each may be
            the array of the same name in ``state``.
        work: three scratch arrays shaped like ``theta``.

    Returns:
        The new state (its arrays are ``out``'s).
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                                        # t <- t + 1
    g = xp.negative(grad, out=work[0]) if maximize else grad     # g_t (negated to maximize)
    if weight_decay != 0:                                        # g_t <- g_t + lambda theta_{t-1}
        g = xp.add(g, xp.multiply(weight_decay, theta, out=work[1]), out=work[0])
    v = xp.multiply(alpha, state["square_avg"], out=out["square_avg"])   # v_t <- alpha v_{t-1}
    g2 = xp.multiply(1 - alpha, g, out=work[1])
    g2 *= g
    v += g2                                                      #        + (1 - alpha) g_t g_t
    new_state = {"step": t, "square_avg": v}
    if centered:
        g_bar = xp.multiply(alpha, state["grad_avg"], out=out["grad_avg"])  # g_bar_t <- alpha g_bar
        g_bar += xp.multiply(1 - alpha, g, out=work[1])                   #   + (1 - alpha) g_t
        g_bar2 = xp.multiply(g_bar, g_bar, out=work[1])
        variance = xp.subtract(v, g_bar2, out=work[1])         # v_t - g_bar_t^2
        new_state["grad_avg"] = g_bar
    else:
        variance = v
    if eps_inside_sqrt:
        a = xp.sqrt(xp.add(variance, eps, out=work[1]), out=work[1])   # a_t <- sqrt(v_t + eps)
    else:
        a = xp.sqrt(variance, out=work[1])
        a += eps                                                 # a_t <- sqrt(v_t) + eps
    if momentum > 0:
        b = xp.multiply(momentum, state["momentum_buffer"], out=out["momentum_buffer"])
        b += xp.divide(g, a, out=work[2])                        # b_t <- mu b_{t-1} + g_t / a_t
        theta -= xp.multiply(lr, b, out=work[2])                 # theta_t <- theta - gamma b_t
        new_state["momentum_buffer"] = b
    else:
        step = xp.multiply(lr, g, out=work[2])
        step /= a
        theta -= step                                        # theta_t <- theta - gamma g_t / a_t
    return new_state
