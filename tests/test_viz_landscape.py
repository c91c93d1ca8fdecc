"""Loss landscapes: filter normalisation, the grid's centre, restoring parameters, torch models."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import minigrad as mg
import minigrad.functional as F
from minigrad import nn
from minigrad.viz import landscape as L
from minigrad.viz import loss_landscape_explorer

from helpers_landscape import trained_with_trajectory


@pytest.fixture
def problem():
    return trained_with_trajectory(samples=200, features=8, hidden=16, steps=15, momentum=0.9)


def test_filter_normalised_directions_have_the_weights_filter_norms():
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((6, 4)), rng.standard_normal(6),
               rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(5)]
    direction = L.random_direction(weights, rng=2)
    for d, w in zip(direction, weights):
        assert d.shape == w.shape
        if w.ndim == 1:
            assert not d.any()  # biases: zero direction
        else:
            for d_filter, w_filter in zip(d, w):
                assert np.linalg.norm(d_filter) == pytest.approx(np.linalg.norm(w_filter),
                                                                 rel=1e-9)


def test_biases_can_follow_their_weight_instead():
    weights = [np.ones((2, 2)), np.array([3.0, 4.0])]
    direction = L.filter_normalize([np.ones((2, 2)), np.zeros(2)], weights, ignore_biases=False)
    np.testing.assert_array_equal(direction[1], [3.0, 4.0])


def test_the_centre_of_the_2d_landscape_is_the_trained_loss(problem):
    model, loss_fn, _ = problem
    before = L.parameter_arrays(model)
    trained_loss = L.evaluate(model, loss_fn)
    landscape = L.landscape_2d(model, loss_fn, resolution=7, distance=0.5)
    assert landscape.losses.shape == (7, 7)
    assert landscape.xs[3] == 0.0 and landscape.ys[3] == 0.0
    assert landscape.losses[3, 3] == trained_loss == landscape.center_loss
    # Away from the trained point, the loss goes up along every edge of the plane.
    assert landscape.losses.min() == pytest.approx(trained_loss, rel=0.1)
    for after, original in zip(L.parameter_arrays(model), before):
        np.testing.assert_array_equal(after, original)


def test_the_grid_has_the_right_axes_orientation(problem):
    model, loss_fn, _ = problem
    origin = L.parameter_arrays(model)
    d1, d2 = L.random_direction(origin, 0), L.random_direction(origin, 1)
    xs, ys = np.array([-0.5, 0.0, 0.5, 1.0]), np.array([0.0, 0.25])
    losses = L.loss_on_grid(model, loss_fn, origin, [d1, d2], [xs, ys])
    assert losses.shape == (2, 4)
    L.load_parameter_arrays(model, [o + 1.0 * a + 0.25 * b for o, a, b in zip(origin, d1, d2)])
    assert losses[1, 3] == pytest.approx(L.evaluate(model, loss_fn), rel=1e-6)
    L.load_parameter_arrays(model, origin)


def test_1d_landscape_and_interpolation(problem):
    model, loss_fn, trajectory = problem
    line = L.landscape_1d(model, loss_fn, resolution=10, distance=1.0)
    assert len(line.coords) == 11 and line.coords[5] == 0.0  # even counts become odd
    assert line.losses[5] == L.evaluate(model, loss_fn)
    start, end = trajectory.snapshots[0], trajectory.snapshots[-1]
    path = L.linear_interpolation(model, loss_fn, start, end, alphas=[0.0, 0.5, 1.0])
    L.load_parameter_arrays(model, start)
    assert path.losses[0] == pytest.approx(L.evaluate(model, loss_fn), rel=1e-6)
    L.load_parameter_arrays(model, end)
    assert path.losses[2] == pytest.approx(L.evaluate(model, loss_fn), rel=1e-6)


def test_trajectory_pca_projects_the_path(problem):
    model, loss_fn, trajectory = problem
    landscape = L.trajectory_landscape(model, loss_fn, trajectory, resolution=9)
    assert landscape.path.shape == (16, 2)
    np.testing.assert_allclose(landscape.path[-1], 0.0, atol=1e-6)  # last snapshot = centre
    explained = landscape.extra["explained_variance"]
    assert explained[0] >= explained[1] and explained.sum() <= 1 + 1e-9
    # The grid covers the projected path.
    assert landscape.xs.min() <= landscape.path[:, 0].min() <= landscape.xs.max()
    assert landscape.ys.min() <= landscape.path[:, 1].min() <= landscape.ys.max()
    d1, d2 = landscape.extra["directions"]
    assert np.dot(L._flatten(d1), L._flatten(d2)) == pytest.approx(0.0, abs=1e-9)


def test_progress_is_reported(problem, capsys):
    model, loss_fn, _ = problem
    calls = []
    L.landscape_2d(model, loss_fn, resolution=3, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 9) for n in range(1, 10)]
    L.landscape_1d(model, loss_fn, resolution=5, progress=True)  # a tqdm bar on stderr
    assert "loss landscape" in capsys.readouterr().err


def test_nbgrader_gets_a_tiny_grid(problem, monkeypatch):
    model, loss_fn, _ = problem
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert L.landscape_2d(model, loss_fn, resolution=21).losses.shape == (3, 3)
    widget = loss_landscape_explorer(model, loss_fn)
    assert widget.landscape is None and widget.output.outputs == ()


def test_explorer_draws_every_view(problem):
    model, loss_fn, trajectory = problem
    seen = []
    widget = loss_landscape_explorer(model, loss_fn, trajectory=trajectory,
                                     start=trajectory.snapshots[0], end=trajectory.snapshots[-1],
                                     resolution=5)
    for view in widget.mode.options:
        widget.mode.value = view
        landscape = widget.run()
        seen.append(type(landscape).__name__)
        assert widget.output.outputs[0]["data"]["image/png"]
        assert widget.progress.value == widget.progress.max == landscape.losses.size
    assert seen == ["Landscape1D", "Landscape2D", "Landscape2D", "Landscape1D"]


def test_plots_draw_the_computed_numbers(problem):
    model, loss_fn, trajectory = problem
    line = L.landscape_1d(model, loss_fn, resolution=5)
    ax = L.plot_landscape_1d(line)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), line.losses)
    plane = L.trajectory_landscape(model, loss_fn, trajectory, resolution=5)
    ax = L.plot_landscape_2d(plane)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), plane.path[:, 0])


def test_landscapes_are_computed_in_evaluation_mode():
    mg.manual_seed(0)
    x = mg.Tensor(np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32))
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    seen = []

    def loss_fn(m):
        seen.append(m.training)
        return (m(x) ** 2).mean()

    first = L.landscape_1d(model, loss_fn, resolution=3)
    second = L.landscape_1d(model, loss_fn, resolution=3)
    np.testing.assert_array_equal(first.losses, second.losses)  # no dropout noise
    assert not any(seen) and model.training


def test_torch_models_work_by_duck_typing():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    loss_fn = lambda m: torch.nn.functional.cross_entropy(m(x), y)  # noqa: E731
    before = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        trained = loss_fn(model).item()
    landscape = L.landscape_2d(model, loss_fn, resolution=5)
    assert landscape.losses[2, 2] == trained
    for p, original in zip(model.parameters(), before):
        assert torch.equal(p, original) and p.requires_grad
    direction = L.random_direction(L.parameter_arrays(model), rng=0)
    w = model[0].weight.detach().numpy()
    np.testing.assert_allclose(np.linalg.norm(direction[0], axis=1), np.linalg.norm(w, axis=1),
                               rtol=1e-6)


def test_a_50k_parameter_model_on_a_21x21_grid_is_quick():
    mg.manual_seed(0)
    x = mg.Tensor(np.random.default_rng(0).standard_normal((1500, 64)).astype(np.float32))
    y = np.random.default_rng(1).integers(0, 10, 1500)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    assert 45_000 <= sum(p.numel() for p in model.parameters()) <= 51_000
    # One BLAS thread: two threads fight the other xdist worker for the second core.
    with threadpool_limits(1):
        landscape = L.landscape_2d(model, lambda m: F.cross_entropy(m(x), y), resolution=21)
    assert landscape.losses.shape == (21, 21)


def _marked_points(ax):
    """{legend label: (marker, colour, x, y)} of the single-point markers drawn on ax."""
    from matplotlib.colors import to_hex
    points = {}
    for line in ax.lines:
        if len(line.get_xdata()) == 1 and not line.get_label().startswith("_"):
            points[line.get_label()] = (line.get_marker(), to_hex(line.get_color()),
                                        float(line.get_xdata()[0]), float(line.get_ydata()[0]))
    return points


def test_the_trained_point_looks_the_same_on_every_panel(problem):
    """03's three panels: a 1-D slice, a plane and the straight line from the start (issue 17)."""
    model, loss_fn, trajectory = problem
    trained_loss = L.evaluate(model, loss_fn)
    panels = [L.plot_landscape_1d(L.landscape_1d(model, loss_fn, resolution=5), log_scale=True),
              L.plot_landscape_2d(L.landscape_2d(model, loss_fn, resolution=3)),
              L.plot_landscape_1d(L.linear_interpolation(model, loss_fn, trajectory.snapshots[0],
                                                         alphas=[0.0, 0.5, 1.0]), log_scale=True),
              L.plot_landscape_2d(L.trajectory_landscape(model, loss_fn, trajectory, resolution=3))]
    looks = []
    for ax in panels:
        points = _marked_points(ax)
        assert "end" not in points  # the trained weights go by one name
        marker, colour, x, y = points["trained weights"]
        looks.append((marker, colour))
        legend = [text.get_text() for text in ax.get_legend().get_texts()]
        assert legend.count("trained weights") == 1
        if ax in (panels[0], panels[2]):
            assert y == pytest.approx(trained_loss, rel=1e-6)  # drawn on the curve
    assert len(set(looks)) == 1, looks
    assert _marked_points(panels[0])["trained weights"][2] == 0.0
    assert _marked_points(panels[2])["trained weights"][2] == 1.0  # the line ends there
    assert _marked_points(panels[1])["trained weights"][2:] == (0.0, 0.0)
    # The start of training too has one look where it appears (the line and the path).
    assert (_marked_points(panels[2])["start of training"][:2]
            == _marked_points(panels[3])["start of training"][:2])


def test_an_interpolation_between_other_points_names_its_end(problem):
    model, loss_fn, trajectory = problem
    line = L.linear_interpolation(model, loss_fn, trajectory.snapshots[0], trajectory.snapshots[5],
                                  alphas=[0.0, 1.0])
    assert line.marks == {"start": 0.0, "end": 1.0}
    assert "trained weights" not in _marked_points(L.plot_landscape_1d(line))


def test_a_log_axis_under_a_decade_is_labelled_with_plain_numbers():
    line = L.Landscape1D(np.linspace(-1, 1, 5), np.array([1.4, 1.1, 0.98, 1.05, 1.3]),
                         marks={"trained": 0.0})
    ax = L.plot_landscape_1d(line, log_scale=True)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()
              if t.get_visible() and t.get_text() and ax.get_ylim()[0] <= t.get_position()[1]
              <= ax.get_ylim()[1]]
    assert labels and not [t for t in labels if "10^" in t or "times" in t], labels
    assert "1.2" in labels or "1.1" in labels or "1.3" in labels
