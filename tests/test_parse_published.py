"""Formulas as publications write them (issue 15): chains, approximations, catalog
names, user definitions, and the notation of docstrings, papers and Wikipedia.

Each case is the text as published and an independent SymPy form; they are
compared exactly (``simplify`` of the difference, or exact values at points).
"""
from __future__ import annotations

import pytest
import sympy as sp

from symact.errors import ParseError
from symact.parse.common import Link, catalog_name
from symact.parse.expr import parse_expr
from symact.parse.latex import parse_latex

x = sp.Symbol("x", real=True)
alpha = sp.Symbol("alpha", real=True)


def sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def Phi(u):
    return (1 + sp.erf(u / sp.sqrt(2))) / 2


POINTS = [sp.Rational(-7, 2), sp.Integer(-1), sp.Rational(-1, 3), sp.Rational(1, 5),
          sp.Rational(3, 2), sp.Integer(4)]


def same(a, b, var=x) -> bool:
    """Exactly equal at the points (to 30 digits), or a difference that simplifies to 0."""
    try:
        if sp.simplify(a - b) == 0:
            return True
    except Exception:  # pragma: no cover - simplify gave up
        pass
    for p in POINTS:
        va, vb = a.subs(var, p), b.subs(var, p)
        if abs(sp.N(va - vb, 30)) > sp.Float("1e-25"):
            return False
    return True


# ---------------------------------------------------------------- chains
def test_chain_of_equalities():
    f = parse_latex(r"\text{Sigmoid}(x) = \sigma(x) = \frac{1}{1 + \exp(-x)}")
    assert f.head == "Sigmoid" and f.variable == x
    assert [link.relation for link in f.links] == ["=", "="]
    assert all(isinstance(link, Link) for link in f.links)
    assert f.expr == f.links[0].expr
    assert same(f.links[0].expr, sigmoid(x)) and same(f.links[1].expr, sigmoid(x))
    assert f.links[0].source == r"\sigma(x)"
    assert f.links[1].source == r"\frac{1}{1 + \exp(-x)}"
    assert f.source[f.links[1].position:].startswith(r"\frac")


def test_chain_with_approximation():
    f = parse_latex(r"\mathrm{GELU}(x) = x\Phi(x) \approx 0.5x(1+\tanh[\sqrt{2/\pi}"
                    r"(x+0.044715x^3)])")
    assert f.head == "GELU"
    assert [link.relation for link in f.links] == ["=", "approx"]
    assert same(f.expr, x * Phi(x))
    approx = x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 10**6) * x**3)))
    assert same(f.links[1].expr, approx)


@pytest.mark.parametrize("rel", [r"\approx", r"\simeq", "\u2248"])
def test_approximation_spellings(rel):
    f = parse_latex(rf"\mathrm{{GELU}}(x) {rel} x \sigma(1.702 x)")
    assert [link.relation for link in f.links] == ["approx"]
    assert same(f.expr, x * sigmoid(sp.Rational(1702, 1000) * x))


def test_no_chain_has_one_link():
    f = parse_latex(r"f(x) = x^2")
    assert len(f.links) == 1 and f.links[0].relation == "=" and f.links[0].expr == x**2
    g = parse_latex(r"x^2 + 1")
    assert len(g.links) == 1 and g.links[0].expr == x**2 + 1 and g.head is None


def test_parameters_are_the_union_over_sides():
    f = parse_latex(r"f(x) = \alpha x = \alpha x + 0 \beta")
    assert f.parameters == ("alpha",)
    g = parse_latex(r"f(x) = \alpha x \approx \beta x")
    assert g.parameters == ("alpha", "beta")


def test_expr_chains():
    f = parse_expr("f(x) = x*sigmoid(x) = x/(1+exp(-x)) ~= x*sigmoid(1.702*x)")
    assert f.head == "f"
    assert [link.relation for link in f.links] == ["=", "=", "approx"]
    assert same(f.links[1].expr, x * sigmoid(x))
    assert f.links[1].source == "x/(1+exp(-x))"
    g = parse_expr("gelu(x) \u2248 x*sigmoid(1.702*x)")
    assert [link.relation for link in g.links] == ["approx"]


# ---------------------------------------------------------------- catalog names and user functions
@pytest.mark.parametrize("text,name", [
    ("GELU", "gelu"), ("Leaky-ReLU", "leaky_relu"), (r"leaky\_relu", "leaky_relu"),
    ("LeakyReLU", "leaky_relu"), ("Hard SiLU", "hard_swish"), ("log_sigmoid", "log_sigmoid"),
    ("Swish", "silu"), ("ReLU6", "relu6"), ("softmax", "softmax"), ("hello", None), ("", None),
])
def test_catalog_name(text, name):
    assert catalog_name(text) == name


def test_catalog_functions_in_a_body():
    f = parse_latex(r"f(x) = x \cdot \mathrm{ReLU6}(x+3)/6")
    assert same(f.expr, x * sp.Min(sp.Max(0, x + 3), 6) / 6)
    g = parse_latex(r"f(x) = \mathrm{ELU}(x)")
    assert g.parameters == ("alpha",)
    assert g.expr.subs(alpha, 1).subs(x, -1) == sp.exp(-1) - 1
    assert parse_expr("elu(x)").parameters == ("alpha",)
    with pytest.raises(ParseError, match="vector"):
        parse_latex(r"f(x) = \mathrm{softmax}(x)")


def test_user_functions_override():
    f = parse_latex(r"f(x) = x \sigma(x)", functions={"sigma": sp.tanh})
    assert f.expr == x * sp.tanh(x)
    g = parse_latex(r"f(x) = \operatorname{act}(2x)", functions={"act": lambda u: u**2})
    assert g.expr == 4 * x**2
    h = parse_expr("x*sigma(x)", functions={"sigma": sp.tanh})
    assert h.expr == x * sp.tanh(x)
    k = parse_expr("tanh(x)", functions={"tanh": lambda u: u})
    assert k.expr == x

    def broken(u):
        raise ValueError("no")

    with pytest.raises(ParseError, match="cannot be applied"):
        parse_latex(r"\sigma(x)", functions={"sigma": broken})
