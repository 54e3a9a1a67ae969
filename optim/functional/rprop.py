r"""Rprop (resilient backpropagation) as a pure function.

Riedmiller & Braun (1993), "A Direct Adaptive Method for Faster
Backpropagation Learning: The RPROP Algorithm"; the variant without
weight-backtracking that ``torch.optim.Rprop`` (PyTorch 2.13) implements is
iRprop- of Igel & Hüsken (2000), "Improving the Rprop Learning Algorithm".
Only the signs of the gradients are used; every coordinate has its own step
size :math:`\Delta`:

.. math::

    g_t &\leftarrow \nabla f_t(\theta_{t-1})
          \quad(\text{negated if maximize}) \\
    \Delta_t &\leftarrow \begin{cases}
        \min(\eta^+ \Delta_{t-1},\ \Delta_{max}) & g_t\, g_{t-1} > 0 \\
        \max(\eta^- \Delta_{t-1},\ \Delta_{min}) & g_t\, g_{t-1} < 0 \\
        \Delta_{t-1} & g_t\, g_{t-1} = 0 \end{cases} \\
    g_t &\leftarrow 0 \quad\text{where } g_t\, g_{t-1} < 0 \\
    \theta_t &\leftarrow \theta_{t-1} - \operatorname{sign}(g_t)\, \Delta_t

with :math:`\Delta_0 = \gamma` (``lr``), :math:`g_0 = 0` (``prev``),
:math:`(\eta^-, \eta^+)` = ``etas`` and :math:`(\Delta_{min}, \Delta_{max})`
= ``step_sizes``. (The clamp acts in every case, so a step size outside
:math:`[\Delta_{min}, \Delta_{max}]` is brought back into it.) Zeroing
:math:`g_t` after a sign change means the coordinate does not move at that
step and, since the product is then 0 at the next step, its step size is not
adapted there either.

The paper's algorithm (``backtracking=True``) instead *undoes* the previous
move of a coordinate whose gradient changed sign ("weight-backtracking"):

.. math::

    \Delta\theta_t &\leftarrow \begin{cases}
        -\Delta\theta_{t-1} & g_t\, g_{t-1} < 0 \quad(\text{and } g_t \leftarrow 0) \\
        -\operatorname{sign}(g_t)\, \Delta_t & \text{otherwise} \end{cases} \\
    \theta_t &\leftarrow \theta_{t-1} + \Delta\theta_t

keeping :math:`\Delta\theta` in the extra state ``prev_update``. The paper
starts from :math:`\Delta_0 = 0.1` (PyTorch's ``lr`` default is 0.01).
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient

__all__ = ["rprop", "rprop_init"]


def rprop_init(theta: Array, *, lr: float = 1e-2, backtracking: bool = False) -> dict:
    r"""The state before the first step: :math:`g_0 = 0`, :math:`\Delta_0 = \gamma`, ``step = 0``.

    With backtracking also ``prev_update`` :math:`\Delta\theta_0 = 0`.
    """
    xp = get_array_module(theta)
    state = {"step": 0, "prev": xp.zeros_like(theta), "step_size": xp.full_like(theta, lr)}
    if backtracking:
        state["prev_update"] = xp.zeros_like(theta)
    return state


def rprop(theta: Array, grad: Array, state: dict, *, lr: float = 1e-2, etaminus: float = 0.5,
          etaplus: float = 1.2, step_size_min: float = 1e-6, step_size_max: float = 50.0,
          maximize: bool = False, backtracking: bool = False) -> Update:
    r"""One Rprop step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and :math:`\nabla f_t(\theta_{t-1})`.
        state: ``step``, ``prev`` (:math:`g_{t-1}`, zeroed where the sign
            flipped), ``step_size`` (:math:`\Delta_{t-1}`), and
            ``prev_update`` (:math:`\Delta\theta_{t-1}`) with backtracking.
        lr: :math:`\gamma`, used only by :func:`rprop_init`.
        etaminus, etaplus: :math:`\eta^-, \eta^+`.
        step_size_min, step_size_max: :math:`\Delta_{min}, \Delta_{max}`.
        maximize: as in ``torch.optim.Rprop``.
        backtracking: the paper's weight-backtracking (default False, PyTorch).

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g`` (after zeroing), ``step_size`` (:math:`\Delta_t`) and
        ``update`` (the move :math:`\theta_t - \theta_{t-1}`). Inputs are not
        modified.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1                           # t <- t + 1
    g = signed_gradient(grad, maximize)             # g_t (negated to maximize)
    agreement = g * state["prev"]                   # g_t g_{t-1}
    same_sign = agreement > 0
    flipped = agreement < 0
    factor = xp.where(same_sign, etaplus, xp.where(flipped, etaminus, 1.0))   # eta+, eta- or 1
    factor = factor.astype(state["step_size"].dtype, copy=False)
    step_size = xp.clip(state["step_size"] * factor,
                        step_size_min, step_size_max)          # Delta_t
    g = xp.where(flipped, xp.zeros_like(g), g)      # g_t <- 0 where the sign flipped
    new_state = {"step": t, "prev": g, "step_size": step_size}
    if backtracking:
        prev_update = state.get("prev_update", xp.zeros_like(step_size))   # Delta theta_{t-1}
        update = xp.where(flipped, -prev_update,
                          -xp.sign(g) * step_size)              # Delta theta_t
        new_state["prev_update"] = update
        theta = theta + update                      # theta_t <- theta_{t-1} + Delta theta_t
    else:
        update = -xp.sign(g) * step_size            # -sign(g_t) Delta_t
        theta = theta - xp.sign(g) * step_size      # theta_t <- theta_{t-1} - sign(g_t) Delta_t
    return theta, new_state, {"t": t, "g": g, "step_size": step_size, "update": update}
