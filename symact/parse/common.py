"""The shared core of the formula readers, used by both :mod:`symact.parse.latex`
(LaTeX) and :mod:`symact.parse.expr` (plain text).

Each reader tokenizes the text itself, parses the tokens with its own strict
LALR(1) grammar (:mod:`symact.parse._grammar`) and walks the tree into SymPy
objects; neither ever evaluates user text.  What they have in common lives here:

* :class:`ParsedFormula`, the result both return (``language`` says which),
  with one :class:`Link` per side of a chain (``f(x) = A \\approx B``) and
  ``notes`` on what the reader dropped or assumed;
* :func:`catalog_name`, the one normalisation of names to catalog entries
  (case, ``\\_``, ``_``, spaces and hyphens ignored) that the readers and
  :mod:`symact.verify` share, and :func:`catalog_function`, a catalog entry
  as a function of its argument with its parameters free;
* the bounds (below), which both readers enforce while tokenizing, on the
  parse tree before any SymPy object is built, and while building, so that
  refusing an input costs time linear in its length;
* the function tables: :data:`FUNCTIONS`, the whitelist of function names
  (looked up lower-cased) with how to build each and how many arguments it
  takes; :data:`APPLICABLE_SYMBOLS`, the letters that mean a function when
  directly followed by ``( )`` (``\\sigma(x)``); :data:`GREEK`, the Greek
  letter names (parameters rather than the variable);
* the error helpers: :func:`parse_error` makes a
  :class:`~symact.errors.ParseError` whose message names the line and column
  and shows the text with a caret under the spot; :func:`suggest` adds
  "did you mean" names;
* the tree-walking pieces: :func:`number` (decimal text to an exact
  rational), :func:`checked_pow` (refuses exact powers too large to compute),
  :func:`build_condition` (piecewise conditions from ``cond_or``/``cond_and``/
  ``chain`` nodes, which both grammars share) and :func:`choose_variable` (the
  variable when no head names it: ``x`` if present, else the only non-Greek
  name).

Bounds
======
Every formula is read within these bounds; beyond one, the reader raises
:class:`FormulaBudgetError` (a :class:`~symact.errors.ParseError` that is also
a :class:`~symact.errors.BudgetError`, so the CLI exits 2), whose message says
what was too large, the bound, and where (line, column and caret).  No real
activation formula comes near them (see ``tests/test_parse_hostile.py``):

============================== ======= ==================================================
:data:`MAX_LENGTH`             10,000  characters of input
:data:`MAX_DEPTH`              40      nested groups: ``( [ { \\{ |``, environments
:data:`MAX_TREE_DEPTH`         150     depth of the syntax tree walked (groups, signs,
                                       scripts and function applications together,
                                       e.g. ``- - - x`` or ``\\ln \\ln \\ln x``)
:data:`MAX_NUMBER_DIGITS`      100     digits in one number literal
:data:`MAX_DECIMAL_EXPONENT`   300     ``e``-exponent of a plain-text literal (``1e300``)
:data:`MAX_EXACT_DIGITS`       1,000   decimal digits of an exact number the reader
                                       computes (``2^{-1074}`` has 324; ``3^{10000}``,
                                       4,772, is refused before it is computed)
:data:`MAX_EXPONENT`           1,000   absolute value of a rational exponent on anything
                                       but a rational number (``x^{1000}``, ``\\pi^{-3}``),
                                       also after the reader combines powers
                                       (``(x^{500})^{3}``, ``x x x``)
:data:`MAX_TERMS`              200     binary ``+`` and ``-`` in the whole formula
:data:`MAX_FACTORS`            400     multiplications and divisions, written or implied
                                       (``2x``), in the whole formula
:data:`MAX_ROWS`               50      rows of piecewise definitions (``cases`` rows,
                                       ``where(...)`` calls) in the whole formula
:data:`MAX_ARGS`               32      arguments of ``max``/``min``
============================== ======= ==================================================

The exponent bound was chosen from the cost downstream: ``symact check`` of
``x^{N}`` took 3.5 s for N = 300 and 8 s for N = 1000 on one core; ``x^{10^{4000}}``
took 3 GB.  The others bound the reader's own work and the size of what it hands on.
"""
from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping

import sympy as sp
from lark import Tree

from symact.errors import BudgetError, ParseError

__all__ = [
    "ParsedFormula", "FunctionSpec", "FUNCTIONS", "APPLICABLE_SYMBOLS", "GREEK",
    "MAX_LENGTH", "MAX_DEPTH", "MAX_TREE_DEPTH", "MAX_NUMBER_DIGITS", "MAX_DECIMAL_EXPONENT",
    "MAX_EXACT_DIGITS", "MAX_EXPONENT", "MAX_TERMS", "MAX_FACTORS", "MAX_ROWS", "MAX_ARGS",
    "FormulaBudgetError", "budget_error", "format_error", "parse_error", "suggest",
    "checked_pow", "check_numbers", "number", "build_condition", "choose_variable",
    "TreeBudget", "too_deep_message", "describe_char", "unicode_greek", "math_letter",
    "unexpected_char", "UNICODE_OPERATORS", "SUPERSCRIPTS", "SUBSCRIPTS", "DIGITS",
    "Link", "catalog_name", "catalog_function", "normalize_name", "UserFunctions",
    "user_function",
]

#: Longest accepted input, in characters.
MAX_LENGTH = 10_000
#: Deepest accepted nesting of groups (parentheses, brackets, braces, |..|, environments).
MAX_DEPTH = 40
#: Deepest syntax tree walked: groups, signs, scripts and function applications together.
MAX_TREE_DEPTH = 150
_MAX_TREE_DEPTH = MAX_TREE_DEPTH  # the old private name
#: Most digits in one number literal.
MAX_NUMBER_DIGITS = 100
#: Largest decimal exponent of a plain-text number literal (``1e300``).
MAX_DECIMAL_EXPONENT = 300
#: Most decimal digits of an exact number (numerator or denominator) the reader computes.
MAX_EXACT_DIGITS = 1000
#: Largest absolute value of a rational exponent on anything but a rational number.
MAX_EXPONENT = 1000
#: Most binary ``+`` and ``-`` in one formula.
MAX_TERMS = 200
#: Most multiplications and divisions (written or implied by juxtaposition) in one formula.
MAX_FACTORS = 400
#: Most rows of piecewise definitions (``cases`` rows, ``where`` calls) in one formula.
MAX_ROWS = 50
#: Most arguments of ``max`` and ``min``.
MAX_ARGS = 32
_MAX_ARGS = MAX_ARGS

_LOG10_2 = 0.30102999566398120


class FormulaBudgetError(ParseError, BudgetError):
    """A formula beyond one of the readers' stated bounds (see the module docstring).

    Both a :class:`~symact.errors.ParseError` (it names the position, and code that
    catches unreadable formulas catches it) and a :class:`~symact.errors.BudgetError`.
    """


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    """One side of a chain ``head = A = B \\approx C``.

    ``relation`` (``"="`` or ``"approx"``) relates the item before (the head, or
    the previous side) to this side; ``expr`` is this side built with the
    formula's variable and symbols; ``source`` its text as written;
    ``position`` its offset in the formula text.
    """

    relation: str
    expr: sp.Expr
    source: str
    position: int


@dataclass(frozen=True)
class ParsedFormula:
    """A formula read from LaTeX or plain text.

    ``expr`` is the SymPy expression (the right-hand side); ``variable`` the
    real Symbol it is a function of (for a vector formula, the label of the
    IndexedBase); ``head`` the name the head defines (``"f"``, ``"sigma"``,
    ``"ReLU"``) or None (no head, or ``y = ...``); ``is_derivative`` whether the
    head is ``f'(x)``/``\\frac{d}{dx} f(x)``/``\\frac{df}{dx}``;
    ``self_references`` the names of undefined functions ``Function(head)``
    used in the body; ``parameters`` the sorted names of the other free
    symbols (summation bounds and indices excluded); ``index`` the free vector
    index (``"i"`` in ``softmax(x)_i``) or None; ``sizes`` the names of
    summation bounds (``("n",)``); ``language`` is ``"latex"`` or ``"expr"``.

    ``links`` are the sides of the formula, one :class:`Link` each: a chain
    ``f(x) = A = B \\approx C`` has three (relations ``=``, ``=``, ``approx``),
    a formula without a chain has one; ``expr`` is always the first side.
    With no head, the first link's relation is ``"="`` by convention.
    ``parameters`` is the union over all sides.  ``notes`` says what the reader
    dropped or assumed (``ignored trailing prose '\\text{where ...}'``).
    """

    expr: sp.Expr
    variable: sp.Symbol
    head: str | None
    is_derivative: bool
    self_references: tuple[str, ...]
    source: str
    parameters: tuple[str, ...]
    is_vector: bool = False
    index: str | None = None
    sizes: tuple[str, ...] = ()
    language: str = "latex"
    links: tuple[Link, ...] = ()
    notes: tuple[str, ...] = ()

    def symbol(self, name: str) -> sp.Symbol:
        """The Symbol called ``name`` in ``expr`` (or the variable)."""
        if name == self.variable.name:
            return self.variable
        for expr in (self.expr, *(link.expr for link in self.links)):
            for s in expr.free_symbols:
                if isinstance(s, sp.Symbol) and s.name == name:
                    return s
        raise KeyError(name)


# --------------------------------------------------------------------------
# Function tables (shared with symact.parse.expr)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionSpec:
    """One whitelisted function: how to build it and how many arguments."""

    build: Callable[..., sp.Expr]
    min_args: int = 1
    max_args: int = 1
    meaning: str = ""


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _normal_cdf(u):
    return (1 + sp.erf(u / sp.sqrt(2))) / 2


def _normal_pdf(u):
    return sp.exp(-(u**2) / 2) / sp.sqrt(2 * sp.pi)


#: Whitelisted function names (looked up lower-cased) -> builder.
FUNCTIONS: dict[str, FunctionSpec] = {
    "exp": FunctionSpec(sp.exp, meaning="exp"),
    "ln": FunctionSpec(sp.log, meaning="natural log"),
    "log": FunctionSpec(sp.log, meaning="natural log"),
    "log1p": FunctionSpec(lambda u: sp.log(1 + u), meaning="log(1+u)"),
    "expm1": FunctionSpec(lambda u: sp.exp(u) - 1, meaning="exp(u)-1"),
    "tanh": FunctionSpec(sp.tanh),
    "sinh": FunctionSpec(sp.sinh),
    "cosh": FunctionSpec(sp.cosh),
    "sech": FunctionSpec(lambda u: 1 / sp.cosh(u), meaning="1/cosh(u)"),
    "csch": FunctionSpec(lambda u: 1 / sp.sinh(u), meaning="1/sinh(u)"),
    "coth": FunctionSpec(lambda u: 1 / sp.tanh(u), meaning="1/tanh(u)"),
    "arcsinh": FunctionSpec(sp.asinh),
    "asinh": FunctionSpec(sp.asinh),
    "sin": FunctionSpec(sp.sin),
    "cos": FunctionSpec(sp.cos),
    "tan": FunctionSpec(sp.tan),
    "arctan": FunctionSpec(sp.atan),
    "atan": FunctionSpec(sp.atan),
    "artanh": FunctionSpec(sp.atanh),
    "arctanh": FunctionSpec(sp.atanh),
    "atanh": FunctionSpec(sp.atanh),
    "erf": FunctionSpec(sp.erf),
    "erfc": FunctionSpec(sp.erfc),
    "sqrt": FunctionSpec(sp.sqrt),
    "abs": FunctionSpec(sp.Abs),
    "max": FunctionSpec(sp.Max, 2, _MAX_ARGS),
    "min": FunctionSpec(sp.Min, 2, _MAX_ARGS),
    "relu": FunctionSpec(lambda u: sp.Max(0, u), meaning="max(0,u)"),
    "softplus": FunctionSpec(lambda u: sp.log(1 + sp.exp(u)), meaning="log(1+exp(u))"),
    "sigmoid": FunctionSpec(_sigmoid, meaning="1/(1+exp(-u))"),
    "logistic": FunctionSpec(_sigmoid, meaning="1/(1+exp(-u))"),
    "sgn": FunctionSpec(sp.sign),
    "sign": FunctionSpec(sp.sign),
    "heaviside": FunctionSpec(sp.Heaviside),
    "step": FunctionSpec(sp.Heaviside),
}

#: Single symbols that mean a function when directly followed by ``( )``.
APPLICABLE_SYMBOLS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "sigma": _sigmoid,
    "Phi": _normal_cdf,
    "phi": _normal_pdf,
    "H": sp.Heaviside,
}

#: User definitions of functions (``parse_latex(text, functions=...)``): name -> builder.
UserFunctions = Mapping[str, Callable[[sp.Expr], sp.Expr]]


def user_function(functions: UserFunctions | None, name: str):
    """The user's definition of ``name`` (exactly as written, else lower-cased), or None."""
    if not functions:
        return None
    fn = functions.get(name)
    if fn is None:
        fn = functions.get(name.lower())
    return fn if callable(fn) else None


def normalize_name(text: str) -> str:
    """``text`` as a lookup key: lower case, without ``\\_``, ``_``, spaces, ``~``, ``-``."""
    return re.sub(r"[\s_~\-\\]+", "", str(text)).lower()


#: Spellings publications use for catalog entries that the catalog has no alias for.
_CATALOG_SYNONYMS = {
    "hardsilu": "hard_swish", "swish": "silu", "sigmoidlinearunit": "silu",
    "leakyrectifiedlinearunit": "leaky_relu", "rectifiedlinearunit": "relu",
    "exponentiallinearunit": "elu", "scaledexponentiallinearunit": "selu",
    "gaussianerrorlinearunit": "gelu", "logisticsigmoid": "sigmoid",
    "hyperbolictangent": "tanh", "hswish": "hard_swish", "hsigmoid": "hard_sigmoid",
    "hsilu": "hard_swish",
}


_KEYS_CACHE: dict = {}


def _catalog_keys() -> dict[str, str]:
    from symact.model import catalog  # parse is above model in the layering

    stamp = (len(catalog.names()), len(catalog.aliases()))
    cached = _KEYS_CACHE.get(stamp)
    if cached is not None:
        return cached
    keys: dict[str, str] = {}
    for name in catalog.names():
        keys[normalize_name(name)] = name
    for alias, name in catalog.aliases().items():
        keys.setdefault(normalize_name(alias), name)
    for key, name in _CATALOG_SYNONYMS.items():
        if name in catalog.names():
            keys.setdefault(key, name)
    _KEYS_CACHE.clear()
    _KEYS_CACHE[stamp] = keys
    return keys


def catalog_name(text: str) -> str | None:
    """The canonical catalog name ``text`` spells, or None.

    Case, ``\\_``, ``_``, spaces, ``~`` and hyphens are ignored:
    ``catalog_name("Leaky-ReLU") == catalog_name("leaky\\_relu") == "leaky_relu"``;
    aliases count (``"Swish"`` is ``"silu"``, ``"Hard SiLU"`` is ``"hard_swish"``).
    """
    if not isinstance(text, str) or len(text) > 100:
        return None
    key = normalize_name(text)
    if not key:
        return None
    return _catalog_keys().get(key)


def catalog_function(name: str, symbol: Callable[[str], sp.Symbol]):
    """A builder ``u -> expression`` for the catalog entry called ``name`` (any spelling
    :func:`catalog_name` reads), with its parameters as free symbols made by
    ``symbol(name)``; None if ``name`` is not in the catalog.  The builder takes further
    arguments for the parameters, in the catalog's order (``build.max_args`` says how
    many arguments in all).  Raises ValueError for a
    vector entry (softmax, log_softmax), which has no value at a scalar argument.
    """
    canon = catalog_name(name)
    if canon is None:
        return None
    from symact.model import catalog

    act = catalog.get(canon)
    if act.vector:
        raise ValueError(f"{name} ({canon}) is a vector function: it has no value at a single "
                         "number; write its component formula instead")
    x = act.x
    params = {p.symbol: symbol(p.name) for p in act.params}
    definition = act.definition.xreplace(params)
    order = [params[p.symbol] for p in act.params]

    def build(u, *values):
        """The entry at ``u``; further arguments bind its parameters in declared order
        (Keras' ``elu(x, alpha)``)."""
        return definition.xreplace({x: u, **dict(zip(order, values))})

    build.max_args = 1 + len(order)
    return build


GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota "
    "kappa varkappa lambda mu nu xi omicron rho varrho sigma varsigma tau "
    "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega".split()
)


# --------------------------------------------------------------------------
# Error helpers (shared with symact.parse.expr)
# --------------------------------------------------------------------------
def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def format_error(message: str, text: str, pos: int | None) -> str:
    """``message`` with ' at line L, column C' and a caret excerpt appended."""
    if pos is None or not isinstance(text, str):
        return message
    pos = max(0, min(pos, len(text)))
    line, col = _line_col(text, pos)
    where = f"line {line}, column {col}" if "\n" in text else f"column {col}"
    start = text.rfind("\n", 0, pos) + 1
    stop = text.find("\n", pos)
    stop = len(text) if stop < 0 else stop
    lo = max(start, pos - 40)
    hi = min(stop, pos + 40)
    snippet = "".join(c if c.isprintable() else "?" for c in text[lo:hi].replace("\t", " "))
    prefix = "..." if lo > start else ""
    suffix = "..." if hi < stop else ""
    caret = " " * (len(prefix) + pos - lo) + "^"
    return f"{message} (at {where})\n  {prefix}{snippet}{suffix}\n  {caret}"


def parse_error(message: str, text: str, pos: int | None) -> ParseError:
    return ParseError(format_error(message, text, pos), text, pos)


_PROBABILITY_RE = re.compile(
    r"(?<![\\])P\s{0,8}(?:\(|\\left\s{0,8}\()\s{0,8}X\s{0,8}"
    r"(?:\\leq?(?![A-Za-z])|<=?|\u2264)")
_EXPECTATION_RE = re.compile(r"(?<![A-Za-z\\])(?:E|\\mathbb\{E\}|\\mathbb E)\s{0,8}(?:\[|\\left\s{0,8}\[)")
_OUTPUT_DERIVATIVE_RE = re.compile(
    r"\s{0,8}([A-Za-z])\s{0,8}(?:'|\u2019|\^\s{0,8}\{\s{0,8}(?:'|\\prime)\s{0,8}\}|\^\s{0,8}\\prime)"
    r"\s{0,8}=")


def unsupported_notation(text: str, exc: ParseError) -> ParseError:
    """A refusal that names a construct the readers do not support, when ``text``
    uses one (probability P(X <= x), expectation E[...], a derivative in terms of the
    output y' = y(1 - y)); else ``exc`` itself.  Only called after a refusal."""
    if isinstance(exc, FormulaBudgetError) or not isinstance(text, str) or len(text) > MAX_LENGTH:
        return exc
    m = _PROBABILITY_RE.search(text)
    if m is not None:
        return parse_error("probability notation P(X \\le x) is not supported; write the normal "
                           "CDF \\Phi(x) (or Phi(x)) for P(X <= x) with X standard normal",
                           text, m.start())
    m = _EXPECTATION_RE.search(text)
    if m is not None:
        return parse_error("expectation notation E[...] is not supported; write the formula "
                           "itself", text, m.start())
    m = _OUTPUT_DERIVATIVE_RE.match(text)
    if m is not None and re.search(rf"(?<![A-Za-z\\]){m.group(1)}(?![A-Za-z])", text[m.end():]):
        return parse_error(f"a derivative written in terms of the output ({m.group(1)}' in terms "
                           f"of {m.group(1)}) is not supported; write it in terms of the "
                           "variable, as in f'(x) = \\sigma(x)(1 - \\sigma(x))",
                           text, m.start(1))
    return exc


def budget_error(message: str, text: str, pos: int | None) -> FormulaBudgetError:
    """A :class:`FormulaBudgetError` at ``pos``: ``message`` says what and the bound."""
    return FormulaBudgetError(format_error(message, text, pos), text, pos)


# --------------------------------------------------------------------------
# Unicode spellings (shared with symact.parse.expr)
# --------------------------------------------------------------------------
#: The only characters read as digits.
DIGITS = frozenset("0123456789")
#: Superscript digits and signs, read as an exponent (``x²`` is ``x^{2}``, ``x⁻¹`` ``x^{-1}``).
SUPERSCRIPTS = {
    "\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4",
    "\u2075": "5", "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9",
    "\u207b": "-", "\u207a": "+",
}
#: Subscript digits, read as a subscript (``x₂`` is ``x_{2}``, the symbol ``x_2``).
SUBSCRIPTS = {chr(0x2080 + k): str(k) for k in range(10)}
#: Operators pasted from typeset text, as their ASCII spelling.
UNICODE_OPERATORS = {
    "\u2212": "-",   # MINUS SIGN
    "\u2013": "-",   # EN DASH, as PDFs often give the minus sign
    "\u00d7": "*",   # MULTIPLICATION SIGN
    "\u00b7": "*",   # MIDDLE DOT
    "\u22c5": "*",   # DOT OPERATOR
    "\u2217": "*",   # ASTERISK OPERATOR (PyTorch's rendered docs)
    "\u00f7": "/",   # DIVISION SIGN
    "\u2264": "<=", "\u2265": ">=", "\u2260": "!=",
    "\u2a7d": "<=", "\u2a7e": ">=",  # SLANTED LESS/GREATER-THAN OR EQUAL TO
}


def describe_char(c: str) -> str:
    """``'²' (U+00B2 SUPERSCRIPT TWO)``: a character named so that any reader can tell it."""
    try:
        name = " " + unicodedata.name(c)
    except (ValueError, TypeError):
        name = ""
    shown = repr(c) if c.isprintable() else f"'\\u{ord(c):04x}'"
    return f"{shown} (U+{ord(c):04X}{name})"


def unicode_greek(c: str) -> str | None:
    """The name in :data:`GREEK` of a Greek letter character (``'α'`` -> ``'alpha'``), or None.

    Mathematical italic and bold Greek letters (U+1D6A8 to U+1D7C9, as copied from
    PDFs) count as the plain letter.
    """
    if "\U0001d6a8" <= c <= "\U0001d7c9":
        c = unicodedata.normalize("NFKC", c)
        if len(c) != 1:
            return None
    try:
        uname = unicodedata.name(c)
    except (ValueError, TypeError):
        return None
    m = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)", uname)
    if not m:
        return None
    base = m.group(2).lower().replace("lamda", "lambda")
    name = base if m.group(1) == "SMALL" else base.capitalize()
    return name if name in GREEK or name == "pi" else None


def math_letter(c: str) -> str | None:
    """The ASCII letter of a mathematical alphanumeric letter (``'𝑥'`` -> ``'x'``), or None."""
    if "\U0001d400" <= c <= "\U0001d6a3" or c == "\u210e":  # the Latin letters (and italic h)
        plain = unicodedata.normalize("NFKC", c)
        if len(plain) == 1 and plain.isascii() and plain.isalpha():
            return plain
    return None


def unexpected_char(c: str) -> str:
    """The message for a character that is in neither reader's language."""
    if c in SUBSCRIPTS.values() or c in DIGITS:  # pragma: no cover - callers handle digits
        return f"unexpected digit {c!r}"
    if unicodedata.category(c) == "Nd" or c.isdigit():
        return (f"unexpected character {describe_char(c)}: only the ASCII digits 0-9 are read "
                "as numbers")
    if c.isalpha():
        return (f"unexpected character {describe_char(c)}: names are ASCII letters or Greek "
                "letters (the 24 letters of \\alpha to \\omega)")
    if c == "\u221a":
        return f"unexpected character {describe_char(c)}: write sqrt(...) or \\sqrt{{...}}"
    return f"unexpected character {describe_char(c)}"


def suggest(name: str, known) -> str:
    """' (did you mean a, b?)' for close names in ``known``, else ''."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), sorted(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


# --------------------------------------------------------------------------
# Building SymPy objects (shared with symact.parse.expr)
# --------------------------------------------------------------------------
def _bits(q: sp.Rational) -> float:
    """log2 of the larger of numerator and denominator (0 for 0)."""
    n = max(abs(q.p), abs(q.q))
    return math.log2(n) if n else 0.0


def _digits_of_bits(bits) -> int:
    return int(bits * _LOG10_2 + 1e-9) + 1


_EXACT_LIMIT = 10 ** MAX_EXACT_DIGITS


def _exact_bits(expr) -> float:
    """Bits of the exact numbers a power of ``expr`` would multiply out (shallow)."""
    if isinstance(expr, sp.Rational):
        return 0 if expr in (sp.S.Zero, sp.S.One, sp.S.NegativeOne) else _bits(expr)
    if isinstance(expr, sp.Mul):
        return sum(_exact_bits(a) for a in expr.args)
    if isinstance(expr, sp.Pow) and isinstance(expr.exp, sp.Rational):
        return _exact_bits(expr.base) * abs(expr.exp)
    return 0


def _power_of(expr) -> float:
    """The largest rational exponent on a non-number in ``expr`` (shallow; 1 for a symbol)."""
    if isinstance(expr, sp.Mul):
        return max((_power_of(a) for a in expr.args if not isinstance(a, sp.Rational)), default=0)
    if isinstance(expr, sp.Pow) and isinstance(expr.exp, sp.Rational):
        if isinstance(expr.base, sp.Rational):
            return 0
        return abs(expr.exp) * max(_power_of(expr.base), 1)
    if isinstance(expr, sp.Rational):
        return 0
    return 1


def checked_pow(base, exponent, fail: Callable[[str], Exception]):
    """``base**exponent``, refusing powers beyond :data:`MAX_EXACT_DIGITS` or
    :data:`MAX_EXPONENT` *before* SymPy computes them (``fail(message)`` makes the error)."""
    if isinstance(exponent, sp.Rational):
        size = abs(exponent)
        digits = _digits_of_bits(_exact_bits(base) * size)
        if digits > MAX_EXACT_DIGITS:
            raise fail(f"this power is too large to compute exactly (about {digits} digits); "
                       f"symact computes exact numbers of at most {MAX_EXACT_DIGITS} digits")
        if not isinstance(base, sp.Rational):
            power = _power_of(base) * size
            if power > MAX_EXPONENT:
                shown = exponent if size == power else f"{exponent} (making {sp.Rational(power)})"
                raise fail(f"the exponent {_short(shown)} is too large: symact reads powers of at "
                           f"most {MAX_EXPONENT} in absolute value")
    return sp.Pow(base, exponent)


def _short(value) -> str:
    text = str(value) if not isinstance(value, sp.Rational) or _bits(value) < 200 else \
        f"of about {_digits_of_bits(_bits(value))} digits"
    return text if len(text) <= 40 else text[:37] + "..."


def check_numbers(value, fail: Callable[[str], Exception], levels: int = 2):
    """``value``, after checking the exact numbers and powers in its top ``levels``
    levels (2 reaches where arithmetic puts them: an ``Add``'s terms and their
    factors; a function the readers apply, such as ``phi(u)``'s ``u**2``, needs 4):
    at most :data:`MAX_EXACT_DIGITS` digits and rational exponents of at most
    :data:`MAX_EXPONENT`.  Shallow, so cheap."""
    level = [value]
    for depth in range(levels + 1):
        below = []
        for item in level:
            if isinstance(item, sp.Rational):
                if max(abs(item.p), abs(item.q)) >= _EXACT_LIMIT:
                    raise fail(f"the exact number here is too large (about "
                               f"{_digits_of_bits(_bits(item))} digits); symact computes exact "
                               f"numbers of at most {MAX_EXACT_DIGITS} digits")
                continue
            if (isinstance(item, sp.Pow) and isinstance(item.exp, sp.Rational)
                    and not isinstance(item.base, sp.Rational) and abs(item.exp) > MAX_EXPONENT):
                raise fail(f"this makes the power {_short(item.exp)}, which is too large: "
                           f"symact reads powers of at most {MAX_EXPONENT} in absolute value")
            if depth < levels and isinstance(item, sp.Basic):
                below.extend(item.args)
        level = below
    return value


def too_deep_message(noun: str = "formula") -> str:
    return (f"the {noun} is nested more than {MAX_TREE_DEPTH} levels deep (groups, signs, "
            f"scripts and function applications together); symact reads at most "
            f"{MAX_TREE_DEPTH}")


class TreeBudget:
    """Counts what a parse tree asks for, before any SymPy work, against
    :data:`MAX_TERMS`, :data:`MAX_FACTORS` and :data:`MAX_ROWS`."""

    _WHAT = {
        "terms": "binary + and - operations (terms)",
        "factors": "multiplications and divisions (factors, written or implied)",
        "rows": "rows of piecewise definitions",
    }

    def __init__(self, text: str, noun: str = "formula"):
        self.text = text
        self.noun = noun
        self.counts = {"terms": 0, "factors": 0, "rows": 0}

    def walk(self, tree: Tree, where: Callable[[object], int | None]):
        """The subtrees of ``tree``, top down, refusing a tree deeper than
        :data:`MAX_TREE_DEPTH` (iteratively, so before anything recursive walks it)."""
        stack = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_TREE_DEPTH:
                raise budget_error(too_deep_message(self.noun), self.text, where(node))
            yield node
            stack.extend((c, depth + 1) for c in reversed(node.children) if isinstance(c, Tree))

    def add(self, kind: str, items: list, where: Callable[[object], int | None]) -> None:
        """Count ``items`` (operators, rows) as ``kind``; ``where(item)`` is its position."""
        if not items:
            return
        bound = {"terms": MAX_TERMS, "factors": MAX_FACTORS, "rows": MAX_ROWS}[kind]
        before = self.counts[kind]
        self.counts[kind] += len(items)
        if self.counts[kind] > bound:
            what = self._WHAT[kind]
            raise budget_error(f"the {self.noun} has more than {bound} {what}; symact reads at "
                               f"most {bound} in one {self.noun}", self.text,
                               where(items[bound - before]))


def number(value: str) -> sp.Rational:
    frac = Fraction(value)
    return sp.Rational(frac.numerator, frac.denominator)


def _is(node, data: str) -> bool:
    return isinstance(node, Tree) and node.data == data


def build_condition(builder, node, relations, expected: str):
    """A SymPy condition from a ``cond_or``/``cond_and``/``chain`` node.

    Shared by both readers: ``builder`` supplies ``build``, ``condition``,
    ``fail``, ``too_deep`` and the ``depth`` counter; ``relations`` maps operator
    tokens to SymPy relations; ``expected`` is the reader's own wording.
    """
    builder.depth += 1
    try:
        if builder.depth > MAX_TREE_DEPTH + 1:
            raise builder.too_deep(node)
        if _is(node, "cond_or"):
            return sp.Or(*(builder.condition(c) for c in node.children))
        if _is(node, "cond_and"):
            return sp.And(*(builder.condition(c) for c in node.children))
        if _is(node, "chain"):
            values = [builder.build(c) for c in node.children[0::2]]
            rels = []
            for op, left, right in zip(node.children[1::2], values, values[1:]):
                try:
                    rels.append(relations[op.value](left, right))
                except (TypeError, ValueError) as exc:
                    raise builder.fail(f"cannot compare these values ({exc})", op) from None
            return sp.And(*rels)
        raise builder.fail(expected, node)
    finally:
        builder.depth -= 1


# --------------------------------------------------------------------------
# Variable and parameters (shared with symact.parse.expr)
# --------------------------------------------------------------------------
def choose_variable(candidates: set[str], greek: set[str], fail) -> str | None:
    """The variable among free symbol names: ``x`` if present, else the only
    non-Greek name, else the only name; None if there are none."""
    if "x" in candidates:
        return "x"
    latin = sorted(candidates - greek)
    if len(latin) == 1:
        return latin[0]
    if not latin and len(candidates) == 1:
        return next(iter(candidates))
    if not candidates:
        return None
    raise fail(f"cannot tell which symbol is the variable among {', '.join(sorted(candidates))}; "
               "name it in a head such as f(t) = ...")
