"""In the style of Dive into Deep Learning (d2l.ai) "from scratch" sections, NumPy flavour."""
import numpy as np


def relu(X):
    # d2l's multilayer-perceptron-from-scratch relu: np.maximum(X, 0)
    return np.maximum(X, 0)


def softmax(X):
    # d2l's softmax-regression-from-scratch: exp, sum along axis 1, divide; no max subtracted
    X_exp = np.exp(X)
    partition = X_exp.sum(1, keepdims=True)
    return X_exp / partition


def tanh(x):
    # the chapter's formula for tanh written out with exp
    return (1 - np.exp(-2 * x)) / (1 + np.exp(-2 * x))
