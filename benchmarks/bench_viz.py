"""Cost of minigrad.viz.LiveTrainingCurve on 200-step minigrad training runs.

Each run is timed with and without the curve, interleaved (without, with, without, ...) so a
change in machine load hits both arms alike; the overhead is the difference of the medians
over the median without. The curve's own count of the time spent inside update()/close() is
printed next to it. Matplotlib is warmed up first, as in a notebook that has drawn before;
the cold first frame of a fresh process is printed separately.

    .venv/bin/python benchmarks/bench_viz.py [--rounds 3]
"""
import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits

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


def train(curve, batch_size, data):
    """200 SGD steps of a 64-256-128-10 MLP (50,826 parameters); returns wall seconds."""
    x_train, y_train, x_val, y_val = data
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
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
        if step % 10 == 0:  # validation every 10 steps, in both arms
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


def measure(name, batch_size, rounds, data):
    without, with_curve, curves = [], [], []
    for _ in range(rounds):
        without.append(train(None, batch_size, data))
        curve = LiveTrainingCurve(total=STEPS, xlabel="step", log_scale=True)
        with_curve.append(train(curve, batch_size, data))
        curves.append(curve)
    base, timed = statistics.median(without), statistics.median(with_curve)
    own = statistics.median(c.overhead_seconds / (t - c.overhead_seconds)
                            for c, t in zip(curves, with_curve))
    last = curves[-1]
    print(f"{name}: {STEPS} steps, batch {batch_size}")
    print(f"  training alone         {base:7.3f} s   (median of {rounds}; "
          f"runs {', '.join(f'{t:.2f}' for t in without)})")
    print(f"  training + live curve  {timed:7.3f} s   (runs {', '.join(f'{t:.2f}' for t in with_curve)})")
    print(f"  overhead, wall clock   {100 * (timed - base) / base:+6.1f} %")
    print(f"  overhead, curve's own  {100 * own:6.1f} %   ({last.frames} frames, "
          f"{last.full_redraws} full redraws; last frame {1000 * last.frame_seconds:.0f} ms, "
          f"last full redraw {1000 * last.full_frame_seconds:.0f} ms)")
    return own


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = digits()

    started = time.perf_counter()
    cold = LiveTrainingCurve()
    cold.update(1, train_loss=1.0)
    cold.close()  # also warms matplotlib's font and text caches for what follows
    print(f"cold first frame in a fresh process: {1000 * (time.perf_counter() - started):.0f} ms "
          "(once per kernel; not counted below)\n")

    full = measure("full-batch gradient descent (1400 images per step)", 1400, args.rounds, data)
    mini = measure("mini-batch SGD (64 images per step)", 64, args.rounds, data)
    print(f"\nlive-curve overhead ratio: {100 * full:.1f}% on the full-batch run "
          f"(target < 5%: {'met' if full < 0.05 else 'NOT met'}); {100 * mini:.1f}% on the "
          "mini-batch run, where one full redraw for the final frame is most of it")


if __name__ == "__main__":
    main()
