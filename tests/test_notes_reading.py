"""Reading a note (symact.notes.markdown), one rule at a time: where formulas, code and the
prose's values come from. Nothing here runs code or checks a formula: these are fast."""
from __future__ import annotations

import sympy as sp
import pytest

from symact.notes import markdown as md


def formulas(text):
    return [(f.text, f.inline) for s in md.split_sections(text) for f in s.formulas]


def code(text):
    return [c for s in md.split_sections(text) for c in s.code]


# ------------------------------------------------------------------ math
@pytest.mark.parametrize("text, expected", [
    ("# S\nThe ReLU is $f(x) = \\max(0, x)$ here.\n", [("f(x) = \\max(0, x)", True)]),
    ("# S\nThe ReLU is \\(f(x) = \\max(0, x)\\).\n", [("f(x) = \\max(0, x)", True)]),
    # kramdown (cs231n) writes \\( ... \\) and escapes _ as \_
    ("# S\nIt computes \\\\(f(x) = \\max(0, w\\_1 x)\\\\).\n", [("f(x) = \\max(0, w_1 x)", True)]),
    ("# S\n$$\\operatorname{ReLU}(x) = \\max(x, 0).$$\n", [("\\operatorname{ReLU}(x) = \\max(x, 0).", False)]),
    ("# S\n\\[\n\\sigma(x) = \\frac{1}{1+e^{-x}}\n\\]\n", [("\\sigma(x) = \\frac{1}{1+e^{-x}}", False)]),
    ("# S\nElle est définie par : $$\\sigma(x) = \\frac{1}{1 + e^{-x}}$$ ok\n", [("\\sigma(x) = \\frac{1}{1 + e^{-x}}", False)]),
    ("# S\n```math\ny = x\n```\n", [("y = x", False)]),
    ("# S\n$$\ny_k = \\frac{\\exp(a_k)}{\\sum_i \\exp(a_i)}\n$$\n", [("y_k = \\frac{\\exp(a_k)}{\\sum_i \\exp(a_i)}", False)]),
    ("# S\n$\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))$\n", [("\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))", True)]),
    ("# S\n$$\\frac{d}{dx} \\tanh(x) = 1 - \\tanh^2(x)$$\n", [("\\frac{d}{dx} \\tanh(x) = 1 - \\tanh^2(x)", False)]),
    ("# S\n$$\\text{Mish}'(x) = 1$$\n", [("\\text{Mish}'(x) = 1", False)]),
])
def test_math_that_defines_a_function_is_a_formula(text, expected):
    assert formulas(text) == expected


@pytest.mark.parametrize("text", [
    "# S\nfor $x > 0$ the slope is $1$ and $\\sigma(0) = 0.5$.\n",   # conditions, values at a point
    "# S\nwith $\\alpha = 0.1$\n",                                  # a constant: a definition, not a formula
    "# S\n$$\\lim_{x \\to -\\infty} \\sigma(x) = 0$$\n",            # a limit
    "# S\n$$\n\\begin{aligned}\n\\mathbf{H} & = \\sigma(\\mathbf{X}) \\\\\n\\end{aligned}\n$$\n",
    "# S\nIt costs $5 and $6.\n\nNothing here.\n",                   # dollars
    "# S\nuse `$x$` in code spans\n",
    "# S\n\\\\(w\\_1, b\\_1 = 0\\\\) and \\\\(f = w^Tx + b\\\\)\n",
])
def test_other_math_is_not(text):
    assert formulas(text) == []


def test_lines_of_inline_and_multiline_math():
    text = "# S\n\nline three\n\n1. **Valeurs** :\n$\n   \\sigma(x) = \\frac{1}{1 + e^{-x}}\n$\nand \\(g(z) = z\\)\n"
    (sec,) = md.split_sections(text)
    assert [(f.line, f.inline) for f in sec.formulas] == [(6, True), (9, True)]


# ------------------------------------------------------------------ code fences
@pytest.mark.parametrize("info", ["python", "py", "python3", "{python}", "{.python .input}", 'python title="x.py"',
                                  "Python", "ipython3", "{.python}"])
def test_python_fences_of_any_spelling(info):
    blocks = code(f"# S\n```{info}\ndef f(x):\n    return x\n```\n")
    assert [md.functions_in(b.text) for b in blocks] == [["f"]]


@pytest.mark.parametrize("info", ["", "r", "{r}", "text", "bash", "pycon-not"])
def test_other_fences_are_not_code(info):
    assert code(f"# S\n```{info}\ndef f(x):\n    return x\n```\n") == []


def test_ipython_magics_are_left_out_with_their_lines():
    (block,) = code("# S\n```{.python .input}\n%matplotlib inline\n!pip install d2l\nimport math\n```\n")
    assert block.magics == 2 and block.text.splitlines()[2] == "import math"
    compile(block.text, "<note>", "exec")  # it parses now; line numbers are kept
    assert block.text.splitlines()[0] == "pass  # %matplotlib inline"


def test_tilde_fences_and_longer_closers():
    blocks = code("# S\n~~~python\ndef f(x):\n    return x\n~~~\n````python\ndef g(x):\n    return x\n````\n")
    assert [md.functions_in(b.text) for b in blocks] == [["f"], ["g"]]


# ------------------------------------------------------------------ definitions in the prose
@pytest.mark.parametrize("text, key, value", [
    ("where α = 1.6733", "alpha", sp.Rational(16733, 10000)),
    ("with $\\alpha = 1.6733$", "alpha", sp.Rational(16733, 10000)),
    ("λ ≈ 1.0507", "lambda", sp.Rational(10507, 10000)),
    ("and $\\lambda \\approx 1.0507$", "lambda", sp.Rational(10507, 10000)),
    ("pour $\\varepsilon = 0.1$ :", "epsilon", sp.Rational(1, 10)),
    ("where `alpha` = 1.67326324", "alpha", sp.Rational(167326324, 10**8)),
    ("(alpha=1.67326324 and scale=1.05070098)", "scale", sp.Rational(105070098, 10**8)),
    ("$\\text{negative\\_slope} = 0.01$", "negativeslope", sp.Rational(1, 100)),
    ("with α = 1e-2", "alpha", sp.Rational(1, 100)),
    ("où α = 1,5", "alpha", sp.Rational(3, 2)),
])
def test_prose_definitions(text, key, value):
    defs = {d.key: d.value for d in md.definitions_in(text, 1)}
    assert defs[key] == value


@pytest.mark.parametrize("text", [
    "at x = 0 the derivative is 1", "En x = 0, la dérivée", "f = 2", "\\sigma(0) = 0.5", "a = 3",
    "the word = 5", "α = " + "9" * 101, "α = 1e999",
])
def test_prose_that_defines_nothing(text):
    assert md.definitions_in(text, 1) == []


def test_definitions_are_exact_and_bounded():
    (d,) = md.definitions_in("where λ = 1.0507009873554804934193349852946", 7)
    assert d.value == sp.Rational("1.0507009873554804934193349852946") and d.line == 7
    assert isinstance(d.value, sp.Rational)


@pytest.mark.parametrize("text, name", [
    ("Here σ denotes tanh.", "tanh"), ("where $\\sigma$ is the hyperbolic tangent", "tanh"),
    ("σ désigne la fonction tanh", "tanh"), ("\\sigma stands for ReLU", "relu"),
    ("σ is the sigmoid", "sigmoid"), ("σ is a small constant", None), ("no sigma here", None),
])
def test_what_sigma_denotes(text, name):
    assert md.sigma_meaning(text) == name


def test_symbol_keys():
    assert {md.symbol_key(s) for s in ("\\alpha", "α", "alpha", "`alpha`", "\\text{alpha}")} == {"alpha"}
    assert md.symbol_key("\\varepsilon") == md.symbol_key("ε") == "epsilon"
    assert md.symbol_key("negative_slope") == md.symbol_key("\\text{negative\\_slope}") == "negativeslope"
    assert md.symbol_key("lmbda") == "lambda"


# ------------------------------------------------------------------ hostile prose
@pytest.mark.parametrize("chunk", ["$", "$$", "\\(", "\\\\(", "\\[", "`", "$x", "alpha ", "σ is ", "= 1 ",
                                   " " * 1000 + "f", "$$f" + " " * 5000 + "(x) = x$$\n"])
def test_hostile_prose_is_read_in_linear_time(chunk):
    """100 kB of delimiters without closers, long whitespace runs, definitions without values:
    read in about a second (the scanner finds each delimiter once, no pattern backtracks on
    whitespace; a quadratic reading of this would take hours)."""
    import time

    text = "# S\n" + chunk * (100_000 // len(chunk))
    start = time.monotonic()
    md.split_sections(text)
    md.definitions_in(text, 1)
    md.sigma_meaning(text)
    assert time.monotonic() - start < 10
