"""Draw the graph behind a tensor as Graphviz DOT text.

The graph autograd walks has two kinds of nodes: the Functions (ops) that were
recorded, and the tensors the user made (leaves), which feed them. ``to_dot``
writes both, with edges pointing the way data flowed in the forward pass:

* a leaf tensor is a box labelled with its name, shape and dtype (filled
  blue when it requires grad, dashed when it is a constant);
* a Function is an ellipse labelled with its op name and output shape(s);
* the tensor(s) passed in are boxes filled orange at the bottom.

Render it with the ``dot`` program (``dot -Tpng graph.dot -o graph.png``) or any
online Graphviz viewer::

    model = MLP(...)
    loss = F.cross_entropy(model(x), y)
    open("graph.dot", "w").write(mg.to_dot(loss, dict(model.named_parameters())))

The traversal uses an explicit stack, so the graph of a long recurrent network
is drawn without hitting Python's recursion limit. A graph whose saved inputs
were freed by ``backward()`` (without ``retain_graph=True``) cannot be walked
past the freed ops; those are drawn with "(freed)" in their label.
"""
from __future__ import annotations

from .tensor import Tensor

__all__ = ["to_dot"]

_LEAF_GRAD = 'shape=box, style=filled, fillcolor="lightblue"'
_LEAF_CONST = 'shape=box, style=dashed'
_FUNCTION = 'shape=ellipse, style=filled, fillcolor="lightgrey"'
_OUTPUT = 'shape=box, style="filled,bold", fillcolor="orange"'


def _quote(text: str) -> str:
    """A DOT string literal; lines are joined with DOT's ``\\n`` escape."""
    lines = str(text).split("\n")
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _tensor_label(t: Tensor, name) -> str:
    parts = [name] if name else []
    parts.append(f"{_shape_text(t.shape)} {t.dtype}")
    return "\n".join(parts)


def to_dot(output, params=None) -> str:
    """Graphviz DOT text of the graph that computed ``output``.

    ``output`` is a Tensor or a list/tuple of Tensors. ``params`` is an optional
    dict name -> Tensor (``dict(model.named_parameters())``) used to label the
    leaves; a leaf not in it is labelled with its ``.name`` attribute if set.
    """
    outputs = list(output) if isinstance(output, (list, tuple)) else [output]
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: output {i} is a {type(t).__name__}, not a Tensor")
    names = {id(t): name for name, t in (params or {}).items()}

    ids: dict = {}          # id(object) -> DOT node id
    keep: list = []         # keeps every drawn object alive, so ids stay unique
    nodes: list = []        # (node id, label, attributes)
    edges: list = []        # (from id, to id, edge label or None)
    out_shapes: dict = {}   # (node id, output index) -> shape, gathered on the way

    def node_id(obj, prefix):
        key = id(obj)
        if key not in ids:
            ids[key] = f"{prefix}{len(ids)}"
            keep.append(obj)
            return ids[key], True
        return ids[key], False

    def leaf(t):
        nid, new = node_id(t, "t")
        if new:
            name = names.get(id(t)) or getattr(t, "name", None)
            if not name and not t.requires_grad:
                name = "const"
            nodes.append((nid, _tensor_label(t, name),
                          _LEAF_GRAD if t.requires_grad else _LEAF_CONST))
        return nid

    def edge_from(producer_tensor, to):
        """Edge from the Function that made ``producer_tensor``; returns the Function."""
        fn = producer_tensor.creator
        fid, _ = node_id(fn, "f")
        idx = producer_tensor._output_index
        out_shapes[(fid, idx)] = producer_tensor.shape
        label = f"out {idx}" if fn.outputs is not None and len(fn.outputs) > 1 else None
        edges.append((fid, to, label))
        return fn

    stack, seen = [], set()
    for k, t in enumerate(outputs):
        oid = f"out{k}"
        default = f"output {k}" if len(outputs) > 1 else "output"
        name = names.get(id(t)) or getattr(t, "name", None) or default
        nodes.append((oid, _tensor_label(t, name), _OUTPUT))
        if t.creator is None:
            edges.append((leaf(t), oid, None))
        else:
            stack.append(edge_from(t, oid))

    functions = []  # in discovery order
    while stack:
        fn = stack.pop()
        fid, _ = node_id(fn, "f")
        if fid in seen:
            continue
        seen.add(fid)
        functions.append((fid, fn))
        for x in fn.inputs or ():
            if x.creator is None:
                edges.append((leaf(x), fid, None))
            else:
                producer = edge_from(x, fid)
                if ids[id(producer)] not in seen:
                    stack.append(producer)

    for fid, fn in functions:
        n_out = len(fn.outputs) if fn.outputs is not None else 1
        shapes = []
        for i in range(n_out):
            live = fn.outputs[i]() if fn.outputs is not None else None
            shape = live.shape if live is not None else out_shapes.get((fid, i))
            shapes.append(_shape_text(shape) if shape is not None else "?")
        label = fn.op_name + "\n" + " ".join(shapes)
        if fn.inputs is None:
            label += "\n(freed)"
        nodes.append((fid, label, _FUNCTION))

    lines = ["digraph minigrad {",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    for nid, label, attrs in nodes:
        lines.append(f"  {nid} [label={_quote(label)}, {attrs}];")
    for a, b, label in edges:
        extra = f" [label={_quote(label)}]" if label else ""
        lines.append(f"  {a} -> {b}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
