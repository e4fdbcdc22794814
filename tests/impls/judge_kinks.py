"""Derivatives at kinks written as textbooks and libraries write them (tests/test_judgement.py).

Each picks a side at the kink with ``>=`` where symact (and PyTorch) take the left slope:
a valid derivative there, named as a convention, not a failure.
"""
import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def relu_grad(x):
    """relu'(0) = 1 (the right derivative), as many NumPy courses write it."""
    return np.where(x >= 0, 1.0, 0.0).astype(x.dtype)


def leaky_relu_grad(x, negative_slope=0.01):
    """leaky_relu'(0) = 1, as JAX's where(x >= 0, ...) gives."""
    return np.where(x >= 0, 1.0, negative_slope).astype(x.dtype)


def selu_grad(x):
    """selu'(0) = lambda (the right derivative), as TensorFlow's SeluGrad gives."""
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        return np.where(x >= 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(x)).astype(x.dtype)


def relu_grad_two(x):
    """relu'(0) = 2: no one-sided derivative gives it."""
    return np.where(x > 0, 1.0, np.where(x == 0, 2.0, 0.0)).astype(x.dtype)


def elu_half_grad(x):
    """ELU (alpha = 1/2) derivative through the output: f(x) + alpha below 0, 1 from 0 on.

    elu'(0) = 1 is the right derivative (a convention); f(x) + alpha cancels for x < -36:
    (e^x - 1) / 2 rounds to -1/2 and the sum to 0 where the truth is e^x / 2 > 0.
    """
    x = np.asarray(x)
    alpha = 0.5
    out = alpha * (np.exp(x) - 1)
    return np.where(x >= 0, 1.0, out + alpha).astype(x.dtype)
