"""A training curve that redraws while the training loop runs, at a bounded cost.

    curve = LiveTrainingCurve(total=20, log_scale=True)
    display(curve)
    with curve:                       # starts the clock; draws the last frame on exit
        for epoch in range(1, 21):
            ...train one epoch...
            curve.update(epoch, train_loss=..., val_loss=..., train_acc=..., val_acc=...)

Works for any loop (minigrad, torch, plain NumPy): `update` takes numbers, NumPy scalars or
one-element tensors (anything with .item()). `curve(step, **metrics)` is the same call, so the
object can be passed wherever a callback is expected.
"""
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator, NullFormatter

from ._figure import FigureView

SPLIT_PREFIXES = ("train", "training", "val", "valid", "validation", "test")
# Before the first frame has been timed, assume it costs this much (seconds).
FIRST_FRAME_GUESS = 0.06


def split_metric_name(name):
    """'train_loss' -> ('loss', 'train'); 'val acc' -> ('acc', 'val'); 'lr' -> ('lr', 'lr')."""
    for separator in ("_", " ", "/", "-"):
        head, found, tail = name.partition(separator)
        if found and head.lower() in SPLIT_PREFIXES and tail:
            return tail, head
    return name, name


def as_float(value):
    """A Python float from a number, NumPy scalar or one-element tensor (minigrad or torch)."""
    if hasattr(value, "item"):
        value = value.item()
    return float(value)


class LiveTrainingCurve:
    """Train/validation metrics against the step, one panel per metric (loss, acc, ...).

    Frames are drawn only while the time spent inside `update` stays under `budget` (a fraction
    of the elapsed training time, default 5%), the cost of a full redraw kept in reserve for
    the final frame, and at most one frame per `min_interval` seconds. While the axes limits
    hold, a frame draws only the lines onto a cached background. `close()` (or leaving the
    `with` block) always draws the final frame: in a run shorter than about 2 s that frame
    alone is more than the budget.

    history: {metric name: (steps list, values list)}; widget: the VBox to display
    (a Label stating the latest step and values, above an Output widget holding the PNG).
    """

    def __init__(self, total=None, log_scale=False, budget=0.05, min_interval=0.25,
                 xlabel="epoch", title=None, figsize=(7.0, 2.8), dpi=72):
        self.total = total
        self.log_scale = log_scale
        self.budget = budget
        self.min_interval = min_interval
        self.xlabel = xlabel
        self.title = title
        self.history = {}
        self.panels = {}           # panel name -> list of metric names drawn on it
        self.view = FigureView(figsize=figsize, dpi=dpi)
        self.label = widgets.Label(value="waiting for the first update ...")
        self.widget = widgets.VBox([self.label, self.view.output])
        self.widget.add_class("minigrad-live-curve")
        self.overhead_seconds = 0.0   # all time spent inside update() and close()
        self.frame_seconds = FIRST_FRAME_GUESS       # the last frame's cost
        self.full_frame_seconds = FIRST_FRAME_GUESS  # the last full redraw's cost
        self.full_redraws = 0
        self._axes = {}
        self._lines = {}
        self._limits = {}
        self._background = None
        self._started = None
        self._last_frame = -np.inf
        self._last_label = -np.inf
        self._frame_is_stale = False
        self._last_step = None

    # ---- the training loop's side ------------------------------------------------------------
    def start(self):
        """Start the clock the budget is measured against (else: the first update)."""
        self._started = time.perf_counter()
        return self

    def update(self, step=None, **metrics):
        """Record metric values at `step` (default: previous step + 1); maybe draw a frame."""
        entered = time.perf_counter()
        if self._started is None:
            self._started = entered
        if step is None:
            step = 1 if self._last_step is None else self._last_step + 1
        self._last_step = step
        for name, value in metrics.items():
            if name not in self.history:
                self.history[name] = ([], [])
                panel, _ = split_metric_name(name)
                self.panels.setdefault(panel, []).append(name)
            steps, values = self.history[name]
            steps.append(step)
            values.append(as_float(value))
        self._frame_is_stale = True

        elapsed = entered - self._started
        allowed = self.budget * elapsed
        # Keep a full frame in reserve for close(): the whole run then stays within budget.
        if (entered - self._last_frame >= self.min_interval
                and self.overhead_seconds + self.frame_seconds + self.full_frame_seconds
                <= allowed):
            self.draw()
        elif (entered - self._last_label >= self.min_interval
              and self.overhead_seconds + self.full_frame_seconds <= allowed):
            self._set_label()
        self.overhead_seconds += time.perf_counter() - entered

    __call__ = update

    def close(self):
        """Draw the final frame (if anything changed since the last one)."""
        entered = time.perf_counter()
        if self._frame_is_stale:
            self.draw()
        self.overhead_seconds += time.perf_counter() - entered

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()
        return False

    # ---- drawing -------------------------------------------------------------------------------
    @property
    def frames(self):
        return self.view.frames

    def overhead_ratio(self, training_seconds):
        """Time spent in this object / training time without it."""
        return self.overhead_seconds / training_seconds

    def _set_label(self):
        self._last_label = time.perf_counter()
        where = f"{self.xlabel} {self._last_step}" + (f"/{self.total}" if self.total else "")
        latest = "   ".join(f"{name} {values[-1]:.4g}" for name, (_, values) in self.history.items())
        self.label.value = f"{where}:   {latest}"

    def _layout(self):
        """(Re)create one Axes per panel, side by side.

        Kept cheap to draw (every frame counts against the budget): panel names as y labels
        (axes titles cost a tick-label layout pass), one legend, few ticks.
        """
        figure = self.view.figure
        figure.clear()
        self._axes.clear()
        self._lines.clear()
        count = len(self.panels)
        figure.subplots_adjust(left=0.09 if count > 1 else 0.1, right=0.98, bottom=0.17,
                               top=0.86 if self.title else 0.95, wspace=0.28)
        for index, (panel, names) in enumerate(self.panels.items()):
            ax = figure.add_subplot(1, count, index + 1)
            self._axes[panel] = ax
            for name in names:
                _, series = split_metric_name(name)
                self._lines[name], = ax.plot([], [], lw=1.5,
                                             marker="." if series != "train" else None,
                                             label=series if series != name else name)
            if self.log_scale and "loss" in panel.lower():
                ax.set_yscale("log")
                # Labelled minor ticks cost more to draw than the rest of the frame.
                ax.yaxis.set_minor_formatter(NullFormatter())
            else:
                ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel(panel)
            ax.grid(True, alpha=0.3)
            labels = [self._lines[name].get_label() for name in names]
            if index == 0:
                first_labels = labels
            if index == 0 or labels != first_labels:  # same series everywhere: one legend
                ax.legend(fontsize=8, loc="upper right")  # "best" searches: slow
            for name in names:
                # Animated artists are left out of the background (set after the legend,
                # whose handles copy this flag).
                self._lines[name].set_animated(True)
        if self.title:
            figure.suptitle(self.title, fontsize=10)
        self._limits.clear()
        self._background = None

    def _sticky_limits(self, panel):
        """(xlim, ylim) for a panel that change only when the data leave them.

        Unchanged limits let a frame reuse the rendered background (axes, ticks, labels) and
        draw only the lines: about a fifth of the cost of a full redraw.
        """
        steps = [x for name in self.panels[panel] for x in self.history[name][0]]
        values = np.array([v for name in self.panels[panel] for v in self.history[name][1]])
        log = self._axes[panel].get_yscale() == "log"
        values = values[np.isfinite(values) & ((values > 0) if log else True)]
        previous = self._limits.get(panel)
        low, high = min(steps), max(steps)
        if self.total is not None and high <= self.total:
            xlim = (low - 0.02 * (self.total - low + 1), self.total + 0.02 * (self.total - low + 1))
        elif previous is not None and previous[0][0] <= low and high <= previous[0][1]:
            xlim = previous[0]
        else:  # double the room on the right each time it fills up
            xlim = (low - 0.02 * max(high - low, 1), low + 2 * max(high - low, 1))
        if not len(values):
            ylim = previous[1] if previous is not None else (0.1, 1.0) if log else (0.0, 1.0)
        elif (previous is not None and previous[1][0] <= values.min()
              and values.max() <= previous[1][1]):
            ylim = previous[1]
        elif log:
            ylim = (10.0 ** np.floor(np.log10(values.min())),
                    10.0 ** max(np.ceil(np.log10(values.max())),
                                np.floor(np.log10(values.min())) + 1))
        else:
            span = max(values.max() - values.min(), 0.1 * abs(values.max()), 1e-12)
            ylim = (values.min() - 0.15 * span, values.max() + 0.15 * span)
            if "acc" in panel.lower() and 0 <= values.min() and values.max() <= 1:
                # Accuracy creeps up to 1: fix the top there instead of redrawing for each gain.
                ylim = (max(ylim[0], 0.0), 1.0 + 0.02 * (1.0 - max(ylim[0], 0.0)))
        return xlim, ylim

    def draw(self):
        """Draw a frame now, whatever the budget says."""
        started = time.perf_counter()
        if set(self._lines) != set(self.history):
            self._layout()
        for name, (steps, values) in self.history.items():
            self._lines[name].set_data(steps, values)
        full = self._background is None
        for panel, ax in self._axes.items():
            limits = self._sticky_limits(panel)
            if limits != self._limits.get(panel):
                ax.set_xlim(limits[0])
                ax.set_ylim(limits[1])
                self._limits[panel] = limits
                full = True
        canvas = self.view.figure.canvas
        if full:
            canvas.draw()  # everything but the (animated) lines
            self._background = canvas.copy_from_bbox(self.view.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for line in self._lines.values():
            line.axes.draw_artist(line)
        self._set_label()
        self.view.show_canvas(text=self.label.value)
        self._last_frame = time.perf_counter()
        self._frame_is_stale = False
        self.frame_seconds = self._last_frame - started
        if full:
            self.full_frame_seconds = self.frame_seconds
            self.full_redraws += 1

    # ---- display -------------------------------------------------------------------------------
    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
