"""Load and evaluate the published-formula corpus (``formulas.toml``).

Shared by ``tests/test_corpus.py`` and ``tests/corpus/measure.py``.  The
reference values are computed independently of symact's kernels: the read
SymPy expression and the catalog's SymPy definition are both evaluated with
exact rational inputs by SymPy's ``evalf`` (mpmath underneath) at 50 digits.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import sympy as sp

from symact.errors import ParseError

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "formulas.toml"

#: Points of the real line where formulas are compared: away from every kink of
#: the catalog (0, +-1, +-3, 6) so that conventions at kinks do not matter.
POINTS = tuple(sp.Rational(p) for p in ("-37/10", "-5/4", "2/7", "47/10", "15/2"))
#: The vector the vector formulas (softmax, log_softmax) are compared on.
VECTOR = tuple(sp.Rational(p) for p in ("-1/3", "2/7", "3/2"))
DIGITS = 50
RTOL = sp.Rational(1, 10**12)


@dataclass(frozen=True)
class Entry:
    id: str
    source: str
    where: str
    language: str
    text: str
    means: str
    relation: str
    tolerance: str | None
    params: dict = field(default_factory=dict)
    catalog_params: dict = field(default_factory=dict)
    witness_params: dict = field(default_factory=dict)
    correct: bool = True
    note: str = ""
    refusal_ok: str = ""


def load() -> list[Entry]:
    data = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    out = []
    for row in data["formula"]:
        out.append(Entry(
            id=row["id"], source=row["source"], where=row["where"],
            language=row.get("language", "latex"), text=row["text"].strip(),
            means=row.get("means", ""), relation=row.get("relation", "="),
            tolerance=row.get("tolerance"), params=dict(row.get("params", {})),
            catalog_params=dict(row.get("catalog_params", {})),
            witness_params=dict(row.get("witness_params", {})),
            correct=row.get("correct", True), note=row.get("note", ""),
            refusal_ok=row.get("refusal_ok", "")))
    return out


def read(entry: Entry):
    """The ParsedFormula, or the ParseError the reader raised."""
    if entry.language == "latex":
        from symact.parse.latex import parse_latex as parse
    else:
        from symact.parse.expr import parse_expr as parse
    try:
        return parse(entry.text)
    except ParseError as exc:
        return exc


def exact(text: str) -> sp.Rational:
    return sp.Rational(Fraction(text))


def sides(parsed, entry: Entry):
    """[(side expression, tolerance or None for exact)] to compare with the catalog."""
    approx_tol = exact(entry.tolerance) if entry.tolerance else sp.Rational(1, 100)
    links = getattr(parsed, "links", ()) or ()
    if entry.relation == "=" and entry.tolerance:
        # an exact claim with rounded constants: every side within the tolerance
        return [(link.expr, approx_tol) for link in links] or [(parsed.expr, approx_tol)]
    if not links:
        return [(parsed.expr, approx_tol if entry.relation == "approx" else None)]
    if entry.relation == "approx" and all(link.relation == "=" for link in links):
        # the approximation is claimed in the prose ("or x*sigmoid(1.702x)"), not with \approx
        return [(link.expr, approx_tol) for link in links]
    out, approximate = [], False
    for link in links:
        if link.relation != "=":
            approximate = True
        out.append((link.expr, approx_tol if approximate else None))
    return out


class Unbound(Exception):
    pass


def _catalog(entry: Entry, extra: dict):
    import symact
    name = entry.means[2:] if entry.means.startswith("d:") else entry.means
    act = symact.get(name)
    names = {str(p.symbol) for p in act.params}
    values = {k: exact(v) for k, v in entry.catalog_params.items()}
    values.update({k: exact(v) for k, v in extra.items() if k in names})
    if values:
        act = act.with_params(**{k: str(v) for k, v in values.items()})
    return act, (act.derivative if entry.means.startswith("d:") else act.expr)


def _bindings(expr, entry: Entry, act, extra: dict, skip: set):
    """Values for the free symbols of a read side other than the variable."""
    values = {}
    stated = {k: exact(v) for k, v in entry.params.items()}
    stated.update({k: exact(v) for k, v in extra.items()})
    defaults = dict(_unique_catalog_defaults())
    defaults.update({str(p.symbol): p.default for p in act.params})
    defaults.update({k: v for k, v in dict(getattr(act, "param_values", {}) or {}).items()})
    for s in expr.free_symbols:
        if s in skip:
            continue
        name = str(s)
        if name in stated:
            values[s] = stated[name]
        elif name in defaults:
            values[s] = sp.Rational(defaults[name])
        else:
            raise Unbound(f"no value for the symbol {name!r}")
    return values


def _unique_catalog_defaults() -> dict:
    """Parameter defaults of the whole catalog, for names with one default only
    (a catalog function used inside a formula keeps its parameters free)."""
    import symact
    seen: dict = {}
    for name in symact.names():
        for p in symact.get(name).params:
            seen.setdefault(str(p.symbol), set()).add(sp.Rational(p.default))
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}


def _self_references(expr, parsed, base, x):
    """Replace the head's own function, used in its body (f'(x) = f(x)(1 - f(x)),
    ELU'(x) = ELU(x) + alpha), by the catalog function it defines."""
    names = set(getattr(parsed, "self_references", ()) or ())
    if not names:
        return expr
    rep = {}
    for app in expr.atoms(sp.core.function.AppliedUndef):
        if app.func.__name__ in names and len(app.args) == 1 and x is not None:
            rep[app] = base.xreplace({x: app.args[0]})
    return expr.xreplace(rep) if rep else expr


def _limit_symbols(expr) -> set:
    """Names of the symbols in the bounds of the sums (the vector's size, as
    in sum_{j=0}^{N-1}), whatever the reader classified them as."""
    out = set()
    for su in expr.atoms(sp.Sum):
        for _, lo, hi in su.limits:
            out |= {str(s) for s in (lo.free_symbols | hi.free_symbols)}
    return out


def _number(expr) -> sp.Float:
    val = sp.N(expr, DIGITS)
    if not val.is_number or not val.is_real:
        raise Unbound(f"did not evaluate to a real number: {val}")
    return val


def _mp(e, env):
    """Evaluate a SymPy expression tree with mpmath (the working precision set by
    the caller); raise TypeError for a node it does not know."""
    import mpmath
    if e.is_Symbol:
        return env[e]
    if e.is_Integer:
        return mpmath.mpf(int(e))
    if e.is_Rational:
        return mpmath.mpf(int(e.p)) / int(e.q)
    if e.is_Float:
        return mpmath.mpf(e)
    if e is sp.pi:
        return +mpmath.pi
    if e is sp.E:
        return +mpmath.e
    if e.is_Add:
        return mpmath.fsum(_mp(a, env) for a in e.args)
    if e.is_Mul:
        out = mpmath.mpf(1)
        for a in e.args:
            out *= _mp(a, env)
        return out
    if e.is_Pow:
        b, x = e.args
        if x.is_Integer:
            return _mp(b, env) ** int(x)
        return mpmath.power(_mp(b, env), _mp(x, env))
    if isinstance(e, sp.Piecewise):
        for val, cond in e.args:
            if _cond(cond, env):
                return _mp(val, env)
        raise TypeError("no piece applies")
    if isinstance(e, (sp.Max, sp.Min)):
        vals = [_mp(a, env) for a in e.args]
        return max(vals) if isinstance(e, sp.Max) else min(vals)
    fn = _MPFUNCS.get(type(e).__name__)
    if fn is not None and len(e.args) == 1:
        return fn(_mp(e.args[0], env))
    raise TypeError(type(e).__name__)


def _cond(c, env):
    if c is sp.true or c == True:  # noqa: E712
        return True
    if c is sp.false or c == False:  # noqa: E712
        return False
    if isinstance(c, sp.And):
        return all(_cond(a, env) for a in c.args)
    if isinstance(c, sp.Or):
        return any(_cond(a, env) for a in c.args)
    if isinstance(c, sp.Not):
        return not _cond(c.args[0], env)
    ops = {sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
           sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
           sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b}
    for cls, op in ops.items():
        if isinstance(c, cls):
            return op(_mp(c.lhs, env), _mp(c.rhs, env))
    raise TypeError(type(c).__name__)


def _heaviside(v):
    return 1 if v > 0 else 0 if v < 0 else None


_MPFUNCS = {}


def _init_mpfuncs():
    import mpmath
    _MPFUNCS.update({
        "exp": mpmath.exp, "log": mpmath.log, "tanh": mpmath.tanh, "sinh": mpmath.sinh,
        "cosh": mpmath.cosh, "sech": mpmath.sech, "csch": mpmath.csch, "coth": mpmath.coth,
        "erf": mpmath.erf, "erfc": mpmath.erfc, "Abs": abs, "sign": mpmath.sign,
        "atan": mpmath.atan, "asinh": mpmath.asinh, "atanh": mpmath.atanh,
        "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
    })


def _scalar_values(expr, var, binding):
    """Values at POINTS: the expression tree evaluated by mpmath at DIGITS (+10)
    digits from the exact rational inputs; SymPy's evalf for trees with other
    nodes (erf of a product is fine; a Heaviside or an unknown function is not)."""
    import mpmath
    e = expr.xreplace(binding) if binding else expr
    free = e.free_symbols - {var}
    if free:
        raise Unbound(f"no value for the symbol {str(sorted(free, key=str)[0])!r}")
    if not _MPFUNCS:
        _init_mpfuncs()
    try:
        out = []
        with mpmath.workdps(DIGITS + 10):
            for p in POINTS:
                v = _mp(e, {var: mpmath.mpf(int(p.p)) / int(p.q)})
                if not isinstance(v, (mpmath.mpf, int)):
                    raise TypeError(type(v))
                out.append(sp.Float(v, DIGITS))
        return out
    except (TypeError, KeyError, ZeroDivisionError, ValueError):
        return [_number(e.xreplace({var: p})) for p in POINTS]


_REFERENCE: dict = {}


def _vector_values(expr, parsed_like):
    """Values at VECTOR for every index i, with the sum bound set to len(VECTOR)."""
    var, index, sizes = parsed_like
    n = len(VECTOR)
    e = expr.xreplace({s: sp.Integer(n) for s in expr.free_symbols if str(s) in sizes})
    # the first index is the lower bound of the sums (1 unless written otherwise)
    lows = {s.limits[0][1] for s in e.atoms(sp.Sum)}
    lo = int(lows.pop()) if len(lows) == 1 and next(iter(lows)).is_Integer else 1
    e = e.doit()
    base = sp.IndexedBase(var) if not isinstance(var, sp.IndexedBase) else var
    out = []
    for k in range(lo, lo + n):
        rep = {}
        for ind in e.atoms(sp.Indexed):
            i = ind.indices[0]
            i = sp.sympify(i).xreplace({s: sp.Integer(k) for s in i.free_symbols if s.name == index})
            if not i.is_Integer:
                raise Unbound(f"index {ind} not bound")
            rep[ind] = VECTOR[int(i) - lo]
        e2 = e.xreplace(rep)
        e2 = e2.xreplace({s: sp.Integer(k) for s in e2.free_symbols if s.name == index})
        out.append(_number(e2))
    return out


def compare(entry: Entry, parsed, *, witness: bool = False):
    """[(side, max relative difference, allowed)] for each side of a read formula."""
    extra = entry.witness_params if witness else {}
    act, ref = _catalog(entry, extra)
    results = []
    for side, tol in sides(parsed, entry):
        if getattr(act, "vector", False):
            cat_var = act.x
            r = _vector_values(ref, (str(cat_var), "i", ("n",)))
            sizes = set(parsed.sizes) | _limit_symbols(side)
            skip = {s for s in side.free_symbols
                    if isinstance(s, (sp.Indexed, sp.IndexedBase))
                    or str(s) in {str(parsed.variable), parsed.index or "i"} | sizes}
            binding = _bindings(side.xreplace({}), entry, act, extra, skip)
            # bound parameters first, then the vector
            idx = parsed.index or "i"
            v = _vector_values(side.xreplace(binding), (str(parsed.variable), idx, tuple(sizes) or ("n",)))
        else:
            key = (entry.means, tuple(sorted((str(p), v) for p, v in act.param_values.items()))
                   if hasattr(act, "param_values") else ())
            if key not in _REFERENCE:
                _REFERENCE[key] = _scalar_values(ref, act.x, {})
            r = _REFERENCE[key]
            side = _self_references(side, parsed, act.expr, act.x)
            binding = _bindings(side, entry, act, extra, {parsed.variable})
            v = _scalar_values(side, parsed.variable, binding)
        worst = max(abs(a - b) / max(1, abs(b)) for a, b in zip(v, r))
        results.append((side, worst, tol if tol is not None else RTOL))
    return results
