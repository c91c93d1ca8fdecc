"""Loss landscapes: the loss along lines and planes through parameter space.

- linear_interpolation: θ(α) = (1 − α) θ_a + α θ_b (Goodfellow, Vinyals & Saxe, 2015).
- landscape_1d / landscape_2d: θ* + α d₁ (+ β d₂) along random directions with filter
  normalisation (Li, Xu, Taylor, Studer & Goldstein, 2018): each filter of a direction (a slice
  along the first axis of a weight, e.g. one row of a Linear weight or one output channel of a
  Conv2d weight) is rescaled to the norm of the same filter of the weight; 0-d/1-d parameters
  (biases, LayerNorm) get a zero direction, so the plot is comparable across networks.
- trajectory_landscape: the plane of the first two principal components of the optimiser's
  trajectory (θ_t − θ_final), with the trajectory projected onto it (as in Li et al.).

Models: anything with `named_parameters()` yielding (name, parameter): minigrad Modules, and
torch modules (duck-typed; torch is never imported here). loss_fn(model) -> scalar (float,
0-d array, minigrad Tensor or torch tensor), evaluated on a fixed batch you choose, in eval
mode (no dropout noise on the surface) and without a graph; the parameters are restored after.
"""
import contextlib
import sys
from dataclasses import dataclass, field

import numpy as np
from matplotlib.colors import LogNorm

from ..autograd import no_grad
from ._figure import power_label, under_nbgrader

# The grid used under nbgrader, where a landscape must not slow grading down.
NBGRADER_RESOLUTION = 3

# Names of the marked points. A point has one look and one legend entry on every panel (a 1-D
# slice, a plane, the line from the start), so that the same weights are recognisably the same.
TRAINED, START, END = "trained", "start", "end"
MARK_STYLES = {
    TRAINED: dict(marker="*", color="C3", ms=13, label="trained weights"),
    START: dict(marker="s", color="C1", ms=7, label="start of training"),
    END: dict(marker="D", color="C2", ms=7, label="end"),
}


# ---- parameters of minigrad and torch models ---------------------------------------------------
def _is_torch(parameter):
    return type(parameter).__module__.split(".")[0] == "torch"


def _parameters(model):
    return [p for _, p in model.named_parameters()]


def parameter_arrays(model):
    """Copies of the model's parameters as NumPy arrays, in named_parameters() order."""
    arrays = []
    for p in _parameters(model):
        if _is_torch(p):
            arrays.append(p.detach().cpu().numpy().copy())
        else:
            arrays.append(np.array(p.data, copy=True))
    return arrays


def load_parameter_arrays(model, arrays):
    """Write arrays (as parameter_arrays returns them) into the model's parameters, in place."""
    parameters = _parameters(model)
    if len(parameters) != len(arrays):
        raise ValueError(f"{len(arrays)} arrays for {len(parameters)} parameters.")
    for p, array in zip(parameters, arrays):
        if tuple(np.shape(array)) != tuple(p.shape):
            raise ValueError(f"array of shape {np.shape(array)} for a parameter of shape "
                             f"{tuple(p.shape)}.")
        if _is_torch(p):
            p.data.copy_(p.data.new_tensor(np.asarray(array)))
        else:
            p.data = np.asarray(array, dtype=p.data.dtype).copy()


@contextlib.contextmanager
def _no_grad(model):
    """Evaluate without building a graph, in whichever library the model lives."""
    parameters = _parameters(model)
    if parameters and _is_torch(parameters[0]):
        with sys.modules["torch"].no_grad():
            yield
    else:
        with no_grad():
            yield


@contextlib.contextmanager
def evaluation_mode(model):
    """model.eval() inside the block (dropout off, batch-norm statistics frozen), then back."""
    was_training = getattr(model, "training", None)
    if was_training and hasattr(model, "eval"):
        model.eval()
    try:
        yield
    finally:
        if was_training and hasattr(model, "train"):
            model.train(True)


def _as_float(loss):
    if hasattr(loss, "item"):
        loss = loss.item()
    return float(loss)


def evaluate(model, loss_fn):
    """loss_fn(model) as a float, in evaluation mode and without recording a graph."""
    with _no_grad(model), evaluation_mode(model):
        return _as_float(loss_fn(model))


# ---- directions ---------------------------------------------------------------------------------
def filter_normalize(direction, weights, ignore_biases=True):
    """Li et al.'s filter normalisation of a direction (list of arrays shaped like weights).

    For weights of 2+ dimensions each filter direction[i] is scaled to ‖weights[i]‖; 0-d and 1-d
    parameters (biases, norms) get zeros (ignore_biases) or a copy of the weight.
    """
    normalized = []
    for d, w in zip(direction, weights):
        d = np.array(d, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        if w.ndim <= 1:
            d = np.zeros_like(d) if ignore_biases else w.copy()
        else:
            axes = tuple(range(1, w.ndim))
            w_norms = np.sqrt((w * w).sum(axis=axes, keepdims=True))
            d_norms = np.sqrt((d * d).sum(axis=axes, keepdims=True))
            d = d * (w_norms / (d_norms + 1e-10))  # 1e-10 as in the paper's code
        normalized.append(d)
    return normalized


def random_direction(weights, rng=None, normalize=True, ignore_biases=True):
    """A Gaussian direction shaped like weights (list of arrays), filter-normalised by default."""
    rng = np.random.default_rng(rng)
    direction = [rng.standard_normal(np.shape(w)) for w in weights]
    return filter_normalize(direction, weights, ignore_biases) if normalize else direction


def _flatten(arrays):
    return np.concatenate([np.ravel(a).astype(np.float64) for a in arrays])


def _unflatten(vector, like):
    arrays, start = [], 0
    for a in like:
        size = int(np.prod(np.shape(a)))
        arrays.append(vector[start:start + size].reshape(np.shape(a)))
        start += size
    return arrays


# ---- surfaces ------------------------------------------------------------------------------------
@dataclass
class Landscape1D:
    """losses[i] is the loss at coords[i] along the line; center_loss at coordinate 0.

    marks: {name: coordinate} of points to mark on the plot (the trained parameters, or the
    start and end of an interpolation).
    """
    coords: np.ndarray
    losses: np.ndarray
    xlabel: str = "α"
    center_loss: float = float("nan")
    title: str = ""
    marks: dict = field(default_factory=dict)


def _trained_at_origin():
    return {TRAINED: (0.0, 0.0)}


@dataclass
class Landscape2D:
    """losses[j, i] is the loss at (xs[i], ys[j]); path: (T, 2) trajectory coordinates or None.

    marks: {name: (x, y)} of points to mark; every plane here is centred on the trained
    parameters, so by default the trained point at (0, 0).
    """
    xs: np.ndarray
    ys: np.ndarray
    losses: np.ndarray
    center_loss: float = float("nan")
    path: np.ndarray = None
    xlabel: str = "δ"
    ylabel: str = "η"
    title: str = ""
    extra: dict = field(default_factory=dict)
    marks: dict = field(default_factory=_trained_at_origin)


def symmetric_coords(distance, resolution):
    """resolution points from −distance to distance with exactly 0.0 in the middle (odd count)."""
    resolution = int(resolution)
    if resolution < 1:
        raise ValueError(f"resolution must be at least 1, got {resolution}.")
    if resolution % 2 == 0:
        resolution += 1  # the trained parameters must be a grid point
    half = resolution // 2
    return distance * np.arange(-half, half + 1) / max(half, 1)


def _progress_reporter(progress, total, description):
    """A callable done(n) from: True (tqdm.auto bar), a callable(done, total), or None/False."""
    if not progress:
        return lambda done: None, lambda: None
    if callable(progress):
        return lambda done: progress(done, total), lambda: None
    from tqdm.auto import tqdm
    bar = tqdm(total=total, desc=description, leave=False)

    def report(done):
        bar.update(done - bar.n)

    return report, bar.close


def loss_on_grid(model, loss_fn, origin, directions, coordinates, progress=None,
                 description="loss landscape"):
    """Loss at origin + Σ_k c_k directions[k] for every point of the grid.

    origin: list of arrays; directions: 1 or 2 lists of arrays like origin; coordinates: one
    1-D array per direction. Returns an array of shape (len(coordinates[-1]), ...,
    len(coordinates[0])) (row = last direction, as contour plots want). The model's parameters
    are restored afterwards, whatever happens.
    """
    saved = parameter_arrays(model)
    origin64 = [np.asarray(a, dtype=np.float64) for a in origin]
    shape = tuple(len(c) for c in reversed(coordinates))
    losses = np.empty(shape)
    total = losses.size
    report, finish = _progress_reporter(progress, total, description)
    try:
        # Evaluation mode and no graph, set up once for the whole grid.
        with _no_grad(model), evaluation_mode(model):
            for done, index in enumerate(np.ndindex(*shape), start=1):
                point = [c[i] for c, i in zip(coordinates, reversed(index))]
                arrays = [o.copy() for o in origin64]
                for scale, direction in zip(point, directions):
                    if scale:
                        for array, d in zip(arrays, direction):
                            array += scale * d
                load_parameter_arrays(model, arrays)
                losses[index] = _as_float(loss_fn(model))
                report(done)
    finally:
        load_parameter_arrays(model, saved)
        finish()
    return losses


def _grid_resolution(resolution):
    return min(int(resolution), NBGRADER_RESOLUTION) if under_nbgrader() else int(resolution)


def linear_interpolation(model, loss_fn, start, end=None, alphas=None, progress=None):
    """Loss along θ(α) = (1 − α) start + α end; start/end: parameter-array lists.

    end default: the model's current (trained) parameters, marked as "trained" like the centre
    of the other landscapes. alphas default: 31 points on [−0.25, 1.25] (11 under nbgrader).
    """
    end_name = END if end is not None else TRAINED
    if end is None:
        end = parameter_arrays(model)
    if alphas is None:
        alphas = np.linspace(-0.25, 1.25, 11 if under_nbgrader() else 31)
    alphas = np.asarray(alphas, dtype=np.float64)
    direction = [np.asarray(b, np.float64) - np.asarray(a, np.float64) for a, b in zip(start, end)]
    losses = loss_on_grid(model, loss_fn, start, [direction], [alphas], progress, "interpolation")
    return Landscape1D(alphas, losses, xlabel=f"α  (0: start, 1: {end_name})",
                       title="Straight line from start to trained" if end_name == TRAINED
                       else "Linear interpolation between two parameter sets",
                       marks={START: 0.0, end_name: 1.0})


def landscape_1d(model, loss_fn, direction=None, distance=1.0, resolution=21, seed=0,
                 normalize=True, progress=None):
    """Loss along θ* + α d, α in [−distance, distance]; d random, filter-normalised by default."""
    origin = parameter_arrays(model)
    if direction is None:
        direction = random_direction(origin, seed, normalize)
    coords = symmetric_coords(distance, _grid_resolution(resolution))
    losses = loss_on_grid(model, loss_fn, origin, [direction], [coords], progress)
    return Landscape1D(coords, losses, xlabel="α  (filter-normalised direction)" if normalize
                       else "α", center_loss=float(losses[len(coords) // 2]),
                       title="Loss along a random direction", marks={TRAINED: 0.0})


def landscape_2d(model, loss_fn, directions=None, distance=1.0, resolution=21, seed=0,
                 normalize=True, progress=None):
    """Loss on θ* + α d₁ + β d₂ over a resolution × resolution grid of [−distance, distance]²."""
    origin = parameter_arrays(model)
    if directions is None:
        rng = np.random.default_rng(seed)
        directions = [random_direction(origin, rng, normalize) for _ in range(2)]
    coords = symmetric_coords(distance, _grid_resolution(resolution))
    losses = loss_on_grid(model, loss_fn, origin, directions, [coords, coords], progress)
    middle = len(coords) // 2
    return Landscape2D(coords, coords, losses, center_loss=float(losses[middle, middle]),
                       xlabel="α", ylabel="β", title="Loss on a random plane")


class Trajectory:
    """Parameter snapshots taken during training: call record() after each epoch (or step)."""

    def __init__(self, model):
        self.model = model
        self.snapshots = []

    def record(self):
        self.snapshots.append(parameter_arrays(self.model))

    def __len__(self):
        return len(self.snapshots)


def pca_directions(snapshots, center):
    """The first two principal directions of (snapshot − center) and the path's coordinates.

    snapshots: list of T parameter-array lists; center: one parameter-array list.
    Returns (directions: two parameter-array lists of unit norm, path: (T, 2), explained: (2,)
    fraction of the variance each direction explains).
    """
    if len(snapshots) < 2:
        raise ValueError("a trajectory needs at least 2 snapshots; call Trajectory.record() "
                         "during training.")
    c = _flatten(center)
    matrix = np.stack([_flatten(s) - c for s in snapshots])   # (T, P)
    # SVD of the small side: T snapshots, P parameters (P may be 50k, T a few dozen).
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    components = vt[:2]
    if len(components) < 2:
        components = np.vstack([components, np.zeros_like(components[0])])
    path = matrix @ components.T                                 # (T, 2)
    explained = (singular[:2] ** 2) / max((singular ** 2).sum(), 1e-300)
    directions = [_unflatten(v, center) for v in components]
    return directions, path, np.pad(explained, (0, 2 - len(explained)))


def trajectory_landscape(model, loss_fn, snapshots, resolution=21, margin=0.25, progress=None):
    """Loss on the PCA plane of the trajectory around the current (final) parameters.

    snapshots: Trajectory or list of parameter-array lists. The grid covers the projected
    path plus `margin` of its extent on each side. Returns a Landscape2D with .path (T, 2).
    """
    snapshots = getattr(snapshots, "snapshots", snapshots)
    center = parameter_arrays(model)
    directions, path, explained = pca_directions(snapshots, center)
    resolution = _grid_resolution(resolution)
    axes = []
    for k in range(2):
        low, high = min(path[:, k].min(), 0.0), max(path[:, k].max(), 0.0)
        pad = margin * max(high - low, 1e-8)
        axes.append(np.linspace(low - pad, high + pad, resolution))
    losses = loss_on_grid(model, loss_fn, center, directions, axes, progress)
    return Landscape2D(axes[0], axes[1], losses, center_loss=evaluate(model, loss_fn), path=path,
                       xlabel=f"PC 1 ({100 * explained[0]:.1f}% of the path's variance)",
                       ylabel=f"PC 2 ({100 * explained[1]:.1f}%)",
                       title="Loss around the trained parameters, with the optimiser's path",
                       extra={"explained_variance": explained, "directions": directions})


# ---- plots ---------------------------------------------------------------------------------------
def plot_landscape_1d(landscape, ax=None, log_scale=False, label=None):
    """Draw a Landscape1D (line of loss against coordinate) on ax; returns ax."""
    ax = ax if ax is not None else _new_axes()
    ax.plot(landscape.coords, landscape.losses, lw=1.6, label=label)
    for index, (name, coordinate) in enumerate(landscape.marks.items()):
        loss = np.interp(coordinate, landscape.coords, landscape.losses)
        ax.plot([coordinate], [loss], ls="none", mec="k", **mark_style(name, index))
    if landscape.marks or label:
        ax.legend(fontsize=8, loc="best")
    if log_scale and np.all(landscape.losses > 0):
        ax.set_yscale("log")
        if landscape.losses.max() < 10 * landscape.losses.min():
            # Under a decade matplotlib labels the minor ticks as "1.2 × 10⁰": plain numbers.
            from matplotlib.ticker import FuncFormatter
            plain = FuncFormatter(lambda value, _: f"{value:.3g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel(landscape.xlabel)
    ax.set_ylabel("loss")
    ax.set_title(landscape.title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return ax


def contour_levels(losses, count=20):
    """Round levels covering the losses: 1, 2, 5 times powers of ten (denser near the minimum)
    when all losses are positive and span more than a decade, else evenly spaced round numbers.
    None when the losses are constant."""
    from matplotlib.ticker import MaxNLocator

    finite = losses[np.isfinite(losses)]
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return None
    if low > 0 and high / low > 10:
        first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
        for mantissas in ((1, 1.5, 2, 3, 4, 5, 7), (1, 2, 5), (1, 3), (1,)):
            levels = [m * 10.0 ** k for k in range(first, last + 1) for m in mantissas]
            below = max(v for v in levels if v <= low)
            above = min(v for v in levels if v >= high)
            levels = np.array([v for v in levels if below <= v <= above])
            if len(levels) <= 1.5 * count:
                return levels
        return levels[:: int(np.ceil(len(levels) / count))]
    return MaxNLocator(nbins=count, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)




def plot_landscape_2d(landscape, ax=None, filled=True, colorbar=True):
    """Contour plot of a Landscape2D, with its trajectory (if any) projected on it; returns ax."""
    ax = ax if ax is not None else _new_axes()
    grid_x, grid_y = np.meshgrid(landscape.xs, landscape.ys)
    losses = np.where(np.isfinite(landscape.losses), landscape.losses, np.nan)
    levels = contour_levels(losses)
    if levels is not None and losses.shape[0] > 1 and losses.shape[1] > 1:
        draw = ax.contourf if filled else ax.contour
        contours = draw(grid_x, grid_y, losses, levels=levels, cmap="viridis",
                        norm=_log_norm(levels))
        if filled:
            ax.contour(grid_x, grid_y, losses, levels=levels, colors="k", linewidths=0.3)
        if colorbar:
            bar = ax.figure.colorbar(contours, ax=ax, label="loss")
            # Round values only, and not so many that the labels touch.
            decades = [v for v in levels if v > 0 and np.isclose(v, 10.0 ** np.round(np.log10(v)))]
            logarithmic = len(decades) >= 3  # else label the (round) levels themselves
            ticks = decades if logarithmic else list(levels)
            ticks = ticks[:: max(1, int(np.ceil(len(ticks) / 8)))]
            bar.set_ticks(ticks, labels=[power_label(v) if logarithmic else f"{v:g}"
                                         for v in ticks])
            bar.minorticks_off()
    if landscape.path is not None:
        path = landscape.path
        ax.plot(path[:, 0], path[:, 1], "-o", color="w", mec="k", ms=3.5, lw=1.2, label="path")
        ax.plot(path[0, 0], path[0, 1], ls="none", mec="k", **mark_style(START))
    for index, (name, (x, y)) in enumerate(landscape.marks.items()):
        ax.plot([x], [y], ls="none", mec="k", **mark_style(name, index))
    ax.set_xlabel(landscape.xlabel)
    ax.set_ylabel(landscape.ylabel)
    ax.set_title(landscape.title, fontsize=10)
    ax.legend(fontsize=8, loc="best")  # where it hides least of the path
    return ax


def mark_style(name, index=0):
    """Marker, colour, size and legend label of the marked point `name` (MARK_STYLES), the same
    on every panel; a name not listed there gets a marker of its own, labelled by its name."""
    if name in MARK_STYLES:
        return dict(MARK_STYLES[name])
    return dict(marker="o^v<>"[index % 5], color=f"C{4 + index % 5}", ms=7, label=name)


def _log_norm(levels):
    return LogNorm(levels[0], levels[-1]) if levels[0] > 0 else None


def _new_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(5.5, 4.0), dpi=80, layout="constrained")
    FigureCanvasAgg(figure)
    return figure.add_subplot()
