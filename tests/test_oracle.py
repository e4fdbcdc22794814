"""The oracle and ULP scoring against references that share nothing with them."""
import math
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp
from hypothesis import given, strategies as st

import symact
from symact.numeric.oracle import Oracle, reference, round_to
from symact.numeric.ulp import ulp_distance

x = sp.Symbol("x", real=True)


def test_precision_is_raised_until_stable():
    # at a fixed 60 digits log(1 + exp(-150)) is 0
    with mpmath.workdps(60):
        assert mpmath.log(1 + mpmath.exp(-150)) == 0
    assert Oracle(sp.log(1 + sp.exp(-x)), x).rounded(150.0) == float(mpmath.mpf("7.175095973164411e-66"))


def test_cancellation_inside_a_sum_is_detected():
    g = symact.get("gelu")
    with mpmath.workdps(80):
        ref = mpmath.diff(lambda t: t * mpmath.ncdf(t), -19)
    assert Oracle(g.derivative, g.x).rounded(-19.0) == float(ref)


def test_sigmoid_tail_is_a_subnormal_not_zero():
    s = symact.get("sigmoid")
    got = reference(s.expr, s.x, [-710.0, -745.0])
    assert got[0] == float(mpmath.mpf(1) / (1 + mpmath.exp(710)))
    assert got[1] == 5e-324


def test_limits_at_infinity_and_nan():
    s = symact.get("softplus")
    got = reference(s.expr, s.x, [math.inf, -math.inf, math.nan])
    assert got[0] == math.inf and got[1] == 0.0 and math.isnan(got[2])


@given(st.fractions(min_value=-10**310, max_value=10**310))
def test_round_to_float64_matches_python_fraction_rounding(q):
    # float(Fraction) is correctly rounded (ties to even, subnormals included)
    with mpmath.workprec(2000):
        v = mpmath.mpf(q.numerator) / q.denominator
    try:
        ref = float(q)
    except OverflowError:
        ref = math.inf if q > 0 else -math.inf
    assert round_to(v, np.float64) == ref


@given(st.integers(-2**60, 2**60), st.integers(-1100, 1000))
def test_round_to_subnormals_and_ties(m, e):
    q = Fraction(m) * Fraction(2) ** e
    with mpmath.workprec(4000):
        v = mpmath.mpf(m) * mpmath.mpf(2) ** e
    try:
        ref = float(q)
    except OverflowError:
        ref = math.copysign(math.inf, m)
    assert round_to(v, np.float64) == ref


def test_ulp_distance_counts_representable_steps():
    a = np.array([1.0, 0.0, -0.0, 5e-324, np.inf, np.nan, -1.0])
    b = np.array([np.nextafter(1.0, 2.0), -0.0, -5e-324, -5e-324, np.finfo(float).max, np.nan, 1.0])
    d = ulp_distance(a, b)
    assert list(d[:6]) == [1, 0, 1, 2, 1, 0]
    assert d[6] == 2 * np.float64(1.0).view(np.int64)


@given(st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(0, 50))
def test_ulp_distance_float32_walks(v, n):
    a = np.float32(v)
    b = a
    with np.errstate(over="ignore"):  # stepping past the largest float32 gives inf
        for _ in range(n):
            b = np.nextafter(b, np.float32(np.inf))
    if np.isfinite(b):
        assert ulp_distance(np.array([a]), np.array([b]))[0] == n


def test_a_cancelling_term_does_not_zero_the_whole_value():
    # gelu_tanh'(43) = 1: the sech**2 term underflows, the tanh term does not
    for name, v in (("gelu_tanh", 43.0), ("gelu_tanh", 1e5), ("mish", 2806.0)):
        act = symact.get(name)
        assert Oracle(act.derivative, act.x).rounded(v) == 1.0


def test_floor_errors_is_the_ulp_distance_with_tiny_errors_forgiven():
    """The one floor measure (kernels' choices, codegen, bench, tests): ULP distance
    in got's dtype (or the one given), 0 where the absolute error is below that
    dtype's smallest normal, 0 for NaN against NaN, inf for NaN against a number."""
    from symact.numeric.ulp import floor_errors, smallest_normal

    tiny = smallest_normal(np.float64)
    got = np.array([1.0, np.nextafter(1.0, 2.0), tiny / 4, np.nan, np.nan, np.inf])
    ref = np.array([1.0, 1.0, 3 * tiny / 4, np.nan, 1.0, np.inf])
    assert floor_errors(got, ref).tolist() == [0.0, 1.0, 0.0, 0.0, np.inf, 0.0]
    assert ulp_distance(got[2:3], ref[2:3])[0] > 0            # forgiven, not equal
    g32 = np.array([1.0, np.nextafter(np.float32(1), np.float32(2)), 1e-39], np.float32)
    r32 = np.array([1.0, 1.0, 2e-39], np.float32)
    assert floor_errors(g32, r32).tolist() == [0.0, 1.0, 0.0]  # float32's own smallest normal
    assert floor_errors(g32.astype(np.float64), r32, np.float32).tolist() == [0.0, 1.0, 0.0]
