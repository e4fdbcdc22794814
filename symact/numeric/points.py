"""The point sets symact measures on, each named for its use.

* :func:`sample_points` -- the accuracy table, codegen tests and bench peers:
  bit-pattern-uniform points, a grid on [-60, 60], the kinks and the tails;
* :func:`bench_input` -- the bench's timed input (normal * 10, 1% over +-750);
* :func:`vector_rows` -- rows for vector activations (offsets, ties, underflow);
* :func:`selection_points` -- where a kernel's candidate forms are measured
  against the oracle (:mod:`symact.numeric.kernels.selection`);
* :func:`hot_scan_points` -- where a float64 chain is compared with itself in
  long double to find its fix-up intervals;
* :func:`float32_points` -- where a float32 chain is judged against the float64
  kernel;
* :func:`vector_selection_rows` -- rows for choosing a vector kernel's form.

Every set is fixed (seeded or a grid): measured choices and cached oracle values
depend on them, so cached values are keyed by the points themselves
(:func:`digest`) and fitted data by this module's source
(:func:`symact.numeric.fitting._code_hash`).
"""
from __future__ import annotations

import hashlib
import math

import numpy as np


def sample_points(act, dtype=np.float64, n_bits=200, n_grid=121, seed=0) -> np.ndarray:
    """Bit-pattern-uniform points, a grid on [-60, 60], the kinks, the tails."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    itype = np.uint64 if dt == np.float64 else np.uint32
    bits = rng.integers(0, np.iinfo(itype).max, size=4 * n_bits, dtype=itype, endpoint=True).view(dt)
    bits = bits[np.isfinite(bits)][:n_bits]
    grid = np.linspace(-60, 60, n_grid)
    kinks = []
    for k in ([] if act.vector else act.kinks):
        c = float(k.at)
        kinks += [c, np.nextafter(dt.type(c), dt.type(-np.inf)), np.nextafter(dt.type(c), dt.type(np.inf))]
    big = float(np.finfo(dt).max)
    if dt == np.float64:
        tails = [700, 705, 708.5, 709.78, 710, 711, 720, 740, 745.2, 1e300, big, 1e-300, 5e-324, 1e10]
    else:
        tails = [80, 87.3, 88.5, 88.8, 89, 103.5, 104, 1e30, big, 1e-38, 1e-45, 1e10]
    tails = np.array(tails)
    pts = np.concatenate([bits.astype(np.float64), grid, np.array(kinks, dtype=np.float64), tails, -tails, [0.0, -3, 3, 6, -1, 1]])
    return np.unique(pts.astype(dt))


def bench_input(size, dtype, seed=0) -> np.ndarray:
    """Seeded normal * 10, with 1% spread over +-750 (the overflow tails)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=size) * 10
    k = size // 100
    x[rng.integers(0, size, k)] = rng.uniform(-750, 750, k)
    return x.astype(dtype)


def vector_rows(seed=3) -> list[np.ndarray]:
    """Seeded rows for a vector activation's accuracy: normal * 10, offsets of
    +-1000, a tie, a gap of 700-750 (exp's underflow band) and a masked entry."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=8) * 10 for _ in range(6)] + [
        np.array([1000.0, 999.0, -1000.0, 0.0]), np.array([-800.0, -801.0, -799.5]),
        np.array([3.0, 3.0, 1e-3]), np.array([0.0, -705.0, -709.0, -720.0, -744.9, -1e9, 3.0])]


def selection_points() -> np.ndarray:
    """Points for choosing a scalar kernel's form: a grid on [-40, 40], a geometric
    sweep from 1e-300 to 1e3, exp's overflow edges and the far tails, both signs."""
    xs = np.concatenate([np.linspace(-40, 40, 2001), np.geomspace(1e-300, 1e3, 300),
                         [709.0, 710.0, 745.0, 746.0, 1e5, 1e300, 1.7e308]])
    return np.unique(np.concatenate([xs, -xs]))


def hot_scan_points() -> np.ndarray:
    """Points for finding a float64 chain's long-double fix-up intervals: every
    0.001 on [-60, 60], every 0.1 on [-760, 760], and geometric tails out to the
    largest float64, both signs."""
    lin = np.linspace(-60, 60, 120001)
    tail = np.append(np.geomspace(60, 1e300, 4000), np.finfo(np.float64).max)
    return np.unique(np.concatenate([lin, tail, -tail, np.linspace(-760, 760, 15201)]))


def float32_points() -> np.ndarray:
    """float32 inputs for judging a float32 chain: 100,000 bit-pattern-uniform
    finite values, every 1/1024 on [-64, 64], and the edges of float32's exp range."""
    rng = np.random.default_rng(32)
    bits = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    grid = np.arange(-64 * 1024, 64 * 1024 + 1, dtype=np.float32) / np.float32(1024)
    edge = np.concatenate([np.linspace(s * 80, s * 110, 3001, dtype=np.float32) for s in (-1, 1)])
    x = np.concatenate([bits[np.isfinite(bits)], grid, edge])
    return np.unique(x)


def vector_selection_rows() -> np.ndarray:
    """Fixed rows of 8 (all within a vector kernel's unshifted form's range) for
    choosing its form: spreads from 0.5 to 300, rows offset to +-600 so x - m
    rounds, and near-ties, where t's low part matters most."""
    rng = np.random.default_rng(20261129)
    n = 8
    rows = [rng.normal(size=n) * s for s in (0.5, 3.0, 30.0, 300.0) for _ in range(40)]
    rows += [rng.uniform(-5, 5, n) + c for c in (-600.0, 600.0, 123.456) for _ in range(30)]
    rows += [np.concatenate([[rng.uniform(300, 650)], rng.uniform(-40, 40, n - 1)]) for _ in range(40)]
    rows += [np.full(n, rng.uniform(-50, 50)) + rng.normal(size=n) * 1e-6 for _ in range(30)]
    x = np.clip(np.array(rows), -690.0, 690.0 - math.log(n))
    return x


def digest(points: np.ndarray) -> str:
    """A short digest of a point set's dtype, shape and values, for cache keys."""
    a = np.ascontiguousarray(points)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()[:16]
