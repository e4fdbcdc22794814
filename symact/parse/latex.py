r"""Read activation-function formulas written in LaTeX into SymPy expressions.

``parse_latex(text)`` returns a :class:`ParsedFormula`.  It never evaluates
user text: a hand-written tokenizer turns the text into tokens from a fixed
whitelist, an unambiguous LALR(1) grammar (``_grammar/latex.lark``, built in
Lark's strict mode, so a grammar with any conflict does not even load) turns
them into a tree, and a tree walker builds SymPy objects directly, looking
function names up in :data:`FUNCTIONS`.  Anything outside the language raises
:class:`~symact.errors.ParseError` whose message names the line and column,
shows the text with a caret under the spot, and says what was expected.
TeX commands such as ``\input``, ``\def`` or ``\newcommand`` are simply not
in the language: they are refused and nothing runs.

The language
============
A formula is an optional *head*, ``=``, and a *body*::

    f(x) = ...      \sigma(u) = ...     \mathrm{ReLU}(x) = ...    y = ...
    f'(x) = ...     \frac{d}{dx} f(x) = ...    \frac{df}{dx} = ...
    \operatorname{softmax}(x)_i = ...          y_i = ...

The variable is the one the head names (``u`` in ``\sigma(u) =``).  With no
parenthesised argument in the head, or no head, it is the single free symbol
that is not a Greek letter (``x`` if ``x`` occurs); if that is not unique the
formula is refused.  Greek letters, other letters and subscripted names
(``\alpha``, ``a``, ``\alpha_1``) are the parameters.  All symbols are created
``real=True``.  A body may end with ``,`` or ``.`` or a domain remark
``, x \in \mathbb{R}`` (the named symbol must be the variable).

Atoms: decimal numbers (``0.044715`` is the exact rational 8943/200000),
single letters (``xy`` is ``x*y``), ``\alpha``...``\omega`` and the capital
Greek letters, ``\pi``, ``\infty``, and the letter ``e``, which is always
Euler's number (``e^{x}`` and ``e^x`` are ``exp(x)``; a subscripted ``e_1``
is an ordinary symbol).  ``x_i``, ``x_{i}``, ``\alpha_1`` are symbols named
``x_i``, ``alpha_1``.  ``\mathbf{x}``/``\boldsymbol{x}`` are plain ``x``.

Groups: ``(..)``, ``[..]``, ``\{..\}`` and TeX braces ``{..}``, with or
without ``\left``/``\right``/``\big`` sizing; ``|x|``, ``\lvert x\rvert``,
``\left| x \right|``; ``\frac{a}{b}``/``\dfrac``/``\tfrac`` (also ``\frac12``),
``\sqrt{x}``, ``\sqrt[n]{x}``.  Spacing (``\,`` ``\;`` ``\!`` ``\quad`` ...),
``\displaystyle`` and ``\limits`` are ignored; ``%`` starts a TeX comment.

Scripts follow TeX: without braces ``^`` and ``_`` take exactly one token,
so ``x^2`` is fine but ``x^23`` (which TeX typesets as x²3) and ``x^-1`` are
refused with a hint to add braces.  Likewise ``2 3`` (typeset "23") is
refused.

Precedence, tightest first:

1. scripts ``^ _`` and primes ``'`` bind to the one item before them
   (``-x^2`` is ``-(x^2)``, ``2x^2`` is ``2*(x^2)``);
2. juxtaposition: implicit multiplication and function application;
3. unary ``-``/``+``;
4. ``\cdot``, ``\times``, ``*``, ``/``, ``\div``, left to right.  The
   divisor of ``/`` may not be an implicit product: ``1/2x`` is refused as
   ambiguous (write ``\frac{1}{2x}`` or ``\frac{1}{2}x``);
5. binary ``+`` and ``-``.

Function application
--------------------
Functions are the commands ``\exp \ln \log \tanh \sinh \cosh \sin \cos
\tan \arctan \max \min \sgn \erf \erfc`` and any name in ``\operatorname{..}``,
``\mathrm{..}`` or ``\text{..}`` that is in :data:`FUNCTIONS`
(case-insensitive: ``ReLU``, ``Softplus``, ``sigmoid``...).  ``\log`` and
``\ln`` are the natural logarithm.

* A function directly followed by a group takes exactly that group as its
  argument list: ``\tanh(x)y`` is ``tanh(x)*y``, ``\max(0, x)``,
  ``\tanh\left[...\right]``, ``\exp{x}``.  A script after the group applies
  to the result: ``\tanh(x)^2``.  ``\tanh^2 x`` is refused.
* Without a group, the argument is the run of juxtaposed items after the
  name, up to the next function name or operator: ``\tanh x`` is
  ``tanh(x)``, ``\ln 2x`` is ``log(2x)``, ``\ln 2x + 1`` is ``log(2x) + 1``,
  ``\sin x \cos x`` is ``sin(x)*cos(x)``, ``\log \sum_j e^{x_j}`` is the log
  of the sum, ``\ln 2\cosh x`` is ``log(2)*cosh(x)``.  ``\exp -x`` is
  refused.

Letters used as functions.  A few names mean a function when they are
directly followed by a parenthesised group, and a plain symbol otherwise:
``\sigma(x)`` is the logistic sigmoid ``1/(1+exp(-x))``, ``\Phi(x)`` the
standard normal CDF ``(1+erf(x/sqrt(2)))/2``, ``\phi(x)`` the standard normal
density, ``H(x)`` the Heaviside step.  ``\alpha(x+1)`` and every other
letter before a group is a product.  ``f(..)``, ``g(..)``, ``h(..)`` are
refused unless the name is the head's (they look like calls of an unknown
function).  In the body, the head's own name applied to a group
(``f(x)``, ``\sigma(x)``, ``\mathrm{ReLU}(x)``) is a *self reference*:
``sympy.Function(name)(arg)``.  Self references are allowed only when the
head is a derivative (``f'(x) = f(x)(1 - f(x))``); ``f(x) = f(x)`` is refused.

Sums (softmax): ``\sum_{j=1}^{n} body``, ``\sum_{j}``, ``\sum_j``; the body is
what a bare function would take (or a group).  The lower limit defaults to 1
and the upper limit to ``n``.  A subscripted name whose subscript is a
summation index (``x_j`` under ``\sum_j``) makes its base a vector:
``x_j`` becomes ``Indexed(IndexedBase('x'), j)`` everywhere, including a
free ``x_i``.  Summation indices and vector subscripts are
``Symbol(..., integer=True)``, sum bounds ``integer=True, positive=True``.
The vector formula's variable is the base's label and ``is_vector`` is set.

Piecewise definitions: ``\begin{cases} .. \end{cases}`` (also ``dcases``) or
``\left\{ \begin{array}{ll} .. \end{array} \right.``, rows ``value & condition``
separated by ``\\`` (a comma before ``&`` is allowed).  Conditions are
relations ``< > = \lt \gt \le \leq \ge \geq \neq \ne`` (chains such as
``-1 \le x \le 1`` mean both), optionally in parentheses, preceded by
``\text{if}``/``\text{for}``/``\text{when}``, joined by ``,`` or
``\text{and}`` (and ``\text{or}``, looser), or ``\text{otherwise}`` /
``\text{else}``, which must be the last row and becomes ``True``.  The result
is ``sympy.Piecewise`` with the rows in the written order; as in SymPy, a row
applies where its condition holds and no earlier row's does, and where no
row applies the value is undefined (``nan``).
"""
from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import sympy as sp
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from symact.parse import _grammar

from symact.errors import ParseError

__all__ = ["ParsedFormula", "parse_latex", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH"]

#: Longest accepted input, in characters.
MAX_LENGTH = 10_000
#: Deepest accepted nesting of groups, and of the parse tree walked.
MAX_DEPTH = 40
_MAX_TREE_DEPTH = 150
_MAX_NUMBER_DIGITS = 100
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
#: Letters that look like a call of an undefined function before ``( )``.
_FUNCTION_LETTERS = frozenset("fgh")

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
# Tokenizer
# --------------------------------------------------------------------------
_FUNC_COMMANDS = frozenset(
    "exp ln log tanh sinh cosh sin cos tan arctan max min sgn erf erfc".split()
)
_IGNORED_COMMANDS = frozenset(
    [",", ";", ":", "!", " ", ">", "quad", "qquad", "displaystyle", "textstyle",
     "scriptstyle", "limits", "nolimits"]
)
_REL_COMMANDS = {
    "geq": ">=", "ge": ">=", "geqslant": ">=", "leq": "<=", "le": "<=",
    "leqslant": "<=", "lt": "<", "gt": ">", "neq": "!=", "ne": "!=",
}
_SIZE_COMMANDS = {
    "left": "l", "right": "r", "bigl": "l", "bigr": "r", "Bigl": "l",
    "Bigr": "r", "biggl": "l", "biggr": "r", "Biggl": "l", "Biggr": "r",
    "big": None, "Big": None, "bigg": None, "Bigg": None,
}
_NAME_COMMANDS = frozenset(
    "operatorname mathrm text textrm mathit mathsf textit textnormal mbox".split()
)
_TEXT_COMMANDS = frozenset("text textrm textit textnormal mbox".split())
_BOLD_COMMANDS = frozenset("mathbf boldsymbol bm vec".split())
_TEXT_KEYWORDS = {
    "if": "_IF", "for": "_IF", "when": "_IF", "otherwise": "_OTHERWISE",
    "else": "_OTHERWISE", "and": "_AND", "or": "_OR",
}
_HOSTILE = frozenset(
    "input include def edef gdef xdef newcommand renewcommand providecommand "
    "let write immediate openin openout read catcode csname usepackage "
    "documentclass special loop expandafter newenvironment renewenvironment "
    "includegraphics url href".split()
)
_SIMPLE_COMMANDS = {
    "cdot": ("MUL", "*"), "times": ("MUL", "*"), "ast": ("MUL", "*"),
    "div": ("DIV", "/"), "prime": ("PRIME", "'"), "in": ("_IN", "in"),
    "sum": ("SUM", "sum"), "infty": ("CONST", "oo"), "pi": ("CONST", "pi"),
}
_FRAC_COMMANDS = frozenset(["frac", "dfrac", "tfrac", "cfrac"])
_KNOWN_COMMANDS = sorted(
    set(GREEK) | _FUNC_COMMANDS | set(_REL_COMMANDS) | set(_SIZE_COMMANDS)
    | _NAME_COMMANDS | _BOLD_COMMANDS | set(_SIMPLE_COMMANDS) | _FRAC_COMMANDS
    | {"sqrt", "begin", "end", "mathbb", "lvert", "rvert", "vert", "lbrace",
       "rbrace", "lbrack", "rbrack", "quad", "qquad", "displaystyle", "limits"}
)
_KNOWN_SHOWN = ["\\" + c for c in _KNOWN_COMMANDS]
_CHAR_TOKENS = {
    "+": ("ADD", "+"), "-": ("SUB", "-"), "*": ("MUL", "*"), "/": ("DIV", "/"),
    "=": ("EQUAL", "="), ",": ("_COMMA", ","), "&": ("_AMP", "&"),
    "'": ("PRIME", "'"),
}
_UNICODE_TOKENS = {
    "\u2212": ("SUB", "-"), "\u00d7": ("MUL", "*"), "\u00b7": ("MUL", "*"),
    "\u22c5": ("MUL", "*"), "\u2264": ("REL", "<="), "\u2265": ("REL", ">="),
    "\u2260": ("REL", "!="), "\u221e": ("CONST", "oo"), "\u03c0": ("CONST", "pi"),
}
_OPENERS = {"(": "_LPAR", "[": "_LBRACK", "{": "_LBRACE"}
_CLOSERS = {")": ("(", "_RPAR"), "]": ("[", "_RBRACK"), "}": ("{", "_RBRACE")}
_ENDS_OPERAND = frozenset(
    ["NUMBER", "LETTER", "GREEK", "CONST", "PRIME", "_RPAR", "_RBRACK",
     "_RBRACE", "_RBRACELIT", "_RVERT", "_END_CASES", "_END_ARRAY"]
)
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_COMMAND_RE = re.compile(r"\\([A-Za-z]+|.)", re.S)
_BRACED_RE = re.compile(r"\s*\{([^{}\\$]*)\}")
_ENV_RE = re.compile(r"\s*\{\s*([A-Za-z]+\*?)\s*\}")
_COLSPEC_RE = re.compile(r"\s*\{[lrc|\s]*\}")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


@dataclass
class _Frame:
    """Arguments still owed to ^, _, \\frac or \\sqrt at a nesting depth."""

    cmd: str
    pos: int
    depth: int
    remaining: int
    optional_done: bool = True


def _strip_math_delimiters(text: str) -> tuple[int, int]:
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    for left, right in (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)")):
        if (end - start >= len(left) + len(right) and text.startswith(left, start)
                and text.endswith(right, 0, end)):
            return start + len(left), end - len(right)
    return start, end


class _Tokenizer:
    def __init__(self, text: str, start: int, end: int):
        self.text = text
        self.i = start
        self.end = end
        self.toks: list[Token] = []
        self.stack: list[tuple[str, int]] = []
        self.frames: list[_Frame] = []
        self.last_number_free = False
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    # -- helpers -----------------------------------------------------------
    def error(self, message: str, pos: int) -> ParseError:
        return parse_error(message, self.text, pos)

    def emit(self, type_: str, value: str, start: int, stop: int) -> None:
        line = bisect.bisect_left(self._newlines, start) + 1
        col = start - (self._newlines[line - 2] + 1 if line > 1 else 0) + 1
        self.toks.append(Token(type_, value, start, line, col, line, col + stop - start, stop))

    def last_type(self) -> str | None:
        return self.toks[-1].type if self.toks else None

    def push(self, kind: str, pos: int) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self.error(f"the formula is nested more than {MAX_DEPTH} levels deep", pos)
        self.stack.append((kind, pos))

    def pop(self, kind: str, pos: int, shown: str) -> None:
        if not self.stack:
            raise self.error(f"'{shown}' closes nothing: no group is open here", pos)
        top, opened = self.stack[-1]
        if top != kind:
            what = {"(": "(", "[": "[", "{": "{", "\\{": "\\{", "|": "|"}.get(top, f"\\begin{{{top[4:]}}}")
            line, col = _line_col(self.text, opened)
            raise self.error(
                f"'{shown}' does not match the '{what}' opened at line {line}, column {col}", pos)
        self.stack.pop()

    def arg_slot(self) -> _Frame | None:
        depth = len(self.stack)
        frames = self.frames
        while frames and (frames[-1].depth > depth
                          or (frames[-1].depth == depth and frames[-1].remaining == 0)):
            frames.pop()
        if frames and frames[-1].depth == depth:
            return frames[-1]
        return None

    def skip_space(self) -> None:
        while self.i < self.end and self.text[self.i].isspace():
            self.i += 1

    def braced(self, cmd: str, pos: int) -> tuple[str, int]:
        m = _BRACED_RE.match(self.text, self.i, self.end)
        if not m:
            raise self.error(f"\\{cmd} must be followed by a simple braced name such as \\{cmd}{{erf}}", pos)
        self.i = m.end()
        return m.group(1), m.start(1)

    # -- main loop -----------------------------------------------------------
    def run(self) -> list[Token]:
        text = self.text
        while True:
            self.skip_space()
            if self.i >= self.end:
                break
            c = text[self.i]
            if c == "%":  # TeX comment
                nl = text.find("\n", self.i, self.end)
                self.i = self.end if nl < 0 else nl + 1
                continue
            if c == "\\":
                m = _COMMAND_RE.match(text, self.i, self.end)
                if m is None:
                    raise self.error("a lone backslash ends the formula", self.i)
                name = m.group(1)
                if name in _IGNORED_COMMANDS:
                    self.i = m.end()
                    continue
                if name in _SIZE_COMMANDS:
                    self.i = m.end()
                    self.sized_delimiter(name, m.start())
                    continue
            self.token()
        if self.stack:
            kind, pos = self.stack[-1]
            shown = {"(": "(", "[": "[", "{": "{", "\\{": "\\{", "|": "|"}.get(kind, f"\\begin{{{kind[4:]}}}")
            raise self.error(f"'{shown}' is never closed", pos)
        for frame in self.frames:
            if frame.remaining > 0 and frame.depth == 0:
                raise self.error(f"'{frame.cmd}' is missing an argument", frame.pos)
        return self.toks

    def sized_delimiter(self, name: str, pos: int) -> None:
        side = _SIZE_COMMANDS[name]
        self.skip_space()
        text = self.text
        if self.i >= self.end:
            raise self.error(f"\\{name} must be followed by a delimiter", pos)
        c = text[self.i]
        if c == ".":
            if side is None:
                raise self.error(f"\\{name}. is not a delimiter", pos)
            self.i += 1
            return
        if c in "()[]|" or c == "\\":
            if c == "\\":
                m = _COMMAND_RE.match(text, self.i, self.end)
                if m is None or m.group(1) not in ("{", "}", "lbrace", "rbrace", "lvert",
                                                    "rvert", "vert", "lbrack", "rbrack"):
                    raise self.error(f"\\{name} must be followed by a delimiter such as ( [ | \\{{", self.i)
            self.token(side=side)
            return
        raise self.error(f"\\{name} must be followed by a delimiter such as ( [ | \\{{", self.i)

    def token(self, side: str | None = None) -> None:
        text = self.text
        start = self.i
        c = text[start]
        frame = self.arg_slot()
        if frame is not None:
            if frame.cmd == "\\sqrt" and not frame.optional_done and c == "[":
                frame.optional_done = True
            else:
                frame.optional_done = True
                frame.remaining -= 1
        is_arg = frame is not None and c != "["
        was_number_free = self.last_number_free
        self.last_number_free = False

        if c.isdigit() or (c == "." and start + 1 < self.end and text[start + 1].isdigit()):
            if is_arg:
                stop = start + 1
                if c == "." or (frame.remaining == 0 and stop < self.end
                                and (text[stop].isdigit() or text[stop] == ".")):
                    raise self.error(
                        f"TeX takes a single character after {frame.cmd}; put the whole number in "
                        f"braces, e.g. {frame.cmd}{{{_NUMBER_RE.match(text, start).group()}}}", start)
                self.emit("NUMBER", c, start, stop)
                self.i = stop
                return
            m = _NUMBER_RE.match(text, start, self.end)
            if len(m.group()) > _MAX_NUMBER_DIGITS:
                raise self.error(f"number longer than {_MAX_NUMBER_DIGITS} digits", start)
            if was_number_free and self.last_type() == "NUMBER":
                raise self.error("two numbers side by side (typeset, '2 3' reads as 23); "
                                 "write \\cdot between them", start)
            self.emit("NUMBER", m.group(), start, m.end())
            self.i = m.end()
            self.last_number_free = True
            return
        if c.isascii() and c.isalpha():
            self.emit("LETTER", c, start, start + 1)
            self.i = start + 1
            return
        if c == "\\":
            self.command(side)
            return
        if c in _OPENERS:
            self.push(c, start)
            self.emit(_OPENERS[c], c, start, start + 1)
            self.i = start + 1
            return
        if c in _CLOSERS:
            kind, type_ = _CLOSERS[c]
            self.pop(kind, start, c)
            self.emit(type_, c, start, start + 1)
            self.i = start + 1
            return
        if c == "|":
            self.i = start + 1
            self.vert(side, start, self.i)
            return
        if c in "^_":
            self.emit("_SUPER" if c == "^" else "_SUBSCR", c, start, start + 1)
            self.i = start + 1
            self.frames.append(_Frame(c, start, len(self.stack), 1))
            return
        if c in "<>":
            if start + 1 < self.end and text[start + 1] == "=":
                self.emit("REL", c + "=", start, start + 2)
                self.i = start + 2
            else:
                self.emit("REL", c, start, start + 1)
                self.i = start + 1
            return
        if c == ".":
            self.emit("_PERIOD", c, start, start + 1)
            self.i = start + 1
            return
        if c in _CHAR_TOKENS:
            type_, value = _CHAR_TOKENS[c]
            self.emit(type_, value, start, start + 1)
            self.i = start + 1
            return
        if c in _UNICODE_TOKENS:
            type_, value = _UNICODE_TOKENS[c]
            self.emit(type_, value, start, start + 1)
            self.i = start + 1
            return
        greek = _unicode_greek(c)
        if greek is not None:
            if greek == "pi":
                self.emit("CONST", "pi", start, start + 1)
            else:
                self.emit("GREEK", greek, start, start + 1)
            self.i = start + 1
            return
        if c == "$":
            raise self.error("'$' may only wrap the whole formula", start)
        if c == "!":
            raise self.error("factorials ('!') are not supported", start)
        raise self.error(f"unexpected character {c!r}", start)

    def vert(self, side: str | None, start: int, stop: int) -> None:
        top_abs = bool(self.stack) and self.stack[-1][0] == "|"
        if side == "l" or (side is None and not (top_abs and self.last_type() in _ENDS_OPERAND)):
            self.push("|", start)
            self.emit("_LVERT", "|", start, stop)
        else:
            self.pop("|", start, "|")
            self.emit("_RVERT", "|", start, stop)

    def command(self, side: str | None) -> None:
        text = self.text
        start = self.i
        m = _COMMAND_RE.match(text, start, self.end)
        name = m.group(1)
        self.i = m.end()
        if name == "\\":
            self.emit("_ROWSEP", "\\\\", start, self.i)
        elif name in GREEK:
            self.emit("GREEK", name, start, self.i)
        elif name in _SIMPLE_COMMANDS:
            type_, value = _SIMPLE_COMMANDS[name]
            self.emit(type_, value, start, self.i)
        elif name in _FUNC_COMMANDS:
            self.emit("FUNC", name, start, self.i)
        elif name in _REL_COMMANDS:
            self.emit("REL", _REL_COMMANDS[name], start, self.i)
        elif name in _FRAC_COMMANDS:
            self.emit("FRAC", name, start, self.i)
            self.frames.append(_Frame(f"\\{name}", start, len(self.stack), 2))
        elif name == "sqrt":
            self.emit("SQRT", name, start, self.i)
            self.frames.append(_Frame("\\sqrt", start, len(self.stack), 1, optional_done=False))
        elif name in ("{", "lbrace"):
            self.push("\\{", start)
            self.emit("_LBRACELIT", "\\{", start, self.i)
        elif name in ("}", "rbrace"):
            self.pop("\\{", start, "\\}")
            self.emit("_RBRACELIT", "\\}", start, self.i)
        elif name == "lbrack":
            self.push("[", start)
            self.emit("_LBRACK", "[", start, self.i)
        elif name == "rbrack":
            self.pop("[", start, "]")
            self.emit("_RBRACK", "]", start, self.i)
        elif name in ("lvert", "rvert", "vert"):
            forced = {"lvert": "l", "rvert": "r"}.get(name, side)
            self.vert(forced, start, self.i)
        elif name in _NAME_COMMANDS:
            self.name_command(name, start)
        elif name in _BOLD_COMMANDS:
            self.bold_command(name, start)
        elif name == "mathbb":
            content, cpos = self.braced(name, start)
            if content.strip() != "R":
                raise self.error("only \\mathbb{R} (the real line) is supported", cpos)
            self.emit("_SET", "R", start, self.i)
        elif name == "begin":
            self.begin_env(start)
        elif name == "end":
            self.end_env(start)
        elif name in _HOSTILE:
            raise self.error(f"\\{name} is a TeX programming command, not part of a formula; "
                             "it is refused (nothing is run)", start)
        elif name in _SIZE_COMMANDS or name in _IGNORED_COMMANDS:  # pragma: no cover
            raise self.error(f"misplaced \\{name}", start)
        elif name == "|":
            raise self.error("norms ('\\|') are not supported", start)
        elif not (name.isascii() and name.isalpha()):
            raise self.error(f"'\\{name}' is not supported", start)
        else:
            hint = suggest("\\" + name, _KNOWN_SHOWN)
            raise self.error(f"unknown command \\{name}{hint}", start)

    def name_command(self, name: str, start: int) -> None:
        content, cpos = self.braced(name, start)
        word = content.strip()
        if name in _TEXT_COMMANDS:
            if not word:
                return  # \text{ } is spacing
            key = word.lower()
            if key in _TEXT_KEYWORDS:
                self.emit(_TEXT_KEYWORDS[key], key, start, self.i)
                return
        if not _NAME_RE.match(word):
            raise self.error(
                f"cannot read \\{name}{{{content}}}: expected a name such as erf or ReLU"
                + (" or one of the words if, for, when, otherwise, else, and, or"
                   if name in _TEXT_COMMANDS else ""), cpos)
        if len(word) == 1:
            self.emit("LETTER", word, start, self.i)
        else:
            self.emit("OPNAME", word, start, self.i)

    def bold_command(self, name: str, start: int) -> None:
        m = re.compile(r"\s*\{\s*(\\?[A-Za-z]+)\s*\}").match(self.text, self.i, self.end)
        if m is None:
            raise self.error(f"\\{name} must be followed by a braced letter, e.g. \\{name}{{x}}", start)
        inner = m.group(1)
        self.i = m.end()
        if len(inner) == 1:
            self.emit("LETTER", inner, start, self.i)
        elif inner.startswith("\\") and inner[1:] in GREEK:
            self.emit("GREEK", inner[1:], start, self.i)
        else:
            raise self.error(f"\\{name} must contain a single letter", m.start(1))

    def begin_env(self, start: int) -> None:
        m = _ENV_RE.match(self.text, self.i, self.end)
        if m is None:
            raise self.error("\\begin must be followed by an environment name in braces", start)
        env = m.group(1)
        self.i = m.end()
        if env in ("cases", "dcases"):
            self.push(f"env:{env}", start)
            self.emit("_BEGIN_CASES", env, start, self.i)
        elif env == "array":
            if not (self.last_type() == "_LBRACELIT" and self.stack and self.stack[-1][0] == "\\{"):
                raise self.error("an array is read only as a piecewise definition after \\left\\{", start)
            self.stack.pop()  # the brace of a piecewise definition is closed by \right.
            spec = _COLSPEC_RE.match(self.text, self.i, self.end)
            if spec is None:
                raise self.error("\\begin{array} needs a column specification such as {ll}", self.i)
            self.i = spec.end()
            self.push("env:array", start)
            self.emit("_BEGIN_ARRAY", env, start, self.i)
        else:
            raise self.error(f"unsupported environment '{env}'; use cases or \\left\\{{ array", m.start(1))

    def end_env(self, start: int) -> None:
        m = _ENV_RE.match(self.text, self.i, self.end)
        if m is None:
            raise self.error("\\end must be followed by an environment name in braces", start)
        env = m.group(1)
        self.i = m.end()
        self.pop(f"env:{env}", start, f"\\end{{{env}}}")
        self.emit("_END_ARRAY" if env == "array" else "_END_CASES", env, start, self.i)


def _unicode_greek(c: str) -> str | None:
    try:
        uname = unicodedata.name(c)
    except ValueError:
        return None
    m = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)", uname)
    if not m:
        return None
    base = m.group(2).lower().replace("lamda", "lambda")
    name = base if m.group(1) == "SMALL" else base.capitalize()
    return name if name in GREEK else None


def _tokenize(text: str) -> tuple[list[Token], int, int]:
    start, end = _strip_math_delimiters(text)
    if start >= end:
        raise parse_error("the formula is empty", text, 0)
    return _Tokenizer(text, start, end).run(), start, end


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------


_TOKEN_NAMES = {
    "NUMBER": "a number", "LETTER": "a letter", "GREEK": "a Greek letter",
    "CONST": "\\pi", "FUNC": "a function such as \\exp",
    "OPNAME": "\\operatorname{...}", "SUM": "\\sum", "FRAC": "\\frac",
    "SQRT": "\\sqrt", "PRIME": "a prime '", "ADD": "'+'", "SUB": "'-'",
    "MUL": "'\\cdot'", "DIV": "'/'", "EQUAL": "'='",
    "REL": "a relation such as \\geq", "_LPAR": "'('", "_RPAR": "')'",
    "_LBRACK": "'['", "_RBRACK": "']'", "_LBRACE": "'{'", "_RBRACE": "'}'",
    "_LBRACELIT": "'\\{'", "_RBRACELIT": "'\\}'", "_LVERT": "'|'",
    "_RVERT": "a closing '|'", "_SUPER": "'^'", "_SUBSCR": "'_'",
    "_COMMA": "','", "_PERIOD": "'.'", "_AMP": "'&'", "_ROWSEP": "'\\\\'",
    "_BEGIN_CASES": "\\begin{cases}", "_END_CASES": "\\end{cases}",
    "_BEGIN_ARRAY": "\\begin{array}", "_END_ARRAY": "\\end{array}",
    "_IF": "\\text{if}", "_OTHERWISE": "\\text{otherwise}",
    "_AND": "\\text{and}", "_OR": "\\text{or}", "_IN": "\\in",
    "_SET": "\\mathbb{R}", "$END": "the end of the formula",
}
_OPERAND_START = {"NUMBER", "LETTER", "GREEK", "CONST", "FUNC", "OPNAME", "SUM",
                  "FRAC", "SQRT", "_LPAR", "_LBRACK", "_LBRACE", "_LBRACELIT",
                  "_LVERT", "_BEGIN_CASES"}


def describe_expected(expected) -> str:
    expected = set(expected)
    parts = []
    if len(expected & _OPERAND_START) >= 4:
        parts.append("a number, letter, function or group")
        expected -= _OPERAND_START
    parts.extend(sorted(_TOKEN_NAMES.get(t, t) for t in expected))
    if len(parts) > 8:
        parts = parts[:8] + ["..."]
    return ", ".join(parts)


def _syntax_error(exc: UnexpectedInput, text: str, tokens: list[Token], end: int) -> ParseError:
    token = getattr(exc, "token", None)
    expected = getattr(exc, "expected", None) or getattr(exc, "accepts", None) or ()
    if token is None or token.type == "$END":
        pos = end
        what = "unexpected end of the formula"
        prev = tokens[-1] if tokens else None
    else:
        pos = token.start_pos
        what = f"unexpected '{text[token.start_pos:token.end_pos]}'"
        idx = next((k for k, t in enumerate(tokens) if t.start_pos == pos), None)
        prev = tokens[idx - 1] if idx else None
    message = what
    if expected:
        message += f"; expected {describe_expected(expected)}"
    if prev is not None and prev.type in ("_SUPER", "_SUBSCR"):
        message += ("; TeX takes one token after ^ or _: put longer scripts in braces, "
                    "e.g. x^{-1}")
    elif prev is not None and prev.type in ("FUNC", "OPNAME") and token is not None \
            and token.type in ("_SUPER", "_SUBSCR"):
        message += "; write \\tanh(x)^2 rather than \\tanh^2(x)"
    return parse_error(message, text, pos)


def _parse_tree(text: str) -> tuple[Tree, list[Token], int]:
    if not isinstance(text, str):
        raise ParseError(f"a formula must be a string, not {type(text).__name__}", "", None)
    if len(text) > MAX_LENGTH:
        raise parse_error(f"the formula is longer than {MAX_LENGTH} characters", text, MAX_LENGTH)
    tokens, start, end = _tokenize(text)
    try:
        tree = _grammar.load("latex").parse(tokens)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, tokens, end) from None
    return tree, tokens, start


# --------------------------------------------------------------------------
# Tree helpers
# --------------------------------------------------------------------------
def _pos(node) -> int | None:
    if isinstance(node, Token):
        return node.start_pos
    if isinstance(node, Tree):
        if not node.meta.empty:
            return node.meta.start_pos
        for child in node.children:
            p = _pos(child)
            if p is not None:
                return p
    return None


def _is(node, data: str) -> bool:
    return isinstance(node, Tree) and node.data == data


def _npost_parts(node):
    """(base, primes, sup, sub) of an npost tree."""
    base, primes, sup, sub = node.children[0], 0, None, None
    for child in node.children[1:]:
        if _is(child, "primes"):
            primes = len(child.children)
        elif _is(child, "scripts"):
            for s in child.children:
                if s.data == "sup":
                    sup = s.children[0]
                else:
                    sub = s.children[0]
    return base, primes, sup, sub


def _scripts(node):
    sup = sub = None
    if node is not None:
        for s in node.children:
            if s.data == "sup":
                sup = s.children[0]
            else:
                sub = s.children[0]
    return sup, sub


def _sarg_content(sarg):
    """The expression node (or token) inside a sup/sub argument, or the sprimes tree."""
    if _is(sarg, "sarg"):
        return sarg.children[0]
    return sarg


def _name_token(node) -> Token | None:
    """The LETTER/GREEK token if ``node`` is a bare name (no primes, scripts)."""
    if isinstance(node, Token) and node.type in ("LETTER", "GREEK"):
        return node
    if _is(node, "npost") and len(node.children) == 1:
        base = node.children[0]
        if isinstance(base, Token) and base.type in ("LETTER", "GREEK"):
            return base
    return None


def _name_sequence(node) -> list[str] | None:
    """['d', 'x'] for the juxtaposition ``dx``; None if not only bare names."""
    tok = _name_token(node)
    if tok is not None:
        return [tok.value]
    if _is(node, "product"):
        names = []
        for item in node.children:
            tok = _name_token(item)
            if tok is None:
                return None
            names.append(tok.value)
        return names
    return None


def _subscript_text(node) -> str | None:
    """Text of a simple subscript: letters, digits, Greek names (``ij``, ``10``)."""
    node = _sarg_content(node)
    if isinstance(node, Token):
        return node.value if node.type in ("LETTER", "GREEK", "NUMBER") else None
    if _is(node, "npost") and len(node.children) == 1:
        return _subscript_text(node.children[0])
    if _is(node, "product"):
        parts = [_subscript_text(item) for item in node.children]
        return "".join(parts) if all(p is not None for p in parts) else None
    return None


def _sum_index(sumhead: Tree) -> tuple[Token | None, object, object]:
    """(index token, lower node or None, upper node or None) of a sumhead."""
    index = lower = upper = None
    for child in sumhead.children[1:]:  # sumscripts
        for part in child.children:
            if _is(part, "sumlow"):
                first = part.children[0]
                if isinstance(first, Token):
                    index = first
                else:
                    index = first.children[0]
                    if len(part.children) == 3:
                        lower = part.children[2]
            else:
                upper = part
    return index, lower, upper


def _fname_sumhead(node) -> Tree | None:
    """The sumhead of a call/bapp node, if its function is a sum."""
    if _is(node, "call") or _is(node, "bapp"):
        inner = node.children[0].children[0]
        if _is(inner, "sumhead"):
            return inner
    return None


# --------------------------------------------------------------------------
# Head
# --------------------------------------------------------------------------
@dataclass
class _Head:
    name: str | None = None         # function being defined
    variable: str | None = None     # the named argument
    derivative: bool = False
    index: str | None = None        # f(x)_i
    dependent: str | None = None    # y in y = ...


_HEAD_HELP = ("write a head such as f(x) =, \\sigma(u) =, \\mathrm{ReLU}(x) =, y =, "
              "f'(x) =, \\frac{d}{dx} f(x) = or \\frac{df}{dx} =")


def _read_head(lhs, text: str) -> _Head:
    def fail(msg: str, node=lhs):
        return parse_error(f"{msg}; {_HEAD_HELP}", text, _pos(node))

    items = list(lhs.children) if _is(lhs, "product") else [lhs]
    head = _Head()
    dvar = None
    first = items[0]
    if _is(first, "npost") and _is(first.children[0], "frac") and len(first.children) == 1:
        num, den = first.children[0].children[1:]
        num_names, den_names = _name_sequence(num), _name_sequence(den)
        if not (den_names and len(den_names) == 2 and den_names[0] == "d"
                and num_names and num_names[0] == "d" and len(num_names) <= 2):
            raise fail("cannot read the fraction on the left of '=' as a derivative d/dx")
        dvar = den_names[1]
        head.derivative = True
        if len(num_names) == 2:  # \frac{df}{dx}
            if len(items) != 1:
                raise fail("nothing may follow \\frac{df}{dx} before '='", items[1])
            head.name, head.variable = num_names[1], dvar
            return head
        items = items[1:]
        if not items:
            raise fail("\\frac{d}{dx} must be followed by the function, e.g. \\frac{d}{dx} f(x)")

    def arg_name(delim) -> str:
        if not _is(delim, "paren"):
            raise fail("the head's argument must be in parentheses", delim)
        args = delim.children[0].children
        if len(args) != 1 or _name_token(args[0]) is None:
            raise fail("the head must name exactly one variable, as in f(x)", delim)
        return _name_token(args[0]).value

    def sub_index(scripts) -> str | None:
        sup, sub = _scripts(scripts)
        if sup is not None:
            raise fail("a superscript is not allowed on the head", scripts)
        if sub is None:
            return None
        name = _subscript_text(sub)
        if name is None or not name.isalpha():
            raise fail("the head's subscript must be an index letter such as i", scripts)
        return name

    if len(items) == 1 and _is(items[0], "call"):
        call = items[0]
        fname = call.children[0].children[0]
        if not isinstance(fname, Token):
            raise fail("a sum cannot be defined by a formula head", call)
        head.name = fname.value
        rest = call.children[1:]
        if rest and _is(rest[0], "primes"):
            if head.derivative:
                raise fail("use either a prime or d/dx, not both", rest[0])
            head.derivative = True
            rest = rest[1:]
        head.variable = arg_name(rest[0])
        head.index = sub_index(rest[1] if len(rest) > 1 else None)
    elif len(items) == 2 and _is(items[0], "npost") and _is(items[1], "dpost"):
        base, primes, sup, sub = _npost_parts(items[0])
        if not (isinstance(base, Token) and base.type in ("LETTER", "GREEK")) or sub is not None:
            raise fail("cannot read this as a function name")
        if sup is not None:
            if not _is(sup, "sprimes"):
                raise fail("a superscript is not allowed on the head's name", sup)
            primes += len(sup.children)
        if primes:
            if head.derivative:
                raise fail("use either a prime or d/dx, not both", items[0])
            head.derivative = True
        head.name = base.value
        dpost = items[1]
        head.variable = arg_name(dpost.children[0])
        head.index = sub_index(dpost.children[1] if len(dpost.children) > 1 else None)
    elif len(items) == 1 and _is(items[0], "npost"):
        base, primes, sup, sub = _npost_parts(items[0])
        if not (isinstance(base, Token) and base.type in ("LETTER", "GREEK")) or sup is not None:
            raise fail("cannot read the left-hand side as a head")
        if primes:
            head.derivative = True
        if head.derivative:
            head.name = base.value
        else:
            head.dependent = base.value
        if sub is not None:
            head.index = sub_index(Tree("scripts", [Tree("sub", [sub])]))
        if dvar is not None:
            head.variable = dvar
        return head
    else:
        raise fail("cannot read the left-hand side as a head")
    if dvar is not None and head.variable != dvar:
        raise fail(f"d/d{dvar} does not match the argument {head.variable}")
    if head.variable == head.name:
        raise fail("the variable cannot have the function's name")
    return head


# --------------------------------------------------------------------------
# Building SymPy objects
# --------------------------------------------------------------------------
_RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "=": sp.Eq, "!=": sp.Ne}


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


class _Analysis:
    """What a pre-pass over the body finds: sums, vectors, indices, bounds."""

    def __init__(self, body, head: _Head, text: str):
        self.vector_bases: set[str] = set()
        self.index_names: set[str] = set()
        self.size_names: set[str] = set()
        sums = [t for t in body.iter_subtrees() if _fname_sumhead(t) is not None]
        for node in sums:
            sumhead = _fname_sumhead(node)
            index, _lower, upper = _sum_index(sumhead)
            if index is None:
                raise parse_error("name the summation index, as in \\sum_{j=1}^{n}",
                                  text, _pos(sumhead))
            self.index_names.add(index.value)
            for inner in node.iter_subtrees():
                inner_head = _fname_sumhead(inner)
                if inner is not node and inner_head is not None:
                    inner_index = _sum_index(inner_head)[0]
                    if inner_index is not None and inner_index.value == index.value:
                        raise parse_error(f"the summation index {index.value} is reused by an "
                                          "inner sum; use another letter", text, _pos(inner_head))
            if upper is None:
                self.size_names.add("n")
            else:
                up = _name_token(upper)
                if up is not None:
                    self.size_names.add(up.value)
            for sub in node.iter_subtrees():
                if _is(sub, "npost"):
                    base, _, _, s = _npost_parts(sub)
                    if (s is not None and isinstance(base, Token) and base.type in ("LETTER", "GREEK")
                            and _subscript_text(s) == index.value):
                        self.vector_bases.add(base.value)
        if head.index is not None and head.variable is not None:
            self.vector_bases.add(head.variable)
        if head.index is not None:
            self.index_names.add(head.index)
        for sub in body.iter_subtrees():
            if _is(sub, "npost"):
                base, _, _, s = _npost_parts(sub)
                if s is not None and isinstance(base, Token) and base.value in self.vector_bases:
                    for t in Tree("x", [s]).scan_values(lambda v: isinstance(v, Token)):
                        if t.type in ("LETTER", "GREEK"):
                            self.index_names.add(t.value)
        clash = (self.index_names | self.size_names) & self.vector_bases
        if clash:
            raise parse_error(f"{sorted(clash)[0]} is used both as a vector and as an index",
                              text, _pos(body))
        clash = self.index_names & self.size_names
        if clash:
            raise parse_error(f"{sorted(clash)[0]} is used both as an index and as a sum bound",
                              text, _pos(body))


class _Builder:
    def __init__(self, text: str, head: _Head, analysis: _Analysis):
        self.text = text
        self.head = head
        self.an = analysis
        self.symbols: dict[str, sp.Symbol] = {}
        self.bases: dict[str, sp.IndexedBase] = {}
        self.self_refs: set[str] = set()
        self.depth = 0

    # -- errors and symbols ----------------------------------------------------
    def fail(self, message: str, node) -> ParseError:
        return parse_error(message, self.text, _pos(node))

    def symbol(self, name: str) -> sp.Symbol:
        sym = self.symbols.get(name)
        if sym is None:
            if name in self.an.index_names:
                sym = sp.Symbol(name, integer=True)
            elif name in self.an.size_names:
                sym = sp.Symbol(name, integer=True, positive=True)
            else:
                sym = sp.Symbol(name, real=True)
            self.symbols[name] = sym
        return sym

    def base(self, name: str) -> sp.IndexedBase:
        if name not in self.bases:
            self.bases[name] = sp.IndexedBase(name, real=True)
        return self.bases[name]

    # -- dispatch ----------------------------------------------------------------
    def build(self, node):
        self.depth += 1
        try:
            if self.depth > _MAX_TREE_DEPTH:
                raise self.fail("the formula is nested too deeply", node)
            if isinstance(node, Token):
                return self.atom(node)
            method = getattr(self, f"b_{node.data}", None)
            if method is None:
                raise self.fail(f"'{node.data}' is not allowed here", node)
            return method(node)
        except ParseError:
            raise
        except RecursionError:
            raise self.fail("the formula is nested too deeply", node) from None
        except Exception as exc:  # SymPy refused to build something
            raise self.fail(f"cannot build this part of the formula ({type(exc).__name__}: {exc})",
                            node) from None
        finally:
            self.depth -= 1

    def atom(self, tok: Token):
        if tok.type == "NUMBER":
            return number(tok.value)
        if tok.type == "CONST":
            return sp.pi if tok.value == "pi" else sp.oo
        if tok.type in ("LETTER", "GREEK"):
            return self.plain_name(tok)
        raise self.fail(f"{tok.value!r} is not allowed here", tok)

    def plain_name(self, tok: Token):
        name = tok.value
        if tok.type == "LETTER" and name == "e":
            return sp.E
        if name in self.an.vector_bases:
            raise self.fail(f"{name} is a vector here (it is summed over as {name}_j); "
                            f"write {name}_i for a component", tok)
        if name == self.head.name:
            raise self.fail(f"{name} is the function being defined; apply it, as in {name}(x)", tok)
        if name == self.head.dependent:
            raise self.fail(f"{name} is the left-hand side and cannot appear on the right", tok)
        return self.symbol(name)

    # -- operators -----------------------------------------------------------------
    def b_sum(self, node):
        terms = [self.build(node.children[0])]
        for op, child in zip(node.children[1::2], node.children[2::2]):
            value = self.build(child)
            terms.append(value if op.type == "ADD" else -value)
        return sp.Add(*terms)

    def b_term(self, node):
        value = self.build(node.children[0])
        for op, child in zip(node.children[1::2], node.children[2::2]):
            if op.type == "DIV" and _is(child, "product"):
                raise self.fail("ambiguous division: the divisor is an implicit product "
                                "(is 1/2x 1/(2x) or x/2?); write \\frac{..}{..} or add parentheses",
                                child)
            right = self.build(child)
            value = value * right if op.type == "MUL" else value / right
        return value

    def b_neg(self, node):
        return -self.build(node.children[1])

    def b_pos(self, node):
        return self.build(node.children[1])

    def b_group(self, node):
        return self.build(node.children[0])

    def b_dpost(self, node):
        value = self.build(node.children[0])
        return self.apply_scripts(value, node.children[1] if len(node.children) > 1 else None)

    def b_paren(self, node):
        args = node.children[0].children
        if len(args) != 1:
            raise self.fail("a comma-separated list is only allowed as function arguments", node)
        return self.build(args[0])

    def b_abs(self, node):
        return sp.Abs(self.build(node.children[0]))

    def b_frac(self, node):
        num_names, den_names = (_name_sequence(c) for c in node.children[1:])
        if (num_names and num_names[0] == "d" and len(num_names) <= 2
                and den_names and len(den_names) == 2 and den_names[0] == "d"):
            raise self.fail("a derivative operator d/dx may only appear in the head, as in "
                            "\\frac{d}{dx} f(x) = ...; write d \\cdot x for a product", node)
        num, den = (self.build(c) for c in node.children[1:])
        return num / den

    def b_sqrt(self, node):
        if len(node.children) == 3:
            degree = self.build(node.children[1])
            return sp.root(self.build(node.children[2]), degree)
        return sp.sqrt(self.build(node.children[1]))

    # -- juxtaposition and function application ----------------------------------------
    def b_product(self, node):
        return sp.Mul(*(value for value, _ in self.factors(node.children)))

    def factors(self, items) -> list[tuple[object, bool]]:
        """Values of juxtaposed items; the flag marks function applications."""
        out: list[tuple[object, bool]] = []
        k = 0
        while k < len(items):
            item = items[k]
            nxt = items[k + 1] if k + 1 < len(items) else None
            if (_is(item, "npost") and _is(nxt, "dpost") and _is(nxt.children[0], "paren")
                    and isinstance(item.children[0], Token)):
                applied = self.letter_application(item, nxt)
                if applied is not None:
                    out.append((applied, True))
                    k += 2
                    continue
            out.append((self.build(item), _is(item, "call") or _is(item, "bapp")))
            k += 1
        return out

    def letter_application(self, item: Tree, dpost: Tree):
        """``\\sigma(x)``, ``f(x)`` (head), ``H(x)``... or None for a product."""
        base, primes, sup, sub = _npost_parts(item)
        if base.type not in ("LETTER", "GREEK"):
            return None
        name = base.value
        is_head = name == self.head.name
        if not (is_head or name in APPLICABLE_SYMBOLS or name in _FUNCTION_LETTERS):
            return None
        if sub is not None:
            return None  # \sigma_1 (x) is a product with a subscripted symbol
        if primes or _is(sup, "sprimes"):
            raise self.fail("a derivative such as f'(x) may only appear in the head", item)
        if sup is not None:
            raise self.fail(f"ambiguous power of a function: write {name}(x)^2 for the square, "
                            "or put a \\cdot before the parenthesis for a product", item)
        args = [self.build(a) for a in dpost.children[0].children[0].children]
        if is_head:
            value = self.self_reference(name, args, item)
        elif name in APPLICABLE_SYMBOLS:
            if len(args) != 1:
                raise self.fail(f"{name}(...) takes one argument", dpost)
            value = APPLICABLE_SYMBOLS[name](args[0])
        else:
            raise self.fail(f"{name}(...) looks like a call of an undefined function {name}; "
                            f"name it in the head (f'(x) = ...) or write {name} \\cdot (...) "
                            "for a product", item)
        return self.apply_scripts(value, dpost.children[1] if len(dpost.children) > 1 else None)

    def self_reference(self, name: str, args, node):
        if not self.head.derivative:
            raise self.fail(f"the formula defines {name} in terms of itself; only a derivative "
                            f"head such as {name}'(x) = may refer to {name}", node)
        self.self_refs.add(name)
        return sp.Function(name)(*args)

    def apply_scripts(self, value, scripts):
        sup, sub = _scripts(scripts)
        if sub is not None:
            raise self.fail("a subscript is only allowed on a name (x_i)", sub)
        if sup is not None:
            value = self.power(value, sup)
        return value

    def power(self, value, sup):
        content = _sarg_content(sup)
        if _is(content, "sprimes"):
            raise self.fail("a derivative mark ^{\\prime} may only appear in the head", sup)
        exponent = self.build(content)
        return checked_pow(value, exponent, lambda m: self.fail(m, sup))

    def apply_function(self, fname: Tree, args, node, primes: int = 0):
        inner = fname.children[0]
        if _is(inner, "sumhead"):
            if primes:
                raise self.fail("a prime is not allowed on a sum", node)
            if len(args) != 1:
                raise self.fail("a sum takes one summand", node)
            return self.summation(inner, args[0])
        name = inner.value
        if name == self.head.name:
            if primes:
                raise self.fail("a derivative such as f'(x) may only appear in the head", node)
            return self.self_reference(name, args, inner)
        if primes:
            raise self.fail("a derivative such as f'(x) may only appear in the head", node)
        spec = FUNCTIONS.get(name.lower())
        if spec is None:
            raise self.fail(f"unknown function '{name}'{suggest(name.lower(), FUNCTIONS)}; "
                            f"known functions: {', '.join(sorted(FUNCTIONS))}", inner)
        if not spec.min_args <= len(args) <= spec.max_args:
            want = (str(spec.min_args) if spec.min_args == spec.max_args
                    else f"{spec.min_args} to {spec.max_args}")
            raise self.fail(f"{name} takes {want} argument(s), not {len(args)}", node)
        return spec.build(*args)

    def b_call(self, node):
        fname, *rest = node.children
        primes = 0
        if rest and _is(rest[0], "primes"):
            primes = len(rest[0].children)
            rest = rest[1:]
        delim = rest[0]
        if _is(delim, "paren"):
            arg_nodes = delim.children[0].children
        else:
            arg_nodes = [delim.children[0]]
        args = [self.build(a) for a in arg_nodes]
        value = self.apply_function(fname, args, node, primes)
        return self.apply_scripts(value, rest[1] if len(rest) > 1 else None)

    def b_bapp(self, node):
        fname, barg = node.children
        items = barg.children
        if len(items) == 1 and _is(items[0], "bapp"):
            return self.apply_function(fname, [self.build(items[0])], node)
        factors = self.factors(items)
        cut = next((k for k, (_, applied) in enumerate(factors) if applied and k > 0), len(factors))
        argument = sp.Mul(*(v for v, _ in factors[:cut]))
        value = self.apply_function(fname, [argument], node)
        return sp.Mul(value, *(v for v, _ in factors[cut:]))

    def summation(self, sumhead: Tree, body):
        index, lower, upper = _sum_index(sumhead)
        if index is None:
            raise self.fail("name the summation index, as in \\sum_{j=1}^{n}", sumhead)
        j = self.symbol(index.value)
        lo = sp.Integer(1) if lower is None else self.build(lower)
        hi = self.symbol("n") if upper is None else self.build(upper)
        return sp.Sum(body, (j, lo, hi))

    # -- names with scripts ----------------------------------------------------------
    def b_npost(self, node):
        base, primes, sup, sub = _npost_parts(node)
        if primes:
            raise self.fail("a prime (') marks a derivative and may only appear in the head", node)
        if sub is not None:
            value = self.subscripted(base, sub)
        elif isinstance(base, Token):
            value = self.atom(base)
        else:
            value = self.build(base)
        if sup is not None:
            value = self.power(value, sup)
        return value

    def subscripted(self, base, sub):
        if not (isinstance(base, Token) and base.type in ("LETTER", "GREEK")):
            raise self.fail("a subscript is only allowed on a name (x_i)", sub)
        name = base.value
        if name in self.an.vector_bases:
            index = self.build(_sarg_content(sub))
            return sp.Indexed(self.base(name), index)
        suffix = _subscript_text(sub)
        if suffix is None:
            raise self.fail("a subscript must be letters or digits, as in x_i or x_{10}", sub)
        full = f"{name}_{suffix}"
        if full == self.head.dependent:
            raise self.fail(f"{full} is the left-hand side and cannot appear on the right", base)
        return self.symbol(full)

    # -- piecewise -----------------------------------------------------------------------
    def b_cases(self, node):
        rows = node.children
        pieces = []
        for k, row in enumerate(rows):
            value_node, cond_node = row.children
            value = self.build(value_node)
            if _is(cond_node, "otherwise"):
                if k != len(rows) - 1:
                    raise self.fail("an 'otherwise' row must be the last row", cond_node)
                cond = sp.true
            else:
                cond = self.condition(cond_node.children[0])
            pieces.append((value, cond))
        return sp.Piecewise(*pieces)

    def condition(self, node):
        return build_condition(self, node, _RELATIONS, "the formula is nested too deeply",
                               "expected a condition such as x \\geq 0")


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


def _plain_symbol_names(expr) -> set[str]:
    return {s.name for s in expr.free_symbols if isinstance(s, sp.Symbol)}


def parse_latex(text: str) -> ParsedFormula:
    """Read a LaTeX formula (see the module docstring for the language).

    Raises :class:`~symact.errors.ParseError` for anything outside the
    language; its message gives the line and column with a caret excerpt.
    """
    tree, tokens, body_start = _parse_tree(text)
    children = tree.children
    trailer = children[-1] if _is(children[-1], "trailer") else None
    if trailer is not None:
        children = children[:-1]
    if len(children) == 3:
        lhs, _eq, body = children
        head = _read_head(lhs, text)
    else:
        body = children[0]
        head = _Head()
    analysis = _Analysis(body, head, text)
    builder = _Builder(text, head, analysis)
    expr = builder.build(body)
    if not isinstance(expr, sp.Expr):
        raise parse_error("the formula is not an expression", text, _pos(body))
    if expr.has(sp.nan, sp.zoo):
        raise parse_error("the formula is undefined (a division by zero or log 0?)", text, _pos(body))

    def fail(message):
        return parse_error(message, text, _pos(body))

    bases = analysis.vector_bases
    hidden = analysis.index_names | analysis.size_names
    names = _plain_symbol_names(expr)
    is_vector = False
    if head.variable is not None:
        var_name = head.variable
        is_vector = var_name in bases
    elif bases:
        var_name = choose_variable(set(bases), set(), fail)
        is_vector = True
    else:
        candidates = names - hidden
        var_name = choose_variable(candidates, {n for n in candidates if n.split("_")[0] in GREEK},
                                   fail) or "x"
    if head.dependent is not None and head.dependent == var_name:
        raise fail(f"{var_name} is the left-hand side and cannot be the variable")
    if is_vector:
        variable = builder.base(var_name).label
    else:
        variable = builder.symbols.get(var_name) or sp.Symbol(var_name, real=True)
    if not is_vector and var_name in hidden:
        raise fail(f"{var_name} is an index or a sum bound and cannot be the variable")
    if trailer is not None:
        for dom in trailer.children:
            name = dom.children[0].children[0]
            if name.value != var_name:
                raise parse_error(f"the domain remark names {name.value}, but the variable is "
                                  f"{var_name}", text, name.start_pos)
    parameters = tuple(sorted(names - hidden - {var_name}))
    index = head.index
    if index is None and is_vector:
        free_idx = sorted(analysis.index_names & names)
        index = free_idx[0] if len(free_idx) == 1 else None
    return ParsedFormula(
        expr=expr,
        variable=variable,
        head=head.name,
        is_derivative=head.derivative,
        self_references=tuple(sorted(builder.self_refs)),
        source=text,
        parameters=parameters,
        is_vector=is_vector,
        index=index,
        sizes=tuple(sorted(analysis.size_names & names)),
        language="latex",
    )
