"""In the style of transformer and vision code bases (BERT/GPT-2 ports to NumPy, CLIP's
QuickGELU, YOLO's Mish, EfficientNet's swish): smooth gates written in one line."""
import numpy as np


def gelu_bert(x):
    # as in BERT / GPT-2's gelu: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * np.power(x, 3))))


def quick_gelu(x):
    # as in CLIP's QuickGELU: x * sigmoid(1.702 x)
    return x * (1 / (1 + np.exp(-1.702 * x)))


def swish(x):
    # EfficientNet-style swish: x * sigmoid(x), with the plain sigmoid
    return x * (1 / (1 + np.exp(-x)))


def mish(x):
    # as in YOLOv4 ports: x * tanh(ln(1 + e^x))
    return x * np.tanh(np.log(1 + np.exp(x)))


def mish_logaddexp(x):
    # mish with a stable softplus: still -inf * 0 at x = -inf
    return x * np.tanh(np.logaddexp(0, x))
