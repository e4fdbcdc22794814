r"""A note's formulas: read each one (with the values its prose gives symbols and what the note
says ``\sigma`` means), check every link of a chain and every formula that names a catalog
function (``\mathrm{sigmoid}(x) = \tanh(x)`` is wrong, with a witness), recognize the rest.

The checks are :mod:`symact.verify.formula`'s own (``formula_test``, ``activation_from_formula``,
``catalog_matches``): this module only decides what is compared with what.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import sympy as sp

from symact.errors import SymactError
from symact.model import catalog
from symact.parse.common import ParsedFormula, catalog_name
from symact.parse.latex import parse_latex
from symact.verify import formula

#: What a formula's check may raise besides SymactError: SymPy on odd input. Each is a finding.
CHECK_ERRORS = (SymactError, ValueError, TypeError, ArithmeticError, RecursionError, NotImplementedError,
                AttributeError, KeyError, IndexError)
#: Heads that name a letter, not a catalog function: \sigma(x) = ... defines sigma.
_LETTERS = frozenset({"sigma", "phi", "Phi", "f", "g", "h", "y"})


@dataclass
class ReadFormula:
    """One formula of a note, as read: ``parsed`` (None with ``error``, the reader's message),
    ``label`` (the catalog function its head names), ``params`` (the prose's values of its
    symbols), ``act``/``match``/``problem`` (the activation it defines and its catalog match, or
    why there is none)."""

    source: object            # the markdown _Formula
    parsed: ParsedFormula | None = None
    error: str | None = None
    label: str | None = None
    params: dict = field(default_factory=dict)
    act: object = None
    match: dict | None = None
    problem: str | None = None

    @property
    def text(self) -> str:
        return self.source.text

    @property
    def line(self) -> int:
        return self.source.line

    @property
    def is_derivative(self) -> bool:
        return bool(self.parsed is not None and self.parsed.is_derivative)


def sigma_function(name: str):
    """``u -> expression`` of the catalog entry ``name`` (its defaults bound), for
    ``parse_latex(functions={"sigma": ...})``."""
    act = catalog.get(name)

    def build(u):
        return act.expr.xreplace({act.x: u})

    build.catalog_name = name
    return build


def _labelled_is_catalog(out: ReadFormula, entries) -> bool:
    """A formula that names a catalog function and is it, with the catalog's parameter values (or
    the note's, ``entries``): its activation is that entry. The prose's values of its symbols
    must agree with the entry's to 3 significant digits ("where α = 1.6733" is SELU's α rounded);
    a value far from them (ELU with α = 2) makes the formula its own activation, read below."""
    entry = entries(out.label)
    if entry.vector:
        return False
    try:
        res = formula.formula_test(entry, out.parsed)
    except CHECK_ERRORS:
        return False
    if not res.passed or res.details.get("verdict") != "proved":
        return False
    symbols = [sp.Symbol(n) for n in out.params]
    matched = formula._match_params(entry, symbols)
    for s_, pname in matched.items():
        want, have = float(entry.param_values[pname]), float(out.params[s_.name][0])
        if abs(want - have) > 1e-3 * max(abs(want), 1e-300):
            return False
    out.act = entry
    out.match = {"name": out.label, "params": {k: str(v) for k, v in entry.param_values.items()}, "verdict": "proved"}
    return True


def read(fm, functions: dict, values: dict, entries=None) -> ReadFormula:
    """Read ``fm`` with the note's meanings of names (``functions``), the prose's values
    (``values``: symbol key -> (Rational, text)) and the note's catalog entries (``entries``:
    name -> activation, default the catalog's); never raises."""
    entries = entries or catalog.get
    from symact.notes.markdown import symbol_key

    out = ReadFormula(fm)
    try:
        parsed = parse_latex(fm.text, functions=functions or None)
    except CHECK_ERRORS as exc:
        out.error = f"the formula cannot be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return out
    out.parsed = parsed
    head = parsed.head
    if head and head not in _LETTERS:
        out.label = catalog_name(head)
    for name in parsed.parameters:
        hit = values.get(symbol_key(name))
        if hit is not None:
            out.params[name] = hit
    if not parsed.is_derivative and out.label and _labelled_is_catalog(out, entries):
        return out
    if not parsed.is_derivative:
        try:
            act = formula.activation_from_formula(parsed, params={k: str(v[0]) for k, v in out.params.items()})
            matches = formula.catalog_matches(act)
        except CHECK_ERRORS as exc:
            out.problem = str(exc) or type(exc).__name__
        else:
            out.act, out.match = act, (matches[0] if matches else None)
    return out


def defines_sigma(rf: ReadFormula) -> str | None:
    r"""The catalog name a formula ``\sigma(x) = ...`` makes sigma mean, when it is no sigmoid."""
    p = rf.parsed
    if p is None or p.is_derivative or p.head != "sigma" or rf.match is None:
        return None
    return rf.match["name"] if rf.match["name"] != "sigmoid" and rf.match["verdict"] == "proved" else None


def links_of(parsed: ParsedFormula) -> tuple:
    """The sides of a formula (:class:`symact.parse.common.Link`); one for a formula without a chain."""
    links = tuple(getattr(parsed, "links", ()) or ())
    if links:
        return links
    from types import SimpleNamespace
    return (SimpleNamespace(relation="=", expr=parsed.expr, source=parsed.source, position=0),)


def side(parsed: ParsedFormula, link) -> ParsedFormula:
    """The formula with one side as its body."""
    kw = {"expr": link.expr}
    if hasattr(parsed, "links"):
        kw["links"] = (link,)
    return dataclasses.replace(parsed, **kw)


@dataclass
class LinkCheck:
    """The outcome of checking one side: ``verdict`` (consistent, mismatch, error, approx),
    ``witness``, ``message``."""

    verdict: str
    witness: dict | None
    message: str
    severity: str | None = None
    got: str | None = None        # at the witness: the side's exact value
    expected: str | None = None   # and the reference's


def check_against(act, rf: ReadFormula, what: str) -> list[LinkCheck]:
    """Every side of ``rf`` against ``act`` (its derivative for a derivative formula), as
    ``check NAME --latex`` checks a formula: a refuted side is wrong with its exact witness."""
    out = []
    links = links_of(rf.parsed)
    for k, link in enumerate(links):
        which = f"side {k + 1} ({_short(link.source)})" if len(links) > 1 else "the formula"
        if link.relation != "=":
            out.append(_approximation(act, rf, link, which, what))
            continue
        try:
            res = _test(act, rf, side(rf.parsed, link))
        except CHECK_ERRORS as exc:
            out.append(LinkCheck("error", None, f"{which} cannot be compared with {what}: {exc}"))
            continue
        d = res.details
        if res.passed:
            out.append(LinkCheck("consistent", None, f"{which} is {what} ({d['verdict']})"))
        elif d.get("verdict") == "refuted":
            out.append(LinkCheck("mismatch", d["witness"],
                                 f"{which} differs from {what}: at x = {d['witness']['x']} it gives {d['got']}, "
                                 f"{what} is {d['expected']}", "wrong", d['got'], d['expected']))
        else:
            out.append(LinkCheck("error", None, f"{which} against {what}: undecided ({d.get('note', 'not decided')})"))
    return out


def _test(act, rf: ReadFormula, parsed: ParsedFormula):
    """:func:`symact.verify.formula.formula_test`; a symbol that matches no parameter of ``act``
    but has a value in the prose ("with $\\varepsilon = 0.1$") takes that value."""
    try:
        return formula.formula_test(act, parsed)
    except formula.FormulaMismatch:
        if not rf.params:
            raise
        subs = {s: rf.params[s.name][0] for s in parsed.expr.free_symbols
                if isinstance(s, sp.Symbol) and s.name in rf.params}
        if not subs:
            raise
        names = tuple(n for n in parsed.parameters if n not in rf.params)
        return formula.formula_test(act, dataclasses.replace(parsed, expr=parsed.expr.xreplace(subs),
                                                             parameters=names))


def _approximation(act, rf, link, which, what) -> LinkCheck:
    """An ``\\approx`` side: its largest error over the real line when symact can locate it
    (:mod:`symact.analysis.approximations`); never refuted for being approximate."""
    try:
        from symact.analysis import approximations
        max_error = getattr(approximations, "max_error", None)
        if max_error is not None and not rf.is_derivative:
            body = formula.bind(act, side(rf.parsed, link))
            res = max_error(act.expr, body, act.x)
            return LinkCheck("consistent", None, f"{which} approximates {what}: largest error {res}")
    except CHECK_ERRORS as exc:
        return LinkCheck("error", None, f"{which} approximates {what}, but its error could not be located: {exc}")
    return LinkCheck("consistent", None, f"{which} is an approximation of {what} (its error is not located here)")


def _short(text: str, width: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def match_name(m) -> str:
    if not m:
        return ""
    try:
        entry = catalog.get(m["name"])
        changed = {k: v for k, v in m["params"].items() if entry.param_values[k] != sp.Rational(v)}
    except (SymactError, KeyError, TypeError, ValueError):
        changed = {}
    p = ", ".join(f"{k}={v}" for k, v in changed.items())
    return f"{m['name']}" + (f" with {p}" if p else "")


def at_kink(act, x: str) -> bool:
    """Is the exact witness ``x`` (a rational's text) a kink or jump of ``act``?"""
    try:
        w = sp.Rational(x)
        return any(k.at == w for k in act.kinks)
    except (TypeError, ValueError, SymactError):
        return False


def derivative_check(base, rf: ReadFormula, name: str | None):
    """(verdict, witness, message, severity) of a derivative formula against the derivative of
    ``base`` (the section's function)."""
    try:
        res = formula.formula_test(base, side(rf.parsed, links_of(rf.parsed)[0]))
    except CHECK_ERRORS as exc:
        return "error", None, str(exc), None
    d = res.details
    if res.passed:
        return "consistent", None, f"the derivative is right ({d['verdict']}: {d.get('note', '')})", None
    if d.get("verdict") == "refuted":
        kink = at_kink(base, d["witness"]["x"])
        why = (": x = {} is a kink of the section's function, where the value is a convention".format(
            d["witness"]["x"]) if kink else "")
        return ("mismatch", d["witness"],
                f"the derivative is wrong: at x = {d['witness']['x']} the formula gives {d['got']}, "
                f"the derivative of {name or 'the section' + chr(39) + 's function'} is {d['expected']}{why}",
                "convention" if kink else "wrong")
    return "error", None, d.get("note", "not decided"), None
