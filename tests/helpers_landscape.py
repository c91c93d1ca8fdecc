"""A small classifier trained on random data while a Trajectory records it: what the landscape
tests draw (shared by test_viz_landscape and test_viz_pictures)."""
import numpy as np

import minigrad as mg
import minigrad.functional as F
from minigrad import nn
from minigrad.viz import landscape


def trained_with_trajectory(samples, features, hidden, steps, momentum=0.0):
    """(model, loss_fn(model) -> scalar Tensor, Trajectory of steps + 1 snapshots): a
    features-hidden-3 tanh MLP after `steps` of SGD (lr 0.3) on `samples` random points."""
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.standard_normal((samples, features)).astype(np.float32))
    y = rng.integers(0, 3, samples)
    model = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, 3))
    trajectory = landscape.Trajectory(model)
    trajectory.record()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.3, momentum=momentum)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        trajectory.record()
    return model, (lambda m: F.cross_entropy(m(x), y)), trajectory
