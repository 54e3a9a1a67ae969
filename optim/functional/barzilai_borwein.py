r"""Barzilai-Borwein step sizes: full-batch BB, SGD-BB and SVRG-BB, as pure functions.

**Barzilai & Borwein (1988)**, "Two-point step size gradient methods", IMA J.
Numer. Anal. 8. Gradient descent :math:`x_{k+1} = x_k - \alpha_k g_k` whose
step makes :math:`\alpha_k^{-1} I` the best multiple of the identity that
satisfies the secant equation :math:`H s_{k-1} \approx y_{k-1}`, with
:math:`s_{k-1} = x_k - x_{k-1}` and :math:`y_{k-1} = g_k - g_{k-1}`. Solving it
in least squares for :math:`\alpha^{-1}`, or for :math:`\alpha` in
:math:`s \approx \alpha y`, gives the two steps:

.. math::

    \alpha_0 &= \text{lr} \\
    s_{k-1} &= x_k - x_{k-1}, \qquad y_{k-1} = g_k - g_{k-1} \\
    \alpha_k^{BB1} &= \frac{s_{k-1}^\top s_{k-1}}{s_{k-1}^\top y_{k-1}}
        = \arg\min_\alpha \|\alpha^{-1} s_{k-1} - y_{k-1}\|
        \quad(\text{"long"}) \\
    \alpha_k^{BB2} &= \frac{s_{k-1}^\top y_{k-1}}{y_{k-1}^\top y_{k-1}}
        = \arg\min_\alpha \|s_{k-1} - \alpha\, y_{k-1}\|
        \quad(\text{"short"}) \\
    x_{k+1} &= x_k - \alpha_k\, g_k

On a quadratic :math:`\tfrac12 x^\top A x - b^\top x`, :math:`y = As`, so
:math:`\alpha^{BB1} = s^\top s / s^\top A s` and
:math:`\alpha^{BB2} = s^\top A s / s^\top A^2 s` are inverse Rayleigh quotients
of :math:`A` (and of :math:`A` weighted by :math:`A`): both lie in
:math:`[1/L, 1/\mu]`, and :math:`\alpha^{BB2} \le \alpha^{BB1}` by
Cauchy-Schwarz.

**Safeguard.** Away from a quadratic, :math:`s^\top y` can be zero or negative (non-convexity, or no
movement at all), and BB1/BB2 would be negative, infinite or NaN. The step is
computed only when the curvature along :math:`s` is clearly positive,

.. math::

    s^\top y > \epsilon_{curv}\, \|s\|\,\|y\|
    \qquad(\cos\angle(s, y) > \epsilon_{curv}),

and otherwise falls back to the previous step :math:`\alpha_{k-1}`
(``fallback="previous"``, the default) or to :math:`\alpha_{max}`
(``fallback="max"``, as in spectral projected gradient methods). The result is
then clipped to :math:`[\alpha_{min}, \alpha_{max}]` (globalised BB methods,
e.g. Raydan 1997, SIAM J. Optim. 7, likewise keep the step inside a fixed
interval). It is never infinite or NaN.

**Stochastic BB** (Tan, Ma, Dai & Qian 2016, "Barzilai-Borwein Step Size for
Stochastic Gradient Descent", NeurIPS). Epochs of :math:`m` inner steps; the
step size is recomputed once per epoch from the epoch-start points
:math:`\tilde x_k` and a gradient estimate at them.

SVRG-BB (their Algorithm 1) takes SVRG's full gradients
:math:`\tilde g_k = \nabla F(\tilde x_k)`; for :math:`k \ge 1`

.. math::

    \eta_k = \frac{1}{m}\cdot
        \frac{\|\tilde x_k - \tilde x_{k-1}\|^2}
             {(\tilde x_k - \tilde x_{k-1})^\top(\tilde g_k - \tilde g_{k-1})}

and :math:`\eta_0` is given. SGD-BB (their Algorithm 2) has no full gradient;
it averages the stochastic gradients of the previous epoch,
:math:`\hat g_{k} = \operatorname{avg}_{t} \nabla f_{i_t}(x_t)` over epoch
:math:`k-1`, and, the average being noisy, takes an absolute value; the first
BB step is at :math:`k = 2` (:math:`\eta_0 = \eta_1` given):

.. math::

    \eta_k^{BB} &= \frac{1}{m}\cdot
        \frac{\|\tilde x_k - \tilde x_{k-1}\|^2}
             {|(\tilde x_k - \tilde x_{k-1})^\top(\hat g_k - \hat g_{k-1})|} \\
    c_k &= c_{k-1}^{(k-2)/(k-1)}\,\big(\eta_k^{BB}\,\phi(k)\big)^{1/(k-1)},
        \qquad \phi(k) = k \\
    \eta_k &= c_k / \phi(k)

The smoothing makes :math:`c_k` the geometric mean of
:math:`\eta_j^{BB}\phi(j)`, :math:`j = 2..k`, so :math:`\eta_k` decays like
:math:`1/k` times a stable constant. The average :math:`\hat g` is the plain
mean over the epoch (``beta=None``) or the paper's weighted average
:math:`\hat g \leftarrow \beta\nabla f_{i_t}(x_t) + (1-\beta)\hat g` (they use
:math:`\beta = 10/m`); here it restarts from 0 at each epoch (the authors'
released code carries it over; with :math:`\beta = 10/m` the two differ by a
factor :math:`(1-\beta)^m \approx e^{-10}`). Both stochastic steps use the
same safeguard as above (for SGD-BB the test is on :math:`|s^\top y|`) with
the previous :math:`\eta` as fallback.
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..checks import check_choice
from ..types import Array, Update

__all__ = [
    "barzilai_borwein", "barzilai_borwein_init", "bb_step_size", "svrg_bb_step_size",
    "sgd_bb_step_size", "sgd_bb", "sgd_bb_init", "BB_VARIANTS", "BB_FALLBACKS", "dot",
]

BB_VARIANTS = ("long", "short")
BB_FALLBACKS = ("previous", "max")


def dot(a: Array, b: Array) -> float:
    r""":math:`a^\top b` for two vectors given as lists of blocks (arrays of any shapes)."""
    return float(sum(float((x * z).sum()) for x, z in zip(a, b)))


def _safeguarded(alpha_raw, curvature_ok, alpha_prev, alpha_min, alpha_max, fallback):
    """The safeguard of the module docstring: fallback when invalid, then clip."""
    valid = curvature_ok and alpha_raw is not None and math.isfinite(alpha_raw) and alpha_raw > 0
    if valid:
        alpha = alpha_raw
    elif fallback == "max":
        alpha = alpha_max
    else:
        alpha = alpha_prev
    alpha = min(max(alpha, alpha_min), alpha_max)        # clip to [alpha_min, alpha_max]
    return float(alpha), not valid


def bb_step_size(s_dot_s: float, s_dot_y: float, y_dot_y: float, *, variant: str = "long", alpha_prev: float,
                 alpha_min: float = 1e-10, alpha_max: float = 1e10, curvature_eps: float = 1e-10,
                 fallback: str = "previous"):
    r"""The safeguarded BB step :math:`\alpha_k` from the three inner products.

    Returns:
        ``(alpha, intermediates)``: intermediates ``alpha_bb`` (the raw
        BB1/BB2 value, None when the curvature test fails) and ``fallback``
        (True when the safeguard replaced it).
    """
    check_choice(variant, "variant", BB_VARIANTS)
    curvature_ok = s_dot_y > curvature_eps * math.sqrt(s_dot_s * y_dot_y)
    alpha_bb = None
    if curvature_ok:
        if variant == "long":
            alpha_bb = s_dot_s / s_dot_y                 # BB1 = s's / s'y
        else:
            alpha_bb = s_dot_y / y_dot_y                 # BB2 = s'y / y'y
    alpha, fell_back = _safeguarded(alpha_bb, curvature_ok, alpha_prev, alpha_min,
                                    alpha_max, fallback)
    return alpha, {"alpha_bb": alpha_bb, "fallback": fell_back}


def _blocks(x):
    return (list(x), False) if isinstance(x, (list, tuple)) else ([x], True)


def barzilai_borwein_init(theta: Array) -> dict:
    """The state before the first step: ``step = 0``, no previous point yet."""
    return {"step": 0, "alpha": None, "prev_param": None, "prev_grad": None}


def barzilai_borwein(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, variant: str = "long",
                     alpha_min: float = 1e-10, alpha_max: float = 1e10, curvature_eps: float = 1e-10,
                     fallback: str = "previous") -> Update:
    r"""One full-batch Barzilai-Borwein step (the first formula of the module docstring).

    Args:
        theta, grad: :math:`x_k` and :math:`g_k = \nabla f(x_k)`: one array,
            or a list of arrays, the blocks of one vector :math:`x` (the
            parameters of a group; inner products run over all blocks).
        state: ``step`` (:math:`k`), ``alpha`` (:math:`\alpha_{k-1}`),
            ``prev_param`` and ``prev_grad`` (:math:`x_{k-1}`,
            :math:`g_{k-1}`, lists of blocks) as this function returns them;
            :func:`barzilai_borwein_init` for the first step.
        lr: :math:`\alpha_0`, the first step. variant: ``"long"`` (BB1) or
            ``"short"`` (BB2). alpha_min, alpha_max, curvature_eps, fallback:
            the safeguard (module docstring).

    Returns:
        ``(theta_new, new_state, intermediates)``; ``theta_new`` has the form
        of ``theta`` (array or list). Intermediates: ``k``, ``alpha`` (the step
        used); from the second step on also ``s``, ``y`` (same form as
        ``theta``), ``s_dot_s``, ``s_dot_y``, ``y_dot_y``, ``alpha_bb``,
        ``fallback``.
    """
    x, single = _blocks(theta)
    g, _ = _blocks(grad)
    k = state["step"]
    intermediates = {"k": k}
    if k == 0:
        alpha = float(lr)                                          # alpha_0 = lr
    else:
        s = [xi - x_prev for xi, x_prev in zip(x, state["prev_param"])]   # s_{k-1} = x_k - x_{k-1}
        y = [gi - gp for gi, gp in zip(g, state["prev_grad"])]    # y_{k-1} = g_k - g_{k-1}
        s_dot_s, s_dot_y, y_dot_y = dot(s, s), dot(s, y), dot(y, y)
        alpha, info = bb_step_size(s_dot_s, s_dot_y, y_dot_y, variant=variant,
                                   alpha_prev=state["alpha"], alpha_min=alpha_min,
                                   alpha_max=alpha_max, curvature_eps=curvature_eps,
                                   fallback=fallback)
        intermediates.update(s=s[0] if single else s, y=y[0] if single else y,
                             s_dot_s=s_dot_s, s_dot_y=s_dot_y, y_dot_y=y_dot_y, **info)
    x_new = [xi - alpha * gi for xi, gi in zip(x, g)]              # x_{k+1} = x_k - alpha_k g_k
    intermediates["alpha"] = alpha
    new_state = {"step": k + 1, "alpha": alpha,
                 "prev_param": [xi.copy() for xi in x], "prev_grad": [gi.copy() for gi in g]}
    return (x_new[0] if single else x_new), new_state, intermediates


# ---------------------------------------------------------------------------
# Tan, Ma, Dai & Qian (2016)
# ---------------------------------------------------------------------------

def svrg_bb_step_size(s_dot_s: float, s_dot_y: float, y_dot_y: float, *, m: Array, eta_prev: float,
                      eta_min: float = 1e-10, eta_max: float = 1e10, curvature_eps: float = 1e-10):
    r"""SVRG-BB's :math:`\eta_k = \|s\|^2 / (m\, s^\top y)`, safeguarded.

    ``s`` :math:`= \tilde x_k - \tilde x_{k-1}`, ``y``
    :math:`= \tilde g_k - \tilde g_{k-1}` (full gradients); ``m`` the number
    of inner steps per epoch; ``eta_prev`` the fallback.

    Returns:
        ``(eta, intermediates)`` with ``eta_bb`` (raw, None when the
        curvature test fails) and ``fallback``.
    """
    curvature_ok = m > 0 and s_dot_y > curvature_eps * math.sqrt(s_dot_s * y_dot_y)
    eta_bb = s_dot_s / (m * s_dot_y) if curvature_ok else None      # eta_k
    eta, fell_back = _safeguarded(eta_bb, curvature_ok, eta_prev, eta_min, eta_max, "previous")
    return eta, {"eta_bb": eta_bb, "fallback": fell_back}


def sgd_bb_step_size(s_dot_s: float, s_dot_y: float, y_dot_y: float, *, m: Array, k: int, c_prev: float,
                     eta_prev: float, smoothing: bool = True, eta_min: float = 1e-10, eta_max: float = 1e10,
                     curvature_eps: float = 1e-10):
    r"""SGD-BB's step for epoch :math:`k \ge 2`, with the smoothing of the module docstring.

    ``s`` :math:`= \tilde x_k - \tilde x_{k-1}`, ``y``
    :math:`= \hat g_k - \hat g_{k-1}` (epoch-averaged stochastic gradients).

    Returns:
        ``(eta, c, intermediates)``: the step :math:`\eta_k`, the smoothing
        constant :math:`c_k` (``c_prev`` unchanged without smoothing) and
        intermediates ``eta_bb`` (raw :math:`\eta_k^{BB}`, None when the
        curvature test fails), ``eta_bb_used`` (after the fallback),
        ``phi`` (:math:`\phi(k) = k`) and ``fallback``.
    """
    if k < 2:
        raise ValueError(f"SGD-BB computes its first BB step at epoch k = 2, got k = {k}")
    abs_s_dot_y = abs(s_dot_y)
    curvature_ok = m > 0 and abs_s_dot_y > curvature_eps * math.sqrt(s_dot_s * y_dot_y)
    eta_bb = s_dot_s / (m * abs_s_dot_y) if curvature_ok else None  # eta_k^BB
    eta_bb_used, fell_back = _safeguarded(eta_bb, curvature_ok, eta_prev, eta_min, eta_max,
                                          "previous")
    phi = float(k)                                                  # phi(k) = k
    intermediates = {"eta_bb": eta_bb, "eta_bb_used": eta_bb_used, "phi": phi,
                     "fallback": fell_back}
    if not smoothing:
        return eta_bb_used, c_prev, intermediates
    c = c_prev ** ((k - 2) / (k - 1)) * (eta_bb_used * phi) ** (1 / (k - 1))   # c_k
    eta = c / phi                                                   # eta_k = c_k / phi(k)
    eta = min(max(eta, eta_min), eta_max)
    return float(eta), float(c), intermediates


def sgd_bb_init(theta: Array) -> dict:
    r"""The state of one parameter before the first epoch: :math:`\hat g = 0`."""
    xp = get_array_module(theta)
    return {"g_hat": xp.zeros_like(theta)}


def sgd_bb(theta: Array, grad: Array, state: dict, *, eta, t: int, beta: float | None = None) -> Update:
    r"""One SGD-BB inner step: :math:`x_{t+1} = x_t - \eta_k \nabla f_{i_t}(x_t)`, and the average.

    Args:
        theta, grad: :math:`x_t`, :math:`\nabla f_{i_t}(x_t)`.
        state: ``g_hat``, the running average :math:`\hat g` of this epoch.
        eta: :math:`\eta_k`, this epoch's step.
        t: the inner index :math:`t = 0, 1, \dots` within the epoch.
        beta: ``None`` for the plain mean
            :math:`\hat g \leftarrow \hat g + (\nabla f_{i_t} - \hat g)/(t+1)`,
            else the weighted average
            :math:`\hat g \leftarrow \beta\nabla f_{i_t} + (1-\beta)\hat g`.

    Returns:
        ``(theta_new, {"g_hat": g_hat}, intermediates)`` with ``g``,
        ``g_hat``, ``eta``.
    """
    g = grad
    theta = theta - eta * g                                  # x_{t+1} = x_t - eta_k g
    if beta is None:
        g_hat = state["g_hat"] + (g - state["g_hat"]) / (t + 1)  # mean of the epoch's gradients
    else:
        g_hat = beta * g + (1 - beta) * state["g_hat"]       # g_hat = beta g + (1 - beta) g_hat
    return theta, {"g_hat": g_hat}, {"g": g, "g_hat": g_hat, "eta": eta}
