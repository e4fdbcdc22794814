"""In the style of code that lifts a scalar Python function to arrays with np.frompyfunc or
np.vectorize (answers on Q&A sites, small course libraries): object arrays, or float arrays
built one math.* call at a time."""
import math

import numpy as np

# np.frompyfunc returns an object array even though every element is a Python float
_relu = np.frompyfunc(lambda v: max(v, 0.0), 1, 1)


def relu(x):
    return _relu(x)


def _sigmoid_scalar(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


_sigmoid = np.frompyfunc(_sigmoid_scalar, 1, 1)


def sigmoid(x):
    return _sigmoid(x)


_erf = np.vectorize(math.erf, otypes=[float])


def gelu_erf(x):
    # GELU's definition with math.erf per element: 1 + erf(x / sqrt 2) cancels for x < -8
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
