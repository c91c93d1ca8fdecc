"""An explorer of gradient flow: per-layer gradient norms of a deep stack against depth.

gradient_flow_explorer(norms): controls for depth, activation, initialisation and residual
connections; `norms(depth, activation, init, residual)` computes one gradient norm per layer
(the caller's network, NumPy or minigrad or torch) and the plot shows them on a log axis.
"""
import ipywidgets as widgets
import numpy as np

from ._figure import FigureView, power_label


class GradientFlowExplorer(widgets.VBox):
    """Dropdowns for activation and initialisation, a depth slider, a residual checkbox, and a
    log plot of the per-layer gradient norms (layer 1 = nearest the input).

    Attributes: controls (dict of the widgets), norms (the last (depth,) array plotted),
    output (the Output widget holding the PNG), view (the FigureView).
    """

    def __init__(self, norms, activations, inits, depth, depth_range, residual, dpi=80):
        self.compute = norms
        self.norms = np.zeros(0)
        self.controls = {
            "activation": widgets.Dropdown(options=list(activations), value=activations[0],
                                           description="activation"),
            "init": widgets.Dropdown(options=list(inits), value=inits[0], description="init"),
            "depth": widgets.IntSlider(value=int(depth), min=int(depth_range[0]), max=int(depth_range[1]),
                                       description="depth", continuous_update=False),
            "residual": widgets.Checkbox(value=bool(residual), description="residual: h + f(h)"),
        }
        self.readout = widgets.HTML()
        self.view = FigureView(figsize=(6.0, 3.4), dpi=dpi)
        self.output = self.view.output
        self.view.figure.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.9)
        self.ax = self.view.figure.add_subplot()
        rows = [widgets.HBox([self.controls["activation"], self.controls["init"]]),
                widgets.HBox([self.controls["depth"], self.controls["residual"]])]
        super().__init__(rows + [self.readout, self.output])
        for control in self.controls.values():
            control.observe(lambda _change: self.redraw(), names="value")
        self.redraw()

    def settings(self):
        """(depth, activation, init, residual) as the controls show them."""
        c = self.controls
        return int(c["depth"].value), c["activation"].value, c["init"].value, bool(c["residual"].value)

    def redraw(self):
        depth, activation, init, residual = self.settings()
        self.norms = np.asarray(self.compute(depth, activation, init, residual), dtype=np.float64)
        ax = self.ax
        ax.clear()
        layers = np.arange(1, len(self.norms) + 1)
        shown = np.where(self.norms > 0, self.norms, np.nan)  # a zero norm has no place on a log axis
        ax.semilogy(layers, shown, "o-", ms=3, lw=1.4, color="C0")
        ax.yaxis.set_major_formatter(power_label)
        ax.set_xlabel("layer (1 = nearest the input)")
        ax.set_ylabel("gradient norm |dL/dW|")
        name = f"{activation}{', residual' if residual else ''}, {init} init"
        ax.set_title(f"Per-layer gradient norms: {name}", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        finite = self.norms[np.isfinite(self.norms) & (self.norms > 0)]
        ratio = finite[0] / finite[-1] if len(finite) > 1 and len(finite) == len(self.norms) else float("nan")
        self.readout.value = (f"first layer / last layer: {ratio:.3g}" if np.isfinite(ratio)
                              else "some norms are zero or not finite (not drawn)")
        self.view.show(text=f"gradient norms per layer: {name}, depth {depth}")


def gradient_flow_explorer(norms, activations=("sigmoid", "tanh", "relu"),
                           inits=("small N(0, 0.01)", "Xavier", "He"), depth=20, depth_range=(2, 50),
                           residual=False):
    """A widget: per-layer gradient norms of a deep stack, redrawn when a control changes.

    norms(depth, activation, init, residual) -> (depth,) gradient norms, layer 1 first, for one
    of the given activations and inits. Display the returned widget (last expression of a cell,
    or IPython.display.display). Safe headless and under nbgrader (one computation on creation).
    """
    return GradientFlowExplorer(norms, tuple(activations), tuple(inits), depth, depth_range, residual)
