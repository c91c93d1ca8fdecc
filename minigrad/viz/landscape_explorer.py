"""A widget around minigrad.viz.landscape: choose the view, resolution and distance, press Run."""
import time

import ipywidgets as widgets

from . import landscape as L
from ._figure import FigureView, under_nbgrader

MODES = {"1-D random direction": "1d", "2-D random directions": "2d",
         "optimiser path (PCA plane)": "path", "interpolation start → end": "interpolation"}


class LossLandscapeExplorer(widgets.VBox):
    """Controls (view, resolution, distance, Run), a progress bar and the plot.

    model: minigrad or torch module; loss_fn(model) -> scalar on a fixed batch;
    trajectory: Trajectory (or snapshot list) for the PCA view; start/end: parameter-array
    lists for the interpolation view. landscape: the last Landscape1D/2D computed.
    """

    def __init__(self, model, loss_fn, trajectory=None, start=None, end=None, mode=None,
                 resolution=21, distance=1.0, seed=0, run_initial=True, dpi=80):
        self.model, self.loss_fn, self.trajectory = model, loss_fn, trajectory
        self.start, self.end = start, end
        self.landscape = None
        available = [label for label, key in MODES.items()
                     if key in ("1d", "2d")
                     or (key == "path" and trajectory is not None)
                     or (key == "interpolation" and start is not None)]
        default = mode if mode in available else (
            "optimiser path (PCA plane)" if trajectory is not None else "2-D random directions")
        self.mode = widgets.Dropdown(options=available, value=default, description="view")
        self.resolution = widgets.IntSlider(value=resolution, min=3, max=51, step=2,
                                            description="resolution", continuous_update=False)
        # The random-direction views span [-distance, distance] on their axes; the path and
        # interpolation views are placed by the trajectory, so there the slider is disabled.
        self.distance = widgets.FloatLogSlider(value=distance, base=10, min=-2, max=1, step=0.1,
                                               description="distance", readout_format=".2g",
                                               continuous_update=False,
                                               tooltip="half-width of the random-direction views")
        self.seed = seed
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="grid",
                                            layout=widgets.Layout(width="320px"))
        self.status = widgets.Label()
        self.view = FigureView(figsize=(6.0, 4.2), dpi=dpi)
        self.output = self.view.output
        super().__init__([
            widgets.HBox([self.mode, self.run_button]),
            widgets.HBox([self.resolution, self.distance]),
            widgets.HBox([self.progress, self.status]),
            self.output,
        ])
        self.run_button.on_click(lambda _: self.run())
        self.mode.observe(lambda _: self._sync_distance(), names="value")
        self._sync_distance()
        if run_initial and not under_nbgrader():
            self.run()
        else:
            self.status.value = "press Run to compute the landscape"

    def _sync_distance(self):
        self.distance.disabled = MODES[self.mode.value] not in ("1d", "2d")

    def _report(self, done, total):
        # One widget message per ~2% of the grid: a message per point would cost more than a point.
        step = max(1, total // 50)
        if done == total or done % step == 0:
            self.progress.max = total
            self.progress.value = done

    def run(self):
        """Compute the chosen landscape and draw it; returns the Landscape1D/2D."""
        key = MODES[self.mode.value]
        started = time.perf_counter()
        self.status.value = "computing ..."
        options = dict(progress=self._report)
        if key == "1d":
            landscape = L.landscape_1d(self.model, self.loss_fn, distance=self.distance.value,
                                       resolution=self.resolution.value, seed=self.seed, **options)
        elif key == "2d":
            landscape = L.landscape_2d(self.model, self.loss_fn, distance=self.distance.value,
                                       resolution=self.resolution.value, seed=self.seed, **options)
        elif key == "path":
            landscape = L.trajectory_landscape(self.model, self.loss_fn, self.trajectory,
                                               resolution=self.resolution.value, **options)
        else:
            landscape = L.linear_interpolation(self.model, self.loss_fn, self.start, self.end,
                                               **options)
        self.landscape = landscape
        figure = self.view.figure
        figure.clear()
        ax = figure.add_subplot()
        if isinstance(landscape, L.Landscape2D):
            L.plot_landscape_2d(landscape, ax)
        else:
            L.plot_landscape_1d(landscape, ax)
        figure.subplots_adjust(left=0.12, right=0.97 if isinstance(landscape, L.Landscape1D)
                               else 0.93, bottom=0.12, top=0.92)
        self.view.show(text=landscape.title)
        points = landscape.losses.size
        self.status.value = (f"{points} points in {time.perf_counter() - started:.1f} s"
                             + ("  (tiny grid: nbgrader)" if under_nbgrader() else ""))
        return landscape


def loss_landscape_explorer(model, loss_fn, trajectory=None, start=None, end=None, mode=None,
                            resolution=21, distance=1.0, seed=0, run_initial=True):
    """A widget to draw the model's loss landscape (see LossLandscapeExplorer)."""
    return LossLandscapeExplorer(model, loss_fn, trajectory=trajectory, start=start, end=end,
                                 mode=mode, resolution=resolution, distance=distance, seed=seed,
                                 run_initial=run_initial)
