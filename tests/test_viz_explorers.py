"""The explorers: plotted data, slider ranges, and the PNG in the Output widget (Agg, no kernel)."""
import base64
import math

import numpy as np
import pytest

from minigrad.viz import (difference_errors, finite_difference_explorer,
                          learning_rate_explorer)


def png_of(output):
    (item,) = output.outputs
    png = base64.b64decode(item["data"]["image/png"])
    assert png.startswith(b"\x89PNG")
    return png


def test_difference_errors_follow_the_truncation_orders():
    hs = np.array([1e-2, 1e-3])
    errors = difference_errors(math.exp, math.exp, 0.5, hs)
    # forward/backward: O(h); central: O(h^2); well above rounding error at these h.
    assert errors["forward"][0] / errors["forward"][1] == pytest.approx(10, rel=0.05)
    assert errors["backward"][0] / errors["backward"][1] == pytest.approx(10, rel=0.05)
    assert errors["central"][0] / errors["central"][1] == pytest.approx(100, rel=0.05)


def test_exact_differences_are_drawn_at_the_floor_not_dropped():
    # Central differences of a quadratic are exact: the error must stay positive for log axes.
    errors = difference_errors(lambda x: x * x, lambda x: 2 * x, 0.0, [0.5, 0.25])
    assert np.all(errors["central"] > 0)


def test_finite_difference_explorer_plots_errors_and_follows_the_slider():
    w = finite_difference_explorer(math.sin, math.cos, 1.0, log10_h=-4, log10_h_range=(-12, -1))
    assert (w.slider.min, w.slider.max, w.slider.value) == (-12, -1, -4)
    for name in ("forward", "backward", "central"):
        np.testing.assert_array_equal(w.lines[name].get_ydata(), w.errors[name])
        np.testing.assert_array_equal(w.lines[name].get_xdata(), w.hs)
    assert w.ax.get_xscale() == "log" and w.ax.get_yscale() == "log"
    first = png_of(w.output)
    w.slider.value = -8
    assert w.view.frames == 2
    assert w.markers["central"].get_xdata()[0] == pytest.approx(1e-8)
    h, errors = w.current_errors()
    assert w.markers["forward"].get_ydata()[0] == errors["forward"]
    assert "1e-08" in w.readout.value
    assert png_of(w.output) != first


def test_finite_difference_explorer_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    w = finite_difference_explorer(lambda x: x ** 3, lambda x: 3 * x ** 2, 2.0)
    png_of(w.output)


def test_functions_undefined_at_some_h_give_gaps_not_errors():
    # log is undefined left of 0: the backward and central differences fail for h >= x0.
    w = finite_difference_explorer(math.log, lambda x: 1 / x, 0.5, log10_h=0)
    assert np.isnan(w.errors["backward"][-1]) and np.isfinite(w.errors["forward"][-1])
    assert "nan" in w.readout.value
    png_of(w.output)


def test_value_returning_functions_are_accepted():
    from minigrad import Value
    errors = difference_errors(lambda x: Value(x) * Value(x), lambda x: Value(2 * x), 3.0, [1e-3])
    assert errors["central"][0] < 1e-8


def test_finite_difference_explorer_rejects_an_empty_range():
    with pytest.raises(ValueError, match="low < high"):
        finite_difference_explorer(math.sin, math.cos, 0.0, log10_h_range=(0, -3))


def test_learning_rate_explorer_overlays_one_curve_per_run():
    calls = []

    def train(lr):
        calls.append(lr)
        return [1.0 / (1 + lr * step) for step in range(20)]

    w = learning_rate_explorer(train, lr=1e-2, lr_range=(1e-3, 1.0))
    assert calls == [pytest.approx(1e-2)]
    assert w.slider.continuous_update is False
    w.slider.value = 0.1
    w.run_button.click()
    assert len(w.ax.lines) == 2 and len(w.runs) == 2
    np.testing.assert_allclose(w.ax.lines[1].get_ydata(), train(0.1))
    png_of(w.output)
    w.clear_button.click()
    assert not w.ax.lines


def test_learning_rate_explorer_survives_a_diverging_run():
    w = learning_rate_explorer(lambda lr: [1.0, 10.0, float("inf"), float("nan")])
    assert w.ax.get_yscale() == "log"
    png_of(w.output)


def test_learning_rate_explorer_waits_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    w = learning_rate_explorer(lambda lr: pytest.fail("must not train under nbgrader"))
    assert w.runs == {}
