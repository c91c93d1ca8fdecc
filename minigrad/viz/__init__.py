"""Widgets and plots for seeing what backprop computes (JupyterLab 4, ipywidgets 8).

Each one draws with matplotlib's Agg renderer into an ipywidgets Output widget, so it needs no
browser to import or run, updates while a cell is still running ("Run All"), and works the
same under nbclient and nbgrader. NumPy, matplotlib and ipywidgets only: torch models are
handled by duck typing.

    finite_difference_explorer(f, df, x0)      slider over log10 h; difference errors vs h
    learning_rate_explorer(train)              log slider over lr; overlaid loss curves
    LiveTrainingCurve(...)                     train/val loss and accuracy during training
    loss_landscape_explorer(model, loss_fn)    1-D/2-D landscapes, optimiser path on a contour
    landscape_1d / landscape_2d / linear_interpolation / trajectory_landscape  (the numbers)
    draw_graph(value_or_tensor)                the computational graph, graphviz or matplotlib
    gradient_flow_explorer(norms)              per-layer gradient norms against depth, activation, init
"""
from .explorers import (QUOTIENT_COLORS, QUOTIENT_LEGEND, QUOTIENT_STYLES, FiniteDifferenceExplorer,
                        LearningRateExplorer, difference_errors, finite_difference_explorer,
                        learning_rate_explorer)
from .graph import GraphDrawing, draw_graph
from .gradient_flow import GradientFlowExplorer, gradient_flow_explorer
from .landscape import (Landscape1D, Landscape2D, Trajectory, filter_normalize,
                        landscape_1d, landscape_2d, linear_interpolation, load_parameter_arrays,
                        parameter_arrays, plot_landscape_1d, plot_landscape_2d, random_direction,
                        trajectory_landscape)
from .landscape_explorer import LossLandscapeExplorer, loss_landscape_explorer
from .training_curve import LiveTrainingCurve

__all__ = ["QUOTIENT_COLORS", "QUOTIENT_LEGEND", "QUOTIENT_STYLES",
           "finite_difference_explorer", "FiniteDifferenceExplorer", "difference_errors",
           "learning_rate_explorer", "LearningRateExplorer", "LiveTrainingCurve",
           "draw_graph", "GraphDrawing", "gradient_flow_explorer", "GradientFlowExplorer", "loss_landscape_explorer", "LossLandscapeExplorer",
           "Landscape1D", "Landscape2D", "Trajectory", "filter_normalize", "random_direction",
           "landscape_1d", "landscape_2d", "linear_interpolation", "trajectory_landscape",
           "parameter_arrays", "load_parameter_arrays", "plot_landscape_1d",
           "plot_landscape_2d"]
