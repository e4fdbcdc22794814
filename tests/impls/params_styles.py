"""Implementations that take parameters, written as frameworks and textbooks write them
(tests/test_impl_params.py and tests/test_api.py judge them)."""
import numpy as np


def leaky_relu_keras(x, alpha=0.3):
    """Keras 2 / tf.nn style: the leaky slope is `alpha` (default 0.3, as tf.keras.layers.LeakyReLU)."""
    return np.where(x >= 0, x, alpha * x)


def leaky_relu_grad_keras(x, alpha=0.3):
    return np.where(x > 0, 1.0, alpha).astype(np.asarray(x).dtype)


def leaky_relu_chainer(x, slope=0.2):
    """Chainer style: `slope`."""
    y = np.array(x, copy=True)
    y[y < 0] *= slope
    return y


def leaky_relu_fixed(x):
    """No parameter at all: the slope is baked in (0.01, the catalog's default)."""
    return np.where(x >= 0, x, 0.01 * x)


def leaky_relu_kwonly(x, *, negative_slope=0.01, inplace=False):
    """PyTorch/JAX spelling, keyword-only."""
    return np.where(x >= 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    return np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0)))


def gelu_flag(x, approximate=True):
    """JAX style: approximate=True (the default) is the tanh form. Written without cancellation:
    x * Phi(x) with erfc, and the tanh form as x * sigmoid(2u)."""
    from scipy.special import erfc

    x = np.asarray(x)
    with np.errstate(over="ignore", invalid="ignore"):
        if approximate:
            u = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
            y = x / (1 + np.exp(-2 * u))
        else:
            y = 0.5 * x * erfc(-x / np.sqrt(2))
    return np.where(np.isinf(x), np.maximum(x, 0), y).astype(x.dtype)


def gelu_torch_flag(x, approximate="none"):
    """PyTorch style: approximate is a string, 'none' or 'tanh'."""
    return gelu_flag(x, approximate=approximate == "tanh")


class Sigmoid:
    """A layer class with __call__ and a constructor that takes nothing."""

    def __call__(self, x):
        return 1 / (1 + np.exp(-x))

    def forward(self, x):
        return self(x)


class SigmoidForward:
    """Only forward(), as a torch-style module without torch."""

    def forward(self, x):
        return 1 / (1 + np.exp(-x))


class Scaled:
    """A constructor that needs an argument symact cannot give."""

    def __init__(self, scale):
        self.scale = scale

    def __call__(self, x):
        return self.scale * x


class LeakyReLU:
    """nn.LeakyReLU style: the slope goes to the constructor (torch/Keras 3 spelling)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        self.negative_slope = negative_slope

    def __call__(self, x):
        return np.where(x >= 0, x, self.negative_slope * x)


class LeakyReLUKeras2:
    """tf.keras.layers.LeakyReLU style: `alpha`, required here."""

    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, x):
        return np.where(x >= 0, x, self.alpha * x)


class Broken:
    def __init__(self):
        raise RuntimeError("no weights file")

    def __call__(self, x):
        return x


forward = Sigmoid.forward  # an unbound method under another name
