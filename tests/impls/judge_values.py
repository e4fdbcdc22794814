"""Activations written as textbooks and libraries write them (tests/test_judgement.py)."""
import math

import numpy as np


def step_int64(x):
    """The book's step function: exact 0/1 values as int64."""
    return np.array(x > 0, dtype=np.int64)


def step_half(x):
    """A step with 1/2 at the jump (numpy.heaviside(x, 0.5))."""
    return np.heaviside(x, 0.5).astype(x.dtype)


def _sigmoid_scalar(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


sigmoid_frompyfunc = np.frompyfunc(_sigmoid_scalar, 1, 1)   # an object array of Python floats


def _sigmoid(x):
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sigmoid_row(x):
    """Right values with shape (1, n) for input (n,): np.atleast_2d on the way out."""
    return np.atleast_2d(_sigmoid(x))


def sigmoid_list(x):
    """A Python list of floats."""
    return _sigmoid(x).tolist()


def sigmoid_torch(x):
    """A torch tensor that requires grad (numpy.asarray refuses it; detach() is needed)."""
    import torch

    t = torch.tensor(np.asarray(x), requires_grad=True)
    return torch.sigmoid(t)


def sigmoid_exp_ratio(x):
    """e^x / (1 + e^x): inf / inf = NaN once e^x overflows (x > 709.78 in float64)."""
    e = np.exp(x)
    return e / (1 + e)


def gelu(x, approximate=False):
    """A GELU that takes a flag and ignores it: the tanh approximation always."""
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def sigmoid_flush(x):
    """A sigmoid that flushes subnormal results to 0: passes by the absolute tolerance there."""
    r = _sigmoid(x)
    return np.where(np.abs(r) < np.finfo(r.dtype).tiny, 0, r).astype(r.dtype)


def softmax_jacobian_flat(x):
    """A softmax 'Jacobian' of the input's shape: the diagonal only."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    s = e / np.sum(e, axis=-1, keepdims=True)
    return s * (1 - s)
