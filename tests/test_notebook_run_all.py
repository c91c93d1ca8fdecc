"""Run All on assignment 01 as released: on a fresh notebook every cell runs (plots and widgets
too) and each test cell says what is missing; under nbgrader a failing test cell still fails.
And the notebook's static pictures: the same looks as the explorer, readable tick labels."""
import shutil
from pathlib import Path

import jupytext
import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.course.layout import Course

from autograder_course import course_template  # noqa: F401  (fixture)

pytestmark = pytest.mark.xdist_group("notebook_run_all")

ROOT = Path(__file__).resolve().parents[1]
A01 = "01_finite_differences"
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_release(course_dir, workdir, monkeypatch, nbgrader=None):
    """Execute a copy of the release folder (notebook + its self-check data) in a fresh kernel."""
    release = Path(Course(course_dir).release_notebook(A01)).parent
    folder = workdir / A01
    shutil.copytree(release, folder)
    for key, value in ONE_THREAD.items():
        monkeypatch.setenv(key, value)
    for key in ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(key, str(workdir / key.lower()))
    if nbgrader:
        monkeypatch.setenv("NBGRADER_EXECUTION", nbgrader)
    else:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    notebook = nbformat.read(folder / f"{A01}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    return notebook, client


@pytest.mark.slow
def test_run_all_on_a_fresh_notebook_reaches_the_end(course_template, tmp_path, monkeypatch):
    notebook, client = run_release(course_template, tmp_path, monkeypatch)
    client.execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)                      # plots
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    tests = [c for c in code if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(tests) == 7  # six tasks and the multiple-choice question
    for cell in tests:
        said = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        assert "not answered yet" in " ".join(said.split()), said   # lines wrap at 92 columns


@pytest.mark.slow
def test_under_nbgrader_a_failing_test_cell_fails_with_its_explanation_only(
        course_template, tmp_path, monkeypatch):
    notebook, client = run_release(course_template, tmp_path, monkeypatch, nbgrader="autograde")
    with pytest.raises(CellExecutionError):
        client.execute()
    errors = [(c, o) for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    (cell, error), = errors
    assert cell.metadata["nbgrader"]["grade_id"] == "test_forward_difference"
    assert error.ename == "CheckFailed"
    shown = "\n".join(error.traceback)
    assert "not answered yet" in " ".join(shown.split()) and "File " not in shown and "selfcheck" not in shown


def notebook_figures(monkeypatch):
    """Run the source notebook (solutions) in this process up to the checker demo, with Agg;
    -> the figures its plotting cells made. Test cells are skipped (run elsewhere)."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: figures.append(plt.gcf()))
    namespace = {}
    for cell in jupytext.read(ROOT / "notebooks" / f"{A01}.py").cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        if "soft_quadratic" in cell.source:
            break
        exec(cell.source, namespace)  # noqa: S102
    return figures, namespace


def overlapping_tick_labels(figure):
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    found = []
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_majorticklabels() + axis.get_minorticklabels()
                      if t.get_visible() and t.get_text()]
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
            found += [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
                      if box.overlaps(other)]
    return found


def test_static_plots_match_the_explorer_and_their_labels_do_not_overlap(monkeypatch):
    from minigrad.viz import QUOTIENT_LEGEND, finite_difference_explorer

    figures, namespace = notebook_figures(monkeypatch)
    errors_plot, cost_plot = figures
    for figure in figures:
        assert overlapping_tick_labels(figure) == []
    explorer = finite_difference_explorer(namespace["f_lecture"], namespace["df_lecture"], 1.0)
    static = {line.get_label(): line for line in errors_plot.axes[0].get_lines()}
    for name, line in explorer.lines.items():
        # the same colour and line style for the same quotient, in both pictures
        assert static[name].get_color() == line.get_color()
        assert static[name].get_linestyle() == line.get_linestyle()
    # where forward and backward coincide, the one drawn on top must not hide the other
    assert static["forward"].get_linestyle() != static["backward"].get_linestyle() or \
        static["forward"].get_linewidth() > static["backward"].get_linewidth()
    assert explorer.lines["forward"].get_linewidth() > explorer.lines["backward"].get_linewidth()
    # a legend that stays put while the slider moves the markers
    renderer = explorer.view.figure.canvas.get_renderer
    legend = explorer.ax.get_legend()
    before = legend.get_window_extent(renderer()).bounds
    explorer.slider.value = -12
    after = explorer.ax.get_legend().get_window_extent(renderer()).bounds
    assert before == after and legend._loc != 0 and QUOTIENT_LEGEND != "best"
