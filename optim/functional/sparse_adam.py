r"""SparseAdam: Adam that touches only the rows a gradient has.

PyTorch 2.13's ``torch.optim.SparseAdam`` (for embedding tables, where a batch
has gradients for a few rows only). minigrad has no sparse tensors, so a
gradient is dense and **a row whose gradient is entirely zero counts as
absent** (the rows of ``nn.Embedding`` that a batch did not use); a row with
any nonzero entry is present, every entry of it. Rows are along the first
axis (a 1-d parameter: its entries; a 0-d one: present unless zero). With
:math:`S` the present rows, and PyTorch's efficient bias correction
(:math:`\epsilon` added to :math:`\sqrt{v}`, not :math:`\sqrt{\hat v}`):

.. math::

    t &\leftarrow t + 1 \quad(\text{every step that has a gradient}) \\
    m_t[S] &\leftarrow \beta_1 m_{t-1}[S] + (1-\beta_1)\, g_t[S] \\
    v_t[S] &\leftarrow \beta_2 v_{t-1}[S] + (1-\beta_2)\, g_t[S]^2 \\
    \theta_t[S] &\leftarrow \theta_{t-1}[S]
        - \frac{\gamma\sqrt{1-\beta_2^t}}{1-\beta_1^t}\, \frac{m_t[S]}{\sqrt{v_t[S]} + \epsilon}

and the other rows of :math:`\theta`, :math:`m`, :math:`v` stay as they are
(their moments do not decay: the "lazy" Adam). A dense gradient without zero
rows gives Adam with the efficient bias correction.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..types import Array, Update
from .flags import signed_gradient

__all__ = ["sparse_adam", "sparse_adam_init", "present_rows"]


def present_rows(grad: Array):
    """The mask of present rows, broadcastable against ``grad``: rows (axis 0) with a nonzero entry."""
    xp = get_array_module(grad)
    if grad.ndim <= 1:
        return grad != 0
    rows = xp.any(grad.reshape(grad.shape[0], -1) != 0, axis=1)
    return rows.reshape((-1,) + (1,) * (grad.ndim - 1))


def sparse_adam_init(theta: Array) -> dict:
    r"""The state before the first step: ``step = 0``, :math:`m_0 = v_0 = 0`."""
    xp = get_array_module(theta)
    return {"step": 0, "exp_avg": xp.zeros_like(theta), "exp_avg_sq": xp.zeros_like(theta)}


def sparse_adam(theta: Array, grad: Array, state: dict, *, lr: float = 1e-3, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8, maximize: bool = False) -> Update:
    r"""One SparseAdam step on one parameter (the formula of the module docstring).

    Args:
        theta, grad: :math:`\theta_{t-1}` and the (dense) gradient; its zero rows are absent.
        state: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
        lr: :math:`\gamma`. beta1, beta2: :math:`\beta_1, \beta_2`. eps: :math:`\epsilon`.

    Returns:
        ``(theta_new, new_state, intermediates)`` with intermediates ``t``,
        ``g``, ``rows`` (the mask of present rows), ``m``, ``v``, ``alpha_t``.
    """
    xp = get_array_module(theta)
    t = state["step"] + 1
    g = signed_gradient(grad, maximize)
    rows = xp.broadcast_to(present_rows(g), g.shape)                              # S
    m = xp.where(rows, beta1 * state["exp_avg"] + (1 - beta1) * g, state["exp_avg"])            # m_t[S]
    v = xp.where(rows, beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g, state["exp_avg_sq"])  # v_t[S]
    alpha_t = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
    theta = xp.where(rows, theta - alpha_t * m / (xp.sqrt(v) + eps), theta)     # theta_t[S]
    return theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {"t": t, "g": g, "rows": rows, "m": m, "v": v,
                                                                "alpha_t": alpha_t}
