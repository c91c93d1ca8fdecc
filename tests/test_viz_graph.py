"""Graph drawings: nodes carry op, data/shape and grad; graphviz or matplotlib, never a crash."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad import Value, nn
from minigrad.viz import draw_graph
from minigrad.viz import graph as G


def small_value_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    out = (c + a).tanh()
    out.label = "out"
    out.backward()
    return a, b, out


def test_value_graph_has_data_ops_and_grads():
    a, _, out = small_value_graph()
    graph = G.value_graph(out, show_order=True)
    kinds = [node.kind for node in graph.nodes.values()]
    assert kinds.count("data") == 5 and kinds.count("op") == 3
    labels = {tuple(node.lines) for node in graph.nodes.values()}
    assert ("a", "data 2", f"grad {a.grad:.4g}") in labels
    assert ("#1 tanh",) in labels and ("#3 *",) in labels  # backward visits tanh first
    assert len(graph.edges) == 8


def test_tensor_graph_names_parameters_and_shows_shapes():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = mg.Tensor(np.ones((5, 3), np.float32))
    loss = F.cross_entropy(model(x), np.array([0, 1, 0, 1, 1]))
    loss.backward()
    graph = G.tensor_graph(loss, names=dict(model.named_parameters()))
    text = ["\n".join(node.lines) for node in graph.nodes.values()]
    assert any(t.startswith("0.weight\n(4, 3) float32\ngrad shape (4, 3)") for t in text)
    assert any(t.startswith("output\ndata ") for t in text)
    ops = [node.lines[0] for node in graph.nodes.values() if node.kind == "op"]
    assert sorted(ops) == ["CrossEntropyBackward", "LinearBackward", "LinearBackward",
                           "TanhBackward"]
    assert any(node.kind == "const" for node in graph.nodes.values())  # the targets


def test_tensor_graph_with_scalar_constants():
    x = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * 3.0 + 1.0).sum()
    graph = G.tensor_graph(y)
    consts = sorted(node.lines[0] for node in graph.nodes.values() if node.kind == "const")
    assert consts == ["1", "3"]


@pytest.mark.skipif(G.shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_graphviz_renders_svg():
    _, _, out = small_value_graph()
    drawing = draw_graph(out)
    assert drawing.backend == "graphviz"
    assert drawing._repr_svg_().lstrip().startswith(("<?xml", "<svg"))
    assert drawing._repr_png_() is None


def test_missing_dot_falls_back_to_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setattr(G.shutil, "which", lambda name: None)
    _, _, out = small_value_graph()
    drawing = draw_graph(out)
    assert drawing.backend == "matplotlib" and drawing._repr_svg_() is None
    assert drawing._repr_png_().startswith(b"\x89PNG")
    assert (tmp_path / "g.png").write_bytes(b"") == 0
    drawing.save(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


def test_a_failing_dot_falls_back_too(monkeypatch, tmp_path):
    broken = tmp_path / "dot"
    broken.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(G.shutil, "which", lambda name: str(broken))
    _, _, out = small_value_graph()
    assert draw_graph(out).backend == "matplotlib"


def test_layout_puts_every_edge_left_to_right():
    mg.manual_seed(0)
    x = mg.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = mg.Tensor(np.ones((3, 3), np.float32), requires_grad=True)
    h = (x @ w).relu()
    out = (h * h + x).sum()
    graph = G.tensor_graph(out)
    position = G.layered_layout(graph)
    assert all(position[s][0] < position[t][0] for s, t in graph.edges)


def test_large_graphs_are_truncated_not_refused():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(300):
        y = y * 1.001
    drawing = draw_graph(y.sum(), max_nodes=40, backend="matplotlib")
    assert drawing.graph.truncated and "truncated" in repr(drawing)
    assert sum(n.kind == "data" for n in drawing.graph.nodes.values()) == 40


def test_rejects_other_objects():
    with pytest.raises(TypeError, match="Value or Tensor"):
        draw_graph(3.0)


def test_tensor_graph_numbers_ops_in_the_order_backward_runs_them():
    x = mg.Tensor(np.array([0.3, -0.2]), requires_grad=True)
    a = x.tanh()
    b = a.exp()
    loss = (a * b).sum()
    graph = G.tensor_graph(loss, show_order=True)
    ops = {node.lines[0].split()[1]: int(node.lines[0].split()[0][1:])
           for node in graph.nodes.values() if node.kind == "op"}
    # backward: Sum, then Mul, then Exp (b's gradient is complete), then Tanh (a gets both paths)
    assert ops == {"SumBackward": 1, "MulBackward": 2, "ExpBackward": 3, "TanhBackward": 4}


def test_a_truncated_value_graph_keeps_the_inputs_nearest_the_output():
    chain = Value(1.0)
    for _ in range(50):
        chain = chain * 1.01
    side = Value(2.0, label="side")
    out = chain + side
    graph = G.value_graph(out, max_nodes=10)
    assert graph.truncated
    assert any(node.lines[0] == "side" for node in graph.nodes.values())
