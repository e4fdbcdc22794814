"""In the style of Nielsen's "Neural Networks and Deep Learning" (network.py) and the
many from-scratch repositories that copy its two helpers."""
import numpy as np


def sigmoid(z):
    # network.py's sigmoid: the plain formula; exp(-z) overflows below -709.78, 1/inf = 0 is right
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    # network.py's sigmoid_prime: s (1 - s); 1 - s is exactly 0 once s rounds to 1 (z > 36.7)
    return sigmoid(z) * (1 - sigmoid(z))
