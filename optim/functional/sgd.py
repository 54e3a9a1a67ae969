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

:func:`sgd_` is the same formulas in place (each line with ``out=``, the same
operations in the same order, so bitwise equal), for the flat fast path
(``impl="flat"``, :mod:`optim.flat`).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

__all__ = ["sgd", "sgd_", "sgd_init", "sgd_lookahead", "MOMENTUM_FORMS"]

MOMENTUM_FORMS = ("torch", "lecture")


def sgd_init(theta, *, momentum=0.0, momentum_form="torch"):
    """The state before the first step.

    PyTorch's form starts with no buffer (the first step sets :math:`b_1 =
    g_1`); the lecture form starts from :math:`v_0 = 0`. Without momentum
    there is no state at all.
    """
    if momentum == 0 or momentum_form == "torch":
        return {}
    xp = get_array_module(theta)
    return {"velocity": xp.zeros_like(theta)}


def sgd_lookahead(theta, state, *, momentum):
    r"""The lecture form's Nesterov look-ahead point :math:`\theta - \mu v`.

    The point where the gradient of the next step must be evaluated.
    Before the first step (no velocity yet) it is :math:`\theta` itself.
    """
    if "velocity" not in state:
        return theta
    v = state["velocity"]
    return theta - momentum * v


def sgd(theta, grad, state, *, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
        nesterov=False, maximize=False, momentum_form="torch"):
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
        momentum_form: ``"torch"`` or ``"lecture"``.

    Returns:
        ``(theta_new, new_state, intermediates)``; intermediates: ``g`` and
        ``d`` (torch form: also ``b``), or ``g`` and ``v`` (lecture form:
        also ``theta_lookahead`` with Nesterov). Inputs are not modified.
    """
    if momentum_form not in MOMENTUM_FORMS:
        raise ValueError(f"Invalid momentum_form: {momentum_form!r} (expected one of "
                         f"{', '.join(map(repr, MOMENTUM_FORMS))})")
    if momentum != 0 and momentum_form == "lecture":
        return _sgd_lecture(theta, grad, state, lr=lr, momentum=momentum,
                            weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)

    # ---- PyTorch's form (also plain SGD without momentum, where both forms agree)
    g = -grad if maximize else grad                 # g_t (negated to maximize)
    if weight_decay != 0:
        g = g + weight_decay * theta                # g_t <- g_t + lambda theta_{t-1}
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


def _sgd_lecture(theta, grad, state, *, lr, momentum, weight_decay, nesterov, maximize):
    """The lecture form (see the module docstring); called by :func:`sgd`."""
    xp = get_array_module(theta)
    v = state["velocity"] if "velocity" in state else xp.zeros_like(theta)   # v_0 = 0
    if nesterov:
        theta_tilde = theta - momentum * v          # look-ahead point theta - mu v
    else:
        theta_tilde = theta
    g = -grad if maximize else grad                 # grad f_t(theta~) (negated to maximize)
    if weight_decay != 0:
        g = g + weight_decay * theta_tilde          # g_t <- g_t + lambda theta~
    v = momentum * v + lr * g                       # v_t <- mu v_{t-1} + eta g_t
    theta = theta - v                               # theta_t <- theta_{t-1} - v_t
    intermediates = {"g": g, "v": v}
    if nesterov:
        intermediates["theta_lookahead"] = theta_tilde
    return theta, {"velocity": v}, intermediates


def sgd_(theta, grad, state, out, work, *, lr=1e-3, momentum=0.0, dampening=0.0,
         weight_decay=0.0, nesterov=False, maximize=False, momentum_form="torch"):
    r""":func:`sgd` in place, for the flat fast path: the same operations in the same order.

    Each line is the line of :func:`sgd` with the same comment, written with
    ``out=``; the results are bitwise equal to :func:`sgd`'s (tested in
    ``tests/test_optim_fast.py``). One multiplication is left out where it
    is exact: :math:`(1-\tau) g_t` with :math:`\tau = 0` is :math:`g_t`.

    Args:
        theta: :math:`\theta_{t-1}`, overwritten with :math:`\theta_t`.
        grad: the gradient (read only).
        state: as for :func:`sgd` (read only, but its arrays may be ``out``'s).
        out: where the new state's array goes: ``out["momentum_buffer"]``
            (torch form) or ``out["velocity"]`` (lecture form); it may be the
            array of the same name in ``state``.
        work: two scratch arrays shaped like ``theta`` (three for the lecture
            form with Nesterov).

    Returns:
        The new state (its array is ``out``'s).
    """
    if momentum_form not in MOMENTUM_FORMS:
        raise ValueError(f"Invalid momentum_form: {momentum_form!r}")
    xp = get_array_module(theta)
    if momentum != 0 and momentum_form == "lecture":
        return _sgd_lecture_(theta, grad, state, out, work, xp=xp, lr=lr, momentum=momentum,
                             weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)

    # ---- PyTorch's form (also plain SGD without momentum)
    g = xp.negative(grad, out=work[0]) if maximize else grad     # g_t (negated to maximize)
    if weight_decay != 0:                                        # g_t <- g_t + lambda theta_{t-1}
        g = xp.add(g, xp.multiply(weight_decay, theta, out=work[1]), out=work[0])
    if momentum == 0:
        theta -= xp.multiply(lr, g, out=work[1])                 # theta_t <- theta - gamma d_t
        return {}
    b = out["momentum_buffer"]
    if "momentum_buffer" not in state:
        xp.copyto(b, g)                                          # b_1 <- g_1
    else:
        xp.multiply(momentum, state["momentum_buffer"], out=b)   # b_t <- mu b_{t-1}
        if dampening == 0:
            b += g                                               #        + g_t   (1 * g_t is g_t)
        else:
            b += xp.multiply(1 - dampening, g, out=work[1])      #        + (1 - tau) g_t
    if nesterov:
        d = xp.add(g, xp.multiply(momentum, b, out=work[1]), out=work[1])  # d_t <- g_t + mu b_t
    else:
        d = b                                                    # d_t <- b_t
    theta -= xp.multiply(lr, d, out=work[1])                     # theta_t <- theta - gamma d_t
    return {"momentum_buffer": b}


def _sgd_lecture_(theta, grad, state, out, work, *, xp, lr, momentum, weight_decay, nesterov,
                  maximize):
    """The lecture form in place (see :func:`_sgd_lecture`); called by :func:`sgd_`."""
    v = out["velocity"]
    if "velocity" in state:
        v_prev = state["velocity"]
    else:
        v_prev = v
        v_prev[...] = 0                                          # v_0 = 0
    if nesterov:                                                 # look-ahead point theta - mu v
        theta_tilde = xp.subtract(theta, xp.multiply(momentum, v_prev, out=work[2]), out=work[2])
    else:
        theta_tilde = theta
    g = xp.negative(grad, out=work[0]) if maximize else grad     # grad f_t(theta~) (maximize: -)
    if weight_decay != 0:                                        # g_t <- g_t + lambda theta~
        g = xp.add(g, xp.multiply(weight_decay, theta_tilde, out=work[1]), out=work[0])
    xp.multiply(momentum, v_prev, out=v)                         # v_t <- mu v_{t-1}
    v += xp.multiply(lr, g, out=work[1])                         #        + eta g_t
    theta -= v                                                   # theta_t <- theta_{t-1} - v_t
    return {"velocity": v}
