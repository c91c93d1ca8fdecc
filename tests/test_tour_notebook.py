"""Execute notebooks/00_tour.py headless (nbclient) and check the widget state it stores.

The stored state is what a reader of the saved notebook (or JupyterLab reopening it) sees:
each widget view must point at a stored model, and each Output widget must hold a PNG.
"""
import base64
import fcntl
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest

from notebook_kernel import run_notebook

pytestmark = pytest.mark.xdist_group("tour_notebook")

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "notebooks" / "00_tour.py"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def execute_tour(workdir):
    """Run every cell of the tour in a fresh kernel; returns the notebook with widget state."""
    return run_notebook(jupytext.read(TOUR), workdir, timeout=240, store_widget_state=True)


@pytest.fixture(scope="session")
def executed(tmp_path_factory, worker_id):
    """The executed tour, run once per test session even when xdist splits these tests.

    (pytest 9 ignores the node ids pytest-xdist 3.8 rewrites for xdist_group, so the group
    mark alone does not keep these tests on one worker.) The first worker to take the lock
    runs the notebook; the others wait and read its result.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    result = shared / "00_tour.executed.ipynb"
    with open(shared / "00_tour.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            workdir = shared / "tour_run"
            workdir.mkdir(exist_ok=True)
            nbformat.write(execute_tour(workdir), result)
            artifacts = ROOT / "artifacts"
            artifacts.mkdir(exist_ok=True)
            shutil.copy(result, artifacts / "00_tour.executed.ipynb")
    return nbformat.read(result, as_version=4)


def widget_state(notebook):
    return notebook.metadata["widgets"][WIDGET_STATE]["state"]


def cell_containing(notebook, text):
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and text in c.source]
    return cell


def widget_models(notebook, text):
    """Every model (model_name, state) under the widget the cell containing `text` displays."""
    state = widget_state(notebook)
    roots = [o["data"][WIDGET_VIEW]["model_id"] for o in cell_containing(notebook, text).outputs
             if WIDGET_VIEW in o.get("data", {})]
    assert roots, f"the cell with {text!r} displayed no widget"
    found, pending = [], list(roots)
    while pending:
        model = state[pending.pop()]
        found.append((model["model_name"], model["state"]))
        for child in model["state"].get("children", []):
            pending.append(child.removeprefix("IPY_MODEL_"))
    return found


def only(models, model_name, **match):
    hits = [state for name, state in models if name == model_name
            and all(state.get(key) == value for key, value in match.items())]
    assert len(hits) == 1, (model_name, match, hits)
    return hits[0]


def assert_holds_png(output_state):
    (item,) = output_state["outputs"]
    assert base64.b64decode(item["data"]["image/png"]).startswith(b"\x89PNG")


def test_every_displayed_widget_has_stored_state(executed):
    state = widget_state(executed)
    views = [o["data"][WIDGET_VIEW]["model_id"] for cell in executed.cells
             if cell.cell_type == "code" for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(views) >= 5
    assert all(view in state for view in views)
    errors = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert not errors


def test_every_output_widget_holds_a_png(executed):
    outputs = [m["state"] for m in widget_state(executed).values()
               if m["model_name"] == "OutputModel"]
    assert len(outputs) >= 5
    for output in outputs:
        assert_holds_png(output)


def test_finite_difference_slider_has_its_range(executed):
    models = widget_models(executed, "finite_difference_explorer(")
    slider = only(models, "FloatSliderModel", description="log10 h")
    assert (slider["min"], slider["max"], slider["value"]) == (-16.0, 0.0, -5.0)
    assert_holds_png(only(models, "OutputModel"))
    assert "forward error" in only(models, "HTMLModel")["value"]


def test_live_curve_ends_on_the_final_epoch(executed):
    models = widget_models(executed, "LiveTrainingCurve(total=EPOCHS")
    label = only(models, "LabelModel")["value"]
    assert label.startswith("epoch 80/80:"), label
    assert "val_acc" in label
    assert_holds_png(only(models, "OutputModel"))
    printed = "".join(o.get("text", "") for o in
                      cell_containing(executed, "LiveTrainingCurve(total=EPOCHS").outputs)
    accuracy = float(printed.split("validation accuracy ")[1].split(";")[0])
    assert accuracy > 0.9


def test_torch_curve_ends_on_its_final_epoch(executed):
    models = widget_models(executed, 'title="torch MLP on digits"')
    assert only(models, "LabelModel")["value"].startswith("epoch 15/15:")


def test_learning_rate_explorer_state(executed):
    models = widget_models(executed, "learning_rate_explorer(")
    slider = only(models, "FloatLogSliderModel", description="lr")
    assert (slider["min"], slider["max"], slider["base"]) == (-3.0, 1.0, 10.0)
    assert slider["continuous_update"] is False
    assert only(models, "LabelModel")["value"].startswith("lr = 1.00e-02: final loss")
    assert slider["value"] == pytest.approx(1e-2)  # the slider shows the run the status reports
    assert_holds_png(only(models, "OutputModel"))


def test_landscape_explorer_state(executed):
    models = widget_models(executed, "loss_landscape_explorer(")
    assert only(models, "IntSliderModel", description="resolution")["value"] == 21
    assert only(models, "DropdownModel")["index"] == 2  # the optimiser-path view
    # whose axes come from the path: the distance slider does not apply there
    assert only(models, "FloatLogSliderModel", description="distance")["disabled"] is True
    assert only(models, "LabelModel")["value"].startswith("441 points in")
    progress = only(models, "IntProgressModel")
    assert progress["value"] == progress["max"] == 441
    assert_holds_png(only(models, "OutputModel"))


def test_graph_drawings_are_images(executed):
    expected = "image/svg+xml" if shutil.which("dot") else "image/png"
    for text in ("viz.draw_graph(out", "viz.draw_graph(tiny_loss"):
        (output,) = cell_containing(executed, text).outputs
        assert expected in output["data"]
