"""Draw the graph behind a tensor: Graphviz DOT text, or a picture.

The graph autograd walks has two kinds of nodes: the Functions (ops) that were
recorded, and the tensors the user made (leaves), which feed them. ``to_dot``
writes both, with edges pointing the way data flowed in the forward pass:

* a leaf tensor is a box labelled with its name, shape and dtype (filled
  blue when it requires grad, dashed when it is a constant);
* a Function is an ellipse labelled with its op name and output shape(s);
* the tensor(s) passed in are boxes filled orange at the bottom.

``draw(loss, "graph.svg")`` writes the picture (SVG, PNG or PDF by the file's
suffix) through Graphviz's ``dot`` program when it is installed, else with a
pure-matplotlib layout; ``plot(loss)`` draws into a matplotlib figure (for
notebooks). The DOT text can also be rendered by hand::

    model = MLP(...)
    loss = F.cross_entropy(model(x), y)
    open("graph.dot", "w").write(mg.to_dot(loss, dict(model.named_parameters())))
    # dot -Tpng graph.dot -o graph.png

The graph stays drawable after ``backward()``: backward frees the values each
op saved, not the graph's shape (``Function.input_links``), as PyTorch keeps
``grad_fn.next_functions``. The traversal uses an explicit stack, so the graph of
a long recurrent network is drawn without hitting Python's recursion limit.
"""
from __future__ import annotations

from .tensor import Tensor

__all__ = ["to_dot", "draw", "plot"]

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


class _Gone:
    """Shape and dtype of a leaf that no longer exists, as ``_tensor_label`` reads them."""

    def __init__(self, link):
        self.shape, self.dtype = link.shape, link.dtype


def _graph(output, params):
    """(nodes, edges) of the graph behind ``output``: nodes are (id, label, DOT
    attributes), edges (from id, to id, label or None), in the forward direction."""
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

    def released_leaf(link):
        """A leaf seen through a released Function's ``input_links``."""
        t = link.tensor()
        if t is not None:
            return leaf(t)
        nid, new = node_id(link.tensor, "t")  # the tensor is gone: draw it from its link
        if new:
            name = link.name or (None if link.requires_grad else "const")
            nodes.append((nid, _tensor_label(_Gone(link), name),
                          _LEAF_GRAD if link.requires_grad else _LEAF_CONST))
        return nid

    def released_edge(link, to):
        fn = link.creator
        fid, _ = node_id(fn, "f")
        out_shapes.setdefault((fid, link.output_index), link.shape)
        label = f"out {link.output_index}" if fn.outputs is not None and len(fn.outputs) > 1 else None
        edges.append((fid, to, label))
        return fn

    functions = []  # in discovery order
    while stack:
        fn = stack.pop()
        fid, _ = node_id(fn, "f")
        if fid in seen:
            continue
        seen.add(fid)
        functions.append((fid, fn))
        if fn.inputs is None and fn.input_links is not None:  # released by backward()
            for link in fn.input_links:
                if link.creator is None:
                    edges.append((released_leaf(link), fid, None))
                else:
                    producer = released_edge(link, fid)
                    if ids[id(producer)] not in seen:
                        stack.append(producer)
            continue
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
        nodes.append((fid, fn.op_name + "\n" + " ".join(shapes), _FUNCTION))
    return nodes, edges


def to_dot(output, params=None) -> str:
    """Graphviz DOT text of the graph that computed ``output``.

    ``output`` is a Tensor or a list/tuple of Tensors. ``params`` is an optional
    dict name -> Tensor (``dict(model.named_parameters())``) used to label the
    leaves; a leaf not in it is labelled with its ``.name`` attribute if set.
    """
    nodes, edges = _graph(output, params)

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


# --- pictures ------------------------------------------------------------------------

_FORMATS = ("svg", "png", "pdf")
_COLORS = {_LEAF_GRAD: "lightblue", _LEAF_CONST: "white", _FUNCTION: "lightgrey", _OUTPUT: "orange"}


def _layers(nodes, edges) -> dict:
    """Rank of each node: the longest path to it from a node with no inputs, so
    every edge points to a lower row (inputs on top, outputs at the bottom)."""
    succ = {nid: [] for nid, _, _ in nodes}
    indegree = dict.fromkeys(succ, 0)
    for a, b, _ in edges:
        succ[a].append(b)
        indegree[b] += 1
    rank = dict.fromkeys(succ, 0)
    ready = [n for n, d in indegree.items() if d == 0]
    while ready:  # Kahn's topological order, without recursion
        a = ready.pop()
        for b in succ[a]:
            rank[b] = max(rank[b], rank[a] + 1)
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    return rank


def plot(output, params=None, ax=None):
    """Draw the graph behind ``output`` with matplotlib; returns the Axes.

    The same nodes, labels and colours as :func:`to_dot`, laid out in rows by
    depth (inputs on top, the output at the bottom), each row ordered by where
    its inputs sit. No Graphviz needed. ``ax``: an Axes to draw into (a new
    figure, sized to the graph, by default).
    """
    import matplotlib.pyplot as plt

    nodes, edges = _graph(output, params)
    rank = _layers(nodes, edges)
    rows: dict = {}
    for nid, _, _ in nodes:
        rows.setdefault(rank[nid], []).append(nid)
    preds: dict = {}
    for a, b, _ in edges:
        preds.setdefault(b, []).append(a)
    x = {}
    for r in sorted(rows):  # order each row by the mean position of its inputs
        row = rows[r]
        if r > 0:
            row.sort(key=lambda n: sum(x[p] for p in preds.get(n, [])) / max(len(preds.get(n, [])), 1))
        for i, nid in enumerate(row):
            x[nid] = i - (len(row) - 1) / 2
    depth = max(rows) + 1
    width = max(len(row) for row in rows.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(min(2.2 * width + 1, 40), min(1.1 * depth + 0.5, 60)))
    pos = {nid: (x[nid] * 2.2, -rank[nid] * 1.1) for nid in x}
    for a, b, label in edges:
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops=dict(arrowstyle="-|>", color="0.35", shrinkA=14, shrinkB=14, lw=0.8))
        if label:
            mx, my = (pos[a][0] + pos[b][0]) / 2, (pos[a][1] + pos[b][1]) / 2
            ax.text(mx, my, label, fontsize=6, color="0.3", ha="center", va="center")
    for nid, label, attrs in nodes:
        box = "round,pad=0.3" if attrs == _FUNCTION else "square,pad=0.3"
        ax.text(*pos[nid], label, ha="center", va="center", fontsize=7,
                bbox=dict(boxstyle=box, facecolor=_COLORS[attrs], edgecolor="0.2",
                          linestyle="--" if attrs == _LEAF_CONST else "-",
                          linewidth=1.6 if attrs == _OUTPUT else 0.8))
    xs = [p[0] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.4, max(xs) + 1.4)
    ax.set_ylim(-(depth - 1) * 1.1 - 0.7, 0.7)
    ax.axis("off")
    return ax


def draw(output, path, params=None, method: str = "auto"):
    """Write a picture of the graph behind ``output`` to ``path``; returns the path.

    The format is the file's suffix: ``.svg``, ``.png`` or ``.pdf``. ``method``:
    ``"dot"`` renders :func:`to_dot`'s text with Graphviz's ``dot`` program,
    ``"matplotlib"`` uses :func:`plot`, ``"auto"`` (the default) takes ``dot`` when
    it is on the PATH and matplotlib otherwise. The file is written atomically.
    """
    import pathlib
    import shutil
    import subprocess

    from .atomic import write_bytes

    path = pathlib.Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _FORMATS:
        raise ValueError(f"draw: cannot tell the format of {str(path)!r}; "
                         f"end the name with one of {', '.join('.' + f for f in _FORMATS)}")
    if method not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"draw: method must be 'auto', 'dot' or 'matplotlib', got {method!r}")
    dot = shutil.which("dot")
    if method == "dot" and dot is None:
        raise FileNotFoundError("draw: method='dot' needs Graphviz's `dot` program on the PATH "
                                "(e.g. apt-get install graphviz); method='matplotlib' needs nothing")
    if method == "dot" or (method == "auto" and dot is not None):
        done = subprocess.run([dot, f"-T{fmt}"], input=to_dot(output, params).encode(),
                              capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"draw: dot failed ({done.returncode}): {done.stderr.decode().strip()}")
        data = done.stdout
    else:
        import io

        import matplotlib.pyplot as plt

        ax = plot(output, params)
        buf = io.BytesIO()
        ax.figure.savefig(buf, format=fmt, bbox_inches="tight")
        plt.close(ax.figure)
        data = buf.getvalue()
    write_bytes(path, data)
    return path
