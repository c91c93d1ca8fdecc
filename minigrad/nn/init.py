"""torch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.

(torch writes it as kaiming_uniform_ with a = sqrt(5), which works out to that bound.)
"""
import numpy as np

from .. import rng
from ..rng import manual_seed  # noqa: F401  (also reachable as mg.nn.init.manual_seed)


def uniform(shape, bound, dtype=np.float32):
    return rng.default.uniform(-bound, bound, size=shape).astype(dtype)


def default_bound(fan_in):
    return 1.0 / np.sqrt(fan_in) if fan_in > 0 else 0.0
