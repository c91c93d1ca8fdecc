# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tour of `minigrad.viz`
#
# Not graded: run it top to bottom (**Run → Run All Cells**) and play with the controls.
# Every widget here draws a PNG into an output area while the cell is still running, so the
# training curve below moves *during* training.
#
# 1. the computational graph that `backward()` walks,
# 2. the error of finite differences as the step `h` shrinks,
# 3. a training curve that updates live (minigrad, then torch),
# 4. the effect of the learning rate,
# 5. the loss landscape that gradient descent walks on.
#
# The data: the 8×8 handwritten digits bundled with scikit-learn (1797 images, 10 classes).

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from sklearn.datasets import load_digits

import minigrad as mg
import minigrad.functional as F
from minigrad import Value, nn
from minigrad import viz

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)            # (1797, 64), pixels in [0, 1]
y = digits.target                                       # (1797,) labels 0..9
order = np.random.default_rng(0).permutation(len(X))
train_idx, val_idx = order[:1400], order[1400:]
X_train, y_train, X_val, y_val = X[train_idx], y[train_idx], X[val_idx], y[val_idx]
print(f"train {X_train.shape}, validation {X_val.shape}")

# %% [markdown]
# ## 1. The computational graph
#
# Each box is a value (its data and, after `backward()`, its gradient); each ellipse an
# operation, numbered in the order the backward pass visits it. Drawn with graphviz when the
# `dot` program is installed, otherwise with matplotlib.

# %%
a, b = Value(2.0, label="a"), Value(-3.0, label="b")
c = a * b
c.label = "c"
out = (c + a).tanh()
out.label = "out"
out.backward()
viz.draw_graph(out, show_order=True)

# %% [markdown]
# The same for tensors: a two-layer network's loss on five digits. Parameters are named.

# %%
mg.manual_seed(0)
tiny = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
tiny_loss = F.cross_entropy(tiny(mg.Tensor(X_train[:5])), y_train[:5])
tiny_loss.backward()
viz.draw_graph(tiny_loss, names=dict(tiny.named_parameters()), show_order=True)

# %% [markdown]
# ## 2. Finite differences: how small should `h` be?
#
# Move the slider. For large `h` the error is truncation (forward/backward ∝ h, central ∝ h²);
# for tiny `h` it is rounding, ∝ ε/h. The minimum sits in between.

# %%
fd_explorer = viz.finite_difference_explorer(lambda x: math.sin(x) * math.exp(x),
                                             lambda x: (math.cos(x) + math.sin(x)) * math.exp(x),
                                             x0=1.0, log10_h=-5)
fd_explorer

# %% [markdown]
# ## 3. A live training curve
#
# A 3-layer MLP (about 50k parameters) trained with Adam for 80 epochs. The curve redraws
# while the loop runs, but only as often as keeps its cost under 5% of the training time, so
# the first frame comes after a few seconds. Watch the validation loss: after some epochs it
# stops following the training loss down. From there on the network fits the training set
# ever more tightly (overfitting) without getting better on new images.

# %%
def accuracy(model, inputs, targets):
    with mg.no_grad():
        return float((model(mg.Tensor(inputs)).data.argmax(axis=1) == targets).mean())


def full_loss(model, inputs, targets):
    with mg.no_grad():
        return F.cross_entropy(model(mg.Tensor(inputs)), targets).item()


EPOCHS, BATCH = 80, 16
mg.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 10))
print("parameters:", sum(p.numel() for p in model.parameters()))
optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
initial_parameters = viz.parameter_arrays(model)
trajectory = viz.Trajectory(model)   # parameter snapshots for the landscape below
trajectory.record()

curve = viz.LiveTrainingCurve(total=EPOCHS, log_scale=True, title="minigrad MLP on digits")
display(curve)
rng = np.random.default_rng(0)
started = time.perf_counter()
with curve:
    for epoch in range(1, EPOCHS + 1):
        losses = []
        for batch in np.array_split(rng.permutation(len(X_train)), len(X_train) // BATCH):
            loss = F.cross_entropy(model(mg.Tensor(X_train[batch])), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        trajectory.record()
        curve.update(epoch, train_loss=np.mean(losses), val_loss=full_loss(model, X_val, y_val),
                     train_acc=accuracy(model, X_train, y_train),
                     val_acc=accuracy(model, X_val, y_val))
seconds = time.perf_counter() - started
print(f"validation accuracy {accuracy(model, X_val, y_val):.3f}; training {seconds:.1f} s, "
      f"of which the curve took {curve.overhead_seconds:.3f} s "
      f"({100 * curve.overhead_seconds / seconds:.1f}%) for {curve.frames} frames")

# %% [markdown]
# The same object follows a torch loop: `update` takes numbers or one-element tensors.

# %%
try:
    import torch
except ImportError:
    torch = None
    print("torch is not installed: skipping the torch example")

if torch is not None:
    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                      torch.nn.Linear(64, 10))
    torch_optimizer = torch.optim.SGD(torch_model.parameters(), lr=0.1, momentum=0.9)
    Xt, yt = torch.from_numpy(X_train), torch.from_numpy(y_train)
    Xv, yv = torch.from_numpy(X_val), torch.from_numpy(y_val)
    torch_curve = viz.LiveTrainingCurve(total=15, title="torch MLP on digits")
    display(torch_curve)
    with torch_curve:
        for epoch in range(1, 16):
            for batch in torch.randperm(len(Xt)).split(64):
                torch_loss = torch.nn.functional.cross_entropy(torch_model(Xt[batch]), yt[batch])
                torch_optimizer.zero_grad()
                torch_loss.backward()
                torch_optimizer.step()
            with torch.no_grad():
                torch_curve.update(epoch, train_loss=torch_loss,
                                   val_loss=torch.nn.functional.cross_entropy(torch_model(Xv), yv),
                                   val_acc=(torch_model(Xv).argmax(1) == yv).float().mean())

# %% [markdown]
# ## 4. The learning rate
#
# Pick a learning rate on the log slider and press **Run**: 60 steps of plain SGD are run and
# the loss curve is added to the plot. Try 1e-3, 0.1 and 3: too slow, about right, diverging.

# %%
def short_training(lr, steps=60):
    mg.manual_seed(1)
    net = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    sgd = mg.optim.SGD(net.parameters(), lr=lr)
    batches = np.random.default_rng(1).integers(0, len(X_train), (steps, 64))
    losses = []
    for batch in batches:
        loss = F.cross_entropy(net(mg.Tensor(X_train[batch])), y_train[batch])
        sgd.zero_grad()
        loss.backward()
        sgd.step()
        losses.append(loss.item())
    return losses


lr_explorer = viz.learning_rate_explorer(short_training, lr=0.1, lr_range=(1e-3, 10.0))
lr_explorer.run(1e-2)
lr_explorer

# %% [markdown]
# ## 5. The loss landscape
#
# The loss of the trained network on a fixed batch of 1000 images, on the plane spanned by the
# first two principal components of the path the optimiser took (as in Li et al., 2018).
# Choose another view (random filter-normalised directions, or the straight line from the
# initial to the trained weights), the resolution and the distance, then press **Run**.

# %%
fixed_x, fixed_y = mg.Tensor(X_train[:1000]), y_train[:1000]


def batch_loss(net):
    return F.cross_entropy(net(fixed_x), fixed_y)


landscape_explorer = viz.loss_landscape_explorer(model, batch_loss, trajectory=trajectory,
                                                 start=initial_parameters)  # end: the trained weights
landscape_explorer

# %% [markdown]
# Goodfellow et al. (2015) looked at the straight line from the initial to the trained
# weights: on it the loss falls without bumps, although the optimiser did not walk that line.

# %%
line = viz.linear_interpolation(model, batch_loss, initial_parameters)  # to the trained weights
fig, ax = plt.subplots(figsize=(5.5, 3.2))
viz.plot_landscape_1d(line, ax=ax)
plt.show()
