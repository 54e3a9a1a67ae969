"""The graph stays drawable after backward(), and draw() writes real pictures."""
import gc
import shutil

import numpy as np
import pytest

import minigrad as mg
from minigrad.graphviz import _graph, draw, plot


def mlp_loss():
    x = mg.tensor(np.linspace(-1, 1, 6).reshape(2, 3))
    x.name = "x"
    w = mg.tensor(np.ones((3, 4)) * 0.1, requires_grad=True)
    b = mg.tensor(np.zeros(4), requires_grad=True)
    h = mg.tanh(x @ w + b)
    loss = (h * h).mean() / 2.0
    return loss, {"w": w, "b": b}


def structure(loss, params):
    """Labels of the nodes and labelled edges, independent of node numbering."""
    nodes, edges = _graph(loss, params)
    label = {nid: lbl for nid, lbl, _ in nodes}
    return sorted(label.values()), sorted((label[a], label[b], e) for a, b, e in edges)


def test_structure_survives_backward_and_dropped_intermediates():
    loss, params = mlp_loss()
    before = structure(loss, params)
    loss.backward()
    gc.collect()  # the intermediates and the inline constants are gone now
    after = structure(loss, params)
    assert after == before
    labels, edges = after
    assert sum(lbl.startswith("Div") for lbl in labels) == 2   # mean's and the /2
    assert ("w\n(3, 4) float64", "MatMul\n(2, 4)", None) in edges
    assert not any("(freed)" in lbl for lbl in labels)


def test_second_backward_still_refused():
    loss, _ = mlp_loss()
    loss.backward()
    with pytest.raises(mg.GraphError):
        loss.backward()


def test_multi_output_op_after_backward():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    p, q = mg.split(x, [1, 2], dim=1)
    loss = (p * 2.0).sum() + q.sum()
    before = structure(loss, {"x": x})
    loss.backward()
    assert structure(loss, {"x": x}) == before
    assert any(e == "out 1" for _, _, e in before[1])


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_draw_matplotlib(tmp_path, suffix):
    loss, params = mlp_loss()
    loss.backward()
    path = draw(loss, tmp_path / f"g.{suffix}", params, method="matplotlib")
    data = path.read_bytes()
    if suffix == "png":
        assert data.startswith(b"\x89PNG")
    else:
        assert b"<svg" in data[:2000]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_draw_dot_svg_names_every_op(tmp_path):
    loss, params = mlp_loss()
    loss.backward()
    svg = draw(loss, tmp_path / "g.svg", params, method="dot").read_text()
    for op in ("MatMul", "Add", "Tanh", "Mul", "Sum", "Div"):
        assert f">{op}</text>" in svg, op


def test_plot_rows_follow_the_data_flow():
    loss, params = mlp_loss()
    ax = plot(loss, params)
    texts = {t.get_text().split("\n")[0]: t.get_position() for t in ax.texts if "\n" in t.get_text()}
    assert texts["w"][1] > texts["MatMul"][1] > texts["Add"][1] > texts["output"][1]
    import matplotlib.pyplot as plt
    plt.close(ax.figure)


def test_draw_bad_arguments(tmp_path):
    loss, _ = mlp_loss()
    with pytest.raises(ValueError, match="format"):
        draw(loss, tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="method"):
        draw(loss, tmp_path / "g.svg", method="tikz")
    with pytest.raises(TypeError):
        draw(np.ones(3), tmp_path / "g.svg")


def test_auto_falls_back_to_matplotlib_without_dot(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)   # as on a machine without Graphviz
    loss, params = mlp_loss()
    assert draw(loss, tmp_path / "g.png", params).read_bytes().startswith(b"\x89PNG")
    with pytest.raises(FileNotFoundError, match="dot"):
        draw(loss, tmp_path / "h.svg", params, method="dot")
    assert not (tmp_path / "h.svg").exists()
