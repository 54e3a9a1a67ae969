r"""The components of Ranger21, each on its own, as pure functions with formula and source.

Wright & Demeure (2021), "Ranger21: a synergistic deep learning optimizer"
(arXiv:2106.13731) combine AdamW with eight published components. Each is
here as a small pure function on backend arrays (NumPy or CuPy), so that it can
be studied, tested and combined with other optimizers; :mod:`optim.functional.ranger21`
composes them in the paper's order. The three that act on the gradient alone
also come as in-place transforms of the ``.grad`` of a list of parameters in
:mod:`optim.transforms`. Ranger21's schedule (linear warmup and warmdown) is in
:mod:`optim.functional.schedules`, its Lookahead synchronisation in
:mod:`optim.functional.lookahead`.

**Unit-wise norm.** For a parameter of PyTorch layout ``(out, in, ...)`` a
"unit" is one output row: :math:`\|W_i\| = \sqrt{\sum_{j,\dots} W_{ij\dots}^2}`
over every axis but the first; a vector or scalar is one unit.

**Adaptive gradient clipping** (Brock, De, Smith & Simonyan 2021,
"High-Performance Large-Scale Image Recognition Without Normalization", ICML,
Section 4.1), unit-wise:

.. math::

    G_i \leftarrow \begin{cases}
        \lambda\,\dfrac{\max(\|W_i\|, \epsilon)}{\|G_i\|}\, G_i &
            \text{if } \dfrac{\|G_i\|}{\max(\|W_i\|, \epsilon)} > \lambda \\
        G_i & \text{otherwise}\end{cases}

(Ranger21's defaults :math:`\lambda = 10^{-2}`, :math:`\epsilon = 10^{-3}`.)

**Gradient centralization** (Yong, Huang, Hua & Zhang 2020, "Gradient
Centralization: A New Optimization Technique for Deep Neural Networks", ECCV,
eq. 1): for weights with more than one axis, subtract each unit's mean,
:math:`G_i \leftarrow G_i - \operatorname{mean}(G_i)`; vectors are left alone.
(A unit with a single weight, e.g. a ``Linear(1, n)`` weight of shape
``(n, 1)``, gets a zero gradient: switch centralization off for such layers.)

**Gradient normalization** (Ranger21, applied after centralization): divide
the gradient of a tensor by its standard deviation,
:math:`G \leftarrow G / (\operatorname{std}(G) + \epsilon)`, for tensors
with more than two elements (the sample standard deviation, ``ddof=1``, as
``torch.std`` in the authors' code).

**Positive-negative momentum** (Xie, Yuan, Zhu & Sugiyama 2021,
"Positive-Negative Momentum: Manipulating Stochastic Gradient Noise to Improve
Generalization", ICML, Algorithm 2 "AdaPNM"): two momentum buffers, each fed
every other step, combined with a positive and a negative weight whose noise
amplitude is normalised:

.. math::

    m_t &= \beta_1^2\, m_{t-2} + (1-\beta_1^2)\, g_t \\
    \bar m_t &= \frac{(1+\beta_0)\, m_t - \beta_0\, m_{t-1}}{\sqrt{(1+\beta_0)^2 + \beta_0^2}}

(:math:`m_{t-1}` is the other buffer, last fed at step :math:`t-1`. The
authors' Ranger21 code divides by :math:`\sqrt{(1+\beta_2)^2+\beta_2^2}`, a
slip for :math:`\beta_0`; this is the PNM paper's normalisation.)

**AdamW-style denominator** (Loshchilov & Hutter 2019, as in
:mod:`optim.functional.adam`): :math:`\sqrt{\hat v_t} + \epsilon` with
:math:`\hat v_t = v_t / (1-\beta_2^t)` (or :math:`v^{max}_t` with AMSGrad, as
AdaPNM has it).

**Stable weight decay** (Xie et al., arXiv:2011.11152, first titled "Stable
Weight Decay Regularization", later "On the Overlooked Pitfalls of Weight
Decay and How to Mitigate Them"; their AdamS): decoupled
decay divided by the root of the mean of :math:`\hat v` over all the model's
coordinates,

.. math::

    \theta \leftarrow \theta\,\big(1 - \eta_t \lambda / \sqrt{\bar v_t}\big),
    \qquad \bar v_t = \operatorname{mean}(\hat v_t)

(:math:`\sqrt{\bar v}` is floored at :math:`\epsilon` so that an all-zero
gradient cannot divide by zero).

**Norm loss** (Georgiou et al. 2021, "Norm Loss: An efficient yet effective
regularization method for deep neural networks", arXiv:2103.06583): the
penalty :math:`\lambda_n\sum_i (1 - \|W_i\|)^2` pulls every unit
toward the unit sphere; its gradient is
:math:`2\lambda_n (1 - 1/\|W_i\|) W_i`, applied decoupled like weight decay:

.. math::

    W_i \leftarrow W_i\,\big(1 - 2\eta_t\lambda_n(1 - 1/(\|W_i\| + \epsilon))\big)
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..types import Array

__all__ = [
    "unitwise_norm", "adaptive_gradient_clipping", "gradient_centralization",
    "gradient_normalization", "positive_negative_momentum", "adamw_denominator",
    "stable_weight_decay", "norm_loss",
]


def unitwise_norm(x: Array):
    r""":math:`\|x_i\|` per unit (row; all axes but the first), or the whole norm for ndim <= 1.

    The result broadcasts against ``x`` (``keepdims`` for ndim >= 2, a 0-d
    array otherwise).
    """
    xp = get_array_module(x)
    if x.ndim <= 1:
        return xp.sqrt((x * x).sum())
    return xp.sqrt((x * x).sum(axis=tuple(range(1, x.ndim)), keepdims=True))


def adaptive_gradient_clipping(grad: Array, theta: Array, *, clipping: float = 1e-2, eps: float = 1e-3):
    r"""Unit-wise adaptive gradient clipping (Brock et al. 2021): the module docstring's formula."""
    xp = get_array_module(grad)
    w_norm = xp.maximum(unitwise_norm(theta), eps)              # max(||W_i||, eps)
    g_norm = unitwise_norm(grad)                                # ||G_i||
    max_norm = clipping * w_norm                                # lambda max(||W_i||, eps)
    safe = xp.where(g_norm > 0, g_norm, 1.0)
    return xp.where(g_norm > max_norm, grad * (max_norm / safe), grad)


def gradient_centralization(grad: Array):
    r""":math:`G_i - \operatorname{mean}(G_i)` per unit for ndim >= 2 (Yong et al. 2020); vectors unchanged."""
    if grad.ndim <= 1:
        return grad
    return grad - grad.mean(axis=tuple(range(1, grad.ndim)), keepdims=True)


def gradient_normalization(grad: Array, *, eps: float = 1e-8):
    r""":math:`G / (\operatorname{std}(G) + \epsilon)` for tensors of more than two elements."""
    if grad.size <= 2:
        return grad
    return grad / (grad.std(ddof=1) + eps)


def positive_negative_momentum(grad: Array, state: dict, *, beta1: float = 0.9, beta0: float = 1.0, t: int):
    r"""One step of positive-negative momentum (Xie et al. 2021).

    Args:
        grad: :math:`g_t`.
        state: ``exp_avg`` and ``neg_exp_avg``, the two buffers. On odd
            :math:`t` ``exp_avg`` is fed (it is :math:`m_t`) and
            ``neg_exp_avg`` is :math:`m_{t-1}`; on even :math:`t` the roles
            swap.
        beta1: :math:`\beta_1`. beta0: :math:`\beta_0` (1 in Ranger21).
        t: the step number, from 1.

    Returns:
        ``(m_bar, new_state, intermediates)``: :math:`\bar m_t`, the fed
        buffer under its name, and ``m`` (:math:`m_t`), ``m_neg``
        (:math:`m_{t-1}`), ``m_bar``.
    """
    fed, other = ("exp_avg", "neg_exp_avg") if t % 2 == 1 else ("neg_exp_avg", "exp_avg")
    m = beta1 ** 2 * state[fed] + (1 - beta1 ** 2) * grad                    # m_t
    m_neg = state[other]                                                    # m_{t-1}
    noise_norm = math.sqrt((1 + beta0) ** 2 + beta0 ** 2)
    m_bar = ((1 + beta0) * m - beta0 * m_neg) / noise_norm                  # m_bar_t
    return m_bar, {fed: m}, {"m": m, "m_neg": m_neg, "m_bar": m_bar}


def adamw_denominator(v: Array, *, beta2: float = 0.999, t: int, eps: float = 1e-8):
    r""":math:`\sqrt{v_t/(1-\beta_2^t)} + \epsilon`."""
    xp = get_array_module(v)
    return xp.sqrt(v / (1 - beta2 ** t)) + eps


def stable_weight_decay(theta: Array, *, lr: float, weight_decay: float, v_bar, eps: float = 1e-8):
    r""":math:`\theta(1 - \eta\lambda/\max(\sqrt{\bar v}, \epsilon))` (Xie et al., AdamS)."""
    if weight_decay == 0:
        return theta
    return theta * (1 - lr * weight_decay / max(math.sqrt(v_bar), eps))


def norm_loss(theta: Array, *, lr: float, factor: float, eps: float = 1e-8):
    r""":math:`W_i(1 - 2\eta\lambda_n(1 - 1/(\|W_i\| + \epsilon)))` per unit (Georgiou et al. 2021)."""
    if factor == 0:
        return theta
    correction = 2 * factor * (1 - 1 / (unitwise_norm(theta) + eps))
    return theta * (1 - lr * correction)
