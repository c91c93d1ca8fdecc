"""draw_graph on a Value class that is not minigrad's: anything with data, grad and _prev."""
import math

import pytest

from minigrad.viz import draw_graph
from minigrad.viz import graph as G


class StudentValue:
    """A micrograd-style scalar with a set of parents and no label attribute."""

    def __init__(self, data, _children=(), _op=""):
        self.data, self.grad = data, 0.0
        self._prev, self._op = set(_children), _op

    def __mul__(self, other):
        return StudentValue(self.data * other.data, (self, other), "*")

    def __add__(self, other):
        return StudentValue(self.data + other.data, (self, other), "+")

    def tanh(self):
        return StudentValue(math.tanh(self.data), (self,), "tanh")


class Bare:
    """Only data, grad and _prev: no _op, no label."""

    def __init__(self, data, parents=()):
        self.data, self.grad, self._prev = data, 0.5, tuple(parents)


def test_a_students_value_graph_has_its_data_ops_and_grads():
    a, b = StudentValue(2.0), StudentValue(-3.0)
    out = (a * b + a).tanh()
    a.grad = 0.25
    graph = G.build_graph(out, show_order=True)
    kinds = [node.kind for node in graph.nodes.values()]
    assert kinds.count("data") == 5 and kinds.count("op") == 3
    labels = {tuple(node.lines) for node in graph.nodes.values()}
    assert ("data 2", "grad 0.25") in labels and ("#1 tanh",) in labels
    assert len(graph.edges) == 8


def test_missing_op_and_label_are_drawn_as_a_generic_op():
    out = Bare(3.0, [Bare(1.0), Bare(2.0)])
    drawing = draw_graph(out, backend="matplotlib")
    assert [node.lines for node in drawing.graph.nodes.values() if node.kind == "op"] == [["op"]]
    assert drawing._repr_png_()[:4] == b"\x89PNG"


def test_objects_without_the_value_attributes_are_refused_clearly():
    with pytest.raises(TypeError, match="data, grad and _prev"):
        draw_graph(object())
