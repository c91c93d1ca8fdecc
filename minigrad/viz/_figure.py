"""A matplotlib figure shown as a PNG inside an ipywidgets Output widget.

Why not pyplot or ipympl: pyplot keeps global state and the inline backend would print every
figure a second time; ipympl's `draw_idle` stays blank while the kernel is busy ("Run All").
Rendering with Agg to PNG bytes and replacing the Output widget's `outputs` in one assignment
updates live during a busy cell, never flickers, works without a kernel (scripts, tests), and
leaves an `image/png` in the widget state that nbclient stores with the notebook.
"""
import base64
import io
import os

import ipywidgets as widgets
import numpy as np
from PIL import Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_label(value, _position=None):
    """One style for the decades of every log axis of the course: "10⁻⁵", "10⁰", "10¹"
    (Unicode superscripts: as cheap to draw as plain text, unlike mathtext); other values plain
    ("0.2"). A matplotlib FuncFormatter function."""
    if value <= 0 or not np.isfinite(value):
        return f"{value:g}"
    exponent = int(np.round(np.log10(value)))
    if not np.isclose(value, 10.0 ** exponent, rtol=1e-9):
        return f"{value:g}"
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


def under_nbgrader():
    """True while nbgrader executes a notebook (autograde, validate): keep widgets cheap."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


class FigureView:
    """One Figure (no pyplot) and the Output widget it is drawn into.

    figsize in inches; dpi controls the PNG's pixel size (and so the cost of each frame).
    """

    def __init__(self, figsize=(6.4, 3.2), dpi=80):
        # No layout="constrained": it looks best but triples the cost of a frame on these
        # plots, so the views place their axes by hand instead.
        self.figure = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.output = widgets.Output()
        self.frames = 0          # PNGs pushed to the Output widget

    def render_png(self):
        """The figure as PNG bytes."""
        buffer = io.BytesIO()
        # Fast zlib level: a third of the encoding time, PNG a little larger.
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def canvas_png(self):
        """PNG bytes of what the canvas holds now, without drawing the figure again."""
        buffer = io.BytesIO()
        rgba = self.figure.canvas.buffer_rgba()
        Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def show(self, text="figure"):
        """Render the figure and make it the Output widget's only output."""
        self._push(self.render_png(), text)

    def show_canvas(self, text="figure"):
        """Show the canvas as drawn by the caller (e.g. a background and a few artists)."""
        self._push(self.canvas_png(), text)

    def _push(self, png, text):
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text},
            "metadata": {},
        },)
        self.frames += 1
