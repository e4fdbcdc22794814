"""Approximation errors of the catalog's approximations, located exactly.

For an approximation ``g`` of ``f`` on a domain, the maximum of ``|g - f|`` is
attained at an end of the domain, at a kink of either function, or at a
critical point of the difference ``d = g - f`` inside one of its smooth pieces.
So:

1. split the domain at the breakpoints of ``d`` (the Piecewise conditions of
   either side, :func:`symact.symbolic.forms.boundary_points`); on each piece take the
   smooth branch (:func:`symact.symbolic.forms.resolve_near`) and its derivative
   ``d'`` by SymPy;
2. bracket the roots of ``d'`` by sign changes on a grid (step 1/16 on
   [-8, 8], 1/2 beyond; evaluated by the precision-raising oracle), and polish
   each with ``mpmath.findroot`` (Illinois, bracketed) at 50 digits;
3. evaluate ``|d|`` there, at the breakpoints and at the ends of the domain;
   the largest is the maximum, reported to 12 significant digits with every
   point where it is attained (values equal to 20 digits count as ties).

On an unbounded domain the grid covers [-R, R] (R = 32). Beyond it, the
certificate states ``|d(±R)|`` and refuses a maximum (``undecided``) unless
that tail value is below 1e-6 of it. The location is exact to the digits
shown; that no other critical point hides between two grid points with the
same sign of ``d'`` rests on the grid (as in :mod:`symact.analysis.facts`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import sympy as sp

from symact.errors import BudgetError, SymactError
from symact.model import catalog
from symact.numeric.oracle import Oracle, OracleError, enclosure
from symact.symbolic import budget
from symact.symbolic.forms import X as x
from symact.symbolic.forms import boundary_points, normalize, resolve_near

DIGITS = 12  #: significant digits reported
_DPS = 50
_STEP = sp.Rational(1, 16)
_R = 32
_FINE = 8  # step _STEP on [-_FINE, _FINE], step 1/2 beyond, out to _R
_GRID_POINTS = [mpmath.mpf(i) / 2 for i in range(-2 * _R, -2 * _FINE)] + \
    [mpmath.mpf(i) / 16 for i in range(-16 * _FINE, 16 * _FINE + 1)] + \
    [mpmath.mpf(i) / 2 for i in range(2 * _FINE + 1, 2 * _R + 1)]


@dataclass(frozen=True)
class Approximation:
    """One approximation ``of`` against ``target`` on [lo, hi] (None: unbounded)."""

    key: str
    of: str  # what approximates (a catalog name or a formula built from one)
    target: str
    build: callable  # () -> (approximation expr, target expr)
    lo: sp.Expr | None = None
    hi: sp.Expr | None = None
    note: str = ""
    involves: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApproxResult:
    key: str
    of: str
    target: str
    domain: str
    max_abs_error: str
    at: tuple[str, ...]
    signed: tuple[str, ...]  # approximation - target at each point of ``at``
    method: str
    tail: str
    established: str          # "located", "undecided" or "unbounded"
    note: str = ""
    #: max |approximation - target| / |target| located the same way, "undefined" (the target
    #: vanishes in the domain) or "undecided"; "" where not computed (the catalog's list)
    relative_error: str = ""
    #: why the maximum is not located: "tail not small ...", "budget exceeded ...", "unbounded ..."
    reason: str = ""
    seconds: float = 0.0      # time spent (max_error)
    budget_s: float | None = None

    def to_dict(self) -> dict:
        out = {"key": self.key, "of": self.of, "against": self.target, "domain": self.domain,
               "max_abs_error": self.max_abs_error, "at": list(self.at), "signed_error": list(self.signed),
               "method": self.method, "tail": self.tail, "established": self.established, "note": self.note}
        if self.relative_error:
            out["relative_error"] = self.relative_error
        if self.reason:
            out["reason"] = self.reason
        if self.budget_s is not None:
            out.update(seconds=round(self.seconds, 3), budget_s=self.budget_s)
        return out

    def __str__(self) -> str:
        if self.established == "located":
            rel = f", relative {self.relative_error}" if self.relative_error not in ("", "undecided", "undefined") else ""
            return f"{self.max_abs_error} at x = {', '.join(self.at)}{rel} ({self.domain})"
        return f"{self.established} ({self.reason or self.tail})"


def _get(name):
    return catalog.get(name)


def _sigmoid_gelu():
    k = sp.Rational("1.702")
    # x sigmoid(k x) = silu(k x) / k, from the catalog's silu
    return _get("silu").expr.subs(x, k * x) / k, _get("gelu").expr


APPROXIMATIONS: list[Approximation] = [
    Approximation("gelu_tanh_vs_gelu", "gelu_tanh", "gelu", lambda: (_get("gelu_tanh").expr, _get("gelu").expr),
                  involves=("gelu_tanh", "gelu")),
    Approximation("sigmoid_1702_vs_gelu", "x sigmoid(1.702 x)", "gelu", _sigmoid_gelu,
                  note="a documented extra (Hendrycks & Gimpel 2016), built as silu(1.702 x) / 1.702",
                  involves=("gelu", "silu")),
    Approximation("hard_sigmoid_vs_sigmoid", "hard_sigmoid", "sigmoid",
                  lambda: (_get("hard_sigmoid").expr, _get("sigmoid").expr), sp.Integer(-3), sp.Integer(3),
                  note="on [-3, 3] hard_sigmoid is x / 6 + 1 / 2", involves=("hard_sigmoid", "sigmoid")),
    Approximation("hard_swish_vs_silu", "hard_swish", "silu",
                  lambda: (_get("hard_swish").expr, _get("silu").expr), involves=("hard_swish", "silu")),
    Approximation("hard_tanh_vs_tanh", "hard_tanh", "tanh",
                  lambda: (_get("hard_tanh").expr, _get("tanh").expr), involves=("hard_tanh", "tanh")),
]


def _fmt(v, n=DIGITS) -> str:
    return mpmath.nstr(v, n, min_fixed=-4, max_fixed=6)


def _mpf(r: sp.Expr) -> mpmath.mpf:
    return mpmath.mpf(sp.Float(sp.N(r, _DPS + 10), _DPS + 10)._mpf_)


def _roots_of(dprime: sp.Expr, a: mpmath.mpf, b: mpmath.mpf) -> list[mpmath.mpf]:
    """Roots of the smooth ``dprime`` in (a, b): grid sign changes, then findroot."""
    if not dprime.has(x):
        return []
    orc = Oracle(dprime, x)
    f = lambda t: orc.value(mpmath.mpf(t))  # noqa: E731
    pts = [a] + [p for p in _GRID_POINTS if a < p < b] + [b]
    vals = [f(p) for p in pts]
    roots = []
    for (p, fp), (q, fq) in zip(zip(pts, vals), zip(pts[1:], vals[1:])):
        if fp == 0 and p not in (a, b):
            roots.append(p)
        elif fp * fq < 0:
            roots.append(mpmath.findroot(f, (p, q), solver="illinois", tol=mpmath.mpf(10) ** (-2 * _DPS)))
    return roots


def _evaluate(appr: Approximation) -> ApproxResult:
    g, f = appr.build()
    d = normalize(g - f)
    cuts = [c for c in boundary_points(d, x)
            if (appr.lo is None or c >= appr.lo) and (appr.hi is None or c <= appr.hi)]
    lo = appr.lo if appr.lo is not None else -sp.Integer(_R)
    hi = appr.hi if appr.hi is not None else sp.Integer(_R)
    edges = sorted(set([lo, hi] + cuts), key=float)
    whole = Oracle(d, x)
    cands: list[tuple[mpmath.mpf, mpmath.mpf, str]] = []  # (|d|, signed d, where)
    with mpmath.workdps(_DPS):
        for p in edges:
            v = whole.value(_mpf(p))
            cands.append((abs(v), v, str(p)))
        for a, b in zip(edges, edges[1:]):
            smooth = resolve_near(d, x, (a + b) / 2, "+")
            dprime = sp.diff(smooth, x)
            for r in _roots_of(dprime, _mpf(a), _mpf(b)):
                v = Oracle(smooth, x).value(r)
                cands.append((abs(v), v, _fmt(r, 15)))
        tails = []
        for end, side in ((appr.lo, -1), (appr.hi, 1)):
            if end is None:
                tails.append((side, abs(whole.value(mpmath.mpf(_R * side)))))
        best = max(c[0] for c in cands)
        at = tuple(c[2] for c in cands if c[0] > 0 and abs(c[0] - best) <= best * mpmath.mpf(10) ** -20)
        signed = tuple(_fmt(next(c[1] for c in cands if c[2] == w)) for w in at)
        tail_ok = all(t <= best * mpmath.mpf("1e-6") for _, t in tails)
    if tails:
        tail = ("|d(±%d)| <= %s (tails beyond the grid checked against the maximum)"
                % (_R, mpmath.nstr(max(t for _, t in tails), 3)))
    else:
        tail = "bounded domain: both ends are candidates"
    domain = f"[{appr.lo}, {appr.hi}]" if appr.lo is not None else "(-oo, oo)"
    method = (f"max of |d| over ends, breakpoints {[str(c) for c in cuts]} and roots of d' "
              f"(grid step {_STEP} on {'[-%d, %d], 1/2 out to ±%d' % (_FINE, _FINE, _R) if appr.lo is None else domain}, "
              f"mpmath.findroot at {_DPS} digits)")
    return ApproxResult(appr.key, appr.of, appr.target, domain,
                        _fmt(best) if tail_ok else "undecided", at if tail_ok else (), signed if tail_ok else (), method, tail,
                        "located" if tail_ok else "undecided", appr.note)


@lru_cache(maxsize=None)
def locate(key: str) -> ApproxResult:
    """The located maximum error of the catalog approximation ``key`` (cached)."""
    return _evaluate(next(a for a in APPROXIMATIONS if a.key == key))


def approximations_for(name: str) -> list[ApproxResult]:
    return [locate(a.key) for a in APPROXIMATIONS if name in a.involves]


# --------------------------------------------------------------------------- any pair
#: seconds :func:`max_error` may spend by default (then: undecided, "budget exceeded")
BUDGET_S = 20.0
#: the tail beyond ±R is sampled at R 2^k, k = 1..TAIL_OCTAVES (out to 32 * 2^30 ~ 3.4e10)
TAIL_OCTAVES = 30
#: a tail is "small" when |d| there is at most this fraction of the maximum
TAIL_FRACTION = mpmath.mpf("1e-6")


class _OutOfTime(Exception):
    pass


def max_error(exact: sp.Expr, approx: sp.Expr, x: sp.Symbol, *, domain=None,
              budget_s: float = BUDGET_S) -> ApproxResult:
    """The maximum of |approx - exact| over the real line (or ``domain``), located as for
    the catalog's approximations (:func:`_evaluate`: ends, breakpoints, roots of d' on a
    grid polished by findroot), with the relative error max |d / exact| where ``exact``
    does not vanish in the domain.

    ``domain``: None (the real line) or (lo, hi), either end None for a half-line.
    Bounded: past ``budget_s`` seconds the result is ``undecided`` with reason "budget
    exceeded". On an unbounded side the maximum is ``located`` only when |d| beyond the
    grid (at ±32 and at 32 2^k out to ~3.4e10) stays below 1e-6 of it; an error that keeps
    growing there is ``unbounded``; any other tail leaves it ``undecided`` ("tail not
    small"). Never a number that is not the located maximum.
    """
    start = time.monotonic()
    deadline = start + budget_s
    e, a = sp.sympify(exact).xreplace({x: _X}), sp.sympify(approx).xreplace({x: _X})
    lo, hi = (None, None) if domain is None else domain
    lo = None if lo is None or lo == -sp.oo or (isinstance(lo, float) and lo == -math.inf) else sp.nsimplify(lo)
    hi = None if hi is None or hi == sp.oo or (isinstance(hi, float) and hi == math.inf) else sp.nsimplify(hi)
    dom = f"[{lo if lo is not None else '-oo'}, {hi if hi is not None else 'oo'}]"
    base = dict(key="formula", of="the approximation", target="the function", domain=dom, budget_s=budget_s)
    try:
        with budget.step("locating the maximum error of an approximation", budget_s):
            found = _locate(a - e, lo, hi, deadline)
            rel = _relative(e, a, lo, hi, deadline, found) if found["status"] == "located" else ""
    except (_OutOfTime, BudgetError):
        return ApproxResult(**base, max_abs_error="undecided", at=(), signed=(), method=_method(lo, hi, ()),
                            tail="", established="undecided", seconds=time.monotonic() - start,
                            reason=f"budget exceeded: more than {budget_s:g} s")
    except (OracleError, SymactError, ValueError, TypeError, ZeroDivisionError, ArithmeticError,
            NotImplementedError, mpmath.libmp.NoConvergence) as exc:
        return ApproxResult(**base, max_abs_error="undecided", at=(), signed=(), method=_method(lo, hi, ()),
                            tail="", established="undecided", seconds=time.monotonic() - start,
                            reason=f"the error could not be evaluated: {exc}")
    located = found["status"] == "located"
    return ApproxResult(**base, max_abs_error=_fmt(found["best"]) if located else found["status"],
                        at=found["at"] if located else (), signed=found["signed"] if located else (),
                        method=_method(lo, hi, found["cuts"]), tail=found["tail"], established=found["status"],
                        relative_error=rel, reason=found["reason"], seconds=time.monotonic() - start)


_X = x


def _method(lo, hi, cuts) -> str:
    grid = ("[-%d, %d], 1/2 out to ±%d" % (_FINE, _FINE, _R)) if lo is None or hi is None else f"[{lo}, {hi}]"
    return (f"max of |d| over ends, breakpoints {[str(c) for c in cuts]} and roots of d' (grid step {_STEP} "
            f"on {grid}, mpmath.findroot at {_DPS} digits)")


def _tick(deadline):
    if time.monotonic() > deadline:
        raise _OutOfTime()


def _locate(d: sp.Expr, lo, hi, deadline) -> dict:
    """The located maximum of |d| on [lo, hi] (None: unbounded side): a dict with status,
    best, at, signed, tail, reason and cuts."""
    d = normalize(d)
    cuts = [c for c in boundary_points(d, _X) if c.is_real and (lo is None or c >= lo) and (hi is None or c <= hi)]
    a0 = lo if lo is not None else -sp.Integer(_R)
    b0 = hi if hi is not None else sp.Integer(_R)
    edges = sorted(set([a0, b0] + cuts), key=float)
    whole = Oracle(d, _X)
    cands: list = []
    with mpmath.workdps(_DPS):
        for p in edges:
            _tick(deadline)
            v = whole.value(_mpf(p))
            cands.append((abs(v), v, str(p)))
        for a, b in zip(edges, edges[1:]):
            _tick(deadline)
            smooth = resolve_near(d, _X, (a + b) / 2, "+")
            dprime = sp.diff(smooth, _X)
            orc = Oracle(smooth, _X)
            for r in _roots_in(dprime, _mpf(a), _mpf(b), deadline):
                v = orc.value(r)
                cands.append((abs(v), v, _fmt(r, 15)))
        best = max(c[0] for c in cands)
        at = tuple(c[2] for c in cands if c[0] > 0 and abs(c[0] - best) <= best * mpmath.mpf(10) ** -20)
        signed = tuple(_fmt(next(c[1] for c in cands if c[2] == w)) for w in at)
        tails, growing = [], []
        for end, side in ((lo, -1), (hi, 1)):
            if end is not None:
                continue
            vals = []   # (t, lower bound of |d(t)|, upper bound)
            for k in range(0, TAIL_OCTAVES + 1):
                _tick(deadline)
                t = mpmath.mpf(_R * 2**k * side)
                vals.append((t, *_abs_bounds(d, whole, t)))
            tails += [(t, up) for t, _, up in vals]
            far = vals[-6:]
            if all(mpmath.isinf(low) for _, low, _ in far) or \
                    (all(q[1] > p[1] for p, q in zip(far, far[1:])) and far[-1][1] > best):
                growing.append((far[-1][0], far[-1][1]))
    if not tails:
        return dict(status="located", best=best, at=at, signed=signed, cuts=cuts,
                    tail="bounded domain: both ends are candidates", reason="")
    worst = max(v for _, v in tails)
    tail = "|d| at ±%d 2^k, k = 0..%d: at most %s" % (_R, TAIL_OCTAVES, mpmath.nstr(worst, 3))
    if growing:
        t, v = growing[0]
        return dict(status="unbounded", best=best, at=(), signed=(), cuts=cuts, tail=tail,
                    reason=f"unbounded: |d| keeps growing beyond the grid (|d| = {mpmath.nstr(v, 4)} at x = "
                           f"{mpmath.nstr(t, 4)})")
    if worst > best * TAIL_FRACTION or best == 0:
        t = max(tails, key=lambda p: p[1])[0]
        return dict(status="undecided", best=best, at=(), signed=(), cuts=cuts, tail=tail,
                    reason=f"tail not small: |d| = {mpmath.nstr(worst, 4)} at x = {mpmath.nstr(t, 4)}, beyond the "
                           f"grid, is not below {mpmath.nstr(TAIL_FRACTION, 2)} of the largest |d| on it "
                           f"({mpmath.nstr(best, 4)})")
    return dict(status="located", best=best, at=at, signed=signed, cuts=cuts, tail=tail, reason="")


def _abs_bounds(d, whole, t):
    """(lower, upper) bounds of |d(t)|: certified by interval arithmetic (256 bits, then
    1024) where ``d`` has an interval form, else the oracle's value for both; (inf, inf)
    where no value exists (an overflow: the tail is not small)."""
    for prec in (256, 1024):
        box = enclosure(d, _X, t, prec)
        if box is None:
            break
        lo, hi = box
        if not (mpmath.isfinite(lo) and mpmath.isfinite(hi)):
            break
        low = mpmath.mpf(0) if lo <= 0 <= hi else min(abs(lo), abs(hi))
        if low > 0 or hi - lo < mpmath.mpf(2) ** -100:
            return low, max(abs(lo), abs(hi))
    try:
        v = abs(whole.value(t))
    except (OracleError, BudgetError):
        return mpmath.inf, mpmath.inf
    return v, v


def _roots_in(dprime, a, b, deadline) -> list:
    """:func:`_roots_of` with the budget checked at each grid point."""
    if not dprime.has(_X):
        return []
    orc = Oracle(dprime, _X)

    def f(t):
        return orc.value(mpmath.mpf(t))

    pts = [a] + [p for p in _GRID_POINTS if a < p < b] + [b]
    vals = []
    for p in pts:
        _tick(deadline)
        vals.append(f(p))
    roots = []
    for (p, fp), (q, fq) in zip(zip(pts, vals), zip(pts[1:], vals[1:])):
        if fp == 0 and p not in (a, b):
            roots.append(p)
        elif fp * fq < 0:
            _tick(deadline)
            roots.append(mpmath.findroot(f, (p, q), solver="illinois", tol=mpmath.mpf(10) ** (-2 * _DPS)))
    return roots


def _relative(e, a, lo, hi, deadline, found) -> str:
    """max |a - e| / |e| located like the absolute error: "undefined" where e vanishes on
    the grid or at a breakpoint (it changes sign or is 0), "undecided" where not located."""
    orc = Oracle(normalize(e), _X)
    pts = [p for p in _GRID_POINTS if (lo is None or p >= _mpf(lo)) and (hi is None or p <= _mpf(hi))]
    with mpmath.workdps(_DPS):
        signs = set()
        for p in pts:
            _tick(deadline)
            v = orc.value(p)
            signs.add(0 if v == 0 else (1 if v > 0 else -1))
    if 0 in signs or len(signs) > 1:
        return "undefined"
    try:
        rel = _locate((a - e) / e, lo, hi, deadline)
    except (OracleError, ValueError, ZeroDivisionError, ArithmeticError, NotImplementedError,
            mpmath.libmp.NoConvergence):
        return "undecided"
    return _fmt(rel["best"]) if rel["status"] == "located" else "undecided"
