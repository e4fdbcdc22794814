r"""Read activation-function formulas written in LaTeX into SymPy expressions.

``parse_latex(text, *, functions=None)`` returns a
:class:`~symact.parse.common.ParsedFormula`.
It never evaluates user text: a hand-written tokenizer turns the text into
tokens from a fixed whitelist, an unambiguous LALR(1) grammar
(``_grammar/latex.lark``, built in Lark's strict mode, so a grammar with any
conflict does not even load) turns them into a tree, and a tree walker builds
SymPy objects directly, looking function names up in
:data:`~symact.parse.common.FUNCTIONS`.  Anything outside the language raises
:class:`~symact.errors.ParseError` whose message names the line and column,
shows the text with a caret under the spot, and says what was expected.
TeX commands such as ``\input``, ``\def`` or ``\newcommand`` are simply not
in the language: they are refused and nothing runs.

The reader is split in three: :mod:`symact.parse.latex_tokenizer` (text to
tokens), :mod:`symact.parse.latex_builder` (tree to SymPy) and this module
(parsing, syntax errors, :func:`parse_latex`); what it shares with the
plain-text reader (:class:`~symact.parse.common.ParsedFormula`, the function
tables, error helpers, the variable rule) is in :mod:`symact.parse.common`.

Bounds
======
The formula is read within the bounds of :mod:`symact.parse.common` (length,
nesting, digits, exact numbers, exponents, terms, factors, rows); beyond one,
:class:`~symact.parse.common.FormulaBudgetError`.

Unicode
=======
``−`` (minus), ``×``, ``·``, ``⋅``, ``∗``, ``÷``, ``≤``, ``≥``, ``≠``, ``≈``, ``≃``,
``∞``, ``π``, ``∑``, ``∈ ℝ``, ``’`` and ``′`` (primes) and the Greek letters read
as their commands;
superscript digits and signs are an exponent (``x²``, ``e⁻ˣ`` is not: only
digits, ``x⁻¹`` is), subscript digits a subscript (``x₂`` is the symbol
``x_2``).  Any other non-ASCII digit or letter is refused with its name.

The language
============
The reader reads formulas the way publications write them: PyTorch, JAX and
Keras docstrings, papers, Wikipedia's markup, course notes and blogs in
English, French, German, Spanish and Chinese (``tests/corpus/`` holds such
formulas with their sources; ``tests/test_parse_published.py`` one case of
each notation below).

A formula is an optional *head*, then one or more *sides* joined by ``=``
or an approximation (``\approx``, ``\simeq``, ``≈``)::

    f(x) = ...      \sigma(u) = ...     \mathrm{ReLU}(x) = ...    y = ...
    GELU(x) = ...   Mish'(x) = ...      \text{Hard SiLU}(x) = ...  ELU = ...
    f'(x) = ...     \frac{d}{dx} f(x) = ...    \frac{df}{dx} = ...
    \frac{\partial y}{\partial x} = ...        {\delta Tanh \over \delta x} = ...
    \operatorname{softmax}(x)_i = ...   \text{Softmax}(x_i) = ...  y_i = ...
    \text{Sigmoid}(x) = \sigma(x) = \frac{1}{1 + \exp(-x)}
    \mathrm{GELU}(x) = x\Phi(x) \approx 0.5x(1 + \tanh[\sqrt{2/\pi}(x + 0.044715x^3)])

Chains.  Every side is read; :attr:`~symact.parse.common.ParsedFormula.links`
holds one :class:`~symact.parse.common.Link` per side (its relation to the
item before it, ``"="`` or ``"approx"``, its expression, its text and
offset) and ``expr`` is the first side.  A side that only applies a known
function (``\sigma(x)``) is an ordinary expression; ``y = f(x) = ...`` reads
``f(x)`` as the head (said in ``notes``).  When the left-most item is no
head (``1 - \tanh^2(x) = \text{sech}^2(x)``, ``(x)^+ = \max(0, x)``), it is
the first side, with no head, provided its symbols all occur in the other sides.

The head names the variable (``u`` in ``\sigma(u) =``); further arguments
(``\mathrm{logit}(x, \beta)``) are parameters.  A subscripted argument
(``\text{Softmax}(x_i)``, ``\phi(v_i)``) is the vector index when the body
sums over that name, else part of the variable's name (``v_i``).  When the
head names ``x`` and the body writes only ``x_i`` (PyTorch's old
docstrings), ``x_i`` is read as ``x`` (said in ``notes``).  With no
parenthesised argument in the head, or no head, the variable is the single
free symbol that is not a Greek letter (``x`` if ``x`` occurs); if that is
not unique the formula is refused.  Greek letters, other letters,
subscripted names and named constants are the parameters.  All symbols are
created ``real=True``.

Names.  Single letters (``xy`` is ``x*y``), ``\alpha``...``\omega`` and the
capital Greek letters, ``\pi``, ``\infty``, and ``e``, which is always
Euler's number (a subscripted ``e_1`` is a symbol).  ``x_i``, ``x_{i}``,
``\alpha_1`` are symbols named ``x_i``, ``alpha_1``.  ``\mathbf{x}`` and
``\boldsymbol{x}`` are plain ``x``.  A name in ``\text``, ``\mathrm``,
``\operatorname``, ``\mbox`` or ``{\rm ..}`` may contain ``\_`` (read
``_``), spaces and hyphens (``\text{negative\_slope}``,
``\text{Hard SiLU}``, ``\text{h-swish}``); so may a bare word
(``negative\_slope``).  Runs of letters written bare: a Greek letter's name
(``alpha``) is that letter, ``pi`` is pi, a function name (below) is that
function, a word of four or more letters with at least three different
letters and a vowel is one name (``scale``, ``input``; ``xxxx`` stays
``x x x x``), any other run is single letters.  A *named constant*
(``\text{scale}``, ``\alpha``, ``\lambda``, ``\text{negative\_slope}``) is
a free symbol named as written (``negative_slope``); a name is a function
only where it is applied to an argument and known as a function
(``\text{scale}(x+1)`` is a product).

Groups: ``(..)``, ``[..]``, ``\{..\}`` and TeX braces ``{..}``, with or
without ``\left``/``\right``/``\big`` sizing; ``|x|``, ``\lvert x\rvert``,
``\left| x \right|``; ``\frac{a}{b}``/``\dfrac``/``\tfrac`` (also ``\frac12``),
``\sqrt{x}``, ``\sqrt[n]{x}``.  Spacing (``\,`` ``\;`` ``\!`` ``\quad`` ...),
``\displaystyle``, ``\limits`` and the sizes ``\big``... are ignored; ``%`` starts a TeX comment.

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

Functions.  The builtins of :data:`~symact.parse.common.FUNCTIONS`
(``\exp \ln \log \tanh \sinh \cosh \sech \csch \coth \sin \cos \tan \arctan
\max \min \sgn \erf \erfc``, ``\operatorname{softplus}``, ``sqrt``, ``relu``,
``sigmoid``...), with or without a backslash (``exp(x)``, ``max(0, x)``),
case-insensitively; and every catalog name or alias, in any case, spelled
with ``_``, ``\_``, spaces or hyphens (``\mathrm{ReLU6}(x+3)``,
``\mathrm{log\_sigmoid}(x)``, ``\text{SiLU}(x)``, ``LeakyReLU(x)``; see
:func:`~symact.parse.common.catalog_name`), built as the catalog's
definition with its parameters as free symbols named as in the catalog
(``\mathrm{ELU}(x)`` has ``alpha`` free; ``elu(x, 2)`` binds it).  Vector
entries (softmax, log_softmax) are refused in a scalar body.
``\log``/``\ln`` are the natural logarithm.  ``parse_latex(text,
functions={...})`` overrides the meaning of a name (``{"sigma": sympy.tanh}``
when a note defines sigma otherwise).

* A function directly followed by a group takes exactly that group as its
  argument list: ``\tanh(x)y`` is ``tanh(x)*y``, ``\max(0, x)``,
  ``\max\{0, x\}``, ``\tanh\left[...\right]``, ``\exp{x}``.  A script after
  the group applies to the result: ``\tanh(x)^2``.  A positive whole power
  written on the name is the power of the value (``\tanh^2(x)``,
  ``\text{sech}^2 x``); ``^{-1}`` on ``\tanh \sinh \cosh \sin \cos \tan``
  is the inverse function.
* Without a group, the argument is the run of juxtaposed items after the
  name, up to the next function name or operator: ``\tanh x`` is
  ``tanh(x)``, ``\ln 2x`` is ``log(2x)``, ``\ln 2x + 1`` is ``log(2x) + 1``,
  ``\sin x \cos x`` is ``sin(x)*cos(x)``, ``\log \sum_j e^{x_j}`` is the log
  of the sum, ``\ln 2\cosh x`` is ``log(2)*cosh(x)``.  ``\exp -x`` is
  refused.
* A prime on a known function in a body is its derivative:
  ``\sigma'(x)``, ``\tanh'(x)``, ``\mathrm{GELU}'(x)``, ``f’(x)`` (the
  typographic apostrophe and ``′`` are primes).

Letters used as functions.  ``\sigma(x)`` is the logistic sigmoid,
``\Phi(x)`` the standard normal CDF ``(1+erf(x/sqrt(2)))/2``, ``\phi(x)``
the standard normal density, ``H(x)`` the Heaviside step, when directly
followed by a parenthesised group (``\sigma^2(x)`` is the square); otherwise
they are symbols.  ``\alpha(x+1)`` and every other letter before a group is
a product.  ``f(..)``, ``g(..)``, ``h(..)`` are refused unless the name is
the head's.  In the body, the head's own name applied to a group is a *self
reference* ``sympy.Function(name)(arg)``, allowed only when the head is a
derivative (``f'(x) = f(x)(1 - f(x))``).

Notation.  ``{a \over b}`` is ``\frac{a}{b}``; ``(x)^+``, ``x^+`` and
``[x]_+`` are the positive part ``max(x, 0)``; ``\mathbb{1}_{x>0}``,
``\mathbb{1}(x>0)``, ``\mathbb{1}[x>0]`` and ``\mathbf{1}\{x > 0\}`` are the
indicator ``Piecewise((1, x > 0), (0, True))``.

Markup that is read past.  Wikipedia's ``{\displaystyle ...}`` around the
formula; braces around one keyword or name (``{\text{if }}``, ``{ReLU}``);
``\begin{split}``, ``aligned``, ``align``, ``gather``, ``equation`` around
the formula, with their ``&`` and ``\\``; ``&`` before ``=`` in a line
copied from an alignment; a sentence-final ``.`` (also after a script:
``x^2.``).  Trailing prose at the top level (``, \text{where } ...``, ``with``,
``here``, ``où``, ``其中``...) and a parenthesised remark in words
(``\quad (\alpha \text{ is a small constant})``) are dropped and recorded in
``notes``.  ``value \text{ if } condition`` at the end of a formula (one
branch of a definition) is ``Piecewise((value, condition))``, undefined
elsewhere (said in ``notes``).

Sums (softmax): ``\sum_{j=1}^{n} body``, ``\sum_{j}``, ``\sum_j``; the body is
what a bare function would take (or a group).  The lower limit defaults to 1
and the upper limit to ``n``; the letters of an upper limit such as ``N-1``
are sum bounds.  A subscripted name whose subscript is a summation index
(``x_j`` under ``\sum_j``) makes its base a vector: ``x_j`` becomes
``Indexed(IndexedBase('x'), j)`` everywhere, including a free ``x_i``.
Summation indices and vector subscripts are ``Symbol(..., integer=True)``,
sum bounds ``integer=True, positive=True``.  The vector formula's variable
is the base's label and ``is_vector`` is set.

Piecewise definitions: ``\begin{cases} .. \end{cases}`` (also ``dcases``,
``rcases``), or ``array`` (any column specification: ``{ll}``, ``{cll}``,
``{lcl}``), ``matrix`` or ``aligned`` after ``\left\{`` (also
``\left\lbrace``, and a bare ``\left`` whose brace was lost) closed by
``\right.``.  Rows are separated by ``\\`` or ``\cr`` (``\\[2ex]`` and empty
rows are allowed); each row is ``value & condition``, where the ``&`` may
be a comma (``x, x > 0``), may be missing before ``\text{if}`` (``x,
\text{if } x > 0``), and empty columns (``x, & & \text{if} ...``, ``& x &&
(x > 0)``) are skipped.  Conditions are relations ``< > = \lt \gt \le \leq
\ge \geq \neq \ne`` (chains such as ``-1 \le x \le 1`` mean both),
intervals ``x \in (-1, 1]``, optionally in parentheses, joined by ``,``,
``;`` or ``\text{and}`` (and ``\text{or}``, looser).  Words in a condition
(in ``\text``/``\mbox``, also around inline math: ``\text{if $x > 0$}``)
are its wording: ``if``, ``for``, ``when``, ``si``, ``pour``, ``falls``,
``当``... start it, ``otherwise``, ``else``, ``sinon``, ``sonst``,
``否则``, ``其他``... make the row ``True`` (it must be the last), and
other prose is skipped (a condition that is only prose is ``otherwise``);
the condition itself is always read from the math.  The result is
``sympy.Piecewise`` with the rows in the written order; as in SymPy, a row
applies where its condition holds and no earlier row's does, and where no
row applies the value is undefined (``nan``).

Anything else is refused with the construct and its position, e.g.
``\begin{tabular} is not supported ... (at column 8)``.
"""
from __future__ import annotations

import sympy as sp
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from symact.parse import _grammar

from symact.errors import ParseError
from symact.parse.common import (
    APPLICABLE_SYMBOLS,
    FUNCTIONS,
    GREEK,
    MAX_LENGTH,
    Link,
    ParsedFormula,
    UserFunctions,
    TreeBudget,
    _is,
    budget_error,
    catalog_name,
    choose_variable,
    parse_error,
    unsupported_notation,
    user_function,
)
from symact.parse.latex_builder import _Analysis, _Builder, _Head, _pos, _read_head
from symact.parse.latex_tokenizer import _tokenize

__all__ = ["parse_latex"]


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------


_TOKEN_NAMES = {
    "NUMBER": "a number", "LETTER": "a letter", "GREEK": "a Greek letter",
    "CONST": "\\pi", "FUNC": "a function such as \\exp",
    "OPNAME": "\\operatorname{...}", "SUM": "\\sum", "FRAC": "\\frac",
    "SQRT": "\\sqrt", "PRIME": "a prime '", "ADD": "'+'", "SUB": "'-'",
    "MUL": "'\\cdot'", "DIV": "'/'", "EQUAL": "'='", "APPROX": "\\approx",
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


def _parse_tree(text: str, functions=None) -> tuple[Tree, list[Token], int, list[str]]:
    if not isinstance(text, str):
        raise ParseError(f"a formula must be a string, not {type(text).__name__}", "", None)
    if len(text) > MAX_LENGTH:
        raise budget_error(f"the formula is longer than {MAX_LENGTH} characters (it has "
                           f"{len(text)}); symact reads at most {MAX_LENGTH}", text, MAX_LENGTH)
    tokens, start, end, notes = _tokenize(text, functions)
    try:
        tree = _grammar.load("latex").parse(tokens)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, tokens, end) from None
    _check_budget(tree, text)
    return tree, tokens, start, notes


def _check_budget(tree: Tree, text: str) -> None:
    """Check the tree's depth and count its terms, factors and rows, before any
    SymPy work and before anything recursive walks the tree (linear)."""
    budget = TreeBudget(text)
    for node in budget.walk(tree, _pos):
        data = node.data
        if data == "sum":
            budget.add("terms", node.children[1::2], _pos)
        elif data == "term":
            budget.add("factors", node.children[1::2], _pos)
        elif data in ("product", "barg") and len(node.children) > 1:
            budget.add("factors", node.children[1:], _pos)
        elif data == "cases":
            budget.add("rows", [c for c in node.children if _is(c, "row")], _pos)


def _plain_symbol_names(expr) -> set[str]:
    return {s.name for s in expr.free_symbols if isinstance(s, sp.Symbol)}


def _alias_head(side, text: str, functions) -> _Head | None:
    """The head ``f(x)`` in ``y = f(x) = ...``: a name that is no known function applied to
    one variable; None if ``side`` is not such."""
    try:
        head = _read_head(side, text)
    except ParseError:
        return None
    if head.name is None or head.variable is None or head.derivative or head.extra:
        return None
    name = head.name
    if (name in APPLICABLE_SYMBOLS or name.lower() in FUNCTIONS or catalog_name(name)
            or user_function(functions, name)):
        return None
    return head


def _rename_subscripted_variable(values, head: _Head, analysis, notes: list[str]):
    """``LogSigmoid(x) = \\log(1/(1 + \\exp(-x_i)))``: a body that writes ``x_i`` (and never
    ``x``) for the head's ``x`` means ``x``."""
    var = head.variable
    if var is None or head.index is not None or var in analysis.vector_bases:
        return values
    names = set().union(*(_plain_symbol_names(v) for v in values))
    if var in names:
        return values
    subscripted = sorted(n for n in names if n.startswith(var + "_") and n not in
                         analysis.index_names | analysis.size_names)
    if len(subscripted) != 1:
        return values
    old = next(s for v in values for s in v.free_symbols
               if isinstance(s, sp.Symbol) and s.name == subscripted[0])
    new = sp.Symbol(var, real=True)
    notes.append(f"read {subscripted[0]} in the body as the head's variable {var}")
    return [v.xreplace({old: new}) for v in values]


def _side_text(text: str, node, stop: int | None) -> tuple[str, int]:
    """The text of one side of a chain (as written) and its offset."""
    start = _pos(node)
    start = 0 if start is None else start
    if isinstance(node, Token):
        end = node.end_pos
    else:
        meta = node.meta
        end = meta.end_pos if not meta.empty else (stop or len(text))
    return text[start:end].strip(), start


def parse_latex(text: str, *, functions: UserFunctions | None = None) -> ParsedFormula:
    """Read a LaTeX formula (see the module docstring for the language).

    ``functions`` maps names to builders (``{"sigma": sympy.tanh}``) that override
    the builtin meaning of a name applied to an argument (``\\sigma(x)``,
    ``\\mathrm{act}(x)``), e.g. when a note defines the name otherwise.

    Raises :class:`~symact.errors.ParseError` for anything outside the
    language; its message gives the line and column with a caret excerpt.
    """
    try:
        return _parse_latex(text, functions)
    except ParseError as exc:
        better = unsupported_notation(text, exc)
        if better is exc:
            raise
        raise better from None


def _parse_latex(text: str, functions: UserFunctions | None) -> ParsedFormula:
    """The reader itself (see the public function)."""
    tree, tokens, body_start, notes = _parse_tree(text, functions)
    children = tree.children
    trailer = children[-1] if _is(children[-1], "trailer") else None
    if trailer is not None:
        children = children[:-1]
    guard = children[-1] if _is(children[-1], "guard") else None
    if guard is not None:
        children = children[:-1]
    items = children[0::2]
    relations = ["approx" if tok.type == "APPROX" else "=" for tok in children[1::2]]
    head_error = None
    if len(items) > 1:
        try:
            head = _read_head(items[0], text)
            sides = items[1:]
        except ParseError as err:  # perhaps an identity: 1 - \tanh^2(x) = \text{sech}^2(x)
            head_error = err
            head = _Head()
            sides = items
            relations = ["="] + relations
    else:
        head = _Head()
        sides = items
        relations = ["="]
    if head.dependent is not None and len(sides) > 1:
        second = _alias_head(sides[0], text, functions)
        if second is not None:  # y = f(x) = ...: f(x) names the function and its variable
            second.dependent = head.dependent
            notes.append(f"read {head.dependent} = {_side_text(text, sides[0], None)[0]} as "
                         "the head")
            head, sides, relations = second, sides[1:], relations[1:]
    body = sides[0]
    analysis = _Analysis(Tree("sides", list(sides)) if len(sides) > 1 else body, head, text)
    if head.var_sub is not None:
        if head.variable in analysis.vector_bases:  # softmax(x_i) = ... \sum_j x_j
            head.index = head.var_sub
            analysis.index_names.add(head.var_sub)
        else:  # \phi(v_i) = ...: the variable is the symbol v_i
            head.variable = f"{head.variable}_{head.var_sub}"
    builder = _Builder(text, head, analysis, functions)
    values = []
    for k, side in enumerate(sides):
        try:
            value = builder.build(side)
        except ParseError:
            if head_error is not None and k == 0:
                raise head_error from None
            raise
        if not isinstance(value, sp.Expr):
            raise parse_error("the formula is not an expression", text, _pos(side))
        if value.has(sp.nan, sp.zoo):
            raise parse_error("the formula is undefined (a division by zero or log 0?)", text,
                              _pos(side))
        values.append(value)
    if guard is not None:  # one branch: the formula is undefined where the guard fails
        condition = builder.condition(guard.children[0])
        values = [sp.Piecewise((v, condition)) for v in values]
        notes.append(f"read '{_side_text(text, guard, None)[0]}' as the only branch: the "
                     "formula is undefined elsewhere")
    if head_error is not None:
        first = _plain_symbol_names(values[0])
        rest = set().union(*(_plain_symbol_names(v) for v in values[1:]))
        if not first or not first <= rest:
            raise head_error
    values = _rename_subscripted_variable(values, head, analysis, notes)
    expr = values[0]

    def fail(message):
        return parse_error(message, text, _pos(body))

    bases = analysis.vector_bases
    hidden = analysis.index_names | analysis.size_names
    names = set().union(*(_plain_symbol_names(v) for v in values))
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
    if head.variable is not None and not is_vector and var_name not in names and names - hidden:
        notes.append(f"the head's variable {var_name} does not occur in the formula")
    extra = set(head.extra) - {var_name}
    parameters = tuple(sorted((names | extra) - hidden - {var_name}))
    index = head.index
    if index is None and is_vector:
        free_idx = sorted(analysis.index_names & names)
        index = free_idx[0] if len(free_idx) == 1 else None
    links = []
    for relation, side, value in zip(relations, sides, values):
        source, position = _side_text(text, side, None)
        links.append(Link(relation, value, source, position))
    return ParsedFormula(
        expr=expr,
        variable=variable,
        head=head.name if head.name is not None or head.dependent is None
        or not catalog_name(head.dependent) else head.dependent,  # ELU = ...
        is_derivative=head.derivative,
        self_references=tuple(sorted(builder.self_refs)),
        source=text,
        parameters=parameters,
        is_vector=is_vector,
        index=index,
        sizes=tuple(sorted(analysis.size_names & names)),
        language="latex",
        links=tuple(links),
        notes=tuple(notes),
    )
