"""minigrad against PyTorch CPU, side by side in one run, float32, same shapes.

    .venv/bin/python benchmarks/bench_minigrad.py [--repeats N]

Prints the median time of each workload in both libraries and the ratio minigrad / torch.
Targets: MLP step ≤ 1.0×, conv2d ≤ 2.0×, attention ≤ 1.5×.
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch

import minigrad as mg
import minigrad.functional as F

TARGETS = {"MLP training step": 1.0, "conv2d forward+backward": 2.0,
           "attention forward+backward": 1.5}


def median_seconds(fn, repeats, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mlp_step(rng):
    """64 → 128 → 10, batch 128, cross-entropy, SGD with momentum: one full training step."""
    x = rng.standard_normal((128, 64)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    mg_model = mg.nn.Sequential(mg.nn.Linear(64, 128), mg.nn.ReLU(), mg.nn.Linear(128, 10))
    torch_model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    mg_opt = mg.optim.SGD(mg_model.parameters(), lr=0.01, momentum=0.9)
    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=0.01, momentum=0.9)
    mg_x, mg_y = mg.Tensor(x), y
    t_x, t_y = torch.from_numpy(x), torch.from_numpy(y)

    def ours():
        mg_opt.zero_grad()
        F.cross_entropy(mg_model(mg_x), mg_y).backward()
        mg_opt.step()

    def theirs():
        torch_opt.zero_grad()
        torch.nn.functional.cross_entropy(torch_model(t_x), t_y).backward()
        torch_opt.step()

    return ours, theirs


def forward_backward_pair(ours_fn, theirs_fn, inputs, grad):
    """(ours, theirs): each clears its inputs' .grad, then runs its library's function on them
    and backward with `grad` (the same NumPy arrays in both)."""
    mg_in = [mg.Tensor(a, requires_grad=True) for a in inputs]
    t_in = [torch.tensor(a, requires_grad=True) for a in inputs]
    t_grad = torch.from_numpy(grad)

    def ours():
        for t in mg_in:
            t.grad = None
        ours_fn(*mg_in).backward(grad)

    def theirs():
        for t in t_in:
            t.grad = None
        theirs_fn(*t_in).backward(t_grad)

    return ours, theirs


def conv_step(rng):
    """N=32, C=8, 16×16, 16 filters 3×3, padding 1: forward and backward."""
    x = rng.standard_normal((32, 8, 16, 16)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    g = rng.standard_normal((32, 16, 16, 16)).astype(np.float32)
    return forward_backward_pair(lambda *t: F.conv2d(*t, padding=1),
                                 lambda *t: torch.nn.functional.conv2d(*t, padding=1), (x, w, b), g)


def attention_step(rng):
    """Batch 16, length 64, dim 64: scaled dot-product attention forward and backward."""
    q, k, v, g = (rng.standard_normal((16, 64, 64)).astype(np.float32) for _ in range(4))
    return forward_backward_pair(F.scaled_dot_product_attention,
                                 torch.nn.functional.scaled_dot_product_attention, (q, k, v), g)


def value_chain_microseconds(nodes=100_000):
    """Backward through a chain of `nodes` Value ops: µs per node (no torch counterpart)."""
    x = mg.Value(0.5)
    y = x
    for i in range(nodes // 2):
        y = y * 0.999 + 0.001
    start = time.perf_counter()
    y.backward()
    return (time.perf_counter() - start) / nodes * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    torch.manual_seed(0)
    print(f"minigrad vs torch {torch.__version__} (CPU, {cores} threads), float32, "
          f"median of {args.repeats} runs\n")
    print(f"{'workload':<28} {'minigrad':>11} {'torch':>11} {'ratio':>7}  target")
    failed = []
    for name, make in (("MLP training step", mlp_step), ("conv2d forward+backward", conv_step),
                       ("attention forward+backward", attention_step)):
        ours, theirs = make(rng)
        # Interleave the two so machine noise hits both alike.
        t_ours, t_theirs = [], []
        for _ in range(3):
            t_ours.append(median_seconds(ours, args.repeats // 3 + 1))
            t_theirs.append(median_seconds(theirs, args.repeats // 3 + 1))
        ours_s, theirs_s = min(t_ours), min(t_theirs)
        ratio = ours_s / theirs_s
        ok = ratio <= TARGETS[name]
        failed += [] if ok else [name]
        print(f"{name:<28} {ours_s * 1e3:>8.3f} ms {theirs_s * 1e3:>8.3f} ms {ratio:>6.2f}×  "
              f"≤ {TARGETS[name]:.1f}× {'ok' if ok else 'MISSED'}")
    print(f"{'Value backward, 100k nodes':<28} {value_chain_microseconds():>8.3f} µs per node")
    if failed:
        print("\nmissed targets: " + ", ".join(failed))


if __name__ == "__main__":
    main()
