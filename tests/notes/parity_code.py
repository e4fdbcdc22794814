"""Code that `symact notes` and `symact check --impl` must judge alike (one accuracy policy).

tests/test_notes.py puts each function's source in a note, under a formula, and passes the
function itself to the differential tests of `check --impl`; both must give the same class.
Written as course notes and textbooks write it; vector code works on the last axis, so that
`check --impl` (a batch of rows) and a note's review (one vector at a time) call it alike.
"""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))  # 0 below x = -709.78: the exact value is under atol there


def sigmoid_ratio(x):
    return np.exp(x) / (1 + np.exp(x))  # inf / inf = nan above x = 709.78


def logistic_slip(x):
    return 1 / (1 + np.exp(x))  # a sign slip: sigmoid(-x)


def softmax(a):
    c = np.max(a, axis=-1, keepdims=True)
    exp_a = np.exp(a - c)
    return exp_a / np.sum(exp_a, axis=-1, keepdims=True)


def softmax_naive(a):
    exp_a = np.exp(a)
    return exp_a / np.sum(exp_a, axis=-1, keepdims=True)


def step_function(x):
    return np.array(x > 0, dtype=int)  # 0 at x = 0: h0 = 0


def relu_grad(x):
    return (x >= 0).astype(float)  # 1 at x = 0: the right derivative
