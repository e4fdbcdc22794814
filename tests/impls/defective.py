"""Hand-written implementations with defects that real code has had.

Each is caught by symact; tests/test_defects.py checks the witness with mpmath.
"""
import math

import numpy as np


def sigmoid_grad_one_minus(x):
    """(1 - s) * s: 1 - s is exactly 0 once s rounds to 1 (x > ~36.7), where the truth is ~1e-16."""
    s = 1 / (1 + np.exp(-x))
    return (1 - s) * s


def silu_exp(x):
    """x / (1 + exp(-x)): NaN at -inf (-inf / inf), the PyTorch silu bug; -0 below -709."""
    return x / (1 + np.exp(-x))


def mish_exp(x):
    """x tanh(log(1 + exp(x))): NaN at -inf, and 0 for x < -37 where 1 + exp(x) rounds to 1."""
    return x * np.tanh(np.log(1 + np.exp(x)))


def elu_exp_minus_one(x):
    """exp(x) - 1 cancels near 0: relative error grows like 1/|x|."""
    return np.where(x > 0, x, np.exp(x) - 1)


def softplus_naive(x):
    """log(1 + exp(x)) overflows to inf above x = 709.78 and is 0 below -37."""
    return np.log(1 + np.exp(x))


def hard_sigmoid_keras(x):
    """Keras' old hard_sigmoid 0.2 x + 0.5 clipped: a different function from PyTorch's."""
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def leaky_relu_02(x):
    """Slope 0.2 (Keras' default) where PyTorch's leaky_relu has 0.01."""
    return np.where(x >= 0, x, 0.2 * x)


def relu_grad_one_at_zero(x):
    """relu'(0) = 1 against the 0 that PyTorch and JAX use."""
    return np.where(x >= 0, 1.0, 0.0).astype(x.dtype)


def raises(x):
    raise NotImplementedError("TODO: write the activation")


def sigmoid_math(x):
    """Scalar-only (math.exp on arrays raises TypeError) and OverflowError below x = -709.78."""
    return 1 / (1 + math.exp(-x))


def returns_none(x):
    return None


def returns_string(x):
    return "0.5"


def returns_complex(x):
    return 1 / (1 + np.exp(-(x + 0j)))


def wrong_shape(x):
    return np.ravel(x)[:1]


def float64_for_float32(x):
    """Right values, but float32 in gives float64 out."""
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))
