"""Derived facts: the course's facts pinned, the rest cross-checked numerically."""
import mpmath
import pytest
import sympy as sp

import symact
from symact.analysis.facts import derive

SCALARS = [n for n in symact.names() if not symact.get(n).vector]


@pytest.fixture(scope="module")
def facts():
    return {}


def _facts(cache, name):
    if name not in cache:
        cache[name] = derive(symact.get(name))
    return cache[name]


def test_sigmoid_range_slope_and_self_form(facts):
    f = _facts(facts, "sigmoid")
    assert f["range"].value == sp.Interval.open(0, 1)
    assert f["max_slope"].value["sup"] == sp.Rational(1, 4)
    assert f["max_slope"].value["at"] == 0
    y = sp.Symbol("y", real=True)
    assert sp.expand(f["derivative_in_terms_of_f"].value - y * (1 - y)) == 0
    assert f["vanishing_gradient"].value == "vanishing"
    assert "1/1048576" in f["vanishing_gradient"].text  # ten layers: 4**-10


def test_tanh_self_form(facts):
    y = sp.Symbol("y", real=True)
    assert sp.expand(_facts(facts, "tanh")["derivative_in_terms_of_f"].value - (1 - y**2)) == 0


def test_relu_facts(facts):
    f = _facts(facts, "relu")
    assert f["range"].value == sp.Interval(0, sp.oo)
    assert [k["at"] for k in f["kinks"].value] == [0]
    assert f["monotonicity"].value == "non-decreasing"


def test_softmax_jacobian_and_sum(facts):
    f = _facts(facts, "softmax")
    assert f["jacobian"].value == "diag(y) - y y^T"
    assert f["sum"].value == 1
    assert f["range"].value == sp.Interval.open(0, 1)


def test_gelu_minimum_located(facts):
    f = _facts(facts, "gelu")
    (crit,) = f["critical_points"].value
    with mpmath.workdps(40):
        ref = mpmath.findroot(lambda t: mpmath.diff(lambda u: u * mpmath.ncdf(u), t), -0.75)
    assert abs(float(crit) - float(ref)) < 1e-12
    assert f["range"].established == "numeric"


@pytest.mark.parametrize("name", SCALARS)
def test_limits_and_range_agree_with_sampling(name, facts):
    """Every sampled value lies in the derived range; limits match far samples."""
    act = symact.get(name)
    f = _facts(facts, name)
    rng = f["range"].value
    lo, hi = float(rng.start), float(rng.end)
    for p in [-30, -5, -1.25, -0.5, 0, 0.5, 2, 7, 30]:
        v = float(sp.N(act(sp.Rational(p)), 30))
        assert lo - 1e-12 <= v <= hi + 1e-12, (name, p, v, rng)
    lim = f["limits"].value
    for side, far in (("-oo", -60), ("oo", 60)):
        v = float(sp.N(act(far), 30))
        target = lim[side]
        if target in (sp.oo, -sp.oo):  # unbounded: growing in the limit's direction
            further = float(sp.N(act(far * 10), 30))
            assert (further < v) if target == -sp.oo else (further > v), (name, side)
        else:  # finite: approached (softsign's tail is only 1/|x|)
            closer = float(sp.N(act(far * 10**6), 30))
            assert abs(closer - float(target)) < 1e-5, (name, side)


@pytest.mark.parametrize("name", SCALARS)
def test_max_slope_bounds_sampled_slopes(name, facts):
    act = symact.get(name)
    sup = float(sp.N(_facts(facts, name)["max_slope"].value["sup"], 30))
    for i in range(-80, 81):
        p = sp.Rational(i, 8)
        d = float(sp.N(sp.piecewise_fold(act.derivative.subs(act.x, p)), 30))
        assert abs(d) <= sup + 1e-12, (name, p, d, sup)


def test_one_sided_limits_are_remembered_and_side_free_at_infinity():
    """facts, the oracle (values at +-inf) and the kernels ask for the same limits: taken once."""
    from symact.symbolic import forms

    act = symact.get("softsign")
    x = act.x
    first = forms.one_sided_limit(act.derivative, x, sp.oo, "-")
    assert forms.one_sided_limit(act.derivative, x, sp.oo, "+") is first    # one side at infinity
    assert first == 0
    relu = symact.get("relu")
    left, right = (forms.one_sided_limit(relu.derivative, x, 0, s) for s in "-+")
    assert (left, right) == (0, 1)                                           # a kink keeps both sides
