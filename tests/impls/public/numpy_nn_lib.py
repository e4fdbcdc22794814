"""In the style of NumPy-only neural-network libraries (ML-From-Scratch's
activation_functions.py, numpy-ml, NumpyDL): an activation and its gradient side by side,
written here as plain functions with the classes' defaults as keyword arguments."""
import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def relu(x):
    # ReLU.__call__: np.where(x >= 0, x, 0)
    return np.where(x >= 0, x, 0)


def relu_grad(x):
    # ReLU.gradient: np.where(x >= 0, 1, 0), an int array, 1 at 0
    return np.where(x >= 0, 1, 0)


def leaky_relu_grad(x, alpha=0.01):
    # LeakyReLU.gradient: np.where(x >= 0, 1, alpha), 1 at 0
    return np.where(x >= 0, 1, alpha)


def tanh(x):
    # TanH.__call__: 2 / (1 + exp(-2x)) - 1
    return 2 / (1 + np.exp(-2 * x)) - 1


def tanh_half(x):
    # a Tanh class seen in the wild: (1 - exp(-x)) / (1 + exp(-x)), which is tanh(x / 2)
    return (1 - np.exp(-x)) / (1 + np.exp(-x))


def elu(x, alpha=1.0):
    return np.where(x >= 0.0, x, alpha * (np.exp(x) - 1))


def elu_grad(x, alpha=1.0):
    # ELU.gradient: np.where(x >= 0, 1, elu(x) + alpha): elu(x) + alpha cancels for x < -37
    return np.where(x >= 0.0, 1, elu(x, alpha) + alpha)


def selu_grad(x):
    # SELU.gradient: scale * np.where(x >= 0, 1, alpha * exp(x)): lambda at 0, the right derivative
    return SELU_SCALE * np.where(x >= 0.0, 1, SELU_ALPHA * np.exp(x))


def softplus(x):
    # SoftPlus.__call__: np.log(1 + np.exp(x))
    return np.log(1 + np.exp(x))


def softplus_grad(x):
    # SoftPlus.gradient: 1 / (1 + np.exp(-x))
    return 1 / (1 + np.exp(-x))


def softplus_threshold(x, threshold=20.0):
    # PyTorch's threshold copied into NumPy: x itself above 20, log1p(exp(x)) below
    return np.where(x > threshold, x, np.log1p(np.exp(x)))


def softplus_stable(x):
    # the stable split max(x, 0) + log1p(exp(-|x|))
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softmax(x):
    # Softmax.__call__: subtract the row maximum along the last axis
    e_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e_x / np.sum(e_x, axis=-1, keepdims=True)
