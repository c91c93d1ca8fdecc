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
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from ._figure import FigureView, power_label

FONT_SIZE = 10  # points; with dpi=90 about 12.5 px, the size of JupyterLab's own text

SPLIT_PREFIXES = ("train", "training", "val", "valid", "validation", "test")
# Before a curve has drawn, assume its first frame costs what the last curve's first frame
# cost in this process (starting from a new figure's typical first full draw on a 2-core
# machine, 0.05-0.15 s); a lines-only frame costs about a tenth.
first_frame_estimate = {"seconds": 0.1}


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
    of the elapsed training time, default 5%) with the final frame's cost kept in reserve, and
    at most one frame per `min_interval` seconds. While the axes limits hold, a frame draws
    only the lines onto a cached background (~5 ms instead of ~50-100 ms for a full redraw),
    so the first frame comes after about 2 s and the next ones every `min_interval`.
    `close()` (or leaving the `with` block) always draws the final frame: in a run shorter
    than about 2 s that frame, the figure's first full draw, is alone more than the budget; and
    a final frame whose data left the axes limits costs a full redraw instead of the
    lines-only frame reserved for it.

    history: {metric name: (steps list, values list)}; widget: the VBox to display
    (a Label stating the latest step and values, above an Output widget holding the PNG).
    """

    def __init__(self, total=None, log_scale=False, budget=0.05, min_interval=0.25,
                 xlabel="epoch", title=None, figsize=(9.0, 3.3), dpi=90, metrics=None):
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
        guess = first_frame_estimate["seconds"]
        self.frame_seconds = guess          # the last frame's cost
        self.full_frame_seconds = guess     # the last full redraw's cost
        self.blit_seconds = guess / 10      # the last lines-only frame's cost
        self.full_redraws = 0
        # Per panel: [step min, step max, value min, value max, smallest positive value],
        # kept as values arrive so planning a frame never rescans the history.
        self._ranges = {}
        self._axes = {}
        self._lines = {}
        self._limits = {}
        self._empty_panels = set()  # panels whose committed limits were drawn before any data
        self._background = None
        self._started = None
        self._last_frame = -np.inf
        self._last_label = -np.inf
        self._frame_is_stale = False
        self._last_step = None
        if metrics:
            # Known metric names let the axes be built and drawn now, before training starts,
            # so the loop never pays for a new figure's first draw (most of a short run's cost).
            for name in metrics:
                self._register(name)
            self.draw()
            self.label.value = "waiting for the first update ..."

    def _register(self, name):
        self.history[name] = ([], [])
        panel, _ = split_metric_name(name)
        self.panels.setdefault(panel, []).append(name)
        self._ranges.setdefault(panel, [np.inf, -np.inf, np.inf, -np.inf, np.inf])

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
                self._register(name)
            steps, values = self.history[name]
            steps.append(step)
            values.append(as_float(value))
            self._extend_range(split_metric_name(name)[0], step, values[-1])
        self._frame_is_stale = True

        elapsed = entered - self._started
        allowed = self.budget * elapsed
        if entered - self._last_frame >= self.min_interval:
            limits, full = self._plan()
            cost = self.full_frame_seconds if full else self.blit_seconds
            # Keep the final frame's cost in reserve for close(): a lines-only frame, as the
            # axes leave room for the data to come.
            reserve = self.blit_seconds
            if self.overhead_seconds + cost + reserve <= allowed:
                self.draw(limits, full)
            elif (entered - self._last_label >= self.min_interval
                  and self.overhead_seconds + reserve <= allowed):
                self._set_label()
        self.overhead_seconds += time.perf_counter() - entered

    __call__ = update

    def close(self):
        """Draw the final frame (if anything changed since the last one)."""
        entered = time.perf_counter()
        if self._frame_is_stale:
            self.draw(*self._plan())
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
        latest = "   ".join(f"{name} {values[-1]:.4g}"
                             for name, (_, values) in self.history.items() if values)
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
        figure.subplots_adjust(left=0.11 if count > 1 else 0.09, right=0.98, bottom=0.17,
                               top=0.86 if self.title else 0.95, wspace=0.3)
        # One colour per series (train, val, ...) across all panels.
        series_order = list(dict.fromkeys(split_metric_name(name)[1] for name in self.history))
        for index, (panel, names) in enumerate(self.panels.items()):
            ax = figure.add_subplot(1, count, index + 1)
            self._axes[panel] = ax
            for name in names:
                _, series = split_metric_name(name)
                self._lines[name], = ax.plot([], [], lw=1.5,
                                             color=f"C{series_order.index(series) % 10}",
                                             marker="." if series != "train" else None,
                                             label=series if series != name else name)
            if self._is_log(panel):
                ax.set_yscale("log")
                # 10⁻² labels in Unicode (the default 10^k go through mathtext, slow to lay
                # out) and no minor ticks: they are a quarter of a new figure's first draw.
                ax.yaxis.set_major_formatter(FuncFormatter(power_label))
                ax.yaxis.set_minor_locator(NullLocator())
            else:
                ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.set_xlabel(self.xlabel, fontsize=FONT_SIZE)
            ax.set_ylabel(panel, fontsize=FONT_SIZE)
            ax.tick_params(labelsize=FONT_SIZE - 1)
            ax.grid(True, axis="y", alpha=0.3)
            # Every panel its legend (its series may differ from the others'), in a fixed
            # corner ("best" searches, slowly) where the curve will not be.
            ax.legend(fontsize=FONT_SIZE - 1, loc="lower right" if "acc" in panel.lower()
                      else "upper right")
            for name in names:
                # Animated artists are left out of the background (set after the legend,
                # whose handles copy this flag).
                self._lines[name].set_animated(True)
        if self.title:
            figure.suptitle(self.title, fontsize=FONT_SIZE + 1)
        self._limits = {}
        self._background = None

    def _extend_range(self, panel, step, value):
        r = self._ranges.setdefault(panel, [np.inf, -np.inf, np.inf, -np.inf, np.inf])
        r[0], r[1] = min(r[0], step), max(r[1], step)
        if np.isfinite(value):
            r[2], r[3] = min(r[2], value), max(r[3], value)
            if value > 0:
                r[4] = min(r[4], value)

    def _has_data(self, panel):
        """Whether the panel holds a value its y axis can show (positive, on a log axis)."""
        _, _, low, high, low_positive = self._ranges[panel]
        return (low_positive if self._is_log(panel) else low) <= high

    def _is_log(self, panel):
        return self.log_scale and "loss" in panel.lower()

    def _sticky_limits(self, panel):
        """(xlim, ylim) for a panel that change only when the data leave them.

        Unchanged limits let a frame reuse the rendered background (axes, ticks, labels) and
        draw only the lines, about a tenth of the cost of a full redraw; so the limits leave
        room for the data to come (the x range up to `total`, a decade below the loss).
        """
        step_low, step_high, low, high, low_positive = self._ranges[panel]
        previous = self._limits.get(panel)
        # The y range drawn before any data (declared metrics) is a placeholder: keeping it
        # would pin the accuracy of a run that starts at 0.8 to a 0-1 axis, flat to the eye.
        previous_y = None if previous is None or panel in self._empty_panels else previous[1]
        if self.total is not None and step_high <= self.total:
            step_low = min(step_low, 0)  # the axis starts at 0 (also before any data)
            pad = 0.02 * (self.total - step_low + 1)
            xlim = (step_low - pad, self.total + pad)
        elif previous is not None and previous[0][0] <= step_low and step_high <= previous[0][1]:
            xlim = previous[0]
        else:  # double the room on the right each time it fills up
            width = max(step_high - step_low, 1)
            xlim = (step_low - 0.02 * width, step_low + 2 * width)
        if self._is_log(panel):
            low, high = low_positive, high
        if not low <= high:  # nothing finite (and positive, for a log axis) yet
            ylim = previous[1] if previous is not None else (
                (0.1, 1.0) if self._is_log(panel) else (0.0, 1.0))
        elif previous_y is not None and previous_y[0] <= low and high <= previous_y[1]:
            ylim = previous_y
        elif self._is_log(panel):
            bottom = np.floor(np.log10(low)) - 1   # a decade of room below: losses fall
            ylim = (10.0 ** bottom, 10.0 ** max(np.ceil(np.log10(high)), bottom + 2))
        elif "acc" in panel.lower() and 0 <= low and high <= 1:
            # Accuracy creeps up to 1: fix the top there, the bottom on a tenth below the data.
            bottom = max(np.floor(10 * low - 0.5) / 10, 0.0)
            ylim = (bottom, 1.0 + 0.02 * (1.0 - bottom))
        elif low >= 0:
            ylim = (0.0, 1.15 * high if high > 0 else 1.0)  # losses: from 0, room above
        else:
            span = max(high - low, 0.1 * abs(high), 1e-12)
            ylim = (low - 0.25 * span, high + 0.25 * span)
        return xlim, ylim

    def _plan(self):
        """The limits of the next frame, and whether it needs a full redraw."""
        limits = {panel: self._sticky_limits(panel) for panel in self.panels}
        full = (self._background is None or set(self._lines) != set(self.history)
                or any(limits[panel] != self._limits.get(panel) for panel in limits))
        return limits, full

    def draw(self, limits=None, full=None):
        """Draw a frame now, whatever the budget says (limits and full: from _plan)."""
        started = time.perf_counter()
        if limits is None:
            limits, full = self._plan()
        if set(self._lines) != set(self.history):
            self._layout()
            full = True
        for name, (steps, values) in self.history.items():
            self._lines[name].set_data(steps, values)
        canvas = self.view.figure.canvas
        if full:
            for panel, ax in self._axes.items():
                ax.set_xlim(limits[panel][0])
                ax.set_ylim(limits[panel][1])
            self._limits = dict(limits)
            self._empty_panels = {panel for panel in limits if not self._has_data(panel)}
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
            if not self.full_redraws:
                first_frame_estimate["seconds"] = self.frame_seconds
            self.full_frame_seconds = self.frame_seconds
            self.full_redraws += 1
        else:
            self.blit_seconds = self.frame_seconds

    # ---- display -------------------------------------------------------------------------------
    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
