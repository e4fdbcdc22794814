"""Hand-written implementations that are right: symact must pass each of them.

They are written the way careful people write them (stable forms, explicit
limits at infinity), not generated from symact.
"""
import numpy as np
from scipy.special import expit


def sigmoid_naive(x):
    """The textbook form: exp overflows for x < -709 (a warning), but 1/inf = 0 is right."""
    return 1 / (1 + np.exp(-x))


def sigmoid_expit(x):
    return expit(x)


def sigmoid_grad(x):
    """s(1 - s) written as e^-|x| / (1 + e^-|x|)^2: no cancellation on either side."""
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def silu(x):
    """x * sigmoid(x). For x < 0 it is x e^x / (1 + e^x) with e^x = h * h, h = e^(x/2),
    multiplied as (x h) h: e^x alone is subnormal below -708 (bits lost) although
    x e^x is still normal down to -714; the limit 0 at -inf is explicit."""
    x = np.asarray(x)
    with np.errstate(invalid="ignore", over="ignore"):
        h = np.exp(np.minimum(x, 0) / 2)
        neg = np.where(np.isneginf(x), np.zeros_like(x), (x * h) * h / (1 + h * h))
        return np.where(x < 0, neg, x / (1 + np.exp(-np.maximum(x, 0))))


def mish(x):
    x = np.asarray(x)
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(x), np.zeros_like(x), x * np.tanh(np.logaddexp(0, x)))


def elu(x):
    """expm1 near 0, and exp never sees large positive x."""
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def softplus(x):
    return np.logaddexp(0, x)


def hard_sigmoid(x):
    """PyTorch's definition relu6(x + 3) / 6."""
    return np.clip(x + 3, 0, 6) / 6


def leaky_relu_02(x):
    """Leaky ReLU with slope 0.2: correct for negative_slope=0.2 (Keras' default), not 0.01."""
    return np.where(x >= 0, x, 0.2 * x)


def relu_grad(x):
    """relu'(0) = 0, as PyTorch and JAX."""
    return (x > 0).astype(x.dtype)
