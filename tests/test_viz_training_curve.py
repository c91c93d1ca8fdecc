"""LiveTrainingCurve: plotted data equals the logged values; frames stay within the time budget."""
import base64

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz import LiveTrainingCurve
from minigrad.viz import training_curve


class FakeClock:
    """Stands in for time.perf_counter: advances only when the test says so."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(training_curve, "time", fake)
    monkeypatch.setitem(training_curve.first_frame_estimate, "seconds", 0.05)
    return fake


def test_split_metric_name():
    split = training_curve.split_metric_name
    assert split("train_loss") == ("loss", "train")
    assert split("val acc") == ("acc", "val")
    assert split("validation/loss") == ("loss", "validation")
    assert split("lr") == ("lr", "lr")
    assert split("training_time_s") == ("time_s", "training")


def test_plotted_lines_equal_the_logged_values():
    curve = LiveTrainingCurve(total=5, log_scale=True)
    train_losses = [2.3, 1.1, 0.7, 0.5, 0.41]
    val_losses = [2.2, 1.3, 0.9, 0.8, 0.79]
    for epoch, (train, val) in enumerate(zip(train_losses, val_losses), start=1):
        curve.update(epoch, train_loss=train, val_loss=val, train_acc=1 - train / 3,
                     val_acc=np.float32(1 - val / 3))
    curve.close()
    assert list(curve.panels) == ["loss", "acc"]
    np.testing.assert_array_equal(curve._lines["train_loss"].get_ydata(), train_losses)
    np.testing.assert_array_equal(curve._lines["val_loss"].get_ydata(), val_losses)
    np.testing.assert_array_equal(curve._lines["val_loss"].get_xdata(), [1, 2, 3, 4, 5])
    assert curve._axes["loss"].get_yscale() == "log"
    assert curve._axes["acc"].get_yscale() == "linear"
    assert curve.label.value.startswith("epoch 5/5:")
    (item,) = curve.view.output.outputs
    assert base64.b64decode(item["data"]["image/png"]).startswith(b"\x89PNG")


def test_series_logged_at_different_steps_keep_their_own_steps():
    curve = LiveTrainingCurve(xlabel="step")
    for step in range(1, 11):
        curve.update(step, train_loss=1.0 / step)
        if step % 5 == 0:
            curve.update(step, val_loss=1.5 / step)
    curve.close()
    np.testing.assert_array_equal(curve._lines["val_loss"].get_xdata(), [5, 10])
    assert curve.history["train_loss"][0] == list(range(1, 11))


def test_steps_default_to_counting_and_tensors_are_accepted():
    curve = LiveTrainingCurve()
    curve(train_loss=mg.Tensor(np.float32(0.5)))
    curve(train_loss=np.array(0.25))
    curve.close()
    assert curve.history["train_loss"] == ([1, 2], [0.5, 0.25])
    torch = pytest.importorskip("torch")
    curve.update(train_loss=torch.tensor(0.125))
    assert curve.history["train_loss"][1][-1] == 0.125


def test_no_frame_before_the_budget_allows_one(clock):
    curve = LiveTrainingCurve(budget=0.05, min_interval=0.25)
    curve.start()
    # First frame estimated at 0.05 s plus a lines-only final frame (0.005 s) in reserve:
    # needs 0.05 * elapsed >= 0.055 s, that is 1.1 s. (Steps of 0.125 s, exact in binary.)
    for step in range(1, 9):
        clock.now += 0.125
        curve.update(step, train_loss=1.0 / step)
    assert curve.frames == 0
    clock.now += 0.125
    curve.update(9, train_loss=1 / 9)
    assert curve.frames == 1
    curve.close()  # nothing new since that frame
    assert curve.frames == 1
    clock.now += 0.125
    curve.update(10, train_loss=1 / 10)
    assert curve.frames == 1  # min_interval not yet over
    curve.close()
    assert curve.frames == 2
    curve.close()  # nothing new: no redraw
    assert curve.frames == 2


def test_the_budget_holds_with_real_frame_costs(clock):
    # In (fake) time, a full frame costs 0.1 s and a lines-only frame 0.005 s; the first
    # frame's cost is known from an earlier curve, as in a kernel that has drawn one before.
    training_curve.first_frame_estimate["seconds"] = 0.1
    curve = LiveTrainingCurve(total=400, xlabel="step")
    canvas, view = curve.view.figure.canvas, curve.view
    real_canvas_draw, real_show = canvas.draw, view.show_canvas

    def slow_canvas_draw():
        clock.now += 0.095
        real_canvas_draw()

    def slow_show(text):
        clock.now += 0.005
        real_show(text)

    canvas.draw, view.show_canvas = slow_canvas_draw, slow_show
    curve.start()
    for step in range(1, 401):
        clock.now += 0.02  # an 8 s run
        curve.update(step, train_loss=2.0 * 0.995 ** step)
        assert curve.overhead_seconds <= 0.05 * (clock.now - curve._started) + 1e-9
    curve.close()
    assert curve.full_redraws == 1 and curve.frames > 10
    assert curve.overhead_seconds <= 0.05 * (clock.now - curve._started)
    assert training_curve.first_frame_estimate["seconds"] == pytest.approx(0.1)


def test_frames_are_spaced_by_min_interval(clock):
    curve = LiveTrainingCurve(budget=1.0, min_interval=0.5).start()
    for step in range(1, 101):
        clock.now += 0.1
        curve.update(step, train_loss=1.0 / step)
    # The fake clock stands still inside update, so only min_interval limits: one per 5 steps.
    assert 19 <= curve.frames <= 20


def test_declared_metrics_draw_empty_axes_before_training_starts():
    curve = LiveTrainingCurve(total=10, metrics=("train_loss", "val_loss", "val_acc"))
    # Drawn at construction, outside the training budget: nothing counted as overhead yet.
    assert curve.frames == 1 and curve.overhead_seconds == 0.0
    assert set(curve.panels) == {"loss", "acc"}
    assert curve.view.output.outputs[0]["data"]["image/png"]
    assert curve.label.value.startswith("waiting")
    curve.update(1, train_loss=2.0, val_loss=2.5, val_acc=0.25)
    curve.close()
    assert curve.history["train_loss"] == ([1], [2.0])
    assert curve.label.value.startswith("epoch 1/10")


def test_axes_drawn_before_the_data_take_the_datas_range():
    """Declared metrics draw 0-1 axes before training; an accuracy climbing from 0.83 to 1 must
    then get an axis that shows the climb (02's moons panel was flat on 0-1, issue 17)."""
    curve = LiveTrainingCurve(total=150, xlabel="step", metrics=["train_loss", "train_acc"])
    accuracies = np.linspace(0.83, 1.0, 31)
    for step, accuracy in zip(range(0, 151, 5), accuracies):
        curve.update(step, train_loss=0.2 - step / 1000, train_acc=accuracy)
    curve.close()
    bottom, top = curve._axes["acc"].get_ylim()
    assert 0.7 <= bottom < 0.83 and 1.0 <= top < 1.05
    # The loss too: values under 0.2 are not drawn on the placeholder's 0-1.
    assert curve._axes["loss"].get_ylim()[1] < 0.3
