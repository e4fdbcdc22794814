"""Chebyshev interpolation in mpmath: the fitting tool of fitted tables.

:func:`cheb_fit` serves the tables a primitive's generated source carries (the JAX
target's erfcx octaves, :mod:`.erfc`) and the fitted data of :mod:`symact.numeric.fitting`
(root-factored fix-ups, erfcx tables). It imports only mpmath.
"""
from __future__ import annotations


def cheb_fit(g, lo, hi, deg):
    """Monomial coefficients in (x - m) (highest first, mpf) of g's Chebyshev interpolant."""
    import mpmath

    n = deg + 1
    m, h = (lo + hi) / 2, (hi - lo) / 2
    ts = [mpmath.cos(mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j in range(n)]
    vals = [g(m + h * t) for t in ts]
    cheb = []
    for k in range(n):
        c = 2 * mpmath.fsum(v * mpmath.cos(k * mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j, v in enumerate(vals)) / n
        cheb.append(c / 2 if k == 0 else c)
    # T_k(t) in monomials of t, then t = (x - m) / h
    mono = [mpmath.mpf(0)] * n
    t_prev, t_cur = [mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]
    for k in range(n):
        tk = t_prev if k == 0 else t_cur if k == 1 else None
        if k >= 2:
            nxt = [mpmath.mpf(0)] + [2 * a for a in t_cur]
            for i, a in enumerate(t_prev):
                nxt[i] -= a
            t_prev, t_cur = t_cur, nxt
            tk = t_cur
        for i, a in enumerate(tk):
            mono[i] += cheb[k] * a
    return [mono[i] / h ** i for i in reversed(range(n))]
