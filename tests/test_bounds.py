"""Bounded work after the reader (issue 13, item 4): static bounds on a user's expression,
parameter values within float64's range, the oracle's exponent range and precision budget,
cases whose cost grows linearly with the rows, and a cases with no row somewhere is exit 2."""
from __future__ import annotations

import time

import mpmath
import pytest
import sympy as sp

from symact.cli import capture
from symact.errors import BudgetError, ParameterError
from symact.numeric.oracle import Oracle, round_to
from symact.symbolic import budget, forms, normal
from symact.symbolic.forms import X as x


def _cli(args, seconds):
    t = time.monotonic()
    code, out, err = capture(args)
    elapsed = time.monotonic() - t
    assert "Traceback" not in err and "internal error" not in err, err
    assert elapsed < seconds, (args, elapsed)
    return code, out, err


@pytest.fixture(autouse=True)
def _cold(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("formula, words", [
    (r"e^{e^{e^{x}}}", "nests exponentials 3 deep"),
    (r"e^{x^{1000}}", "power of degree 1000"),
    ("+".join(f"x^{{{k}}}/{k + 1}" for k in range(1, 120)), "bound"),
    ("+".join(f"e^{{{k}x}}" for k in range(1, 150)), "bound"),
    (r"x^{-10^{4000}}", ""),
])
def test_costly_formulas_are_exit_2_quickly(formula, words):
    code, _, err = _cli(["check", "--jobs", "1", "--latex", formula], 20)
    assert code == 2, err
    assert err.count("\n") == 1 or "^" in err   # one line (the reader's errors point at the column)
    assert words in err


def test_one_row_cases_is_undefined_not_a_traceback():
    code, _, err = _cli(["check", "--jobs", "1", "--latex", r"\begin{cases} x & x > 0 \end{cases}"], 20)
    assert code == 2
    assert "the cases do not define f for x <= 0" in err and "otherwise" in err


def test_one_row_cases_in_a_note_is_a_finding(tmp_path):
    note = tmp_path / "n.md"
    note.write_text("# f\n\n```math\nf(x) = \\begin{cases} x & x > 0 \\end{cases}\n```\n")
    code, out, err = _cli(["notes", "--no-exec", str(note)], 30)
    assert code in (0, 1), err
    assert "do not define" in out


@pytest.mark.parametrize("value, words", [
    ("1e100000000", "outside float64's range"),
    ("1e5000", "outside float64's range"),
    ("-2e308", "outside float64's range"),
    ("1e-400", "below float64's smallest"),
    ("1" * 900, "characters"),
])
def test_parameter_values_beyond_float64_are_exit_2_at_once(value, words):
    code, _, err = _cli(["check", "leaky_relu", "--jobs", "1", "--param", f"negative_slope={value}"], 5)
    assert code == 2 and words in err and err.count("\n") == 1


def test_parameter_value_bounds_are_pinned():
    assert budget.parse_value("1.7976931348623157e308") > 0
    assert budget.parse_value("5e-324") > 0
    assert budget.parse_value("0e999999999999") == 0
    for bad in ("1.8e308", "2e-324"):
        with pytest.raises(BudgetError):
            budget.parse_value(bad)
    with pytest.raises(ParameterError):
        budget.parse_value("1e")
    from symact.model import catalog

    with pytest.raises(BudgetError):
        catalog.get("leaky_relu").with_params(negative_slope=10**5000)
    with pytest.raises(ParameterError):
        catalog.get("leaky_relu").with_params(negative_slope=float("inf"))


def _just(bound_name, build):
    bound = getattr(budget, bound_name)
    budget.check_expr(build(bound), x=x)
    with pytest.raises(BudgetError):
        budget.check_expr(build(bound + 1), x=x)


def test_static_bounds_are_pinned():
    _just("MAX_DEGREE", lambda n: x ** n + 1)
    _just("MAX_TERMS", lambda n: sp.Add(*[x ** (k % 5) * sp.Symbol(f"a{k}") for k in range(n)]))
    _just("MAX_ROWS", lambda n: sp.Piecewise(*[(k, x < k) for k in range(n - 1)], (0, True), evaluate=False))
    _just("MAX_DIGITS", lambda n: x + sp.Integer(10) ** (n - 1))
    _just("MAX_TOWER", lambda n: sp.Lambda(x, x)(x) if n == 0 else _tower(n))
    every = [forms.X]
    from symact.model import catalog

    for name in catalog.names():   # the catalog is far inside every bound
        a = catalog.get(name)
        budget.check_expr(a.expr, name)
        every.append(a)


def _tower(n):
    e = x
    for _ in range(n):
        e = sp.exp(e)
    return e


def test_oracle_exponent_range_is_right_or_refuses():
    o = Oracle(sp.exp(sp.exp(x)), x)
    assert round_to(o(1e300), float) == float("inf")
    assert round_to(o(-1e300), float) == 1.0
    with mpmath.workprec(300):
        assert round_to(o(1.0), float) == float(mpmath.exp(mpmath.e))
    gompertz = Oracle(sp.exp(-sp.exp(-x)), x)
    assert round_to(gompertz(-1e300), float) == 0.0
    assert round_to(Oracle(sp.tanh(sp.exp(sp.exp(x))), x)(1e300), float) == 1.0
    t = time.monotonic()
    with pytest.raises(BudgetError, match="could not settle"):
        Oracle(sp.exp(sp.exp(x)) - sp.exp(sp.exp(x) + 1), x)(1e300)   # the true value is -inf: no guess
    assert time.monotonic() - t < 5


def test_cases_cost_grows_linearly_with_the_rows():
    def cost(n):
        pw = sp.Piecewise(*[(k, (x >= k) & (x < k + 1)) for k in range(n)], (0, True), evaluate=False)
        best = float("inf")
        for _ in range(2):
            normal._NORMAL.clear(), normal._FLAT.clear(), forms._TABLES.clear(), forms._LIMITS.clear()
            t = time.perf_counter()
            kinks = forms.find_kinks(pw, x)
            forms.differentiate(pw, x, {k.at: "left" for k in kinks})
            best = min(best, time.perf_counter() - t)
        assert len(kinks) == n   # a jump at 1..n (row 0 is 0, as is "otherwise")
        return best

    small, big = cost(60), cost(120)
    assert big / small < 3.2, (small, big)   # quadratic would be 4 (it was minutes at 30 rows)


def test_branch_table_matches_the_scan():
    pw = sp.Piecewise((1, (x >= 0) & (x < 1)), (2, sp.Eq(x, 3)), (3, x > 5), (4, sp.Ne(x, 4) & (x > 2)),
                      (5, True), evaluate=False)
    for p in [sp.S(v) for v in (-1, 0, sp.Rational(1, 2), 1, 2, 3, 4, 5, 6)] + [sp.oo, -sp.oo]:
        for side in "-+":
            scan = next((e for e, c in pw.args if forms._condition_near(c, x, p, side)), None)
            assert forms.resolve_near(pw, x, p, side) == scan


def test_step_budget_names_the_step():
    t = time.monotonic()
    with pytest.raises(BudgetError, match="spinning took more than 0.3 s"):
        with budget.step("spinning", 0.3):
            while True:
                try:
                    sum(range(1000))
                except Exception:  # noqa: BLE001 - a broad handler must not swallow the overrun
                    pass
    assert time.monotonic() - t < 3
    with budget.step("quick", 5):
        pass
