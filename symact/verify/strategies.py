"""Hypothesis strategies for activation inputs, public for other test suites.

The input classes that break activation code are few and known: the kinks and
the floats right next to them, signed zeros, subnormals, the edges where ``exp``
overflows or underflows in each format, the saturation points (where
``1 + exp(-x)`` rounds to 1), infinities and NaN; for vector activations, rows
with huge offsets and ties. This module names each class as a strategy:

* :func:`kinks` -- each kink of an activation and its ``nextafter`` neighbours;
* :func:`tails` -- the overflow/underflow/saturation edges of a dtype, with neighbours;
* :func:`subnormals` -- subnormal numbers of a dtype (both signs);
* :func:`bit_patterns` -- floats uniform over bit patterns (every binade equally);
* :func:`floats_for` -- the union an activation should be tested on;
* :func:`vectors` -- rows for softmax-like activations.

:mod:`symact.verify.difftest` draws its bulk points from a seeded NumPy generator
(fast, byte-reproducible) and uses these same edge lists (:func:`edge_values`,
:func:`kink_values`) so that a user's ``@given(strategies.floats_for(act,
"float32"))`` explores the same territory as ``symact check``.
"""
from __future__ import annotations

import math

import numpy as np

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # hypothesis is imported lazily inside each strategy (slow to import)
    from hypothesis import strategies as st
from symact.model.activation import Activation

_DTYPES = ("float64", "float32")


def _dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.name not in _DTYPES:
        raise ValueError(f"dtype must be float64 or float32, not {dt}")
    return dt


def _width(dtype) -> int:
    return 8 * _dtype(dtype).itemsize


def neighbours(v: float, dtype, steps: int = 1) -> list[float]:
    """``v`` rounded to ``dtype`` and its ``steps`` nearest floats on each side."""
    dt = _dtype(dtype)
    c = dt.type(v)
    out = [c]
    lo = hi = c
    with np.errstate(over="ignore"):
        for _ in range(steps):
            lo = np.nextafter(lo, dt.type(-np.inf))
            hi = np.nextafter(hi, dt.type(np.inf))
            out += [lo, hi]
    return sorted({float(t) for t in out if np.isfinite(t)})


def edge_values(dtype) -> list[float]:
    """Where exp-based code breaks in ``dtype``, both signs, with neighbours.

    log(max) (exp overflows: 709.78 / 88.72), log(smallest normal) and
    log(smallest subnormal) and log(half of it) (exp underflows: -708.4, -744.4,
    -745.1 / -87.3, -103.3, -104),
    log(2**p) (``1 + exp(-x)`` rounds to 1: 36.7 / 16.6), sqrt(2 log max) and
    sqrt(-2 log tiny) (Gaussian tails: 37.7, 38.6 / 13.3, 14.4), the largest
    finite value and 1.
    """
    fi = np.finfo(_dtype(dtype))
    lmax = math.log(float(fi.max))
    ltiny = math.log(float(fi.smallest_normal))
    lsub = math.log(float(fi.smallest_subnormal))
    bases = [lmax, -ltiny, -lsub, math.log(2) - lsub, (fi.nmant + 1) * math.log(2),
             math.sqrt(2 * lmax), math.sqrt(-2 * lsub), float(fi.max), 1.0]
    vals: set[float] = set()
    for b in bases:
        for s in (1.0, -1.0):
            vals.update(neighbours(s * b, dtype))
    return sorted(vals)


def special_values(dtype) -> list[float]:
    """±0, the smallest subnormal and normal, ±inf and NaN (NaN last)."""
    fi = np.finfo(_dtype(dtype))
    tiny, sub = float(fi.smallest_normal), float(fi.smallest_subnormal)
    return [0.0, -0.0, sub, -sub, tiny, -tiny, math.inf, -math.inf, math.nan]


def kink_values(act: Activation, dtype, steps: int = 2) -> list[float]:
    """Each finite kink of ``act`` (as a float of ``dtype``) and its neighbours."""
    out: set[float] = set()
    for k in act.kinks:
        try:
            v = float(k.at)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            out.update(neighbours(v, dtype, steps))
    return sorted(out)


# --------------------------------------------------------------------------- strategies
def kinks(act: Activation, dtype="float64") -> "st.SearchStrategy[float]":
    """The kinks of ``act`` and the floats next to them (``nothing()`` if smooth)."""
    from hypothesis import strategies as st

    vals = kink_values(act, dtype)
    return st.sampled_from(vals) if vals else st.nothing()


def tails(dtype="float64") -> "st.SearchStrategy[float]":
    """Overflow, underflow and saturation edges of ``dtype``, and ±inf."""
    from hypothesis import strategies as st

    return st.sampled_from(edge_values(dtype) + [math.inf, -math.inf])


def subnormals(dtype="float64") -> "st.SearchStrategy[float]":
    """Subnormal floats of ``dtype`` (and ±0), both signs."""
    from hypothesis import strategies as st

    tiny = float(np.finfo(_dtype(dtype)).smallest_normal)
    return st.floats(-tiny, tiny, width=_width(dtype), exclude_min=True, exclude_max=True)


def bit_patterns(dtype="float64", *, allow_nan: bool = False) -> "st.SearchStrategy[float]":
    """Floats uniform over bit patterns: every binade from subnormal to max equally likely."""
    from hypothesis import strategies as st

    dt = _dtype(dtype)
    itype = np.uint64 if dt.itemsize == 8 else np.uint32

    def to_float(bits: int) -> float:
        return float(np.array(bits, dtype=itype).view(dt))

    strat = st.integers(0, 2 ** (8 * dt.itemsize) - 1).map(to_float)
    return strat if allow_nan else strat.filter(lambda v: not math.isnan(v))


def floats_for(act: Activation, dtype="float64", *, allow_nan: bool = True) -> "st.SearchStrategy[float]":
    """Everything ``act`` should be tested on in ``dtype``: plain floats, the
    interesting range [-50, 50], bit patterns, kinks, tails, subnormals, ±0, ±inf, NaN."""
    from hypothesis import strategies as st

    width = _width(dtype)
    parts = [
        st.floats(allow_nan=allow_nan, allow_infinity=True, width=width),
        st.floats(-50, 50, width=width),
        bit_patterns(dtype),
        tails(dtype),
        subnormals(dtype),
        st.sampled_from([v for v in special_values(dtype) if allow_nan or not math.isnan(v)]),
    ]
    if not act.vector and act.kinks:
        parts.insert(0, kinks(act, dtype))
    return st.one_of(*parts)


def vectors(dtype="float64", *, min_size: int = 1, max_size: int = 8,
            offsets=(0.0, 1000.0, -1000.0), allow_infinity: bool = False) -> "st.SearchStrategy[list[float]]":
    """Rows for vector activations: lengths ``min_size..max_size``, moderate
    values shifted by a large common offset (max-subtraction must cancel it),
    and rows with ties."""
    from hypothesis import strategies as st

    width = _width(dtype)
    elem = st.floats(-30, 30, width=width)
    if allow_infinity:
        elem = st.one_of(elem, st.sampled_from([math.inf, -math.inf]))
    rows = st.lists(elem, min_size=min_size, max_size=max_size)
    ties = st.tuples(elem, st.integers(min_size, max_size)).map(lambda t: [t[0]] * t[1])
    dt = _dtype(dtype)

    def shift(row_off):
        row, off = row_off
        return [float(dt.type(v + off)) for v in row]

    return st.tuples(st.one_of(rows, ties), st.sampled_from(list(offsets))).map(shift)
