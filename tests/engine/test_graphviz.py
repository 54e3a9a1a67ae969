"""to_dot: DOT text of the graph behind a tensor."""
import re
import shutil
import subprocess

import numpy as np
import pytest

import minigrad as mg

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[label="([^"]*)"\])?;$')


def parse(dot):
    """(labels by node id, attrs by node id, list of edges) of DOT text from to_dot."""
    labels, attrs, edges = {}, {}, []
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph minigrad {" and lines[-1] == "}"
    for line in lines[1:-1]:
        if line.strip().startswith(("node [", "edge [")):
            continue
        m = NODE.match(line)
        if m:
            labels[m.group(1)] = m.group(2).replace("\\n", "\n")
            attrs[m.group(1)] = m.group(3)
            continue
        m = EDGE.match(line)
        assert m, f"not a node or an edge: {line!r}"
        edges.append((m.group(1), m.group(2), m.group(3)))
    for a, b, _ in edges:
        assert a in labels and b in labels, "edge to an undeclared node"
    return labels, attrs, edges


def by_first_line(labels):
    out = {}
    for nid, label in labels.items():
        out.setdefault(label.split("\n")[0], []).append(nid)
    return out


def tiny():
    x = mg.tensor(np.ones((2, 3)), requires_grad=False)
    x.name = "x"
    w = mg.tensor(np.ones((3, 4)), requires_grad=True)
    b = mg.tensor(np.zeros(4), requires_grad=True)
    loss = mg.tanh(x @ w + b).sum()
    return loss, {"layer.weight": w, "layer.bias": b}


def test_tiny_graph_nodes_and_edges():
    loss, params = tiny()
    dot = mg.to_dot(loss, params)
    assert dot.count("{") == dot.count("}") == 1
    labels, attrs, edges = parse(dot)
    names = by_first_line(labels)
    for op in ("MatMul", "Add", "Tanh", "Sum", "layer.weight", "layer.bias", "x", "output"):
        assert len(names[op]) == 1, op
    one = {k: v[0] for k, v in names.items()}
    assert labels[one["layer.weight"]] == "layer.weight\n(3, 4) float64"
    assert labels[one["layer.bias"]] == "layer.bias\n(4,) float64"
    assert labels[one["x"]] == "x\n(2, 3) float64"
    assert labels[one["MatMul"]] == "MatMul\n(2, 4)"
    assert labels[one["Sum"]] == "Sum\n()"
    assert labels[one["output"]] == "output\n() float64"
    expected = {("x", "MatMul"), ("layer.weight", "MatMul"), ("MatMul", "Add"),
                ("layer.bias", "Add"), ("Add", "Tanh"), ("Tanh", "Sum"), ("Sum", "output")}
    got = {(labels[a].split("\n")[0], labels[b].split("\n")[0]) for a, b, _ in edges}
    assert got == expected
    assert len(edges) == len(expected)
    # the output is highlighted, parameters and constants are styled apart
    assert "fillcolor" in attrs[one["output"]] and "bold" in attrs[one["output"]]
    assert "lightblue" in attrs[one["layer.weight"]]
    assert "dashed" in attrs[one["x"]]


def test_names_from_attribute_and_escaping_and_constants():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    a.name = 'say "hi"'
    y = a * 3.0
    labels, _, edges = parse(mg.to_dot(y))
    names = by_first_line(labels)
    assert 'say \\"hi\\"' in names        # quotes escaped in the DOT text
    assert "const" in names               # the 3.0 operand


def test_several_outputs_and_multi_output_op():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    p, q = mg.split(x, [1, 2], dim=1)
    dot = mg.to_dot([p * 2.0, q.sum()], {"x": x})
    labels, attrs, edges = parse(dot)
    names = by_first_line(labels)
    assert "output 0" in names and "output 1" in names
    split = names["Split"][0]
    assert labels[split] == "Split\n(2, 1) (2, 2)"
    out_labels = sorted(lbl for a, _, lbl in edges if a == split)
    assert out_labels == ["out 0", "out 1"]
    assert len(names["x"]) == 1  # shared leaf drawn once


def test_leaf_output_and_type_error():
    w = mg.tensor([1.0], requires_grad=True)
    labels, _, edges = parse(mg.to_dot(w, {"w": w}))
    assert len(edges) == 1
    with pytest.raises(TypeError):
        mg.to_dot(np.ones(3))


def test_graph_after_backward_is_the_graph_before():
    loss, params = tiny()
    before = mg.to_dot(loss, params)
    loss.backward()
    assert mg.to_dot(loss, params) == before   # backward frees values, not the shape
    assert "(freed)" not in before


def test_deep_graph_no_recursion():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    labels, _, edges = parse(mg.to_dot(y))
    assert len(by_first_line(labels)["Mul"]) == 5000
    assert len(edges) == 2 * 5000 + 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_renders_with_dot(tmp_path):
    loss, params = tiny()
    src = tmp_path / "g.dot"
    src.write_text(mg.to_dot(loss, params))
    out = tmp_path / "g.svg"
    subprocess.run(["dot", "-Tsvg", str(src), "-o", str(out)], check=True, timeout=60)
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))
