"""In the style of micrograd (Karpathy) engines and their many re-implementations: scalar
code with math.exp and `if x > 0:` branches, applied one number at a time."""
import math


def tanh(x):
    # micrograd Value.tanh: t = (exp(2x) - 1) / (exp(2x) + 1); OverflowError above x = 354.9
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    return t


def tanh_grad(x):
    # micrograd's tanh _backward: (1 - t**2), t from math.tanh
    t = math.tanh(x)
    return 1 - t ** 2


def relu(x):
    # micrograd Value.relu: 0 if data < 0 else data
    return 0 if x < 0 else x


def relu_grad(x):
    # micrograd's relu _backward: (out.data > 0) * out.grad, with out.grad = 1
    return (x > 0) * 1.0


def sigmoid(x):
    # re-implementations' Value.sigmoid: 1 / (1 + math.exp(-x)); OverflowError below -709.78
    return 1 / (1 + math.exp(-x))


def sigmoid_stable(x):
    # the scalar two-branch form people write after hitting that OverflowError
    if x >= 0:
        z = math.exp(-x)
        return 1 / (1 + z)
    z = math.exp(x)
    return z / (1 + z)
