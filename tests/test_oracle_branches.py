"""The oracle decides piecewise conditions exactly (issue 15): Max/Min forms, tiny
arguments, exact kinks, expressions equal at a point. References are mpmath at a
precision fixed here, and hand-derived values."""
import mpmath
import pytest
import sympy as sp

from symact.model import catalog
from symact.numeric.oracle import Oracle, UndecidedBranch
from symact.parse.latex import parse_latex
from symact.verify.formula import formula_test

x = sp.Symbol("x", real=True)
TINY = [-5e-324, 5e-324, -1e-300, 1e-300, -2.0**-1000, 2.0**-1000]


def _elu_ref(v, alpha=1, scale=1):
    """scale * (max(0, x) + min(0, alpha (exp(x / a) - 1))) at 3000 bits: the float
    is exact there, and expm1 keeps the relative precision of a tiny argument."""
    with mpmath.workprec(3000):
        t = mpmath.mpf(v)
        return scale * (t if t > 0 else alpha * mpmath.expm1(t))


@pytest.mark.parametrize("v", TINY + [0.0, -1.0, 2.5, -40.0])
def test_max_min_elu_form_picks_the_right_branch(v):
    e = sp.Max(0, x) + sp.Min(0, sp.exp(x) - 1)
    got = Oracle(e, x).rounded(v)
    assert got == float(_elu_ref(v))
    if v < 0:
        assert got < 0     # exp(x) - 1 < 0 there: the min branch, not 0


@pytest.mark.parametrize("v", TINY)
def test_max_min_celu_and_selu_forms(v):
    a = sp.Rational(3, 2)
    celu = sp.Max(0, x) + sp.Min(0, a * (sp.exp(x / a) - 1))
    with mpmath.workprec(3000):
        ref = mpmath.mpf(v) if v > 0 else a.p * mpmath.expm1(mpmath.mpf(v) / a) / a.q
    assert Oracle(celu, x).rounded(v) == float(ref)
    alpha, scale = sp.Float("1.6732632423543772"), sp.Float("1.0507009873554805")
    selu = scale * (sp.Max(0, x) + sp.Min(0, alpha * (sp.exp(x) - 1)))
    with mpmath.workprec(3000):
        ref = mpmath.mpf(scale._mpf_) * (mpmath.mpf(v) if v > 0 else mpmath.mpf(alpha._mpf_) * mpmath.expm1(v))
    assert Oracle(selu, x).rounded(v) == float(ref)


@pytest.mark.parametrize("latex,name", [
    (r"\max(0,x) + \min(0, \alpha (\exp(x) - 1))", "elu"),
    (r"\max(0,x) + \min(0, \alpha(\exp(x/\alpha) - 1))", "celu"),
    (r"\lambda (\max(0,x) + \min(0, \alpha (\exp(x) - 1)))", "selu"),
])
def test_pytorch_max_min_forms_pass(latex, name):
    result = formula_test(catalog.get(name), parse_latex(latex))
    assert result.passed, result.details
    assert result.details["verdict"] in ("proved", "undecided")


def test_exact_kinks():
    # the two sides are exactly equal: either branch is the same value, and the
    # decision is exact (no rounding): Max(x, x^2) at 1, Min(exp(x), 1 + x) at 0
    assert Oracle(sp.Max(x, x**2), x)(1.0) == 1
    assert Oracle(sp.Min(sp.exp(x), 1 + x), x)(0.0) == 1
    assert Oracle(sp.Max(x, 0), x)(0.0) == 0
    # a step whose condition is an exact zero at the point: the <= row, not the next
    step = sp.Piecewise((0, sp.exp(x) - 1 <= 0), (1, True))
    assert Oracle(step, x)(0.0) == 0
    assert Oracle(step, x)(5e-324) == 1
    assert Oracle(step, x)(-5e-324) == 0
    strict = sp.Piecewise((0, sp.exp(x) < 1), (1, True))
    assert Oracle(strict, x)(0.0) == 1 and Oracle(strict, x)(-5e-324) == 0


def test_equal_sides_sympy_cannot_reduce():
    # sin^2 + cos^2 = 1 at 1/2: no interval separates them and SymPy does not
    # reduce it to 0; Max of the two is still 1 either way
    assert Oracle(sp.Max(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1), x)(0.5) == 1


def test_undecidable_condition_with_different_cases_is_not_guessed():
    e = sp.Piecewise((0, sp.sin(x) ** 2 + sp.cos(x) ** 2 >= 1), (1, True))
    with pytest.raises(UndecidedBranch):
        Oracle(e, x)(0.5)


@pytest.mark.parametrize("v", [-1e-100, 1e-100, -1e-300, 1e-300])
def test_conditions_between_functions_that_touch_at_zero(v):
    # tanh(x) - sin(x) = -x^3/6 + O(x^5): below 2^-1990 relative at 1e-300, and its
    # sign is that of -x; the cases differ (1 or 2), so only an exact decision is right
    e = sp.Piecewise((1, sp.tanh(x) >= sp.sin(x)), (2, True))
    assert Oracle(e, x)(v) == (2 if v > 0 else 1)
    m = sp.Max(sp.tanh(x), sp.sin(x))
    with mpmath.workprec(8000):
        t = mpmath.mpf(v)
        ref = max(mpmath.tanh(t), mpmath.sin(t))
    assert Oracle(m, x).rounded(v) == float(ref)


def test_boolean_functions_in_conditions():
    # hardshrink's condition comes as ITE(x >= 0, x > 1/2, x < -1/2); Xor as And/Or/Not
    half = sp.Rational(1, 2)
    e = sp.Piecewise((x, sp.ITE(x >= 0, x > half, x < -half)), (0, True))
    assert [Oracle(e, x)(v) for v in (-1.0, -0.5, 0.0, 0.5, 0.7)] == [-1, 0, 0, 0, mpmath.mpf(0.7)]
    xor = sp.Piecewise((1, sp.Xor(x > 0, x > 1)), (0, True))
    assert [Oracle(xor, x)(v) for v in (-1.0, 0.5, 1.0, 2.0)] == [0, 1, 1, 0]
