"""In the style of Saitoh's "Deep Learning from Scratch" companion code (common/functions.py,
common/layers.py): step functions, ReLU and its layer's backward mask, the 2-D softmax."""
import numpy as np


def step_function(x):
    # ch. 3: a boolean array turned into int; the value at 0 is 0 (h0 = 0)
    return np.array(x > 0, dtype=int)


def step_function_ge(x):
    # the same with >=, as many readers retype it: the value at 0 is 1 (h0 = 1)
    return np.array(x >= 0, dtype=int)


def relu(x):
    # ch. 3: np.maximum(0, x)
    return np.maximum(0, x)


def relu_backward(x):
    # the Relu layer's backward with dout = 1: mask = (x <= 0); dout[mask] = 0
    mask = (x <= 0)
    dout = np.ones_like(x)
    dout[mask] = 0
    return dout


def softmax(x):
    # ch. 4's version for batches: transpose, subtract the maximum, normalize along axis 0
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))
