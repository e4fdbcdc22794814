"""Facts derived from an activation's definition, never typed in.

For scalar activations: the derivative and its form in terms of the function's
own value, kinks, limits at ±inf, critical points, range, monotonicity, and
sup |f'| with its consequence for gradients through stacked layers. For vector
activations: the Jacobian and its form in terms of the output, the sum of the
outputs and the per-component range.

Each fact records how it was established: ``symbolic`` (SymPy derived or
proved it), or ``numeric`` (roots located with mpmath at 50 digits between
sign changes on a grid over [-60, 60]; the values are then exact to the
digits shown, but "no other root" rests on the grid).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import sympy as sp

from symact import cache
from symact.model.activation import Activation
from symact.numeric.oracle import Oracle
from symact.symbolic.forms import gentle_simplify, normalize, one_sided_limit, prove_zero, resolve_near

# sign-change grid over [-20, 20]: activations bend near the origin; beyond, their
# behaviour is that of the symbolic limits (and f' underflows below any format)
_GRID = [sp.Rational(i, 4) for i in range(-80, 81)]
_DIGITS = 30


@cache.cacheable
@dataclass(frozen=True)
class Fact:
    """One derived statement, its value, and how it was established."""

    name: str
    value: object
    text: str
    established: str  # "symbolic" or "numeric"

    def to_dict(self) -> dict:
        return {"value": _jsonable(self.value), "text": self.text, "established": self.established}


def _jsonable(v):
    if isinstance(v, sp.Basic):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(a) for a in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(a) for k, a in v.items()}
    return v


@cache.cacheable
@dataclass
class Facts:
    """All facts about one activation, in the order a report shows them."""

    items: list[Fact] = field(default_factory=list)

    def add(self, name, value, text, established="symbolic"):
        self.items.append(Fact(name, value, text, established))

    def __getitem__(self, name) -> Fact:
        for f in self.items:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {f.name: f.to_dict() for f in self.items}


# --------------------------------------------------------------------------- helpers
def self_form(act: Activation):
    """f' written in terms of y = f(x) (sigmoid: y (1 - y)), or None.

    Found by inverting y = f(x) with SymPy (when x occurs once, so the inverse
    peels off one function at a time) and substituting into f'; accepted only
    when the result is free of x and ``f'(x) = g(f(x))`` is then proved.
    """
    f = act.expr
    if f.has(sp.Piecewise, sp.Max, sp.Min, sp.Abs, sp.erf):
        return None
    if sum(1 for t in sp.preorder_traversal(f) if t == act.x) != 1:
        return None  # only invert by peeling: x occurs once (solve can hang otherwise)
    y = sp.Symbol("y", real=True)
    d = act.derivative
    direct = d.subs(f, y) if d.has(f) else None
    if direct is not None and not direct.has(act.x):
        candidate = sp.factor(direct)
    else:
        try:
            inverse = sp.solve(sp.Eq(y, f), act.x)
        except (NotImplementedError, TypeError, ValueError):
            return None
        if len(inverse) != 1:
            return None
        candidate = sp.factor(gentle_simplify(sp.simplify(d.subs(act.x, inverse[0]))))
        if candidate.has(act.x) or candidate.has(sp.I):
            return None
    if not prove_zero(candidate.subs(y, f) - d, [act.x]):
        return None
    return _positive_factors(candidate, y)


def _positive_factors(expr: sp.Expr, y: sp.Symbol) -> sp.Expr:
    """The tidier of the expanded form and the factored one with its leading -1
    absorbed (-y*(y - 1) -> y*(1 - y); -(y - 1)*(y + 1) -> 1 - y**2)."""
    factored = expr
    if isinstance(expr, sp.Mul) and expr.args[0] == -1:
        rest = list(expr.args[1:])
        flippable = [i for i, fac in enumerate(rest) if isinstance(fac, sp.Add) and fac.coeff(y) == 1
                     and (fac - y).is_negative]
        if flippable:
            i = flippable[0]
            rest[i] = sp.Add(*[-t for t in rest[i].args], evaluate=False)
            factored = sp.Mul(*rest, evaluate=False)
    expanded = sp.expand(expr)
    return expanded if sp.count_ops(expanded) < sp.count_ops(factored) else factored


def _mp(expr, x, v):
    with mpmath.workdps(_DIGITS + 20):
        return mpmath.mpf(sp.N(expr.subs(x, v), _DIGITS + 10))


def _roots(expr: sp.Expr, x: sp.Symbol, lo, hi) -> list:
    """Roots of a smooth ``expr`` in (lo, hi), by sign changes on the grid.

    A root that SymPy confirms at a simple closed form (nsimplify) is returned
    exact; others as 30-digit Floats.
    """
    pts = [p for p in _GRID if lo < p < hi]
    if expr.is_zero or not expr.has(x):
        return []
    orc = Oracle(expr, x)  # precision-raising evaluation: 1 - tanh(60)**2 is not 0
    roots = []
    vals = [(p, orc(float(p))) for p in pts]
    for (a, fa), (b, fb) in zip(vals, vals[1:]):
        if fa == 0:
            if _exactly_zero(expr.subs(x, a)):  # an exact root, not an underflow
                roots.append(a)
        elif fa * fb < 0:
            roots.append(_exactify(expr, x, _bisect(orc, a, b, fa)))
    return roots


def _bisect(orc, a, b, fa):
    """A root in [a, b] (sign change) to about 35 digits, by bisection."""
    with mpmath.workprec(256):
        lo, hi, flo = mpmath.mpf(a.p) / a.q, mpmath.mpf(b.p) / b.q, fa
        for _ in range(120):
            mid = (lo + hi) / 2
            fm = orc.value(mid)
            if fm == 0:
                return mid
            if (fm > 0) == (flo > 0):
                lo, flo = mid, fm
            else:
                hi = mid
        return (lo + hi) / 2


def _exactify(expr, x, r):
    guess = sp.nsimplify(sp.Float(r, _DIGITS), [sp.sqrt(2), sp.sqrt(3), sp.pi], tolerance=1e-25)
    if guess.is_number and _exactly_zero(expr.subs(x, guess)):
        return guess
    return sp.Float(r, _DIGITS)


def _exactly_zero(value: sp.Expr) -> bool:
    """SymPy confirms a constant is 0 (small expressions only: simplify can blow up)."""
    if value == 0 or value.is_zero:
        return True
    if sp.count_ops(value) > 40 or value.has(sp.tanh, sp.log):
        return False  # simplify can exhaust memory on these (mish)
    return sp.expand(value) == 0


def _regions(act: Activation):
    """(lo, hi, smooth f, smooth f') on each open interval between kinks."""
    f, d, x = normalize(act.expr), normalize(act.derivative), act.x
    cuts = [k.at for k in act.kinks]
    from symact.symbolic.forms import boundary_points

    cuts = sorted(set(cuts) | set(boundary_points(f, x)), key=float)
    edges = [-sp.oo] + cuts + [sp.oo]
    out = []
    for lo, hi in zip(edges, edges[1:]):
        at, side = (hi, "-") if lo == -sp.oo else (lo, "+")
        out.append((lo, hi, resolve_near(f, x, at, side), resolve_near(d, x, at, side)))
    return out


def _numeric(v) -> bool:
    return isinstance(v, sp.Float) or (isinstance(v, sp.Basic) and v.has(sp.Float))


# --------------------------------------------------------------------------- scalar
def derive(act: Activation) -> Facts:
    """Every fact about ``act`` (see the module docstring)."""
    return _vector_facts(act) if act.vector else _scalar_facts(act)


def _scalar_facts(act: Activation) -> Facts:
    x, facts = act.x, Facts()
    facts.add("derivative", act.derivative, f"f'(x) = {short(act.derivative)}")
    form = self_form(act)
    if form is not None:
        facts.add("derivative_in_terms_of_f", form, f"f'(x) = {sp.sstr(form).replace('y', 'f(x)')}")
    facts.add(
        "kinks", [{"at": k.at, "kind": k.kind, "left_slope": k.left_slope, "right_slope": k.right_slope,
                   "convention": act.conventions_bound.get(k.at)} for k in act.kinks],
        "; ".join(f"{k.kind} at x = {k.at} (slopes {short(k.left_slope)} | {short(k.right_slope)}, "
                  f"f'({k.at}) uses the {act.conventions_bound.get(k.at)} slope)" for k in act.kinks)
        or "none: differentiable everywhere",
    )
    lim_lo = one_sided_limit(act.expr, x, -sp.oo)
    lim_hi = one_sided_limit(act.expr, x, sp.oo)
    facts.add("limits", {"-oo": lim_lo, "oo": lim_hi}, f"f -> {short(lim_lo)} as x -> -oo, f -> {short(lim_hi)} as x -> oo")

    regions = _regions(act)
    crit, numeric = [], False
    for lo, hi, _, d in regions:
        for r in _roots(d, x, lo, hi):
            crit.append(r)
            numeric |= _numeric(r)
    # monotonicity from the sign of f' inside each region (between critical points)
    signs = []
    for lo, hi, _, d in regions:
        inner = [r for r in crit if lo < r < hi]
        cuts = [lo] + inner + [hi]
        for a, b in zip(cuts, cuts[1:]):
            mid = _midpoint(a, b)
            val = sp.N(d.subs(x, mid), _DIGITS)
            signs.append(0 if val == 0 else (1 if val > 0 else -1))
    mono = _monotonicity(signs)
    facts.add("monotonicity", mono, f"{mono} on the real line", "numeric" if crit else "symbolic")

    # range: extremes over limits, kink values and critical values
    cands = [(lim_lo, False), (lim_hi, False)]
    for k in act.kinks:
        cands.append((act(k.at), True))
        cands += [(one_sided_limit(act.expr, x, k.at, s), False) for s in "-+"]
    cands += [(act.expr.subs(x, r), True) for r in crit]
    rng, rng_numeric = _range(cands)
    facts.add("range", rng, f"{short(rng)}", "numeric" if (rng_numeric or numeric) else "symbolic")
    if crit:
        facts.add("critical_points", crit, "f'(x) = 0 at x = " + ", ".join(
            sp.sstr(sp.N(r, 12)) if _numeric(r) else sp.sstr(r) for r in crit),
                  "numeric" if numeric else "symbolic")

    # sup |f'|: over the critical points of f', one-sided kink slopes and limits of f'
    slope_cands, slope_numeric = [], False
    for lo, hi, _, d in regions:
        for r in _roots(sp.diff(d, x), x, lo, hi):
            slope_cands.append((sp.Abs(d.subs(x, r)), r, True))
            slope_numeric |= _numeric(r)
        if not d.has(x):
            slope_cands.append((sp.Abs(d), sp.Interval.open(lo, hi), True))
    for lo, hi, _, d in regions:  # one-sided slopes at every boundary (kink or not)
        for end, side in ((lo, "+"), (hi, "-")):
            if end not in (sp.oo, -sp.oo):
                slope_cands.append((sp.Abs(one_sided_limit(d, x, end, side)), end, False))
    for side in (-sp.oo, sp.oo):
        lim = one_sided_limit(act.derivative, x, side)
        if isinstance(lim, sp.AccumBounds):
            # f' has no limit there (sin): its bounds need not be attained, so they are no
            # candidate; the critical points of f' located on the grid carry the sup
            slope_numeric = True
        elif lim is not sp.nan:
            slope_cands.append((sp.Abs(lim), side, False))
    best = max(slope_cands, key=lambda c: float(sp.N(c[0], _DIGITS)))
    sup = gentle_simplify(best[0])
    sup = sup if not _numeric(sup) else sp.N(sup, 20)
    where = best[1]
    at_text = f"for x in {short(where)}" if isinstance(where, sp.Interval) else f"at x = {short(where)}"
    facts.add("max_slope", {"sup": sup, "at": where}, f"sup |f'| = {short(sup)} {at_text}",
              "numeric" if slope_numeric and _numeric(sup) else "symbolic")
    facts.add("vanishing_gradient", _gradient_note(sup)[0], _gradient_note(sup)[1],
              "numeric" if _numeric(sup) else "symbolic")
    return facts


def short(v) -> str:
    """A readable form: intervals as (a, b], long exact rationals (SELU's) as 20 digits."""
    if isinstance(v, sp.Interval):
        return (("(" if v.left_open else "[") + short(v.start) + ", " + short(v.end)
                + (")" if v.right_open else "]"))
    if isinstance(v, sp.Rational) and len(str(v)) > 24:
        return str(sp.N(v, 20))
    if isinstance(v, sp.Basic) and any(len(str(r)) > 24 for r in v.atoms(sp.Rational)):
        return sp.sstr(v.xreplace({r: sp.N(r, 20) for r in v.atoms(sp.Rational) if len(str(r)) > 24}))
    return sp.sstr(v)


def _midpoint(a, b):
    if a == -sp.oo and b == sp.oo:
        return sp.S.Zero
    if a == -sp.oo:
        return b - 1
    if b == sp.oo:
        return a + 1
    return (a + b) / 2


def _monotonicity(signs) -> str:
    if all(s > 0 for s in signs):
        return "strictly increasing"
    if all(s >= 0 for s in signs):
        return "non-decreasing" if any(s > 0 for s in signs) else "constant"
    if all(s < 0 for s in signs):
        return "strictly decreasing"
    if all(s <= 0 for s in signs):
        return "non-increasing"
    return "not monotonic"


def _range(cands):
    vals, oscillates = [], False
    for v, attained in cands:
        if isinstance(v, sp.AccumBounds):   # no limit (sin at +inf): its bounds need not be
            oscillates = True                 # attained, so the critical values carry the range
        elif v is not sp.nan:
            vals.append((v, attained))
    key = lambda c: float(sp.N(c[0], _DIGITS)) if c[0].is_finite else (float("inf") if c[0] == sp.oo else float("-inf"))
    lo = min(vals, key=key)
    hi = max(vals, key=key)
    lo_closed = any(a and key((v, a)) == key(lo) for v, a in vals)
    hi_closed = any(a and key((v, a)) == key(hi) for v, a in vals)
    lo_v, hi_v = (sp.N(v[0], 20) if _numeric(v[0]) else v[0] for v in (lo, hi))
    rng = sp.Interval(lo_v, hi_v, left_open=not lo_closed, right_open=not hi_closed)
    return rng, _numeric(lo_v) or _numeric(hi_v) or oscillates


def _gradient_note(sup) -> tuple[str, str]:
    if sup == 0:
        return "zero", "f' = 0 almost everywhere: no gradient flows"
    if (sup < 1) == sp.true:
        ten = sup**10
        return "vanishing", (f"sup |f'| = {short(sup)} < 1: ten stacked layers scale a gradient by at most "
                             f"{sp.sstr(ten if not _numeric(ten) else sp.Float(ten, 6))} ({float(ten):.3g})")
    if sup == 1:
        return "preserving", "sup |f'| = 1: gradients pass unscaled where the slope is 1"
    return "amplifying", f"sup |f'| = {short(sup)} > 1: a gradient can grow through stacked layers"


# --------------------------------------------------------------------------- vector
def _vector_facts(act: Activation) -> Facts:
    facts = Facts()
    facts.add("derivative", act.derivative, f"d y_i / d x_k = {sp.sstr(act.derivative)}")
    if act.shape != "same":
        return _shaped_facts(act, facts)
    n = 3
    xs, comps = act.components(n)
    jac = sp.Matrix(n, n, lambda i, k: sp.diff(comps[i], xs[k]))
    s = sp.Matrix(comps)
    soft = sp.Matrix([sp.exp(v) / sum(sp.exp(w) for w in xs) for v in xs])
    forms = {
        "diag(y) - y y^T": sp.diag(*comps) - s * s.T,
        "I - 1 softmax(x)^T": sp.eye(n) - sp.ones(n, 1) * soft.T,
        "y y^T - diag(y)": s * s.T - sp.diag(*comps),
    }
    for text, form in forms.items():
        if all(prove_zero(e, xs) for e in (jac - form)):
            facts.add("jacobian", text, f"Jacobian = {text} (proved for n = {n})")
            break
    total = sum(comps)
    if prove_zero(total - 1, xs):
        facts.add("sum", 1, f"the outputs sum to 1 (proved for n = {n})")
    pos = all(sp.simplify(c).is_positive for c in comps)
    if pos and prove_zero(total - 1, xs):
        facts.add("range", sp.Interval.open(0, 1), "each output lies in (0, 1)")
    elif all(sp.simplify(c).is_nonpositive for c in comps):
        facts.add("range", sp.Interval.Lopen(-sp.oo, 0), "each output lies in (-oo, 0]")
    return facts


def _shaped_facts(act: Activation, facts: Facts) -> Facts:
    """Facts of a vector activation that changes the axis' length (glu, logsumexp, crelu),
    proved on rows of length 4 (glu needs an even length) or 3."""
    n = 4 if act.shape == "half" else 3
    xs, comps = act.components(n)
    m = len(comps)
    facts.add("shape", act.shape, {"half": f"n inputs give n/2 outputs (y_i from x_i and x_(i+n/2))",
                                    "reduce": "one output per row: the axis is removed; the derivative is the gradient",
                                    "double": "n inputs give 2 n outputs"}[act.shape])
    if act.shape == "reduce":
        soft = [sp.exp(v) / sum(sp.exp(w) for w in xs) for v in xs]
        if all(prove_zero(sp.diff(comps[0], v) - g, xs) for v, g in zip(xs, soft)):
            facts.add("jacobian", "softmax(x)", f"gradient = softmax(x) (proved for n = {n})")
        if prove_zero(comps[0].subs({v: v + 1 for v in xs}, simultaneous=True) - comps[0] - 1, xs):
            facts.add("shift", 1, f"f(x + c) = f(x) + c (proved for n = {n}, c = 1)")
    elif act.shape == "double" and all(prove_zero(comps[i] - comps[i + n] - xs[i], xs) for i in range(n)):
        facts.add("jacobian", "[diag(x > 0); -diag(x < 0)]", "y_i - y_(n+i) = x_i: [relu(x), relu(-x)] "
                  f"(proved for n = {n})")
    if all(sp.simplify(c).is_nonnegative for c in comps):
        facts.add("range", sp.Interval(0, sp.oo), "each output lies in [0, oo)")
    facts.add("outputs", m, f"{m} output{'' if m == 1 else 's'} for n = {n}")
    return facts
