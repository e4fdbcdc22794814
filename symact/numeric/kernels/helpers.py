"""Small NumPy helpers of the kernels that are not stable primitives.

The stable primitives' own helpers (expit, softplus, hypot_add, ...) are declared
with them in :mod:`symact.primitives` (each record's ``kernel`` piece) and reach
the generated chains through :data:`.lowering._NS`. Here: :func:`_in_interval`,
the two-pass range test the fix-ups gather with, and :func:`_expit_np`, expit on
any array (the vector kernels' lambdified reference path).
"""
from __future__ import annotations

import numpy as np

from symact.primitives.expit import _expit


def _in_interval(x, a, b, mask, t):
    """mask = a <= x <= b in two passes: clip(x, a, b) == x (NaN compares False);
    ``t`` is a float scratch buffer like x."""
    np.clip(x, a, b, out=t)
    return np.equal(t, x, out=mask)


def _expit_np(a):
    """expit on any array, allocating (for the vector kernels' lambdified reference path)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    return _expit(a, out, np.empty_like(a), np.empty(a.shape, np.bool_))
