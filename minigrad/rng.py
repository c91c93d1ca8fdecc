"""The random generators minigrad draws from, and manual_seed, which seeds them.

A module of their own that imports nothing from minigrad, so tensor.py (randn), functional.py
(dropout) and nn/init.py (layer weights) can all read them without importing one another.
Read them at call time, `rng.default`, never `from .rng import default`: manual_seed replaces them.
"""
import numpy as np

default = np.random.default_rng()  # layer initialisation and mg.randn
dropout = np.random.default_rng()  # dropout masks: a stream of their own, so training with
                                   # dropout does not change which weights a seed gives


def manual_seed(seed):
    """Seed the generator used by layer initialisation, mg.randn and dropout."""
    global default, dropout
    default = np.random.default_rng(seed)
    dropout = np.random.default_rng(seed + 1)
