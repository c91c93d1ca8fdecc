"""torch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.

(torch writes it as kaiming_uniform_ with a = sqrt(5), which works out to that bound.)
"""
import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator used by layer initialisation, mg.randn and dropout."""
    global _rng
    _rng = np.random.default_rng(seed)
    from .. import functional
    functional._dropout_rng = np.random.default_rng(seed + 1)


def uniform(shape, bound, dtype=np.float32):
    return _rng.uniform(-bound, bound, size=shape).astype(dtype)


def default_bound(fan_in):
    return 1.0 / np.sqrt(fan_in) if fan_in > 0 else 0.0
