r"""The tree walker of the LaTeX reader (:mod:`symact.parse.latex`): from the
Lark tree of ``_grammar/latex.lark`` to SymPy objects.

* tree helpers (positions, scripts, names, summation heads);
* :func:`_read_head` reads the head (``f(x) =``, ``\sigma(u) =``,
  ``f'(x) =``, ``\frac{d}{dx} f(x) =``, ``y =``, ``softmax(x)_i =``) into a
  :class:`_Head`;
* :class:`_Analysis` is a pre-pass over the body that finds sums, their
  indices and bounds, and the names used as vectors;
* :class:`_Builder` builds the SymPy expression: function application with
  the whitelist :data:`~symact.parse.common.FUNCTIONS`, letters used as
  functions, self references, sums, ``cases`` as ``Piecewise``.

The rules it implements are described in :mod:`symact.parse.latex`.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from lark import Token, Tree

from symact.errors import ParseError
from symact.parse.common import (
    APPLICABLE_SYMBOLS,
    FUNCTIONS,
    MAX_TREE_DEPTH,
    _is,
    budget_error,
    build_condition,
    catalog_function,
    catalog_name,
    check_numbers,
    checked_pow,
    user_function,
    number,
    parse_error,
    suggest,
    too_deep_message,
)

#: Letters that look like a call of an undefined function before ``( )``.
_FUNCTION_LETTERS = frozenset("fgh")


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
        return [_leibniz_d(tok)]
    if _is(node, "product"):
        names = []
        for k, item in enumerate(node.children):
            tok = _name_token(item)
            if tok is None:
                return None
            names.append(_leibniz_d(tok) if k == 0 else tok.value)
        return names
    return None


def _leibniz_d(tok: Token) -> str:
    """``d`` for the d, \\delta or \\partial of Leibniz's notation (\\partial is read as d)."""
    return "d" if tok.type == "GREEK" and tok.value == "delta" else tok.value


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


def _vector_catalog_call(node):
    """(catalog entry, vector name token, index token or None) for a vector catalog
    function applied to a vector, as in ``\\log(\\text{Softmax}(x_i))``
    (``\\text{Softmax}(x)``); else None."""
    if not _is(node, "call") or len(node.children) < 2:
        return None
    fname, delim = node.children[0], node.children[1]
    tok = fname.children[0] if _is(fname, "fname") and fname.children else None
    if not isinstance(tok, Token) or not _is(delim, "paren"):
        return None
    canon = catalog_name(tok.value)
    if canon is None:
        return None
    from symact.model import catalog

    act = catalog.get(canon)
    if not act.vector:
        return None
    args = delim.children[0].children
    if len(args) != 1:
        return None
    arg = args[0]
    if isinstance(arg, Token) and arg.type == "LETTER":
        return act, arg, None
    if _is(arg, "npost"):
        base, primes, sup, sub = _npost_parts(arg)
        if (isinstance(base, Token) and base.type == "LETTER" and not primes and sup is None):
            if sub is None:
                return act, base, None
            content = _sarg_content(sub)
            if isinstance(content, Token) and content.type == "LETTER":
                return act, base, content
    return None


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
    var_sub: str | None = None      # i in softmax(x_i) = ... (vector index or part of the name)
    extra: tuple[str, ...] = ()     # beta in logit(x, beta) = ...: parameters


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
        names = []
        for arg in args:
            tok = _name_token(arg)
            if tok is not None:
                names.append(tok.value)
                continue
            if _is(arg, "npost") and len(arg.children) == 2 and not names:
                base, primes, sup, sub = _npost_parts(arg)
                suffix = _subscript_text(sub) if sub is not None else None
                if (isinstance(base, Token) and base.type in ("LETTER", "GREEK") and not primes
                        and sup is None and suffix is not None):
                    head.var_sub = suffix  # softmax(x_i), \phi(v_i)
                    names.append(base.value)
                    continue
            names = []
            break
        if not names:
            raise fail("the head must name its variable, as in f(x) (further arguments, as in "
                       "f(x, \\beta), are parameters)", delim)
        head.extra = tuple(names[1:])
        return names[0]

    def one_prime(primes: int, node) -> None:
        if primes > 1:
            raise parse_error(f"a derivative of order {primes} is not supported: symact reads "
                              "functions and first derivatives (f'(x) = ...)", text, _pos(node))

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
            one_prime(len(rest[0].children), rest[0])
            head.derivative = True
            rest = rest[1:]
        head.variable = arg_name(rest[0])
        head.index = sub_index(rest[1] if len(rest) > 1 else None)
    elif len(items) == 2 and _is(items[0], "npost") and _is(items[1], "dpost"):
        base, primes, sup, sub = _npost_parts(items[0])
        suffix = _subscript_text(sub) if sub is not None else None
        if not (isinstance(base, Token) and base.type in ("LETTER", "GREEK")) or (
                sub is not None and suffix is None):
            raise fail("cannot read this as a function name")
        if sup is not None:
            if not _is(sup, "sprimes"):
                raise fail("a superscript is not allowed on the head's name", sup)
            primes += len(sup.children)
        if primes:
            if head.derivative:
                raise fail("use either a prime or d/dx, not both", items[0])
            one_prime(primes, items[0])
            head.derivative = True
        head.name = base.value if suffix is None else f"{base.value}_{suffix}"  # swish_1(x)
        dpost = items[1]
        head.variable = arg_name(dpost.children[0])
        head.index = sub_index(dpost.children[1] if len(dpost.children) > 1 else None)
    elif len(items) == 1 and _is(items[0], "npost"):
        base, primes, sup, sub = _npost_parts(items[0])
        if not (isinstance(base, Token) and base.type in ("LETTER", "GREEK")) or sup is not None:
            raise fail("cannot read the left-hand side as a head")
        if primes:
            one_prime(primes, items[0])
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
_INVERSES = {"tanh": sp.atanh, "sinh": sp.asinh, "cosh": sp.acosh, "sin": sp.asin,
             "cos": sp.acos, "tan": sp.atan}
_RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "=": sp.Eq, "!=": sp.Ne}


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
                elif isinstance(upper, Tree):  # \sum_{j=0}^{N-1}: N is the size
                    for tok in upper.scan_values(lambda v: isinstance(v, Token)):
                        if tok.type in ("LETTER", "GREEK") and tok.value != index.value:
                            self.size_names.add(tok.value)
            for sub in node.iter_subtrees():
                if _is(sub, "npost"):
                    base, _, _, s = _npost_parts(sub)
                    if (s is not None and isinstance(base, Token) and base.type in ("LETTER", "GREEK")
                            and _subscript_text(s) == index.value):
                        self.vector_bases.add(base.value)
        for sub in body.iter_subtrees():
            found = _vector_catalog_call(sub)
            if found is not None:  # \log(\text{Softmax}(x_i)): x is a vector, summed over j
                _act, base, index = found
                self.vector_bases.add(base.value)
                self.index_names.update((index.value if index is not None else "i", "j"))
                self.size_names.add("n")
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
    def __init__(self, text: str, head: _Head, analysis: _Analysis, functions=None):
        self.text = text
        self.functions = functions
        self.head = head
        self.an = analysis
        self.symbols: dict[str, sp.Symbol] = {}
        self.bases: dict[str, sp.IndexedBase] = {}
        self.self_refs: set[str] = set()
        self.depth = 0

    # -- errors and symbols ----------------------------------------------------
    def fail(self, message: str, node) -> ParseError:
        return parse_error(message, self.text, _pos(node))

    def too_deep(self, node) -> ParseError:
        return budget_error(too_deep_message(), self.text, _pos(node))

    def checked(self, value, node, levels: int = 2):
        """``value`` after :func:`~symact.parse.common.check_numbers` (errors at ``node``)."""
        return check_numbers(value, lambda m: budget_error(m, self.text, _pos(node)), levels)

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
            if self.depth > MAX_TREE_DEPTH + 1:  # the tree's depth is checked before
                raise self.too_deep(node)
            if isinstance(node, Token):
                return self.atom(node)
            method = getattr(self, f"b_{node.data}", None)
            if method is None:
                raise self.fail(f"'{node.data}' is not allowed here", node)
            return method(node)
        except ParseError:
            raise
        except RecursionError:
            raise self.too_deep(node) from None
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
        return self.checked(sp.Add(*terms), node)

    def b_term(self, node):
        value = self.build(node.children[0])
        for op, child in zip(node.children[1::2], node.children[2::2]):
            if op.type == "DIV" and _is(child, "product"):
                raise self.fail("ambiguous division: the divisor is an implicit product "
                                "(is 1/2x 1/(2x) or x/2?); write \\frac{..}{..} or add parentheses",
                                child)
            right = self.build(child)
            value = self.checked(value * right if op.type == "MUL" else value / right, child)
        return value

    def b_neg(self, node):
        return self.checked(-self.build(node.children[1]), node)

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
        return self.checked(num / den, node)

    def b_sqrt(self, node):
        if len(node.children) == 3:
            degree = self.build(node.children[1])
            radicand = self.build(node.children[2])
            if isinstance(degree, sp.Rational) and degree != 0:
                return self.checked(checked_pow(radicand, 1 / degree,
                                                lambda m: budget_error(m, self.text, _pos(node))),
                                    node)
            return self.checked(sp.root(radicand, degree), node)
        return self.checked(sp.sqrt(self.build(node.children[1])), node)

    # -- juxtaposition and function application ----------------------------------------
    def b_product(self, node):
        return self.checked(sp.Mul(*(value for value, _ in self.factors(node.children))), node)

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
        user = None if is_head else user_function(self.functions, name)
        if not (is_head or user is not None or name in APPLICABLE_SYMBOLS
                or name in _FUNCTION_LETTERS):
            return None
        if sub is not None:
            return None  # \sigma_1 (x) is a product with a subscripted symbol
        order = primes + (len(sup.children) if _is(sup, "sprimes") else 0)
        if order and (is_head or not (user is not None or name in APPLICABLE_SYMBOLS)):
            raise self.fail("a derivative such as f'(x) may only appear in the head", item)
        if order:  # \sigma'(x) in a body: the derivative of the sigmoid
            if order > 1 or (sup is not None and not _is(sup, "sprimes")):
                raise self.fail("only first derivatives (\\sigma'(x)) are read", item)
            args = [self.build(a) for a in dpost.children[0].children[0].children]
            if len(args) != 1:
                raise self.fail(f"{name}'(...) takes one argument", dpost)
            build = (lambda u: self.call_user(user, name, u, item)) if user is not None \
                else APPLICABLE_SYMBOLS[name]
            value = self.checked(self.derivative(build, args[0], item), item, levels=4)
            return self.apply_scripts(value, dpost.children[1] if len(dpost.children) > 1 else None)
        power = None
        if sup is not None:
            content = _sarg_content(sup)
            exponent = None if _is(content, "sprimes") or _is(content, "splus") \
                else self.build(content)
            if is_head or not (isinstance(exponent, sp.Integer) and exponent > 0):
                raise self.fail(f"ambiguous power of a function: write {name}(x)^2 for the "
                                "square, or put a \\cdot before the parenthesis for a product",
                                item)
            power = exponent
        args = [self.build(a) for a in dpost.children[0].children[0].children]
        if is_head:
            value = self.self_reference(name, args, item)
        elif user is not None:
            if len(args) != 1:
                raise self.fail(f"{name}(...) takes one argument", dpost)
            value = self.checked(self.call_user(user, name, args[0], item), item, levels=4)
        elif name in APPLICABLE_SYMBOLS:
            if len(args) != 1:
                raise self.fail(f"{name}(...) takes one argument", dpost)
            value = self.checked(APPLICABLE_SYMBOLS[name](args[0]), item, levels=4)
        else:
            raise self.fail(f"{name}(...) looks like a call of an undefined function {name}; "
                            f"name it in the head (f'(x) = ...) or write {name} \\cdot (...) "
                            "for a product", item)
        if power is not None:
            fail = lambda m: budget_error(m, self.text, _pos(sup))  # noqa: E731
            value = check_numbers(checked_pow(value, power, fail), fail)
        return self.apply_scripts(value, dpost.children[1] if len(dpost.children) > 1 else None)

    def self_reference(self, name: str, args, node):
        if not self.head.derivative:
            raise self.fail(f"the formula defines {name} in terms of itself; only a derivative "
                            f"head such as {name}'(x) = may refer to {name}", node)
        self.self_refs.add(name)
        return sp.Function(name)(*args)

    def apply_scripts(self, value, scripts):
        sup, sub = _scripts(scripts)
        if sub is not None and _is(sub, "splus") and sup is None:
            return sp.Max(value, 0)  # [x]_+, the positive part
        if sub is not None:
            raise self.fail("a subscript is only allowed on a name (x_i)", sub)
        if sup is not None:
            value = self.power(value, sup)
        return value

    def power(self, value, sup):
        content = _sarg_content(sup)
        if _is(content, "splus"):
            return sp.Max(value, 0)  # x^+, (x)^+: the positive part
        if _is(content, "sprimes"):
            raise self.fail("a derivative mark ^{\\prime} may only appear in the head", sup)
        exponent = self.build(content)
        fail = lambda m: budget_error(m, self.text, _pos(sup))  # noqa: E731
        return check_numbers(checked_pow(value, exponent, fail), fail)

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
        if primes:  # \tanh'(x), \mathrm{GELU}'(x) in a body: the derivative
            if primes > 1:
                raise self.fail("only first derivatives (\\tanh'(x)) are read", node)
            if len(args) != 1:
                raise self.fail(f"{name}'(...) takes one argument", node)
            value = self.derivative(lambda u: self.apply_function(fname, [u], node), args[0], node)
            return self.checked(value, node, levels=4)
        user = user_function(self.functions, name)
        if user is not None:
            if len(args) != 1:
                raise self.fail(f"{name} takes 1 argument, not {len(args)}", node)
            return self.checked(self.call_user(user, name, args[0], node), node, levels=4)
        spec = FUNCTIONS.get(name.lower())
        if spec is None:
            value = self.catalog_call(name, args, node, inner)
            if value is not None:
                return value
            raise self.fail(f"unknown function '{name}'{suggest(name.lower(), FUNCTIONS)}; "
                            f"known functions: {', '.join(sorted(FUNCTIONS))}", inner)
        if not spec.min_args <= len(args) <= spec.max_args:
            want = (str(spec.min_args) if spec.min_args == spec.max_args
                    else f"{spec.min_args} to {spec.max_args}")
            raise self.fail(f"{name} takes {want} argument(s), not {len(args)}", node)
        return self.checked(spec.build(*args), node, levels=4)

    def derivative(self, build, arg, node):
        """The derivative of the function ``build`` at ``arg``."""
        u = sp.Dummy("u", real=True)
        return sp.diff(build(u), u).xreplace({u: arg})

    def call_user(self, fn, name: str, arg, node):
        """The user's definition of ``name`` applied to ``arg`` (a SymPy expression)."""
        try:
            value = fn(arg)
        except Exception as exc:  # the caller's function refused the argument
            raise self.fail(f"the definition given for {name} cannot be applied here "
                            f"({type(exc).__name__}: {exc})", node) from None
        if not isinstance(value, sp.Expr):
            raise self.fail(f"the definition given for {name} is not an expression", node)
        return value

    def catalog_call(self, name: str, args, node, name_node):
        """A catalog entry (``\\mathrm{ELU}(x)``) applied to ``args``, or None."""
        try:
            build = catalog_function(name, self.symbol)
        except ValueError as exc:
            raise self.fail(str(exc), name_node) from None
        if build is None:
            return None
        if not 1 <= len(args) <= build.max_args:
            want = "1" if build.max_args == 1 else f"1 to {build.max_args} (the variable, then " \
                "the parameters)"
            raise self.fail(f"{name} takes {want} argument(s), not {len(args)}", node)
        return self.checked(build(*args), node, levels=4)

    def function_power(self, fpow: Tree, args, node):
        """``\\tanh^2(x)``: the function's value to that power; ``\\tanh^{-1}`` the inverse."""
        tok, sup = fpow.children
        content = _sarg_content(sup.children[0])
        if _is(content, "sprimes") or _is(content, "splus"):
            raise self.fail(f"cannot read this mark on {tok.value}", sup)
        exponent = self.build(content)
        if exponent == -1:
            inverse = _INVERSES.get(tok.value.lower())
            if inverse is None:
                raise self.fail(f"{tok.value}^{{-1}} (an inverse function) is not supported; "
                                f"write 1/{tok.value}(x) for the reciprocal", sup)
            if len(args) != 1:
                raise self.fail(f"{tok.value}^{{-1}} takes one argument", node)
            return inverse(args[0])
        if not (isinstance(exponent, sp.Integer) and exponent > 0):
            raise self.fail(f"a power written on a function's name must be a positive whole "
                            f"number (\\tanh^2(x)); write \\{tok.value}(x)^{{...}}", sup)
        value = self.apply_function(Tree("fname", [tok]), args, node)
        fail = lambda m: budget_error(m, self.text, _pos(sup))  # noqa: E731
        return check_numbers(checked_pow(value, exponent, fail), fail)

    def b_call(self, node):
        found = _vector_catalog_call(node)
        if found is not None:
            return self.vector_catalog(node, *found)
        fname, *rest = node.children
        if _is(fname, "fpow"):
            delim = rest[0]
            arg_nodes = delim.children[0].children if _is(delim, "paren") else [delim.children[0]]
            value = self.function_power(fname, [self.build(a) for a in arg_nodes], node)
            return self.apply_scripts(value, rest[1] if len(rest) > 1 else None)
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

    def vector_catalog(self, node, act, base, index):
        """A vector catalog function's component (softmax's component i), applied
        componentwise: ``\\text{Softmax}(x_i)`` and ``\\text{Softmax}(x)`` are component i."""
        if len(node.children) > 2:
            raise self.fail("scripts after a vector function are not supported", node)
        i = self.symbol(index.value if index is not None else "i")
        if i.name == "j" or (self.head.index is not None and i.name != self.head.index):
            raise self.fail(f"the component of {act.name} must be named with the formula's "
                            "index (as in x_i), not j", node)
        src = act.definition
        old_base = next(iter(src.atoms(sp.IndexedBase)))
        old_syms = {s.name: s for s in src.free_symbols if isinstance(s, sp.Symbol)}
        repl = {old_base: self.base(base.value)}
        for name, new in (("i", i), ("j", self.symbol("j")), ("n", self.symbol("n"))):
            if name in old_syms:
                repl[old_syms[name]] = new
        if set(old_syms) - {"i", "j", "n", old_base.label.name}:
            raise self.fail(f"{act.name} with parameters is not supported here", node)
        return self.checked(src.xreplace(repl), node, levels=4)

    def b_bapp(self, node):
        fname, barg = node.children
        if _is(fname, "fpow"):
            apply = lambda args: self.function_power(fname, args, node)  # noqa: E731
        else:
            apply = lambda args: self.apply_function(fname, args, node)  # noqa: E731
        items = barg.children
        if len(items) == 1 and _is(items[0], "bapp"):
            return apply([self.build(items[0])])
        factors = self.factors(items)
        cut = next((k for k, (_, applied) in enumerate(factors) if applied and k > 0), len(factors))
        argument = self.checked(sp.Mul(*(v for v, _ in factors[:cut])), node)
        value = apply([argument])
        return self.checked(sp.Mul(value, *(v for v, _ in factors[cut:])), node)

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

    def b_indicator(self, node):
        return sp.Piecewise((sp.Integer(1), self.condition(node.children[1])), (sp.Integer(0), True))

    def condition(self, node):
        if _is(node, "member"):  # x \in (a, b]
            value = self.build(node.children[0])
            interval = node.children[1]
            lside, low, high, rside = interval.children
            lower = (sp.Gt if lside.data == "lopen" else sp.Ge)(value, self.build(low))
            upper = (sp.Lt if rside.data == "ropen" else sp.Le)(value, self.build(high))
            return sp.And(lower, upper)
        return build_condition(self, node, _RELATIONS, "expected a condition such as x \\geq 0")
