"""erfc(u), kept unevaluated (SymPy's own turns erfc(-u) into 2 - erfc(u)).

1 + erf(u) is 0 (every bit lost) for u < -6, and erfc's tail is computed through
erfcx(u) = exp(u^2) erfc(u) with u^2 carried exactly: in the kernels by the
double-double helpers of :mod:`symact.numeric.kernels.ddouble` (their lowering also
takes erfc(c x) from a fitted erfcx table), in JAX by a helper whose erfcx table is
fitted per octave in mpmath when a file first needs it (:func:`erfcx_octaves`; XLA's
erfc takes exp(-x*x) of a rounded square). Rule ``erfc``: 1 +- erf(u) -> erfc(-+u).
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, const_part, other_terms
from symact.primitives.chebyshev import cheb_fit


class erfc(StableFunction):
    """erfc(u), kept unevaluated (SymPy's own turns erfc(-u) into 2 - erfc(u))."""

    @classmethod
    def standard_form(cls, u):
        return sp.erfc(u)

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -2 / sp.sqrt(sp.pi) * sp.exp(-u**2)


def _r_erfc(e):
    if not isinstance(e, sp.Add):
        return None
    const = const_part(e)
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.erf) and const != 0 and abs(c) == abs(const):
            u = rest.args[0]
            # const + c erf(u) = const (1 + (c/const) erf(u))
            return other_terms(e, a) + const * erfc(-u if c == const else u)
    return None


NUMPY = '''_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _erfc(u):
    """erfc elementwise through the C library's erfc (NumPy has none)."""
    return np.asarray(_ERFC(u), dtype=np.float64)'''


@functools.lru_cache(maxsize=None)
def erfcx_octaves() -> tuple:
    """(centres, rows): erfcx(u) = exp(u^2) erfc(u) as one polynomial in u - centre on each
    octave [0.5, 1), [1, 2), ..., [16, 32]; rows highest degree first, one column per octave.
    Chebyshev interpolants in mpmath (:func:`symact.primitives.chebyshev.cheb_fit`) of the lowest
    odd degree within 2^-58 relative on 200 points of the octave."""
    import mpmath

    def g(u):
        return mpmath.exp(u * u) * mpmath.erfc(u)

    table, centres = [], []
    with mpmath.workdps(40):
        for k in range(-1, 5):
            lo, hi = mpmath.mpf(2) ** k, mpmath.mpf(2) ** (k + 1)
            m = (lo + hi) / 2
            pts = [mpmath.mpf(float(v)) for v in np.linspace(float(lo), float(hi), 200)]
            for deg in range(9, 41, 2):
                c = cheb_fit(g, lo, hi, deg)
                worst = max(abs(_horner_mp(c, v - m) / g(v) - 1) for v in pts)
                if worst < mpmath.mpf(2) ** -58:
                    break
            else:  # pragma: no cover
                raise ArithmeticError("erfcx octave fit did not converge")
            table.append([float(v) for v in c])
            centres.append(float(m))
    deg = max(len(c) for c in table)
    rows = [[([0.0] * (deg - len(c)) + c)[i] for c in table] for i in range(deg)]
    return tuple(centres), tuple(tuple(r) for r in rows)


def _horner_mp(coeffs, t):
    acc = 0
    for c in coeffs:
        acc = acc * t + c
    return acc


@functools.lru_cache(maxsize=None)
def jax_source() -> str:
    """The JAX helper ``_erfc(u, scale)`` with its fitted :func:`erfcx_octaves` table."""
    centres, rows = erfcx_octaves()

    def f(v):
        return repr(float(v))

    table = "\n".join([f"    ({', '.join(f(c) for c in centres)},),", "    ("]
                      + [f"        ({', '.join(f(c) for c in row)},)," for row in rows] + ["    ))"])
    return f'''#: erfcx(u) = exp(u^2) erfc(u): (centres, rows) of one polynomial in u - centre per octave
#: [0.5, 1), [1, 2), ..., [16, 32] (highest degree first), fitted in mpmath when this file was generated
_ERFCX_OCTAVES = (
{table}


def _erfc(u, scale=0.0):
    """erfc(u) exp(scale): jax.scipy.special.erfc for u < 0.5; above, exp(scale - u^2) erfcx(u)
    with u^2 = p + e formed exactly (XLA's own exp(-u*u) rounds the square: hundreds of ULP at
    u = 25); scale > 0 keeps exp(scale - u^2) normal where erfc(u) alone would be subnormal."""
    centres, rows = _ERFCX_OCTAVES
    a = jnp.clip(u, 0.5, 27.5)
    j = sum((a >= 2.0 ** k).astype(jnp.int32) for k in range(5))
    t = a - jnp.asarray(centres, dtype=a.dtype)[j]
    q = 0.0 * t
    for row in rows:
        q = q * t + jnp.asarray(row, dtype=a.dtype)[j]
    p = a * a                                   # Dekker: a * a = p + e exactly
    s = (134217729.0 if a.dtype == jnp.float64 else 4097.0) * a
    ah = s - (s - a)
    al = a - ah
    e = ((ah * ah - p) + 2.0 * ah * al) + al * al
    big = jnp.exp(scale - p) * q * (1.0 - e)
    small = jax.scipy.special.erfc(u) * jnp.exp(scale + 0.0 * u)
    return jnp.where(u < 0.5, small, jnp.where(u > 27.5, 0.0 * u, big))'''


_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    erfc,
    kernel=Kernel("_erfc_plain", scipy=True),
    code=dict(numpy=Code("_erfc", NUMPY), python=Code("math.erfc"), c=Code("erfc"),
              torch=Code("torch.special.erfc"), jax=Code("_erfc", jax_source)),
    rules=(Rule("erfc", "1 +- erf(u) -> erfc(-+u)", _r_erfc, "1 + erf(u) loses every bit for u < -6", rank=60,
                examples=(1 + sp.erf(_x), _x / 2 - sp.erf(_x / sp.sqrt(2)) / 2 + sp.S.Half)),),
    oracle=lambda u: sp.erfc(u, evaluate=False),
    decay=lambda u, s: 2 - erfc(-u) if s < 0 else None,
    order=10,
    why="1 + erf(u) is 0 for u < -6, and the tail of erfc needs exp(-u^2) of an exact square",
),)
