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

from dataclasses import dataclass
from functools import lru_cache

import mpmath
import sympy as sp

from symact.model import catalog
from symact.numeric.oracle import Oracle
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
    established: str
    note: str = ""

    def to_dict(self) -> dict:
        return {"key": self.key, "of": self.of, "against": self.target, "domain": self.domain,
                "max_abs_error": self.max_abs_error, "at": list(self.at), "signed_error": list(self.signed),
                "method": self.method, "tail": self.tail, "established": self.established, "note": self.note}


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
