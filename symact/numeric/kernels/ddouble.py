"""Double-double arithmetic and the helpers that need it.

Transcendentals whose argument is a polynomial in x that cannot be formed
exactly (c x with c not a power of two, x + 0.044715 x^3, ...) get that
argument as hi + lo in double-double (:func:`_dd_poly_into`: Horner with
Dekker products and TwoSum), and a first-order correction in lo:
``exp(hi) (1 + lo)`` (:func:`_exp_dd`), ``expit(hi) (1 + (1 - expit(hi)) lo)``
(:func:`_expit_dd`), erfc by :func:`_erfc_dd`. Two forms need no general
polynomial:

* erfc(c x) with c^2 a power of two (gelu) is erfcx(|c| |x|) exp(-c^2 x^2),
  erfcx from a table fitted in mpmath as a function of |x|
  (:class:`symact.numeric.fitting.ErfcxTable`) and x^2 formed exactly
  (:func:`_erfc_lin`; no scipy call);
* exp(a x^2) with a a power of two uses exact x^2 (:func:`_exp_sq`).

The helpers write into thread-local buffers (:func:`.runtime._helper_buf`),
never block-sized temporaries. The lowering (:mod:`.lowering`) decides where
they are used; :data:`.lowering._NS` names them for the generated code.
:func:`_erfc_plain` is the kernels' piece of the erfc primitive
(:mod:`symact.primitives.erfc`): erfc of an argument formed exactly.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as _sc
import sympy as sp

from symact.numeric.fitting import ERFC_TWO
from symact.numeric.kernels.helpers import _in_interval
from symact.numeric.kernels.runtime import _hb, _hi, _hs
from symact.primitives.expit import _expit

_SPLIT = 134217729.0  # 2^27 + 1, Dekker's splitter for float64


def _two_prod(a, b):
    """p, e with p + e == a*b exactly (Dekker, no FMA); arrays or scalars."""
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _square_dd(x, p=None, e=None, t=None, u=None):
    """x^2 = p + e exactly (|x| < 2^995); p, e, t, u: optional buffers like x."""
    p = np.multiply(x, x, out=p)
    t = np.multiply(x, _SPLIT, out=t)
    e = np.subtract(t, x, out=e)
    np.subtract(t, e, out=t)               # xh
    u = np.subtract(x, t, out=u)           # xl
    np.multiply(t, t, out=e)
    e -= p                                 # xh^2 - p
    t *= 2.0
    t *= u                                 # 2 xh xl
    e += t
    u *= u
    e += u
    return p, e


def _dd_const(c) -> tuple[float, float]:
    """(hi, lo): the exact constant ``c`` as a double-double (rounded from 60 digits)."""
    v = sp.Float(sp.N(c, 60), 60)
    hi = float(v)
    return hi, float(v - sp.Float(hi, 60))


def _dd_poly_into(x, coeffs, hi, lo):
    """hi + lo = sum c_k x^k in double-double (coeffs [(hi, lo)] from degree 0 up),
    Horner with Dekker products and TwoSum, every intermediate in thread-local
    scratch (allocated temporaries made gelu_tanh's double-double argument cost
    more than the long-double fix-up it replaces)."""
    n, dt = x.shape[0], x.dtype
    p, e, t, ah, al, xh, xl = (_hs(dt, 20 + i, n) for i in range(7))
    np.multiply(x, _SPLIT, out=t)                     # x = xh + xl (Dekker's split)
    np.subtract(t, x, out=xh)
    np.subtract(t, xh, out=xh)
    np.subtract(x, xh, out=xl)
    hi.fill(coeffs[-1][0])
    lo.fill(coeffs[-1][1])
    for c_hi, c_lo in reversed(coeffs[:-1]):
        np.multiply(hi, x, out=p)                     # p + e = hi x exactly
        np.multiply(hi, _SPLIT, out=t)
        np.subtract(t, hi, out=ah)
        np.subtract(t, ah, out=ah)
        np.subtract(hi, ah, out=al)
        np.multiply(ah, xh, out=e)
        e -= p
        np.multiply(ah, xl, out=t)
        e += t
        np.multiply(al, xh, out=t)
        e += t
        np.multiply(al, xl, out=t)
        e += t
        np.multiply(lo, x, out=t)
        e += t                                        # + lo x
        if c_hi != 0.0:
            np.add(p, c_hi, out=t)                    # s = p + c_hi, TwoSum error into al
            np.subtract(t, p, out=ah)                 # bb
            np.subtract(t, ah, out=al)
            np.subtract(p, al, out=al)
            np.subtract(c_hi, ah, out=ah)
            al += ah
            e += al
            e += c_lo
            p, t = t, p
        np.add(p, e, out=hi)
        np.subtract(hi, p, out=lo)
        np.subtract(e, lo, out=lo)
    if not np.isfinite(lo).all():    # |x| so large that the splitting overflowed: plain evaluation
        bad = ~np.isfinite(lo)
        xb = x[bad]
        hi[bad] = sum(c * xb**k for k, (c, _) in enumerate(coeffs))
        lo[bad] = 0.0
    return lo


def _exp_dd(hi, lo, out):
    """exp(hi + lo) for |lo| <= ulp(hi): exp(hi) (1 + lo)."""
    np.exp(hi, out=out)
    out *= 1.0 + lo
    return out


def _expit_dd(hi, lo, out, t, m):
    """expit(hi + lo) for |lo| <= ulp(hi): expit(hi) (1 + (1 - expit(hi)) lo),
    first order in lo (the next term is below lo^2)."""
    _expit(hi, out, t, m)
    np.subtract(1.0, out, out=t)
    t *= out
    t *= lo
    out += t
    return out


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _exp_minus_square(w):
    """exp(-w^2) with w^2 = p + e formed exactly (Dekker): exp(-p) (1 - e)."""
    p, e = _two_prod(w, w)
    np.negative(p, out=p)
    np.exp(p, out=p)
    np.subtract(1.0, e, out=e)
    return np.multiply(p, e, out=p)


def _erfc_dd(wh, wl, out):
    """erfc(wh + wl) to about an ULP; scipy is called only where it matters.

    * wh <= -6: 2 (erfc(-6) = 2 - 2e-17 rounds to 2); wh >= 27.5: 0 (underflow);
      NaN stays NaN -- one mask-free pass: ``2 [wh <= 0] + 0 wh``.
    * -6 < wh <= 1/2: erfc(wh) - (2/sqrt pi) exp(-wh^2) wl (first-order correction);
    * 1/2 < wh < 27.5: exp(-wh^2) (erfcx(wh) - (2/sqrt pi) wl) with wh^2 carried
      exactly, so the tail keeps its relative accuracy.

    The two middle sets are gathered with ``flatnonzero`` (scipy's erfc and
    erfcx are slow per element; the saturated tails then cost nothing).
    """
    with np.errstate(all="ignore"):
        m = np.less_equal(wh, 0.0)
        np.multiply(m, 2.0, out=out)
        out += wh * 0.0                                   # NaN in, NaN out
        sel = np.flatnonzero((wh > -6.0) & (wh <= 0.5))
        if sel.size:
            w, l = wh[sel], wl[sel]
            r = _sc.erfc(w)
            r -= _TWO_OVER_SQRT_PI * _exp_minus_square(w) * l
            out[sel] = r
        sel = np.flatnonzero((wh > 0.5) & (wh < 27.5))
        if sel.size:
            w, l = wh[sel], wl[sel]
            r = _sc.erfcx(w)
            r -= _TWO_OVER_SQRT_PI * l                    # erfc(w + l) = exp(-w^2) (erfcx(w) - 2l/sqrt pi)
            out[sel] = r * _exp_minus_square(w)
    return out


def _erfc_plain(a, out):
    """erfc(a) for an argument formed exactly (no low part)."""
    wl = np.zeros_like(a)
    return _erfc_dd(np.asarray(a, dtype=np.float64), wl, out)


def _exp_sq(x, a, out):
    """exp(a x^2) for a power of two a: exp(a p) + exp(a p) a e with x^2 = p + e exact.

    |x| is capped at 2^500 (x^2 is then far past exp's overflow/underflow)."""
    n = x.shape[0]
    dt = x.dtype
    with np.errstate(all="ignore"):
        xc = np.clip(x, -2.0**500, 2.0**500, out=_hs(dt, 0, n))
        p, e = _square_dd(xc, _hs(dt, 1, n), _hs(dt, 2, n), _hs(dt, 3, n), _hs(dt, 4, n))
        np.multiply(p, a, out=p)
        np.exp(p, out=out)
        e *= a
        e *= out
        out += e                          # exp(a p) + exp(a p) a e: one rounding
    return out


def _erfc_lin(x, c, c2, table, out):
    """erfc(c x) for a constant c with c^2 a power of two (gelu's -x/sqrt 2).

    Mask-free first: 2 where c x <= 0 and 0 elsewhere, NaN kept -- the
    saturated tails (erfc(-6) rounds to 2; erfc(27.3) underflows). Then only
    the elements with -6 <= c x <= |c| table.hi, gathered by index
    (``flatnonzero`` / ``take`` / an indexed store: cheaper than ``np.compress``
    and ``np.place`` on the mask):
    erfc(c x) = erfcx(|c| |x|) exp(-c^2 x^2), or 2 minus that where c x < 0.
    erfcx(|c| v) comes from ``table`` (:class:`symact.numeric.fitting.ErfcxTable`),
    a piecewise polynomial fitted to it *as a function of v = |x|* in mpmath, so
    c x is never rounded (erfc amplifies its argument's rounding by 2 (c x)^2);
    exp(-c^2 x^2) = exp(-c^2 p) - exp(-c^2 p) c^2 e with x^2 = p + e exact
    (Dekker), one rounding. scipy is not called: its erfc is 9-11 ULP off on
    [0.5, 4] and 490 at 26, its erfcx 5-7 ULP on [0, 2]. Temporaries are
    thread-local buffers (:func:`.runtime._helper_buf`).
    """
    n = x.shape[0]
    dt = x.dtype
    with np.errstate(all="ignore"):
        m = np.less_equal(x, 0.0, out=_hb(0, n)) if c > 0 else np.greater_equal(x, 0.0, out=_hb(0, n))
        np.multiply(m, 2.0, out=out)            # 2 where c x <= 0
        w = np.multiply(x, 0.0, out=_hs(dt, 0, n))
        out += w                                # NaN in, NaN out
        # c x in [-ERFC_TWO, a hi]: beyond, erfc(c x) is 2 or 0 (set above)
        reach = ERFC_TWO / table.a
        lo, hi = (-table.hi, reach) if c < 0 else (-reach, table.hi)
        sel = np.flatnonzero(_in_interval(x, lo, hi, _hb(1, n), _hs(dt, 1, n)))
        k = sel.shape[0]
        if k:
            xs = np.take(x, sel, out=_hs(dt, 2, k))
            vs = np.abs(xs, out=_hs(dt, 3, k))
            p, e = _square_dd(xs, _hs(dt, 4, k), _hs(dt, 5, k), _hs(dt, 6, k), _hs(dt, 7, k))
            big = np.multiply(p, -c2, out=p)
            np.exp(big, out=big)
            e *= -c2
            e *= big
            big += e                            # exp(-c^2 (p + e)), one rounding
            r = table(vs, _hs(dt, 8, k), _hs(dt, 9, k), _hi(0, k), _hs(dt, 10, k))
            r *= big
            neg = np.less(xs, 0.0, out=_hb(2, k)) if c > 0 else np.greater(xs, 0.0, out=_hb(2, k))
            sgn = np.multiply(neg, -2.0, out=e)
            sgn += 1.0                          # -1 where c x < 0, else 1
            r *= sgn
            sgn -= 1.0                          # -2 there, else 0
            r -= sgn                            # erfc(-u) = 2 - erfc(u): one rounding
            out[sel] = r
    return out

