"""In the style of layer code that forces a 2-D batch (np.atleast_2d / reshape(1, -1)) before
computing, and of integer-valued outputs: right values in an unexpected container."""
import numpy as np


def sigmoid_2d(z):
    # `z = np.atleast_2d(z)` at the top of a layer's forward: (n,) becomes (1, n)
    z = np.atleast_2d(z)
    return 1.0 / (1.0 + np.exp(-z))


def log_sigmoid(x):
    # -softplus(-x) with logaddexp
    return -np.logaddexp(0, -x)


def log_sigmoid_naive(x):
    # log(1 / (1 + exp(-x))): exp(-x) overflows below x = -709.78
    return np.log(1 / (1 + np.exp(-x)))


def log_sigmoid_threshold(x):
    # -softplus(-x) with a PyTorch-style threshold of 20
    return np.where(x < -20, x, -np.log1p(np.exp(-x)))


def log_softmax_naive(x):
    # x - log(sum(exp(x))) without the maximum: exp overflows at offsets of 1000
    return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
