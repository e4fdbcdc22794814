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
    # a vector entry applied to a vector is its component i (see test_vector_catalog_inside)
    assert parse_latex(r"f(x) = \mathrm{softmax}(x)").is_vector
    with pytest.raises(ParseError, match="vector function: it has no value at a single number"):
        parse_latex(r"f(x) = \mathrm{softmax}(2x)")


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


# ---------------------------------------------------------------- the notation, class by class
lam = sp.Symbol("lambda", real=True)
scale = sp.Symbol("scale", real=True)
slope = sp.Symbol("negative_slope", real=True)


def relu(u):
    return sp.Max(0, u)


def hard_swish(u):
    return u * sp.Min(sp.Max(0, u + 3), 6) / 6


#: (text as published, expected expression of x, expected head or None)
PUBLISHED = [
    # names with \_, spaces and hyphens; named constants
    (r"\text{LeakyReLU}(x) = \max(0, x) + \text{negative\_slope} * \min(0, x)",
     relu(x) + slope * sp.Min(0, x), "LeakyReLU"),
    (r"\mathrm{log\_sigmoid}(x) = \log(\mathrm{sigmoid}(x)) = -\log(1 + e^{-x})",
     sp.log(sigmoid(x)), "log_sigmoid"),
    (r"\text{Hard SiLU}(x) = x \cdot \mathrm{ReLU6}(x+3)/6", hard_swish(x), "Hard SiLU"),
    (r"\text{h-swish}(x) = x\frac{\text{ReLU6}(x+3)}{6}", hard_swish(x), "h-swish"),
    (r"\text{SELU}(x) = \text{scale} * (\max(0,x) + \min(0, \alpha * (\exp(x) - 1)))",
     scale * (relu(x) + sp.Min(0, alpha * (sp.exp(x) - 1))), "SELU"),
    (r"f(x) = \lambda x", lam * x, "f"),
    (r"f(x) = \text{scale}(x + 1)", scale * (x + 1), "f"),
    # bare multi-letter heads and functions
    (r"GELU(x) = x\Phi(x)", x * Phi(x), "GELU"),
    (r"f(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))", sp.tanh(x), "f"),
    (r"f(x) = tanh(x) + ReLU(x)", sp.tanh(x) + relu(x), "f"),
    (r"PReLU(x) = max(0,x) + a * min(0,x)",
     relu(x) + sp.Symbol("a", real=True) * sp.Min(0, x), "PReLU"),
    (r"SELU(x) = scale * (max(0,x) + min(0, alpha * (exp(x) - 1)))",
     scale * (relu(x) + sp.Min(0, alpha * (sp.exp(x) - 1))), "SELU"),
    (r"{ReLU6}(x) = min(max(0,x), 6)", sp.Min(relu(x), 6), "ReLU6"),
    (r"f(x) = 1/beta * log(1 + exp(beta * x_i))",
     sp.log(1 + sp.exp(sp.Symbol("beta", real=True) * x)) / sp.Symbol("beta", real=True), "f"),
    # Wikipedia markup
    (r"{\displaystyle f(x)={\begin{cases}0&{\text{if }}x\leq 0\\x&{\text{if }}x>0\end{cases}}}",
     relu(x), "f"),
    (r"{\displaystyle \sigma (x)={\frac {1}{1+e^{-x}}}}", sigmoid(x), "sigma"),
    (r"\begin{aligned} f(x) &= \frac{x}{1+e^{-x}} \\ &= x \sigma(x) \end{aligned}",
     x * sigmoid(x), "f"),
    (r"\text{Hardswish}(x) = \begin{cases} 0 & \text{if~} x \le -3, \\ x & \text{if~} x \ge +3,"
     r" \\ x \cdot (x + 3) /6 & \text{otherwise} \end{cases}", hard_swish(x), "Hardswish"),
    (r"f(x) = \begin{cases} x & \mbox{for } x > 0 \\ 0 & \text{otherwise} \end{cases}",
     relu(x), "f"),
    (r"f(x) = \begin{cases} x & \text{si } x > 0 \\ 0 & \text{sinon} \end{cases}", relu(x), "f"),
    (r"f(x) = \begin{cases} x & \text{pour } x > 0 \\ 0 & \text{pour } x \le 0 \end{cases}",
     relu(x), "f"),
    (r"f(x) = \begin{cases} x & \text{当 } x > 0 \text{ 时} \\ 0 & \text{其他情况} \end{cases}",
     relu(x), "f"),
    (r"f(x) = \begin{cases} x & \text{if $x>0$ } \\[2ex] 0 & \text{if $x \leq 0$ } \end{cases}",
     relu(x), "f"),
    (r"f(x) = x^2.", x**2, "f"),
    # powers of functions, sech, derivatives of known functions in a body
    (r"f'(x) = 1 - \tanh^2(x)", 1 - sp.tanh(x) ** 2, "f"),
    (r"f(x) = \text{sech}^2(x)", 1 / sp.cosh(x) ** 2, "f"),
    (r"f(x) = \operatorname{sech}(x) + \operatorname{csch}(x) + \coth(x)",
     1 / sp.cosh(x) + 1 / sp.sinh(x) + 1 / sp.tanh(x), "f"),
    (r"f(x) = \sigma'(x)", sigmoid(x) * (1 - sigmoid(x)), "f"),
    (r"f(x) = \tanh^{-1}(x)", sp.atanh(x), "f"),
    # \over, typographic primes, indicators, positive parts, braces
    (r"f(x) = {1 \over 1 + e^{-x}}", sigmoid(x), "f"),
    (r"f(x) = \mathbb{1}(x < 0) (\alpha x) + \mathbb{1}(x>=0) (x)",
     sp.Piecewise((alpha * x, x < 0), (x, True)), "f"),
    (r"f(x) = x \mathbb{1}_{x>0}", relu(x), "f"),
    (r"f(x) = x \mathbf{1}\{x > 0\}", relu(x), "f"),
    (r"(x)^{+} = \max(0,x).", relu(x), None),
    (r"f ( x ) = x^+ = max ( 0 , x )", relu(x), "f"),
    (r"f(x) = [x]_+", relu(x), "f"),
    (r"f(x) = \max\{0, x\}", relu(x), "f"),
    # piecewise layouts
    (r"\text{ELU}(x) = \begin{cases} x, \text{if } x > 0 \\ \alpha (e^x - 1), \text{if } x \le 0"
     r" \end{cases}", sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True)), "ELU"),
    (r"ReLU(x)=\left\lbrace\begin{array}{cll} x & , & x \ge 0 \\ 0 & , & x < 0 \end{array}\right.",
     relu(x), "ReLU"),
    (r"f(x) = \left\{ \begin{array}{ll} x & x \geq 0 \\ 0 & x < 0 \end{array} \right.",
     relu(x), "f"),
    (r"f(x) = \left\{ \begin{matrix} x & x > 0 \\ 0 & \text{else} \end{matrix} \right.",
     relu(x), "f"),
    (r"f(x) = \left\{ \begin{aligned} & x && (x > 0) \\ & 0 && (0 \ge x) \end{aligned} \right.",
     relu(x), "f"),
    (r"f(x) = \begin{cases} x,\ x>0 \\ 0,\ x \le 0 \end{cases}", relu(x), "f"),
    (r"f(x) = \begin{cases} x & x \in (-1, 1) \\ 0 & \text{otherwise} \end{cases}",
     sp.Piecewise((x, (x > -1) & (x < 1)), (0, True)), "f"),
    (r"f(x) = \begin{cases} x & |x| \le \lambda \\ 0 & \text{else} \end{cases}",
     sp.Piecewise((x, sp.Abs(x) <= lam), (0, True)), "f"),
    (r"\begin{split}selu(x)= scale * \left\{ \begin{array}{lcl} x,& &\text{if } \ x > 0 \\ "
     r"alpha * e^{x} - alpha,& &\text{if } \ x <= 0 \end{array} \right.\end{split}",
     scale * sp.Piecewise((x, x > 0), (alpha * sp.exp(x) - alpha, True)), "selu"),
    # subscripted variables in heads
    (r"\phi(v_i) = \frac{1}{1 + e^{-v_i}}", None, "phi"),
    (r"\text{hswish}(x_{i}) = x_{i} * \frac{ReLU6(x_{i} + 3)}{6}", None, "hswish"),
]


@pytest.mark.parametrize("text,expected,head", PUBLISHED, ids=[t[:50] for t, _, _ in PUBLISHED])
def test_published_notation(text, expected, head):
    f = parse_latex(text)
    assert f.head == head
    if expected is None:
        expected_of_var = {"phi": sigmoid, "hswish": hard_swish}[head](f.variable)
        assert f.variable.name in ("v_i", "x_i")
        assert same(f.expr, expected_of_var, f.variable)
        return
    assert f.variable == x
    for link in f.links:
        if link.relation == "=":
            assert same(link.expr, expected), (link.source, link.expr)


def test_softmax_with_subscripted_head():
    f = parse_latex(r"\text{Softmax}(x_{i}) = \frac{\exp(x_i)}{\sum_j \exp(x_j)}")
    assert f.is_vector and f.index == "i" and f.variable.name == "x"
    g = parse_latex(r"\text{Softmax}(x)_i = \frac{\exp(x_i)}{\sum_j \exp(x_j)}")
    assert f.expr == g.expr


def test_notes_record_what_was_dropped():
    f = parse_latex(r"f(x) = \alpha x^2, \text{where } \alpha \text{ is a constant}")
    assert f.expr == alpha * x**2
    assert len(f.notes) == 1 and "where" in f.notes[0] and "ignored trailing prose" in f.notes[0]
    g = parse_latex(r"f(x) = \max(\alpha x, x) \quad (\alpha \text{ is a small constant})")
    assert g.expr == sp.Max(x, alpha * x) and "small constant" in g.notes[0]
    h = parse_latex(r"LogSigmoid(x) = log( 1 / (1 + exp(-x_i)))")
    assert same(h.expr, sp.log(sigmoid(x))) and "x_i" in h.notes[0]
    k = parse_latex(r"f(x) = \lambda x \text{ if } x \geq 0")
    assert k.expr == sp.Piecewise((lam * x, x >= 0)) and "only branch" in k.notes[0]


def test_chain_through_a_second_head_and_an_identity():
    f = parse_latex(r"y = f(x) = x")
    assert f.head == "f" and f.expr == x and f.notes
    g = parse_latex(r"1 - \tanh^2(x) = \text{sech}^2(x)")
    assert g.head is None and len(g.links) == 2
    assert same(g.links[0].expr, g.links[1].expr)


def test_functions_are_applied_and_constants_are_not():
    # a catalog name written bare but not applied is a named constant
    f = parse_latex(r"f(x) = \text{threshold} + x")
    assert f.parameters == ("threshold",)
    # a builtin applied to an argument in \operatorname
    assert parse_latex(r"\operatorname{softplus}(x)").expr == sp.log(1 + sp.exp(x))
    assert same(parse_latex(r"\text{SiLU}(x)").expr, x * sigmoid(x))
    assert same(parse_latex(r"\mathrm{Swish}(x)").expr, x * sigmoid(x))


@pytest.mark.parametrize("text,fragment", [
    (r"f(x) = \begin{tabular}{ll} x \end{tabular}", r"\begin{tabular} is not supported"),
    (r"f(x) = \mathrm{softmax}(2x)", "vector function"),
    (r"f(x) = \text{hello world}", r"cannot read \text{hello world}"),
    (r"f(x) = g'(x)", "only appear in the head"),
    (r"f(x) = \sigma''(x)", "first derivatives"),
    (r"f(x) = \tanh^{1/2}(x)", "positive whole number"),
    (r"f(x) = \mathbb{1}(x)", "unexpected"),
    (r"f(x) = x \over 2", "inside braces"),
])
def test_refusals_name_the_construct_and_position(text, fragment):
    with pytest.raises(ParseError) as info:
        parse_latex(text)
    message = str(info.value)
    assert fragment in message
    assert "column" in message and "^" in message


def test_expr_reads_the_same_way():
    assert same(parse_expr("x*sigmoid(1.702x)").expr, x * sigmoid(sp.Rational(1702, 1000) * x))
    assert parse_expr("f(x) = scale * (x if x > 0 else alpha * (exp(x) - 1))").expr == \
        scale * sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))
    assert same(parse_expr("0.5*x*(1 + tanh[sqrt(2/pi)*(x + 0.044715*x**3)])").expr,
                x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 10**6) * x**3))))
    assert parse_expr("elu(x, 2)").expr.subs(x, -1) == 2 * sp.exp(-1) - 2
    assert same(parse_expr("LeakyReLU(x)").expr.subs(slope, sp.Rational(1, 100)),
                sp.Piecewise((x / 100, x < 0), (x, True)))
    with pytest.raises(ParseError, match="does not match"):
        parse_expr("tanh[x)")


def test_expr_derivative_heads_and_primes():
    f = parse_expr("swish'(x) = sigmoid(x) + x*sigmoid(x)*(1 - sigmoid(x)) = "
                   "swish(x) + sigmoid(x)*(1 - swish(x))")
    assert f.head == "swish" and f.is_derivative and f.self_references == ("swish",)
    assert same(f.expr, sp.diff(x * sigmoid(x), x))
    assert same(parse_expr("sigmoid'(x)").expr, sigmoid(x) * (1 - sigmoid(x)))
    with pytest.raises(ParseError):
        parse_expr("__import__('os').system('true')")
    with pytest.raises(ParseError, match="in terms of itself"):
        parse_expr("f(x) = f(x)")


def test_leibniz_heads():
    f = parse_latex(r"{\delta Tanh \over \delta x}=({2 \over e^x+e^{-x}})^2=1-Tanh^2(x)")
    assert f.head == "Tanh" and f.is_derivative and f.variable == x
    assert same(f.expr, 1 - sp.tanh(x) ** 2)
    g = parse_latex(r"\frac{\partial{y}}{\partial{x}}= \begin{cases} 1&(x\gt0)\\ 0&(x\le0) "
                    r"\end{cases}")
    assert g.is_derivative and g.expr == sp.Piecewise((1, x > 0), (0, True))


def test_markdown_escaped_subscripts():
    # cs231n (Markdown source): w\_1 is w_1 wherever a subscript can stand
    f = parse_latex(r"\max(w\_1^Tx+b\_1, w\_2^Tx + b\_2)")
    w1, w2, b1, b2, T = (sp.Symbol(n, real=True) for n in ("w_1", "w_2", "b_1", "b_2", "T"))
    assert f.variable == x
    assert sp.simplify(f.expr - sp.Max(w1**T * x + b1, w2**T * x + b2)) == 0
    assert set(f.parameters) == {"T", "b_1", "b_2", "w_1", "w_2"}
    with pytest.raises(ParseError, match=r"'\\_' is not supported \(at column 1\)"):
        parse_latex(r"\_1 x")


def test_expr_tex_braces_after_power():
    # ONNX Mish in a code block: e^{x} in plain text
    f = parse_expr("mish(x) = x * tanh(softplus(x)) = x * tanh(ln(1 + e^{x}))")
    assert len(f.links) == 2
    for link in f.links:
        assert same(link.expr, x * sp.tanh(sp.log(1 + sp.exp(x))))
    assert same(parse_expr("2^{x + 1}").expr, 2 ** (x + 1))
    with pytest.raises(ParseError, match=r"'\)' does not match the '\{' opened at column 3"):
        parse_expr("e^{x+1)")
    with pytest.raises(ParseError, match="unexpected character '{'"):
        parse_expr("x{1}")


def test_word_head_and_short_word_variable():
    # oneDNN: dst = src * tanh(SoftPlus(src)): the head word names the output, src the variable
    f = parse_latex(r"dst = src * \tanh(SoftPlus(src)) = src * \tanh(\ln(1 + e^{src}))")
    src = sp.Symbol("src", real=True)
    assert f.variable == src and f.parameters == ()
    for link in f.links:
        assert same(link.expr, src * sp.tanh(sp.log(1 + sp.exp(src))), src)


def _softmax_parts():
    xb = sp.IndexedBase("x", real=True)
    i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    return xb, i, j, n


def test_expr_vector_sums():
    # Keras: exp(x) / sum(exp(x)) is softmax's component i, as LaTeX's \sum_j reads
    xb, i, j, n = _softmax_parts()
    f = parse_expr("exp(x) / sum(exp(x))")
    assert f.is_vector and f.index == "i" and f.sizes == ("n",) and f.parameters == ()
    assert f.expr == sp.exp(xb[i]) / sp.Sum(sp.exp(xb[j]), (j, 1, n))
    # at n = 3 the component 1 is the softmax of (1, 2, 3)
    vals = {xb[1]: 1, xb[2]: 2, xb[3]: 3}
    got = f.expr.subs({i: 1, n: 3}).doit().subs(vals)
    assert sp.simplify(got - sp.E / (sp.E + sp.E**2 + sp.E**3)) == 0
    with pytest.raises(ParseError, match="sum takes one argument"):
        parse_expr("sum(x, 2)")


def test_expr_where_clause_and_juxtaposed_call():
    # Torch5 manual: f_i(x) = log(1/a exp(x_i)), where a = sum_j exp(x_j)
    xb, i, j, n = _softmax_parts()
    f = parse_expr("f_i(x) = log(1/a exp(x_i)), where a = sum_j exp(x_j)")
    assert f.is_vector and f.head == "f_i" and f.index == "i" and f.parameters == ()
    assert f.expr == sp.log(sp.exp(xb[i]) / sp.Sum(sp.exp(xb[j]), (j, 1, n)))
    assert f.notes == ("substituted a = sum_j exp(x_j) from the 'where' clause",)
    a = sp.Symbol("a", real=True)
    assert parse_expr("1/a exp(x)").expr == sp.exp(x) / a  # a space before a call multiplies
    assert parse_expr("f(x) = a*x, where a = 2").expr == 2 * x
    with pytest.raises(ParseError, match="no implicit multiplication"):
        parse_expr("a x")
    with pytest.raises(ParseError, match="in terms of itself"):
        parse_expr("f(x) = a*x, where a = a + 1")
    with pytest.raises(ParseError, match="cannot define x"):
        parse_expr("f(x) = x, where x = 1")
    with pytest.raises(ParseError, match="does not use"):
        parse_expr("f(x) = x, where b = 1")
    with pytest.raises(ParseError, match=r"in the 'where' clause: unexpected '\*'.*\(at column 24\)"):
        parse_expr("f(x)=a*x, where a = 2 +* 3")


def test_expr_for_rows():
    # ONNX Selu: y = ... for x <= 0, y = ... for x > 0
    f = parse_expr("y = gamma * (alpha * e^x - alpha) for x <= 0, y = gamma * x for x > 0")
    gamma = sp.Symbol("gamma", real=True)
    assert f.parameters == ("alpha", "gamma") and f.variable == x
    selu = sp.Piecewise((gamma * alpha * (sp.exp(x) - 1), x <= 0), (gamma * x, True))
    for p in POINTS + [sp.Integer(0)]:
        assert sp.simplify((f.expr - selu).subs(x, p)) == 0
    with pytest.raises(ParseError, match="repeat the same left-hand side"):
        parse_expr("y = x for x > 0, z = 0 for x <= 0")


def test_vector_catalog_inside():
    # PyTorch LogSoftmax summary: \log(\text{Softmax}(x)), softmax applied componentwise
    xb, i, j, n = _softmax_parts()
    want = sp.log(sp.exp(xb[i]) / sp.Sum(sp.exp(xb[j]), (j, 1, n)))
    for text in (r"\log(\text{Softmax}(x))", r"\log(\text{Softmax}(x_i))",
                 r"\text{LogSoftmax}(x_i) = \log(\text{Softmax}(x_i))"):
        f = parse_latex(text)
        assert f.is_vector and f.index == "i" and f.sizes == ("n",) and f.parameters == ()
        assert f.expr == want
    # the catalog's log_softmax component, checked at n = 3, component 2
    vals = {xb[1]: 1, xb[2]: 2, xb[3]: 3}
    got = want.subs({i: 2, n: 3}).doit().subs(vals)
    assert sp.simplify(got - (2 - sp.log(sp.E + sp.E**2 + sp.E**3))) == 0
    with pytest.raises(ParseError, match="x is a vector here"):
        parse_latex(r"\text{Softmax}(x) + x")
    with pytest.raises(ParseError, match="not j"):
        parse_latex(r"\text{Softmax}(x_j)")


def test_reversed_bars_are_an_absolute_value():
    # material-informatics notes: \frac{\rvert x\lvert+x}{2} is ReLU
    f = parse_latex(r"\text{ReLU}(x)=\text{max}(0,x)=\frac{\rvert x\lvert+x}{2}")
    assert [link.expr for link in f.links] == [sp.Max(0, x), (sp.Abs(x) + x) / 2]
    assert any("reversed bars" in n for n in f.notes)
    for p in POINTS:
        assert f.links[1].expr.subs(x, p) == sp.Max(0, p)
    assert parse_latex(r"\lvert x\rvert").notes == ()
    with pytest.raises(ParseError, match="'\\|' is never closed"):
        parse_latex(r"\rvert x")


def test_period_between_operands_is_a_product():
    # Obsidian notes: ReLU with '1 . x' and '0.x' written for products
    f = parse_latex(r"f(x)=\begin{cases}1 . x , \text{if } x \gt 0\\0.x, x \leq 0\end{cases}")
    assert f.expr == sp.Piecewise((x, x > 0), (0, True))
    assert len([n for n in f.notes if "period" in n]) == 2
    assert parse_latex(r"f(x) = x^2.").notes == ()  # a sentence-final period stays one
    assert parse_latex(r"f(x) = 2.5x").expr == sp.Rational(5, 2) * x
    with pytest.raises(ParseError):
        parse_latex(r"f(x)=x. y")


@pytest.mark.parametrize("reader, text, message, column", [
    (parse_latex, r"GELU(x) = xP(X\leq x)=x\Phi(x)", r"probability notation P\(X \\le x\) is not "
     "supported", 12),
    (parse_expr, "gelu(x) = x * P(X <= x)", "probability notation", 15),
    (parse_latex, r"E[f(x)]\approx0.5x(1+\tanh(x))", r"expectation notation E\[...\]", 1),
    (parse_latex, r"y^{'} = y(1 - y)", "a derivative written in terms of the output", 1),
    (parse_expr, "y' = y*(1-y)", "a derivative written in terms of the output", 1),
])
def test_unsupported_notation_is_named(reader, text, message, column):
    with pytest.raises(ParseError, match=message) as info:
        reader(text)
    assert f"(at column {column})" in str(info.value)
    assert info.value.position == column - 1
