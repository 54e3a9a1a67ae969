"""``Function``: one node of the computation graph.

A Function does its arithmetic in ``forward`` on raw backend arrays (NumPy or
CuPy) and states its derivative in ``backward`` with *Tensor* operations. Because
``backward`` is itself made of recorded ops, differentiating it again is free:
``backward(create_graph=True)`` builds the graph of the gradient, which gives
second derivatives and Hessian-vector products.

Calling a Function instance runs forward and, when grad mode is on and an input
requires grad, links the outputs to the Function (``output.creator``) and the
Function to its inputs: that link is the graph that ``backward`` walks.
"""
from __future__ import annotations

import traceback
import weakref
from typing import NamedTuple

import numpy as np

from . import backend
from .errors import AnomalyError, DeviceError, GraphError, ShapeError
from .gc_policy import recorded as _recorded
from .grad_mode import state
from .tensor import Tensor, write_clock

_ndarray = np.ndarray


class InputLink(NamedTuple):
    """What ``Function.release`` keeps of one input: enough to draw the graph."""

    creator: "Function | None"   # the Function that produced the input; None for a leaf
    output_index: int            # which output of ``creator`` it was
    tensor: weakref.ref          # the input tensor while something else keeps it alive
    shape: tuple
    dtype: object
    requires_grad: bool
    name: "str | None"           # the tensor's ``.name``, a label for drawings


class Function:
    """Base class of every differentiable op.

    Subclasses implement::

        forward(self, *arrays)  -> array or tuple of arrays
        backward(self, *grads)  -> Tensor (or None) per input, as a tuple
                                   when there are several inputs

    Inside ``backward``, ``self.inputs`` are the input Tensors and
    ``self.output`` (``self.outputs_tensors()`` for several) the output Tensor.
    ``self.needs_input_grad[i]`` tells whether input ``i`` wants a gradient, so
    a backward can skip work nobody asked for.
    """

    #: the name used in error messages and graph drawings (default: class name)
    name: str | None = None

    inputs: list | None = None
    #: after release(): one InputLink per input (the graph's shape, no values)
    input_links: tuple | None = None
    outputs: list | None = None
    needs_input_grad: tuple = ()
    created_at: str | None = None

    #: The inputs whose *values* ``backward`` reads, by position; ``None`` means
    #: all of them (the safe default for new Functions). An input listed here that
    #: is modified in place between the forward and the backward makes the
    #: backward raise (see :meth:`check_versions`). Ops whose backward needs only
    #: shapes (add, reshape, indexing, ...) list none, as torch saves none.
    saved_inputs: tuple | None = None

    #: Whether ``backward`` reads the output's values (exp, tanh, softmax, ...):
    #: then an output written in place after the forward makes backward raise.
    #: True (the safe default) unless the op says otherwise.
    saves_output: bool = True

    #: For ops whose output is a view of input 0's memory: True when it always is
    #: (transpose, broadcast, split), "maybe" when it may be a copy (reshape,
    #: indexing). A view shares its input's version counter.
    view_op: bool | str = False

    #: the write clock when the graph was recorded (see ``tensor.write_clock``)
    _stamp: int = 0

    # ------------------------------------------------------------------ call
    def __call__(self, *inputs):
        try:
            needs = tuple([x._requires_grad for x in inputs])
        except AttributeError:  # an array or a number among the inputs
            inputs = _coerce_inputs(self, inputs)
            needs = tuple([x._requires_grad for x in inputs])
        xs = [x.data for x in inputs]
        if len(xs) > 1:
            for x in xs:     # all NumPy arrays (the common case) share the CPU
                if type(x) is not _ndarray:
                    _check_same_device(self, inputs)
                    break
        try:
            ys = self.forward(*xs)
        except ValueError as exc:  # numpy's broadcast/shape complaints
            shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
            raise ShapeError(f"{self.op_name}: {exc} (input shapes {shapes})") from None
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        outputs = [Tensor._make(y) for y in ys]
        if self.view_op:
            _share_versions(inputs[0], xs[0], outputs, self.view_op is True)

        if state.grad_enabled and True in needs:
            _recorded[0] += 1
            self._stamp = write_clock[0]
            self.inputs = list(inputs)
            self.needs_input_grad = needs
            self.outputs = [weakref.ref(o) for o in outputs]
            # The output *arrays* (not Tensors: no reference cycle) are kept so that
            # backward can use an output whose Tensor object was already dropped:
            # e.g. in (sqrt(x) * y).sum() the consumer Mul is released before
            # Sqrt's backward runs, or an unused output of split().
            self._output_arrays = ys
            for i, o in enumerate(outputs):
                o._requires_grad = True
                o.creator = self
                o._output_index = i
            if state.anomaly_enabled:
                self.created_at = _user_stack()
        # Ops run inside a backward are checked by the engine, which names the op
        # whose backward it is (not the Div or Mul that backward happens to use).
        if state.anomaly_enabled and state.backward_fn is None:
            check_finite(self, [o.data for o in outputs], "forward output", inputs)
        return outputs[0] if single else tuple(outputs)

    # -------------------------------------------------------- to override
    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    # ------------------------------------------------------------ helpers
    @property
    def op_name(self) -> str:
        return self.name or type(self).__name__

    @property
    def output(self):
        """The (single) output Tensor; alive whenever its gradient is needed."""
        return self.outputs_tensors()[0]

    def outputs_tensors(self):
        return [self._output_tensor(i) for i in range(len(self.outputs))]

    def _output_tensor(self, i):
        """Output ``i``; rebuilt from the kept array (same creator) if it was freed."""
        out = self.outputs[i]()
        if out is None:
            arrays = self.__dict__.get("_output_arrays")
            if arrays is None:
                raise freed_graph_error(self)
            out = Tensor._make(arrays[i], requires_grad=True)
            out.creator, out._output_index = self, i
        return out

    def saved_input_indices(self):
        """Positions of the inputs whose values ``backward`` reads (see ``saved_inputs``)."""
        if self.saved_inputs is None:
            return range(len(self.inputs))
        return self.saved_inputs

    def check_versions(self) -> None:
        """Raise if a tensor this backward needs was modified in place since the forward.

        Checked: the saved inputs (:attr:`saved_inputs`) and, for ops whose
        backward reads its output (:attr:`saves_output`), the outputs still alive.
        """
        stamp = self._stamp
        for i in self.saved_input_indices():
            vc = self.inputs[i]._vc
            if vc is not None and vc[0] > stamp:
                raise _modified_error(self, f"input {i}", self.inputs[i])
        if not self.saves_output:
            return
        for i, ref in enumerate(self.outputs):
            out = ref()
            if out is not None and out._vc is not None and out._vc[0] > stamp:
                raise _modified_error(self, f"output {i}", out)

    def release(self) -> None:
        """Drop the saved inputs after backward (``retain_graph=False``).

        The graph's shape outlives its values, as ``grad_fn.next_functions`` does in
        PyTorch: ``input_links`` keeps, per input, its producer Function (None for a
        leaf), its output index and a weak reference to the input tensor, so
        ``to_dot`` can still draw the graph. No array is kept.
        """
        if self.inputs is not None:
            self.input_links = tuple(
                InputLink(x.creator, x._output_index, weakref.ref(x), tuple(x.shape), x.dtype,
                          x._requires_grad, x.name) for x in self.inputs)
        self.inputs = None
        self.__dict__.pop("saved", None)
        self.__dict__.pop("_output_arrays", None)

    def __repr__(self) -> str:
        return f"<{self.op_name}>"


def _coerce_inputs(fn: Function, inputs) -> tuple:
    """The one rule for non-Tensor inputs: NumPy/CuPy arrays, numbers and lists
    become constant Tensors (as ``ndarray + Tensor`` does); anything else is a
    TypeError naming the op and the argument."""
    from .ops._convert import coerce

    return tuple(coerce(x, fn.op_name, f"input {i}") for i, x in enumerate(inputs))


def _share_versions(x: Tensor, array, outputs, always: bool) -> None:
    """Outputs that are views of ``x``'s memory share its version counter."""
    for o in outputs:
        data = o.data
        if not always and data is not array:
            base = data.base
            if base is None:            # owns its memory: a copy
                continue
            owner = array.base if array.base is not None else array
            if base is not owner and base is not array and \
                    not backend.get_array_module(array).may_share_memory(data, array):
                continue
        x._share_version(o)


def _modified_error(fn: Function, which: str, t: Tensor) -> GraphError:
    vc = t._vc
    label = f"{t.name!r}, " if t.name else ""
    where = f"\nThe op was created at:\n{fn.created_at}" if fn.created_at else ""
    return GraphError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {which} of {fn.op_name} ({label}a tensor of shape "
        f"{tuple(t.shape)}, {t.dtype}) was changed by {vc[2] or 'an in-place write'} "
        f"(now at version {vc[1]}) after {fn.op_name} used it in the forward pass. "
        "Compute the forward again after the change, or make the change out of place "
        "(y = x * 2 rather than x.mul_(2))." + where
    )


def _check_same_device(fn: Function, inputs) -> None:
    if len(inputs) < 2:
        return
    devices = {backend.device_of(x.data) for x in inputs}
    if len(devices) > 1:
        listed = " and ".join(f"{backend.device_of(x.data)}" for x in inputs)
        raise DeviceError(
            f"{fn.op_name}: expected all tensors on one device, got {listed}; "
            "move them with .to(device) first"
        )


def _user_stack(limit: int = 12) -> str:
    """The call stack where an op is created, minus minigrad's own frames at its end."""
    import os

    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frames = traceback.extract_stack()
    while frames and os.path.abspath(frames[-1].filename).startswith(here):
        frames.pop()
    return "".join(traceback.format_list(frames[-limit:]))


def check_finite(fn: Function, arrays, what: str, inputs=None) -> None:
    """Anomaly mode: raise if any array holds NaN or Inf."""
    inputs = fn.inputs if inputs is None else inputs
    for i, a in enumerate(arrays):
        if a is None or a.dtype.kind != "f":
            continue
        xp = backend.get_array_module(a)
        if not bool(xp.isfinite(a).all()):
            bad = "NaN" if bool(xp.isnan(a).any()) else "Inf"
            shapes = ", ".join(str(tuple(x.shape)) for x in (inputs or []))
            if fn.created_at:
                where = f"\nThe op was created at:\n{fn.created_at}"
            elif what != "forward output":
                where = ("\n(run the forward pass under detect_anomaly() too to see "
                         "where the op was created)")
            else:
                where = ""
            raise AnomalyError(
                f"{fn.op_name} produced {bad} in its {what} {i} "
                f"(shape {tuple(a.shape)}, dtype {a.dtype})"
                + (f"; input shapes {shapes}" if shapes else "")
                + where
            )


def freed_graph_error(fn: Function) -> GraphError:
    return GraphError(
        f"Trying to backward through the graph a second time (op {fn.op_name}): "
        "its saved values were freed by the first backward. Pass "
        "retain_graph=True to the first backward() if you need to backward twice."
    )
