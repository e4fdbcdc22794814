"""softmax and log_softmax as textbooks write them (tests/test_judgement.py)."""
import numpy as np


def softmax(x):
    """The textbook softmax: subtract the row maximum, exponentiate, normalize."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x):
    """x - max - log(sum(exp(x - max)))."""
    x = np.asarray(x)
    z = x - np.max(x, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def softmax_naive(x):
    """exp(x) / sum(exp(x)) without the maximum: NaN once exp overflows (offsets of 1000)."""
    e = np.exp(np.asarray(x))
    return e / np.sum(e, axis=-1, keepdims=True)
