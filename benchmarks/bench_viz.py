"""Cost of minigrad.viz.LiveTrainingCurve on 200-step minigrad training runs.

Each run is timed with and without the curve, interleaved (without, with, without, ...) so a
change in machine load hits both arms alike. Two figures per run:
- the curve's own count: time spent inside update() and close(), over the training time
  without it (the number the curve's 5% budget governs; immune to other processes' noise);
- wall clock: median with the curve minus median without, over the median without.
Matplotlib is warmed up first, as in a notebook kernel that has drawn before; the cold first
frame of a fresh process is printed separately.

    .venv/bin/python benchmarks/bench_viz.py [--rounds 3]
"""
import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import minigrad as mg
import minigrad.functional as F
from minigrad import nn
from minigrad.viz import LiveTrainingCurve

STEPS = 200


def digits():
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:1400]], data.target[order[:1400]], x[order[1400:]], data.target[order[1400:]]


def mlp():
    """64-256-128-10, 50,826 parameters."""
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def cnn():
    """Two 3x3 conv + max-pool stages on the 8x8 images, 6,570 parameters."""
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(128, 10))


def train(curve, make_model, batch_size, data, image_shape):
    """200 SGD steps, validation every 10; returns wall seconds."""
    x_train, y_train, x_val, y_val = data
    x_train, x_val = x_train.reshape(image_shape(len(x_train))), x_val.reshape(image_shape(len(x_val)))
    mg.manual_seed(0)
    model = make_model()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    if curve is not None:
        curve.start()
    for step in range(1, STEPS + 1):
        batch = rng.choice(len(x_train), batch_size, replace=False)
        loss = F.cross_entropy(model(mg.Tensor(x_train[batch])), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0:  # the same validation work in both arms
            with mg.no_grad():
                logits = model(mg.Tensor(x_val))
                val_loss = F.cross_entropy(logits, y_val).item()
                val_acc = float((logits.data.argmax(axis=1) == y_val).mean())
            if curve is not None:
                curve.update(step, val_loss=val_loss, val_acc=val_acc)
        if curve is not None:
            curve.update(step, train_loss=loss)
    if curve is not None:
        curve.close()
    return time.perf_counter() - started


def measure(name, make_model, batch_size, rounds, data, image_shape=lambda n: (n, 64)):
    without, with_curve, curves, setups = [], [], [], []
    for _ in range(rounds):
        without.append(train(None, make_model, batch_size, data, image_shape))
        # Built before the loop, as a notebook cell displays it: naming the metrics lets the
        # axes be drawn then, outside the training time (reported separately as setup).
        built = time.perf_counter()
        curve = LiveTrainingCurve(total=STEPS, xlabel="step", log_scale=True,
                                  metrics=("train_loss", "val_loss", "val_acc"))
        setups.append(time.perf_counter() - built)
        with_curve.append(train(curve, make_model, batch_size, data, image_shape))
        curves.append(curve)
    base, timed = statistics.median(without), statistics.median(with_curve)
    ratios = [c.overhead_ratio(t - c.overhead_seconds) for c, t in zip(curves, with_curve)]
    own = statistics.median(ratios)
    frames = ", ".join(f"{c.frames} ({c.full_redraws} full)" for c in curves)
    print(f"{name}, {STEPS} steps of {batch_size} images")
    print(f"  training alone          {base:7.3f} s  (runs {', '.join(f'{t:.2f}' for t in without)})")
    print(f"  training + live curve   {timed:7.3f} s  (runs {', '.join(f'{t:.2f}' for t in with_curve)})")
    print(f"  curve's own time        {100 * own:6.1f} %  (runs "
          f"{', '.join(f'{100 * r:.1f}' for r in ratios)}; frames {frames})")
    print(f"  wall-clock difference   {100 * (timed - base) / base:+6.1f} %")
    print(f"  setup before training   {1000 * statistics.median(setups):7.0f} ms (empty axes drawn "
          "when the curve is built)")
    return own, base


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads for the training (default 1: steadier timings on a "
                             "shared 2-core machine; 0 keeps the library's default)")
    args = parser.parse_args()
    data = digits()
    if args.blas_threads:
        threadpool_limits(args.blas_threads)
    print(f"BLAS threads: {args.blas_threads or 'library default'}")

    started = time.perf_counter()
    cold = LiveTrainingCurve()
    cold.update(1, train_loss=1.0)
    cold.close()  # also warms matplotlib's font and text caches for what follows
    print(f"cold first frame in a fresh process: {1000 * (time.perf_counter() - started):.0f} ms "
          "(once per kernel; not counted below)\n")

    results = [
        measure("CNN (conv-pool-conv-pool-linear) on digits", cnn, 128, args.rounds, data,
                image_shape=lambda n: (n, 1, 8, 8)),
        measure("MLP 64-256-128-10 on digits, full batch", mlp, 1400, args.rounds, data),
        measure("MLP 64-256-128-10 on digits, mini-batch", mlp, 64, args.rounds, data),
    ]
    print("\nlive-curve overhead ratio (curve's own time / training time):")
    for (own, base), label in zip(results, ("CNN", "MLP full batch", "MLP mini-batch")):
        verdict = "under the 5% target" if own < 0.05 else "OVER the 5% target"
        print(f"  {label:15s} {100 * own:5.1f}%  on a {base:.2f} s run: {verdict}")
    print("In a run shorter than ~1 s the final frame alone (a redraw of the axes once the "
          "data have left their first limits, ~0.05 s) exceeds 5%.")


if __name__ == "__main__":
    main()
