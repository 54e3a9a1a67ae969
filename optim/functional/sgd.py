r"""Stochastic gradient descent with momentum, as pure functions.

Two ways of writing momentum are in common use, and they are the same
algorithm only while the learning rate stays constant.

**PyTorch's form** (``momentum_form="torch"``, the default; the formula of the
``torch.optim.SGD`` documentation, PyTorch 2.13). The buffer :math:`b` sums
gradients and the learning rate multiplies the whole step:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    b_t &\leftarrow \begin{cases} g_t & t = 1 \\
                   \mu\, b_{t-1} + (1-\tau)\, g_t & t > 1 \end{cases} \\
    d_t &\leftarrow \begin{cases} g_t + \mu\, b_t & \text{nesterov} \\
                   b_t & \text{otherwise} \end{cases} \\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\, d_t

**The lecture form** (``momentum_form="lecture"``; Sutskever, Martens, Dahl &
Hinton 2013, "On the importance of initialization and momentum in deep
learning", eqs. 1-4). The velocity :math:`v` already contains the learning
rate :math:`\eta` (= ``lr``), so a change of the learning rate acts only on
new gradients:

.. math::

    v_0 &= 0 \\
    \tilde\theta_{t-1} &\leftarrow \begin{cases}
        \theta_{t-1} - \mu\, v_{t-1} & \text{nesterov (look-ahead point)} \\
        \theta_{t-1} & \text{otherwise} \end{cases} \\
    g_t &\leftarrow \nabla f_t(\tilde\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    g_t &\leftarrow g_t + \lambda\,\tilde\theta_{t-1} \\
    v_t &\leftarrow \mu\, v_{t-1} + \eta\, g_t \\
    \theta_t &\leftarrow \theta_{t-1} - v_t

(Sutskever et al. write the velocity with the opposite sign,
:math:`v \leftarrow \mu v - \varepsilon \nabla f`, :math:`\theta \leftarrow \theta + v`.)

With Nesterov's accelerated gradient the gradient is taken at the look-ahead
point :math:`\tilde\theta`, so whoever computes ``grad`` must have put the
parameters there first: :func:`sgd_lookahead` gives the point, and
``optim.SGD`` does the move inside ``step(closure)``. PyTorch's Nesterov form
is the same algorithm written in the variable :math:`\theta' = \tilde\theta`
(see Sutskever et al., and Bengio, Boulanger-Lewandowski & Pascanu 2013,
"Advances in optimizing recurrent networks"): with a constant learning rate,
:math:`\theta^{\text{torch}}_t = \theta_t - \mu v_t` and :math:`v_t = \eta b_t`.

Dampening :math:`\tau` belongs to PyTorch's form only.

Its in-place twin for the fast path is :func:`optim.fast.inplace.sgd_`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array, Update
from .flags import l2_penalty, signed_gradient

__all__ = ["sgd", "sgd_lecture", "sgd_init", "sgd_lookahead", "MOMENTUM_FORMS"]

MOMENTUM_FORMS = ("torch", "lecture")


def sgd_init(theta: Array, *, momentum: float = 0.0, momentum_form: str = "torch") -> dict:
    """The state before the first step.

    PyTorch's form starts with no buffer (the first step sets :math:`b_1 =
    g_1`); the lecture form starts from :math:`v_0 = 0`. Without momentum
    there is no state at all.
    """
    if momentum == 0 or momentum_form == "torch":
        return {}
    xp = get_array_module(theta)
    return {"velocity": xp.zeros_like(theta)}


def sgd_lookahead(theta: Array, state: dict, *, momentum: float):
    r"""The lecture form's Nesterov look-ahead point :math:`\theta - \mu v`.

    The point where the gradient of the next step must be evaluated.
    Before the first step (no velocity yet) it is :math:`\theta` itself.
    """
    if "velocity" not in state:
        return theta
    v = state["velocity"]
    return theta - momentum * v


def sgd(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, momentum: float = 0.0,
        dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False,
        momentum_form: str = "torch") -> Update:
    r"""One SGD step on one parameter (the formulas of the module docstring).

    Args:
        theta: the parameter :math:`\theta_{t-1}` (backend array).
        grad: its gradient :math:`\nabla f_t`; for the lecture form with
            ``nesterov=True``, taken at :func:`sgd_lookahead`'s point.
        state: ``{}`` or ``{"momentum_buffer": b}`` (torch form),
            ``{"velocity": v}`` (lecture form); see :func:`sgd_init`.
        lr: :math:`\gamma` (torch form) / :math:`\eta` (lecture form).
        momentum: :math:`\mu`.  dampening: :math:`\tau` (torch form only).
        weight_decay: :math:`\lambda` (L2 penalty added to the gradient).
        nesterov, maximize: as in ``torch.optim.SGD``.
        momentum_form: ``"torch"`` or ``"lecture"`` (:func:`sgd_lecture`).

    Returns:
        ``(theta_new, new_state, intermediates)``; intermediates: ``g`` and
        ``d`` (torch form: also ``b``), or ``g`` and ``v`` (lecture form:
        also ``theta_lookahead`` with Nesterov). Inputs are not modified.
    """
    check_choice(momentum_form, "momentum_form", MOMENTUM_FORMS)
    if momentum != 0 and momentum_form == "lecture":
        return sgd_lecture(theta, grad, state, lr=lr, momentum=momentum,
                           weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)

    # ---- PyTorch's form (also plain SGD without momentum, where both forms agree)
    g = signed_gradient(grad, maximize)             # g_t (negated to maximize)
    g = l2_penalty(g, theta, weight_decay)          # g_t <- g_t + lambda theta_{t-1}
    if momentum == 0:
        d = g                                       # no momentum: d_t = g_t
        theta = theta - lr * d                      # theta_t <- theta_{t-1} - gamma d_t
        return theta, {}, {"g": g, "d": d}
    if "momentum_buffer" not in state:
        b = g.copy()                                # b_1 <- g_1
    else:
        b = state["momentum_buffer"]
        b = momentum * b + (1 - dampening) * g      # b_t <- mu b_{t-1} + (1 - tau) g_t
    if nesterov:
        d = g + momentum * b                        # d_t <- g_t + mu b_t
    else:
        d = b                                       # d_t <- b_t
    theta = theta - lr * d                          # theta_t <- theta_{t-1} - gamma d_t
    return theta, {"momentum_buffer": b}, {"g": g, "b": b, "d": d}


def sgd_lecture(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, momentum: float = 0.0,
                weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> Update:
    r"""One step of the lecture form of momentum (Sutskever et al. 2013; module docstring).

    .. math::

        v_t \leftarrow \mu\, v_{t-1} + \eta\, g_t, \qquad
        \theta_t \leftarrow \theta_{t-1} - v_t

    with :math:`g_t` the gradient at the look-ahead point
    :math:`\tilde\theta = \theta_{t-1} - \mu v_{t-1}` when ``nesterov``
    (the caller evaluates it there: :func:`sgd_lookahead`).

    Args:
        theta: :math:`\theta_{t-1}`. grad: :math:`\nabla f_t(\tilde\theta)`.
        state: ``{"velocity": v}`` (empty before the first step: :math:`v_0 = 0`).
        lr: :math:`\eta`. momentum: :math:`\mu`. weight_decay: :math:`\lambda`
            (an L2 penalty, its gradient taken at :math:`\tilde\theta`).
        nesterov: the gradient is the look-ahead point's. maximize: as in
            ``torch.optim.SGD``.

    Returns:
        ``(theta_new, {"velocity": v_t}, intermediates)``; intermediates ``g``,
        ``v`` and, with Nesterov, ``theta_lookahead``. Inputs are not modified.
    """
    xp = get_array_module(theta)
    v = state["velocity"] if "velocity" in state else xp.zeros_like(theta)   # v_0 = 0
    if nesterov:
        theta_tilde = theta - momentum * v          # look-ahead point theta - mu v
    else:
        theta_tilde = theta
    g = signed_gradient(grad, maximize)             # grad f_t(theta~) (negated to maximize)
    g = l2_penalty(g, theta_tilde, weight_decay)    # g_t <- g_t + lambda theta~
    v = momentum * v + lr * g                       # v_t <- mu v_{t-1} + eta g_t
    theta = theta - v                               # theta_t <- theta_{t-1} - v_t
    intermediates = {"g": g, "v": v}
    if nesterov:
        intermediates["theta_lookahead"] = theta_tilde
    return theta, {"velocity": v}, intermediates
