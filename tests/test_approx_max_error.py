"""max_error: the located maximum error of any (exact, approximate) pair (issue 15).
References are independent: mpmath on a fine grid then findroot on the derivative,
and the committed certificate's numbers for gelu_tanh."""
import mpmath
import pytest
import sympy as sp

from symact.analysis.approximations import ApproxResult, max_error
from symact.model import catalog

x = sp.Symbol("t", real=True)   # any symbol: max_error renames it


def _cat(name):
    a = catalog.get(name)
    return a.expr.xreplace({a.x: x})


def test_gelu_tanh_matches_the_certificate():
    # proofs/gelu_tanh.md: max |gelu_tanh - gelu| = 4.73235520687e-4 at x = -+2.69894138637727
    r = max_error(_cat("gelu"), _cat("gelu_tanh"), x)
    assert isinstance(r, ApproxResult) and r.established == "located"
    assert r.max_abs_error == "4.73235520687e-4"
    assert set(r.at) == {"-2.69894138637727", "2.69894138637727"}
    assert r.relative_error == "undefined"   # gelu(0) = 0
    assert r.to_dict()["max_abs_error"] == r.max_abs_error and r.reason == ""


def _independent_max(fn, lo, hi, n=4000):
    """max |fn| on [lo, hi]: a fine grid, then findroot on fn' from the grid's best point."""
    with mpmath.workdps(40):
        grid = [lo + (hi - lo) * mpmath.mpf(i) / n for i in range(n + 1)]
        best = max(grid, key=lambda t: abs(fn(t)))
        r = mpmath.findroot(lambda t: mpmath.diff(fn, t), best)
        return abs(fn(r)), r


def test_sigmoid_1702_against_an_independent_mpmath_search():
    def d(t):
        return t / (1 + mpmath.exp(-mpmath.mpf("1.702") * t)) - t * mpmath.ncdf(t)

    want, at = _independent_max(d, mpmath.mpf(-8), mpmath.mpf(8))
    approx = x / (1 + sp.exp(-sp.Rational("1.702") * x))
    r = max_error(_cat("gelu"), approx, x)
    assert r.established == "located"
    assert abs(float(r.max_abs_error) - float(want)) <= 1e-11 * float(want)
    assert 0.019 < float(want) < 0.021          # the known ~0.02
    assert any(abs(float(a) - abs(float(at))) < 1e-9 for a in (s.lstrip("-") for s in r.at))


def test_tanh_against_a_polynomial_on_an_interval():
    # tanh(x) ~ x - x^3/3 on [-1, 1]: d' = tanh(x)^2 - x^2 < 0 for x != 0, so |d| grows
    # with |x| and the maximum is at the ends, |1 - 1/3 - tanh(1)|
    r = max_error(sp.tanh(x), x - x**3 / 3, x, domain=(-1, 1))
    assert r.established == "located" and set(r.at) == {"-1", "1"}
    with mpmath.workdps(30):
        want = abs(mpmath.mpf(2) / 3 - mpmath.tanh(1))
    assert abs(float(r.max_abs_error) - float(want)) <= 1e-11
    assert r.domain == "[-1, 1]"


def test_relative_error_where_the_target_does_not_vanish():
    r = max_error(sp.exp(x), 1 + x + x**2 / 2, x, domain=(-1, 1))
    with mpmath.workdps(30):
        # |d / e| = |(1 + x + x^2/2) e^-x - 1|: largest at x = -1 (0.5 e - 1)
        want = mpmath.e / 2 - 1
    assert abs(float(r.relative_error) - float(want)) <= 1e-11


@pytest.mark.parametrize("exact,approx", [(x, sp.sin(x)), (x**3, x)])
def test_unbounded_errors_are_not_a_number(exact, approx):
    r = max_error(exact, approx, x)
    assert r.established == "unbounded" and r.max_abs_error == "unbounded"
    assert r.at == () and "unbounded" in r.reason


def test_a_tail_that_is_not_small_is_undecided():
    # sigmoid vs 1/2: |d| -> 1/2 at both ends, never attained: no located maximum
    r = max_error(1 / (1 + sp.exp(-x)), sp.S.Half, x)
    assert r.established == "undecided" and r.reason.startswith("tail not small")


def test_budget_exceeded_is_undecided():
    r = max_error(_cat("gelu"), _cat("gelu_tanh"), x, budget_s=0.01)
    assert r.established == "undecided" and r.reason.startswith("budget exceeded")
    assert r.max_abs_error == "undecided"
