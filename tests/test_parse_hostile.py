r"""Hostile and broken formulas for both readers (issue 13, items 4, 7 and 8).

The property, for :func:`~symact.parse.latex.parse_latex` and
:func:`~symact.parse.expr.parse_expr` alike: a reader returns a
:class:`~symact.parse.common.ParsedFormula` or raises a
:class:`~symact.errors.SymactError` (a ``ParseError``, or a
``FormulaBudgetError`` beyond a stated bound) -- never any other exception,
never a ``RecursionError`` -- within a bounded time and memory per input.

* Hypothesis: random Unicode text, token soups built from each reader's own
  vocabulary (commands, braces, scripts, Unicode spellings, huge numbers),
  and mutations of valid formulas (the catalog's and real-world ones);
* every prefix of a few valid formulas;
* deep nesting of every kind (10,000 braces, parentheses, ``\frac``,
  ``e^{e^{...}}``, signs, bare functions, ``where``), huge literals and powers;
* each bound of :mod:`symact.parse.common` pinned: just under is read, just over
  is a ``BudgetError`` naming the bound;
* Unicode behaviour (``x²``, ``x₂``, ``−``, ``·``, ``π``, Arabic-Indic digits);
* formulas as PyTorch's and JAX's documentation and Wikipedia write them: no
  bound refuses them;
* the CLI end to end (``check --latex/--expr``, ``notes``): exit 2 (or 0/1 when
  read), one error, no traceback, bounded time.
"""
from __future__ import annotations

import time
import tracemalloc

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symact.cli import capture
from symact.errors import BudgetError, ParseError, SymactError
from symact.model import catalog
from symact.parse import common
from symact.parse.common import (
    MAX_DEPTH,
    MAX_EXACT_DIGITS,
    MAX_EXPONENT,
    MAX_FACTORS,
    MAX_LENGTH,
    MAX_NUMBER_DIGITS,
    MAX_ROWS,
    MAX_TERMS,
    MAX_TREE_DEPTH,
    FormulaBudgetError,
    ParsedFormula,
)
from symact.parse.expr import parse_expr
from symact.parse.latex import parse_latex

READERS = {"latex": parse_latex, "expr": parse_expr}
#: seconds one input may take to be read or refused (they take milliseconds)
PER_INPUT_S = 2.0
FUZZ = settings(max_examples=500, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def _read_once(reader, text):
    start = time.perf_counter()
    try:
        result = reader(text)
    except SymactError as exc:
        result = exc
    # any other exception (RecursionError, ValueError, AttributeError...) fails the test
    return result, time.perf_counter() - start


def read(reader, text):
    """Read ``text``: the ParsedFormula or the SymactError; anything else fails the test,
    and so does taking longer than PER_INPUT_S twice in a row (once may be the machine)."""
    result, elapsed = _read_once(reader, text)
    if elapsed >= PER_INPUT_S:
        result, elapsed = _read_once(reader, text)
    assert elapsed < PER_INPUT_S, f"{elapsed:.2f} s for {text[:80]!r}"
    if isinstance(result, SymactError):
        assert str(result).strip(), "an error without a message"
        if isinstance(result, ParseError) and result.position is not None:
            assert "column" in str(result)
    else:
        assert isinstance(result, ParsedFormula)
        assert isinstance(result.expr, sp.Basic)
    return result


def refused(reader, text, bound_error=True):
    """``text`` is refused: a FormulaBudgetError (or any ParseError) with a position."""
    result = read(reader, text)
    assert isinstance(result, SymactError), f"{text[:60]!r} was read as {result.expr}"
    if bound_error:
        assert isinstance(result, BudgetError) and isinstance(result, ParseError), result
        assert isinstance(result, FormulaBudgetError)
        assert result.position is not None
    return str(result)


# --------------------------------------------------------------------------
# Real formulas: catalog, tests, and as PyTorch/JAX docs and Wikipedia write them
# --------------------------------------------------------------------------
#: Real-world spellings (PyTorch and JAX docstrings, Wikipedia's activation
#: function table, course notes).  Every one is read (None) or refused for its
#: spelling (a later issue), never for a bound; "read" ones must parse.
REAL_LATEX = [
    # torch.nn.GELU / functional.gelu (approximate='tanh')
    (r"\text{GELU}(x) = 0.5 * x * (1 + \text{Tanh}(\sqrt{2 / \pi} * (x + 0.044715 * x^3)))", True),
    (r"\text{GELU}(x) = x * \Phi(x)", True),
    # torch.nn.ELU and functional.elu
    (r"\text{ELU}(x) = \begin{cases} x, & \text{ if } x > 0\\ \alpha * (\exp(x) - 1), & "
     r"\text{ if } x \leq 0 \end{cases}", True),
    (r"\text{ELU}(x) = \max(0,x) + \min(0, \alpha * (\exp(x) - 1))", True),
    # torch.nn.functional.selu, with its 32-digit constants
    (r"\text{SELU}(x) = 1.0507009873554804934193349852946 (\max(0,x) + \min(0, "
     r"1.6732632423543772848170429916717 (\exp(x) - 1)))", True),
    (r"\text{SELU}(x) = scale * (\max(0,x) + \min(0, \alpha * (\exp(x) - 1)))", True),
    # jax.nn.selu, jax.nn.gelu (exact and approximate)
    (r"\mathrm{selu}(x) = \lambda \begin{cases} x, & x > 0\\ \alpha e^x - \alpha, & x \le 0 "
     r"\end{cases}", True),
    (r"\mathrm{gelu}(x) = \frac{x}{2} \left(\mathrm{erfc} \left( \frac{-x}{\sqrt{2}} \right) "
     r"\right)", True),
    (r"\mathrm{gelu}(x) = \frac{x}{2} \left(1 + \mathrm{tanh} \left( \sqrt{\frac{2}{\pi}} "
     r"\left(x + 0.044715 x^3 \right) \right) \right)", True),
    (r"\text{selu}(x)= \lambda \begin{cases} x& \text{ if } x>0 \\ \alpha e^x-\alpha & \text{ if } "
     r"x\leqslant 0. \end{cases}", True),
    # Wikipedia's activation function table and course notes
    (r"f(z) = \frac{1}{1+e^{-z}}", True),
    (r"{\displaystyle \phi (v_{i})=\max(0,v_{i})}", False),
    (r"\phi(v_{i}) = (1+\exp(-v_{i}))^{-1}", False),
    (r"tanh(x) = \frac{1-e^{-2x}}{1+e^{-2x}}", False),
    (r"softmax(z_i) = \frac{e^{z_i}}{\sum_j e^{z_j}}", False),
    (r"\text{ELU}(x)= \left\{ \begin{array}{align} \alpha(e^{x} - 1) & \text{if } x \le 0\\ x & "
     r"\text{if } x \gt 0\\ \end{array}\right.", False),
    (r"\text{Softplus}(x)=\frac{1}{\beta}\times \log{\big(1+\exp{(\beta x})\big)}", False),
    (r"\text{leaky\_relu}(x) = \begin{cases} x, & \text{if } x > 0 \\ 0.01 \times x, & "
     r"\text{if } x \leq 0 \end{cases}", False),
    # as the rendered (Unicode) PyTorch docs give them when copied
    ("GELU(x)=0.5∗x∗(1+Tanh(2/π∗(x+0.044715∗x³)))", False),
    ("\\mathrm{ELU}(x) = \\max(0,x)+\\min(0,α∗(\\exp(x)−1))", True),
    ("σ(x) = 1/(1 + e^{−x})", True),
    ("f(x) = x·σ(x)", True),
    ("f(𝑥) = 𝑥 tanh(ln(1 + e^𝑥))", False),
    ("f(x) = \\frac{1}{1 + e^{−x}}, x ∈ ℝ", True),
]
REAL_EXPR = [
    "0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))",
    "0.5∗x∗(1+tanh(sqrt(2/π)∗(x+0.044715∗x³)))",
    "max(0,x)+min(0,α∗(exp(x)−1))",
    "1.0507009873554804934193349852946 * (max(0,x) + min(0, 1.6732632423543772848170429916717"
    " * (exp(x) - 1)))",
    "x * tanh(log(1 + exp(x)))",
    "x / (1 + exp(-x))",
    "x·sigmoid(x)",
    "where(x > 0, x, 0.01 × x)",
]


@pytest.mark.parametrize("text,must_read", REAL_LATEX, ids=[t[:40] for t, _ in REAL_LATEX])
def test_real_world_latex_is_never_refused_by_a_bound(text, must_read):
    result = read(parse_latex, text)
    assert not isinstance(result, BudgetError), result
    if must_read:
        assert isinstance(result, ParsedFormula), result


@pytest.mark.parametrize("text", REAL_EXPR, ids=[t[:40] for t in REAL_EXPR])
def test_real_world_expr_is_read(text):
    result = read(parse_expr, text)
    assert isinstance(result, ParsedFormula), result


def test_real_world_unicode_spellings_mean_the_same():
    x = sp.Symbol("x", real=True)
    assert parse_expr("0.5∗x∗(1+tanh(sqrt(2/π)∗(x+0.044715∗x³)))").expr == \
        parse_expr("0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x**3)))").expr
    assert parse_latex("σ(x) = 1/(1 + e^{−x})").expr == 1 / (1 + sp.exp(-x))


def _catalog_formulas() -> list[str]:
    # glu's x_{i + n/2} and crelu's [relu(x), relu(-x)] are outside the formula language (a clear
    # ParseError: tests/test_formula.py)
    return [catalog.get(name).latex for name in catalog.names() if catalog.get(name).shape in ("same", "reduce")]


VALID_LATEX = _catalog_formulas() + [t for t, ok in REAL_LATEX if ok] + [
    r"\frac{1}{1+e^{-x}}",
    r"\begin{cases} x & x > 0 \\ 0 & \text{otherwise} \end{cases}",
    r"f'(x) = f(x)(1 - f(x))",
    r"\frac{d}{dx} f(x) = \sqrt[3]{x} + |x| + \left[ x \right]^2",
    r"\log \sum_{j=1}^{n} e^{x_j}",
]
VALID_EXPR = REAL_EXPR + [
    "1/(1+exp(-x))", "where(x > 0, x, 0.01*x)", "f(x) = log1p(exp(x))",
    "max(0, min(6, x))", "x*erf(x/sqrt(2))/2 + x/2", "where(0 < x < 1 and x != 0.5, x**2, -x)",
]


def test_every_valid_formula_is_read():
    for text in VALID_LATEX:
        assert isinstance(read(parse_latex, text), ParsedFormula), text
    for text in VALID_EXPR:
        assert isinstance(read(parse_expr, text), ParsedFormula), text


@pytest.mark.parametrize("text", [
    r"\frac{1}{1+e^{-x}}",
    r"\begin{cases} x & x > 0 \\ 0 & \text{otherwise} \end{cases}",
    r"y_i = \frac{e^{x_i}}{\sum_{j=1}^{n} e^{x_j}}",
    "f(x) = 0.5x(1 + \\tanh(\\sqrt{2/\\pi}(x + 0.044715x³)))",
])
def test_every_prefix_and_suffix_of_a_latex_formula(text):
    for k in range(len(text) + 1):
        read(parse_latex, text[:k])
        read(parse_latex, text[k:])


@pytest.mark.parametrize("text", [
    "where(x > 0 and x < 1, x**2, sigmoid(-x))",
    "f(x) = 0.5*x*(1+tanh(sqrt(2/π)*(x+0.044715*x³)))",
])
def test_every_prefix_and_suffix_of_an_expression(text):
    for k in range(len(text) + 1):
        read(parse_expr, text[:k])
        read(parse_expr, text[k:])


# --------------------------------------------------------------------------
# Hypothesis fuzzing
# --------------------------------------------------------------------------
@FUZZ
@given(st.text(max_size=80))
def test_fuzz_random_unicode(text):
    for reader in READERS.values():
        read(reader, text)


LATEX_VOCABULARY = [
    r"\frac", r"\dfrac", r"\sqrt", r"\sqrt[3]", "{", "}", "(", ")", "[", "]", r"\{", r"\}",
    "|", r"\left(", r"\right)", r"\left|", r"\right|", r"\left\{", r"\right.", r"\lvert",
    r"\rvert", "^", "_", "'", "x", "y", "e", "i", "j", "n", "2", "0.5", "10", "9" * 120,
    "10^{4000}", "3^{10000}", "^{-1}", "+", "-", "*", "/", r"\cdot", r"\times", "=", ",", ".",
    "&", r"\\", "<", r"\geq", r"\leq", r"\neq", r"\begin{cases}", r"\end{cases}",
    r"\begin{array}{ll}", r"\end{array}", r"\text{if }", r"\text{otherwise}", r"\text{and}",
    r"\sum", r"\sum_{j=1}^{n}", r"\exp", r"\ln", r"\log", r"\tanh", r"\max", r"\min",
    r"\operatorname{erf}", r"\mathrm{ReLU}", r"\mathbf{x}", r"\sigma", r"\alpha", r"\Phi",
    r"\pi", r"\infty", r"\in", r"\mathbb{R}", r"\input{x}", r"\def", r"\foo", r"\,", r"\quad",
    "%", "$", " ", "\n", "f", "f(x) =", "²", "³", "⁻", "¹", "₂", "−", "·", "×", "∗", "π", "α",
    "∑", "∈", "ℝ", "٣", "𝑥", "\u200b", "\x00", "é",
]
EXPR_VOCABULARY = [
    "x", "y", "t", "alpha", "e", "pi", "1", "0.5", "1e5", "1e999", "9" * 120, "10**4000",
    "3^10000", "+", "-", "*", "/", "**", "^", "(", ")", ",", "=", "<", "<=", ">", "==", "!=",
    "and", "or", "&", "|", "exp", "log", "tanh", "sqrt", "max", "min", "where", "sigmoid",
    "relu", "abs", "f", "f(x) =", "__import__", "'", ".", " ", "²", "⁻", "¹", "₂", "−", "·",
    "×", "∗", "÷", "≤", "π", "α", "٣", "𝑥", "\u200b", "{",
]


@FUZZ
@given(st.lists(st.sampled_from(LATEX_VOCABULARY), max_size=40))
def test_fuzz_latex_token_soup(tokens):
    read(parse_latex, "".join(tokens))


@FUZZ
@given(st.lists(st.sampled_from(EXPR_VOCABULARY), max_size=40))
def test_fuzz_expr_token_soup(tokens):
    read(parse_expr, "".join(tokens))


def _mutations(corpus, vocabulary):
    """A valid formula with a few characters deleted, inserted or replaced."""
    edit = st.tuples(st.sampled_from(["delete", "insert", "replace", "repeat"]),
                     st.floats(0, 1), st.sampled_from(vocabulary))

    def apply(args):
        text, edits = args
        for kind, where, piece in edits:
            k = int(where * len(text))
            if kind == "delete":
                text = text[:k] + text[k + 1:]
            elif kind == "insert":
                text = text[:k] + piece + text[k:]
            elif kind == "replace":
                text = text[:k] + piece + text[k + len(piece):]
            else:  # a slice of the formula repeated: nesting and long runs
                text = text[:k] + text[k:k + 8] * 30 + text[k:]
        return text

    return st.tuples(st.sampled_from(corpus), st.lists(edit, min_size=1, max_size=4)).map(apply)


@FUZZ
@given(_mutations(VALID_LATEX, LATEX_VOCABULARY))
def test_fuzz_latex_mutations(text):
    read(parse_latex, text)


@FUZZ
@given(_mutations(VALID_EXPR, EXPR_VOCABULARY))
def test_fuzz_expr_mutations(text):
    read(parse_expr, text)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.integers(min_value=1, max_value=12000), st.integers(min_value=-12000, max_value=12000),
       st.sampled_from(["{}^{{{}}}", "x^{{{}}} + {}", "{}^{{-{}}}", "({} x)^{{{}}}",
                        "\\sqrt{{{}}}^{{{}}}", "\\frac{{1}}{{{}}}^{{{}}}"]))
def test_fuzz_huge_numbers_latex(base, exponent, shape):
    read(parse_latex, shape.format(base, exponent))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.integers(min_value=1, max_value=12000), st.integers(min_value=-12000, max_value=12000),
       st.sampled_from(["{}**({})", "x**({}) + {}", "({}*x)**({})", "sqrt({})**({})",
                        "(1/{})**({})", "{}e{}"]))
def test_fuzz_huge_numbers_expr(base, exponent, shape):
    read(parse_expr, shape.format(base, exponent))


# --------------------------------------------------------------------------
# Deep nesting: a clear error, never a RecursionError, in bounded time and memory
# --------------------------------------------------------------------------
N = 10_000 // 4
DEEP_LATEX = {
    "braces": "{" * 10_000 + "x" + "}" * 10_000,
    "parentheses": "(" * 5000 + "x" + ")" * 5000,
    "open parentheses": "(" * 10_000,
    "close braces": "}" * 10_000,
    "frac": r"\frac{1}{" * 1000 + "x" + "}" * 1000,
    "exponentials": "e^{" * 2000 + "x" + "}" * 2000,
    "sqrt": r"\sqrt{" * 1500 + "x" + "}" * 1500,
    "abs": "|" * 5000 + "x" + "|" * 5000,
    "left right": r"\left(" * 1000 + "x" + r"\right)" * 1000,
    "cases": r"\begin{cases}" * 600 + "x",
    "signs": "-" * 9000 + "x",
    "bare functions": r"\ln " * 2400 + "x",
    "scripts": "x" + "^{x" * 3000,
    "subscript signs": r"\sum_j x_j + x_{" + "-" * 5000 + "j}",
    "primes": "f" + "'" * 9000 + "(x) = x",
}
DEEP_EXPR = {
    "parentheses": "(" * 5000 + "x" + ")" * 5000,
    "open parentheses": "(" * 10_000,
    "calls": "exp(" * 2400 + "x" + ")" * 2400,
    "signs": "-" * 9000 + "x",
    "powers": "x" + "**x" * 3000,
    "where": "where(x>0," * 900 + "x" + ",0)" * 900,
    "superscripts": "x" + "²" * 9000,
}


@pytest.mark.parametrize("kind", list(DEEP_LATEX))
def test_deep_nesting_latex(kind):
    text = DEEP_LATEX[kind]
    tracemalloc.start()
    try:
        message = refused(parse_latex, text, bound_error=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB"
    assert "column" in message


@pytest.mark.parametrize("kind", list(DEEP_EXPR))
def test_deep_nesting_expr(kind):
    text = DEEP_EXPR[kind]
    tracemalloc.start()
    try:
        message = refused(parse_expr, text, bound_error=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB"
    assert "column" in message


@pytest.mark.parametrize("reader", READERS)
def test_nesting_just_under_the_bound_is_read(reader):
    parse = READERS[reader]
    assert isinstance(read(parse, "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH), ParsedFormula)
    message = refused(parse, "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    assert f"nested more than {MAX_DEPTH} levels" in message


@pytest.mark.parametrize("reader", READERS)
def test_tree_depth_bound(reader):
    parse = READERS[reader]
    read(parse, "-" * 100 + "x")
    message = refused(parse, "-" * 3000 + "x")
    assert f"nested more than {MAX_TREE_DEPTH} levels" in message


# --------------------------------------------------------------------------
# Each bound pinned: just under is read, just over is a BudgetError naming it
# --------------------------------------------------------------------------
@pytest.mark.parametrize("reader", READERS)
def test_length_bound(reader):
    parse = READERS[reader]
    under = "x" + " " * (MAX_LENGTH - 1)
    assert isinstance(read(parse, under), ParsedFormula)
    message = refused(parse, under + " ")
    assert f"longer than {MAX_LENGTH} characters" in message


@pytest.mark.parametrize("reader", READERS)
def test_literal_digits_bound(reader):
    parse = READERS[reader]
    assert isinstance(read(parse, "9" * MAX_NUMBER_DIGITS), ParsedFormula)
    assert f"longer than {MAX_NUMBER_DIGITS}" in refused(parse, "9" * (MAX_NUMBER_DIGITS + 1))
    assert f"longer than {MAX_NUMBER_DIGITS}" in refused(parse, "x + " + "7" * 5000)


@pytest.mark.parametrize("reader,power", [("latex", "{}^{{{}}}"), ("expr", "{}**{}")])
def test_exact_number_bound(reader, power):
    parse = READERS[reader]
    top = 10 ** MAX_EXACT_DIGITS
    assert read(parse, power.format(10, MAX_EXACT_DIGITS - 1)).expr == top // 10
    assert read(parse, power.format(2, -1074)).expr == sp.Rational(1, 2**1074)
    for text in (power.format(10, MAX_EXACT_DIGITS), power.format(3, 10000),
                 "x + " + power.format(3, 10000)):
        message = refused(parse, text)
        assert f"at most {MAX_EXACT_DIGITS} digits" in message, message
    # products of allowed powers and literals are bounded too, before they are printed
    product = " * ".join([power.format(10, 500)] * 2)
    assert f"at most {MAX_EXACT_DIGITS} digits" in refused(parse, product)
    literals = " * ".join(["9" * 100] * 60)
    assert f"at most {MAX_EXACT_DIGITS} digits" in refused(parse, literals)


def test_exact_number_bound_inside_functions():
    """phi(u) = exp(-u^2/2)/sqrt(2 pi) squares its argument: checked too."""
    assert isinstance(read(parse_latex, r"\phi(10^{499})"), ParsedFormula)
    assert f"at most {MAX_EXACT_DIGITS} digits" in refused(parse_latex, r"\phi(10^{999})")


@pytest.mark.parametrize("reader,power", [("latex", "x^{{{}}}"), ("expr", "x**({})")])
def test_exponent_bound(reader, power):
    parse = READERS[reader]
    x = sp.Symbol("x", real=True)
    assert read(parse, power.format(MAX_EXPONENT)).expr == x**MAX_EXPONENT
    assert read(parse, power.format(-MAX_EXPONENT)).expr == x**-MAX_EXPONENT
    for n in (MAX_EXPONENT + 1, -MAX_EXPONENT - 1, "10^{4000}" if reader == "latex" else "10**4000",
              "-10^{4000}" if reader == "latex" else "-10**4000"):
        message = refused(parse, power.format(n))
        assert f"at most {MAX_EXPONENT}" in message or f"at most {MAX_EXACT_DIGITS}" in message


def test_exponent_bound_after_combining():
    x = sp.Symbol("x", real=True)
    assert parse_latex("(x^{500})^{2}").expr == x**1000
    assert f"at most {MAX_EXPONENT}" in refused(parse_latex, "(x^{500})^{3}")
    assert f"at most {MAX_EXPONENT}" in refused(parse_latex, "x^{600} x^{401}")
    assert f"at most {MAX_EXPONENT}" in refused(parse_expr, "x**600 * x**401")
    assert f"at most {MAX_EXPONENT}" in refused(parse_latex, r"\pi^{1001}")
    # powers that SymPy would multiply out are refused before they are computed
    for text in (r"\sqrt{2}^{1000000000000000000000000}", r"(2\pi)^{1000000000000000000000}",
                 r"(10^{300} x)^{4}"):
        refused(parse_latex, text)
    refused(parse_expr, "(2*pi)**(10**21)")


@pytest.mark.parametrize("reader,join", [("latex", " + "), ("expr", " + ")])
def test_terms_bound(reader, join):
    parse = READERS[reader]
    assert isinstance(read(parse, join.join(["x"] * (MAX_TERMS + 1))), ParsedFormula)
    message = refused(parse, join.join(["x"] * (MAX_TERMS + 2)))
    assert f"more than {MAX_TERMS} binary + and -" in message
    # grouping does not escape the bound
    grouped = " + ".join("(" + " + ".join(["x"] * 10) + ")" for _ in range(25))
    assert f"more than {MAX_TERMS}" in refused(parse, grouped)
    # the 500-term polynomial and sum of 500 exponentials
    poly = " + ".join(f"x^{{{k}}}" if reader == "latex" else f"x**{k}" for k in range(1, 501))
    assert f"more than {MAX_TERMS}" in refused(parse, poly)
    exps = " + ".join(f"e^{{{k}x}}" if reader == "latex" else f"exp({k}*x)" for k in range(500))
    assert f"more than {MAX_TERMS}" in refused(parse, exps)


@pytest.mark.parametrize("reader,join", [("latex", ""), ("latex", r" \cdot "), ("expr", "*")])
def test_factors_bound(reader, join):
    parse = READERS[reader]
    assert isinstance(read(parse, join.join(["x"] * (MAX_FACTORS + 1))), ParsedFormula)
    message = refused(parse, join.join(["x"] * (MAX_FACTORS + 2)))
    assert f"more than {MAX_FACTORS} multiplications" in message


def _cases(rows: int) -> str:
    body = r" \\ ".join(f"{k} & x < {k}" for k in range(rows - 1))
    return r"\begin{cases} " + body + r" \\ 0 & \text{otherwise} \end{cases}"


def test_rows_bound():
    assert isinstance(read(parse_latex, _cases(MAX_ROWS)), ParsedFormula)
    message = refused(parse_latex, _cases(MAX_ROWS + 1))
    assert f"more than {MAX_ROWS} rows" in message
    # the 120-row cases: refused at once
    assert f"more than {MAX_ROWS} rows" in refused(parse_latex, _cases(120))
    nested = "+".join(["where(x > 0, x, 0)"] * (MAX_ROWS + 1))
    assert f"more than {MAX_ROWS} rows" in refused(parse_expr, nested)
    assert isinstance(read(parse_expr, "+".join(["where(x > 0, x, 0)"] * MAX_ROWS)), ParsedFormula)


def test_bounds_are_documented():
    doc = common.__doc__
    for name in ("MAX_LENGTH", "MAX_DEPTH", "MAX_TREE_DEPTH", "MAX_NUMBER_DIGITS",
                 "MAX_DECIMAL_EXPONENT", "MAX_EXACT_DIGITS", "MAX_EXPONENT", "MAX_TERMS",
                 "MAX_FACTORS", "MAX_ROWS", "MAX_ARGS"):
        assert f":data:`{name}`" in doc, name


def _best_time(reader, text, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        read(reader, text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("reader,unit", [
    ("latex", "x + "), ("latex", "x"), ("latex", r"\frac{1}{2}"), ("latex", "(x"),
    ("expr", "x + "), ("expr", "x*"), ("expr", "-"), ("expr", "(x"),
])
def test_refusing_is_linear_in_the_input(reader, unit):
    """Reading or refusing ten times the input costs at most about ten times as much
    (plus slack for a loaded machine): no quadratic work before a bound is checked."""
    parse = READERS[reader]
    small = unit * (1000 // len(unit)) + "x"
    large = unit * (MAX_LENGTH // len(unit) - 1) + "x"
    assert _best_time(parse, large) < 25 * _best_time(parse, small) + 0.25


# --------------------------------------------------------------------------
# Unicode
# --------------------------------------------------------------------------
X = sp.Symbol("x", real=True)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("text,expected", [
    ("x²", X**2), ("x³ - x", X**3 - X), ("x⁻¹", 1 / X), ("x¹⁰", X**10), ("(x+1)²", (X + 1)**2),
    ("2*x²", 2 * X**2), ("−x", -X), ("x·x", X**2), ("x×x", X**2),
    ("x∗x", X**2), ("x−1", X - 1), ("e⁻¹", sp.exp(-1)), ("π*x", sp.pi * X),
])
def test_unicode_spellings_are_read(reader, text, expected):
    if reader == "latex":
        text = text.replace("*", " ")
    assert READERS[reader](text).expr == expected


@pytest.mark.parametrize("reader", READERS)
def test_subscript_digits_name_another_symbol(reader):
    parse = READERS[reader]
    result = parse("x₂")
    assert result.variable.name == "x_2"
    result = parse("x + x₁₀")
    assert result.variable.name == "x" and result.parameters == ("x_10",)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("text,fragment", [
    ("٣x", "U+0663 ARABIC-INDIC DIGIT THREE"),
    ("x + ３", "U+FF13 FULLWIDTH DIGIT THREE"),
    ("x + 𝟐", "U+1D7D0 MATHEMATICAL BOLD DIGIT TWO"),
    ("é", "U+00E9 LATIN SMALL LETTER E WITH ACUTE"),
    ("x + \u200b1", "U+200B ZERO WIDTH SPACE"),
    ("x\x00", "U+0000"),
    ("x + ς", "U+03C2 GREEK SMALL LETTER FINAL SIGMA"),
    ("ˣ", "U+02E3 MODIFIER LETTER SMALL X"),
    ("√x", "U+221A SQUARE ROOT"),
    ("x⁻", "superscript"),
    ("²", "superscript"),
    ("₂", "subscript"),
])
def test_other_unicode_is_a_clear_error(reader, text, fragment):
    message = refused(READERS[reader], text, bound_error=False)
    assert fragment in message, message
    assert "column" in message


def test_superscript_ambiguity_is_refused():
    assert "ambiguous" in refused(parse_expr, "x²**3", bound_error=False)
    refused(parse_latex, "x²^3", bound_error=False)
    refused(parse_latex, r"\frac²", bound_error=False)


def test_error_excerpt_is_printable():
    message = refused(parse_latex, "x + \x00 + \udcff", bound_error=False)
    assert "\x00" not in message and "\udcff" not in message
    message.encode("utf-8")


# --------------------------------------------------------------------------
# The CLI end to end: exit 2 with one error, or a quick check; never a traceback
# --------------------------------------------------------------------------
def _cli(args, budget_s=30.0):
    start = time.perf_counter()
    code, out, err = capture(args)
    elapsed = time.perf_counter() - start
    assert elapsed < budget_s, f"{args}: {elapsed:.1f} s"
    assert "Traceback" not in out + err
    assert "internal error" not in err
    return code, out, err


CLI_REFUSED = [
    ("--latex", "x + 3^{10000}", "at most 1000 digits"),
    ("--latex", "x^{10^{4000}}", "at most 1000 digits"),
    ("--latex", "x^{-10^{4000}}", "at most 1000 digits"),
    ("--latex", "x^{1001}", "at most 1000 in absolute value"),
    ("--latex", "x + " + "1" * 5000, "longer than 100"),
    ("--latex", "(" * 10_000 + "x" + ")" * 10_000, "longer than 10000"),
    ("--latex", "(" * 4000 + "x" + ")" * 4000, "nested more than 40"),
    ("--latex", "e^{" * 2000 + "x" + "}" * 2000, "nested more than 40"),
    ("--latex", " + ".join(f"x^{{{k}}}" for k in range(1, 501)), "more than 200"),
    ("--latex", "٣x", "ARABIC-INDIC DIGIT THREE"),
    ("--latex", r"\input{/etc/passwd}", "refused"),
    ("--expr", "x + 3**10000", "at most 1000 digits"),
    ("--expr", "x**(10**4000)", "at most 1000 digits"),
    ("--expr", "x + " + "1" * 5000, "longer than 100"),
    ("--expr", "(" * 4000 + "x" + ")" * 4000, "nested more than 40"),
    ("--expr", "x ** 1e999", "decimal exponent"),
    ("--expr", "__import__('os').system('true')", "unexpected"),
]


@pytest.mark.parametrize("flag,text,fragment", CLI_REFUSED,
                         ids=[f"{f}:{t[:24]}" for f, t, _ in CLI_REFUSED])
def test_cli_refuses_hostile_formulas(flag, text, fragment):
    code, out, err = _cli(["check", flag, text], budget_s=10.0)
    assert code == 2, (code, out, err)
    assert err.startswith("symact: error: ") and err.count("symact: error") == 1, err
    assert fragment in err, err
    assert out == ""


@pytest.mark.parametrize("flag,text", [("--latex", "x²"), ("--expr", "x²")])
def test_cli_reads_superscripts(flag, text):
    code, out, err = _cli(["check", flag, text, "--examples", "50", "--jobs", "1"], budget_s=60.0)
    assert code in (0, 1), (code, out, err)


def test_notes_report_hostile_formulas_as_findings(tmp_path):
    note = tmp_path / "hostile.md"
    formulas = ["x^{10^{4000}}", "x + 3^{10000}", "x²", "x₂ + x", "٣x", "(" * 50 + "x" + ")" * 50,
                " + ".join(f"x^{{{k}}}" for k in range(1, 501))]
    note.write_text("# Hostile\n\n" + "\n\n".join(f"$$\n{f}\n$$" for f in formulas) + "\n",
                    encoding="utf-8")
    code, out, err = _cli(["notes", "--no-exec", str(note)], budget_s=60.0)
    assert code in (0, 1, 2), (code, out, err)
    assert "cannot be read" in out, out
