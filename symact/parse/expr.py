"""Read plain-text formulas such as ``--expr "1/(1+exp(-x))"`` into SymPy.

``parse_expr(text, *, functions=None)`` returns the same :class:`~symact.parse.common.ParsedFormula`
as :func:`symact.parse.latex.parse_latex` (with ``language="expr"``).  Like the
LaTeX reader it never evaluates user text: a small regex tokenizer, an LALR(1)
grammar (``_grammar/expr.lark``, built in Lark's strict mode, so it has no
conflicts) and a tree walker that builds SymPy objects directly, calling only
functions from the whitelist :data:`symact.parse.common.FUNCTIONS` (plus ``where``).
``__import__('os')`` is just an unknown function name followed by a
character (``'``) that is not in the language: a ParseError, nothing runs.

The language (Python-like):

* numbers ``2``, ``0.044715``, ``1e-3`` (all exact rationals);
* names ``x``, ``alpha``, ``x1``, ``w_2`` are real symbols; ``pi`` is pi and
  ``e`` is Euler's number; a function name used without a call is an error;
* ``+ - * /``, powers ``**`` and ``^`` (both mean power; right-associative,
  tighter than unary minus: ``-x**2`` is ``-(x**2)``, ``2**-x`` is allowed);
  a number written directly before a name multiplies it (``1.702x``,
  ``2exp(x)``), as publications write it; there is no other implicit
  multiplication (``2 x`` and ``x y`` are errors: write ``*``);
  ``[..]`` groups like ``(..)``;
* calls of the whitelisted functions: exp, log/ln (natural), log1p
  (log(1+u)), expm1 (exp(u)-1), tanh, sinh, cosh, sin, cos, tan, atan,
  atanh, erf, erfc, sqrt, abs, max, min (2+ arguments), sigmoid/logistic
  (1/(1+exp(-u))), relu (max(0,u)), softplus (log(1+exp(u))), sign/sgn,
  heaviside/step, sech, csch, coth, asinh; names are matched
  case-insensitively (``ReLU(x)``); so is every catalog name or alias
  (``gelu(x)``, ``LeakyReLU(x)``, ``hard_swish(x)``), built as the catalog's
  definition with its parameters free (``elu(x, 2)`` binds them in order;
  vector entries are refused); ``parse_expr(text, functions={...})``
  overrides the meaning of a name;
* a prime on a known function is its derivative (``sigmoid'(x)``); a head
  ``f'(x) = ...`` is a derivative head, whose body may use ``f(x)``;
* ``a if cond else b`` (Python's conditional) is ``Piecewise((a, cond), (b, True))``;
* ``where(cond, a, b)`` is ``Piecewise((a, cond), (b, True))``; conditions
  are comparisons ``< <= > >= == !=`` (chains ``0 < x < 1`` mean both),
  joined by ``and``/``&`` and ``or``/``|`` (``and`` binds tighter), and may
  appear only as the first argument of ``where`` or after ``if``;
* an optional head ``f(x) = ...`` (names the variable) or ``y = ...``, then
  one or more sides joined by ``=`` or the approximations ``~=`` and ``≈``
  (``f(x) = a = b ~= c``): every side is read, into
  :attr:`~symact.parse.common.ParsedFormula.links`, and ``expr`` is the first;
* Unicode as typeset text has it: ``−`` (minus), ``×`` ``·`` ``⋅`` ``∗`` (times),
  ``÷``, ``≤ ≥ ≠``, Greek letters (``π`` is pi, ``α`` the name alpha),
  superscript digits and signs as a power (``x²`` is ``x**2``, ``x⁻¹`` is
  ``x**-1``; ``x²**3`` is refused as ambiguous) and subscript digits as part
  of a name (``x₂`` is ``x_2``); any other non-ASCII character is refused,
  named with its code point.

Every expression is read within the bounds of :mod:`symact.parse.common`
(length, nesting, digits, exact numbers, exponents, terms, factors, rows);
beyond one, :class:`~symact.parse.common.FormulaBudgetError`.

The variable is the head's argument, else ``x`` if it occurs, else the only
free name that is not a Greek letter name; otherwise the formula is refused
as ambiguous.
"""
from __future__ import annotations

import re

import sympy as sp
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from symact.parse import _grammar

from symact.errors import ParseError
from symact.parse.common import (
    FormulaBudgetError,
    FUNCTIONS,
    GREEK,
    MAX_DECIMAL_EXPONENT,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NUMBER_DIGITS,
    MAX_TREE_DEPTH,
    SUBSCRIPTS,
    SUPERSCRIPTS,
    UNICODE_OPERATORS,
    Link,
    ParsedFormula,
    TreeBudget,
    UserFunctions,
    budget_error,
    build_condition,
    catalog_function,
    check_numbers,
    checked_pow,
    choose_variable,
    math_letter,
    number,
    parse_error,
    suggest,
    too_deep_message,
    unexpected_char,
    unicode_greek,
    user_function,
    unsupported_notation,
)

__all__ = ["parse_expr"]

_MAX_TREE_DEPTH = MAX_TREE_DEPTH
_MAX_NUMBER_CHARS = MAX_NUMBER_DIGITS
_MAX_DECIMAL_EXPONENT = MAX_DECIMAL_EXPONENT

_TOKEN_RE = re.compile(
    r"""(?P<space>\s+)
      | (?P<NUMBER>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
      | (?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<POW>\*\*|\^)
      | (?P<APPROX>~=|\u2248)
      | (?P<COMPOP><=|>=|==|!=|<|>)
      | (?P<CHAR>[-+*/=(),&|\[\]])
      | (?P<PRIME>'(?=\s*\())
    """,
    re.X,
)
_CHAR_TYPES = {
    "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "=": "EQ",
    "(": "_LPAR", ")": "_RPAR", ",": "_COMMA", "&": "_AND", "|": "_OR",
    "[": "_LPAR", "]": "_RPAR",
}
_WORD_TYPES = {"and": "_AND", "or": "_OR", "if": "_IF", "else": "_ELSE", "for": "_FOR"}
_OPERATOR_TYPES = {"-": "MINUS", "*": "STAR", "/": "SLASH", "<=": "COMPOP", ">=": "COMPOP",
                   "!=": "COMPOP"}
_CONSTANTS = {"pi": sp.pi, "e": sp.E}
_CALL_AHEAD_RE = re.compile(r"\s*\(")
#: sum(E), sum_j(E): the sum of E over a vector's components (softmax's denominator)
_VSUM = sp.Function("_symact_vector_sum")
_SUM_NAME_RE = re.compile(r"sum(?:_([a-z]))?")
_CONDITIONS = ("chain", "cond_and", "cond_or")
_RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
_TOKEN_NAMES = {
    "NUMBER": "a number", "NAME": "a name", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "COMPOP": "a comparison", "_POW": "'**'",
    "EQ": "'='", "APPROX": "'~='", "PRIME": "a prime '", "_LPAR": "'('", "_RPAR": "')'", "_COMMA": "','",
    "_AND": "'and'", "_OR": "'or'", "_IF": "'if'", "_ELSE": "'else'", "_FOR": "'for'", "$END": "the end of the expression",
}


def _token(type_: str, value: str, start: int, stop: int) -> Token:
    return Token(type_, value, start, 1, start + 1, 1, stop + 1, stop)


def _unicode_token(text: str, pos: int, tokens: list[Token]) -> int:
    """Read the non-ASCII spelling at ``pos`` into ``tokens``; the position after it."""
    c = text[pos]
    if c in UNICODE_OPERATORS:
        value = UNICODE_OPERATORS[c]
        tokens.append(_token(_OPERATOR_TYPES[value], value, pos, pos + 1))
        return pos + 1
    if c in SUPERSCRIPTS:  # x² is x**2, x⁻¹ is x**-1
        stop = pos
        while stop < len(text) and text[stop] in SUPERSCRIPTS:
            stop += 1
        run = "".join(SUPERSCRIPTS[ch] for ch in text[pos:stop])
        sign, digits = (run[0], run[1:]) if run[0] in "+-" else ("", run)
        if not tokens or tokens[-1].type not in ("NUMBER", "NAME", "_RPAR"):
            raise parse_error(f"a superscript ({text[pos:stop]}) must follow what it raises to "
                              "a power, as in x\u00b2", text, pos)
        if tokens[-1].type == "_POW":  # pragma: no cover - excluded by the test above
            raise parse_error("write either ** or a superscript, not both", text, pos)
        if not digits or not digits.isdigit():
            raise parse_error(f"cannot read the superscript {text[pos:stop]!r}: expected digits "
                              "after at most one sign, as in x\u207b\u00b9", text, pos)
        if len(digits) > _MAX_NUMBER_CHARS:
            raise budget_error(f"superscript number longer than {_MAX_NUMBER_CHARS} digits",
                               text, pos)
        tokens.append(_token("_POW", "**", pos, pos + 1))
        if sign:
            tokens.append(_token("MINUS" if sign == "-" else "PLUS", sign, pos, pos + 1))
        tokens.append(_token("NUMBER", digits, pos + len(sign), stop))
        rest = _TOKEN_RE.match(text, stop)
        if rest is not None and rest.lastgroup == "space":
            rest = _TOKEN_RE.match(text, rest.end())
        if rest is not None and rest.lastgroup == "POW":
            raise parse_error(f"a power after the superscript {text[pos:stop]} is ambiguous: "
                              "write (x\u00b2)**3 or x**(2**3)", text, rest.start())
        return stop
    if c in SUBSCRIPTS:  # x₂ is the name x_2
        stop = pos
        while stop < len(text) and text[stop] in SUBSCRIPTS:
            stop += 1
        prev = tokens[-1] if tokens else None
        if prev is None or prev.type != "NAME" or prev.end_pos != pos:
            raise parse_error(f"a subscript ({text[pos:stop]}) must follow a name, as in "
                              "x\u2082 (the name x_2)", text, pos)
        digits = "".join(SUBSCRIPTS[ch] for ch in text[pos:stop])
        tokens[-1] = _token("NAME", f"{prev.value}_{digits}", prev.start_pos, stop)
        return stop
    greek = unicode_greek(c)
    letter = math_letter(c)
    if greek is not None or letter is not None:
        tokens.append(_token("NAME", greek or letter, pos, pos + 1))
        return pos + 1
    if c == "\u221e":
        raise parse_error("infinity is not a value here", text, pos)
    raise parse_error(unexpected_char(c), text, pos)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    openers: list[tuple[str, int]] = []
    depth = 0
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            c = text[pos]
            if not c.isascii():
                pos = _unicode_token(text, pos, tokens)
                continue
            if c == "{" and tokens and tokens[-1].type == "_POW":
                # e^{x}: TeX braces around an exponent group it, as parentheses do
                depth += 1
                if depth > MAX_DEPTH:
                    raise budget_error(f"the expression is nested more than {MAX_DEPTH} levels "
                                       f"deep (parentheses); symact reads at most {MAX_DEPTH}",
                                       text, pos)
                openers.append(("{", pos))
                tokens.append(_token("_LPAR", "{", pos, pos + 1))
                pos += 1
                continue
            if c == "}" and openers and openers[-1][0] == "{":
                depth -= 1
                openers.pop()
                tokens.append(_token("_RPAR", "}", pos, pos + 1))
                pos += 1
                continue
            hint = " (strings and attribute access are not part of the language)" \
                if c in "'\".[]{}_:;" else ""
            if not c.isprintable():
                raise parse_error(unexpected_char(c), text, pos)
            raise parse_error(f"unexpected character {c!r}{hint}", text, pos)
        kind = m.lastgroup
        value = m.group()
        if kind == "space":
            pos = m.end()
            continue
        if kind == "NUMBER":
            if len(value) > _MAX_NUMBER_CHARS:
                raise budget_error(f"number longer than {_MAX_NUMBER_CHARS} characters (it has "
                                   f"{len(value)}); symact reads numbers of at most "
                                   f"{_MAX_NUMBER_CHARS}", text, pos)
            exp = re.search(r"[eE]([+-]?[0-9]+)$", value)
            if exp and abs(int(exp.group(1))) > _MAX_DECIMAL_EXPONENT:
                raise budget_error(f"decimal exponent too large: symact reads exponents up to "
                                   f"e{_MAX_DECIMAL_EXPONENT} in absolute value",
                                   text, pos + exp.start())
            type_ = "NUMBER"
        elif kind == "NAME":
            type_ = _WORD_TYPES.get(value, "NAME")
            if (type_ == "NAME" and tokens and tokens[-1].type == "NUMBER"
                    and tokens[-1].end_pos == pos):
                # 1.702x, 2exp(x): a number written directly before a name multiplies it
                tokens.append(_token("STAR", "*", pos, pos))
            elif (type_ == "NAME" and tokens and tokens[-1].type in ("NAME", "NUMBER", "_RPAR")
                    and tokens[-1].end_pos < pos and value.lower() in FUNCTIONS
                    and _CALL_AHEAD_RE.match(text, m.end())):
                # 1/a exp(x_i): a space before a known function's call multiplies
                tokens.append(_token("STAR", "*", pos, pos))
        elif kind == "POW":
            type_ = "_POW"
        elif kind == "COMPOP":
            type_ = "COMPOP"
        elif kind == "APPROX":
            type_ = "APPROX"
        elif kind == "PRIME":
            if not tokens or tokens[-1].type != "NAME" or tokens[-1].end_pos != pos:
                raise parse_error("unexpected character \"'\" (a prime marks a derivative, as in "
                                  "f'(x))", text, pos)
            type_ = "PRIME"
        else:
            type_ = _CHAR_TYPES[value]
            if type_ == "_LPAR":
                depth += 1
                if depth > MAX_DEPTH:
                    raise budget_error(f"the expression is nested more than {MAX_DEPTH} levels "
                                       f"deep (parentheses); symact reads at most {MAX_DEPTH}",
                                       text, pos)
                openers.append((value, pos))
            elif type_ == "_RPAR":
                depth -= 1
                want = "(" if value == ")" else "["
                if openers and openers[-1][0] != want:
                    if openers[-1][0] == "{":
                        raise parse_error(f"'{value}' does not match the '{{' opened at column "
                                          f"{openers[-1][1] + 1}", text, pos)
                    raise parse_error(f"'{value}' does not match the '{openers[-1][0]}' opened at "
                                      f"column {openers[-1][1] + 1}", text, pos)
                if openers:
                    openers.pop()
        tokens.append(_token(type_, value, pos, m.end()))
        pos = m.end()
    return tokens


def _check_budget(tree: Tree, text: str) -> None:
    """Check the tree's depth and count its terms, factors and where-rows, before any
    SymPy work (linear)."""
    budget = TreeBudget(text, "expression")
    for node in budget.walk(tree, _pos):
        if node.data == "sum":
            budget.add("terms", node.children[1::2], _pos)
        elif node.data == "term":
            budget.add("factors", node.children[1::2], _pos)
        elif (node.data == "call" and node.children[0].value == "where") or node.data == "ternary":
            budget.add("rows", [node], _pos)


def _syntax_error(exc: UnexpectedInput, text: str, tokens: list[Token]) -> ParseError:
    token = getattr(exc, "token", None)
    expected = sorted(_TOKEN_NAMES.get(t, t) for t in (getattr(exc, "expected", None) or ()))
    if token is None or token.type == "$END":
        pos, what, prev = len(text.rstrip()), "unexpected end of the expression", \
            (tokens[-1] if tokens else None)
    else:
        pos, what = token.start_pos, f"unexpected {token.value!r}"
        idx = next((k for k, t in enumerate(tokens) if t.start_pos == pos), 0)
        prev = tokens[idx - 1] if idx > 0 else None
    message = what + (f"; expected {', '.join(expected)}" if expected else "")
    if (token is not None and prev is not None and prev.type in ("NUMBER", "NAME", "_RPAR")
            and token.type in ("NUMBER", "NAME", "_LPAR")):
        message += "; there is no implicit multiplication: write * (e.g. 2*x)"
    return parse_error(message, text, pos)


def _pos(node) -> int | None:
    if isinstance(node, Token):
        return node.start_pos
    if isinstance(node, Tree) and not node.meta.empty:
        return node.meta.start_pos
    if isinstance(node, Tree):
        for child in node.children:
            p = _pos(child)
            if p is not None:
                return p
    return None


def _is(node, data: str) -> bool:
    return isinstance(node, Tree) and node.data == data


class _Builder:
    def __init__(self, text: str, head_name: str | None, dependent: str | None,
                 functions: UserFunctions | None = None):
        self.text = text
        self.functions = functions
        self.derivative = False
        self.self_refs: set[str] = set()
        self.head_name = head_name
        self.dependent = dependent
        self.symbols: dict[str, sp.Symbol] = {}
        self.depth = 0
        self.vector_sums = False

    def fail(self, message: str, node) -> ParseError:
        return parse_error(message, self.text, _pos(node))

    def too_deep(self, node) -> ParseError:
        return budget_error(too_deep_message("expression"), self.text, _pos(node))

    def checked(self, value, node, levels: int = 2):
        return check_numbers(value, lambda m: budget_error(m, self.text, _pos(node)), levels)

    def build(self, node):
        self.depth += 1
        try:
            if self.depth > _MAX_TREE_DEPTH + 1:  # the tree's depth is checked before
                raise self.too_deep(node)
            if node.data in _CONDITIONS:
                raise self.fail("a comparison is only allowed as the first argument of "
                                "where(cond, a, b)", node)
            method = getattr(self, f"b_{node.data}", None)
            if method is None:  # pragma: no cover - every rule has a builder
                raise self.fail(f"'{node.data}' is not allowed here", node)
            return method(node)
        except ParseError:
            raise
        except RecursionError:
            raise self.too_deep(node) from None
        except Exception as exc:  # SymPy refused to build something
            raise self.fail(f"cannot build this part of the expression "
                            f"({type(exc).__name__}: {exc})", node) from None
        finally:
            self.depth -= 1

    def b_number(self, node):
        return number(node.children[0].value)

    def b_name(self, node):
        tok = node.children[0]
        name = tok.value
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name.lower() in FUNCTIONS or name == "where":
            raise self.fail(f"{name} is a function; call it as {name}(...)", tok)
        if name == self.head_name:
            raise self.fail(f"{name} is the function being defined; it cannot appear on the "
                            "right", tok)
        if name == self.dependent:
            raise self.fail(f"{name} is the left-hand side and cannot appear on the right", tok)
        return self.symbol(name)

    def symbol(self, name: str) -> sp.Symbol:
        if name not in self.symbols:
            self.symbols[name] = sp.Symbol(name, real=True)
        return self.symbols[name]

    def b_sum(self, node):
        terms = [self.build(node.children[0])]
        for op, child in zip(node.children[1::2], node.children[2::2]):
            value = self.build(child)
            terms.append(value if op.type == "PLUS" else -value)
        return self.checked(sp.Add(*terms), node)

    def b_term(self, node):
        value = self.build(node.children[0])
        for op, child in zip(node.children[1::2], node.children[2::2]):
            right = self.build(child)
            value = self.checked(value * right if op.type == "STAR" else value / right, child)
        return value

    def b_sign(self, node):
        value = self.build(node.children[1])
        return self.checked(-value, node) if node.children[0].type == "MINUS" else value

    def b_power(self, node):
        base, exponent = (self.build(c) for c in node.children)
        fail = lambda m: budget_error(m, self.text, _pos(node.children[1]))  # noqa: E731
        return check_numbers(checked_pow(base, exponent, fail), fail)

    def b_call(self, node):
        tok, args = node.children
        name = tok.value
        arg_nodes = args.children
        if name == "where":
            if len(arg_nodes) != 3:
                raise self.fail("where takes three arguments: where(cond, a, b)", node)
            if not (isinstance(arg_nodes[0], Tree) and arg_nodes[0].data in _CONDITIONS):
                raise self.fail("where's first argument must be a comparison such as x > 0",
                                arg_nodes[0])
            cond = self.condition(arg_nodes[0])
            return sp.Piecewise((self.build(arg_nodes[1]), cond), (self.build(arg_nodes[2]), True))
        if name == self.head_name:
            if not self.derivative:
                raise self.fail(f"the expression defines {name} in terms of itself", tok)
            self.self_refs.add(name)  # f'(x) = f(x)*(1 - f(x))
            return sp.Function(name)(*(self.build(a) for a in arg_nodes))
        user = user_function(self.functions, name)
        if user is not None:
            if len(arg_nodes) != 1:
                raise self.fail(f"{name} takes 1 argument, not {len(arg_nodes)}", node)
            arg = self.build(arg_nodes[0])
            try:
                value = user(arg)
            except Exception as exc:  # the caller's function refused the argument
                raise self.fail(f"the definition given for {name} cannot be applied here "
                                f"({type(exc).__name__}: {exc})", tok) from None
            if not isinstance(value, sp.Expr):
                raise self.fail(f"the definition given for {name} is not an expression", tok)
            return self.checked(value, node, levels=4)
        spec = FUNCTIONS.get(name.lower())
        vsum = _SUM_NAME_RE.fullmatch(name)
        if spec is None and vsum is not None:
            if len(arg_nodes) != 1:
                raise self.fail(f"{name} takes one argument, the summand", node)
            self.vector_sums = True
            index = sp.Symbol(vsum.group(1), integer=True) if vsum.group(1) else sp.Integer(0)
            return _VSUM(self.build(arg_nodes[0]), index)
        if spec is None:
            try:
                build = catalog_function(name, self.symbol)
            except ValueError as exc:
                raise self.fail(str(exc), tok) from None
            if build is not None:
                if not 1 <= len(arg_nodes) <= build.max_args:
                    want = "1" if build.max_args == 1 else \
                        f"1 to {build.max_args} (the variable, then the parameters)"
                    raise self.fail(f"{name} takes {want} argument(s), not {len(arg_nodes)}",
                                    node)
                return self.checked(build(*(self.build(a) for a in arg_nodes)), node, levels=4)
            known = sorted(FUNCTIONS) + ["where"]
            raise self.fail(f"unknown function '{name}'{suggest(name.lower(), known)}; "
                            f"known functions: {', '.join(known)}", tok)
        if not spec.min_args <= len(arg_nodes) <= spec.max_args:
            want = (str(spec.min_args) if spec.min_args == spec.max_args
                    else f"{spec.min_args} to {spec.max_args}")
            raise self.fail(f"{name} takes {want} argument(s), not {len(arg_nodes)}", node)
        return self.checked(spec.build(*(self.build(a) for a in arg_nodes)), node, levels=4)

    def b_dcall(self, node):
        """``sigmoid'(x)`` in a body: the derivative of a known function."""
        tok, _prime, args = node.children
        if tok.value == self.head_name:
            raise self.fail("a derivative such as f'(x) may only appear in the head", tok)
        if len(args.children) != 1:
            raise self.fail(f"{tok.value}'(...) takes one argument", node)
        arg = self.build(args.children[0])
        u = sp.Dummy("u", real=True)
        call = Tree("call", [tok, Tree("args", [Tree("name", [Token("NAME", "__u__")])])])
        self.symbols["__u__"] = u
        try:
            value = sp.diff(self.b_call(call), u).xreplace({u: arg})
        finally:
            del self.symbols["__u__"]
        return self.checked(value, node, levels=4)

    def b_ternary(self, node):
        """``a if cond else b`` (Python's conditional expression)."""
        value, cond, other = node.children
        return sp.Piecewise((self.build(value), self.condition(cond)), (self.build(other), True))

    def condition(self, node):
        return build_condition(self, node, _RELATIONS, "expected a comparison such as x > 0")


def _read_head(lhs, text: str) -> tuple[str | None, str | None, str | None]:
    """(function name, variable, dependent name) from the left of '='."""
    if _is(lhs, "name"):
        return None, None, lhs.children[0].value
    if _is(lhs, "call") or _is(lhs, "dcall"):
        tok, args = lhs.children[0], lhs.children[-1]
        if len(args.children) == 1 and _is(args.children[0], "name"):
            var = args.children[0].children[0].value
            if var == tok.value:
                raise parse_error("the variable cannot have the function's name", text, _pos(lhs))
            return tok.value, var, None
    raise parse_error("cannot read the left of '=' as a head; write f(x) = ... or y = ...",
                      text, _pos(lhs))


def parse_expr(text: str, *, functions: UserFunctions | None = None) -> ParsedFormula:
    """Read a plain-text formula (see the module docstring for the language).

    ``functions`` maps names to builders that override the builtin meaning of a
    name called with one argument (``{"sigma": sympy.tanh}``).

    Raises :class:`~symact.errors.ParseError`, whose message names the column
    and shows a caret excerpt, for anything outside the language.
    """
    try:
        return _parse_expr(text, functions)
    except ParseError as exc:
        better = unsupported_notation(text, exc)
        if better is exc:
            raise
        raise better from None


def _parse_expr(text: str, functions: UserFunctions | None) -> ParsedFormula:
    """The reader itself (see the public function)."""
    if not isinstance(text, str):
        raise ParseError(f"an expression must be a string, not {type(text).__name__}", "", None)
    if len(text) > MAX_LENGTH:
        raise budget_error(f"the expression is longer than {MAX_LENGTH} characters (it has "
                           f"{len(text)}); symact reads at most {MAX_LENGTH}", text, MAX_LENGTH)
    if not text.strip():
        raise parse_error("the expression is empty", text, 0)
    notes: list[str] = []
    clause = _WHERE_CLAUSE_RE.search(text)
    stop = len(text)
    if clause is not None:
        stop = len(text[:clause.start()].rstrip().removesuffix(","))
    tokens = _tokenize(text[:stop])
    try:
        tree = _grammar.load("expr").parse(tokens)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, tokens) from None
    _check_budget(tree, text)
    if tree.data == "rows":
        items = [tree.children[0].children[0], tree]
        relations = ["="]
    else:
        items = tree.children[0::2]
        relations = ["approx" if tok.type == "APPROX" else "=" for tok in tree.children[1::2]]
    if len(items) > 1:
        head, var_name, dependent = _read_head(items[0], text)
        derivative = _is(items[0], "dcall")
        sides = items[1:]
    else:
        head = var_name = dependent = None
        derivative = False
        sides = items
        relations = ["="]
    builder = _Builder(text, head, dependent, functions)
    builder.derivative = derivative
    values = []
    for side in sides:
        value = _build_rows(builder, side, text, (head, var_name, dependent)) \
            if _is(side, "rows") else builder.build(side)
        if value.has(sp.nan, sp.zoo):
            raise parse_error("the expression is undefined (a division by zero or log 0?)",
                              text, _pos(side))
        values.append(value)
    if clause is not None:
        if clause.group(1) in (var_name, head, dependent):
            raise parse_error(f"the 'where' clause cannot define {clause.group(1)}, the formula's "
                              "head or variable", text, clause.start(1))
        values = _substitute_clause(values, clause, builder, functions, notes)
    names = set().union(*({s.name for s in v.free_symbols if isinstance(s, sp.Symbol)}
                          for v in values))
    if var_name is None:
        var_name = choose_variable(
            names, {n for n in names if n.split("_")[0] in GREEK},
            lambda m: parse_error(m, text, _pos(sides[0]))) or "x"
    variable = builder.symbols.get(var_name) or sp.Symbol(var_name, real=True)
    is_vector, index, sizes = False, None, ()
    if builder.vector_sums:
        values, variable, index, hidden = _vectorize(values, var_name, head)
        is_vector, sizes = True, ("n",)
        names = set().union(*({s.name for s in v.free_symbols if isinstance(s, sp.Symbol)}
                              for v in values)) - hidden
    expr = values[0]
    links = []
    for relation, side, value in zip(relations, sides, values):
        start = _pos(side) or 0
        if _is(side, "rows"):
            start = _pos(side.children[0].children[2]) or 0
        stop_ = side.end_pos if isinstance(side, Token) else (
            side.meta.end_pos if not side.meta.empty else len(text))
        links.append(Link(relation, value, text[start:stop_].strip(), start))
    return ParsedFormula(
        expr=expr,
        variable=variable,
        head=head,
        is_derivative=derivative,
        self_references=tuple(sorted(builder.self_refs)),
        source=text,
        parameters=tuple(sorted(names - {var_name})),
        is_vector=is_vector,
        index=index,
        sizes=sizes,
        language="expr",
        links=tuple(links),
        notes=tuple(notes),
    )


#: ", where a = sum_j exp(x_j)": a trailing clause that defines a symbol
_WHERE_CLAUSE_RE = re.compile(r"(?<=[\s,])where\s+([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)\s*(\S.*)$", re.S)
_BARE_SUM_RE = re.compile(r"(sum(?:_[a-z])?)\s+(?!\()(\S.*)$", re.S)


def _build_rows(builder, rows: Tree, text: str, head) -> sp.Expr:
    """``y = a for x <= 0, y = b for x > 0``: a Piecewise, each row repeating the head."""
    pieces = []
    for row in rows.children:
        lhs, _eq, rhs, cond = row.children
        if _read_head(lhs, text) != head:
            raise parse_error("every 'for' row must repeat the same left-hand side",
                              text, _pos(lhs))
        pieces.append((builder.build(rhs), builder.condition(cond)))
    return sp.Piecewise(*pieces)


def _substitute_clause(values, clause, builder, functions, notes):
    """Substitute the symbol that a trailing ``where NAME = EXPR`` clause defines."""
    name, rhs = clause.group(1), clause.group(2).rstrip().removesuffix(".").rstrip()
    bare = _BARE_SUM_RE.fullmatch(rhs)
    if bare is not None:  # sum_j exp(x_j): the sum's summand is the rest of the clause
        rhs = f"{bare.group(1)}({bare.group(2)})"
    try:
        tokens = _tokenize(rhs)
        try:
            tree = _grammar.load("expr").parse(tokens)
        except UnexpectedInput as exc:
            raise _syntax_error(exc, rhs, tokens) from None
        if tree.data == "rows" or len(tree.children) != 1:
            raise parse_error("a 'where' clause must define one name by one expression", rhs, 0)
        _check_budget(tree, rhs)
        sub = _Builder(rhs, builder.head_name, builder.dependent, functions)
        sub.symbols = builder.symbols
        value = sub.build(tree.children[0])
    except ParseError as exc:  # name the place in the whole formula
        first = re.sub(r"\s*\(at (line \d+, )?column \d+\)$", "", str(exc).splitlines()[0])
        pos = clause.start(2) + min(exc.position or 0, len(clause.group(2)))
        error = budget_error if isinstance(exc, FormulaBudgetError) else parse_error
        raise error(f"in the 'where' clause: {first}", builder.text, pos) from None
    builder.vector_sums = builder.vector_sums or sub.vector_sums
    symbol = builder.symbols.get(name)
    if symbol is None or not any(v.has(symbol) for v in values):
        raise parse_error(f"the 'where' clause defines {name}, which the formula does not use",
                          builder.text, clause.start(1))
    if value.has(symbol):
        raise parse_error(f"the 'where' clause defines {name} in terms of itself",
                          builder.text, clause.start(2))
    shown = clause.group(2).rstrip().removesuffix(".").rstrip()
    notes.append(f"substituted {name} = {shown} from the 'where' clause")
    return [v.xreplace({symbol: value}) for v in values]


def _vectorize(values, var_name: str, head: str | None):
    """Read plain-text vector sums: ``sum(exp(x))`` and ``sum_j(exp(x_j))`` are sums over
    the components of the vector ``x`` (as LaTeX's ``\\sum_j`` is read); outside a sum,
    ``x`` and ``x_i`` are the component i (the head's subscript, as in ``f_i(x)``)."""
    base = sp.IndexedBase(var_name, real=True)
    m = re.fullmatch(r"[A-Za-z]\w*_([a-z])", head or "")
    i = sp.Symbol(m.group(1) if m else "i", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    plain = sp.Symbol(var_name, real=True)
    indices = {i.name}

    def components(expr, default):
        repl = {plain: base[default]}
        for s in expr.free_symbols:
            if isinstance(s, sp.Symbol) and s.name.startswith(var_name + "_") \
                    and re.fullmatch(r"[a-z]", s.name[len(var_name) + 1:]):
                k = s.name[len(var_name) + 1:]
                indices.add(k)
                repl[s] = base[sp.Symbol(k, integer=True)]
        return expr.xreplace(repl)

    inner = sp.IndexedBase(sp.Dummy(var_name), real=True)  # kept apart from the outer x

    def vsum(summand, index):
        j = index if index != 0 else sp.Symbol("j" if i.name != "j" else "k", integer=True)
        indices.add(j.name)
        return sp.Sum(components(summand, j).xreplace({base: inner}), (j, 1, n))

    out = [components(v.replace(_VSUM, vsum), i).xreplace({inner: base}) for v in values]
    hidden = indices | {"n", var_name}
    return out, base.label, i.name, hidden
