"""Explorers: a slider, a computation, a plot that follows the slider.

finite_difference_explorer: error of forward, backward and central differences against h.
learning_rate_explorer: re-runs a short training for a chosen learning rate and overlays curves.
"""
import math

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import FuncFormatter

from ..gradcheck import backward_difference, central_difference, forward_difference
from ._figure import FigureView, under_nbgrader

# Where a difference is exact (error 0) a log axis has no place for it: draw it at this floor.
ERROR_FLOOR = 1e-20

# One look per difference quotient wherever the course plots them (this explorer, the
# notebooks' static plots: ``ax.loglog(hs, errors, **QUOTIENT_STYLES["forward"])``). The forward
# and backward errors are nearly equal (h/2 |f''| both), so backward is dashed on top of a wider
# solid forward line: both stay visible where they coincide.
QUOTIENT_STYLES = {"forward": {"color": "C0", "ls": "-", "lw": 2.4},
                   "backward": {"color": "C1", "ls": (0, (4, 3)), "lw": 1.5},
                   "central": {"color": "C2", "ls": "-", "lw": 1.5}}
QUOTIENT_COLORS = {name: style["color"] for name, style in QUOTIENT_STYLES.items()}
# A fixed legend place: the error curves are V-shaped, high at both ends of the h axis, so the
# top middle stays clear ("best" moved the legend whenever the slider moved a marker).
QUOTIENT_LEGEND = "upper center"


def _evaluate(f, x):
    """f(x) as a float; NaN where f is undefined (math.log(-1), overflow), so no h crashes the plot.

    f may return a float, a NumPy scalar, a one-element tensor or a minigrad Value.
    """
    try:
        y = f(x)
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError):
        return float("nan")
    if hasattr(y, "item"):
        y = y.item()
    elif hasattr(y, "data") and hasattr(y, "grad"):  # a minigrad Value
        y = y.data
    return float(y)


def difference_errors(f, df, x0, hs):
    """|forward − f'(x0)|, |backward − f'(x0)|, |central − f'(x0)| for each h in hs.

    f: float -> float; df: float -> float (the exact derivative); hs: (n,) step sizes.
    Returns a dict of three (n,) float64 arrays, floored at ERROR_FLOOR for log axes
    (NaN where f could not be evaluated).
    """
    x0 = float(x0)
    exact = _evaluate(df, x0)
    hs = np.asarray(hs, dtype=np.float64)
    safe_f = lambda x: _evaluate(f, x)  # noqa: E731
    return {name: np.maximum(np.abs(np.array([quotient(safe_f, x0, h) for h in hs]) - exact),
                             ERROR_FLOOR)
            for name, quotient in (("forward", forward_difference),
                                   ("backward", backward_difference),
                                   ("central", central_difference))}


class FiniteDifferenceExplorer(widgets.VBox):
    """A log10(h) slider above a log-log plot of the three difference errors against h.

    Attributes: slider (FloatSlider over log10 h), output (Output widget holding the PNG),
    hs (n,) and errors (dict of (n,) arrays) as plotted, view (the FigureView).
    """

    def __init__(self, f, df, x0, log10_h=-5.0, log10_h_range=(-16.0, 0.0), points=161,
                 title=None, continuous_update=False, dpi=80):
        low, high = map(float, log10_h_range)
        if not low < high:
            raise ValueError(f"log10_h_range must be (low, high) with low < high, "
                             f"got {log10_h_range}.")
        self.f, self.df, self.x0 = f, df, float(x0)
        self.hs = np.logspace(low, high, points)
        self.errors = difference_errors(f, df, self.x0, self.hs)
        self.slider = widgets.FloatSlider(
            value=min(max(float(log10_h), low), high), min=low, max=high, step=0.25,
            description="log10 h", readout_format=".2f", continuous_update=continuous_update,
            layout=widgets.Layout(width="420px"))
        self.readout = widgets.HTML()
        self.view = FigureView(figsize=(6.0, 3.6), dpi=dpi)
        self.output = self.view.output
        self._title = title or f"Difference quotients of f at x0 = {self.x0:g}"
        self._build_plot()
        super().__init__([self.slider, self.readout, self.output])
        self.slider.observe(self._on_slider, names="value")
        self.redraw()

    def _build_plot(self):
        self.view.figure.subplots_adjust(left=0.14, right=0.97, bottom=0.14, top=0.91)
        ax = self.view.figure.add_subplot()
        labels = {"forward": "forward  (f(x+h) − f(x)) / h",
                  "backward": "backward (f(x) − f(x−h)) / h",
                  "central": "central  (f(x+h) − f(x−h)) / 2h"}
        self.lines = {}
        for name, label in labels.items():
            self.lines[name], = ax.loglog(self.hs, self.errors[name], label=label,
                                          **QUOTIENT_STYLES[name])
        self.markers = {name: ax.plot([], [], "o", color=QUOTIENT_COLORS[name], ms=7, zorder=5)[0]
                        for name in labels}
        self.h_line = ax.axvline(1.0, color="0.4", ls="--", lw=1)
        ax.set_xlabel("step h")
        ax.set_ylabel("|estimate − f'(x0)|")
        ax.set_title(self._title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc=QUOTIENT_LEGEND)
        self.ax = ax

    def current_errors(self):
        """(h, {name: error}) at the slider's h, computed afresh (not read off the grid)."""
        h = 10.0 ** self.slider.value
        errors = difference_errors(self.f, self.df, self.x0, [h])
        return h, {name: float(values[0]) for name, values in errors.items()}

    def redraw(self):
        h, errors = self.current_errors()
        for name, marker in self.markers.items():
            marker.set_data([h], [errors[name]])
        self.h_line.set_xdata([h, h])
        self.readout.value = (f"h = {h:.3g} &nbsp; forward error {errors['forward']:.3g}"
                              f" &nbsp; backward {errors['backward']:.3g}"
                              f" &nbsp; central {errors['central']:.3g}")
        self.view.show(text=f"finite-difference errors at h = {h:.3g}")

    def _on_slider(self, change):
        self.redraw()


def finite_difference_explorer(f, df, x0, log10_h=-5.0, log10_h_range=(-16.0, 0.0), points=161,
                               title=None, continuous_update=False):
    """A widget: slider over log10 h; forward, backward and central errors against h (log-log).

    f, df: float -> float (df the exact derivative); x0: the point. The plot redraws when the
    slider is released (continuous_update=True: while it is dragged). Display the returned widget
    (last expression of a cell, or IPython.display.display). Safe headless and under nbgrader.
    """
    return FiniteDifferenceExplorer(f, df, x0, log10_h=log10_h, log10_h_range=log10_h_range,
                                    points=points, title=title,
                                    continuous_update=continuous_update)


class LearningRateExplorer(widgets.VBox):
    """A log slider for the learning rate and a Run button; each run's curve is overlaid.

    train(lr) -> sequence of losses (one per step or epoch). runs: {lr: np.ndarray of losses}.
    """

    def __init__(self, train, lr=1e-2, lr_range=(1e-4, 1.0), log_scale=True, run_initial=True,
                 max_curves=8, dpi=80):
        low, high = (math.log10(v) for v in lr_range)
        self.train = train
        self.runs = {}
        self.max_curves = max_curves
        self.slider = widgets.FloatLogSlider(value=lr, base=10, min=low, max=high, step=0.1,
                                             description="lr", readout_format=".2e",
                                             continuous_update=False,
                                             layout=widgets.Layout(width="380px"))
        self.run_button = widgets.Button(description="Run", button_style="primary",
                                         icon="play", layout=widgets.Layout(width="90px"))
        self.clear_button = widgets.Button(description="Clear", layout=widgets.Layout(width="90px"))
        self.status = widgets.Label()
        self.view = FigureView(figsize=(6.0, 3.4), dpi=dpi)
        self.output = self.view.output
        self.view.figure.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.9)
        self.ax = self.view.figure.add_subplot()
        self.log_scale = log_scale
        super().__init__([widgets.HBox([self.slider, self.run_button, self.clear_button]),
                          self.status, self.output])
        self.run_button.on_click(lambda _: self.run())
        self.clear_button.on_click(lambda _: self.clear())
        if run_initial:
            self.run()
        else:
            self.redraw()

    def run(self, lr=None):
        """Train with lr (default: the slider's) and add its curve; returns the losses."""
        if lr is not None:  # the slider shows the run the status reports
            self.slider.value = float(lr)
        lr = float(self.slider.value if lr is None else lr)
        self.status.value = f"training with lr = {lr:.2e} ..."
        losses = np.asarray([float(v) for v in self.train(lr)], dtype=np.float64)
        self.runs[lr] = losses
        while len(self.runs) > self.max_curves:  # oldest first: dicts keep insertion order
            self.runs.pop(next(iter(self.runs)))
        final = losses[-1] if len(losses) else float("nan")
        self.status.value = f"lr = {lr:.2e}: final loss {final:.4g} after {len(losses)} steps"
        self.redraw()
        return losses

    def clear(self):
        self.runs.clear()
        self.status.value = "cleared"
        self.redraw()

    def redraw(self):
        ax = self.ax
        ax.clear()
        for index, (lr, losses) in enumerate(sorted(self.runs.items())):
            # Diverged runs produce inf/nan; cut them off where they blow up.
            finite = np.where(np.isfinite(losses), losses, np.nan)
            ax.plot(np.arange(1, len(losses) + 1), finite, lw=1.4, label=f"lr = {lr:.2e}",
                    color=f"C{index % 10}")
        finite_runs = [v[np.isfinite(v)] for v in self.runs.values()]
        if self.log_scale and finite_runs and all(len(v) and v.min() > 0 for v in finite_runs):
            ax.set_yscale("log")
            # Plain numbers: within one decade the default labels read "2.3×10⁰".
            plain = FuncFormatter(lambda value, _: f"{value:.3g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title("Training loss for each learning rate tried", fontsize=10)
        ax.grid(True, alpha=0.3)
        if self.runs:
            ax.legend(fontsize=8, loc="best")
        self.view.show(text="learning-rate explorer")


def learning_rate_explorer(train, lr=1e-2, lr_range=(1e-4, 1.0), log_scale=True, run_initial=None):
    """A widget: log slider for the learning rate, Run button, overlaid loss curves.

    train(lr) -> sequence of losses of a short training run. The first run happens on
    creation, except under nbgrader (run_initial defaults to "not under nbgrader").
    """
    if run_initial is None:
        run_initial = not under_nbgrader()
    return LearningRateExplorer(train, lr=lr, lr_range=lr_range, log_scale=log_scale,
                                run_initial=run_initial)
