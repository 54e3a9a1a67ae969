r"""The formulas in place: the fast path's twins of the pure formulas.

Each function here is the pure formula of the same name in
:mod:`optim.functional` without its trailing ``_`` (``adam_`` is the twin of
``optim.functional.adam``), rewritten line by line with ``out=`` so that a
step allocates nothing: the same floating-point operations in the same order,
so the results are **bitwise equal** to the formula's
(``tests/optim/test_fast_path.py`` checks every twin against its formula).
An operation is left out only where it is an exact identity, so that leaving
it out changes no bit: ``1 * g`` (SGD without dampening) and Adam's division
by :math:`1 - \beta^t` once that rounds to 1 in the arrays' dtype. Every other
NumPy call is one pass over the chunk (14 for Adam, 9 RMSprop, 7 Adagrad, 4
SGD with momentum), which is what separates these twins from a fused kernel's
single pass: 1.4-3x torch's ``fused=True`` on one core (``benchmarks/README.md``).
Where a C compiler is found the flat path runs the fused kernels of
:mod:`optim.fast.cpu` instead (the kernel functions of :mod:`optim.fast.kernels`,
the same operations in the same order, compiled to one C loop, at torch's
speed); these twins are what it runs without one (or with
``MINIGRAD_CPU_FUSED=0``), and the step-by-step reference the kernel functions
are written from.
Each line carries the comment of the formula's line it computes.
They write into their inputs, which is why they live here and not among the
formulas.

Common arguments:

``theta``
    :math:`\theta_{t-1}`, overwritten with :math:`\theta_t`.
``grad``
    the gradient (read only).
``state``
    as for the formula (read only, but its arrays may be ``out``'s).
``out``
    where the new state's arrays go, by state key (the fast path passes the
    state's own arrays, so the state is updated in place).
``work``
    scratch arrays shaped like ``theta`` (:data:`optim.fast.flat.N_WORK` of them).

Each returns the new state (its arrays are ``out``'s) and no intermediates: a
traced optimizer runs the pure formula.
"""
from __future__ import annotations

import numpy as np

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..functional.adam import BIAS_CORRECTIONS
from ..functional.sgd import MOMENTUM_FORMS

__all__ = ["adagrad_", "adam_", "rmsprop_", "sgd_", "sgd_lecture_", "signed_gradient_", "l2_penalty_",
           "decoupled_decay_"]


# ---------------------------------------------------------------------------
# helpers: exact identities
# ---------------------------------------------------------------------------

def _is_one(c, arr) -> bool:
    """Whether ``arr / c`` (``c`` a Python number) divides every element of ``arr`` by exactly 1.

    NumPy meets a Python number and a float array in the array's dtype
    (NEP 50), so ``arr / c`` divides by ``c`` rounded to that dtype. When that
    is 1 the division changes nothing (IEEE division by 1 is exact for every
    value: finite, both zeros, infinities, NaNs), so the pass can be left out
    and the result stays bitwise the same. Anything but a Python float or int
    and a NumPy float array answers False (the division is done).
    """
    return ((type(c) is float or type(c) is int) and type(arr) is np.ndarray
            and arr.dtype.kind == "f" and arr.dtype.type(c) == 1)


# ---------------------------------------------------------------------------
# PyTorch's flags in place (optim.functional.flags, the same operations)
# ---------------------------------------------------------------------------

def signed_gradient_(grad, maximize, work):
    """:func:`optim.functional.flags.signed_gradient` into ``work[0]`` (``grad`` itself unless maximizing)."""
    if maximize:
        return get_array_module(grad).negative(grad, out=work[0])
    return grad


def l2_penalty_(g, theta, weight_decay, work):
    """:func:`optim.functional.flags.l2_penalty` into ``work[0]`` (``work[1]`` holds the penalty)."""
    if weight_decay != 0:
        xp = get_array_module(theta)
        return xp.add(g, xp.multiply(weight_decay, theta, out=work[1]), out=work[0])
    return g


def decoupled_decay_(theta, lr, weight_decay):
    """:func:`optim.functional.flags.decoupled_decay` in place: ``theta`` is overwritten."""
    if weight_decay != 0:
        get_array_module(theta).multiply(theta, 1 - lr * weight_decay, out=theta)
    return theta


# ---------------------------------------------------------------------------
# the formulas
# ---------------------------------------------------------------------------


def sgd_(theta, grad, state, out, work, *, lr=1e-3, momentum=0.0, dampening=0.0,
         weight_decay=0.0, nesterov=False, maximize=False, momentum_form="torch"):
    r""":func:`~optim.functional.sgd` in place, for the flat fast path: the same operations in the same order.

    One multiplication is left out where it is exact: :math:`(1-\tau) g_t`
    with :math:`\tau = 0` is :math:`g_t`.

    Args:
        out: where the new state's array goes: ``out["momentum_buffer"]``
            (torch form) or ``out["velocity"]`` (lecture form); it may be the
            array of the same name in ``state``.
        work: two scratch arrays shaped like ``theta`` (three for the lecture
            form with Nesterov).

    Returns:
        The new state (its array is ``out``'s).
    """
    check_choice(momentum_form, "momentum_form", MOMENTUM_FORMS)
    xp = get_array_module(theta)
    if momentum != 0 and momentum_form == "lecture":
        return sgd_lecture_(theta, grad, state, out, work, lr=lr, momentum=momentum,
                            weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)

    # ---- PyTorch's form (also plain SGD without momentum)
    g = signed_gradient_(grad, maximize, work)                   # g_t (negated to maximize)
    g = l2_penalty_(g, theta, weight_decay, work)                # g_t <- g_t + lambda theta_{t-1}
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


def sgd_lecture_(theta, grad, state, out, work, *, lr=1e-3, momentum=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
    r""":func:`optim.functional.sgd_lecture` in place: the same operations in the same order.

    ``out["velocity"]`` receives :math:`v_t` (it may be ``state["velocity"]``);
    ``work``: three scratch arrays shaped like ``theta``. Returns the new state.
    """
    xp = get_array_module(theta)
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
    g = signed_gradient_(grad, maximize, work)                   # grad f_t(theta~) (maximize: -)
    g = l2_penalty_(g, theta_tilde, weight_decay, work)          # g_t <- g_t + lambda theta~
    xp.multiply(momentum, v_prev, out=v)                         # v_t <- mu v_{t-1}
    v += xp.multiply(lr, g, out=work[1])                         #        + eta g_t
    theta -= v                                                   # theta_t <- theta_{t-1} - v_t
    return {"velocity": v}


def adagrad_(theta, grad, state, out, work, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
             eps=1e-10, maximize=False, eps_inside_sqrt=False):
    r""":func:`~optim.functional.adagrad` in place, for the flat fast path: the same operations in the same order.

    Args:
        out: ``out["sum"]``, where :math:`s_t` goes (may be ``state["sum"]``).
        work: three scratch arrays shaped like ``theta``.

    Returns:
        The new state (its array is ``out``'s).
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                                        # t <- t + 1
    g = signed_gradient_(grad, maximize, work)                   # g_t (negated to maximize)
    g = l2_penalty_(g, theta, weight_decay, work)                # g_t <- g_t + lambda theta_{t-1}
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


def rmsprop_(theta, grad, state, out, work, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
             momentum=0.0, centered=False, maximize=False, eps_inside_sqrt=False):
    r""":func:`~optim.functional.rmsprop` in place, for the flat fast path: the same operations in the same order.

    Args:
        out: where the new state's arrays go: ``out["square_avg"]`` and, when
            used, ``out["grad_avg"]``, ``out["momentum_buffer"]``; each may be
            the array of the same name in ``state``.
        work: three scratch arrays shaped like ``theta``.

    Returns:
        The new state (its arrays are ``out``'s).
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                                        # t <- t + 1
    g = signed_gradient_(grad, maximize, work)                   # g_t (negated to maximize)
    g = l2_penalty_(g, theta, weight_decay, work)                # g_t <- g_t + lambda theta_{t-1}
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


def adam_(theta, grad, state, out, work, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
          weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False,
          bias_correction="standard"):
    r""":func:`~optim.functional.adam` in place, for the flat fast path: the same operations in the same order.

    The bias corrections divide only while they are not 1: once
    :math:`1 - \beta_1^t` rounds to 1 in the arrays' dtype (from step 165 in
    float32 for :math:`\beta_1 = 0.9`), :math:`\hat m_t = m_t / 1` is
    :math:`m_t` bit for bit and that pass is left out; the same for
    :math:`\hat v_t`.

    Args:
        out: where the new state's arrays go: ``out["exp_avg"]``,
            ``out["exp_avg_sq"]`` (and ``out["max_exp_avg_sq"]``); each may
            be the array of the same name in ``state`` (the fast path passes
            the same arrays, so the state is updated in place).
        work: three scratch arrays shaped like ``theta``.

    Returns:
        The new state (its arrays are ``out``'s). No intermediates: a traced
        optimizer runs :func:`~optim.functional.adam`.
    """
    check_choice(bias_correction, "bias_correction", BIAS_CORRECTIONS)
    xp = get_array_module(theta)
    t = state["step"] + 1                                        # t <- t + 1
    g = signed_gradient_(grad, maximize, work)                   # g_t (negated to maximize)
    if decoupled_weight_decay:
        decoupled_decay_(theta, lr, weight_decay)                # theta <- theta (1 - gamma lambda)
    else:
        g = l2_penalty_(g, theta, weight_decay, work)            # g_t <- g_t + lambda theta_{t-1}
    m = xp.multiply(beta1, state["exp_avg"], out=out["exp_avg"])      # m_t <- beta1 m_{t-1}
    m += xp.multiply(1 - beta1, g, out=work[1])                       #        + (1 - beta1) g_t
    v = xp.multiply(beta2, state["exp_avg_sq"], out=out["exp_avg_sq"])  # v_t <- beta2 v_{t-1}
    g2 = xp.multiply(1 - beta2, g, out=work[1])
    g2 *= g
    v += g2                                                           #        + (1 - beta2) g_t g_t
    new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}
    if amsgrad:
        v_max = xp.maximum(state["max_exp_avg_sq"], v, out=out["max_exp_avg_sq"])  # v_max_t
        new_state["max_exp_avg_sq"] = v_max
        v_used = v_max
    else:
        v_used = v
    if bias_correction == "standard":
        # Once 1 - beta^t rounds to 1 in the arrays' dtype (for beta1 = 0.9 from step 165 in
        # float32, 356 in float64; for beta2 = 0.999 from 17321 and 37412), m_t / 1 is m_t:
        # that division's pass is left out (_is_one).
        c1, c2 = 1 - beta1 ** t, 1 - beta2 ** t
        m_hat = m if _is_one(c1, m) else xp.divide(m, c1, out=work[1])   # m_hat_t <- m_t / (1 - beta1^t)
        v_hat = (v_used if _is_one(c2, v_used)
                 else xp.divide(v_used, c2, out=work[2]))                 # v_hat_t <- v_t / (1 - beta2^t)
        step = xp.multiply(lr, m_hat, out=work[1])                  # gamma m_hat_t
        denom = xp.sqrt(v_hat, out=work[2])
        denom += eps                                                # sqrt(v_hat_t) + eps
    else:
        alpha_t = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)   # alpha_t
        step = xp.multiply(alpha_t, m, out=work[1])                 # alpha_t m_t
        denom = xp.sqrt(v_used, out=work[2])
        denom += eps                                                # sqrt(v_t) + eps
    step /= denom
    theta -= step                                                   # theta_t
    return new_state
