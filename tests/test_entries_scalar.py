"""Issue 16's scalar entries against independent mpmath references.

Each reference below is written from the frameworks' documented definitions with mpmath
alone (never symact's forms): f and f' with their parameters, at hand-picked points --
kinks and their neighbours, +-0, tails, +-inf, NaN. They check the exact symbolic value
(50 digits), the kink conventions (pinned), and the generated kernels in float64 and
float32 (within the accuracy floor of 4 ULP). The parameter defaults are pinned too.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symact
from symact.numeric import kernels
from symact.numeric.ulp import FLOOR_ULP, floor_errors

R = sp.Rational
mpf = mpmath.mpf


def _sig(z):
    return 1 / (1 + mpmath.exp(-z))


def _step(x, a, left, mid, right):
    """left below a, mid at a, right above a."""
    return left if x < a else mid if x == a else right


# name -> (default parameters, f(x, **params), f'(x, **params)); references in mpmath only.
# f' at a kink is each framework's backward value, stated in the entry's description.
REF = {
    "hardshrink": (dict(lambd=R(1, 2)),
                   lambda x, lambd: x if abs(x) > lambd else mpf(0),
                   lambda x, lambd: mpf(1) if abs(x) > lambd else mpf(0)),
    "softshrink": (dict(lambd=R(1, 2)),
                   lambda x, lambd: x - lambd if x > lambd else x + lambd if x < -lambd else mpf(0),
                   lambda x, lambd: mpf(1) if abs(x) > lambd else mpf(0)),
    "tanhshrink": (dict(),
                   lambda x: x - mpmath.tanh(x),
                   lambda x: mpmath.tanh(x) ** 2),
    "threshold": (dict(threshold=R(0), value=R(0)),
                  lambda x, threshold, value: x if x > threshold else mpf(value),
                  lambda x, threshold, value: mpf(1) if x > threshold else mpf(0)),
    "prelu": (dict(weight=R(1, 4)),
              lambda x, weight: x if x >= 0 else weight * x,
              lambda x, weight: mpf(1) if x > 0 else mpf(weight)),
    "rrelu": (dict(lower=R(1, 8), upper=R(1, 3)),
              lambda x, lower, upper: x if x >= 0 else (mpf(lower) + mpf(upper)) / 2 * x,
              lambda x, lower, upper: mpf(1) if x > 0 else (mpf(lower) + mpf(upper)) / 2),
    "sparse_plus": (dict(),
                    lambda x: mpf(0) if x <= -1 else (x + 1) ** 2 / 4 if x < 1 else x,
                    lambda x: mpf(0) if x <= -1 else (x + 1) / 2 if x < 1 else mpf(1)),
    "sparse_sigmoid": (dict(),
                       lambda x: mpf(0) if x <= -1 else (x + 1) / 2 if x < 1 else mpf(1),
                       lambda x: mpf(1) / 2 if -1 < x < 1 else mpf(0)),
    "exponential": (dict(), lambda x: mpmath.exp(x), lambda x: mpmath.exp(x)),
    "swish_beta": (dict(beta=R(1)),
                   lambda x, beta: x * _sig(beta * x),
                   lambda x, beta: _sig(beta * x) + beta * x * _sig(beta * x) * _sig(-beta * x)),
    "softplus_beta": (dict(beta=R(1)),
                      lambda x, beta: mpmath.log(1 + mpmath.exp(beta * x)) / beta,
                      lambda x, beta: _sig(beta * x)),
    "relu_keras": (dict(negative_slope=R(0), threshold=R(0)),
                   lambda x, negative_slope, threshold: x if x > threshold else negative_slope * (x - threshold),
                   lambda x, negative_slope, threshold: mpf(1) if x > threshold else mpf(negative_slope)),
    "relu_keras_capped": (dict(negative_slope=R(0), max_value=R(6), threshold=R(0)),
                          lambda x, negative_slope, max_value, threshold: (
                              negative_slope * (x - threshold) if x <= threshold
                              else x if x < max_value else mpf(max_value)),
                          lambda x, negative_slope, max_value, threshold: (
                              mpf(negative_slope) if x <= threshold else mpf(1) if x < max_value else mpf(0))),
}
NAMES = list(REF)

#: non-default parameters (exact rationals), checked symbolically
VARIANTS = {
    "hardshrink": [dict(lambd=R(3, 2))],
    "softshrink": [dict(lambd=R(1, 10))],
    "threshold": [dict(threshold=R(1, 10), value=R(20)), dict(threshold=R(-2), value=R(-7, 2))],
    "prelu": [dict(weight=R(-1, 2)), dict(weight=R(3, 2))],
    "rrelu": [dict(lower=R(1, 10), upper=R(3, 10))],
    "swish_beta": [dict(beta=R(2)), dict(beta=R(-1, 2)), dict(beta=R(0))],
    "softplus_beta": [dict(beta=R(2)), dict(beta=R(1, 3))],
    "relu_keras": [dict(negative_slope=R(1, 10), threshold=R(1)), dict(negative_slope=R(1, 5), threshold=R(-1, 2))],
    "relu_keras_capped": [dict(negative_slope=R(1, 10), max_value=R(5, 2), threshold=R(1, 2)),
                          dict(negative_slope=R(0), max_value=R(1), threshold=R(2))],
}

BASE_POINTS = [R(-1000), R(-20), R(-3), R(-1), R(-1, 2), R(-1, 4), R(-1, 2**30), R(0), R(1, 2**30), R(1, 4),
               R(1, 2), R(1), R(3), R(6), R(20), R(1000)]


def _kinks(params):
    """Parameter values that are kink positions, with the points next to them."""
    out = set()
    for v in list(params.values()) + [R(-1), R(1), R(0)]:
        for d in (0, R(1, 2**20), -R(1, 2**20)):
            out.add(v + d)
            out.add(-v + d)
    return out


def _mp(name, which, x, params):
    fn = REF[name][1 if which == "f" else 2]
    args = {k: mpf(v.p) / v.q for k, v in params.items()}
    return fn(x, **args)


def _symbolic(act, expr, x):
    return sp.N(sp.piecewise_fold(expr.subs(act.x, x)), 50)


# --------------------------------------------------------------------------- defaults and aliases
def test_defaults_are_the_frameworks():
    for name, (defaults, _, _) in REF.items():
        assert symact.get(name).param_values == defaults, name


@pytest.mark.parametrize("alias,name", [("hard_shrink", "hardshrink"), ("soft_shrink", "softshrink"),
                                        ("tanh_shrink", "tanhshrink"), ("Hard-Shrink", "hardshrink")])
def test_aliases(alias, name):
    assert symact.get(alias) is symact.get(name)


def test_parameters_are_checked():
    with pytest.raises(symact.errors.ParameterError):
        symact.get("hardshrink", lambd=0)       # lambd > 0: the band's two kinks are distinct
    with pytest.raises(symact.errors.ParameterError):
        symact.get("softplus_beta", beta=-1)    # a division by beta
    with pytest.raises(symact.errors.ParameterError):
        symact.get("relu_keras_capped", threshold=-1)
    with pytest.raises(symact.errors.ParameterError):
        symact.get("relu_keras_capped", max_value=0)


# --------------------------------------------------------------------------- exact values
@pytest.mark.parametrize("name", NAMES)
def test_exact_values_and_derivatives_match_the_reference(name):
    """f and f' (with the kink conventions) against the mpmath reference, 50 digits, at the defaults
    and at other parameter values, on fixed points plus every kink and its neighbours."""
    for params in [REF[name][0]] + VARIANTS.get(name, []):
        act = symact.get(name, **params)
        pts = sorted(set(BASE_POINTS) | _kinks(params))
        with mpmath.workdps(50):
            for p in pts:
                xm = mpf(p.p) / p.q
                for which, expr in (("f", act.expr), ("df", act.derivative)):
                    want = _mp(name, which, xm, params)
                    got = mpf(str(_symbolic(act, expr, p)))
                    assert abs(got - want) <= mpf(10) ** -40 * max(1, abs(want)), (name, params, which, p, got, want)


# --------------------------------------------------------------------------- conventions, pinned
@pytest.mark.parametrize("name,params,at,f,df", [
    ("hardshrink", {}, R(-1, 2), 0, 0), ("hardshrink", {}, R(1, 2), 0, 0),
    ("hardshrink", dict(lambd=R(3, 2)), R(3, 2), 0, 0),
    ("softshrink", {}, R(-1, 2), 0, 0), ("softshrink", {}, R(1, 2), 0, 0),
    ("threshold", {}, 0, 0, 0),
    ("threshold", dict(threshold=R(1, 10), value=20), R(1, 10), 20, 0),   # the jump: f(threshold) = value
    ("prelu", {}, 0, 0, R(1, 4)), ("rrelu", {}, 0, 0, R(11, 48)),
    ("sparse_plus", {}, -1, 0, 0), ("sparse_plus", {}, 1, 1, 1),
    ("sparse_sigmoid", {}, -1, 0, 0), ("sparse_sigmoid", {}, 1, 1, 0),
    ("relu_keras", {}, 0, 0, 0),
    ("relu_keras", dict(negative_slope=R(1, 10), threshold=1), 1, 0, R(1, 10)),   # Keras: x * (x > t) - a relu(t - x)
    ("relu_keras_capped", {}, 0, 0, 0), ("relu_keras_capped", {}, 6, 6, 0),
])
def test_kink_values_and_conventions(name, params, at, f, df):
    act = symact.get(name, **params)
    assert act(at) == f
    assert act.derivative.subs(act.x, at) == df
    k, dk = kernels.kernel_for(act, False), kernels.kernel_for(act, True)
    assert float(k(np.float64(float(at)))) == float(f) and float(dk(np.float64(float(at)))) == float(df)


def test_kinks_are_where_the_declarations_say():
    at = {n: sorted(k.at for k in symact.get(n).kinks) for n in NAMES}
    assert at["hardshrink"] == at["softshrink"] == [R(-1, 2), R(1, 2)]
    assert [k.continuous for k in symact.get("hardshrink").kinks] == [False, False]   # jumps of size lambd
    assert at["threshold"] == at["prelu"] == at["rrelu"] == at["relu_keras"] == [0]
    assert at["sparse_sigmoid"] == [-1, 1] and at["relu_keras_capped"] == [0, 6]
    assert at["sparse_plus"] == at["tanhshrink"] == at["exponential"] == []   # sparse_plus is C^1
    jump = symact.get("threshold", threshold=1, value=3).kinks
    assert [(k.at, k.continuous) for k in jump] == [(1, False)]


def test_relu_keras_with_threshold_jumps_like_keras():
    """Keras 3's relu(x, negative_slope=0.1, threshold=1): x * (x > 1) - 0.1 relu(1 - x)."""
    act = symact.get("relu_keras", negative_slope=R(1, 10), threshold=1)
    for v, want in ((R(1, 2), R(-1, 20)), (1, 0), (R(3, 2), R(3, 2)), (-3, R(-2, 5))):
        assert act(v) == want


# --------------------------------------------------------------------------- kernels
def _float_points(params, dtype):
    fi = np.finfo(dtype)
    base = [0.0, -0.0, 1e-300, -1e-300, 5e-324, -5e-324, 1e-8, -1e-8, 0.1, -0.1, 0.75, -0.75, 1.0 - 2**-30,
            1.5, -1.5, 3.0, -3.0, 19.0, -19.0, 40.0, -40.0, 88.5, -88.5, 103.0, -103.0, 709.5, -709.5, 745.2, -745.2,
            1e10, -1e10, 1e300, -1e300, float(fi.max), -float(fi.max), float(fi.tiny), -float(fi.tiny)]
    for v in list(params.values()) + [-1, 1, 0, 6]:
        for s in (1, -1):
            c = np.array(s * float(v), dtype=dtype)
            base += [float(c), float(np.nextafter(c, dtype(np.inf))), float(np.nextafter(c, dtype(-np.inf)))]
    with np.errstate(over="ignore"):
        pts = np.array(base, dtype=np.float64).astype(dtype)
    return pts[np.isfinite(pts)]


def _reference(name, which, xs, params, dtype):
    with mpmath.workdps(80):
        out = []
        for v in xs.astype(np.float64):
            r = _mp(name, which, mpf(float(v)), params)
            out.append(float(r) if abs(r) < mpf(2) ** 1024 else math.copysign(math.inf, float(r)))
    with np.errstate(over="ignore"):
        return np.array(out).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_kernels_against_the_reference(name, dtype):
    """Kernels and derivative kernels at the defaults within the floor on the hand-picked
    points; +-inf give the limits, NaN stays NaN, and no warning is raised."""
    params = REF[name][0]
    act = symact.get(name)
    xs = _float_points(params, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for which, deriv in (("f", False), ("df", True)):
            k = kernels.kernel_for(act, deriv)
            got = k(xs)
            assert got.dtype == dtype
            err = floor_errors(got, _reference(name, which, xs, params, dtype), np.dtype(dtype))
            assert err.max() <= FLOOR_ULP, (name, which, xs[err > FLOOR_ULP], got[err > FLOOR_ULP])
            special = k(np.array([np.inf, -np.inf, np.nan], dtype=dtype))
            assert np.isnan(special[2]), (name, which)
            with mpmath.workdps(30):
                big = [_mp(name, which, mpf(s) * mpf(10) ** 400, params) for s in (1, -1)]
            want = np.array([math.copysign(math.inf, float(b)) if abs(b) > 1e300 else float(b) for b in big])
            assert special[:2].tolist() == want.astype(dtype).tolist(), (name, which, special, want)


def test_tanhshrink_keeps_its_tiny_values():
    """x - tanh(x) is x^3/3 near 0 (the literal difference is 0 for |x| < 1e-8)."""
    k = kernels.kernel_for(symact.get("tanhshrink"))
    xs = np.array([1e-100, -1e-20, 1e-6, 2.0**-30, 0.5, 1.0, -1.0, np.nextafter(1.0, 2.0)])
    with mpmath.workdps(400):
        want = np.array([float(mpf(float(v)) - mpmath.tanh(mpf(float(v)))) for v in xs])
    assert floor_errors(k(xs), want).max() <= 2
    assert want[0] > 0   # 3.3e-301: the literal x - tanh(x) is 0 there


def test_tanhshrink_primitive_fit_against_mpmath():
    """The float64 coefficients of g(t) = (u - tanh u)/u^3 (symact.primitives.x_minus_tanh)
    are within 0.5 ULP of g on [0, 1], evaluated exactly."""
    from symact.primitives.x_minus_tanh import G_COEFFS

    with mpmath.workdps(40):
        worst = mpf(0)
        for i in range(201):
            t = mpf(i) / 200
            p = mpf(0)
            for c in G_COEFFS:
                p = p * (t - mpf(1) / 2) + mpf(c)
            u = mpmath.sqrt(t)
            g = mpf(1) / 3 if t == 0 else (u - mpmath.tanh(u)) / u ** 3
            worst = max(worst, abs(p / g - 1))
    assert worst < mpf(2) ** -53
