"""The shared core of the formula readers, used by both :mod:`symact.parse.latex`
(LaTeX) and :mod:`symact.parse.expr` (plain text).

Each reader tokenizes the text itself, parses the tokens with its own strict
LALR(1) grammar (:mod:`symact.parse._grammar`) and walks the tree into SymPy
objects; neither ever evaluates user text.  What they have in common lives here:

* :class:`ParsedFormula`, the result both return (``language`` says which);
* the limits :data:`MAX_LENGTH` (characters) and :data:`MAX_DEPTH` (nesting),
  and the tree-walk depth limit both builders enforce;
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
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import sympy as sp
from lark import Tree

from symact.errors import ParseError

__all__ = [
    "ParsedFormula", "FunctionSpec", "FUNCTIONS", "APPLICABLE_SYMBOLS", "GREEK",
    "MAX_LENGTH", "MAX_DEPTH", "format_error", "parse_error", "suggest",
    "checked_pow", "number", "build_condition", "choose_variable",
]

#: Longest accepted input, in characters.
MAX_LENGTH = 10_000
#: Deepest accepted nesting of groups, and of the parse tree walked.
MAX_DEPTH = 40
_MAX_TREE_DEPTH = 150
_MAX_POWER_BITS = 20_000  # refuse exact powers of numbers larger than this
_MAX_ARGS = 32


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------
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

    def symbol(self, name: str) -> sp.Symbol:
        """The Symbol called ``name`` in ``expr`` (or the variable)."""
        if name == self.variable.name:
            return self.variable
        for s in self.expr.free_symbols:
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
    snippet = text[lo:hi].replace("\t", " ")
    prefix = "..." if lo > start else ""
    suffix = "..." if hi < stop else ""
    caret = " " * (len(prefix) + pos - lo) + "^"
    return f"{message} (at {where})\n  {prefix}{snippet}{suffix}\n  {caret}"


def parse_error(message: str, text: str, pos: int | None) -> ParseError:
    return ParseError(format_error(message, text, pos), text, pos)


def suggest(name: str, known) -> str:
    """' (did you mean a, b?)' for close names in ``known``, else ''."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), sorted(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


# --------------------------------------------------------------------------
# Building SymPy objects (shared with symact.parse.expr)
# --------------------------------------------------------------------------
def checked_pow(base, exponent, fail: Callable[[str], Exception]):
    """``base**exponent``, refusing exact numbers too large to compute."""
    if (isinstance(base, sp.Rational) and isinstance(exponent, sp.Rational)
            and base not in (sp.S.Zero, sp.S.One, sp.S.NegativeOne)):
        bits = max(abs(base.p), abs(base.q)).bit_length()
        if abs(exponent) * bits > _MAX_POWER_BITS:
            raise fail("this power of a number is too large to compute exactly")
    return sp.Pow(base, exponent)


def number(value: str) -> sp.Rational:
    frac = Fraction(value)
    return sp.Rational(frac.numerator, frac.denominator)


def _is(node, data: str) -> bool:
    return isinstance(node, Tree) and node.data == data


def build_condition(builder, node, relations, too_deep: str, expected: str):
    """A SymPy condition from a ``cond_or``/``cond_and``/``chain`` node.

    Shared by both readers: ``builder`` supplies ``build``, ``condition``,
    ``fail`` and the ``depth`` counter; ``relations`` maps operator tokens to
    SymPy relations; the two messages are the reader's own wording.
    """
    builder.depth += 1
    try:
        if builder.depth > _MAX_TREE_DEPTH:
            raise builder.fail(too_deep, node)
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
