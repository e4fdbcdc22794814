"""The point sets symact measures on, each named for its use.

* :func:`sample_points` -- the accuracy table, codegen tests and bench peers:
  bit-pattern-uniform points, a grid on [-60, 60], the kinks and the tails;
* :func:`bench_input` -- the bench's timed input (normal * 10, 1% over +-750);
* :func:`vector_rows` -- rows for vector activations (offsets, ties, underflow).
"""
from __future__ import annotations

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
