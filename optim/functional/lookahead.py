r"""Lookahead: slow weights that follow the fast ones, as pure functions.

Zhang, Lucas, Hinton & Ba (2019), "Lookahead Optimizer: k steps forward, 1
step back", Algorithm 1. The slow weights :math:`\phi` start at the
parameters, :math:`\phi_0 = \theta_0`. Each outer iteration :math:`t` runs
:math:`k` steps of an inner optimizer :math:`A` from :math:`\theta_{t,0} =
\phi_{t-1}`, then moves the slow weights part of the way towards the result
and restarts the fast weights there:

.. math::

    \theta_{t,i} &\leftarrow \theta_{t,i-1} + A(L, \theta_{t,i-1}, d),
        \qquad i = 1, \dots, k \\
    \phi_t &\leftarrow \phi_{t-1} + \alpha\,(\theta_{t,k} - \phi_{t-1})
           \;=\; (1-\alpha)\,\phi_{t-1} + \alpha\,\theta_{t,k} \\
    \theta_{t+1,0} &\leftarrow \phi_t

:func:`lookahead_sync` is the synchronisation (the last two lines), the one
definition of it in :mod:`optim`: the ``Lookahead`` wrapper (through
:func:`lookahead`, the same step with the state dict and the intermediates),
``Ranger`` and ``Ranger21`` all run it. It computes :math:`\phi_t` in the
second, equivalent form so that :math:`\alpha = 1` gives exactly
:math:`\theta_{t,k}` (then Lookahead with :math:`k = 1` is its inner
optimizer, bit for bit).

The inner optimizer's state (momentum, second moments) is kept across the
synchronisation by default, as in the paper. Two variants act on its momentum
buffer :math:`b` at each synchronisation (:func:`lookahead_momentum`):

* ``"reset"``: :math:`b \leftarrow 0`;
* ``"pullback"``: the buffer is interpolated like the weights, with a slow
  copy :math:`\bar b` (starting at 0):
  :math:`b \leftarrow (1-\alpha)\,\bar b + \alpha\, b`, :math:`\bar b \leftarrow b`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array

__all__ = ["lookahead", "lookahead_init", "lookahead_momentum", "lookahead_sync", "PULLBACK_MODES"]

PULLBACK_MODES = ("none", "reset", "pullback")


def lookahead_init(theta: Array) -> dict:
    r"""The slow weights at the start: :math:`\phi_0 = \theta_0` (a copy)."""
    return {"slow_param": theta.copy()}


def lookahead_sync(theta: Array, slow: Array, *, alpha: float = 0.5):
    r"""The synchronisation :math:`\phi_t = (1-\alpha)\phi_{t-1} + \alpha\theta_{t,k}`, :math:`\theta_{t+1,0} = \phi_t`.

    Args:
        theta: the fast weights :math:`\theta_{t,k}`.
        slow: the slow weights :math:`\phi_{t-1}`.
        alpha: :math:`\alpha`.

    Returns:
        ``(theta_new, slow_new)``: :math:`\phi_t` twice, as two separate
        arrays. Inputs are not modified.
    """
    phi = (1 - alpha) * slow + alpha * theta                  # phi_t = phi + alpha (theta_k - phi)
    return phi.copy(), phi                                    # theta_{t+1,0} = phi_t


def lookahead(theta: Array, state: dict, *, alpha: float = 0.5):
    r"""The synchronisation of one parameter after :math:`k` inner steps.

    Args:
        theta: the fast weights :math:`\theta_{t,k}` after the inner steps.
        state: ``{"slow_param": phi}`` (:math:`\phi_{t-1}`).
        alpha: :math:`\alpha`, the slow weights' step size.

    Returns:
        ``(theta_new, new_state, intermediates)``: the new fast weights
        :math:`\theta_{t+1,0} = \phi_t`, ``{"slow_param": phi_t}``, and the
        intermediates ``theta_k`` and ``phi``. Inputs are not modified.
    """
    theta_k = theta                                           # theta_{t,k}
    theta, phi = lookahead_sync(theta_k, state["slow_param"], alpha=alpha)
    return theta, {"slow_param": phi}, {"theta_k": theta_k, "phi": phi}


def lookahead_momentum(buffer: Array, slow_buffer: Array, *, alpha: float = 0.5, mode: str = "pullback"):
    r"""The inner optimizer's momentum at a synchronisation.

    Args:
        buffer: the inner momentum :math:`b` (a backend array).
        slow_buffer: its slow copy :math:`\bar b` (``None``: zeros).
        alpha: :math:`\alpha`. mode: ``"none"``, ``"reset"`` or ``"pullback"``.

    Returns:
        ``(buffer_new, slow_buffer_new)``.
    """
    check_choice(mode, "pullback_momentum", PULLBACK_MODES)
    xp = get_array_module(buffer)
    if slow_buffer is None:
        slow_buffer = xp.zeros_like(buffer)
    if mode == "reset":
        return xp.zeros_like(buffer), slow_buffer             # b <- 0
    if mode == "pullback":
        b = (1 - alpha) * slow_buffer + alpha * buffer        # b <- b_bar + alpha (b - b_bar)
        return b, b.copy()                                    # b_bar <- b
    return buffer, slow_buffer
