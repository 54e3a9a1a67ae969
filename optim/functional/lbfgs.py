r"""L-BFGS: the two-loop recursion, the history update and the strong Wolfe line search.

Sources: Nocedal & Wright (2006), *Numerical Optimization*, 2nd ed.:
Algorithm 7.4 (the two-loop recursion), eq. (7.20) (the initial matrix
:math:`H_k^0`), Algorithm 7.5 (L-BFGS), Algorithms 3.5 and 3.6 (line search
for the strong Wolfe conditions and ``zoom``), eq. (3.59) (cubic
interpolation); Liu & Nocedal (1989), "On the limited memory BFGS method for
large scale optimization". The details (the curvature threshold
:math:`10^{-10}`, the bracketing safeguards, the stopping rules) are those of
``torch.optim.LBFGS`` (PyTorch 2.13), itself a port of Schmidt's minFunc, so
that :class:`optim.LBFGS` reproduces PyTorch's iterates.

Notation (all vectors are the parameters flattened into one vector):

* :math:`g_k = \nabla f(x_k)`, the direction :math:`d_k`, the step length
  :math:`t_k`, so :math:`x_{k+1} = x_k + t_k d_k`;
* :math:`s_k = x_{k+1} - x_k = t_k d_k` and :math:`y_k = g_{k+1} - g_k`;
* :math:`\rho_k = 1 / (y_k^\top s_k)`;
* the memory holds the last :math:`m` (``history_size``) pairs
  :math:`(s_i, y_i)` with :math:`y_i^\top s_i > 10^{-10}`.

The history update
------------------

.. math::

    &\text{if } y_k^\top s_k > 10^{-10}:\quad
        \text{append } (s_k, y_k, \rho_k = 1/y_k^\top s_k)
        \text{ (dropping the oldest pair when } m \text{ are stored)},\quad
        \gamma_k = \frac{s_k^\top y_k}{y_k^\top y_k}

:math:`H_k^0 = \gamma_k I` (eq. 7.20) scales the initial inverse Hessian so that
the search direction is well scaled and the unit step is usually accepted.
A pair with :math:`y^\top s \le 10^{-10}` (no positive curvature along the
step) is skipped: keeping it would make :math:`H_k` indefinite.

The two-loop recursion (Algorithm 7.4)
--------------------------------------
Computes :math:`H_k g_k` without forming :math:`H_k`:

.. math::

    q &\leftarrow g_k \\
    &\text{for } i = k-1, k-2, \ldots, k-m: \\
    &\qquad \alpha_i \leftarrow \rho_i\, s_i^\top q \\
    &\qquad q \leftarrow q - \alpha_i\, y_i \\
    r &\leftarrow H_k^0\, q = \gamma_k\, q \\
    &\text{for } i = k-m, k-m+1, \ldots, k-1: \\
    &\qquad \beta \leftarrow \rho_i\, y_i^\top r \\
    &\qquad r \leftarrow r + s_i\,(\alpha_i - \beta) \\
    &\text{stop with } H_k g_k = r, \qquad d_k = -r

(``torch.optim.LBFGS`` runs the same loops on :math:`-g_k`, so its stored
``al`` are :math:`-\alpha_i`; negation is exact in floating point, so both
give the same direction.)

The strong Wolfe line search (Algorithms 3.5, 3.6)
--------------------------------------------------
With :math:`\phi(t) = f(x + t d)`, :math:`\phi'(t) = \nabla f(x + t d)^\top d`,
accept a step :math:`t` satisfying

.. math::

    \phi(t) &\le \phi(0) + c_1\, t\, \phi'(0)
        \qquad\text{(sufficient decrease, Armijo)} \\
    |\phi'(t)| &\le -c_2\, \phi'(0)
        \qquad\text{(curvature)}

with :math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9`. The first phase increases
:math:`t` (extrapolating by cubic interpolation within
:math:`[t + 0.01(t - t_{prev}),\ 10t]`) until it either satisfies both
conditions or brackets an interval that contains such a point; the second
phase (``zoom``) shrinks the bracket, each trial point being the minimizer of
the cubic that interpolates :math:`\phi` and :math:`\phi'` at the two ends
(eq. 3.59), pushed :math:`0.1` of the bracket's length away from an end when
it falls too close to one.

Cubic interpolation (eq. 3.59): the minimizer of the cubic through
:math:`(x_1, f_1, g_1)` and :math:`(x_2, f_2, g_2)` is

.. math::

    d_1 &= g_1 + g_2 - 3\,\frac{f_1 - f_2}{x_1 - x_2} \\
    d_2 &= \operatorname{sign}(x_2 - x_1)\,\sqrt{d_1^2 - g_1 g_2} \\
    x_{min} &= x_2 - (x_2 - x_1)\,\frac{g_2 + d_2 - d_1}{g_2 - g_1 + 2 d_2}

clipped to the bounds; when :math:`d_1^2 - g_1 g_2 < 0` (no real minimizer)
the midpoint of the bounds is taken.

All functions are pure: they return new lists and arrays and never write into
their arguments. Scalars (:math:`y^\top s`, :math:`\rho`, :math:`\alpha`, ...)
are backend scalars of the parameters' dtype, as PyTorch keeps 0-d tensors.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from minigrad.backend import get_array_module

from ..types import Array

__all__ = [
    "lbfgs_update_history", "lbfgs_two_loop", "cubic_interpolate", "strong_wolfe",
    "CURVATURE_THRESHOLD",
]

CURVATURE_THRESHOLD = 1e-10     # keep (s, y) only if y^T s exceeds this (PyTorch, minFunc)


def lbfgs_update_history(s: Array, y: Array, old_stps: list, old_dirs: list, ro: list, H_diag: Array, *,
                         history_size: int):
    r"""Add the pair :math:`(s_k, y_k)` to the memory if :math:`y_k^\top s_k > 10^{-10}`.

    Args:
        s: :math:`s_k = t_k d_k`, the last step.
        y: :math:`y_k = g_{k+1} - g_k`, the change of the gradient along it.
        old_stps, old_dirs, ro: the stored :math:`s_i`, :math:`y_i` and
            :math:`\rho_i`, oldest first (PyTorch's state names).
        H_diag: the current :math:`\gamma` (the scale of :math:`H^0`).
        history_size: :math:`m`, the most pairs kept.

    Returns:
        ``(old_stps, old_dirs, ro, H_diag, intermediates)``: new lists (the
        inputs are not modified) and the new :math:`\gamma`; intermediates
        ``ys`` (:math:`y^\top s`) and ``accepted`` (whether the pair was kept).
    """
    ys = y.dot(s)                                        # y_k^T s_k
    accepted = bool(ys > CURVATURE_THRESHOLD)
    old_stps, old_dirs, ro = list(old_stps), list(old_dirs), list(ro)
    if accepted:
        if len(old_dirs) == history_size:                # memory full: drop the oldest pair
            old_stps.pop(0)
            old_dirs.pop(0)
            ro.pop(0)
        old_stps.append(s)
        old_dirs.append(y)
        ro.append(1.0 / ys)                              # rho_k = 1 / (y_k^T s_k)
        H_diag = ys / y.dot(y)                           # gamma_k = s_k^T y_k / y_k^T y_k
    return old_stps, old_dirs, ro, H_diag, {"ys": ys, "accepted": accepted}


def lbfgs_two_loop(g: Array, old_stps: list, old_dirs: list, ro: list, H_diag: Array):
    r"""The two-loop recursion: :math:`d = -H_k g` from the stored pairs (Algorithm 7.4).

    Args:
        g: :math:`g_k`, the current gradient (flat).
        old_stps, old_dirs, ro: :math:`s_i`, :math:`y_i`, :math:`\rho_i`,
            oldest first.
        H_diag: :math:`\gamma_k`, so :math:`H_k^0 = \gamma_k I`.

    Returns:
        ``(d, intermediates)``: the direction :math:`d_k = -r` and
        ``alpha`` (the list of :math:`\alpha_i`, oldest first), ``beta`` (the
        :math:`\beta` of the second loop, same order), ``q`` (after the first
        loop) and ``r`` (:math:`= H_k g_k`).
    """
    m = len(old_dirs)
    alpha = [None] * m
    beta = [None] * m
    q = g
    for i in range(m - 1, -1, -1):                       # i = k-1, ..., k-m (newest first)
        alpha[i] = old_stps[i].dot(q) * ro[i]            # alpha_i = rho_i s_i^T q
        q = q - alpha[i] * old_dirs[i]                   # q = q - alpha_i y_i
    r = H_diag * q                                       # r = H_k^0 q = gamma_k q
    for i in range(m):                                   # i = k-m, ..., k-1 (oldest first)
        beta[i] = old_dirs[i].dot(r) * ro[i]             # beta = rho_i y_i^T r
        r = r + (alpha[i] - beta[i]) * old_stps[i]       # r = r + s_i (alpha_i - beta)
    d = -r                                               # d_k = -H_k g_k
    return d, {"alpha": alpha, "beta": beta, "q": q, "r": r}


def cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                      bounds: tuple[float, float] | None = None):
    r"""The minimizer of the cubic through :math:`(x_1, f_1, g_1)`, :math:`(x_2, f_2, g_2)` (eq. 3.59).

    ``g1``, ``g2`` are the slopes :math:`\phi'` at the two points. The result
    is clipped to ``bounds`` (default: the interval between the points); when
    the cubic has no real minimizer the midpoint of the bounds is returned.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)             # d_1
    d2_square = d1 ** 2 - g1 * g2                        # d_1^2 - g_1 g_2
    if d2_square >= 0:
        d2 = _sqrt(d2_square)                            # |d_2|
        # sign(x2 - x1) in d_2: written with the points taken in increasing order
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _sqrt(x):
    """Square root of a backend scalar in its own dtype (a Python float for floats)."""
    if isinstance(x, (int, float)):
        return math.sqrt(x)
    return get_array_module(x).sqrt(x)


def strong_wolfe(obj_func: Callable, x: Array, t: int, d: Array, f: float, g: Array, gtd: float, *,
                 c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25):
    r"""Find a step :math:`t` along :math:`d` satisfying the strong Wolfe conditions.

    Args:
        obj_func: ``obj_func(x, t, d) -> (f(x + t d), grad f(x + t d))``
            (flat gradient); it must leave the parameters at ``x``.
        x: the starting point (passed through to ``obj_func``).
        t: the first trial step.
        d: the search direction (flat).
        f, g, gtd: :math:`\phi(0) = f(x)`, :math:`\nabla f(x)` and
            :math:`\phi'(0) = g^\top d < 0`.
        c1, c2: the Wolfe constants (sufficient decrease, curvature).
        tolerance_change: stop zooming once the bracket's length times
            :math:`\max|d_i|` is below this. (``torch.optim.LBFGS`` always
            uses the default 1e-9 here, whatever its own ``tolerance_change``.)
        max_ls: the most function evaluations.

    Returns:
        ``(f_new, g_new, t, ls_func_evals, intermediates)``: the loss and the
        gradient at :math:`x + t d`, the step, the number of evaluations, and
        ``trials`` (every step length tried, in order), ``wolfe`` (whether
        both conditions hold at the returned step; False when the search
        stopped on ``max_ls`` or a tiny bracket).
    """
    xp = get_array_module(d)
    d_norm = xp.abs(d).max()                             # max_i |d_i|
    f_new, g_new = obj_func(x, t, d)                     # phi(t), grad at x + t d
    ls_func_evals = 1
    gtd_new = g_new.dot(d)                               # phi'(t)
    trials = [t]

    # phase 1: bracket an interval containing a point that satisfies the conditions
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            # no sufficient decrease (or worse than the last trial): bracketed
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            # both strong Wolfe conditions hold: done
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            # the slope turned positive: a minimizer lies between t_prev and t
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # still descending: extrapolate, t_new in [t + 0.01 (t - t_prev), 10 t]
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_old = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = t_old, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        trials.append(t)
        ls_iter += 1

    if ls_iter == max_ls:
        # out of evaluations: fall back to the bracket [0, t]
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # phase 2 (zoom): shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break                                        # the bracket is too small
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        # safeguard: keep t at least 0.1 * |bracket| away from the ends
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        trials.append(t)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # no sufficient decrease, or not below the low end: t is the new high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True                              # strong Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the minimizer is on the other side: the old low end becomes the high end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # t is the new low end
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new

    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals, {"trials": trials, "wolfe": done}
