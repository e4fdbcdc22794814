"""In the style of short answers and blog posts on piecewise-linear activations (Q&A sites,
GAN tutorials, MobileNet ports): one NumPy expression each."""
import numpy as np


def relu_mul(x):
    # x * (x > 0): -inf * 0 is NaN at x = -inf
    return x * (x > 0)


def relu_grad_ge(x):
    # (x >= 0) * 1: an int array, 1 at 0
    return (x >= 0) * 1


def relu_grad_heaviside(x):
    # np.heaviside(x, 0.5): one half at 0
    return np.heaviside(x, 0.5)


def relu_grad_bool(x):
    # x > 0 returned as is: a bool array
    return x > 0


def step_heaviside(x):
    # np.heaviside(x, 0.5) as the step function: one half at 0
    return np.heaviside(x, 0.5)


def leaky_relu_gan(x):
    # GAN tutorials' leaky ReLU: np.maximum(0.2 * x, x)
    return np.maximum(0.2 * x, x)


def leaky_relu_max(x):
    # the same with PyTorch's default slope 0.01
    return np.maximum(0.01 * x, x)


def hard_tanh(x):
    return np.clip(x, -1.0, 1.0)


def hard_tanh_grad(x):
    # 1 strictly inside (-1, 1), 0 elsewhere (0 at the corners)
    return ((x > -1) & (x < 1)).astype(x.dtype)


def hard_sigmoid(x):
    # PyTorch's definition relu6(x + 3) / 6
    return np.clip(x + 3, 0, 6) / 6


def hard_sigmoid_grad(x):
    # 1/6 strictly inside (-3, 3)
    return np.where((x > -3) & (x < 3), 1 / 6, 0.0)


def hard_swish(x):
    # MobileNetV3's x * relu6(x + 3) / 6: -inf * 0 at x = -inf
    return x * np.clip(x + 3, 0, 6) / 6


def selu_truncated(x):
    # SELU with the constants rounded to 4 decimals, as blog posts print them
    return 1.0507 * np.where(x > 0, x, 1.6733 * (np.exp(x) - 1))
