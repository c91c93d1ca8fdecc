"""Drawings of computational graphs: the graph that backward() walks, node by node.

    draw_graph(loss)                          # a Value or a Tensor, after backward() or before
    draw_graph(loss, names=dict(model.named_parameters()), show_order=True)

Data nodes (boxes) show label/name, data (or shape and dtype) and grad; op nodes (ellipses)
show the op ("*", "tanh", "MulBackward"), numbered in the order backward() visits them when
show_order=True. Rendered by graphviz's `dot` when that program is installed, else laid out
with matplotlib; a missing or failing `dot` is never an error.
"""
import io
import re
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from ..autograd import topological_order
from ..engine import Value
from ..tensor import Tensor


@dataclass
class Node:
    id: str
    kind: str            # "data", "op" or "const"
    lines: list          # text lines of the label


@dataclass
class Graph:
    """Nodes and edges (source id, target id), edges pointing from inputs to outputs."""
    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    truncated: bool = False

    def add(self, node):
        self.nodes.setdefault(node.id, node)

    def parents(self):
        parents = {node_id: [] for node_id in self.nodes}
        for source, target in self.edges:
            parents[target].append(source)
        return parents


def _fmt(x):
    return f"{x:.4g}"


def _array_text(array, limit=4):
    array = np.asarray(array)
    if array.size == 1:
        return _fmt(array.item())
    if array.size <= limit:
        return np.array2string(array.ravel(), precision=3, separator=", ")
    return f"shape {tuple(array.shape)}"


# ---- building the graph --------------------------------------------------------------------------
def nearest_nodes(root, parents, max_nodes):
    """(nodes, truncated): up to max_nodes nodes breadth-first from root, so a truncated drawing
    keeps the part nearest the output; truncated says whether any node was left out."""
    seen, queue, kept = {id(root)}, [root], []
    while queue and len(kept) < max_nodes:
        node = queue.pop(0)
        kept.append(node)
        for parent in parents(node):
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    kept_ids = {id(n) for n in kept}
    return kept, any(id(p) not in kept_ids for n in kept for p in parents(n))


def backward_steps(root, parents, kept, has_op):
    """{id(node): k}: node's op is the k-th that backward() runs (reverse topological order)."""
    kept_ids = {id(n) for n in kept}
    order = (n for n in reversed(topological_order(root, parents)) if id(n) in kept_ids and has_op(n))
    return {id(n): step for step, n in enumerate(order, start=1)}


def value_graph(root, show_order=False, max_nodes=200):
    """Graph of a scalar Value: one data node per Value and one op node per operation."""
    parents = lambda value: value._prev  # noqa: E731
    graph = Graph()
    order, graph.truncated = nearest_nodes(root, parents, max_nodes)
    kept = {id(v) for v in order}
    backward_step = backward_steps(root, parents, order, lambda v: v._prev) if show_order else {}
    for v in order:
        label = getattr(v, "label", "")
        lines = ([label] if label else []) + [f"data {_fmt(v.data)}", f"grad {_fmt(v.grad)}"]
        graph.add(Node(f"v{id(v)}", "data", lines))
        if v._prev:
            op_id = f"op{id(v)}"
            op = getattr(v, "_op", "") or "op"
            graph.add(Node(op_id, "op", [f"#{backward_step[id(v)]} {op}" if show_order else op]))
            graph.edges.append((op_id, f"v{id(v)}"))
            for parent in v._prev:
                if id(parent) in kept:
                    graph.edges.append((f"v{id(parent)}", op_id))
    return graph


def tensor_graph(root, names=None, show_order=False, max_nodes=200):
    """Graph of a Tensor: data nodes for tensors, op nodes for grad_fns, const nodes for numbers.

    names: {name: tensor} (e.g. dict(model.named_parameters())) to label leaves.
    """
    label_of = {id(t): name for name, t in (names or {}).items()}

    def parents(tensor):
        return () if tensor.grad_fn is None else [
            p for p in tensor.grad_fn.inputs if isinstance(p, Tensor)]

    graph = Graph()
    tensors, graph.truncated = nearest_nodes(root, parents, max_nodes)
    kept = {id(t) for t in tensors}
    backward_step = (backward_steps(root, parents, tensors, lambda t: t.grad_fn is not None)
                     if show_order else {})
    for tensor in tensors:
        head = label_of.get(id(tensor)) or ("output" if tensor is root else
                                            "leaf" if tensor.grad_fn is None else "")
        lines = ([head] if head else []) + [
            f"data {_array_text(tensor.data)}" if tensor.data.size <= 4
            else f"{tuple(tensor.shape)} {tensor.dtype}",
            "grad " + ("None" if tensor.grad is None else _array_text(tensor.grad)),
        ]
        if not tensor.requires_grad:
            lines.append("requires_grad=False")
        graph.add(Node(f"t{id(tensor)}", "data", lines))
        node = tensor.grad_fn
        if node is None:
            continue
        op_id = f"op{id(tensor)}"
        name = node.name()
        graph.add(Node(op_id, "op", [f"#{backward_step[id(tensor)]} {name}" if show_order
                                     else name]))
        graph.edges.append((op_id, f"t{id(tensor)}"))
        for position, parent in enumerate(node.inputs):
            if isinstance(parent, Tensor):
                if id(parent) in kept:
                    graph.edges.append((f"t{id(parent)}", op_id))
            elif (isinstance(parent, (int, float, np.ndarray, np.generic))
                  and not isinstance(parent, bool)):
                const_id = f"c{id(tensor)}_{position}"
                graph.add(Node(const_id, "const", [_array_text(parent)]))
                graph.edges.append((const_id, op_id))
    return graph


def build_graph(root, names=None, show_order=False, max_nodes=200):
    if isinstance(root, Value):
        return value_graph(root, show_order, max_nodes)
    if isinstance(root, Tensor):
        return tensor_graph(root, names, show_order, max_nodes)
    if is_value_like(root):
        return value_graph(root, show_order, max_nodes)
    raise TypeError(f"draw_graph: expected a minigrad Value or Tensor, or an object with the Value "
                    f"attributes data, grad and _prev; got {type(root).__name__}.")


def is_value_like(obj):
    """Duck typing for scalar engines written elsewhere (a student's Value): data, grad, _prev."""
    return all(hasattr(obj, name) for name in ("data", "grad", "_prev"))


# ---- rendering -----------------------------------------------------------------------------------
STYLE = {"data": 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"',
         "op": 'shape=ellipse, style=filled, fillcolor="#fde0c5"',
         "const": 'shape=box, style="dashed", fontcolor="#555555"'}


def _dot_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph, rankdir="LR"):
    """graphviz source for the graph."""
    lines = ["digraph computation {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [color="#444444"];']
    for node in graph.nodes.values():
        label = "\\n".join(_dot_escape(line) for line in node.lines)
        lines.append(f'  "{node.id}" [label="{label}", {STYLE[node.kind]}];')
    for source, target in graph.edges:
        lines.append(f'  "{source}" -> "{target}";')
    lines.append("}")
    return "\n".join(lines)


def render_with_dot(source, fmt="svg", timeout=30):
    """Run graphviz's dot; returns the output bytes, or None if dot is missing or fails."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=source.encode(), capture_output=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 and done.stdout else None


def layered_layout(graph):
    """{node id: (x, y)}: x is the longest path from an input, y spreads each column."""
    parents = graph.parents()
    depth = {}
    # A stand-in root above every node, so one sort covers graphs with several outputs.
    everything = object()
    nodes = topological_order(everything, lambda n: list(graph.nodes.values()) if n is everything
                              else [graph.nodes[p] for p in parents[n.id]])[:-1]
    for node_id in (n.id for n in nodes):
        depth[node_id] = 1 + max((depth[p] for p in parents[node_id]), default=-1)
    # Inputs (weights, constants) go just left of their first use, not all in column 0.
    first_use = {}
    for source, target in graph.edges:
        first_use[source] = min(first_use.get(source, np.inf), depth[target])
    for node_id, use in first_use.items():
        if not parents[node_id]:
            depth[node_id] = int(use) - 1
    columns = {}
    for node_id, column in depth.items():
        columns.setdefault(column, []).append(node_id)
    position = {}
    for column in sorted(columns):
        members = columns[column]
        # Order each column by its parents' mean height: fewer crossing edges.
        members.sort(key=lambda n: np.mean([position[p][1] for p in parents[n]])
                     if parents[n] else 0.0)
        for row, node_id in enumerate(members):
            position[node_id] = (float(column), row - (len(members) - 1) / 2)
    return position


def render_with_matplotlib(graph, dpi=90):
    """PNG bytes of the graph drawn with matplotlib (no graphviz needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    position = layered_layout(graph)
    columns = 1 + max((x for x, _ in position.values()), default=0)
    rows = max((sum(1 for x2, _ in position.values() if x2 == x) for x, _ in position.values()),
               default=1)
    figure = Figure(figsize=(min(2.1 * columns + 0.5, 40), min(1.0 * rows + 0.6, 40)), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    colors = {"data": "#dbe9f6", "op": "#fde0c5", "const": "white"}
    shapes = {"data": "round,pad=0.3", "op": "round4,pad=0.3", "const": "square,pad=0.3"}
    texts = {}
    for node in graph.nodes.values():
        x, y = position[node.id]
        texts[node.id] = ax.text(
            x, y, "\n".join(node.lines), ha="center", va="center", fontsize=8,
            bbox=dict(boxstyle=shapes[node.kind], fc=colors[node.kind], ec="#555555",
                      ls="--" if node.kind == "const" else "-"))
    for source, target in graph.edges:
        # Anchored to the text artists: from the right edge of one label to the left of the next.
        ax.annotate("", xy=(0, 0.5), xycoords=texts[target], xytext=(1, 0.5),
                    textcoords=texts[source],
                    arrowprops=dict(arrowstyle="-|>", color="#444444", lw=0.9,
                                    shrinkA=5, shrinkB=5))
    ax.set_xlim(-0.6, columns - 0.4)
    half = max(rows / 2, 0.8)
    ax.set_ylim(-half, half)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


_SVG_SIZE = re.compile(r'<svg\b([^>]*?)\swidth="([\d.]+)pt"\s+height="[\d.]+pt"')
# JupyterLab shows an SVG output as an <img> that it does not confine to the output area (it
# does confine PNGs), and graphviz gives fixed sizes in pt: a long graph ran off the column, its
# output node cut off. Drawings wider than this take the column's width instead (the viewBox
# keeps their proportions); narrower ones keep their natural size, which fits any column.
FIT_WIDER_THAN_PT = 480  # 640 px


def fit_to_width(svg):
    """The SVG as the notebook shows it: wide drawings as wide as the output area."""
    def fit(match):
        if float(match.group(2)) <= FIT_WIDER_THAN_PT:
            return match.group(0)
        return f'<svg{match.group(1)} width="100%"'

    return _SVG_SIZE.sub(fit, svg, count=1)


class GraphDrawing:
    """A drawn graph: displays itself in Jupyter (SVG from graphviz, else PNG from matplotlib).

    graph: the Graph; dot_source: graphviz text; backend: "graphviz" or "matplotlib";
    svg: str or None; png: bytes or None.
    """

    def __init__(self, graph, backend="auto"):
        if backend not in ("auto", "graphviz", "matplotlib"):
            raise ValueError(f"backend must be 'auto', 'graphviz' or 'matplotlib', "
                             f"got {backend!r}.")
        self.graph = graph
        self.dot_source = to_dot(graph)
        self.svg = self.png = None
        svg = render_with_dot(self.dot_source) if backend != "matplotlib" else None
        if svg is not None:
            self.backend, self.svg = "graphviz", svg.decode("utf-8")
        else:
            self.backend, self.png = "matplotlib", render_with_matplotlib(graph)

    def _repr_svg_(self):
        return fit_to_width(self.svg) if self.svg is not None else None

    def _repr_png_(self):
        return self.png

    def save(self, path):
        """Write the drawing: .svg or .png from graphviz when present, else PNG (matplotlib)."""
        path = str(path)
        if path.endswith(".png") and self.backend == "graphviz":
            data = render_with_dot(self.dot_source, "png") or render_with_matplotlib(self.graph)
        elif self.svg is not None and not path.endswith(".png"):
            data = self.svg.encode("utf-8")
        else:
            data = self.png
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def __repr__(self):
        return (f"<GraphDrawing: {len(self.graph.nodes)} nodes, {len(self.graph.edges)} edges, "
                f"drawn with {self.backend}{', truncated' if self.graph.truncated else ''}>")


def draw_graph(root, names=None, show_order=False, backend="auto", max_nodes=200):
    """Draw the graph that produced root (a Value, a Tensor, or any object with the Value attributes
    data, grad and _prev, e.g. a Value class of your own); returns a GraphDrawing.

    names: {name: tensor} labels for Tensor leaves (e.g. dict(model.named_parameters()));
    show_order: number the ops in the order backward() visits them; max_nodes: keep only the
    nodes nearest the output in larger graphs.
    """
    return GraphDrawing(build_graph(root, names, show_order, max_nodes), backend)
