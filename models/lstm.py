r"""LSTM: one cell written twice (composed from ops, and fused), and the layer.

The cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
2000), in the form and gate order of ``torch.nn.LSTM``: for an input x_t and the
previous state (h_{t-1}, c_{t-1}),

.. math::

    i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})      && \text{input gate}\\
    f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})      && \text{forget gate}\\
    g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})       && \text{cell candidate}\\
    o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})      && \text{output gate}\\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
    h_t &= o_t \odot \tanh(c_t)

The four W_{i*} are stacked, in the order i, f, g, o, into ``weight_ih`` of
shape (4H, I), the W_{h*} into ``weight_hh`` (4H, H), the biases into
``bias_ih`` and ``bias_hh`` (4H,) each. So all four gates' pre-activations are
one product: ``gates = x W_ih^T + b_ih + h W_hh^T + b_hh``, shape (B, 4H), and
gate k is the column block ``gates[:, kH:(k+1)H]``.

Two implementations of one step, with one signature
``cell(xg, h, c, w_hh, mask=None) -> (h', c')``, where ``xg = x W_ih^T + b_ih + b_hh``
was computed beforehand (the layer does it for all time steps in one product):

* :func:`lstm_cell_composed`: the equations above written with minigrad ops.
  Readable, and twice differentiable (its backward is the engine's).
* :func:`lstm_cell_fused`: one op, :class:`LSTMCellFunction`, whose forward
  computes all gates with one matrix product and a few in-place array
  operations, and whose backward is written by hand on arrays (below). Faster
  (one graph node per step instead of ~15), but **once differentiable**: its
  backward is not recorded, so it raises when asked for ``create_graph=True``.

The layer :class:`LSTM` with ``cell="fused"`` does not call the fused cell T
times: :class:`LSTMLayerFunction` runs all T steps of a layer as one op, with
the same step formulas, and its backward forms the recurrent weight gradient
d W_hh = sum_t dgates_t^T h_{t-1} as one product over all steps (T*B rows)
instead of T small products and T accumulations of a 4H x H matrix.

Backward of the fused step, for upstream gradients dh' and dc' (all products
elementwise, σ' = σ(1 - σ), tanh' = 1 - tanh²)::

    dc  = dc' + dh' o tanh'(c')                 (total gradient at c')
    do  = dh' tanh(c')         -> d(pre_o) = do o (1 - o)
    di  = dc g                 -> d(pre_i) = di i (1 - i)
    df  = dc c_prev            -> d(pre_f) = df f (1 - f)
    dg  = dc i                 -> d(pre_g) = dg (1 - g²)
    dgates = [d(pre_i), d(pre_f), d(pre_g), d(pre_o)]          (B, 4H)
    d xg     = dgates
    d h_prev = dgates W_hh
    d c_prev = dc f
    d W_hh   = dgates^T h_prev

Variable lengths: with a boolean ``mask`` of shape (B, 1), rows where it is
False keep their state: h' = h and c' = c there (and the gradient passes
straight through to h and c).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad.functional as F
from minigrad import backend, nn
from minigrad.errors import GraphError, ShapeError
from minigrad.function import Function
from minigrad.grad_mode import state as _grad_state
from minigrad.nn import init
from minigrad.ops import host_array, matmul, on_device, sigmoid, split, stack_steps, tanh, transpose, unbind, where
from minigrad.tensor import Tensor

from ._ops import sigmoid_

__all__ = ["lstm_cell_composed", "lstm_cell_fused", "LSTMCellFunction", "LSTMLayerFunction",
           "lstm_layer_fused", "LSTMCell", "LSTM", "CELLS"]


# ---------------------------------------------------------------- the two cells
def lstm_cell_composed(xg, h, c, w_hh, mask=None):
    """One LSTM step from minigrad ops (twice differentiable).

    ``xg``: (B, 4H) input part of the gates, ``x W_ih^T + b_ih + b_hh``;
    ``h``, ``c``: (B, H); ``w_hh``: (4H, H); ``mask``: None or a boolean
    array/Tensor of shape (B, 1), False where the state must not change.
    """
    hidden = h.shape[-1]
    gates = xg + matmul(h, transpose(w_hh))
    i, f, g, o = split(gates, hidden, dim=-1)
    i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    c_new = f * c + i * g
    h_new = o * tanh(c_new)
    if mask is not None:
        h_new = where(mask, h_new, h)
        c_new = where(mask, c_new, c)
    return h_new, c_new


class LSTMCellFunction(Function):
    """One fused LSTM step: inputs ``(xg, h, c, w_hh)``, outputs ``(h', c')``.

    Forward on arrays: one matrix product for the four gates, activations in
    place on column blocks of it. Backward on arrays by the formulas in the
    module docstring; it is not recorded, so this op is once differentiable
    (``create_graph=True`` raises; use the composed cell for higher derivatives).
    """

    name = "LSTMCellFused"

    def __init__(self, mask=None):
        self.mask = mask  # backend bool array (B, 1) or None

    def forward(self, xg, h, c, w_hh):
        xp = backend.get_array_module(xg)
        H = h.shape[-1]
        if xg.shape != h.shape[:-1] + (4 * H,) or w_hh.shape != (4 * H, H) \
                or c.shape != h.shape:
            raise ShapeError(
                f"LSTMCellFused: expected xg (B, 4H), h and c (B, H), w_hh (4H, H); got "
                f"xg {xg.shape}, h {h.shape}, c {c.shape}, w_hh {w_hh.shape}")
        gates = h @ w_hh.T
        gates += xg
        sigmoid_(gates[..., :2 * H])          # i, f
        xp.tanh(gates[..., 2 * H:3 * H], out=gates[..., 2 * H:3 * H])   # g
        sigmoid_(gates[..., 3 * H:])          # o
        i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
        c_new = f * c
        c_new += i * g
        tc = xp.tanh(c_new)
        h_new = o * tc
        self.saved = (gates, tc)
        if self.mask is not None:
            h_new = xp.where(self.mask, h_new, h)
            c_new = xp.where(self.mask, c_new, c)
        return h_new, c_new

    def backward(self, gh, gc):
        if _grad_state.grad_enabled:
            raise GraphError(
                "LSTMCellFused is once differentiable (its backward works on arrays): "
                "build the model with cell='composed' for create_graph=True")
        xg, h, c, w_hh = self.inputs
        gates, tc = self.saved
        H = h.shape[-1]
        xp = backend.get_array_module(gates)
        gh, gc = gh.data, gc.data
        i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
        mask = self.mask
        if mask is not None:                 # frozen rows: the gradient skips the step
            gh_pass, gc_pass = xp.where(mask, 0, gh), xp.where(mask, 0, gc)
            gh, gc = xp.where(mask, gh, 0), xp.where(mask, gc, 0)
        dc = gh * o
        dc *= 1 - tc * tc
        dc += gc
        dgates = xp.empty_like(gates)
        d_i, d_f, d_g, d_o = (dgates[..., k * H:(k + 1) * H] for k in range(4))
        xp.multiply(dc, g, out=d_i)
        d_i *= i * (1 - i)
        xp.multiply(dc, c.data, out=d_f)
        d_f *= f * (1 - f)
        xp.multiply(dc, i, out=d_g)
        d_g *= 1 - g * g
        xp.multiply(gh, tc, out=d_o)
        d_o *= o * (1 - o)
        need = self.needs_input_grad
        dh = dc_prev = dw = None
        if need[1]:
            dh = dgates @ w_hh.data
            if mask is not None:
                dh += gh_pass
        if need[2]:
            dc_prev = dc * f
            if mask is not None:
                dc_prev += gc_pass
        if need[3]:
            dw = dgates.T @ h.data
        return tuple(None if a is None else Tensor._make(a)
                     for a in (dgates if need[0] else None, dh, dc_prev, dw))


def lstm_cell_fused(xg, h, c, w_hh, mask=None):
    """One LSTM step as a single op (see :class:`LSTMCellFunction`)."""
    if mask is not None and isinstance(mask, Tensor):
        mask = mask.data
    return LSTMCellFunction(mask)(xg, h, c, w_hh)


# ------------------------------------------------------------ the fused layer
class LSTMLayerFunction(Function):
    """All T steps of one fused LSTM layer as one op.

    Inputs ``(xg, h0, c0, w_hh[, bias])``: ``xg`` (T, B, 4H) the input half of the
    gates for every step, ``h0``, ``c0`` (B, H), ``w_hh`` (4H, H), and optionally
    ``bias`` (4H,), added to every step's gates here rather than to all of ``xg``
    beforehand (which would be one more pass over a (T, B, 4H) array). Outputs
    ``(output, h_n, c_n)``: ``output`` (T, B, H) the state h_t of every step
    (zero at invalid positions when ``zero_invalid``), ``h_n``, ``c_n`` (B, H)
    the states after the last step.

    The forward runs the recurrence of the module docstring on arrays, step by
    step, into preallocated buffers: ``hs`` and ``cs`` of shape (T+1, B, H) hold
    (h_0, ..., h_T) and (c_0, ..., c_T), ``gates`` (T, B, 4H) the activated gates,
    ``tcs`` (T, B, H) the tanh(c_t). The backward runs back through time on
    arrays with the per-step formulas of the module docstring, keeping every
    step's dgates in one (T, B, 4H) array; the weight gradient is then one
    product over all steps instead of T small ones::

        d W_hh = dgates.reshape(T*B, 4H)^T  hs[:-1].reshape(T*B, H)

    and d xg is that same dgates array (d bias its sum over steps and rows). Like
    the fused cell it is once differentiable: ``create_graph=True`` raises.

    Two savings in the step itself: the four activations are one ``tanh`` over
    the whole (B, 4H) block, since sigma(x) = tanh(x/2)/2 + 1/2 (the i, f, o
    columns are scaled by 1/2 before and after, then shifted by 1/2; scaling by
    a power of two is exact, so this is the same arithmetic as the fused cell);
    and the backward takes the four derivatives from the gate values y in one
    pass, y (a - y) + b with (a, b) = (1, 0) for sigma' = y (1 - y) and (0, 1)
    for tanh' = 1 - y^2.

    ``output`` and ``h_n`` are views of the saved buffer ``hs`` (no copy);
    writing into them in place makes the backward raise, as for any op that
    reads its outputs.

    ``valid``: None (every position valid) or a backend bool array (T, B, 1),
    True where the sequence has not ended. At invalid positions the state is
    carried unchanged (h_t = h_{t-1}, c_t = c_{t-1}), so the gradient passes
    straight through the step there, exactly as the masked cell does.
    """

    name = "LSTMLayerFused"
    saved_inputs = (3,)            # the backward reads w_hh; h0 and c0 are kept in hs, cs

    def __init__(self, valid=None, frozen_steps=None, zero_invalid=False):
        self.valid = valid                      # (T, B, 1) bool or None
        self.frozen_steps = frozen_steps or {}  # {t: (B, 1) bool, True on frozen rows}
        self.zero_invalid = zero_invalid and valid is not None

    def forward(self, xg, h0, c0, w_hh, bias=None):
        xp = backend.get_array_module(xg)
        H = h0.shape[-1]
        if xg.ndim != 3 or h0.ndim != 2 or xg.shape[1:] != (h0.shape[0], 4 * H) \
                or w_hh.shape != (4 * H, H) or c0.shape != h0.shape \
                or (bias is not None and bias.shape != (4 * H,)):
            raise ShapeError(
                f"LSTMLayerFused: expected xg (T, B, 4H), h0 and c0 (B, H), w_hh (4H, H), "
                f"bias (4H,); got xg {xg.shape}, h0 {h0.shape}, c0 {c0.shape}, "
                f"w_hh {w_hh.shape}, bias {None if bias is None else bias.shape}")
        T, B = xg.shape[:2]
        dtype = xg.dtype
        hs = xp.empty((T + 1, B, H), dtype=dtype)
        cs = xp.empty((T + 1, B, H), dtype=dtype)
        tcs = xp.empty((T, B, H), dtype=dtype)
        gates = xp.empty((T, B, 4 * H), dtype=dtype)
        hs[0], cs[0] = h0, c0
        # all four activations in one tanh over the (B, 4H) block:
        # sigma(x) = tanh(x/2)/2 + 1/2 on the i, f, o columns, tanh(x) on the g columns
        scale, shift = _gate_constants(H, dtype, xp)
        w_t = xp.ascontiguousarray(w_hh.T)    # (H, 4H): the faster layout for the product
        frozen = self.frozen_steps
        for t in range(T):
            gt = gates[t]
            xp.matmul(hs[t], w_t, out=gt)
            gt += xg[t]
            if bias is not None:
                gt += bias
            gt *= scale
            xp.tanh(gt, out=gt)
            gt *= scale
            gt += shift
            i, f, g, o = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
            c, tc = cs[t + 1], tcs[t]
            xp.multiply(f, cs[t], out=c)
            xp.multiply(i, g, out=tc)          # tc as scratch
            c += tc
            xp.tanh(c, out=tc)
            xp.multiply(o, tc, out=hs[t + 1])
            if t in frozen:                    # frozen rows keep their state
                hs[t + 1] = xp.where(frozen[t], hs[t], hs[t + 1])
                cs[t + 1] = xp.where(frozen[t], cs[t], c)
        self.saved = (gates, hs, cs, tcs)
        out = hs[1:]
        if self.zero_invalid:
            out = xp.where(self.valid, out, dtype.type(0))
        return out, hs[T], cs[T]

    def backward(self, g_out, g_hn, g_cn):
        if _grad_state.grad_enabled:
            raise GraphError(
                "LSTMLayerFused is once differentiable (its backward works on arrays): "
                "build the model with cell='composed' for create_graph=True")
        w_hh = self.inputs[3].data
        gates, hs, cs, tcs = self.saved
        xp = backend.get_array_module(gates)
        T, B, G = gates.shape
        H = G // 4
        zero = gates.dtype.type(0)
        g_out = g_out.data
        if self.zero_invalid:                  # the output was zeroed there
            g_out = xp.where(self.valid, g_out, zero)
        need = self.needs_input_grad
        # the activations' derivatives from their values y, for all four gates at once:
        # sigma' = y (1 - y) on i, f, o and tanh' = 1 - y^2 on g, i.e. y (a - y) + b
        a, b = _derivative_constants(H, gates.dtype, xp)
        dgates = xp.empty_like(gates)
        der = xp.empty((B, G), dtype=gates.dtype)
        dh = g_hn.data + g_out[T - 1]          # the gradients at h_t and at c_t
        dc = g_cn.data.copy()
        dh_next = xp.empty_like(dh)            # the product's target, swapped with dh
        dct = xp.empty_like(dc)
        frozen = self.frozen_steps
        for t in range(T - 1, -1, -1):
            gt, dg, tc = gates[t], dgates[t], tcs[t]
            i, f, g, o = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
            mask = frozen.get(t)
            if mask is not None:               # frozen rows: the gradient skips the step
                dh_pass, dc_pass = xp.where(mask, dh, zero), xp.where(mask, dc, zero)
                dh, dc = xp.where(mask, zero, dh), xp.where(mask, zero, dc)
            # dc_t = dc + dh o (1 - tanh(c_t)^2)
            xp.multiply(tc, tc, out=dct)
            xp.subtract(1, dct, out=dct)
            dct *= o
            dct *= dh
            dct += dc
            # the gradients at the activations' outputs, then times their derivatives
            xp.multiply(dct, g, out=dg[:, :H])              # at i: dc_t g
            xp.multiply(dct, cs[t], out=dg[:, H:2 * H])     # at f: dc_t c_{t-1}
            xp.multiply(dct, i, out=dg[:, 2 * H:3 * H])     # at g: dc_t i
            xp.multiply(dh, tc, out=dg[:, 3 * H:])          # at o: dh tanh(c_t)
            xp.subtract(a, gt, out=der)
            der *= gt
            der += b
            dg *= der
            # to step t-1: dh = dgates W_hh (+ g_out[t-1]), dc = dc_t f
            xp.multiply(dct, f, out=dc)
            if t > 0 or need[1]:
                xp.matmul(dg, w_hh, out=dh_next)
                dh, dh_next = dh_next, dh
            if mask is not None:
                dh += dh_pass
                dc += dc_pass
            if t > 0:
                dh += g_out[t - 1]
        d_w = None
        if need[3]:
            d_w = dgates.reshape(T * B, G).T @ hs[:-1].reshape(T * B, H)
        grads = [dgates if need[0] else None, dh if need[1] else None,
                 dc if need[2] else None, d_w]
        if len(need) == 5:                     # the bias
            grads.append(dgates.reshape(T * B, G).sum(axis=0) if need[4] else None)
        return tuple(None if x is None else Tensor._make(x) for x in grads)


def _gate_constants(H, dtype, xp):
    """(scale, shift), each (4H,): 1/2 and 1/2 on the i, f, o columns, 1 and 0 on g."""
    scale = np.full(4 * H, 0.5, dtype=dtype)
    scale[2 * H:3 * H] = 1
    shift = np.full(4 * H, 0.5, dtype=dtype)
    shift[2 * H:3 * H] = 0
    return xp.asarray(scale), xp.asarray(shift)


def _derivative_constants(H, dtype, xp):
    """(a, b), each (4H,): y (a - y) + b is sigma' (a=1, b=0) or tanh' (a=0, b=1)."""
    a = np.ones(4 * H, dtype=dtype)
    a[2 * H:3 * H] = 0
    return xp.asarray(a), xp.asarray(1 - a)


def lstm_layer_fused(xg, h0, c0, w_hh, bias=None, valid=None, zero_invalid=False):
    """One fused LSTM layer over all steps (see :class:`LSTMLayerFunction`).

    ``bias``: None or (4H,), added to every step's gates; ``valid``: None or a
    boolean (T, B) host array, True at valid positions; ``zero_invalid``: zero
    the output there. Returns ``(output, h_n, c_n)``.
    """
    frozen, valid_dev = {}, None
    if valid is not None and not valid.all():
        frozen = {t: on_device(~row[:, None], xg) for t, row in enumerate(valid) if not row.all()}
        valid_dev = on_device(valid[:, :, None], xg)
    inputs = (xg, h0, c0, w_hh) if bias is None else (xg, h0, c0, w_hh, bias)
    return LSTMLayerFunction(valid_dev, frozen, zero_invalid)(*inputs)


CELLS = {"fused": lstm_cell_fused, "composed": lstm_cell_composed}


def _check_cell(cell):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
    return cell


def _param(shape, dtype, device):
    from minigrad.factories import empty

    return nn.Parameter(empty(*shape, dtype=dtype, device=device or "cpu"))


def _input_gates(x, w_ih, b_ih, b_hh):
    """x W_ih^T + b_ih + b_hh: the input half of every gate, for all rows of x at once."""
    bias = None if b_ih is None else b_ih + b_hh
    return F.linear(x, w_ih, bias)


# ------------------------------------------------------------------- modules
class LSTMCell(nn.Module):
    """One LSTM step as a Module, like ``torch.nn.LSTMCell``.

    Parameters (PyTorch's names and shapes; gate order i, f, g, o):
    ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh``
    (4H,), all drawn from U(-1/sqrt(H), 1/sqrt(H)).

    ``forward(input, hx=None) -> (h', c')`` with ``input`` (B, I) and
    ``hx = (h, c)``, each (B, H) (zeros when omitted). ``cell`` picks the
    implementation: ``"composed"`` (default here: readable, twice
    differentiable) or ``"fused"``.
    """

    def __init__(self, input_size, hidden_size, bias=True, cell="composed", device=None,
                 dtype=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.cell = _check_cell(cell)
        H = hidden_size
        self.weight_ih = _param((4 * H, input_size), dtype, device)
        self.weight_hh = _param((4 * H, H), dtype, device)
        if bias:
            self.bias_ih = _param((4 * H,), dtype, device)
            self.bias_hh = _param((4 * H,), dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):  # noqa: A002  (torch's argument name)
        if hx is None:
            from minigrad.factories import zeros

            h = zeros(input.shape[:-1] + (self.hidden_size,), dtype=input.dtype,
                      device=input.device)
            hx = (h, h)
        xg = _input_gates(input, self.weight_ih, self.bias_ih, self.bias_hh)
        return CELLS[self.cell](xg, hx[0], hx[1], self.weight_hh)

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}, "
                f"cell={self.cell!r}")


class LSTM(nn.Module):
    """A multi-layer LSTM over whole sequences, like ``torch.nn.LSTM``.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, cell="fused")``.

    Parameters of layer k (PyTorch's names and shapes): ``weight_ih_l{k}``
    (4H, I) for k = 0 and (4H, H) above, ``weight_hh_l{k}`` (4H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (4H,); gate order i, f, g, o; all drawn
    from U(-1/sqrt(H), 1/sqrt(H)), as torch does. ``dropout`` is applied to the
    output of every layer but the last, in training mode.

    ``forward(input, hx=None, lengths=None, mask=None) -> (output, (h_n, c_n))``:

    * ``input``: (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched;
    * ``hx = (h_0, c_0)``, each (num_layers, B, H); zeros when omitted;
    * ``output``: the last layer's h_t for every t, (T, B, H) (or (B, T, H));
    * ``h_n``, ``c_n``: each layer's final state, (num_layers, B, H).

    Variable lengths: ``lengths`` (B integers in 1..T) or a boolean ``mask`` of
    the input's (T, B) (or (B, T)) shape, True at valid positions. At invalid
    positions a sequence's state is not updated and its output is zero, so
    ``h_n``/``c_n`` are the states at each sequence's last valid step: what
    ``torch.nn.utils.rnn.pack_padded_sequence`` gives.

    Each layer computes the input half of the gates for all T steps in one
    matrix product, (T*B, I) x (I, 4H), then runs the recurrence; ``cell``
    picks how: ``"fused"`` (default, fast, once differentiable) runs the whole
    layer as one op, :class:`LSTMLayerFunction`; ``"composed"`` (from ops, twice
    differentiable) runs :func:`lstm_cell_composed` T times.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, cell="fused", device=None, dtype=None):
        super().__init__()
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout should be a number in [0, 1], got {dropout}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias = num_layers, bias
        self.batch_first, self.dropout = batch_first, dropout
        self.cell = _check_cell(cell)
        H = hidden_size
        for k in range(num_layers):
            fan_in = input_size if k == 0 else H
            setattr(self, f"weight_ih_l{k}", _param((4 * H, fan_in), dtype, device))
            setattr(self, f"weight_hh_l{k}", _param((4 * H, H), dtype, device))
            if bias:
                setattr(self, f"bias_ih_l{k}", _param((4 * H,), dtype, device))
                setattr(self, f"bias_hh_l{k}", _param((4 * H,), dtype, device))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def layer_parameters(self, k):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer k (biases None without bias)."""
        get = self._parameters.get
        return (get(f"weight_ih_l{k}"), get(f"weight_hh_l{k}"), get(f"bias_ih_l{k}"),
                get(f"bias_hh_l{k}"))

    def forward(self, input, hx=None, lengths=None, mask=None):  # noqa: A002
        x = input
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape((x.shape[0], 1, x.shape[1]))
            if hx is not None:
                hx = tuple(s.reshape((s.shape[0], 1, s.shape[1])) for s in hx)
        elif x.ndim != 3:
            raise ShapeError(f"LSTM: expected input of 2 or 3 dimensions, got shape {x.shape}")
        elif self.batch_first:
            x = transpose(x, 0, 1)
        T, B, _ = x.shape
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"LSTM: input has {x.shape[-1]} features, expected "
                             f"{self.input_size} (input shape {input.shape})")
        fused = _check_cell(self.cell) == "fused"
        valid = self._valid(lengths, mask, T, B, unbatched)
        step_masks, out_mask = [None] * T, None
        if valid is not None and not fused:
            step_masks = [None if row.all() else on_device(row[:, None], x) for row in valid]
            out_mask = on_device(valid[:, :, None], x)
        h0, c0 = self._initial_states(hx, B, x)
        H = self.hidden_size
        h_n, c_n = [], []
        layer_input = x
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self.layer_parameters(k)
            # the input half of the gates for all T steps in one matrix product
            rows = layer_input.reshape((T * B, layer_input.shape[-1]))
            if fused:                       # the op adds the biases step by step
                bias = None if b_ih is None else b_ih + b_hh
                xg = F.linear(rows, w_ih).reshape((T, B, 4 * H))
                layer_output, h, c = lstm_layer_fused(xg, h0[k], c0[k], w_hh, bias, valid,
                                                      zero_invalid=True)
            else:
                xg = _input_gates(rows, w_ih, b_ih, b_hh).reshape((T, B, 4 * H))
                h, c = h0[k], c0[k]
                outputs = []
                for t, xg_t in enumerate(unbind(xg)):
                    h, c = lstm_cell_composed(xg_t, h, c, w_hh, step_masks[t])
                    outputs.append(h)
                layer_output = stack_steps(outputs)
                if out_mask is not None:
                    layer_output = where(out_mask, layer_output, 0.0)
            h_n.append(h)
            c_n.append(c)
            if k < self.num_layers - 1 and self.dropout > 0 and self.training:
                layer_output = F.dropout(layer_output, self.dropout, True)
            layer_input = layer_output
        output = layer_input
        h_n, c_n = stack_steps(h_n), stack_steps(c_n)
        if unbatched:
            return (output.reshape((T, H)),
                    (h_n.reshape((self.num_layers, H)), c_n.reshape((self.num_layers, H))))
        if self.batch_first:
            output = transpose(output, 0, 1)
        return output, (h_n, c_n)

    # ------------------------------------------------------------ helpers
    def _initial_states(self, hx, B, x):
        shape = (self.num_layers, B, self.hidden_size)
        if hx is None:
            xp = backend.get_array_module(x.data)
            zero = Tensor._make(xp.zeros((B, self.hidden_size), dtype=x.dtype))
            return [zero] * self.num_layers, [zero] * self.num_layers
        h0, c0 = hx
        for name, s in (("h_0", h0), ("c_0", c0)):
            if s.shape != shape:
                raise ShapeError(f"LSTM: expected {name} of shape {shape}, got {s.shape}")
        return unbind(h0), unbind(c0)

    def _valid(self, lengths, mask, T, B, unbatched):
        """The (T, B) host bool array of valid positions, or None when all are valid."""
        if lengths is not None and mask is not None:
            raise ValueError("LSTM: pass lengths or mask, not both")
        if lengths is None and mask is None:
            return None
        if lengths is not None:
            lengths = host_array(lengths).reshape(-1)
            if lengths.shape != (B,) or lengths.dtype.kind not in "iu":
                raise ValueError(f"LSTM: lengths must be {B} integers, got {lengths!r}")
            if lengths.min() < 1 or lengths.max() > T:
                raise ValueError(f"LSTM: lengths must lie in [1, {T}], got {lengths.tolist()}")
            valid = np.arange(T)[:, None] < lengths[None, :]
        else:
            valid = host_array(mask, bool)
            if unbatched:
                valid = valid.reshape(T, 1)
            elif self.batch_first:
                valid = valid.T
            if valid.shape != (T, B):
                raise ShapeError(f"LSTM: mask of shape {host_array(mask).shape} does not "
                                 f"fit an input of {T} steps and batch {B}")
        return None if valid.all() else valid

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text + f", cell={self.cell!r}"
