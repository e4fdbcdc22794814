"""Tests for symact.parse.latex.parse_latex: a corpus of activation formulas with
the expected SymPy expressions, heads, errors, hostile input and fuzzing."""
from __future__ import annotations

import re
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symact.errors import BudgetError, ParseError, SymactError
from symact.parse.common import MAX_LENGTH, ParsedFormula
from symact.parse.latex import parse_latex

x = sp.Symbol("x", real=True)
u = sp.Symbol("u", real=True)
alpha = sp.Symbol("alpha", real=True)
lam = sp.Symbol("lambda", real=True)
y = sp.Symbol("y", real=True)
j = sp.Symbol("j", integer=True)
i = sp.Symbol("i", integer=True)
k = sp.Symbol("k", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
X = sp.IndexedBase("x", real=True)
A = sp.IndexedBase("a", real=True)
f = sp.Function("f")


def sig(v):
    return 1 / (1 + sp.exp(-v))


def phi_cdf(v):
    return (1 + sp.erf(v / sp.sqrt(2))) / 2


def step(v):
    return sp.Piecewise((1, v >= 0), (0, v < 0))


# (LaTeX, expected expression). Expected values are built independently with
# SymPy; the parse must be *structurally* equal or simplify to the same.
CORPUS: list[tuple[str, sp.Expr]] = [
    # sigmoid
    (r"\frac{1}{1+e^{-x}}", sig(x)),
    (r"\sigma(x) = \frac{1}{1 + \exp(-x)}", sig(x)),
    (r"\sigma(u) = \dfrac{1}{1 + e^{-u}}", sig(u)),
    (r"f(x) = \frac{1}{1+\exp(-x)}", sig(x)),
    (r"\operatorname{sigmoid}(x)", sig(x)),
    # tanh
    (r"\tanh(x)", sp.tanh(x)),
    (r"\tanh x", sp.tanh(x)),
    (r"\frac{e^x - e^{-x}}{e^x + e^{-x}}", (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x))),
    # ReLU family
    (r"\max(0, x)", sp.Max(0, x)),
    (r"\mathrm{ReLU}(x) = \max(0, x)", sp.Max(0, x)),
    (r"\max\{0, x\}", sp.Max(0, x)),
    (r"\operatorname{ReLU}(x)", sp.Max(0, x)),
    (r"\text{relu}(x)", sp.Max(0, x)),
    (r"\begin{cases} x & x \geq 0 \\ 0.01x & x < 0 \end{cases}",
     sp.Piecewise((x, x >= 0), (x / 100, x < 0))),
    (r"\max(0.01x, x)", sp.Max(x / 100, x)),
    # step
    (r"\begin{cases} 1 & x \geq 0 \\ 0 & x < 0 \end{cases}", step(x)),
    (r"H(x) = \begin{cases} 1, & x \ge 0, \\ 0, & x \lt 0. \end{cases}", step(x)),
    (r"\left\{ \begin{array}{ll} 1 & (x \geq 0) \\ 0 & (x < 0) \end{array} \right.", step(x)),
    (r"\begin{cases} 1 & \text{if } x \geq 0 \\ 0 & \text{otherwise} \end{cases}",
     sp.Piecewise((1, x >= 0), (0, True))),
    (r"\begin{dcases} 1 & \text{for } x > 0 \\ 0 & \text{else} \end{dcases}",
     sp.Piecewise((1, x > 0), (0, True))),
    (r"H(x)", sp.Heaviside(x)),
    # ELU / SELU
    (r"\begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \leq 0 \end{cases}",
     sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), x <= 0))),
    (r"\lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \leq 0 \end{cases}",
     lam * sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))),
    (r"\mathrm{SELU}(x) = \lambda \left\{ \begin{array}{ll} x & \text{if } x > 0 \\"
     r" \alpha e^x - \alpha & \text{if } x \le 0 \end{array} \right.",
     lam * sp.Piecewise((x, x > 0), (alpha * sp.exp(x) - alpha, x <= 0))),
    # hard tanh: chained condition
    (r"\begin{cases} -1 & x < -1 \\ x & -1 \le x \le 1 \\ 1 & x > 1 \end{cases}",
     sp.Piecewise((-1, x < -1), (x, (x >= -1) & (x <= 1)), (1, x > 1))),
    (r"\begin{cases} 0 & x = 0 \\ \frac{\sin x}{x} & x \neq 0 \end{cases}",
     sp.Piecewise((0, sp.Eq(x, 0)), (sp.sin(x) / x, sp.Ne(x, 0)))),
    (r"\begin{cases} x & x > 0 \text{ and } x < 1 \\ 0 & \text{otherwise} \end{cases}",
     sp.Piecewise((x, (x > 0) & (x < 1)), (0, True))),
    (r"\begin{cases} x & x > 0, x < 1 \\ 0 & \text{otherwise} \end{cases}",
     sp.Piecewise((x, (x > 0) & (x < 1)), (0, True))),
    # GELU
    (r"\frac{x}{2}\left(1 + \operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)",
     x / 2 * (1 + sp.erf(x / sp.sqrt(2)))),
    (r"\mathrm{GELU}(x) = x \Phi(x)", x * phi_cdf(x)),
    (r"0.5x\left(1+\tanh\left[\sqrt{2/\pi}\left(x+0.044715x^3\right)\right]\right)",
     sp.Rational(1, 2) * x * (1 + sp.tanh(sp.sqrt(2 / sp.pi)
                                          * (x + sp.Rational(44715, 10**6) * x**3)))),
    # softplus, softsign, mish, silu
    (r"\ln(1 + e^x)", sp.log(1 + sp.exp(x))),
    (r"\log\left(1+\exp(x)\right)", sp.log(1 + sp.exp(x))),
    (r"\mathrm{softplus}(x)", sp.log(1 + sp.exp(x))),
    (r"\frac{x}{1+|x|}", x / (1 + sp.Abs(x))),
    (r"\frac{x}{1 + \left| x \right|}", x / (1 + sp.Abs(x))),
    (r"\frac{x}{1 + \lvert x \rvert}", x / (1 + sp.Abs(x))),
    (r"x \tanh(\ln(1+e^{x}))", x * sp.tanh(sp.log(1 + sp.exp(x)))),
    (r"x \tanh(\operatorname{softplus}(x))", x * sp.tanh(sp.log(1 + sp.exp(x)))),
    (r"x\sigma(x)", x * sig(x)),
    (r"\mathrm{SiLU}(x) = x \cdot \sigma(x)", x * sig(x)),
    (r"\frac{x}{1 + e^{-x}}", x / (1 + sp.exp(-x))),
    # hard sigmoid / hard swish
    (r"\max(0, \min(1, \frac{x+3}{6}))", sp.Max(0, sp.Min(1, (x + 3) / 6))),
    (r"x \cdot \frac{\min(\max(0, x + 3), 6)}{6}", x * sp.Min(sp.Max(0, x + 3), 6) / 6),
    # derivatives
    (r"f'(x) = f(x)(1 - f(x))", f(x) * (1 - f(x))),
    (r"\frac{d}{dx} f(x) = f(x)\left(1 - f(x)\right)", f(x) * (1 - f(x))),
    (r"\frac{df}{dx} = 1 - f(x)^2", 1 - f(x) ** 2),
    # function application without parentheses
    (r"\ln 2x", sp.log(2 * x)),
    (r"\ln 2x + 1", sp.log(2 * x) + 1),
    (r"\sin x \cos x", sp.sin(x) * sp.cos(x)),
    (r"\tanh(x) x", x * sp.tanh(x)),
    (r"\exp{x}", sp.exp(x)),
    (r"\ln \tanh x", sp.log(sp.tanh(x))),
    # atoms, scripts, misc
    (r"\frac12 x^2", x**2 / 2),
    (r"\sqrt[3]{x}", sp.root(x, 3)),
    (r"\sqrt{x^2 + 1}", sp.sqrt(x**2 + 1)),
    (r"2^{x} \times 3", 3 * 2**x),
    (r"-x^2", -(x**2)),
    (r"\mathrm{e}^{x}", sp.exp(x)),
    (r"\alpha x + \beta",
     sp.Symbol("alpha", real=True) * x + sp.Symbol("beta", real=True)),
    (r"\alpha_1 x", sp.Symbol("alpha_1", real=True) * x),
    (r"$\displaystyle \tanh\!\left( x \right)$", sp.tanh(x)),
    (r"y = \, x \; \quad + \: 1", x + 1),
    (r"h(u) = u^{2}", u**2),
    (r"f(x) = x, \quad x \in \mathbb{R}.", x),
    (r"\frac{1}{1+e^{-x}}.", sig(x)),
    ("\\frac{1}{1 + e^{-x}} % logistic\n", sig(x)),
    ("\u03c3(x) = 1/(1 + e^{\u2212x})", sig(x)),
    # vectors
    (r"\frac{e^{x_i}}{\sum_{j=1}^{n} e^{x_j}}", sp.exp(X[i]) / sp.Sum(sp.exp(X[j]), (j, 1, n))),
    (r"y_k = \frac{\exp(a_k)}{\sum_{i=1}^{n} \exp(a_i)}",
     sp.exp(A[k]) / sp.Sum(sp.exp(A[i]), (i, 1, n))),
    (r"\sum_{j} e^{x_j}", sp.Sum(sp.exp(X[j]), (j, 1, n))),
    (r"\log \sum_j e^{x_j}", sp.log(sp.Sum(sp.exp(X[j]), (j, 1, n)))),
    (r"x_i - \log\sum_j e^{x_j}", X[i] - sp.log(sp.Sum(sp.exp(X[j]), (j, 1, n)))),
    (r"\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_{j=1}^{n} e^{x_j}}",
     sp.exp(X[i]) / sp.Sum(sp.exp(X[j]), (j, 1, n))),
]


def same(a, b) -> bool:
    return a == b or sp.simplify(a - b) == 0


@pytest.mark.parametrize("text,expected", CORPUS, ids=[t for t, _ in CORPUS])
def test_corpus(text, expected):
    parsed = parse_latex(text)
    assert isinstance(parsed, ParsedFormula)
    assert parsed.source == text
    assert same(parsed.expr, expected), (parsed.expr, expected)


def test_sigmoid_structure():
    parsed = parse_latex(r"\sigma(x) = \frac{1}{1 + \exp(-x)}")
    assert parsed.expr == 1 / (1 + sp.exp(-x))
    assert parsed.variable == x and parsed.variable.is_real
    assert parsed.head == "sigma"
    assert not parsed.is_derivative
    assert parsed.parameters == () and parsed.self_references == ()
    assert not parsed.is_vector and parsed.language == "latex"


def test_e_is_euler_number():
    parsed = parse_latex(r"e^{x}")
    assert parsed.expr == sp.exp(x)
    assert sp.Symbol("e") not in parsed.expr.free_symbols
    assert parse_latex("e").expr == sp.E
    assert parse_latex("e^x").expr == sp.exp(x)


def test_decimals_are_exact():
    assert parse_latex("0.044715x").expr == sp.Rational(8943, 200000) * x


def test_head_variable_and_parameters():
    parsed = parse_latex(r"\sigma(u) = \frac{1}{1 + e^{-\beta u}}")
    assert parsed.variable == u and parsed.head == "sigma"
    assert parsed.parameters == ("beta",)
    elu = parse_latex(r"\begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \leq 0 \end{cases}")
    assert elu.variable == x and elu.parameters == ("alpha",) and elu.head is None
    selu = parse_latex(r"\mathrm{SELU}(x) = \lambda \begin{cases} x & x > 0 \\ "
                       r"\alpha (e^{x} - 1) & x \leq 0 \end{cases}")
    assert selu.head == "SELU" and selu.parameters == ("alpha", "lambda")
    assert selu.symbol("alpha") == alpha


def test_variable_prefers_x_and_single_latin():
    assert parse_latex(r"a x + b").variable == x
    t = parse_latex(r"\tanh(\beta t)")
    assert t.variable.name == "t" and t.parameters == ("beta",)
    assert parse_latex(r"y = 3").variable == x


def test_derivative_heads():
    d = parse_latex(r"f'(x) = f(x)(1 - f(x))")
    assert d.is_derivative and d.head == "f" and d.self_references == ("f",)
    assert d.expr == f(x) * (1 - f(x))
    s = parse_latex(r"\sigma'(x) = \sigma(x)(1-\sigma(x))")
    sigma_f = sp.Function("sigma")
    assert s.expr == sigma_f(x) * (1 - sigma_f(x))
    assert s.self_references == ("sigma",) and s.head == "sigma"
    for text in (r"\frac{d}{dx} f(x) = 2f(x)", r"\frac{df}{dx} = 2f(x)",
                 r"f^{\prime}(x) = 2 f(x)", r"\frac{\mathrm{d}}{\mathrm{d}x} f(x) = 2f(x)"):
        p = parse_latex(text)
        assert p.is_derivative and p.head == "f" and p.expr == 2 * f(x), text
    t = parse_latex(r"\tanh'(x) = 1 - \tanh(x)^2")
    assert t.head == "tanh" and t.self_references == ("tanh",)


def test_sigma_rules():
    # applied in a body whose head is not sigma: the logistic function
    assert parse_latex(r"x \sigma(x)").expr == x * sig(x)
    # alone: a symbol
    s = parse_latex(r"\frac{x}{\sigma}")
    assert s.expr == x / sp.Symbol("sigma", real=True) and s.parameters == ("sigma",)
    # with a subscript: a symbol times a group
    assert parse_latex(r"\sigma_1 (x)").expr == sp.Symbol("sigma_1", real=True) * x
    # other Greek letters before a group multiply
    assert parse_latex(r"\alpha(x + 1)").expr == alpha * (x + 1)


def test_vector_formulas():
    soft = parse_latex(r"\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_{j=1}^{n} e^{x_j}}")
    assert soft.is_vector and soft.variable == sp.Symbol("x", real=True)
    assert soft.head == "softmax" and soft.index == "i" and soft.sizes == ("n",)
    assert soft.parameters == ()
    y_k = parse_latex(r"y_k = \frac{\exp(a_k)}{\sum_{i=1}^{n} \exp(a_i)}")
    assert y_k.is_vector and y_k.variable.name == "a" and y_k.index == "k" and y_k.head is None
    K = sp.Symbol("K", integer=True, positive=True)
    Z = sp.IndexedBase("z", real=True)
    s = parse_latex(r"\sum_{k=1}^{K} e^{z_k}")
    assert s.expr == sp.Sum(sp.exp(Z[k]), (k, 1, K)) and s.sizes == ("K",)
    w = parse_latex(r"f(x) = \sum_j w_j x_j")
    assert w.variable.name == "x" and w.parameters == ("w",)


def test_piecewise_order_is_kept():
    p = parse_latex(r"\begin{cases} 1 & x > 0 \\ 2 & x > -1 \\ 3 & \text{otherwise} \end{cases}")
    assert isinstance(p.expr, sp.Piecewise)
    assert [c for _, c in p.expr.args] == [x > 0, x > -1, sp.true]
    assert [e for e, _ in p.expr.args] == [1, 2, 3]
    assert p.expr.subs(x, sp.Rational(-1, 2)) == 2


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
ERRORS = [
    ("", "empty"),
    ("   ", "empty"),
    (r"\frac{1}{2", "never closed"),
    (r"\frac{1}{2}}", "closes nothing"),
    (r"\left( x \right]", "does not match"),
    (r"\foo(x)", "unknown command"),
    (r"\fracc{1}{2}", r"did you mean \frac"),
    (r"\input{/etc/passwd}", "refused"),
    (r"\def\x{1}", "refused"),
    (r"\newcommand{\f}{x}", "refused"),
    (r"\frac{1}", "missing an argument"),
    (r"x \geq", "unexpected"),
    (r"x \geq 0", "unexpected"),
    (r"x +", "unexpected end"),
    (r"a t + b", "cannot tell which symbol is the variable"),
    (r"\operatorname{gelux}(x)", "unknown function 'gelux'"),
    (r"x^23", "braces"),
    (r"x^-1", "braces"),
    (r"1/2x", "ambiguous division"),
    (r"2 3", "two numbers"),
    (r"\tanh^{1/2} x", "positive whole number"),
    (r"\exp -x", "unexpected"),
    (r"f(x) = f(x) + 1", "in terms of itself"),
    (r"y = x y", "left-hand side"),
    (r"g(x)", "undefined function g"),
    (r"f'(x) + 1", "only appear in the head"),
    (r"\max(x)", "takes 2 to 32"),
    (r"\tanh(x, 1)", "takes 1"),
    (r"(1, 2)", "comma-separated"),
    (r"\frac{1}{0}", "undefined"),
    (r"\log(0)", "undefined"),
    (r"9^{9^{9^{9}}}", "too large"),
    (r"\begin{cases} x & x > 0 \\ 0 \end{cases}", "unexpected"),
    (r"\begin{cases} 0 & \text{otherwise} \\ 1 & x > 0 \end{cases}", "last row"),
    (r"\begin{matrix} x \end{matrix}", "piecewise definition after"),
    (r"\begin{tabular}{ll} x \end{tabular}", "\\begin{tabular} is not supported"),
    (r"\begin{array}{ll} x & x > 0 \end{array}", "piecewise"),
    (r"\text{hello world}", "cannot read"),
    (r"x!", "factorial"),
    (r"x | y", "never closed"),
    (r"x = y = z", "variable"),
    (r"\sum x_j", "summation index"),
    (r"\sum_j \sum_j x_j", "reused"),
    (r"x_i + x + \sum_i x_i", "vector"),
    (r"f(x) = x, y \in \mathbb{R}", "domain remark"),
    (r"\frac{d}{dy} f(x) = 1", "does not match"),
    (r"x + y = 1", "head"),
    ("x\n+ \\bad", "line 2"),
    (r"\sigma^{1/2}(x)", "ambiguous power"),
    (r"$x$$", "'$'"),
    (r"\mathbb{Z}", "mathbb"),
    (r"y = \frac{d}{dx} x^2", "only appear in the head"),
    (r"\prod_j x_j", "unknown command"),
    (r"\tanh(x)_i", "subscript"),
]


@pytest.mark.parametrize("text,fragment", ERRORS, ids=[t or "<empty>" for t, _ in ERRORS])
def test_errors(text, fragment):
    with pytest.raises(ParseError) as info:
        parse_latex(text)
    message = str(info.value)
    assert fragment in message, message
    assert isinstance(info.value, SymactError)
    assert info.value.text == text
    assert info.value.position is not None
    assert "column" in message and "^" in message, message


def test_error_caret_points_at_the_problem():
    with pytest.raises(ParseError) as info:
        parse_latex(r"1 + \foo")
    assert info.value.position == 4
    lines = str(info.value).splitlines()
    assert "column 5" in lines[0]
    assert lines[2].index("^") == lines[1].index("\\foo")


def test_guards():
    with pytest.raises(ParseError, match="longer than"):
        parse_latex("x+" * MAX_LENGTH)
    with pytest.raises(ParseError, match="nested"):
        parse_latex("(" * 200 + "x" + ")" * 200)
    with pytest.raises(ParseError, match="nested"):
        parse_latex("-" * 3000 + "x")
    with pytest.raises(ParseError):
        parse_latex(None)  # type: ignore[arg-type]
    assert parse_latex("x" * 401).expr == x**401  # 400 implied products: MAX_FACTORS
    with pytest.raises(BudgetError, match="more than 400 multiplications"):
        parse_latex("x" * 3000)


# --------------------------------------------------------------------------
# Fuzzing: ParsedFormula or ParseError, never anything else, never slow
# --------------------------------------------------------------------------
ALPHABET = [
    r"\frac", "{", "}", "x", "y", "e", "2", "0.5", "^", "_", "(", ")", "[", "]",
    "+", "-", r"\cdot", "/", "|", r"\left(", r"\right)", r"\left|", r"\right|",
    r"\sigma", r"\alpha", r"\tanh", r"\exp", r"\ln", r"\max", r"\sqrt", ",", "=",
    r"\geq", "<", "&", r"\\", r"\begin{cases}", r"\end{cases}", r"\text{if }",
    r"\text{otherwise}", r"\sum", r"\operatorname{erf}", r"\mathrm{ReLU}", "f",
    "'", r"\{", r"\}", r"\begin{array}{ll}", r"\end{array}", r"\right.", r"\pi",
    r"\lvert", r"\rvert", r"\input{x}", r"\def", "i", "j", "n", "=", ".", " ",
    r"\,", r"\infty", r"\Phi", "%", "$", r"\mathbb{R}", r"\in", "H", "1", "0",
]
_TOKEN_RE = re.compile(r"\\[A-Za-z]+|\\.|\d+(?:\.\d+)?|.", re.S)


def _check(text: str):
    start = time.perf_counter()
    try:
        result = parse_latex(text)
    except ParseError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)
        result = None
    else:
        assert isinstance(result, ParsedFormula)
        assert isinstance(result.expr, sp.Basic)
    assert time.perf_counter() - start < 1.0, text
    return result


FUZZ = settings(max_examples=400, deadline=1000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(st.sampled_from(ALPHABET), max_size=25))
def test_fuzz_token_soup(tokens):
    _check("".join(tokens))


@FUZZ
@given(st.text(alphabet="\\{}()[]^_|&=<>+-*/.,' xye0123\n$%!abc", max_size=40))
def test_fuzz_characters(text):
    _check(text)


@st.composite
def mutated_corpus(draw):
    text = draw(st.sampled_from([t for t, _ in CORPUS]))
    tokens = _TOKEN_RE.findall(text)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        pos = draw(st.integers(0, max(len(tokens) - 1, 0)))
        if op == "delete" and tokens:
            del tokens[pos]
        elif op == "insert":
            tokens.insert(pos, draw(st.sampled_from(ALPHABET)))
        elif op == "duplicate" and tokens:
            tokens.insert(pos, tokens[pos])
        elif op == "swap" and len(tokens) > 1:
            other = draw(st.integers(0, len(tokens) - 1))
            tokens[pos], tokens[other] = tokens[other], tokens[pos]
    return "".join(tokens)


@FUZZ
@given(mutated_corpus())
def test_fuzz_mutated_corpus(text):
    _check(text)


def test_grammar_is_built_strict():
    """Lark's strict mode turns any shift/reduce or reduce/reduce conflict into
    a build error, so a grammar that loads has exactly one reading per input."""
    from symact.parse import _grammar

    for name in ("latex", "expr"):
        assert _grammar.load(name).options.strict is True
        assert _grammar.load(name).options.parser == "lalr"


def test_brace_groups_and_literal_braces():
    assert parse_latex(r"\left\{ x + 1 \right\} ^2").expr == (x + 1) ** 2
    assert parse_latex(r"2{x+1}").expr == 2 * (x + 1)
    assert parse_latex(r"\left[ x \right] y").expr == x * y
