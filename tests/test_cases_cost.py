"""The cost of a ``cases`` formula grows linearly with its rows, end to end (issue 13, item 4).

The kernels' Piecewise lowering used to solve ``And(c_k, Not(c_1 | ... | c_(k-1)))``
for every row (each row cost as much as all rows before it: 20 rows of a
``check --latex`` ran over 300 s). Now each row's active set comes from the branch
table of :mod:`symact.symbolic.forms`, and conditions are never solved by SymPy
for a table of linear conditions. Bounded: the whole file runs in about 15 s.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import sympy as sp

from symact.numeric import kernels
from symact.verify.formula import activation_from_formula, read_formula


def _cases(n: int, row=lambda i: str(i)) -> str:
    rows = " \\\\ ".join(f"{row(i)} & {i} \\le x < {i + 1}" for i in range(n))
    return r"\begin{cases} " + rows + r" \\ 0 & \text{otherwise} \end{cases}"


def _build(n: int, row=lambda i: str(i)):
    act = activation_from_formula(read_formula(latex=_cases(n, row)))
    return act, kernels.build_kernel(act), kernels.build_kernel(act, derivative=True)


class _CountAsSet:
    """Counts SymPy's ``as_set`` on conditions (the solver the old lowering ran per row)."""

    def __init__(self, monkeypatch):
        from sympy.logic import boolalg

        self.calls = 0
        orig = boolalg.Boolean.as_set

        def counted(cond):
            self.calls += 1
            return orig(cond)

        monkeypatch.setattr(boolalg.Boolean, "as_set", counted)


def test_lowering_solves_no_condition_of_a_linear_cases(monkeypatch):
    counter = _CountAsSet(monkeypatch)
    for n in (5, 40):
        counter.calls = 0
        _build(n)
        assert counter.calls <= 4, f"{n} rows: {counter.calls} as_set calls"


def test_kernel_generation_time_grows_linearly():
    _build(4)   # imports and first-use caches
    times = {}
    for n in (10, 40):
        best = []
        for _ in range(2):   # the better of two: a loaded machine is not a quadratic cost
            t = time.perf_counter()
            _build(n, row=lambda i: f"{i + 1} x + {i}")
            best.append(time.perf_counter() - t)
        times[n] = min(best)
    # linear: about 4; the old lowering was quadratic (16) or worse
    assert times[40] / times[10] < 8, times


@pytest.mark.parametrize("row", ["const", "exp"])
def test_cases_kernels_are_right_at_every_row(row):
    rows = {"const": lambda i: str(i), "exp": lambda i: f"e^{{{i + 1} x}}"}[row]
    act, k, kd = _build(30, rows)
    xs = np.array([-1.0, 0.0, 0.5, 1.0, 7.25, 26.5, 27.0, 29.99, 30.0, 45.0, np.nan, np.inf, -np.inf])
    want = []
    for v in xs:
        if not np.isfinite(v):
            want.append(np.nan if np.isnan(v) else 0.0)
        elif 0 <= v < 30:
            i = int(np.floor(v))
            want.append(float(i) if row == "const" else float(sp.exp((i + 1) * sp.Rational(v))))
        else:
            want.append(0.0)
    np.testing.assert_array_equal(k(xs), np.array(want))
    # a branch that overflows at the end of its interval (27 e^(27 x) at x = 27) gives inf
    # there, never NaN elsewhere (inf * [x in I] = NaN before)
    d = kd(xs)
    assert not np.isnan(d[:-3]).any(), d
    if row == "exp":
        assert d[6] == np.inf and d[0] == 0.0 and d[9] == 0.0


def test_check_of_the_largest_cases_the_reader_allows_is_fast(tmp_path):
    env = dict(os.environ, SYMACT_CACHE_DIR=str(tmp_path / "c"))
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "symact", "check", "--jobs", "1", "--latex", _cases(49)],
                       capture_output=True, text=True, timeout=120, env=env)
    took = time.perf_counter() - t
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert took < 60, took
