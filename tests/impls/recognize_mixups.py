"""Implementations that compute another function than the one they are tested as, written
as textbooks, course code and libraries write them; tests/test_recognize.py checks that
symact names what each one computes (symact.verify.recognize.what_it_computes), and that it
names nothing for code that computes no catalog function.
"""
import math

import numpy as np


def gelu_bert(x):
    """BERT's and GPT-2's "gelu": the tanh approximation, tested as exact GELU."""
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * np.power(x, 3))))


def hard_sigmoid_keras2(x):
    """Keras 2's backend hard_sigmoid (tf.keras before TensorFlow 2.16): 0.2 x + 0.5 clipped."""
    x = np.asarray(x, dtype=np.float64)
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def leaky_relu_fixed(x):
    """A leaky ReLU with its slope written in: max(0.2 x, x) (DCGAN's 0.2)."""
    return np.maximum(0.2 * x, x)


def leaky_relu_grad_fixed(x):
    """Its derivative, slope written in as well."""
    return np.where(x > 0, 1.0, 0.2)


def elu_half(x):
    """ELU with alpha = 0.5 hard-coded."""
    return np.where(x > 0, x, 0.5 * (np.exp(x) - 1))


def sigmoid_backward_forgets(x):
    """A backward pass that returns the forward value: sigmoid, not sigmoid'."""
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_grad_of_output(y):
    """The course's sigmoid backward y (1 - y), written for the output y = sigmoid(x)."""
    return y * (1.0 - y)


def relu_grad_returns_relu(x):
    """relu' written as relu: max(0, x) instead of (x > 0)."""
    return np.maximum(0, x)


def relu_forward_is_grad(x):
    """relu written as its derivative: the step (x > 0)."""
    return (x > 0).astype(np.float64)


def tanh_forward_is_grad(x):
    """tanh written as 1 - tanh(x)^2, its derivative."""
    return 1.0 - np.tanh(x) ** 2


def cubic(x):
    """No activation at all: x^3 + 1."""
    return x ** 3 + 1.0


def gelu_bert_but_one(x):
    """The tanh GELU except at x = 1, where it is off by 1e-9: no catalog function."""
    out = np.array(gelu_bert(x), dtype=np.float64)
    out[np.asarray(x) == 1.0] += 1e-9
    return out
