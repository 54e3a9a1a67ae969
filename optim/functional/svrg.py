r"""Stochastic variance reduced gradient (SVRG) as pure functions.

Johnson & Zhang (2013), "Accelerating Stochastic Gradient Descent using
Predictive Variance Reduction", NeurIPS, Figure 1 (Procedure SVRG). To
minimise :math:`F(w) = \frac1n \sum_{i=1}^n f_i(w)`:

.. math::

    &\textbf{for } s = 1, 2, \dots \\
    &\quad \tilde w \leftarrow \tilde w_{s-1} \\
    &\quad \tilde\mu \leftarrow \nabla F(\tilde w)
           = \tfrac1n \textstyle\sum_{i=1}^n \nabla f_i(\tilde w) \\
    &\quad w_0 \leftarrow \tilde w \\
    &\quad \textbf{for } t = 1, \dots, m: \text{ pick } i_t \text{ at random} \\
    &\quad\quad v_t \leftarrow \nabla f_{i_t}(w_{t-1}) - \nabla f_{i_t}(\tilde w) + \tilde\mu \\
    &\quad\quad w_t \leftarrow w_{t-1} - \eta\, v_t \\
    &\quad \text{option I: } \tilde w_s \leftarrow w_m \qquad
           \text{option II: } \tilde w_s \leftarrow w_t,\ t \sim \mathcal U\{0, \dots, m-1\}

:math:`v_t` is an unbiased estimate of :math:`\nabla F(w_{t-1})` whose variance
goes to zero as :math:`w` and :math:`\tilde w` approach the minimiser, so a
constant step size :math:`\eta` converges linearly on strongly convex
problems (plain SGD needs a decaying step). With minibatches :math:`B_t`
instead of single indices, :math:`f_{i_t}` is the minibatch loss.

An L2 penalty :math:`\tfrac\lambda2\|w\|^2` added to every :math:`f_i` gives
:math:`v_t + \lambda w_{t-1}` (the penalty's gradients at :math:`\tilde w`
cancel between the last two terms), which is what ``weight_decay`` adds.

:func:`svrg_snapshot` is the outer loop's first two lines for one parameter;
:func:`svrg` is one inner step.
"""
from __future__ import annotations

from ..types import Array, Update

__all__ = ["svrg", "svrg_snapshot", "SVRG_OPTIONS"]

SVRG_OPTIONS = ("I", "II")


def svrg_snapshot(theta: Array, full_grad: Array):
    r"""The snapshot state: :math:`\tilde w \leftarrow w`, :math:`\tilde\mu \leftarrow \nabla F(\tilde w)`.

    Args:
        theta: the parameter at the snapshot, :math:`\tilde w`.
        full_grad: the full (whole-data, mean) gradient there, :math:`\tilde\mu`.

    Returns:
        ``{"snapshot": w_tilde, "full_grad": mu_tilde}`` (copies: the inputs
        may change later without changing the state).
    """
    return {"snapshot": theta.copy(), "full_grad": full_grad.copy()}


def svrg(theta: Array, grad: Array, state: dict, *, snapshot_grad: Array, lr: float,
         weight_decay: float = 0.0) -> Update:
    r"""One SVRG inner step on one parameter.

    Args:
        theta: :math:`w_{t-1}`.
        grad: :math:`\nabla f_{i_t}(w_{t-1})`, the minibatch gradient at the
            current point.
        state: the snapshot state of :func:`svrg_snapshot` (``snapshot``
            :math:`\tilde w`, ``full_grad`` :math:`\tilde\mu`).
        snapshot_grad: :math:`\nabla f_{i_t}(\tilde w)`, the gradient of the
            *same* minibatch at the snapshot.
        lr: :math:`\eta`. weight_decay: :math:`\lambda` (L2 penalty).

    Returns:
        ``(theta_new, {}, intermediates)``; the state does not change within
        an epoch. Intermediates: ``g`` (:math:`\nabla f_{i_t}(w_{t-1})`),
        ``g_tilde`` (:math:`\nabla f_{i_t}(\tilde w)`), ``mu_tilde``
        (:math:`\tilde\mu`) and ``v`` (the variance-reduced gradient, with
        the L2 term when ``weight_decay`` is set).
    """
    g = grad                                        # grad f_i(w_{t-1})
    g_tilde = snapshot_grad                         # grad f_i(w_tilde)
    mu_tilde = state["full_grad"]                   # mu_tilde = grad F(w_tilde)
    v = g - g_tilde + mu_tilde                      # v_t
    if weight_decay != 0:
        v = v + weight_decay * theta                # + lambda w_{t-1}
    theta = theta - lr * v                          # w_t = w_{t-1} - eta v_t
    return theta, {}, {"g": g, "g_tilde": g_tilde, "mu_tilde": mu_tilde, "v": v}
