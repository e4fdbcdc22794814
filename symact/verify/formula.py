r"""Formulas against the catalog: is this formula that activation, and which is it?

Three entry points, each a few lines for the CLI to call:

* :func:`read_formula` reads LaTeX (:func:`symact.parse.latex.parse_latex`) or plain
  text (:func:`symact.parse.expr.parse_expr`); neither ever evaluates user text.
* :func:`formula_test` decides whether a formula *is* an activation (with its
  bound parameters) and returns a :class:`~symact.verify.results.TestResult` named
  ``"formula"``. The verdict follows the project's rules: ``proved`` only from
  a symbolic identity (:func:`symact.symbolic.forms.prove_zero`); ``refuted`` only
  with a rational witness at which the difference has a certified sign
  (:func:`symact.symbolic.exact.certified_sign`) or at which exactly one side is
  undefined; otherwise ``undecided`` with the number of oracle points on which
  the correctly rounded float64 values agree.
* :func:`activation_from_formula` makes an unregistered
  :class:`~symact.model.activation.Activation` out of a formula and
  :func:`catalog_matches` lists the catalog entries (with parameter values,
  solved exactly where the catalog has parameters) that it equals.

Binding a formula to an activation
----------------------------------
The formula's variable becomes ``act.x`` (for vectors the IndexedBase, the free
index becomes :data:`~symact.symbolic.forms.I`, the summation index
:data:`~symact.symbolic.forms.J` and the bound :data:`~symact.symbolic.forms.N`). Other
symbols are matched to the activation's parameters by name: exact name first,
then the synonyms of :data:`SYNONYMS` (``a`` for ``negative_slope``, ``\lambda``
for ``scale``, ``h_0`` for ``h0``). A symbol left over is an error the user can
fix, not a failed test. A derivative formula (``f'(x) = f(x)(1 - f(x))``) is
compared with the activation's derivative after its self references are
replaced by the activation itself.

Points
------
Numeric comparisons use :func:`oracle_points`: a seeded draw of float64 bit
patterns (every magnitude equally likely), a grid on [-8, 8], the kinks of both
sides and their float neighbours, and tails out to +-1e300. Witnesses are
sought in order of simplicity: kinks (0 first), small integers, then the
failing points themselves and the shortest dyadic rationals near them.
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from symact.model import catalog
from symact.symbolic import budget, forms as symbolic
from symact.model.activation import Activation, Param
from symact.errors import ParameterError, ParseError, SymactError
from symact.symbolic.exact import certified_sign
from symact.parse.common import ParsedFormula
from symact.parse.latex import parse_latex
from symact.parse.expr import parse_expr
from symact.numeric.oracle import Oracle, OracleError, VectorOracle, round_to
from symact.verify.results import TestResult

__all__ = [
    "read_formula", "bind", "formula_test", "activation_from_formula", "catalog_matches",
    "oracle_points", "SYNONYMS", "FormulaMismatch", "DomainError", "domain_witness", "check_real",
    "recognize", "RECOGNITION_SECONDS", "matched_parameters", "parameter_notes",
]

#: Formula symbol names (after lowercasing and dropping "_" and "\") that mean a parameter,
#: beside the catalog's name and the frameworks' spellings (:mod:`symact.model.spellings`),
#: which are matched first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "negative_slope": ("negativeslope", "a", "slope", "alpha"),
    "scale": ("scale", "lambda"),
    "alpha": ("alpha", "a"),
    "h0": ("h0", "h"),
    "slope": ("slope", "a", "alpha", "s", "k"),
    "offset": ("offset", "b", "beta", "c"),
    "lambd": ("lambd", "lambda"),
    "weight": ("weight", "a", "alpha"),
    "beta": ("beta", "b"),
    "threshold": ("threshold", "theta", "t"),
    "value": ("value", "v"),
    "max_value": ("maxvalue", "m"),
    "lower": ("lower", "l"),
    "upper": ("upper", "u"),
}

#: Vector test inputs (the course's own [0.3, 2.9, 4.0] and its overflow example).
VECTOR_POINTS: tuple[tuple[float, ...], ...] = (
    (0.0,), (0.0, 1.0), (-1.0, 0.0, 1.0), (0.3, 2.9, 4.0), (2.0, 2.0), (1010.0, 1000.0, 990.0),
    (-1000.0, 0.0, 1000.0), (-745.0, -740.0), (1e-300, -3.5, 7.25),
)


class FormulaMismatch(SymactError):
    """A formula whose symbols cannot be matched to an activation's parameters."""


class DomainError(SymactError):
    """A formula that is not real and finite at some real x: an activation maps every
    real x to a real value. The message names an exact witness that re-evaluates."""


# --------------------------------------------------------------------------- the real domain
#: Simple points tried first as witnesses of a formula that leaves the reals, simplest first.
_DOMAIN_POINTS = tuple(sp.Rational(p, q) for p, q in (
    (0, 1), (-1, 1), (1, 1), (-2, 1), (2, 1), (-1, 2), (1, 2), (-3, 1), (3, 1), (-1, 3), (1, 3),
    (-3, 2), (3, 2), (-4, 1), (4, 1), (-1, 4), (1, 4), (-5, 1), (5, 1), (-10, 1), (10, 1), (-100, 1), (100, 1)))
#: At most this many candidate points are evaluated exactly (each a SymPy substitution).
_DOMAIN_TRIES = 48


def _domain_suspects(expr: sp.Expr, x) -> list[tuple[str, sp.Expr, sp.Expr]]:
    """(need, argument, node) for each subexpression that is real and finite only where
    its argument is ``need`` ("positive", "nonnegative", "nonzero", "open unit" for
    |u| < 1, "cos nonzero" for tan) and SymPy cannot show that it always is (x real).
    Structural only: no solving."""
    out = []
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, sp.Basic) or not node.has(x):
            continue
        if isinstance(node, sp.log):
            if node.args[0].is_positive is not True:
                out.append(("positive", node.args[0], node))
        elif isinstance(node, sp.Pow):
            b, e = node.base, node.exp
            if e.is_Integer:
                if e.is_negative and b.is_zero is not False:
                    out.append(("nonzero", b, node))
            elif e.is_Rational:
                need = "nonnegative" if e.is_positive else "positive"
                if getattr(b, f"is_{need}") is not True:
                    out.append((need, b, node))
            elif b.is_positive is not True:
                out.append(("positive", b, node))
        elif isinstance(node, sp.atanh):
            out.append(("open unit", node.args[0], node))
        elif isinstance(node, (sp.tan, sp.sec)):
            out.append(("cos nonzero", node.args[0], node))
        elif isinstance(node, (sp.cot, sp.csc)):
            out.append(("nonzero", sp.sin(node.args[0]), node))
    return out


def _simplicity(w: sp.Expr):
    if w.is_Rational:
        return (0, int(w.q), abs(int(w.p)), int(w.p) < 0)
    return (1, sp.count_ops(w), sp.default_sort_key(w))


def _domain_candidates(need: str, u: sp.Expr, x) -> list[sp.Expr]:
    """Exact points where ``u`` may fail ``need``: simple rationals, and for a
    polynomial ``u`` its real roots (exact) with rationals between and beyond them."""
    pts = list(_DOMAIN_POINTS)
    try:
        poly = sp.Poly(u, x) if u.free_symbols == {x} and u.is_polynomial(x) else None
    except (sp.PolynomialError, ValueError, TypeError):
        poly = None
    if need == "cos nonzero":
        a, b = poly.all_coeffs() if poly is not None and poly.degree() == 1 else (None, None)
        if a is not None and a.is_Rational and b.is_Rational:
            pts += [(sp.pi / 2 - b) / a, (-sp.pi / 2 - b) / a]
    elif poly is not None and 0 < poly.degree() <= budget.MAX_DEGREE:
        try:
            roots = sorted(set(sp.real_roots(poly)), key=lambda r: float(r))
        except (sp.PolynomialError, NotImplementedError, ValueError):
            roots = []
        pts += roots
        fl = [float(r) for r in roots]
        for a, b in zip(fl, fl[1:]):
            pts.append(sp.Rational(Fraction((a + b) / 2).limit_denominator(64)))
        if fl:
            pts += [sp.Integer(math.floor(fl[0]) - 1), sp.Integer(math.ceil(fl[-1]) + 1)]
    elif need == "open unit":
        pts += [sp.Integer(v) for v in (-1, 1)]
    return pts


def _certainly_nonreal(v: sp.Expr) -> bool:
    """Is the exact number ``v`` certainly not real (its imaginary part certainly not 0)?"""
    if v.is_extended_real is True:
        return False
    im = sp.im(v)
    try:
        if certified_sign(im) in (-1, 1):
            return True
    except Exception:  # noqa: BLE001 - no enclosure for this function: evaluate instead
        pass
    try:
        n = sp.N(im, 50, strict=True)
    except Exception:  # noqa: BLE001 - SymPy could not reach 50 digits: not certain
        return False
    return n.is_number and n.is_real is True and abs(n) > sp.Float("1e-40")


def _brief_expr(e: sp.Expr, width: int = 48) -> str:
    text = sp.sstr(e)
    return text if len(text) <= width else text[:width - 3] + "..."


def domain_witness(expr: sp.Expr, x) -> dict | None:
    """An exact real ``x`` at which the formula ``expr`` is not real or not finite,
    or None where none is found (the structural look found nothing to fear, or no
    candidate re-evaluated as a witness). Each witness is confirmed by evaluating
    the whole expression exactly there (its cases rows included).

    Returns {"x": w, "value": f(w), "kind": "not real" | "not finite" | "undefined",
    "node": the subexpression that leaves the reals, "need": what its argument needs}.
    """
    suspects = _domain_suspects(expr, x)
    if not suspects:
        return None
    origin: dict = {}
    for need, u, node in suspects:
        for w in _domain_candidates(need, u, x):
            origin.setdefault(w, (need, u, node))
    tried = 0
    for w in sorted(origin, key=_simplicity):
        if tried >= _DOMAIN_TRIES:
            break
        tried += 1
        try:
            v = symbolic.value_at(expr, x, w)
            v = sp.piecewise_fold(v) if v.has(sp.Piecewise) else v
        except Exception:  # noqa: BLE001 - SymPy could not evaluate it there: not a witness
            continue
        if not v.is_number:
            continue
        if v.has(sp.nan):
            kind = "undefined"
        elif v.has(sp.zoo, sp.oo, -sp.oo):
            kind = "not finite"
        elif _certainly_nonreal(v):
            kind = "not real"
        else:
            continue
        need, u, node = origin[w]
        return {"x": w, "value": v, "kind": kind, "node": node, "need": need}
    return None


def domain_message(wit: dict, name: str = "f", subject: str | None = None) -> str:
    """The user's message for a :func:`domain_witness` (``subject``: who is not real, default ``name``)."""
    subject = subject or name
    w, v, node = wit["x"], wit["value"], wit["node"]
    at = f"x = {sp.sstr(w)}"
    shown = _brief_expr(node)
    if wit["kind"] == "not real":
        value = sp.sstr(v) if len(sp.sstr(v)) <= 40 else f"{sp.N(sp.re(v), 6)} + {sp.N(sp.im(v), 6)}*I"
        text = f"{subject} is not real at {at} ({name}({sp.sstr(w)}) = {value})"
        if isinstance(node, sp.Pow) and node.exp.is_Rational and not node.exp.is_Integer and node.exp.q % 2:
            text += (f"; {shown} is the principal complex root for a negative base "
                     f"(the real root of u is sgn(u) |u|^({sp.sstr(abs(node.exp))}))")
    elif wit["kind"] == "not finite":
        what = "is infinite there" if isinstance(node, (sp.log, sp.atanh)) else "has a pole there"
        text = f"{subject} is not finite at {at} ({shown} {what})"
    else:
        text = f"{subject} is undefined at {at} ({name}({sp.sstr(w)}) is 0/0 as written: {shown} divides by zero there)"
    return text + "; symact checks functions that are real and finite at every real x"


def _jumps_as_cases(body: sp.Expr) -> sp.Expr:
    """sgn(u) and H(u) as cases rows, with SymPy's values at 0 (0 and 1/2): their jumps
    are then kinks with the formula's derivative convention, where SymPy's own
    derivative is a DiracDelta that no kernel or oracle evaluates."""
    if not body.has(sp.sign, sp.Heaviside):
        return body
    body = body.replace(sp.sign, lambda u: sp.Piecewise((1, u > 0), (-1, u < 0), (0, True)))
    return body.replace(sp.Heaviside, lambda u, *h0: sp.Piecewise(
        (1, u > 0), (0, u < 0), (h0[0] if h0 else sp.S.Half, True)))


def _head(parsed: ParsedFormula) -> str:
    """The name the formula defines (h in h(x) = ...), for messages; f by default."""
    head = parsed.head
    return head if head and len(head) <= 20 and head.replace("_", "").isalnum() else "f"


def check_real(expr: sp.Expr, x, name: str = "f") -> None:
    """Raise :class:`DomainError` when :func:`domain_witness` finds an exact point
    where ``expr`` is not real or not finite."""
    wit = domain_witness(expr, x)
    if wit is not None:
        raise DomainError(domain_message(wit, name))


# --------------------------------------------------------------------------- reading
def read_formula(latex: str | None = None, expr: str | None = None) -> ParsedFormula:
    """The formula given as exactly one of LaTeX (``latex``) or plain text (``expr``)."""
    if (latex is None) == (expr is None):
        raise ParseError("give a formula either as LaTeX (--latex) or as plain text (--expr), not both")
    return parse_latex(latex) if latex is not None else parse_expr(expr)


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("\\", "")


def _vector_map(parsed: ParsedFormula) -> dict:
    """xreplace map taking a vector formula's base, indices and bound to symact's."""
    mapping: dict = {}
    for base in parsed.expr.atoms(sp.IndexedBase):
        if base.label.name == parsed.variable.name:
            mapping[base] = symbolic.XV
    for s in parsed.expr.atoms(sp.Sum):
        for lim in s.limits:
            mapping[lim[0]] = symbolic.J
    for sym in parsed.expr.free_symbols:
        if isinstance(sym, sp.Symbol):
            if parsed.index and sym.name == parsed.index:
                mapping[sym] = symbolic.I
            elif sym.name in parsed.sizes:
                mapping[sym] = symbolic.N
    return mapping


def _rename(parsed: ParsedFormula, x) -> sp.Expr:
    """The formula's body in symact's variable(s)."""
    if parsed.is_vector:
        return parsed.expr.xreplace(_vector_map(parsed))
    return parsed.expr.xreplace({parsed.variable: x})


def _leftover(expr: sp.Expr) -> list[sp.Symbol]:
    skip = {symbolic.X, symbolic.I, symbolic.J, symbolic.N}
    return sorted((s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in skip
                   and not isinstance(s, sp.Indexed) and s.name != "x"), key=lambda s: s.name)


def _spelled(act: Activation, param: str) -> set[str]:
    """The keys (:func:`_key`) of ``act``'s parameter ``param``: its catalog name and the
    frameworks' spellings of it (``alpha`` for leaky_relu's negative_slope)."""
    from symact.model import spellings

    return {_key(s) for s in spellings.spellings(act, param)}


def _match_params(act: Activation, symbols: list[sp.Symbol]) -> dict[sp.Symbol, str]:
    r"""Formula symbol -> activation parameter name, case-insensitively and ignoring ``_``:
    the exact name first, then the frameworks' spellings, then :data:`SYNONYMS`
    (``\text{negative\_slope}``, ``\alpha`` and ``a`` for leaky_relu's negative_slope;
    ``\lambda`` and ``\text{scale}`` for selu's scale)."""
    names = [p.name for p in act.params]
    out: dict[sp.Symbol, str] = {}
    taken: set[str] = set()
    tests = (lambda s, p: _key(s.name) == _key(p),
             lambda s, p: _key(s.name) in _spelled(act, p),
             lambda s, p: _key(s.name) in SYNONYMS.get(p, ()))
    for test in tests:
        for s in symbols:
            if s in out:
                continue
            for p in names:
                if p in taken:
                    continue
                if test(s, p):
                    out[s], _ = p, taken.add(p)
                    break
    return out


def matched_parameters(act: Activation, parsed: ParsedFormula) -> dict[str, str]:
    """Formula symbol name -> ``act``'s parameter name, for the symbols that match one."""
    body = _rename(parsed, act.x)
    return {s.name: p for s, p in _match_params(act, _leftover(body)).items()}


def bind(act: Activation, parsed: ParsedFormula, values: bool = True) -> sp.Expr:
    """The formula as an expression in ``act.x`` with parameters matched to ``act``'s.

    ``values=True`` substitutes the activation's bound values, ``False`` its
    parameter symbols (for proofs over all parameter values). Self references
    (derivative formulas) are replaced by the activation itself. Raises
    :class:`FormulaMismatch` when a symbol matches no parameter.
    """
    if parsed.is_vector != act.vector:
        kind = "a vector formula (with a sum over components)" if parsed.is_vector else "a scalar formula"
        raise FormulaMismatch(f"{act.name} is {'a vector' if act.vector else 'a scalar'} activation, "
                              f"but this is {kind}")
    body = _rename(parsed, act.x)
    syms = _leftover(body)
    matched = _match_params(act, syms)
    missing = [s.name for s in syms if s not in matched]
    if missing:
        known = ", ".join(p.name for p in act.params) or "none"
        raise FormulaMismatch(
            f"the formula's symbol{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"match{'es' if len(missing) == 1 else ''} no parameter of {act.name} (its parameters: {known})")
    by_name = {p.name: p for p in act.params}
    subs = {s: (act.param_values[p] if values else by_name[p].symbol) for s, p in matched.items()}
    body = body.xreplace(subs)
    if parsed.self_references:
        definition = act.expr if values else act.definition
        for name in parsed.self_references:
            body = body.replace(sp.Function(name), sp.Lambda(act.x, definition))
    return body


def _target(act: Activation, parsed: ParsedFormula, values: bool = True) -> sp.Expr:
    """What the formula must equal: the activation, or its derivative for f'(x) = ..."""
    if not parsed.is_derivative:
        return act.expr if values else act.definition
    if act.vector:
        raise FormulaMismatch("derivative formulas of vector activations are not supported")
    if values:
        return act.derivative
    return sp.diff(symbolic.normalize(act.definition), act.x)


def prove_equal(f: sp.Expr, g: sp.Expr, variables=()) -> bool:
    """``f == g`` for all real ``variables`` by :func:`symbolic.prove_zero` (False = not proved).

    The difference is normalized first: prove_zero gives up when normalizing
    removes every variable (``Max(0, x) - Piecewise((0, x < 0), (x, True))``
    normalizes to 0 but is not recognized as zero). Vector forms (with Sum)
    are tried with one plain simplification: SymPy's Sum simplifier raises on
    some inputs, which counts as "not proved".
    """
    try:
        d = f - g
        if d.has(sp.erfc):   # erfc(u) = 1 - erf(u): prove_zero knows erf only (JAX's exact GELU uses erfc)
            d = d.replace(sp.erfc, lambda u: 1 - sp.erf(u))
        d = symbolic.normalize(d)
        if d == 0:
            return True
        if d.has(sp.Sum):
            return sp.simplify(d) == 0
        return symbolic.prove_zero(d, variables)
    except (StopIteration, TypeError, ValueError, NotImplementedError, RecursionError, AttributeError):
        return False


# --------------------------------------------------------------------------- points
def oracle_points(kinks=(), seed: int = 0, examples: int = 500) -> list[float]:
    """Float64 test points: kinks (+ neighbours), small integers, grid, tails, random bit patterns."""
    pts: list[float] = [0.0]
    for k in kinks:
        k = float(k)
        pts += [k, math.nextafter(k, -math.inf), math.nextafter(k, math.inf)]
    pts += [float(v) for n in range(1, 6) for v in (n, -n)]
    pts += list(np.linspace(-8.0, 8.0, 65))
    for m in (10.0, 20.0, 40.0, 100.0, 700.0, 710.0, 745.0, 1000.0, 1e5, 1e10, 1e100, 1e300):
        pts += [m, -m]
    pts += [5e-324, -5e-324, 1e-310, -1e-310, 1e-8, -1e-8]
    rng = np.random.default_rng(seed)
    n_random = max(0, examples - len(pts))
    bits = rng.integers(0, 2**64, size=n_random, dtype=np.uint64).view(np.float64)
    pts += [float(v) for v in bits if math.isfinite(v)]
    seen, out = set(), []
    for v in pts:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _kink_points(*exprs, x=symbolic.X) -> list[sp.Expr]:
    out = []
    for e in exprs:
        try:
            out += [p for p in symbolic.boundary_points(e, x) if p.is_real]
        except (TypeError, ValueError, NotImplementedError, symbolic.Undecidable):
            continue
    return sorted(set(out), key=lambda p: (abs(float(p)), float(p)))


def _rounded(orc: Oracle, v: float) -> float:
    try:
        return round_to(orc(v), np.float64)
    except (OracleError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return math.nan


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# --------------------------------------------------------------------------- witnesses
def _exact_at(expr: sp.Expr, x, w: sp.Rational) -> sp.Expr:
    return sp.piecewise_fold(symbolic.normalize(expr).subs(x, w))


def _undefined(v: sp.Expr) -> bool:
    return v.has(sp.nan, sp.zoo) or (isinstance(v, sp.Piecewise)) or v is sp.S.NaN


def certify(f: sp.Expr, g: sp.Expr, x, w) -> bool:
    """True when f(w) != g(w) is certain at the rational ``w``."""
    fw, gw = _exact_at(f, x, w), _exact_at(g, x, w)
    uf, ug = _undefined(fw), _undefined(gw)
    if uf or ug:
        return uf != ug and not (fw.has(sp.Piecewise) or gw.has(sp.Piecewise))
    sign = certified_sign(fw - gw)
    return sign in (-1, 1)


def _simple_dyadics(v: float, limit: int = 12):
    """Short dyadic rationals near ``v``, shortest first, ending with ``v`` itself."""
    if not math.isfinite(v):
        return
    for bits in range(0, limit):
        yield sp.Rational(round(v * 2**bits), 2**bits)
    yield sp.Rational(Fraction(v))


def find_witness(f: sp.Expr, g: sp.Expr, x, failing: list[float], kinks=()) -> sp.Rational | None:
    """The simplest rational at which f and g certainly differ, or None."""
    fo, go = Oracle(f, x), Oracle(g, x)

    def differs_numerically(w) -> bool:
        return not _same(_rounded(fo, float(w)), _rounded(go, float(w))) or w in kinks

    candidates: list[sp.Rational] = [sp.S.Zero] + [k for k in kinks if k.is_Rational]
    candidates += [sp.Integer(s * n) for n in range(1, 6) for s in (1, -1)]
    tried = set()
    for w in candidates:
        if w in tried:
            continue
        tried.add(w)
        if certify(f, g, x, w):
            return w
    for v in failing[:8]:
        for w in _simple_dyadics(v):
            if w in tried:
                continue
            tried.add(w)
            if (differs_numerically(w) or w == sp.Rational(Fraction(v))) and certify(f, g, x, w):
                return w
    return None


def _show(v: sp.Expr) -> str:
    if v.has(sp.nan, sp.zoo, sp.Piecewise):
        return "undefined"
    if v.is_Rational:
        return str(v)
    try:
        return str(sp.N(v, 17))
    except (TypeError, ValueError):
        return str(v)


# --------------------------------------------------------------------------- the test
def parameter_notes(act: Activation, parsed: ParsedFormula, given=None) -> tuple[dict, list[str]]:
    """The formula's parameters as bound to ``act``: ({symbol: "param = value"}, remarks).
    ``given``: the parameter names the user set (None: unknown, no remark); each matched
    parameter not among them says it took the catalog's default ("alpha not given:
    catalog default 1")."""
    matched = matched_parameters(act, parsed)
    shown, remarks = {}, []
    for sym, p in sorted(matched.items()):
        value = act.param_values[p]
        shown[sym] = f"{p} = {value}"
        if given is not None and p not in given:
            default = next(q.default for q in act.params if q.name == p)
            what = "catalog default" if value == default else "value"
            named = p if _key(sym) == _key(p) else f"{sym} ({act.name}'s {p})"
            remarks.append(f"{named} not given: {what} {show_value(value)}")
    return shown, remarks


def show_value(v) -> str:
    """A parameter value for a message: exact when short (1/100), else 17 digits (selu's alpha)."""
    text = str(v)
    if len(text) <= 16 or not getattr(v, "is_number", False):
        return text
    return f"{sp.N(v, 17)} (= {text[:12]}...)" if not v.is_Rational else str(sp.N(v, 17))


def formula_test(act: Activation, parsed: ParsedFormula, *, seed: int = 0, examples: int = 500,
                 given=None, name: str = "formula") -> TestResult:
    """Is ``parsed`` the activation ``act`` (with its bound parameters)?

    Passed with verdict "proved" or (no proof, agreement on every oracle point)
    "undecided"; failed with "refuted" and a certified witness. Unmatched
    formula symbols raise :class:`FormulaMismatch` (a user error, exit 2).
    ``given``: the parameter names the user set; a formula parameter that is not
    among them takes ``act``'s value (the catalog's default) and the result's
    ``remarks`` say so. ``name``: the test's name (``formula[2]`` for a chain's side).
    """
    g = bind(act, parsed)
    budget.check_expr(g, "the formula", x=act.x)   # undefined points refute it (a witness), not exit 2
    f = _target(act, parsed)
    base = {"formula": parsed.source, "language": parsed.language,
            "compared_with": f"{act.name}'" if parsed.is_derivative else act.name}
    shown, remarks = parameter_notes(act, parsed, given)
    if shown:
        base["parameters"] = shown
    if remarks:
        base["remarks"] = remarks
    result = _formula_test(act, parsed, f, g, base, seed, examples)
    return TestResult(name, result.passed, result.details) if name != "formula" else result


def _formula_test(act, parsed, f, g, base, seed, examples) -> TestResult:
    if act.vector:
        return _vector_test(act, f, g, base)
    x = act.x
    wit = domain_witness(g, x)
    if wit is not None:
        # the formula leaves the reals where the activation does not: not the activation
        w = wit["x"]
        fw = _exact_at(f, x, w)
        if not _undefined(fw) and fw.is_number and not _certainly_nonreal(fw):
            got = sp.sstr(wit["value"]) if wit["kind"] == "not real" else wit["kind"]
            return TestResult("formula", False, {
                **base, "verdict": "refuted", "witness": {"x": str(w)},
                "expected": _show(fw), "got": got if len(got) <= 40 else wit["kind"],
                "note": domain_message(wit, "g", "the formula").split("; symact checks")[0]
                + f", {base['compared_with']} is {_show(fw)} there"})
    kinks = _kink_points(f, g)
    points = oracle_points(kinks, seed=seed, examples=examples)
    fo, go = Oracle(f, x), Oracle(g, x)
    # a cheap look first: a wrong formula is usually wrong at a simple point
    quick = [p for p in points[:40]]
    failing = [v for v in quick if not _same(_rounded(fo, v), _rounded(go, v))]
    if not failing and prove_equal(f, g, [x]):
        return TestResult("formula", True, {**base, "verdict": "proved",
                                            "note": "the formula equals the activation symbolically"})
    if not failing:
        failing = [v for v in points[40:] if not _same(_rounded(fo, v), _rounded(go, v))]
    if not failing:
        return TestResult("formula", True, {**base, "verdict": "undecided", "points": len(points),
                                            "note": f"no symbolic proof; agrees on {len(points)} points"})
    w = find_witness(f, g, x, failing, kinks)
    if w is None:
        return TestResult("formula", False, {
            **base, "verdict": "undecided", "failing": len(failing),
            "note": f"differs numerically at x = {failing[0]!r}, but no exact witness could be certified"})
    return TestResult("formula", False, {
        **base, "verdict": "refuted", "witness": {"x": str(w)},
        "expected": _show(_exact_at(f, x, w)), "got": _show(_exact_at(g, x, w)),
        "note": f"the formula differs from {base['compared_with']} at x = {w}"})


def _vector_test(act, f, g, base) -> TestResult:
    if prove_equal(f, g):
        return TestResult("formula", True, {**base, "verdict": "proved",
                                            "note": "the formula equals the activation symbolically"})
    # componentwise at concrete vectors, simplest first
    comps = {}
    for v in VECTOR_POINTS:
        n = len(v)
        if n not in comps:
            xs, fc = symbolic.components(f, n)
            comps[n] = (xs, fc, symbolic.components(g, n)[1])
        xs, fc, gc = comps[n]
        a, b = VectorOracle(fc, xs).rounded(v), VectorOracle(gc, xs).rounded(v)
        bad = [k for k in range(n) if not _same(a[k], b[k])]
        if bad:
            k = bad[0]
            w = [sp.Rational(Fraction(t)) for t in v]
            at = dict(zip(xs, w))
            if certified_sign((fc[k] - gc[k]).subs(at)) in (-1, 1):
                return TestResult("formula", False, {
                    **base, "verdict": "refuted", "witness": {"x": [str(t) for t in w], "component": k + 1},
                    "expected": _show(fc[k].subs(at)), "got": _show(gc[k].subs(at)),
                    "note": f"component {k + 1} differs at x = [{', '.join(str(t) for t in w)}]"})
    count = len(VECTOR_POINTS)
    return TestResult("formula", True, {**base, "verdict": "undecided", "points": count,
                                        "note": f"no symbolic proof; agrees on {count} vectors"})


# --------------------------------------------------------------------------- new activations
def activation_from_formula(parsed: ParsedFormula, name: str = "formula", params: dict | None = None,
                            *, kinks: bool = True) -> Activation:
    """An unregistered activation defined by ``parsed``.

    Extra symbols become parameters; each needs a value in ``params``
    (``{"alpha": "2"}``) or a :class:`~symact.errors.ParameterError` says which is
    missing. Every kink gets the "left" derivative convention, stated in
    ``convention_note``; ``kinks=False`` skips that (an activation only to be
    evaluated and compared, as recognition does).
    """
    if parsed.is_derivative or parsed.self_references:
        raise ParseError("a derivative formula does not define an activation; write f(x) = ...")
    x = symbolic.XV if parsed.is_vector else symbolic.X
    body = _rename(parsed, x)
    budget.check_expr(body, "the formula", x=None if parsed.is_vector else x)
    if not parsed.is_vector:
        body = _jumps_as_cases(body)
        symbolic.check_defined(body, x)
        if not _leftover(body):
            check_real(body, x, _head(parsed))   # with parameters: once their values are bound, below
    params = dict(params or {})
    plist = []
    for s in _leftover(body):
        if s.name not in params:
            raise ParameterError(f"the formula's symbol {s.name} has no value; give it as a parameter "
                                 f"({s.name}=VALUE)")
        sym = sp.Symbol(s.name, real=True)
        body = body.xreplace({s: sym})
        plist.append(Param(sym, sp.S.Zero, "a symbol of the formula"))
    unknown = set(params) - {p.name for p in plist}
    if unknown:
        raise ParameterError(f"the formula has no symbol {', '.join(sorted(unknown))}")
    act = Activation(name=name, definition=body, description=f"the formula {parsed.source}",
                     latex=parsed.source if parsed.language == "latex" else sp.latex(body),
                     role="both", params=tuple(plist), vector=parsed.is_vector)
    if params:
        act = act.with_params(**params)
    if not act.vector:
        if plist:
            check_real(act.expr, act.x, _head(parsed))
        if not kinks:
            return act
        try:
            with budget.step("finding the kinks of the formula"):
                kinks = [k.at for k in act.kinks]
        except symbolic.NoBranch as exc:
            raise symbolic.undefined_error(exc) from None
        except (symbolic.Undecidable, sp.PolynomialError, NotImplementedError) as exc:
            # a condition not linear in x (sgn(x^2 - 1), x^2 < 1, min(0, e^x - 1))
            raise SymactError(f"symact cannot split the formula at its conditions ({exc}); write its "
                                  f"cases with conditions linear in x (x < a, x >= b)") from None
        if kinks:
            from dataclasses import replace
            note = ("at the kink" + ("s" if len(kinks) > 1 else "") + " x = "
                    + ", ".join(str(k) for k in kinks)
                    + " the derivative uses the left-hand slope (symact's default for formulas)")
            act = replace(act, conventions={k: "left" for k in kinks}, convention_note=note)
    return act


# --------------------------------------------------------------------------- catalog matches
_PREFILTER = (-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.5, 7.0)
_SOLVE_AT = (sp.Integer(-1), sp.Integer(1), sp.S.Zero, sp.Integer(-2), sp.Integer(2), sp.Rational(-1, 2))
_prefilter_cache: dict = {}


def _values(expr, x, pts) -> tuple[float, ...]:
    orc = Oracle(expr, x)
    return tuple(_rounded(orc, v) for v in pts)


def _catalog_values(name: str) -> tuple[float, ...]:
    if name not in _prefilter_cache:
        a = catalog.get(name)
        _prefilter_cache[name] = _values(a.expr, a.x, _PREFILTER)
    return _prefilter_cache[name]


def _close(a, b) -> bool:
    return all(_same(u, v) or (math.isfinite(u) and math.isfinite(v) and abs(u - v) <= 1e-12 * max(1.0, abs(u)))
               for u, v in zip(a, b))


#: Points at which a formula is evaluated (correctly rounded, by the oracle) to fit a catalog
#: family's parameters: 1/8 steps on [-6, 6] and a few beyond.
_FIT_AT = tuple(sorted({i / 8 for i in range(-48, 49)} | {-10.0, -8.0, -7.0, 7.0, 8.0, 10.0}))


class _Fit:
    """The formula's values at :data:`_FIT_AT`, computed once (only if some family needs them)."""

    def __init__(self, act: Activation):
        self.act, self._values = act, None

    def values(self) -> tuple[list[float], list[float]]:
        if self._values is None:
            orc = Oracle(self.act.expr, self.act.x)
            self._values = (list(_FIT_AT), [_rounded(orc, v) for v in _FIT_AT])
        return self._values


def _solve_params(entry: Activation, fit: _Fit) -> list[dict]:
    """Candidate parameter values (as {name: "p/q"}) of the catalog family ``entry`` for
    the formula: a least-squares fit to the formula's correctly rounded values, snapped
    to simple exact numbers (:func:`symact.verify.recognize.fit_params`). Bounded cost
    (no ``sympy.solve``: on selu's two parameters it ran for minutes); candidates only,
    each is confirmed by :func:`_equal`."""
    from symact.verify.recognize import fit_params

    xs, vs = fit.values()
    out = []
    for vals in fit_params(entry.name, xs, vs):
        out.append({k: str(v) for k, v in vals.items()})
    return out


#: Seconds that recognizing a formula (:func:`recognize`) may take in all; past it the
#: search stops and says so (the matches found so far stand).
RECOGNITION_SECONDS = 20.0


def catalog_matches(act: Activation, *, proofs: bool = True, examples: int = 120,
                    seconds: float | None = None) -> list[dict]:
    """Catalog activations (with parameter values) equal to ``act``: :func:`recognize`'s
    ``matches``."""
    return recognize(act, proofs=proofs, examples=examples, seconds=seconds)["matches"]


def recognize(act: Activation, *, proofs: bool = True, examples: int = 120,
              seconds: float | None = None) -> dict:
    """Which catalog activations (with parameter values) ``act`` equals, within ``seconds``
    (default :data:`RECOGNITION_SECONDS`) of wall time.

    Returns ``{"matches": [...], "complete": bool, "seconds": elapsed, "budget": seconds,
    "note": str}``; each match is ``{"name", "params": {k: str}, "verdict":
    "proved"|"undecided"}``. A numeric pre-filter on a few points discards most entries
    before any proof; a family's parameters are fitted numerically and confirmed exactly;
    each proof is bounded by what is left of the budget (past it the entry is judged on
    oracle points: "undecided"). Where the budget runs out, ``complete`` is False and the
    note names how far the search got.
    """
    import time

    seconds = RECOGNITION_SECONDS if seconds is None else float(seconds)
    start = time.monotonic()
    deadline = start + seconds
    names = [n for n in catalog.names() if catalog.get(n).vector == act.vector]
    matches: list[dict] = []
    done = 0
    for name in names:
        if time.monotonic() > deadline:
            break
        found = _match_one(act, name, proofs, examples, deadline)
        if found is not None:
            matches.append(found)
        done += 1
    elapsed = time.monotonic() - start
    complete = done == len(names)
    note = (f"searched all {len(names)} catalog entries in {elapsed:.1f} s (budget {seconds:g} s)" if complete else
            f"stopped at the time budget of {seconds:g} s after {done} of {len(names)} catalog entries")
    return {"matches": matches, "complete": complete, "seconds": round(elapsed, 2), "budget": seconds,
            "note": note}


def _bounded_proof(f, g, variables, deadline, what: str) -> bool:
    """:func:`prove_equal` within what is left before ``deadline`` (False past it)."""
    import time

    from symact.errors import BudgetError

    left = deadline - time.monotonic()
    if left <= 0.05:
        return False
    try:
        with budget.step(what, left):
            return prove_equal(f, g, variables)
    except BudgetError:
        return False


def _match_one(act: Activation, name: str, proofs: bool, examples: int, deadline: float) -> dict | None:
    entry = catalog.get(name)
    if act.vector:
        if not entry.vector or entry.shape != act.shape:
            return None  # a formula's component i keeps the row's shape: glu, logsumexp, crelu cannot be it
        return _vector_match(act, entry, name, deadline)
    mine = _mine(act)
    candidates = []
    if _close(_catalog_values(name), mine):
        candidates.append(entry)
    if entry.params:
        for vals in _solve_params(entry, _fit_for(act)):
            try:
                cand = entry.with_params(**vals)
            except SymactError:
                continue
            if cand.param_values != entry.param_values and _close(_values(cand.expr, cand.x, _PREFILTER), mine):
                candidates.append(cand)
    for cand in candidates:
        verdict = _equal(cand, act, proofs=proofs, examples=examples, deadline=deadline)
        if verdict:
            return {"name": name, "params": {k: str(v) for k, v in cand.param_values.items()}, "verdict": verdict}
    return None


_MINE: dict = {}


def _mine(act: Activation):
    key = id(act)
    if _MINE.get(key, (None,))[0] is not act:
        _MINE.clear()
        _MINE[key] = (act, _values(act.expr, act.x, _PREFILTER), _Fit(act))
    return _MINE[key][1]


def _fit_for(act: Activation) -> _Fit:
    _mine(act)
    return _MINE[id(act)][2]


def _vector_match(act: Activation, entry: Activation, name: str, deadline: float) -> dict | None:
    if _bounded_proof(entry.expr, act.expr, (), deadline, f"proving the formula equals {name}"):
        return {"name": name, "params": {}, "verdict": "proved"}
    for v in VECTOR_POINTS[:4]:
        n = len(v)
        xs, ac = symbolic.components(act.expr, n)
        _, ec = symbolic.components(entry.expr, n)
        if not _close(VectorOracle(ac, xs).rounded(v), VectorOracle(ec, xs).rounded(v)):
            return None
    return {"name": name, "params": {}, "verdict": "undecided"}


def _equal(a: Activation, b: Activation, *, proofs: bool, examples: int, deadline: float | None = None) -> str | None:
    import time

    f, g = a.expr, b.expr.xreplace({b.x: a.x})
    deadline = time.monotonic() + RECOGNITION_SECONDS if deadline is None else deadline
    if proofs and _bounded_proof(f, g, [a.x], deadline, f"proving the formula equals {a.name}"):
        return "proved"
    pts = oracle_points(_kink_points(f, g), examples=examples)
    fo, go = Oracle(f, a.x), Oracle(g, a.x)
    if all(_same(_rounded(fo, v), _rounded(go, v)) for v in pts):
        return "undecided"
    return None
