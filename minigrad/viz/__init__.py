"""Widgets and plots for seeing what backprop computes (JupyterLab 4, ipywidgets 8).

Each one draws with matplotlib's Agg renderer into an ipywidgets Output widget, so it needs no
browser to import or run, updates while a cell is still running ("Run All"), and works the
same under nbclient and nbgrader. NumPy, matplotlib and ipywidgets only: torch models are
handled by duck typing.

    finite_difference_explorer(f, df, x0)      slider over log10 h; difference errors vs h
    learning_rate_explorer(train)              log slider over lr; overlaid loss curves
    LiveTrainingCurve(...)                     train/val loss and accuracy during training
"""
from .explorers import (FiniteDifferenceExplorer, LearningRateExplorer, difference_errors,
                        finite_difference_explorer, learning_rate_explorer)
from .training_curve import LiveTrainingCurve

__all__ = ["finite_difference_explorer", "FiniteDifferenceExplorer", "difference_errors",
           "learning_rate_explorer", "LearningRateExplorer", "LiveTrainingCurve"]
