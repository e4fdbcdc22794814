"""The step functions of the course (Saitoh, Deep Learning from Scratch, ch. 3), verbatim."""
import numpy as np


def step_function(x):
    if x > 0:
        return 1
    else:
        return 0


def step_function_array(x):
    return np.array(x > 0, dtype=int)
