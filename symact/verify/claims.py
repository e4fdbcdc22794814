r"""What a formula claims, link by link: chains ``a = b = c`` and approximations ``\approx``.

A formula as published is often a chain: ``\text{Sigmoid}(x) = \sigma(x) = \frac{1}{1 +
\exp(-x)}``, or ``\mathrm{GELU}(x) \approx 0.5x(1 + \tanh(...))``. The reader returns its
sides as :attr:`~symact.parse.common.ParsedFormula.links`; this module checks each:

* :func:`sides` turns the links into one :class:`Side` each, a formula of its own whose
  ``expr`` is that side. A side is *approximate* when an ``\approx`` link lies between the
  head (or the first side) and it: it claims to approximate what came before, not to equal it.
* :func:`link_tests` checks every side against an activation (``check NAME --latex``, or the
  catalog entry the head names, ``\mathrm{GELU}(x) = ...``): an exact side with
  :func:`symact.verify.formula.formula_test` (proved, refuted with a witness, or undecided);
  an approximate side with :func:`approximation_test`; an ``=`` between two approximate
  sides is an equality between them.
* :func:`unnamed_link_tests` checks a formula with no name: every exact side after the first
  against the first side, and against the catalog entry the first side was recognized as.
* :func:`approximation_test` locates the maximum error of an approximation over the real line
  (:func:`symact.analysis.approximations.max_error`, as ``prove`` does for gelu_tanh) and
  reports it. An approximation is never refuted for being approximate; one whose error is
  more than :data:`INACCURATE` of the function's scale (the largest ``|f|`` on [-4, 4]), or
  grows without bound, fails with the class ``inaccurate approximation``.
* :func:`formula_activation` makes the activation of a formula with no name, with the
  user's ``--param`` values bound to its symbols; a symbol with no value takes the catalog's
  default where the formula is a catalog activation with that symbol as a parameter (the
  report says so), else it is a clear error naming it.

Nothing here depends on the accuracy of symact's kernel for the formula as written: the
verdicts are symbolic identities, certified witnesses, or located errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import sympy as sp

from symact.errors import ParameterError, SymactError
from symact.model import catalog
from symact.model.activation import Activation
from symact.numeric.oracle import Oracle
from symact.parse.common import Link, ParsedFormula, catalog_name
from symact.symbolic import forms as symbolic
from symact.verify import formula
from symact.verify.results import TestResult

__all__ = ["Side", "sides", "head_name", "link_tests", "unnamed_link_tests", "approximation_test",
           "formula_activation", "INACCURATE", "SCALE_GRID"]

#: An approximation whose maximum error exceeds this fraction of the function's scale fails.
INACCURATE = 0.1
#: The function's scale: the largest |f(x)| at these points (1/4 steps on [-4, 4]).
SCALE_GRID = tuple(i / 4 for i in range(-16, 17))
#: Points at which an error that was not located is looked at for growth (unbounded errors).
_FAR = (-1e6, -1e3, -100.0, 100.0, 1e3, 1e6)


@dataclass(frozen=True)
class Side:
    """One side of a chain: ``index`` (1-based), the ``relation`` that relates it to the
    item before ("=" or "approx"), ``parsed`` (the side as a formula of its own) and
    ``approximate`` (an ``\\approx`` lies between the head or first side and it)."""

    index: int
    relation: str
    parsed: ParsedFormula
    approximate: bool

    @property
    def source(self) -> str:
        return self.parsed.source


def sides(parsed: ParsedFormula) -> list[Side]:
    """The sides of ``parsed``, one per link (a formula without links: one side, itself)."""
    links = tuple(getattr(parsed, "links", ()) or ())
    if not links:
        links = (Link("=", parsed.expr, parsed.source, 0),)
    out, approximate = [], False
    for k, link in enumerate(links):
        approximate = approximate or link.relation == "approx"
        side = replace(parsed, expr=link.expr, source=link.source, links=(link,))
        out.append(Side(k + 1, link.relation, side, approximate))
    return out


def head_name(parsed: ParsedFormula) -> str | None:
    """The catalog entry the formula's head names (``\\mathrm{GELU}(x) = ...``), or None."""
    return catalog_name(parsed.head) if parsed.head else None


def _label(kind: str, side: Side, count: int) -> str:
    return kind if count == 1 else f"{kind}[{side.index}]"


def _with_side(result: TestResult, side: Side, count: int) -> TestResult:
    details = dict(result.details)
    if count > 1:
        details["side"] = side.index
        details["relation"] = side.relation
        details["formula"] = side.source
    return TestResult(result.name, result.passed, details)


# --------------------------------------------------------------------------- named checks
def link_tests(act: Activation, parsed: ParsedFormula, *, given=None, seed: int = 0,
               examples: int = 500) -> list[TestResult]:
    """Every side of ``parsed`` against ``act``: exact sides must equal it (or its
    derivative for ``f'(x) = ...``), approximate sides are located approximations of it,
    and ``=`` between two approximate sides is checked as an equality between them.
    ``given``: the parameter names the user set (the others take ``act``'s values, said in
    each result's remarks)."""
    all_sides = sides(parsed)
    count = len(all_sides)
    out: list[TestResult] = []
    previous: Side | None = None
    for side in all_sides:
        if not side.approximate:
            res = formula.formula_test(act, side.parsed, seed=seed, examples=examples, given=given,
                                       name=_label("formula", side, count))
        else:
            target = formula._target(act, side.parsed)
            approx = formula.bind(act, side.parsed)
            what = f"{act.name}'" if side.parsed.is_derivative else act.name
            res = approximation_test(target, approx, act.x, name=_label("approximation", side, count),
                                     of=side.source, against=what)
            shown, remarks = formula.parameter_notes(act, side.parsed, given)
            if shown or remarks:
                res = TestResult(res.name, res.passed, {**res.details, **({"parameters": shown} if shown else {}),
                                                        **({"remarks": remarks} if remarks else {})})
            if side.relation == "=" and previous is not None and previous.approximate:
                out.append(_with_side(_equal_sides(formula.bind(act, previous.parsed), approx, act.x,
                                                   previous, side, seed, examples), side, count))
        out.append(_with_side(res, side, count))
        previous = side
    return out


def _expr_activation(expr: sp.Expr, x, name: str) -> Activation:
    """An activation (no parameters) whose definition is ``expr`` in ``x``."""
    body = expr.xreplace({x: symbolic.X})
    return Activation(name=name, definition=body, description=f"side {name}", latex=sp.latex(body), role="both")


def _equal_sides(f: sp.Expr, g: sp.Expr, x, first: Side, second: Side, seed: int, examples: int) -> TestResult:
    """Side ``second`` (``g``) equals side ``first`` (``f``): both bound, no free symbols."""
    ref = _expr_activation(f, x, f"side {first.index}")
    side = replace(second.parsed, expr=g.xreplace({x: second.parsed.variable}))
    res = formula.formula_test(ref, side, seed=seed, examples=examples, name=f"formula[{second.index}]")
    return TestResult(f"equality[{first.index}={second.index}]", res.passed, res.details)


# --------------------------------------------------------------------------- unnamed checks
def unnamed_link_tests(first: Activation, parsed: ParsedFormula, recognized: Activation | None, *,
                       seed: int = 0, examples: int = 500, proved: bool = False) -> list[TestResult]:
    """The sides of a formula with no name. ``first``: the activation of its first side (its
    parameters bound); ``recognized``: the catalog entry it was recognized as (None: none),
    ``proved`` whether that recognition is a proof. Each exact side (the first included,
    when recognized) is checked against the recognized entry; each exact side after the
    first against the first side as well, unless the recognition is proved (then the
    first side *is* the entry); approximate sides are located approximations of the
    recognized entry, or of the first side."""
    all_sides = sides(parsed)
    count = len(all_sides)
    out: list[TestResult] = []
    previous: Side | None = None
    for side in all_sides:
        if side.approximate:
            if side.index == 1:   # f(x) \approx ... with no name: nothing to approximate
                previous = side
                continue
            ref = recognized or first
            approx = formula.bind(first, side.parsed)
            res = approximation_test(ref.expr, approx, ref.x if ref is not first else first.x,
                                     name=_label("approximation", side, count), of=side.source,
                                     against=ref.name if ref is recognized else "side 1")
            if side.relation == "=" and previous is not None and previous.approximate and previous.index > 1:
                out.append(_with_side(_equal_sides(formula.bind(first, previous.parsed), approx, first.x,
                                                   previous, side, seed, examples), side, count))
            out.append(_with_side(res, side, count))
            previous = side
            continue
        if recognized is not None:
            res = formula.formula_test(recognized, _bound(first, side), seed=seed, examples=examples,
                                       name=_label("formula", side, count))
            out.append(_with_side(res, side, count))
        if side.index > 1 and not (recognized is not None and proved):
            ref = _expr_activation(first.expr, first.x, "side 1")
            res = formula.formula_test(ref, _bound(first, side), seed=seed, examples=examples,
                                       name=_label("formula", side, count) + (" vs side 1" if recognized else ""))
            out.append(_with_side(res, side, count))
        previous = side
    return out


def _bound(first: Activation, side: Side) -> ParsedFormula:
    """The side with its symbols given ``first``'s parameter values (no free symbols left)."""
    body = formula.bind(first, side.parsed)
    return replace(side.parsed, expr=body.xreplace({first.x: side.parsed.variable}))


# --------------------------------------------------------------------------- approximations
def _max_error(exact: sp.Expr, approx: sp.Expr, x):
    """The located maximum of |approx - exact| over the real line (an ApproxResult)."""
    from symact.analysis import approximations as ap

    fn = getattr(ap, "max_error", None)
    if fn is not None:
        return fn(exact, approx, x)
    e, a = exact.xreplace({x: ap.x}), approx.xreplace({x: ap.x})   # before the numeric helper's max_error
    return ap._evaluate(ap.Approximation("formula", "the formula", "the function", lambda: (a, e)))


def _abs_at(expr: sp.Expr, x, v: float) -> float:
    try:
        val = float(Oracle(expr, x)(v))
    except Exception:  # noqa: BLE001 - no value there (overflow, not real): not counted
        return math.nan
    return abs(val)


def approximation_test(exact: sp.Expr, approx: sp.Expr, x, *, name: str = "approximation",
                       of: str = "", against: str = "") -> TestResult:
    """The claim ``approx ≈ exact`` (functions of ``x``): the maximum error over the real
    line, located, and where it is attained. Passed unless the error is more than
    :data:`INACCURATE` of ``exact``'s scale or unbounded (class ``inaccurate approximation``)."""
    try:
        res = _max_error(exact, approx, x)
    except SymactError:
        raise
    except Exception as exc:  # noqa: BLE001 - SymPy/mpmath could not locate it: no verdict, no crash
        return TestResult(name, True, {"claim": "approximation", "of": of, "against": against,
                                       "verdict": "undecided",
                                       "note": f"the maximum error could not be located ({type(exc).__name__})"})
    scale = max([v for v in (_abs_at(exact, x, t) for t in SCALE_GRID) if math.isfinite(v)] or [0.0])
    scale = scale if scale > 0 else 1.0
    details = {"claim": "approximation", "of": of, "against": against, "scale": f"{scale:.6g}"}
    d = res.to_dict()
    details.update({k: d[k] for k in ("max_abs_error", "at", "signed_error", "method", "tail") if k in d})
    located = res.established == "located" and res.max_abs_error != "undecided"
    diff = approx - exact
    far = dict((t, _abs_at(diff, x, t)) for t in _FAR)
    # unbounded: not finite far out, or still growing from 1e3 to 1e6 past the threshold
    grows = [(t, v) for t, v in far.items() if not math.isfinite(v)
             or (abs(t) == 1e6 and v > INACCURATE * scale and v > 2 * far[math.copysign(1e3, t)])]
    tail = max((v for v in far.values() if math.isfinite(v)), default=0.0)
    if located:
        err = float(sp.Float(res.max_abs_error))
        rel = err / scale
        details.update(verdict="located", relative_error=f"{rel:.3g}")
        where = ", ".join(res.at) if res.at else "?"
        text = (f"max |error| {res.max_abs_error} at x = {where} ({rel:.3g} of {against or 'the function'}'s "
                f"scale {scale:.4g}, the largest |f| on [-4, 4])")
        bad = rel > INACCURATE
    elif grows:
        t, v = grows[-1]
        details.update(verdict="unbounded", max_abs_error="unbounded")
        text = f"the error is not bounded: |error| = {v:.4g} at x = {t:g}"
        bad = True
    elif tail > INACCURATE * scale:   # bounded, its supremum approached far out (sigmoid vs 1/2)
        at = max((t for t in far if far[t] == tail), key=abs)
        details.update(verdict="tail", max_abs_error=f"{tail:.6g}", at=[f"{at:g}"])
        text = (f"|error| approaches {tail:.6g} far out (at x = {at:g}), {tail / scale:.3g} of "
                f"{against or 'the function'}'s scale {scale:.4g}")
        bad = True
    else:
        details.update(verdict="undecided")
        text = "the maximum error could not be located (" + res.tail + ")"
        bad = False
    if bad:
        details["severity"] = "inaccurate approximation"
        text += (f"; more than {INACCURATE:g} of the function's scale: an inaccurate approximation"
                 if located else "; an inaccurate approximation")
    details["note"] = text
    return TestResult(name, not bad, details)


# --------------------------------------------------------------------------- parameters
def _symbols(parsed: ParsedFormula) -> list[str]:
    x = symbolic.XV if parsed.is_vector else symbolic.X
    names = []
    for side in sides(parsed):
        for s in formula._leftover(formula._rename(side.parsed, x)):
            if s.name not in names:
                names.append(s.name)
    return names


def _given_for(symbols: list[str], params: dict) -> tuple[dict, list[str]]:
    """``params`` keyed by the formula's symbol names (case and ``_`` ignored); unknown keys."""
    keyed = {formula._key(s): s for s in symbols}
    out, unknown = {}, []
    for k, v in params.items():
        s = keyed.get(formula._key(k))
        if s is None:
            unknown.append(k)
        else:
            out[s] = v
    return out, unknown


def _identify(parsed: ParsedFormula, missing: list[str], values: dict) -> tuple[Activation, dict] | None:
    """A catalog entry of which the formula's ``missing`` symbols are parameters (by name or
    spelling) and which, with its defaults for them (``values`` for the others), equals
    the formula: (entry, {symbol: parameter name}), or None."""
    import time

    deadline = time.monotonic() + formula.RECOGNITION_SECONDS / 2
    found = []
    for name in catalog.names():
        entry = catalog.get(name)
        if entry.vector or not entry.params or time.monotonic() > deadline:
            continue
        matched = formula.matched_parameters(entry, parsed)
        if not set(missing) <= set(matched) or set(matched) != set(missing) | (set(values) & set(matched)):
            continue
        try:
            bound = entry.with_params(**{matched[s]: v for s, v in values.items() if s in matched})
            body = formula.bind(bound, parsed)
        except SymactError:
            continue
        if body.free_symbols - {bound.x}:
            continue
        cand = _expr_activation(body, bound.x, "formula")
        if formula._close(formula._values(cand.expr, cand.x, formula._PREFILTER),
                          formula._values(bound.expr, bound.x, formula._PREFILTER)):
            if formula._equal(bound, cand, proofs=True, examples=120, deadline=deadline):
                found.append((bound, matched))
    # where several agree at their defaults (elu and celu at alpha = 1), the one that also
    # agrees at other values of the missing parameters (the formula's family) comes first
    for bound, matched in found:
        try:
            other = bound.with_params(**{matched[s]: str(2 * bound.param_values[matched[s]] + 1) for s in missing})
            body = formula.bind(other, parsed)
        except SymactError:
            continue
        alt = _expr_activation(body, other.x, "formula")
        if formula._close(formula._values(alt.expr, alt.x, formula._PREFILTER),
                          formula._values(other.expr, other.x, formula._PREFILTER)):
            return bound, matched
    return found[0] if found else None


def formula_activation(parsed: ParsedFormula, params: dict | None = None, *,
                       kinks: bool = True) -> tuple[Activation, list[str]]:
    """The activation of the first side of a formula with no name, and remarks.

    ``params`` (``--param``) bind the formula's symbols by name (case and ``_`` ignored).
    A symbol with no value takes the catalog's default where the formula is a catalog
    activation with that symbol as a parameter (remark "alpha not given: the formula is
    elu with alpha as its parameter; catalog default 1"); otherwise a
    :class:`~symact.errors.ParameterError` names it (exit 2)."""
    params = dict(params or {})
    first = sides(parsed)[0].parsed
    symbols = _symbols(parsed)
    values, unknown = _given_for(symbols, params)
    if unknown:
        have = ", ".join(symbols) if symbols else "none"
        raise ParameterError(f"the formula has no symbol {', '.join(sorted(unknown))} (its symbols: {have})")
    missing = [s for s in symbols if s not in values]
    remarks = []
    if missing:
        found = _identify(first, missing, values)
        if found is None:
            plural = len(missing) > 1
            raise ParameterError(
                f"the formula's symbol{'s' if plural else ''} {', '.join(missing)} ha{'ve' if plural else 's'} no "
                f"value, and the formula is no catalog activation with {'them' if plural else 'it'} as a parameter; "
                f"give {'each' if plural else 'it'} with --param ({missing[0]}=VALUE)")
        entry, matched = found
        for s in missing:
            p = matched[s]
            values[s] = str(entry.param_values[p])
            named = s if formula._key(s) == formula._key(p) else f"{s} ({entry.name}'s {p})"
            remarks.append(f"{named} not given: the formula is {entry.name} with {s} as its parameter; "
                           f"catalog default {formula.show_value(entry.param_values[p])}")
    first_symbols = {s.name for s in formula._leftover(formula._rename(first, symbolic.XV if first.is_vector
                                                                         else symbolic.X))}
    act = formula.activation_from_formula(first, params={s: v for s, v in values.items() if s in first_symbols},
                                          kinks=kinks)
    return act, remarks


# --------------------------------------------------------------------------- known approximations
def known_approximations(act: Activation) -> list[dict]:
    """The documented approximations (:data:`symact.analysis.approximations.APPROXIMATIONS`)
    that the formula ``act`` *is*: x sigmoid(1.702 x) is the sigmoid approximation of gelu.
    Each: {"key", "of", "approximates", "max_abs_error", "at", "text"}; proved equal (bounded
    by the recognition budget), the error located as ``prove`` locates it."""
    import time

    from symact.analysis import approximations as ap

    if act.vector:
        return []
    out = []
    mine = formula._values(act.expr, act.x, formula._PREFILTER)
    deadline = time.monotonic() + formula.RECOGNITION_SECONDS / 4
    for appr in ap.APPROXIMATIONS:
        if appr.lo is not None or appr.hi is not None:
            continue   # an approximation on an interval only: the formula is no claim about it
        try:
            g, _ = appr.build()
        except Exception:  # noqa: BLE001 - an entry that cannot be built here: not this formula
            continue
        g = g.xreplace({ap.x: act.x})
        if catalog_name(appr.of) is not None:
            continue   # a catalog entry itself (gelu_tanh): recognition names it
        if not formula._close(formula._values(g, act.x, formula._PREFILTER), mine):
            continue
        if not formula._bounded_proof(g, act.expr, [act.x], deadline, f"proving the formula is {appr.of}"):
            continue
        res = ap.locate(appr.key)
        out.append({"key": appr.key, "of": appr.of, "approximates": appr.target,
                    "max_abs_error": res.max_abs_error, "at": list(res.at),
                    "text": f"the formula is {appr.of}, an approximation of {appr.target}: max |error| "
                            f"{res.max_abs_error}" + (f" at x = {', '.join(res.at)}" if res.at else "")})
    return out
