"""Formulas against the catalog: formula_test, catalog_matches, round trip, hostile input."""
from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symact.model import catalog
from symact.symbolic import forms as symbolic
from symact.errors import ParseError, SymactError
from symact.symbolic.exact import certified_sign
from symact.verify.formula import (
    FormulaMismatch, activation_from_formula, bind, catalog_matches, formula_test, oracle_points,
    read_formula,
)
from symact.parse.latex import parse_latex

STEP_COURSE = r"h(x) = \begin{cases} 1 & (x \geq 0) \\ 0 & (x < 0) \end{cases}"


@pytest.mark.parametrize("name", catalog.names())
def test_round_trip_latex_is_proved_equal_to_definition(name):
    """Every catalog entry's LaTeX reads back to its definition, for ALL parameter values."""
    act = catalog.get(name)
    if act.shape in ("half", "double"):
        # glu's x_{i + n/2} and crelu's [relu(x), relu(-x)]: no index arithmetic or lists in the
        # formula language; reading them back is a clear error, never a wrong formula
        with pytest.raises(ParseError):
            parse_latex(act.latex)
        return
    body = bind(act, parse_latex(act.latex), values=False)
    d = sp.simplify(symbolic.normalize(act.definition - body))
    assert d == 0 or symbolic.prove_zero(d, [] if act.vector else [act.x]), (name, body)
    result = formula_test(act, parse_latex(act.latex))
    assert result.passed and result.details["verdict"] == "proved", result.to_dict()


def _refuted(result, x):
    d = result.details
    assert not result.passed and d["verdict"] == "refuted", result.to_dict()
    assert d["witness"] == {"x": x}
    return d


def test_course_step_is_refuted_at_zero_with_default_h0_and_proved_with_h0_1():
    d = _refuted(formula_test(catalog.get("step"), read_formula(latex=STEP_COURSE)), "0")
    assert (d["expected"], d["got"]) == ("0", "1")
    ok = formula_test(catalog.get("step", h0=1), read_formula(latex=STEP_COURSE))
    assert ok.passed and ok.details["verdict"] == "proved"


@pytest.mark.parametrize("name, text, x", [
    ("sigmoid", r"\frac{1}{1 + e^{x}}", "1"),
    ("relu", r"\max(0, x) + 10^{-30}", "0"),
    ("gelu", catalog.get("gelu_tanh").latex, "1"),
    ("relu", r"f(x) = \begin{cases} x & x > 0 \end{cases}", "0"),  # undefined at 0
    ("sigmoid", r"\sigma'(x) = \sigma(x)(1 + \sigma(x))", "0"),
])
def test_refutations_have_simple_certified_witnesses(name, text, x):
    act = catalog.get(name)
    parsed = read_formula(latex=text)
    d = _refuted(formula_test(act, parsed), x)
    # independent re-check: the exact values at the witness differ
    w = sp.Rational(x)
    expected = act.derivative if parsed.is_derivative else act.expr
    f = sp.piecewise_fold(symbolic.normalize(expected).subs(act.x, w))
    g = sp.piecewise_fold(symbolic.normalize(bind(act, parsed)).subs(act.x, w))
    assert g.has(sp.nan) or certified_sign(f - g) in (-1, 1)
    assert d["expected"] != d["got"]


def test_parameters_bind_by_name_and_synonym():
    elu2 = catalog.get("elu", alpha=2)
    text = r"f(x) = \begin{cases} x & x \geq 0 \\ \alpha (e^{x} - 1) & x < 0 \end{cases}"
    assert formula_test(elu2, read_formula(latex=text)).details["verdict"] == "proved"
    slope = r"\begin{cases} x & x \geq 0 \\ a x & x < 0 \end{cases}"
    assert formula_test(catalog.get("leaky_relu", negative_slope="0.2"), read_formula(latex=slope)).passed
    with pytest.raises(FormulaMismatch, match="beta"):
        formula_test(catalog.get("elu"), read_formula(latex=text.replace(r"\alpha", r"\beta")))


def test_derivative_and_expr_forms():
    assert formula_test(catalog.get("sigmoid"), read_formula(latex=r"f'(x) = f(x)(1 - f(x))")).passed
    assert formula_test(catalog.get("tanh"), read_formula(expr="tanh(x)")).passed
    assert formula_test(catalog.get("softplus"), read_formula(expr="log(1 + exp(x))")).passed


def test_vector_formula():
    soft = catalog.get("softmax")
    ok = formula_test(soft, read_formula(latex=r"y_k = \frac{\exp(a_k)}{\sum_{i=1}^{n} \exp(a_i)}"))
    assert ok.details["verdict"] == "proved"
    bad = formula_test(soft, read_formula(latex=r"y_k = \frac{\exp(-a_k)}{\sum_{i=1}^{n} \exp(-a_i)}"))
    assert bad.details["verdict"] == "refuted" and bad.details["witness"]["x"] == ["0", "1"]
    with pytest.raises(FormulaMismatch):
        formula_test(catalog.get("sigmoid"), read_formula(latex=r"y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}"))


@pytest.mark.parametrize("text, expected", [
    (r"\frac{1}{1+e^{-x}}", {("sigmoid", ())}),
    (r"\max(0,x)", {("relu", ()), ("leaky_relu", (("negative_slope", "0"),)), ("prelu", (("weight", "0"),)),
                    ("threshold", ()), ("relu_keras", ())}),
    (r"\begin{cases} x & x \geq 0 \\ 0.2x & x<0\end{cases}", {("leaky_relu", (("negative_slope", "1/5"),)),
                                                               ("prelu", (("weight", "1/5"),))}),
    (r"\begin{cases} x & x \geq 0 \\ 2(e^x-1) & x<0\end{cases}",
     {("elu", (("alpha", "2"),)), ("selu", (("alpha", "2"), ("scale", "1")))}),
    (STEP_COURSE, {("step", (("h0", "1"),))}),
    (r"\begin{cases} x & x \geq 0 \\ 2(e^{x/2}-1) & x<0\end{cases}", {("celu", (("alpha", "2"),))}),
    (r"\frac{x}{2}\left(1+\tanh\frac{x}{2}\right)", {("silu", ()), ("swish_beta", ())}),
    (r"x \cdot \sigma(1.702x)", {("swish_beta", (("beta", "851/500"),))}),
    (r"y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}", {("softmax", ())}),
    (r"x^2 + 1", set()),
])
def test_catalog_matches(text, expected):
    act = activation_from_formula(read_formula(latex=text))
    # rrelu (eval mode) has the slope (lower + upper) / 2: its two parameters are not identifiable
    got = [m for m in catalog_matches(act, seconds=600) if m["name"] != "rrelu"]
    assert {(m["name"], tuple(sorted((k, v) for k, v in m["params"].items()
                                      if sp.Rational(v) != catalog.get(m["name"]).param_values[k])))
            for m in got} == expected
    assert all(m["verdict"] == "proved" for m in got)


def test_activation_from_formula_kinks_and_params():
    act = activation_from_formula(read_formula(latex=r"\max(0, x)"))
    assert act.conventions_bound == {0: "left"} and "left" in act.convention_note
    assert act.derivative.subs(act.x, 0) == 0
    with pytest.raises(SymactError, match="alpha"):
        activation_from_formula(read_formula(latex=r"\alpha x"))
    scaled = activation_from_formula(read_formula(latex=r"\alpha x"), params={"alpha": "3"})
    assert scaled.expr == 3 * symbolic.X


@pytest.mark.parametrize("kw", [
    {"expr": "__import__('os').system('touch /tmp/symact_pwned')"},
    {"latex": r"\input{/etc/passwd}"},
    {"latex": r"\def\x{1} x"},
    {"latex": "x", "expr": "x"},
])
def test_hostile_input_is_refused_and_runs_nothing(kw, tmp_path):
    import os
    with pytest.raises(ParseError):
        read_formula(**kw)
    assert not os.path.exists("/tmp/symact_pwned")


def test_points_are_seeded_and_cover_kinks():
    a, b = oracle_points([sp.Integer(3)], seed=1), oracle_points([sp.Integer(3)], seed=1)
    assert a == b and 3.0 in a and 0.0 in a and 1e300 in a
    assert oracle_points(seed=2) != oracle_points(seed=1)


@settings(max_examples=20, deadline=None)
@given(st.fractions(min_value=-5, max_value=5, max_denominator=8))
def test_fuzz_leaky_slope_is_recovered_exactly(slope):
    """catalog_matches solves leaky_relu's slope exactly from any formula a x (x < 0)."""
    text = rf"\begin{{cases}} x & x \geq 0 \\ \frac{{{slope.numerator}}}{{{slope.denominator}}} x & x < 0 \end{{cases}}"
    matches = catalog_matches(activation_from_formula(read_formula(latex=text)))
    leaky = [m for m in matches if m["name"] == "leaky_relu"]
    assert leaky and sp.Rational(leaky[0]["params"]["negative_slope"]) == sp.Rational(slope.numerator, slope.denominator)


@pytest.mark.parametrize("latex", [r"e^{e^{x}}", r"e^{-e^{x}}"])
def test_nested_exponential_kernels_match_the_oracle(latex):
    """exp of a CSE name (``_c0`` = e^x) is no polynomial in x: it takes the plain
    path, not the double-double one (``cannot create mpf from _c0`` before)."""
    import numpy as np

    from symact.numeric import kernels
    from symact.numeric.oracle import Oracle
    from symact.numeric.ulp import floor_errors

    act = activation_from_formula(read_formula(latex=latex))
    k = kernels.build_kernel(act)
    xs = np.array([-800.0, -30.0, -2.5, -1.0, -0.125, 0.0, 0.5, 1.0, 2.0, 5.0, 6.5, 7.0])
    orc = Oracle(act.expr, act.x)
    want = np.array([orc.rounded(float(v)) for v in xs])
    assert floor_errors(k(xs), want).max() <= 4


def test_a_polynomial_kernel_is_accurate_at_its_real_roots():
    """x^20 + x cancels at its root -1 (a grid point of the root search): the kernel
    fixes it up with (x - r) q(x), like the catalog's roots (12 ULP before)."""
    import numpy as np

    from symact.numeric import kernels
    from symact.numeric.oracle import Oracle
    from symact.numeric.ulp import floor_errors

    act = activation_from_formula(read_formula(latex=r"x^{20}+x"))
    k = kernels.build_kernel(act)
    assert k.root_polys and any(rp.lo < -1 < rp.hi for rp in k.root_polys)
    xs = np.concatenate([-1 + np.linspace(-2e-3, 2e-3, 41), [-1 - 2.0**-40, -1 + 2.0**-40, 0.5, -0.5]])
    orc = Oracle(act.expr, act.x)
    want = np.array([orc.rounded(float(v)) for v in xs])
    assert floor_errors(k(xs), want).max() <= 2
