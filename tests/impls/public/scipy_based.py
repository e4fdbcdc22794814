"""In the style of code that reaches for scipy.special (expit, softmax, log_softmax,
logsumexp, erf, ndtr, log_expit), as SciPy-based course and research code does."""
import numpy as np
from scipy.special import erf, expit, log_expit, log_softmax, logsumexp, ndtr, softmax


def sigmoid(x):
    return expit(x)


def softmax_rows(x):
    return softmax(x, axis=-1)


def log_softmax_rows(x):
    return log_softmax(x, axis=-1)


def softmax_logsumexp(x):
    # exp(x - logsumexp(x)): the shift is rounded at the scale of x, exp amplifies it
    return np.exp(x - logsumexp(x, axis=-1, keepdims=True))


def log_softmax_logsumexp(x):
    # x - logsumexp(x): the same rounding at the scale of x, now as an absolute error
    return x - logsumexp(x, axis=-1, keepdims=True)


def gelu_erf(x):
    # GELU's definition x * 0.5 * (1 + erf(x / sqrt 2)): cancels where erf rounds to -1
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def gelu_ndtr(x):
    # x * Phi(x) with ndtr: accurate for finite x, but -inf * 0 at x = -inf
    return x * ndtr(x)


def log_sigmoid(x):
    return log_expit(x)
