r"""Ranger21 as pure functions: AdamW with eight components, in the paper's order.

Wright & Demeure (2021), "Ranger21: a synergistic deep learning optimizer",
arXiv:2106.13731. Each component, its formula and its own source are in
:mod:`optim.functional.transforms` (the schedule in
:mod:`optim.functional.schedules`, Lookahead in
:mod:`optim.functional.lookahead`); this module composes them as the paper describes
(its intent, not the quirks of the authors' code: there the gradient is
centralised and normalised twice, the PNM noise norm uses :math:`\beta_2`,
and the decay and norm loss reach only the last parameter of each group).
One step, :math:`t = 1, 2, \dots`:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1}) \\
    g_t &\leftarrow \operatorname{AGC}(g_t, \theta_{t-1})
        \quad(\text{adaptive gradient clipping, unit-wise}) \\
    g_t &\leftarrow g_t - \operatorname{mean}_{unit}(g_t)
        \quad(\text{gradient centralization}) \\
    g_t &\leftarrow g_t / (\operatorname{std}(g_t) + \epsilon)
        \quad(\text{gradient normalization}) \\
    m_t &\leftarrow \beta_1^2\, m_{t-2} + (1-\beta_1^2)\, g_t \\
    \bar m_t &\leftarrow \frac{(1+\beta_0)\, m_t - \beta_0\, m_{t-1}}{\sqrt{(1+\beta_0)^2+\beta_0^2}}
        \quad(\text{positive-negative momentum}) \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2,
        \qquad \hat v_t \leftarrow v_t / (1-\beta_2^t)
        \quad(v^{max}_t \text{ with AMSGrad}) \\
    \eta_t &\leftarrow \min\big(\eta\min(1, t/\tau),\ \eta^{warmdown}_t\big)
        \quad(\text{linear warmup, } \tau = \lceil 2/(1-\beta_2)\rceil;
        \text{ linear warmdown}) \\
    \theta &\leftarrow \theta_{t-1}\big(1 - \eta_t\lambda/\sqrt{\bar v_t}\big),
        \quad \bar v_t = \operatorname{mean}(\hat v_t)
        \quad(\text{stable weight decay}) \\
    \theta_i &\leftarrow \theta_i\big(1 - 2\eta_t\lambda_n(1 - 1/(\|\theta_i\| + \epsilon))\big)
        \quad(\text{norm loss, per unit}) \\
    \theta_t &\leftarrow \theta - \frac{\eta_t}{1-\beta_1^t}\cdot
        \frac{\bar m_t}{\sqrt{\hat v_t} + \epsilon}
        \quad(\text{AdamW-style step}) \\
    &\text{if } t \bmod k = 0:\ \phi \leftarrow \phi + \alpha(\theta_t - \phi),\ \theta_t \leftarrow \phi
        \quad(\text{Lookahead}, \phi_0 = \theta_0)

:math:`\bar v_t` is a mean over every coordinate of the model (all parameters
of all groups), so the optimizer computes it between two halves of the step:
:func:`ranger21_moments` (the first seven lines, per parameter), then
:func:`ranger21_update` (the rest) with :math:`\bar v_t`. :func:`ranger21`
runs both for one parameter on its own (a one-tensor model).

The bias correction of :math:`\bar m_t` is :math:`1 - \beta_1^t`, as in
AdaPNM. The warmup length defaults to Ma & Yarats' :math:`\lceil 2/(1-\beta_2)\rceil`
(:func:`optim.functional.schedules.untuned_warmup_steps`, the length
``LinearWarmupLR`` uses too); as in the authors' code, when that is more than
45% of the run it becomes 22% of the run.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from . import transforms as T
from .flags import amsgrad_max
from .lookahead import lookahead_sync
from .schedules import linear_warmdown, linear_warmup, untuned_warmup_steps

__all__ = ["ranger21", "ranger21_init", "ranger21_moments", "ranger21_update",
           "ranger21_lr", "ranger21_warmup_steps"]


def ranger21_init(theta: Array, *, amsgrad: bool = False, lookahead: bool = True) -> dict:
    r"""The state before the first step: zero moments, and the slow weights :math:`\phi_0 = \theta_0`."""
    xp = get_array_module(theta)
    state = {"step": 0, "exp_avg": xp.zeros_like(theta), "neg_exp_avg": xp.zeros_like(theta),
             "exp_avg_sq": xp.zeros_like(theta)}
    if amsgrad:
        state["max_exp_avg_sq"] = xp.zeros_like(theta)
    if lookahead:
        state["slow_param"] = theta.copy()
    return state


def ranger21_warmup_steps(beta2: float, num_iterations: int | None = None,
                          num_warmup_iterations: int | None = None):
    r"""The warmup length :math:`\tau`: given, or :math:`\lceil 2/(1-\beta_2)\rceil` (22% of a short run)."""
    if num_warmup_iterations is not None:
        return int(num_warmup_iterations)
    tau = untuned_warmup_steps(beta2)
    if num_iterations is not None and tau > 0.45 * num_iterations:
        tau = int(0.22 * num_iterations)
    return tau


def ranger21_lr(t: int, *, lr: float, warmup: int, num_iterations: int | None = None,
                warmdown_start: float = 0.72, warmdown_min_lr: float = 3e-5):
    r""":math:`\eta_t = \min(\eta\min(1, t/\tau), \eta^{warmdown}_t)`."""
    return min(lr * linear_warmup(t, warmup),
               linear_warmdown(t, lr=lr, num_iterations=num_iterations,
                               start=warmdown_start, min_lr=warmdown_min_lr))


def ranger21_moments(theta: Array, grad: Array, state: dict, *, beta1: float = 0.9, beta2: float = 0.999,
                     beta0: float = 1.0, agc_clipping: float = 1e-2, agc_eps: float = 1e-3,
                     centralize: bool = True, normalize: bool = True, normalize_eps: float = 1e-8,
                     amsgrad: bool = False) -> Update:
    r"""The first half of a step: the gradient transforms and the moments.

    Args:
        theta, grad: :math:`\theta_{t-1}`, :math:`\nabla f_t(\theta_{t-1})`.
        state: as :func:`ranger21_init` builds it.
        beta1, beta2: :math:`\beta_1, \beta_2`. beta0: PNM's :math:`\beta_0`.
        agc_clipping, agc_eps: AGC's :math:`\lambda, \epsilon` (``agc_clipping``
            None or 0: no clipping). centralize, normalize: switch those
            transforms. normalize_eps: the :math:`\epsilon` of the
            normalization. amsgrad: use :math:`v^{max}`.

    Returns:
        ``(moments, intermediates)``: ``moments`` holds ``t``, ``m_bar``,
        ``v_hat`` and ``state`` (the new moment buffers and ``step``);
        intermediates ``t``, ``g`` (after the transforms), ``m``,
        ``m_neg``, ``m_bar``, ``v``, ``v_max`` (AMSGrad), ``v_hat``.
    """
    t = state["step"] + 1
    g = grad
    if agc_clipping:
        g = T.adaptive_gradient_clipping(g, theta, clipping=agc_clipping, eps=agc_eps)
    if centralize:
        g = T.gradient_centralization(g)
    if normalize:
        g = T.gradient_normalization(g, eps=normalize_eps)
    m_bar, new_state, inter = T.positive_negative_momentum(g, state, beta1=beta1,
                                                           beta0=beta0, t=t)
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g          # v_t
    new_state.update(step=t, exp_avg_sq=v)
    intermediates = {"t": t, "g": g, **inter, "v": v}
    v_used = v
    if amsgrad:
        v_used = amsgrad_max(state["max_exp_avg_sq"], v)           # v_max_t
        new_state["max_exp_avg_sq"] = intermediates["v_max"] = v_used
    v_hat = v_used / (1 - beta2 ** t)                              # v_hat_t
    intermediates["v_hat"] = v_hat
    return {"t": t, "m_bar": m_bar, "v_hat": v_hat, "state": new_state}, intermediates


def ranger21_update(theta: Array, state: dict, moments: dict, *, v_bar, lr: float = 1e-3, beta1: float = 0.9,
                    eps: float = 1e-8, weight_decay: float = 1e-4, normloss_factor: float = 1e-4,
                    warmup: int = 0, num_iterations: int | None = None, warmdown_start: float = 0.72,
                    warmdown_min_lr: float = 3e-5, lookahead_k: int = 5, lookahead_alpha: float = 0.5):
    r"""The second half of a step: schedule, stable decay, norm loss, AdamW step, Lookahead.

    Args:
        theta: :math:`\theta_{t-1}`. state: the state before the step (for
            the slow weights). moments: what :func:`ranger21_moments`
            returned. v_bar: :math:`\bar v_t`, the mean of :math:`\hat v_t`
            over the whole model.
        lr: :math:`\eta`. beta1: :math:`\beta_1`. eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda` (stable weight decay).
        normloss_factor: :math:`\lambda_n`. warmup: :math:`\tau`.
        num_iterations: :math:`T` (None: no warmdown). warmdown_start:
            :math:`p`. warmdown_min_lr: :math:`\eta_{min}`. lookahead_k,
            lookahead_alpha: :math:`k, \alpha` (``lookahead_k`` 0: no Lookahead).

    Returns:
        ``(theta_new, new_state, intermediates)``; intermediates ``lr_t``,
        ``v_bar``, ``denom``, ``update`` (the AdamW step before the
        learning rate), ``synced`` (a Lookahead step happened).
    """
    t = moments["t"]
    new_state = dict(moments["state"])
    lr_t = ranger21_lr(t, lr=lr, warmup=warmup, num_iterations=num_iterations,
                       warmdown_start=warmdown_start, warmdown_min_lr=warmdown_min_lr)
    theta = T.stable_weight_decay(theta, lr=lr_t, weight_decay=weight_decay, v_bar=v_bar,
                                  eps=eps)                                   # stable decay
    theta = T.norm_loss(theta, lr=lr_t, factor=normloss_factor, eps=eps)     # norm loss
    denom = get_array_module(theta).sqrt(moments["v_hat"]) + eps            # sqrt(v_hat_t) + eps
    update = moments["m_bar"] / denom / (1 - beta1 ** t)
    theta = theta - lr_t * update                                            # AdamW-style step
    synced = bool(lookahead_k) and t % lookahead_k == 0
    if synced:
        theta, slow = lookahead_sync(theta, state["slow_param"], alpha=lookahead_alpha)
        new_state["slow_param"] = slow                                       # Lookahead
    return theta, new_state, {"lr_t": lr_t, "v_bar": v_bar, "denom": denom,
                              "update": update, "synced": synced}


def ranger21(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
             beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-4, v_bar: float | None = None,
             beta0: float = 1.0, agc_clipping: float = 1e-2, agc_eps: float = 1e-3, centralize: bool = True,
             normalize: bool = True, normalize_eps: float = 1e-8, amsgrad: bool = False,
             normloss_factor: float = 1e-4, warmup: int | None = None, num_iterations: int | None = None,
             warmdown_start: float = 0.72, warmdown_min_lr: float = 3e-5, lookahead_k: int = 5,
             lookahead_alpha: float = 0.5) -> Update:
    r"""One whole Ranger21 step on one parameter.

    ``v_bar`` defaults to the mean of this parameter's own :math:`\hat v_t`
    (right for a model made of this one tensor); ``warmup`` defaults to
    :func:`ranger21_warmup_steps`. The other arguments are those of
    :func:`ranger21_moments` and :func:`ranger21_update`. Returns
    ``(theta_new, new_state, intermediates)`` with the intermediates of both.
    """
    moments, inter = ranger21_moments(
        theta, grad, state, beta1=beta1, beta2=beta2, beta0=beta0, agc_clipping=agc_clipping,
        agc_eps=agc_eps, centralize=centralize, normalize=normalize,
        normalize_eps=normalize_eps, amsgrad=amsgrad)
    if v_bar is None:
        v_bar = float(moments["v_hat"].mean())
    if warmup is None:
        warmup = ranger21_warmup_steps(beta2, num_iterations)
    theta, new_state, inter2 = ranger21_update(
        theta, state, moments, v_bar=v_bar, lr=lr, beta1=beta1, eps=eps,
        weight_decay=weight_decay, normloss_factor=normloss_factor, warmup=warmup,
        num_iterations=num_iterations, warmdown_start=warmdown_start,
        warmdown_min_lr=warmdown_min_lr, lookahead_k=lookahead_k,
        lookahead_alpha=lookahead_alpha)
    inter.update(inter2)
    return theta, new_state, inter
