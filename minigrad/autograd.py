"""The reverse-mode engine: walk the graph backwards, summing gradients.

Algorithm (the chain rule applied once per graph node):

1. Sort the Functions reachable from the outputs so that every Function comes
   before the Functions that produced its inputs (a topological order). The sort
   uses an explicit stack, so a 10,000-op chain needs no deep recursion.
2. Seed each output with its gradient (1 for a scalar loss).
3. Visit Functions in that order. When a Function is reached, every consumer of
   its outputs has already been visited, so the gradients of its outputs are
   complete sums; its ``backward`` turns them into gradients of its inputs,
   which are added to whatever those inputs had received so far.

Leaves (tensors created by the user with ``requires_grad=True``) *accumulate*
into ``.grad`` across calls, as in PyTorch: call ``zero_grad()`` (or set
``.grad = None``) between steps. Unless ``retain_graph=True``, each Function
drops its saved inputs once used, so a second backward through the same graph
raises :class:`~minigrad.errors.GraphError`.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

from . import backend
from .errors import GraphError
from .function import check_finite, freed_graph_error
from .grad_mode import set_grad_enabled, state
from .tensor import Tensor, write_clock


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def topological_order(roots):
    """Functions reachable from ``roots``, each before the producers of its inputs."""
    order, visited = [], set()
    for root in roots:
        if root in visited:
            continue
        stack = [(root, False)]
        while stack:
            fn, expanded = stack.pop()
            if expanded:
                order.append(fn)
                continue
            if fn in visited:
                continue
            visited.add(fn)
            if fn.inputs is None:
                raise freed_graph_error(fn)
            stack.append((fn, True))
            for x in fn.inputs:
                producer = x.creator
                if producer is not None and producer not in visited:
                    stack.append((producer, False))
    order.reverse()
    return order


def _initial_grads(outputs, grad_outputs):
    grads = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise ValueError(
            f"got {len(grads)} grad_outputs for {len(outputs)} outputs"
        )
    seeded = []
    for i, (y, g) in enumerate(zip(outputs, grads)):
        if not y.requires_grad:
            raise GraphError(
                f"element {i} of the outputs does not require grad and has no "
                "graph: nothing to differentiate (did you forget requires_grad=True, "
                "or compute it under no_grad()?)"
            )
        if g is None:
            if y.data.size != 1:
                raise GraphError(
                    f"grad can be implicitly created only for scalar outputs; got an "
                    f"output of shape {tuple(y.shape)}: pass a gradient of that shape"
                )
            xp = backend.get_array_module(y.data)
            g = Tensor._make(xp.ones_like(y.data))
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=y.dtype, device=y.device)
        if tuple(g.shape) != tuple(y.shape):
            raise GraphError(
                f"gradient of shape {tuple(g.shape)} given for an output of shape "
                f"{tuple(y.shape)}"
            )
        seeded.append(g)
    return seeded


def run_backward(outputs, grad_outputs=None, retain_graph=None, create_graph=False,
                 inputs=None):
    """The engine behind ``Tensor.backward`` and :func:`grad`.

    With ``inputs=None`` the gradients accumulate into the leaves' ``.grad``
    (``Tensor.backward``). With a list of ``inputs`` nothing is accumulated; the
    gradients of those tensors are returned, ``None`` for an unreachable one.
    """
    outputs = _as_list(outputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    seeds = _initial_grads(outputs, grad_outputs)
    capture = None if inputs is None else {id(t): None for t in inputs}

    pending = {}  # Function -> list of summed gradients of its outputs

    def deliver(tensor, g):
        g_dtype, dtype = g.data.dtype, tensor.data.dtype
        if g_dtype is not dtype and g_dtype != dtype and dtype.kind == "f":
            # a gradient takes the dtype of its tensor (float32 * float64 would
            # otherwise hand a float32 leaf a float64 .grad), as in torch
            g = _cast(g, dtype)
        fn = tensor.creator
        if fn is None:  # a leaf
            if capture is not None:
                if id(tensor) in capture:
                    old = capture[id(tensor)]
                    capture[id(tensor)] = g if old is None else old + g
            elif tensor._requires_grad:
                tensor._accumulate_grad(g, create_graph)
            return
        slots = pending.get(fn)
        if slots is None:
            slots = pending[fn] = [None] * len(fn.outputs)
        i = tensor._output_index
        slots[i] = g if slots[i] is None else slots[i] + g

    for y, g in zip(outputs, seeds):
        deliver(y, g)

    order = topological_order(
        list(dict.fromkeys(y.creator for y in outputs if y.creator is not None)))
    with set_grad_enabled(create_graph):
        for fn in order:
            gys = pending.pop(fn, None)
            if gys is None:  # no gradient flows into this node
                continue
            if fn.inputs is None:
                raise freed_graph_error(fn)
            if fn._stamp != write_clock[0]:   # some in-place write since the forward
                fn.check_versions()
            _note_output_grads(fn, gys, capture, create_graph)
            gys = [g if g is not None else _zeros_like_output(fn, i)
                   for i, g in enumerate(gys)]
            if state.anomaly_enabled:
                outer, state.backward_fn = state.backward_fn, fn
                try:
                    gxs = fn.backward(*gys)
                finally:
                    state.backward_fn = outer
            else:
                gxs = fn.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if len(gxs) != len(fn.inputs):
                raise RuntimeError(
                    f"{fn.op_name}.backward returned {len(gxs)} gradients for "
                    f"{len(fn.inputs)} inputs"
                )
            if state.anomaly_enabled:
                check_finite(fn, [None if g is None else g.data for g in gxs],
                             "gradient for input")
            for x, gx, needed in zip(fn.inputs, gxs, fn.needs_input_grad):
                if needed and gx is not None:
                    if not isinstance(gx, Tensor):
                        gx = Tensor._make(gx)
                    deliver(x, gx)
            if not retain_graph:
                fn.release()

    if capture is not None:
        return [capture[id(t)] for t in inputs]
    return None


def _note_output_grads(fn, gys, capture, create_graph):
    """Hand complete output gradients to ``retain_grad()`` tensors and to grad()."""
    for i, ref in enumerate(fn.outputs):
        if gys[i] is None:
            continue
        out = ref()
        if out is None:
            continue
        if capture is not None and id(out) in capture:
            capture[id(out)] = gys[i]
        elif capture is None and out._retains_grad:
            out._accumulate_grad(gys[i], create_graph)


def _cast(g, dtype):
    from .ops.elementwise import astype

    return astype(g, dtype)


def _zeros_like_output(fn, i):
    out = fn._output_tensor(i)
    xp = backend.get_array_module(out.data)
    return Tensor._make(xp.zeros_like(out.data))


def grad(outputs: Union[Tensor, Sequence[Tensor]], inputs: Union[Tensor, Sequence[Tensor]],
         grad_outputs: Any = None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, allow_unused: bool = False
         ) -> Union[Optional[Tensor], Tuple[Optional[Tensor], ...]]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``. With ``create_graph=True`` the returned
    gradients are themselves differentiable, which gives Hessian-vector products::

        g, = grad(loss, [w], create_graph=True)
        hv, = grad((g * v).sum(), [w])      # H v
    """
    single = not isinstance(inputs, (list, tuple))
    inputs = _as_list(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise GraphError(f"input {i} of grad() does not require grad")
    grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs)
    if not allow_unused:
        for i, g in enumerate(grads):
            if g is None:
                raise GraphError(
                    f"input {i} of grad() was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
    if not create_graph:
        grads = [None if g is None else g.detach() for g in grads]
    return grads[0] if single else tuple(grads)
