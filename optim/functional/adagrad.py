r"""Adagrad as a pure function.

Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online
Learning and Stochastic Optimization" (diagonal version); the form below is
the one of the ``torch.optim.Adagrad`` documentation (PyTorch 2.13), with its
learning-rate decay:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    \gamma_t &\leftarrow \frac{\gamma}{1 + (t-1)\,\eta} \\
    s_t &\leftarrow s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma_t\,\frac{g_t}{\sqrt{s_t} + \epsilon}

with :math:`\eta` = ``lr_decay``. The lecture writes the accumulator as
:math:`G_t` and puts :math:`\epsilon` inside the root,
:math:`\theta_t \leftarrow \theta_{t-1} - \gamma_t\, g_t/\sqrt{G_t + \epsilon}`:
``eps_inside_sqrt=True``.

:func:`adagrad_` is the same formula in place (each line with ``out=``, the
same operations in the same order, so bitwise equal), for the flat fast path
(``impl="flat"``, :mod:`optim.flat`).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

__all__ = ["adagrad", "adagrad_", "adagrad_init"]


def adagrad_init(theta, *, initial_accumulator_value=0.0):
    """The state before the first step: ``step = 0``, ``sum`` = s_0 filled with the initial value."""
    xp = get_array_module(theta)
    return {"step": 0, "sum": xp.full_like(theta, initial_accumulator_value)}


def adagrad(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
            maximize=False, eps_inside_sqrt=False):
    r"""One Adagrad step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``{"step": t-1, "sum": s_{t-1}}`` (see :func:`adagrad_init`).
        lr: :math:`\gamma`. lr_decay: :math:`\eta`. weight_decay: :math:`\lambda`.
        eps: :math:`\epsilon`. maximize: as in ``torch.optim.Adagrad``.
        eps_inside_sqrt: the lecture's :math:`\sqrt{s_t + \epsilon}`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``lr_t`` (:math:`\gamma_t`), ``s`` and ``denom`` (the
        denominator). Inputs are not modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = -grad if maximize else grad                 # g_t (negated to maximize)
    if weight_decay != 0:
        g = g + weight_decay * theta                # g_t <- g_t + lambda theta_{t-1}
    lr_t = lr / (1 + (t - 1) * lr_decay)            # gamma_t <- gamma / (1 + (t-1) eta)
    s = state["sum"] + g * g                        # s_t <- s_{t-1} + g_t^2
    if eps_inside_sqrt:
        denom = xp.sqrt(s + eps)                    # sqrt(s_t + eps)   (lecture)
    else:
        denom = xp.sqrt(s) + eps                    # sqrt(s_t) + eps   (PyTorch)
    theta = theta - lr_t * g / denom                # theta_t <- theta_{t-1} - gamma_t g_t / denom
    return theta, {"step": t, "sum": s}, {"t": t, "g": g, "lr_t": lr_t, "s": s, "denom": denom}


def adagrad_(theta, grad, state, out, work, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
             eps=1e-10, maximize=False, eps_inside_sqrt=False):
    r""":func:`adagrad` in place, for the flat fast path: the same operations in the same order.

    Each line is the line of :func:`adagrad` with the same comment, written
    with ``out=``; the results are bitwise equal to :func:`adagrad`'s (tested
    in ``tests/test_optim_fast.py``).

    Args:
        theta: :math:`\theta_{t-1}`, overwritten with :math:`\theta_t`.
        grad: the gradient (read only).
        state: as for :func:`adagrad` (read only, but its array may be ``out``'s).
        out: ``out["sum"]``, where :math:`s_t` goes (may be ``state["sum"]``).
        work: three scratch arrays shaped like ``theta``.

    Returns:
        The new state (its array is ``out``'s).
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                                        # t <- t + 1
    g = xp.negative(grad, out=work[0]) if maximize else grad     # g_t (negated to maximize)
    if weight_decay != 0:                                        # g_t <- g_t + lambda theta_{t-1}
        g = xp.add(g, xp.multiply(weight_decay, theta, out=work[1]), out=work[0])
    lr_t = lr / (1 + (t - 1) * lr_decay)                     # gamma_t <- gamma / (1 + (t-1) eta)
    g2 = xp.multiply(g, g, out=work[1])
    s = xp.add(state["sum"], g2, out=out["sum"])                 # s_t <- s_{t-1} + g_t^2
    if eps_inside_sqrt:
        denom = xp.sqrt(xp.add(s, eps, out=work[1]), out=work[1])   # sqrt(s_t + eps)   (lecture)
    else:
        denom = xp.sqrt(s, out=work[1])
        denom += eps                                             # sqrt(s_t) + eps   (PyTorch)
    step = xp.multiply(lr_t, g, out=work[2])
    step /= denom
    theta -= step                                    # theta_t <- theta - gamma_t g_t / denom
    return {"step": t, "sum": s}
