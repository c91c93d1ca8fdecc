"""End to end: small minigrad networks learn scikit-learn's bundled digits (8×8, no download)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minigrad as mg
import minigrad.functional as F
import minigrad.nn as nn


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, data.target, test_size=0.25, random_state=0, stratify=data.target)
    return x_train, x_test, y_train.astype(np.int64), y_test.astype(np.int64)


def train(model, optimizer, x, y, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(mg.Tensor(x[batch])), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    return losses


def accuracy(model, x, y):
    model.eval()
    with mg.no_grad():
        predictions = model(mg.Tensor(x)).argmax(dim=1).data
    model.train()
    return float((predictions == y).mean())


def test_mlp_learns_digits(digits):
    x_train, x_test, y_train, y_test = digits
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before = accuracy(model, x_test, y_test)
    losses = train(model, optimizer, x_train, y_train, epochs=30, batch_size=32, seed=0)
    after = accuracy(model, x_test, y_test)
    assert before < 0.3  # it did not start out solved
    assert losses[-1] < 0.25 * losses[0]
    assert after >= 0.95, f"test accuracy {after:.3f}"


def test_cnn_learns_digits(digits):
    x_train, x_test, y_train, y_test = digits
    x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    mg.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 4 * 4, 10))
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    losses = train(model, optimizer, x_train, y_train, epochs=12, batch_size=32, seed=1)
    after = accuracy(model, x_test, y_test)
    assert losses[-1] < 0.25 * losses[0]
    assert after >= 0.95, f"test accuracy {after:.3f}"
