r"""Formulas as published: chains (every link checked), approximations (located maximum
error, never refuted for being approximate), named constants as parameters, and
recognition within its time budget (symact.verify.claims, symact.verify.formula)."""
from __future__ import annotations

import time

import mpmath
import pytest
import sympy as sp

from symact.errors import ParameterError
from symact.model import catalog
from symact.parse.common import Link, ParsedFormula
from symact.verify import claims, formula
from symact.verify.formula import read_formula

X = sp.Symbol("x", real=True)


def _chain(*sides, head="f"):
    """A ParsedFormula built by hand: sides = ((relation, expr, source), ...)."""
    links = tuple(Link(r, e, s, 10 * k) for k, (r, e, s) in enumerate(sides))
    params = sorted({str(s) for _, e, _ in sides for s in e.free_symbols if s != X})
    return ParsedFormula(expr=links[0].expr, variable=X, head=head, is_derivative=False, self_references=(),
                         source=" = ".join(s for _, _, s in sides), parameters=tuple(params), links=links)


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


# --------------------------------------------------------------------------- chains
def test_sides_mark_what_follows_an_approx_as_approximate():
    p = _chain(("=", _sigmoid(X), "a"), ("approx", X / 4 + sp.S.Half, "b"), ("=", (X + 2) / 4, "c"))
    got = [(s.index, s.relation, s.approximate, s.parsed.expr) for s in claims.sides(p)]
    assert got == [(1, "=", False, _sigmoid(X)), (2, "approx", True, X / 4 + sp.S.Half),
                   (3, "=", True, (X + 2) / 4)]
    # a formula without links is one side, itself
    plain = ParsedFormula(expr=X, variable=X, head=None, is_derivative=False, self_references=(), source="x",
                          parameters=())
    assert [(s.index, s.approximate) for s in claims.sides(plain)] == [(1, False)]


def test_every_link_of_a_named_chain_is_checked():
    p = _chain(("=", _sigmoid(X), r"\sigma(x)"), ("=", 1 / (1 + sp.exp(X)), r"\frac{1}{1+e^{x}}"))
    tests = claims.link_tests(catalog.get("sigmoid"), p)
    assert [t.name for t in tests] == ["formula[1]", "formula[2]"]
    assert tests[0].passed and tests[0].details["verdict"] == "proved"
    bad = tests[1].details
    assert not tests[1].passed and bad["verdict"] == "refuted" and bad["side"] == 2
    # independent check of the witness: sigmoid(w) != 1/(1 + e^w) exactly
    w = sp.Rational(bad["witness"]["x"])
    assert sp.simplify(_sigmoid(w) - 1 / (1 + sp.exp(w))) != 0


def test_a_published_chain_read_by_the_reader_is_proved_link_by_link():
    p = read_formula(latex=r"\text{Sigmoid}(x) = \sigma(x) = \frac{1}{1 + \exp(-x)}")
    assert claims.head_name(p) == "sigmoid"
    tests = claims.link_tests(catalog.get(claims.head_name(p)), p)
    assert [(t.name, t.details["verdict"]) for t in tests] == [("formula[1]", "proved"), ("formula[2]", "proved")]


def test_unnamed_chain_sides_against_the_first_and_the_recognized_entry():
    p = _chain(("=", sp.tanh(X), "a"), ("=", (1 - sp.exp(-2 * X)) / (1 + sp.exp(-2 * X)), "b"),
               ("=", sp.tanh(2 * X), "c"), head=None)
    first, _ = claims.formula_activation(p)
    tanh = catalog.get("tanh")
    tests = claims.unnamed_link_tests(first, p, tanh, proved=True)
    verdicts = [(t.name, t.details["verdict"]) for t in tests]
    assert verdicts[:2] == [("formula[1]", "proved"), ("formula[2]", "proved")]
    assert verdicts[2] == ("formula[3]", "refuted") and not tests[2].passed
    # with no recognized entry, each side is compared with the first side
    alone = claims.unnamed_link_tests(first, p, None)
    assert [(t.name, t.passed) for t in alone] == [("formula[2]", True), ("formula[3]", False)]


# --------------------------------------------------------------------------- approximations
def _brute_max_error(f, g, lo=-4, hi=4):
    """max |g - f| on a grid of step 1/100, then on a grid of step 1e-5 around the best point
    (independent of symact: mpmath at 30 digits, no root finding)."""
    ff, gg = sp.lambdify(X, f, "mpmath"), sp.lambdify(X, g, "mpmath")
    with mpmath.workdps(30):
        err = lambda t: abs(gg(t) - ff(t))  # noqa: E731
        best = max((lo + mpmath.mpf(i) / 100 for i in range(int((hi - lo) * 100) + 1)), key=err)
        best = max((best + mpmath.mpf(i) / 10**5 for i in range(-1000, 1001)), key=err)
        return err(best), best


def test_gelu_tanh_approximates_gelu_with_its_located_maximum_error():
    gelu, tanh = catalog.get("gelu"), catalog.get("gelu_tanh")
    res = claims.approximation_test(gelu.expr, tanh.expr.xreplace({tanh.x: gelu.x}), gelu.x, of="gelu_tanh",
                                    against="gelu")
    d = res.details
    assert res.passed and d["verdict"] == "located" and "severity" not in d
    brute, where = _brute_max_error(gelu.expr.xreplace({gelu.x: X}), tanh.expr.xreplace({tanh.x: X}))
    err = mpmath.mpf(d["max_abs_error"])
    assert abs(err - brute) <= 1e-9 * brute   # the same maximum to 9 digits
    assert 4e-4 < float(err) < 5e-4
    assert any(abs(abs(float(a)) - abs(float(where))) < 1e-4 for a in d["at"])   # attained at the same |x|


def test_an_approx_link_is_an_approximation_claim_not_a_refutation():
    p = read_formula(latex=r"\mathrm{GELU}(x) \approx x\sigma(1.702x)")
    tests = claims.link_tests(catalog.get(claims.head_name(p)), p)
    assert [t.name for t in tests] == ["approximation"]
    d = tests[0].details
    assert tests[0].passed and d["verdict"] == "located"
    assert 0.015 < float(d["max_abs_error"]) < 0.025   # the sigmoid approximation of GELU: about 0.02


def test_a_huge_or_unbounded_error_is_an_inaccurate_approximation():
    relu = catalog.get("relu")
    res = claims.approximation_test(relu.expr, relu.x, relu.x, of="x", against="relu")
    assert not res.passed and res.details["severity"] == "inaccurate approximation"
    assert res.details["verdict"] == "unbounded"
    sig = catalog.get("sigmoid")
    res = claims.approximation_test(sig.expr, sp.S.Half + 0 * sig.x, sig.x, of="1/2", against="sigmoid")
    assert not res.passed and res.details["severity"] == "inaccurate approximation"
    assert abs(float(res.details["max_abs_error"]) - 0.5) < 1e-9   # sup |sigmoid - 1/2| = 1/2 at the ends


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("latex, name, values", [
    (r"\begin{cases} x & x \geq 0 \\ \text{negative\_slope} \cdot x & x < 0 \end{cases}", "leaky_relu",
     {"negative_slope": "0.2"}),
    (r"\begin{cases} x & x \geq 0 \\ \alpha x & x < 0 \end{cases}", "leaky_relu", {"negative_slope": "0.2"}),
    (r"\lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \leq 0 \end{cases}", "selu", {}),
    (r"\text{scale} \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \leq 0 \end{cases}", "selu", {}),
])
def test_named_constants_are_parameters_by_name_and_spelling(latex, name, values):
    act = catalog.get(name, **values)
    res = formula.formula_test(act, read_formula(latex=latex), given=set(values))
    assert res.passed and res.details["verdict"] == "proved", res.to_dict()
    assert set(res.details["parameters"]) == set(read_formula(latex=latex).parameters)


def test_a_parameter_with_no_value_takes_the_default_and_says_so():
    text = r"\max(0, x) + \min(0, \alpha (\exp(x) - 1))"
    res = formula.formula_test(catalog.get("elu"), read_formula(latex=text), given=set())
    assert res.passed and res.details["verdict"] == "proved"
    assert res.details["remarks"] == ["alpha not given: catalog default 1"]
    res = formula.formula_test(catalog.get("elu", alpha=2), read_formula(latex=text), given={"alpha"})
    assert res.passed and "remarks" not in res.details


def test_param_binds_a_formula_symbol_without_a_name():
    act, remarks = claims.formula_activation(read_formula(latex=r"\alpha x + \text{Shift}"),
                                             {"alpha": "3", "shift": "1/2"})
    assert act.expr == 3 * act.x + sp.S.Half and remarks == []
    with pytest.raises(ParameterError, match="no symbol beta"):
        claims.formula_activation(read_formula(latex=r"\alpha x"), {"alpha": "1", "beta": "2"})


def test_a_formula_symbol_with_no_value_is_a_clear_error_unless_it_is_a_catalog_parameter():
    with pytest.raises(ParameterError, match=r"beta, gamma have no value.*--param"):
        claims.formula_activation(read_formula(latex=r"\beta x + \gamma"))
    act, remarks = claims.formula_activation(read_formula(
        latex=r"\max(0,x) + \min(0, \alpha (\exp(x/\alpha) - 1))"), kinks=False)
    assert remarks == ["alpha not given: the formula is celu with alpha as its parameter; catalog default 1"]
    assert formula.prove_equal(act.expr, catalog.get("celu").expr.xreplace({catalog.get("celu").x: act.x}),
                               [act.x])


# --------------------------------------------------------------------------- recognition
def test_recognition_is_bounded_and_finds_the_sigmoid_gelu_approximation_as_swish_beta():
    act = formula.activation_from_formula(read_formula(latex=r"x \cdot \sigma(1.702x)"), kinks=False)
    t = time.monotonic()
    found = formula.recognize(act, seconds=120)
    assert time.monotonic() - t < 120
    assert found["complete"] and "budget 120 s" in found["note"]
    assert [(m["name"], m["params"], m["verdict"]) for m in found["matches"]] == [
        ("swish_beta", {"beta": "851/500"}, "proved")]


def test_recognition_stops_at_its_budget_and_says_so():
    act = formula.activation_from_formula(read_formula(latex=r"x^2 + 1"), kinks=False)
    found = formula.recognize(act, seconds=0)
    assert not found["complete"] and found["matches"] == []
    assert "stopped at the time budget of 0 s" in found["note"]


def test_erfc_form_of_gelu_is_proved():
    act = formula.activation_from_formula(read_formula(
        latex=r"\frac{x}{2} \mathrm{erfc}\left(\frac{-x}{\sqrt{2}}\right)"), kinks=False)
    gelu = catalog.get("gelu")
    assert formula.prove_equal(gelu.expr, act.expr.xreplace({act.x: gelu.x}), [gelu.x])


def test_a_formula_that_is_a_documented_approximation_says_what_it_approximates():
    act = formula.activation_from_formula(read_formula(latex=r"x \cdot \sigma(1.702x)"), kinks=False)
    known = claims.known_approximations(act)
    assert [(k["key"], k["approximates"]) for k in known] == [("sigmoid_1702_vs_gelu", "gelu")]
    assert 0.02 < float(known[0]["max_abs_error"]) < 0.021
    plain = formula.activation_from_formula(read_formula(latex=r"x \cdot \sigma(2x)"), kinks=False)
    assert claims.known_approximations(plain) == []


def test_a_vector_formula_is_matched_only_against_entries_that_keep_the_row_shape():
    # glu, logsumexp and crelu change the row's length: a component formula cannot be one of
    # them, and matching one against them raised IndexError (an internal error in check)
    parsed = read_formula(latex=r"\log(\frac{e^{x_i}}{\sum_j e^{x_j}})")
    act = formula.activation_from_formula(parsed)
    found = formula.catalog_matches(act)
    assert [m["name"] for m in found] == ["log_softmax"]
    assert found[0]["verdict"] == "proved"
