"""Polynomials fitted in mpmath, shared by the NumPy kernels and the code generator.

Two kinds of data are fitted at build time and cached on disk (keyed by the
source of every module whose code decides them, :func:`_code_hash`); nothing
is written per activation.

* :class:`RootPoly` -- a fix-up around a simple root r of a smooth expression
  where the float64 form cancels (silu' at -1.2785, gelu' at -0.7518):
  f(x) = (x - r) q(x) with r in double-double and q a piecewise polynomial.
  :func:`root_polys` finds the roots (sign changes of the form, refined in
  mpmath on the oracle), samples the form's error around each against the
  oracle, and fits q where the error exceeds :data:`ROOT_CANCEL_ULP`
  (:func:`fit_root_poly`, :func:`cheb_fit`). The code generator runs the same
  steps with its own threshold.
* :class:`ErfcxTable` -- erfcx(a v) as a piecewise polynomial in v = |x|, so
  that erfc(c x) (gelu) never rounds c x (:func:`erfcx_table`; used by
  :func:`symact.numeric.kernels.ddouble._erfc_lin`).

Both are evaluated by :func:`_horner_pieces` in float64. A "chain" here is
anything with ``run(x, out, dtype)`` and ``source``: a kernel's compiled chain
or the code generator's emitted NumPy form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symact import cache
from symact.numeric.ulp import FLOOR_ULP, ulp_distance
from symact import primitives as rw
from symact.primitives.chebyshev import cheb_fit
from symact.symbolic.forms import X


@cache.cacheable
@dataclass(frozen=True)
class RootPoly:
    """f(x) = (x - r) q(x) on [lo, hi] around a simple root r of a smooth kernel.

    Near r the terms of f cancel and amplify their own rounding (gelu' =
    Phi(x) + x phi(x) turns scipy's 3-8 ULP of erfc into hundreds). Here the
    root is factored out: ``(x - r_hi - r_lo) q(x)`` with r = r_hi + r_lo in
    double-double (x - r_hi is exact by Sterbenz next to r, and plainly
    rounded far from it where it no longer matters) and q = f / (x - r) --
    smooth, bounded away from 0 -- piecewise polynomial: [lo, hi] is cut into
    an odd number of equal pieces (the middle one centred on r), each with a
    polynomial in (x - centre) evaluated by Horner in float64 (short pieces
    keep |x - centre| small, so Horner adds ~1 ULP; one polynomial over the
    whole interval lost up to 9 ULP at its ends to alternating terms).
    Coefficients are a table ``coeffs[k][piece]`` (highest degree first); the
    data come from mpmath at build time (:func:`root_polys`); nothing is
    written per activation.
    """

    lo: float
    hi: float
    r_hi: float
    r_lo: float
    step: float
    centers: np.ndarray   # (pieces,)
    coeffs: np.ndarray    # (degree + 1, pieces), highest degree first

    def __call__(self, x: np.ndarray, q=None, t=None, j=None, c=None) -> np.ndarray:
        """f(x); q, t, c (float) and j (intp): optional scratch buffers like x."""
        q = _horner_pieces(x, self.lo, self.step, self.centers, self.coeffs, q, t, j, c)
        d = np.subtract(x, self.r_hi, out=t)
        d -= self.r_lo
        q *= d
        return q


def _horner_pieces(x, lo, step, centers, coeffs, q=None, t=None, j=None, c=None):
    """Piecewise polynomial: piece j = floor((x - lo) / step) (clipped to the
    table), Horner in (x - centers[j]) with ``coeffs[k][j]`` highest degree
    first. q, t, c (float) and j (intp): optional buffers like x (the kernels
    pass thread-local scratch; without them the result is allocated)."""
    t = np.subtract(x, lo, out=t)
    t *= 1.0 / step
    np.clip(t, 0, centers.shape[0] - 1, out=t)
    if j is None:
        j = t.astype(np.intp)
    else:
        np.copyto(j, t, casting="unsafe")
    q = np.take(centers, j, out=q)
    np.subtract(x, q, out=t)
    np.take(coeffs[0], j, out=q)
    c = np.empty_like(x) if c is None else c
    for row in coeffs[1:]:
        q *= t
        q += np.take(row, j, out=c)
    return q


#: Fit target: max relative error of q's polynomial (float coefficients) on its interval.
ROOT_FIT_TOL = 2.0 ** -60
#: A sampled float64 error above this many ULP near a root counts as cancellation
#: (one below the floor :data:`symact.numeric.ulp.FLOOR_ULP`, so what the fix-up
#: leaves out stays under it). Every sample above the floor is covered as well.
ROOT_CANCEL_ULP = FLOOR_ULP - 1.0
#: A fitted :class:`RootPoly` must be within this many ULP of the oracle on its interval.
ROOT_FIT_MAX_ULP = 2.0
#: The interval is this many times the farthest cancelling sample from the root.
ROOT_MARGIN = 2.0
_ROOT_CACHE: dict = {}


def bracket_roots(chain64) -> list[tuple[float, float]]:
    """Sign changes of the float64 chain on a grid over [-60, 60] (away from underflow)."""
    xs = np.linspace(-60, 60, 120001)
    with np.errstate(all="ignore"):
        y = chain64.run(xs, np.empty_like(xs), np.float64)
    ok = np.isfinite(y) & (np.abs(y) >= np.finfo(np.float64).smallest_normal)
    k = np.flatnonzero(ok[:-1] & ok[1:] & (np.sign(y[:-1]) * np.sign(y[1:]) < 0))
    # a root on a grid point (x^20 + x at -1: the chain is 0 there) between opposite signs
    z = np.flatnonzero((y[1:-1] == 0) & ok[:-2] & ok[2:] & (np.sign(y[:-2]) * np.sign(y[2:]) < 0)) + 1
    out = [(float(xs[i]), float(xs[i + 1])) for i in k] + [(float(xs[i - 1]), float(xs[i + 1])) for i in z]
    return sorted(out)


#: Longest piece of a :class:`RootPoly`.
ROOT_PIECE = 0.125


def _fit_piece(q, lo, hi, pts, want, degrees=range(5, 62, 2)):
    """Exact (mpf) monomial coefficients in (x - centre) of the lowest odd degree
    whose fit of q on [lo, hi] is within :data:`ROOT_FIT_TOL` at ``pts``; None if
    degree 61 does not reach it. Odd degrees only: an even number of Chebyshev
    nodes puts none at the centre, which may be r itself (0 / 0 there)."""
    import mpmath

    m = (lo + hi) / 2

    def worst(coeffs, idx):
        out = 0
        for i in idx:
            t = mpmath.mpf(float(pts[i])) - m
            acc = mpmath.mpf(0)
            for c in coeffs:
                acc = acc * t + c
            out = max(out, abs(acc / want[i] - 1))
        return out

    for deg in degrees:
        coeffs = cheb_fit(q, lo, hi, deg)
        if worst(coeffs, range(0, len(pts), 10)) < ROOT_FIT_TOL / 2 and worst(coeffs, range(len(pts))) < ROOT_FIT_TOL:
            return coeffs
    return None


def fit_root_poly(orc, r, lo, hi) -> RootPoly | None:
    """A piecewise fit of q = f / (x - r) on [lo, hi] (centred on r), or None.

    Each piece's approximation error is checked in mpmath on 201 points
    (< :data:`ROOT_FIT_TOL`); then the float64 evaluation, with the
    coefficients rounded to float, against the oracle on 2001 points (within
    :data:`ROOT_FIT_MAX_ULP`). ``orc``: an :class:`symact.numeric.oracle.Oracle` of f.
    """
    import mpmath

    def q(v):
        if v == r:   # a root that is a float itself (x^20 + x at -1): q(r) = f'(r)
            with mpmath.workdps(50):
                return mpmath.diff(orc.value, r)
        return orc.value(v) / (v - r)

    n = math.ceil((hi - lo) / ROOT_PIECE)
    n += 1 - n % 2
    step = (hi - lo) / n
    table, centers = [], []
    for k in range(n):
        # the centre is a float (Horner's x - centre must not shift the polynomial)
        c = mpmath.mpf(float(mpmath.mpf(lo) + (k + mpmath.mpf(1) / 2) * mpmath.mpf(step)))
        a, b = c - mpmath.mpf(step) / 2, c + mpmath.mpf(step) / 2
        pts = np.linspace(float(a), float(b), 201)
        want = [q(mpmath.mpf(float(v))) for v in pts]
        if k == 0:
            sign = mpmath.sign(want[0])
        if any(w == 0 or mpmath.sign(w) != sign for w in want):
            return None  # q changes sign: not a simple, isolated root
        coeffs = _fit_piece(q, a, b, pts, want)
        if coeffs is None:
            return None
        table.append([float(v) for v in coeffs])
        centers.append(float(c))
    deg = max(len(c) for c in table)
    coeffs = np.array([[0.0] * (deg - len(c)) + c for c in table]).T.copy()
    rp = RootPoly(float(lo), float(hi), float(r), float(r - float(r)), float(step), np.array(centers), coeffs)
    pts = np.linspace(lo, hi, 2001)
    exact = np.array([float(orc.value(mpmath.mpf(float(v)))) for v in pts])
    return rp if ulp_distance(rp(pts), exact).max() <= ROOT_FIT_MAX_ULP else None


def root_polys(expr: sp.Expr, chain64) -> list[RootPoly]:
    """Root-factored polynomials for the simple roots where the float64 chain cancels.

    Roots are bracketed by sign changes of the chain and refined with mpmath
    (50 digits) on the oracle's evaluation of ``expr``. Around each root the
    chain's ULP error is sampled against the oracle; if it exceeds
    :data:`ROOT_CANCEL_ULP`, the interval reaches :data:`ROOT_MARGIN` times the
    farthest such point (beyond it the error, ~K/|x - r|, is back at the
    chain's own level) and q is fitted there. Smooth expressions only; cached.
    """
    if expr.has(sp.Piecewise) or not expr.free_symbols <= {X}:
        return []
    key = (sp.srepr(expr), chain64.source)
    if key not in _ROOT_CACHE:
        from symact import cache
        _ROOT_CACHE[key] = cache.cached("root-polys", key + (_code_hash(),), lambda: _root_polys(expr, chain64))
    return _ROOT_CACHE[key]


def _code_hash() -> str:
    """Hash of the modules whose code decides fitted or measured data (the disk
    cache's key): every module of :mod:`symact.numeric` -- this one, the oracle,
    the ULP measure, the point sets, and the kernels (whose chains are fitted
    against) -- and every module of :mod:`symact.primitives` (the rewrites and the
    primitives' NumPy helpers), with NumPy's and SciPy's versions."""
    import hashlib
    from pathlib import Path

    import scipy

    h = hashlib.sha256((np.__version__ + scipy.__version__).encode())
    numeric = Path(__file__).parent
    for path in sorted(numeric.rglob("*.py")) + sorted(Path(rw.__file__).parent.glob("*.py")):
        h.update(str(path.relative_to(numeric.parent)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _root_polys(expr, chain64):
    import mpmath

    from symact.numeric.oracle import Oracle, reference

    brackets = bracket_roots(chain64)
    out: list[RootPoly] = []
    if len(brackets) <= 8:
        orc = Oracle(expr, X)
        roots = []
        with mpmath.workdps(50):
            for a, b in brackets:
                try:
                    roots.append(mpmath.findroot(orc.value, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson"))
                except (ValueError, ZeroDivisionError):  # pragma: no cover
                    continue
            rng = np.random.default_rng(0)
            for i, r in enumerate(roots):
                rf = float(r)
                # half way to the next root: neighbouring fix-ups meet (x^7 - 2x^3 + x lost 10 ULP between)
                room = min([abs(float(o) - rf) * 0.5 for j, o in enumerate(roots) if j != i] + [3.0])
                xs = np.concatenate([rf + rng.uniform(-room, room, 20000),
                                     rf + np.geomspace(1e-9, room, 400), rf - np.geomspace(1e-9, room, 400)])
                with np.errstate(all="ignore"):
                    got = chain64.run(xs, np.empty_like(xs), np.float64)
                err = ulp_distance(got, reference(expr, X, xs))
                dist = np.abs(xs - rf)
                reach = _cancelling_reach(dist, err > ROOT_CANCEL_ULP, room)
                if reach is None:
                    continue
                over = err > FLOOR_ULP               # every point over the floor is covered
                if over.any():
                    reach = max(reach, float(dist[over].max()))
                w = min(ROOT_MARGIN * reach, room)
                rp = fit_root_poly(orc, r, rf - w, rf + w)
                if rp is not None:
                    out.append(rp)
    return out


def _cancelling_reach(dist: np.ndarray, bad: np.ndarray, room: float) -> float | None:
    """How far from a root its cancellation keeps the chain above :data:`ROOT_CANCEL_ULP`:
    the outer edge of the run of distance bins (room / 100 wide, starting at
    the root) where over 2 % of the samples are bad. Beyond it only sporadic
    points near the chain's own rounding level exceed the threshold (mish' has
    4-ULP points scattered over [-4, 2]); those are no root's doing, and
    stretching the fix-up over them made it six times as wide. None: no bad
    point near the root."""
    if not bad.any():
        return None
    width = room / 100
    b = np.minimum((dist / width).astype(int), 99)
    tot = np.bincount(b, minlength=100)
    nbad = np.bincount(b, weights=bad, minlength=100)
    dense = nbad > 0.02 * np.maximum(tot, 1)
    if not dense[0]:
        return float(dist[bad].min()) if dist[bad].min() < width else None
    k = int(np.argmin(dense)) if not dense.all() else 100
    return min(float(dist[bad & (b < k)].max()), k * width)


@cache.cacheable
@dataclass(frozen=True)
class ErfcxTable:
    """erfcx(a v) = exp(a^2 v^2) erfc(a v) for 0 <= v <= hi, as a piecewise polynomial in v.

    Used by :func:`symact.numeric.kernels.ddouble._erfc_lin` for erfc(c x) with
    a = |c|: fitting in v = |x| rather than in a x means the rounding of c x never
    enters (erfc amplifies its argument's relative error by 2 (c x)^2). erfcx is smooth and slowly
    varying (1 at 0, about 1/(sqrt(pi) a v) far out), so pieces of width
    :data:`ERFCX_PIECE` need degree ~11 for a relative fit error below
    :data:`ROOT_FIT_TOL`; Horner in float64 then adds well under an ULP
    (``max_ulp`` is measured against mpmath when the table is built). ``hi``
    is where a v reaches :data:`ERFCX_REACH`: beyond it erfc(a v) underflows
    and erfc(-a v) rounds to 2. The coefficients come from mpmath at build
    time (cached on disk); nothing is written per activation.
    """

    a: float
    hi: float
    step: float
    centers: np.ndarray   # (pieces,)
    coeffs: np.ndarray    # (degree + 1, pieces), highest degree first
    max_ulp: float

    def __call__(self, v: np.ndarray, q=None, t=None, j=None, c=None) -> np.ndarray:
        """erfcx(a v); q, t, c (float) and j (intp): optional scratch buffers like v."""
        return _horner_pieces(v, 0.0, self.step, self.centers, self.coeffs, q, t, j, c)


#: Width (in v = |x|) of an :class:`ErfcxTable` piece (a power of two: exact centres).
ERFCX_PIECE = 0.125
#: The table reaches a v = this: erfc(27.3) underflows to 0 (and erfc(-6) rounds to 2).
ERFCX_REACH = 27.3
#: erfc(-u) rounds to 2 in float64 from u = this on (erfc(6) = 2.2e-17 < ulp(2)/2).
ERFC_TWO = 6.0
_ERFCX_CACHE: dict = {}


def erfcx_table(a: sp.Expr) -> ErfcxTable:
    """The :class:`ErfcxTable` for the exact positive constant ``a`` (memoized, disk-cached)."""
    key = sp.srepr(a)
    if key not in _ERFCX_CACHE:
        from symact import cache
        _ERFCX_CACHE[key] = cache.cached("erfcx-table", (key, _code_hash()), lambda: _fit_erfcx_table(a))
    return _ERFCX_CACHE[key]


def _fit_erfcx_table(a: sp.Expr) -> ErfcxTable:
    import mpmath

    with mpmath.workdps(40):
        am = mpmath.mpf(str(sp.N(a, 50)))

        def g(v):
            return mpmath.exp((am * v) ** 2) * mpmath.erfc(am * v)

        n = math.ceil(ERFCX_REACH / float(a) / ERFCX_PIECE)
        table, centers = [], []
        for k in range(n):
            lo, hi = mpmath.mpf(k * ERFCX_PIECE), mpmath.mpf((k + 1) * ERFCX_PIECE)
            pts = np.linspace(float(lo), float(hi), 101)
            want = [g(mpmath.mpf(float(v))) for v in pts]
            coeffs = _fit_piece(g, lo, hi, pts, want)
            if coeffs is None:  # pragma: no cover - erfcx is entire
                raise ArithmeticError(f"erfcx({a} v) did not fit on [{lo}, {hi}]")
            table.append([float(c) for c in coeffs])
            centers.append((k + 0.5) * ERFCX_PIECE)
        deg = max(len(c) for c in table)
        coeffs = np.array([[0.0] * (deg - len(c)) + c for c in table]).T.copy()
        t = ErfcxTable(float(a), n * ERFCX_PIECE, ERFCX_PIECE, np.array(centers), coeffs, 0.0)
        pts = np.linspace(0.0, t.hi, 4001)
        exact = np.array([float(g(mpmath.mpf(float(v)))) for v in pts])
    return ErfcxTable(t.a, t.hi, t.step, t.centers, t.coeffs, float(ulp_distance(t(pts), exact).max()))
