"""Tests for symact.parse.expr.parse_expr, the plain-text formula reader."""
from __future__ import annotations

import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symact.errors import BudgetError, ParseError
from symact.parse.expr import parse_expr
from symact.parse.common import ParsedFormula
from symact.parse.latex import parse_latex

x = sp.Symbol("x", real=True)
t = sp.Symbol("t", real=True)
alpha = sp.Symbol("alpha", real=True)
beta = sp.Symbol("beta", real=True)


def sig(v):
    return 1 / (1 + sp.exp(-v))


CORPUS = [
    ("1/(1+exp(-x))", sig(x)),
    ("sigmoid(x)", sig(x)),
    ("logistic(x)", sig(x)),
    ("f(x) = x*sigmoid(x)", x * sig(x)),
    ("tanh(x)", sp.tanh(x)),
    ("(exp(x) - exp(-x)) / (exp(x) + exp(-x))", (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x))),
    ("max(0, x)", sp.Max(0, x)),
    ("relu(x)", sp.Max(0, x)),
    ("ReLU(x)", sp.Max(0, x)),
    ("max(0.01*x, x)", sp.Max(x / 100, x)),
    ("where(x >= 0, 1, 0)", sp.Piecewise((1, x >= 0), (0, True))),
    ("where(x > 0, x, alpha*(exp(x) - 1))", sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))),
    ("where(-1 <= x <= 1, x, sign(x))", sp.Piecewise((x, (x >= -1) & (x <= 1)), (sp.sign(x), True))),
    ("where(x > 0 and x < 1 or x == 2, 1, 0)",
     sp.Piecewise((1, ((x > 0) & (x < 1)) | sp.Eq(x, 2)), (0, True))),
    ("where((x > 0) & (x != 1), x, 0)", sp.Piecewise((x, (x > 0) & sp.Ne(x, 1)), (0, True))),
    ("x/2*(1 + erf(x/sqrt(2)))", x / 2 * (1 + sp.erf(x / sp.sqrt(2)))),
    ("0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
     x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 10**6) * x**3)))),
    ("softplus(x)", sp.log(1 + sp.exp(x))),
    ("log(1 + exp(x))", sp.log(1 + sp.exp(x))),
    ("ln(1 + e^x)", sp.log(1 + sp.exp(x))),
    ("log1p(exp(x))", sp.log(1 + sp.exp(x))),
    ("expm1(x)", sp.exp(x) - 1),
    ("x/(1+abs(x))", x / (1 + sp.Abs(x))),
    ("x*tanh(softplus(x))", x * sp.tanh(sp.log(1 + sp.exp(x)))),
    ("max(0, min(1, (x+3)/6))", sp.Max(0, sp.Min(1, (x + 3) / 6))),
    ("heaviside(x)", sp.Heaviside(x)),
    ("-x**2", -(x**2)),
    ("-x^2", -(x**2)),
    ("2**-x", 2 ** (-x)),
    ("2**3**2", sp.Integer(2) ** 9),
    ("1e-3*x", x / 1000),
    ("pi*x + e", sp.pi * x + sp.E),
    ("alpha*x + beta", alpha * x + beta),
    ("g(t) = tanh(t)", sp.tanh(t)),
    ("y = x + 1", x + 1),
    ("  x  ", x),
]


@pytest.mark.parametrize("text,expected", CORPUS, ids=[s for s, _ in CORPUS])
def test_corpus(text, expected):
    parsed = parse_expr(text)
    assert isinstance(parsed, ParsedFormula)
    assert parsed.language == "expr" and parsed.source == text
    assert parsed.expr == expected or sp.simplify(parsed.expr - expected) == 0


def test_fields():
    p = parse_expr("f(x) = alpha*x + beta")
    assert p.head == "f" and p.variable == x and p.parameters == ("alpha", "beta")
    assert not p.is_derivative and p.self_references == () and not p.is_vector
    g = parse_expr("tanh(beta*t)")
    assert g.variable == t and g.parameters == ("beta",)
    assert parse_expr("3").variable == x


def test_same_result_as_latex():
    assert parse_expr("1/(1+exp(-x))").expr == parse_latex(r"\frac{1}{1+e^{-x}}").expr
    assert parse_expr("x*sigmoid(x)").expr == parse_latex(r"x\sigma(x)").expr


def test_hostile_input_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    for text in (
        "__import__('os').system('echo hi')",
        f"__import__('os').system('touch {marker}')",
        "exec('1')",
        "eval(x)",
        "x.__class__",
        "open('/etc/passwd')",
        "lambda: 1",
        "[x for x in y]",
        "x; import os",
    ):
        with pytest.raises(ParseError) as info:
            parse_expr(text)
        assert "column" in str(info.value) and "^" in str(info.value)
    assert not marker.exists()


ERRORS = [
    ("", "empty"),
    ("x +", "unexpected end"),
    ("2 x", "implicit multiplication"),
    ("x y", "implicit multiplication"),
    ("tanh[x)", "does not match"),
    ("foo(x)", "unknown function 'foo'"),
    ("sigmod(x)", "did you mean sigmoid"),
    ("exp", "is a function"),
    ("max(x)", "takes 2 to 32"),
    ("tanh(x, 1)", "takes 1"),
    ("x > 0", "unexpected"),
    ("tanh(x > 0)", "comparison"),
    ("where(x, 1, 0)", "first argument must be a comparison"),
    ("where(x > 0, 1)", "three arguments"),
    ("a*t + b", "cannot tell which symbol is the variable"),
    ("f(x) = f(x)", "in terms of itself"),
    ("y = x*y", "left-hand side"),
    ("x + 1 = y", "head"),
    ("log(0)", "undefined"),
    ("1/0", "undefined"),
    ("9**9**9**9", "too large"),
    ("1e99999", "exponent too large"),
    ("(" * 100 + "x" + ")" * 100, "nested"),
    ("x ! 1", "unexpected character"),
    ("(x", "unexpected end"),
]


@pytest.mark.parametrize("text,fragment", ERRORS, ids=[s[:30] or "<empty>" for s, _ in ERRORS])
def test_errors(text, fragment):
    with pytest.raises(ParseError) as info:
        parse_expr(text)
    message = str(info.value)
    assert fragment in message, message
    assert info.value.position is not None
    assert "column" in message and "^" in message


def test_guards():
    with pytest.raises(ParseError, match="longer than"):
        parse_expr("x+" * 6000)
    with pytest.raises(ParseError, match="nested"):
        parse_expr("-" * 3000 + "x")
    assert parse_expr("+".join(["x"] * 201)).expr == 201 * x  # 200 additions: MAX_TERMS
    with pytest.raises(BudgetError, match="more than 200 binary"):
        parse_expr("+".join(["x"] * 3000))


ALPHABET = ["x", "y", "1", "0.5", "e", "pi", "+", "-", "*", "/", "**", "^", "(", ")",
            ",", "exp", "log", "tanh", "max", "where", "sigmoid", "<", ">=", "==",
            "and", "or", "&", "|", "=", "f", " ", "'", "__import__", ".", "1e5"]


@settings(max_examples=300, deadline=1000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ALPHABET), max_size=25))
def test_fuzz(tokens):
    text = "".join(tokens)
    start = time.perf_counter()
    try:
        result = parse_expr(text)
    except ParseError:
        pass
    else:
        assert isinstance(result.expr, sp.Basic)
    assert time.perf_counter() - start < 1.0
