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

from symact.errors import SymactError
from symact.symbolic.exact import certified_sign
from symact.symbolic.normal import flat_piecewise as _flat_piecewise, normalize

#: The variable every scalar activation is written in.
X = sp.Symbol("x", real=True)

#: Vector activations are written per component ``i`` of ``x`` with a sum over ``j``.
XV = sp.IndexedBase("x", real=True)
I, J, K = sp.symbols("i j k", integer=True)
N = sp.Symbol("n", integer=True, positive=True)


class Undecidable(Exception):
    """SymPy could not settle a condition: callers fall back to 'undecided'."""


class NoBranch(Undecidable):
    """No row of a Piecewise is active near a point: the expression is undefined there.

    Not a limit of SymPy but of the formula (a ``cases`` without a row for
    x <= 0): :meth:`where` says where no row applies, for the user's message.
    """

    def __init__(self, pw: sp.Piecewise, x: sp.Symbol, point, side: str):
        self.pw, self.x, self.point, self.side = pw, x, point, side
        super().__init__(f"no branch of {pw} is active near {point}{side}")

    def __reduce__(self):  # crosses back from a forked check whole
        return (NoBranch, (self.pw, self.x, self.point, self.side))

    def where(self) -> str:
        """Where no row applies, as a condition on x ("x <= 0"), or near which point."""
        table = _branch_table(self.pw, self.x)
        if table is not None:
            text = table.undefined()
            if text:
                return text
        return f"x just {'below' if self.side == '-' else 'above'} {self.point}" \
            if self.point not in (sp.oo, -sp.oo) else f"x near {self.point}"


class UndefinedError(SymactError):
    """A formula that is undefined on part of the real line (a ``cases`` with no row there)."""


def undefined_error(exc: "NoBranch", name: str = "f") -> UndefinedError:
    """The user's message for :class:`NoBranch`: where no row applies and how to fix it."""
    return UndefinedError(f"the cases do not define {name} for {exc.where()}; add a row for it "
                          f"(e.g. `0 & \\text{{otherwise}}`)")


def check_defined(expr: sp.Expr, x: sp.Symbol, name: str = "f") -> None:
    """Raise :class:`UndefinedError` when a one-level Piecewise of ``expr`` leaves a
    part of the real line without a row (found from its branch table, in linear time)."""
    for pw in expr.atoms(sp.Piecewise) if isinstance(expr, sp.Basic) else ():
        table = _branch_table(pw, x)
        if table is not None and table.undefined():
            raise undefined_error(NoBranch(pw, x, sp.S.Zero, "+"), name)


# --------------------------------------------------------------------------- normal form
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
        table = _branch_table(pw, x)
        if table is not None:
            return table.pick(point, side)
        for e, c in pw.args:
            if _condition_near(c, x, point, side):
                return e
        raise NoBranch(pw, x, point, side)

    if _flat_piecewise(expr):
        return pick(expr)   # one level (a cases): no walk over the rows for inner Piecewise
    out = expr
    while out.has(sp.Piecewise):
        out = out.replace(lambda e: isinstance(e, sp.Piecewise) and not any(
            isinstance(a, sp.Piecewise) for a in e.atoms(sp.Piecewise) - {e}), pick)
    return out


class _NotTabled(Exception):
    """A condition the branch table does not handle (nonlinear, symbolic): scan instead."""


class _BranchTable:
    """Which row of a flat Piecewise is active on each cell of the real line.

    The m boundary points b_0 < ... < b_(m-1) of the rows' (linear) conditions cut
    the line into 2m + 1 cells: cell 2j + 1 is the point b_j, cell 2j the open
    interval before it, cell 2m the one after the last. Each condition becomes a
    set of cells (a bit mask: relations are half-lines, And/Or/Not bitwise), and
    the rows paint the cells they are first active on, in order. Built once per
    Piecewise in time linear in its rows (plus bit operations on m-bit masks), so
    looking up the branch beside each of the m points costs O(m log m) in all,
    where scanning the rows each time grew with the square of the rows.
    """

    def __init__(self, pw: sp.Piecewise, x: sp.Symbol):
        self.pw, self.x = pw, x
        rels: list = []
        for _, c in pw.args:
            if not isinstance(c, sp.Basic):
                raise _NotTabled()
            rels += list(c.atoms(sp.core.relational.Relational))
        roots: dict = {}
        self._lin: dict = {}
        for rel in rels:
            d = rel.lhs - rel.rhs
            if not d.has(x):
                continue
            if d.free_symbols != {x}:
                raise _NotTabled()
            poly = sp.Poly(d, x)
            if poly.degree() != 1:
                raise _NotTabled()
            a, b = poly.coeff_monomial(x), poly.coeff_monomial(1)
            if not (a.is_Rational and b.is_Rational):
                raise _NotTabled()
            r = -b / a
            roots[r] = float(r)
            self._lin[rel] = (1 if a > 0 else -1, r)
        self.points = sorted(roots, key=lambda r: r)   # exact rationals: exact order
        self.floats = [float(r) for r in self.points]
        self.index = {r: j for j, r in enumerate(self.points)}
        m = len(self.points)
        self.cells = 2 * m + 1
        self.full = (1 << self.cells) - 1
        painted, owner = 0, {}
        for k, (_, c) in enumerate(pw.args):
            new = self._mask(c) & ~painted
            painted |= new
            while new:
                low = new & -new
                owner[low.bit_length() - 1] = k
                new ^= low
        self.owner = owner

    def _mask(self, cond) -> int:
        if cond in (sp.true, True):
            return self.full
        if cond in (sp.false, False):
            return 0
        if isinstance(cond, sp.And):
            out = self.full
            for a in cond.args:
                out &= self._mask(a)
            return out
        if isinstance(cond, sp.Or):
            out = 0
            for a in cond.args:
                out |= self._mask(a)
            return out
        if isinstance(cond, sp.Not):
            return self.full & ~self._mask(cond.args[0])
        if cond in self._lin:
            sign, r = self._lin[cond]
            c = 2 * self.index[r] + 1
            below, at, above = (1 << c) - 1, 1 << c, self.full & ~((1 << (c + 1)) - 1)
            neg, pos = (below, above) if sign > 0 else (above, below)
            return {"<": neg, "<=": neg | at, ">": pos, ">=": pos | at, "==": at,
                    "!=": self.full & ~at}[cond.rel_op]
        raise _NotTabled()

    def _cell(self, point, side: str) -> int:
        if point == -sp.oo:
            return 0
        if point == sp.oo:
            return self.cells - 1
        j = self.index.get(point)
        if j is not None:
            return 2 * j if side == "-" else 2 * j + 2
        if not point.is_Rational:
            raise _NotTabled()
        import bisect

        j = bisect.bisect_left(self.points, point)   # exact rationals compare exactly
        return 2 * j

    def at(self, point) -> sp.Expr | None:
        """The branch active at the rational ``point`` itself (None: not tabled, or no row)."""
        point = sp.sympify(point)
        if not point.is_Rational:
            return None
        j = self.index.get(point)
        if j is not None:
            cell = 2 * j + 1
        else:
            import bisect

            cell = 2 * bisect.bisect_left(self.points, point)
        k = self.owner.get(cell)
        return None if k is None else self.pw.args[k][0]

    def pick(self, point, side: str) -> sp.Expr:
        try:
            cell = self._cell(sp.sympify(point), side)
        except _NotTabled:
            for e, c in self.pw.args:
                if _condition_near(c, self.x, point, side):
                    return e
            raise NoBranch(self.pw, self.x, point, side) from None
        k = self.owner.get(cell)
        if k is None:
            raise NoBranch(self.pw, self.x, point, side)
        return self.pw.args[k][0]

    def row_sets(self) -> list:
        """Where each row is the active one, as SymPy sets (EmptySet, a point, an
        Interval, or a Union of them): the runs of adjacent cells the row paints.
        Linear in the cells; the kernels' Piecewise lowering reads it instead of
        ``And(c, Not(previous rows)).as_set()`` per row (quadratic in the rows)."""
        runs: dict = {}
        for cell in range(self.cells):
            k = self.owner.get(cell)
            if k is None:
                continue
            rk = runs.setdefault(k, [])
            if rk and rk[-1][1] == cell - 1:
                rk[-1][1] = cell
            else:
                rk.append([cell, cell])
        return [self._runs_set(runs.get(k, [])) for k in range(len(self.pw.args))]

    def condition_set(self, cond) -> sp.Set:
        """Where ``cond`` (a row's condition, or any condition built from the same
        relations) holds, as a SymPy set; raises :class:`_NotTabled` otherwise."""
        mask, runs = self._mask(cond), []
        for cell in range(self.cells):
            if mask >> cell & 1:
                if runs and runs[-1][1] == cell - 1:
                    runs[-1][1] = cell
                else:
                    runs.append([cell, cell])
        return self._runs_set(runs)

    def _runs_set(self, runs) -> sp.Set:
        """The union of runs [first cell, last cell] of adjacent cells, as a SymPy set."""
        pts, m = self.points, len(self.points)

        def interval(a, b):
            # cell 2j: the open interval (pts[j-1], pts[j]); cell 2j + 1: the point pts[j]
            if a % 2:
                start, lopen = pts[a // 2], False
            else:
                start, lopen = (pts[a // 2 - 1] if a // 2 > 0 else -sp.oo), True
            if b % 2:
                end, ropen = pts[b // 2], False
            else:
                end, ropen = (pts[b // 2] if b // 2 < m else sp.oo), True
            return sp.Interval(start, end, lopen, ropen)

        ivs = [interval(a, b) for a, b in runs]
        return sp.S.EmptySet if not ivs else ivs[0] if len(ivs) == 1 else sp.Union(*ivs)

    def undefined(self) -> str:
        """The cells no row covers, as conditions on x joined by "or" ("" if none)."""
        x, pts, parts = self.x, self.points, []
        for cell in range(self.cells):
            if cell in self.owner:
                continue
            j = cell // 2
            if cell % 2:
                parts.append(sp.Eq(x, pts[j]))
            elif not pts:
                parts.append(sp.true)
            elif j == 0:
                parts.append(x < pts[0])
            elif j == len(pts):
                parts.append(x > pts[-1])
            else:
                parts.append(sp.And(pts[j - 1] < x, x < pts[j]))
        if not parts:
            return ""
        if parts == [sp.true]:
            return "any x"
        cond = sp.Or(*parts)
        try:
            cond = cond.as_set().as_relational(x) if len(parts) <= 64 else cond
        except Exception:  # noqa: BLE001 - only the wording of a message
            pass
        return sp.sstr(cond)


_TABLES: dict = {}


def _branch_table(pw: sp.Piecewise, x: sp.Symbol) -> "_BranchTable | None":
    """The branch table of ``pw`` (cached), or None where the scan must decide."""
    key = (pw, x)
    if key not in _TABLES:
        if len(_TABLES) >= 512:
            _TABLES.clear()
        try:
            _TABLES[key] = _BranchTable(pw, x)
        except (_NotTabled, sp.PolynomialError, TypeError, ValueError):
            _TABLES[key] = None
    return _TABLES[key]


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
        table = _branch_table(pw, x)
        if table is not None:   # the rows' roots, found once (sp.solve per relation costs more)
            points.update(table.points)
            continue
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


def value_at(expr: sp.Expr, x: sp.Symbol, point) -> sp.Expr:
    """``expr`` at the exact ``point``: for a one-level Piecewise (a cases) the row
    active there is found in its branch table, not by substituting into every row."""
    if _flat_piecewise(expr):
        table = _branch_table(expr, x)
        branch = table.at(point) if table is not None else None
        if branch is not None:
            return branch.subs(x, point)
    return sp.piecewise_fold(expr.subs(x, point))


def diff(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """d expr / dx, branch by branch through a Piecewise, without re-evaluating it.

    ``sp.diff`` of a Piecewise builds the result through ``Piecewise.eval``, which
    compares every condition with all earlier ones: for the rows of a ``cases``
    that grows with the square of the rows or worse (30 rows took over a minute).
    Differentiating each branch keeps the conditions as they are, so the cost
    grows linearly with the rows; the value is the same.
    """
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(diff(e, x), c) for e, c in expr.args], evaluate=False)
    return sp.diff(expr, x)


def find_kinks(expr: sp.Expr, x: sp.Symbol) -> list[Kink]:
    """Every boundary point at which the one-sided slopes or values differ."""
    f = normalize(expr)
    d = diff(f, x)
    kinks = []
    for c in boundary_points(f, x):
        left, right = one_sided_limit(d, x, c, "-"), one_sided_limit(d, x, c, "+")
        fl, fr = one_sided_limit(f, x, c, "-"), one_sided_limit(f, x, c, "+")
        continuous = _same_value(fl, fr)
        if not continuous or not _same_value(left, right):
            kinks.append(Kink(c, _simplify_value(left), _simplify_value(right), bool(continuous)))
    return kinks


def _transcendental_number(e: sp.Expr) -> bool:
    return e.is_number and bool(e.atoms(sp.Function))


def _simplify_value(e: sp.Expr) -> sp.Expr:
    """``simplify``, but not of a number holding functions (20 - 20 tanh(380)^2): there
    SymPy's trigsimp expands powers of exponentials (a 20-row cases of tanh(k x) took
    20 GB and minutes), and a number has nothing to simplify for the reader."""
    return e if _transcendental_number(e) else sp.simplify(e)


def _same_value(a: sp.Expr, b: sp.Expr) -> bool:
    """a == b, decided by a certified sign for numbers holding functions, else by
    ``simplify(a - b) == 0`` (as before)."""
    d = a - b
    if _transcendental_number(d):
        if certified_sign(d) in (-1, 1):
            return False
    return sp.simplify(d) == 0


def differentiate(expr: sp.Expr, x: sp.Symbol, conventions: dict) -> sp.Expr:
    """d expr / dx, with the value at each kink fixed by ``conventions``.

    The result is built interval by interval between the boundary points of the
    Piecewise conditions: one smooth expression per interval, and each boundary
    point assigned to the side its convention names ("left" or "right"). Every
    kink must have a convention; a missing one is a declaration bug, caught here.
    """
    f = normalize(expr)
    d = diff(f, x)
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


def components(expr: sp.Expr, n: int, m: int | None = None) -> tuple[list[sp.Symbol], list[sp.Expr]]:
    """A vector activation's components for a concrete length ``n``.

    Returns the symbols ``x1..xn`` and the ``m`` (default ``n``) component expressions.
    """
    xs = list(sp.symbols(f"x1:{n + 1}", real=True))
    comps = []
    for i in range(1, (n if m is None else m) + 1):
        e = expr.subs({N: n, I: i}).doit()
        comps.append(e.replace(lambda t: isinstance(t, sp.Indexed), lambda t: xs[int(t.indices[0]) - 1]))
    return xs, comps
