"""In the style of Keras 2's backend functions and their NumPy ports (keras/backend/
numpy_backend.py, Chainer's hard_sigmoid): keyword defaults for alpha, Keras's constants."""
import numpy as np


def hard_sigmoid(x):
    # as in Keras 2 backend hard_sigmoid: 0.2 * x + 0.5, clipped to [0, 1]
    x = 0.2 * x + 0.5
    return np.clip(x, 0.0, 1.0)


def leaky_relu(x, alpha=0.3):
    # keras.layers.LeakyReLU(alpha=0.3) in NumPy: the slope is called alpha, default 0.3
    return np.where(x > 0, x, alpha * x)


def elu(x, alpha=1.0):
    # the NumPy backend's elu: np.where(x > 0, x, alpha * (np.exp(x) - 1))
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def selu(x):
    # keras.activations.selu's constants, written with expm1 as tf.nn.selu computes it
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return np.where(x > 0, scale * x, scale * alpha * np.expm1(x))


def softsign(x):
    # keras.activations.softsign: x / (abs(x) + 1)
    return x / (np.abs(x) + 1)


def relu6(x):
    # Keras 2 relu(x, max_value=6): clip below at 0, then cap at 6
    return np.minimum(np.maximum(x, 0.0), 6.0)
