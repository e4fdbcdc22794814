"""Distances in units in the last place (ULP) between floating-point arrays.

The distance between two finite floats of one dtype is the number of
representable values between them (0 when equal, 1 for neighbours), counted
across zero (-0.0 and +0.0 are the same point). Infinities sit one step beyond
the largest finite value; NaN against NaN is 0 and NaN against a number is
infinite.

:func:`floor_errors` is the one measure of the accuracy floor (:data:`FLOOR_ULP`):
the ULP distance, with errors below the smallest normal number forgiven.
"""
from __future__ import annotations

import numpy as np

_INT = {np.dtype(np.float64): np.int64, np.dtype(np.float32): np.int32}


def _ordinal(a: np.ndarray) -> np.ndarray:
    """Map floats to integers whose order and spacing match the floats'."""
    itype = _INT[a.dtype]
    i = a.view(itype).astype(np.int64)
    magnitude = np.int64(2 ** (8 * a.dtype.itemsize - 1) - 1)
    return np.where(i < 0, -(i & magnitude), i)


def ulp_distance(got, expected) -> np.ndarray:
    """ULP distance, elementwise, as float64 (``inf`` where one side is NaN)."""
    got = np.asarray(got)
    expected = np.asarray(expected, dtype=got.dtype)
    if got.dtype not in _INT:
        raise TypeError(f"ULP distance needs float32 or float64, not {got.dtype}")
    g, e = np.broadcast_arrays(got, expected)
    dist = np.abs(_ordinal(np.ascontiguousarray(g)) - _ordinal(np.ascontiguousarray(e))).astype(np.float64)
    gn, en = np.isnan(g), np.isnan(e)
    dist[gn != en] = np.inf
    dist[gn & en] = 0.0
    return dist


def smallest_normal(dtype) -> float:
    """The smallest positive normal number of ``dtype``."""
    return float(np.finfo(dtype).smallest_normal)


#: The accuracy floor: every kernel and generated target is held to this many ULP
#: of the correctly rounded value, as measured by :func:`floor_errors`.
FLOOR_ULP = 4.0


def floor_errors(got, ref, dtype=None) -> np.ndarray:
    """ULP distance of ``got`` from the correctly rounded ``ref`` in ``dtype``
    (default: got's own dtype), with an absolute error below that dtype's
    smallest normal number counted as 0 -- the accuracy floor's measure, the one
    used by the kernels' choices, the codegen targets, the bench and the tests.
    NaN against NaN is 0; NaN against a number is infinite (:func:`ulp_distance`)."""
    got = np.asarray(got, dtype=dtype)
    ref = np.asarray(ref, dtype=got.dtype)
    u = ulp_distance(got, ref)
    with np.errstate(all="ignore"):
        tiny = np.abs(got.astype(np.float64) - ref.astype(np.float64)) < smallest_normal(got.dtype)
    return np.where(tiny, 0.0, u)
