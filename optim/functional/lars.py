r"""LARS: layer-wise adaptive rate scaling, as one pure function.

You, Gitman & Ginsburg (2017), "Large Batch Training of Convolutional
Networks": Algorithm 1 (SGD with LARS) with the local learning rate of their
equation for :math:`\lambda^l`, which carries the trust coefficient. For one
layer's weights :math:`w` (one parameter tensor), global learning rate :math:`\gamma_t`, momentum
:math:`m`, weight decay :math:`\beta` and trust coefficient :math:`\eta`:

.. math::

    g_t &\leftarrow \nabla L(w_t) \\
    \lambda^l &\leftarrow \eta\, \frac{\lVert w_t\rVert}
                                  {\lVert g_t\rVert + \beta\lVert w_t\rVert}
        \qquad \text{(local learning rate; 1 if a norm is 0)} \\
    v_{t+1} &\leftarrow m\, v_t + \gamma_t\, \lambda^l\, (g_t + \beta\, w_t) \\
    w_{t+1} &\leftarrow w_t - v_{t+1}

with :math:`v_0 = 0`. The velocity :math:`v` contains the learning rate (the
form of the paper, like the lecture form of SGD momentum), so a change of
:math:`\gamma_t` acts on new gradients only. The paper decays :math:`\gamma_t`
polynomially (power 2) over training: use a scheduler
(``optim.lr_scheduler.PolynomialLR(opt, total_iters=T, power=2.0)``) for that.

Because :math:`\lambda^l \propto \lVert w\rVert / \lVert g\rVert`, the step of
each layer has a length proportional to the length of its weights and does
not depend on the scale of its gradient: with :math:`\beta = 0` and no
momentum, :math:`\lVert w_{t+1} - w_t\rVert = \gamma_t\,\eta\,\lVert w_t\rVert`.

Guard: when :math:`\lVert w\rVert = 0` or the denominator is 0 the local
rate is 1 (a plain momentum-SGD step for that layer), as public LARS
implementations do. ``eps`` (default 0, the paper's form) is added to the
denominator for code that wants it there.

Excluded parameters (``exclude=True``; usually biases and normalisation
gains, see ``optim.LARS(exclude_1d=True)``) take no adaptation and no decay:
:math:`\lambda^l = 1`, :math:`\beta = 0`, i.e.
:math:`v \leftarrow m v + \gamma_t g`, :math:`w \leftarrow w - v`.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .lamb import tensor_norm

__all__ = ["lars", "lars_init"]


def lars_init(theta: Array, *, momentum: float = 0.9) -> dict:
    """The state before the first step: :math:`v_0 = 0` (no state without momentum)."""
    if momentum == 0:
        return {}
    xp = get_array_module(theta)
    return {"momentum_buffer": xp.zeros_like(theta)}


def lars(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, momentum: float = 0.9,
         weight_decay: float = 0.0, trust_coefficient: float = 1e-3, eps: float = 0.0, exclude: bool = False) -> Update:
    r"""One LARS step on one layer (the formula of the module docstring).

    Args:
        theta, grad: :math:`w_t` and :math:`g_t` (backend arrays).
        state: ``{"momentum_buffer": v}`` (or ``{}`` without momentum).
        lr: :math:`\gamma_t`. momentum: :math:`m`. weight_decay: :math:`\beta`.
        trust_coefficient: :math:`\eta`. eps: added to the denominator (default 0).
        exclude: skip the adaptation and the decay for this tensor.

    Returns:
        ``(theta_new, new_state, intermediates)``; intermediates ``g``,
        ``w_norm``, ``g_norm``, ``local_lr`` (:math:`\lambda^l`), ``d``
        (:math:`g + \beta w`) and ``v``. Inputs are not modified.
    """
    w = theta
    g = grad                                                  # g_t = grad L(w_t)
    w_norm = tensor_norm(w)                                   # ||w||
    g_norm = tensor_norm(g)                                   # ||grad L(w)||
    if exclude:
        local_lr = 1.0                                        # no adaptation
        d = g                                                 # no decay
    else:
        denom = g_norm + weight_decay * w_norm + eps          # ||g|| + beta ||w||
        if w_norm > 0 and denom > 0:
            local_lr = trust_coefficient * w_norm / denom     # lambda^l = eta ||w|| / (...)
        else:
            local_lr = 1.0                                    # zero-norm guard
        d = g + weight_decay * w                              # g + beta w
    if momentum != 0:
        v_prev = state.get("momentum_buffer")
        if v_prev is None:
            v_prev = get_array_module(w).zeros_like(w)        # v_0 = 0
        v = momentum * v_prev + lr * local_lr * d             # v = m v + gamma lambda^l d
    else:
        v = lr * local_lr * d                                 # no momentum: v = gamma lambda^l d
    w = w - v                                                 # w <- w - v
    new_state = {"momentum_buffer": v} if momentum != 0 else {}
    intermediates = {"g": g, "w_norm": w_norm, "g_norm": g_norm, "local_lr": local_lr, "d": d,
                     "v": v}
    return w, new_state, intermediates
