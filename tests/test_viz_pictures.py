"""The pictures as a student reads them: round colour-bar values, a distance slider that sets the
axes it claims to, a live curve at notebook width with a legend in every panel and one style of
log labels, graph drawings that fit the output area, and a learning-rate slider that shows the
run its status reports."""
import base64
import io
import math
import re

import numpy as np
import pytest
from PIL import Image

from minigrad import Value
from minigrad.viz import (LiveTrainingCurve, draw_graph, learning_rate_explorer,
                          loss_landscape_explorer)
from minigrad.viz import landscape as L

from helpers_landscape import trained_with_trajectory

DECADE = re.compile(r"^10[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+$")
SHORT_NUMBER = re.compile(r"^-?\d+(\.\d{1,2})?$|^-?0\.0*\d{1,2}$")


def png_size(output):
    (item,) = output.outputs
    return Image.open(io.BytesIO(base64.b64decode(item["data"]["image/png"]))).size


@pytest.mark.parametrize("low, high", [(1.67e-6, 1.27), (0.282, 0.51), (2.1, 45.0)])
def test_the_colour_bar_shows_round_values(low, high):
    xs = ys = np.linspace(-1, 1, 9)
    losses = np.geomspace(low, high, 81).reshape(9, 9)
    ax = L.plot_landscape_2d(L.Landscape2D(xs, ys, losses, title="t"))
    bar = ax.figure.axes[-1]
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
    assert 2 <= len(labels) <= 10, labels
    # one style throughout: powers of ten (over many decades), or short round numbers
    decades = all(DECADE.match(t) for t in labels)
    assert decades or all(SHORT_NUMBER.match(t) for t in labels), labels
    assert decades == (high / low > 1e3)


@pytest.fixture
def trained():
    return trained_with_trajectory(samples=60, features=4, hidden=8, steps=6)


def test_the_distance_slider_works_only_where_it_sets_the_axes(trained):
    model, loss_fn, trajectory = trained
    widget = loss_landscape_explorer(model, loss_fn, trajectory=trajectory, resolution=5,
                                     start=trajectory.snapshots[0], end=trajectory.snapshots[-1])
    assert widget.mode.value == "optimiser path (PCA plane)" and widget.distance.disabled
    widget.mode.value = "interpolation start → end"
    assert widget.distance.disabled
    widget.mode.value = "2-D random directions"
    assert not widget.distance.disabled
    widget.distance.value = 0.5
    landscape = widget.run()
    assert (landscape.xs[0], landscape.xs[-1]) == (-0.5, 0.5)
    assert widget.view.figure.axes[0].get_xlim()[1] == pytest.approx(0.5, abs=0.05)


def test_the_live_curve_is_readable_at_notebook_width():
    curve = LiveTrainingCurve(total=10, log_scale=True)
    with curve:
        for step in range(1, 11):
            curve.update(step, train_loss=10.0 ** (1 - step / 2), val_loss=10.0 ** (1 - step / 2.2),
                         val_acc=0.1 * step)
    width, _ = png_size(curve.view.output)
    assert width >= 700  # JupyterLab's output area is ~950 px wide; 504 px looked tiny
    axes = curve.view.figure.axes
    assert len(axes) == 2 and all(ax.get_legend() is not None for ax in axes)
    for ax in axes:
        assert ax.get_legend().get_texts()[0].get_fontsize() >= 9
        assert ax.xaxis.label.get_fontsize() >= 10
    log_axis = axes[0]
    curve.view.figure.canvas.draw()
    labels = [t.get_text() for t in log_axis.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3 and all(DECADE.match(label) for label in labels), labels


def test_graph_drawings_scale_down_to_the_output_width():
    x = Value(0.5, label="x")
    out = x
    for index in range(30):  # a long chain: graphviz draws it far wider than a notebook
        out = (out * Value(1.01, label=f"w{index}")).tanh()
    out.label = "loss"
    out.backward()
    drawing = draw_graph(out)
    if drawing.backend != "graphviz":
        pytest.skip("graphviz (dot) is not installed: the PNG fallback is scaled by JupyterLab")
    natural = float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', drawing.svg).group(1))
    assert natural * 4 / 3 > 968  # wider than the notebook column: the case that overflowed
    svg = drawing._repr_svg_()
    head = svg[svg.index("<svg"):svg.index(">", svg.index("<svg"))]
    assert 'width="100%"' in head and "height=" not in head and "viewBox" in head
    small = Value(1.0, label="x").tanh()
    small.backward()
    assert draw_graph(small)._repr_svg_() == draw_graph(small).svg  # small ones keep their size


def test_the_learning_rate_slider_shows_the_run_its_status_reports():
    widget = learning_rate_explorer(lambda lr: [1.0, 1.0 - lr], lr=0.1, lr_range=(1e-3, 10.0))
    widget.run(1e-2)
    assert math.isclose(widget.slider.value, 1e-2)
    assert widget.status.value.startswith("lr = 1.00e-02")
