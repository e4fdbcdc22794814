"""SymPy helpers that every higher layer shares: normal forms, one-sided
resolution of piecewise expressions, kink candidates, derivatives with stated
conventions, and a sound zero prover.

Nothing here guesses. :func:`prove_zero` answers ``True`` only when SymPy
reduces an expression to zero on an exhaustive split of the cases; otherwise it
answers ``False`` (which means "not proved", never "refuted").
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

#: The variable every scalar activation is written in.
X = sp.Symbol("x", real=True)

#: Vector activations are written per component ``i`` of ``x`` with a sum over ``j``.
XV = sp.IndexedBase("x", real=True)
I, J, K = sp.symbols("i j k", integer=True)
N = sp.Symbol("n", integer=True, positive=True)


class Undecidable(Exception):
    """SymPy could not settle a condition: callers fall back to 'undecided'."""


# --------------------------------------------------------------------------- normal form
def normalize(expr: sp.Expr) -> sp.Expr:
    """Rewrite Max, Min, Abs, Heaviside and sign as Piecewise, folded to one level."""
    rewritten = expr
    for cls in (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign):
        if rewritten.has(cls):
            rewritten = rewritten.replace(
                lambda e, c=cls: isinstance(e, c), lambda e: _as_piecewise(e)
            )
    return sp.piecewise_fold(rewritten)


def _as_piecewise(e: sp.Expr) -> sp.Expr:
    if isinstance(e, sp.Heaviside):
        arg, h0 = e.args[0], (e.args[1] if len(e.args) > 1 else sp.S.Half)
        return sp.Piecewise((0, arg < 0), (h0, sp.Eq(arg, 0)), (1, True))
    if isinstance(e, sp.sign):
        arg = e.args[0]
        return sp.Piecewise((-1, arg < 0), (0, sp.Eq(arg, 0)), (1, True))
    if isinstance(e, (sp.Max, sp.Min)):
        args = [_as_piecewise(a) if a.has(sp.Max, sp.Min) else a for a in e.args]
        out = args[0]
        for a in args[1:]:
            out = (
                sp.Piecewise((a, out <= a), (out, True))
                if isinstance(e, sp.Max)
                else sp.Piecewise((out, out <= a), (a, True))
            )
        return out
    return e.rewrite(sp.Piecewise)


# --------------------------------------------------------------------------- one-sided
def _linear_sign_near(d: sp.Expr, x: sp.Symbol, point, side: str) -> int:
    """Sign of ``d`` (linear in ``x``) just beside ``point`` on ``side`` ('-' or '+')."""
    poly = sp.Poly(d, x) if d.has(x) else None
    if poly is not None and poly.degree() > 1:
        raise Undecidable(f"condition {d} is not linear in {x}")
    slope = poly.coeff_monomial(x) if poly is not None else sp.S.Zero
    const = d.subs(x, 0)
    step = -1 if side == "-" else 1
    if point in (sp.oo, -sp.oo):
        lead = slope * (1 if point == sp.oo else -1) if slope != 0 else const
    else:
        at = sp.nsimplify(slope * point + const)
        lead = at if at != 0 else slope * step
    if lead.is_positive:
        return 1
    if lead.is_negative:
        return -1
    if lead.is_zero:
        return 0
    raise Undecidable(f"sign of {lead} is unknown")


def _condition_near(cond, x, point, side) -> bool:
    if cond in (sp.true, True):
        return True
    if cond in (sp.false, False):
        return False
    if isinstance(cond, sp.And):
        return all(_condition_near(c, x, point, side) for c in cond.args)
    if isinstance(cond, sp.Or):
        return any(_condition_near(c, x, point, side) for c in cond.args)
    if isinstance(cond, sp.Not):
        return not _condition_near(cond.args[0], x, point, side)
    if isinstance(cond, sp.Eq):
        return _linear_sign_near(cond.lhs - cond.rhs, x, point, side) == 0
    if isinstance(cond, sp.Ne):
        return _linear_sign_near(cond.lhs - cond.rhs, x, point, side) != 0
    if isinstance(cond, sp.core.relational.Relational):
        s = _linear_sign_near(cond.lhs - cond.rhs, x, point, side)
        op = cond.rel_op
        return {"<": s < 0, "<=": s <= 0, ">": s > 0, ">=": s >= 0}[op]
    raise Undecidable(f"cannot decide condition {cond}")


def resolve_near(expr: sp.Expr, x: sp.Symbol, point, side: str) -> sp.Expr:
    """Replace every Piecewise by the branch active just beside ``point``.

    ``side`` is '-' (just left of ``point``) or '+' (just right); ``point`` may be
    ``sp.oo`` or ``-sp.oo`` (then ``side`` is ignored). Conditions must be linear.
    """
    def pick(pw: sp.Piecewise) -> sp.Expr:
        for e, c in pw.args:
            if _condition_near(c, x, point, side):
                return e
        raise Undecidable(f"no branch of {pw} is active near {point}{side}")

    out = expr
    while out.has(sp.Piecewise):
        out = out.replace(lambda e: isinstance(e, sp.Piecewise) and not any(
            isinstance(a, sp.Piecewise) for a in e.atoms(sp.Piecewise) - {e}), pick)
    return out


#: limits already taken in this process: facts, the oracle (values at ±inf) and the
#: kernels ask for the same ones, and a limit of gelu_tanh' takes SymPy about a second
_LIMITS: dict = {}
_LIMITS_MAX = 4096


def one_sided_limit(expr: sp.Expr, x: sp.Symbol, point, side: str = "+") -> sp.Expr:
    """The limit of ``expr`` as ``x`` approaches ``point`` from ``side``.

    At ``sp.oo`` and ``-sp.oo`` there is one side and ``side`` is ignored. Results
    are remembered for the life of the process (SymPy expressions are immutable).
    """
    infinite = point in (sp.oo, -sp.oo)
    key = (expr, x, point, None if infinite else side)
    try:
        return _LIMITS[key]
    except KeyError:
        pass
    smooth = resolve_near(normalize(expr), x, point, side)
    value = sp.limit(smooth, x, point) if infinite else sp.limit(smooth, x, point, dir=side)
    if len(_LIMITS) >= _LIMITS_MAX:
        _LIMITS.clear()
    _LIMITS[key] = value
    return value


# --------------------------------------------------------------------------- kinks
def boundary_points(expr: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """Points where a Piecewise condition of ``normalize(expr)`` changes truth value."""
    points: set[sp.Expr] = set()
    for pw in normalize(expr).atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.core.relational.Relational):
                d = rel.lhs - rel.rhs
                if d.has(x):
                    points.update(r for r in sp.solve(d, x) if r.is_real)
    return sorted(points, key=lambda p: float(p))


@dataclass(frozen=True)
class Kink:
    """A point where the function or its derivative has a jump."""

    at: sp.Expr
    left_slope: sp.Expr
    right_slope: sp.Expr
    continuous: bool

    @property
    def kind(self) -> str:
        return "kink" if self.continuous else "jump"


def find_kinks(expr: sp.Expr, x: sp.Symbol) -> list[Kink]:
    """Every boundary point at which the one-sided slopes or values differ."""
    f = normalize(expr)
    d = sp.diff(f, x)
    kinks = []
    for c in boundary_points(f, x):
        left, right = one_sided_limit(d, x, c, "-"), one_sided_limit(d, x, c, "+")
        fl, fr = one_sided_limit(f, x, c, "-"), one_sided_limit(f, x, c, "+")
        continuous = sp.simplify(fl - fr) == 0
        if not continuous or sp.simplify(left - right) != 0:
            kinks.append(Kink(c, sp.simplify(left), sp.simplify(right), bool(continuous)))
    return kinks


def differentiate(expr: sp.Expr, x: sp.Symbol, conventions: dict) -> sp.Expr:
    """d expr / dx, with the value at each kink fixed by ``conventions``.

    The result is built interval by interval between the boundary points of the
    Piecewise conditions: one smooth expression per interval, and each boundary
    point assigned to the side its convention names ("left" or "right"). Every
    kink must have a convention; a missing one is a declaration bug, caught here.
    """
    f = normalize(expr)
    d = sp.diff(f, x)
    Piecewise = sp.Piecewise
    if not d.has(Piecewise):
        return gentle_simplify(d, f)
    points = boundary_points(f, x)
    kinks = {k.at: k for k in find_kinks(f, x)}
    pieces = []
    for idx, c in enumerate(points):
        left = gentle_simplify(resolve_near(d, x, c, "-"), f)
        side = "right"
        if c in kinks:
            side = conventions.get(c)
            assert side in ("left", "right"), f"no derivative convention at kink x = {c}"
        pieces.append((left, x <= c if side == "left" else x < c))
    pieces.append((gentle_simplify(resolve_near(d, x, sp.oo, "-"), f), sp.true))
    merged = []
    for e, c in pieces:
        if merged and sp.simplify(merged[-1][0] - e) == 0:
            merged[-1] = (merged[-1][0], c)
        else:
            merged.append((e, c))
    return merged[0][0] if len(merged) == 1 else Piecewise(*[(e, c) for e, c in merged[:-1]], (merged[-1][0], True))


def gentle_simplify(expr: sp.Expr, like: sp.Expr | None = None) -> sp.Expr:
    """The shortest of a few simplifications that brings in no new functions.

    ``simplify`` alone turns sigmoid's derivative into ``1/(4 cosh(x/2)**2)``;
    people (and stable kernels) want it in the functions of the definition.
    """
    allowed = {type(a) for a in (like if like is not None else expr).atoms(sp.Function)}
    candidates = [expr, sp.together(expr), sp.factor_terms(expr)]
    try:
        candidates.append(sp.simplify(expr))
    except (TypeError, ValueError, RecursionError):
        pass
    ok = [c for c in candidates if {type(a) for a in c.atoms(sp.Function)} <= allowed | {sp.exp}]
    return min(ok or candidates[:1], key=sp.count_ops)


def tidy(expr: sp.Expr) -> sp.Expr:
    """Simplify each branch of a Piecewise and merge equal neighbours."""
    if isinstance(expr, sp.Piecewise):
        pieces = []
        for e, c in expr.args:
            e = tidy(e)
            if pieces and pieces[-1][0] == e:
                pieces[-1] = (e, sp.Or(pieces[-1][1], c))
            else:
                pieces.append((e, c))
            if c in (sp.true, True):
                break
        if all(p[0] == pieces[0][0] for p in pieces):
            return pieces[0][0]
        return sp.Piecewise(*pieces)
    return gentle_simplify(expr)


# --------------------------------------------------------------------------- proofs
def prove_zero(expr: sp.Expr, variables=(), positive=()) -> bool:
    """True when ``expr`` is identically zero for all real values of ``variables``.

    First a plain ``simplify``. If that leaves Piecewise or Abs terms, split each
    variable exhaustively into positive, negative and zero (``positive`` ones only
    positive), let SymPy settle the conditions under those assumptions, and require
    every case to simplify to zero. ``False`` means "not proved".
    """
    expr = sp.sympify(expr)
    if _is_zero(expr):
        return True
    expr = normalize(expr)
    variables = [v for v in variables if expr.has(v)]
    if not variables:
        return _is_zero(expr)
    if len(variables) > 4:
        return False
    cases = []
    for v in variables:
        u = sp.Dummy(f"{v.name}_abs", positive=True)
        cases.append([u] if v in positive else [u, -u, sp.S.Zero])
    for combo in itertools.product(*cases):
        case = expr.subs(dict(zip(variables, combo)), simultaneous=True)
        if not _is_zero(sp.piecewise_fold(case)):
            return False
    return True


def _is_zero(expr: sp.Expr) -> bool:
    if expr == 0:
        return True
    try:
        simplified = sp.simplify(expr)
        if simplified == 0:
            return True
        if simplified.has(sp.exp, sp.tanh, sp.log):
            return sp.simplify(simplified.rewrite(sp.exp)) == 0
    except (TypeError, ValueError, RecursionError):
        return False
    return False


# --------------------------------------------------------------------------- vectors
def kronecker_sums(expr: sp.Expr) -> sp.Expr:
    """Evaluate ``Sum(g(j) * KroneckerDelta(j, k), (j, 1, n))`` as ``g(k)``."""

    def collapse(s: sp.Sum) -> sp.Expr:
        j, body = s.limits[0][0], s.function
        for delta in body.atoms(sp.KroneckerDelta):
            if j in delta.free_symbols:
                other = (set(delta.args) - {j}).pop()
                return body.subs(delta, 1).subs(j, other)
        return s

    return expr.replace(lambda e: isinstance(e, sp.Sum), collapse)


def components(expr: sp.Expr, n: int) -> tuple[list[sp.Symbol], list[sp.Expr]]:
    """A vector activation's components for a concrete length ``n``.

    Returns the symbols ``x1..xn`` and the ``n`` component expressions.
    """
    xs = list(sp.symbols(f"x1:{n + 1}", real=True))
    comps = []
    for i in range(1, n + 1):
        e = expr.subs({N: n, I: i}).doit()
        comps.append(e.replace(lambda t: isinstance(t, sp.Indexed), lambda t: xs[int(t.indices[0]) - 1]))
    return xs, comps
