"""expit(u) = 1/(1 + e^-u), the logistic sigmoid, split on the sign of u.

With e = exp(-|u|) (never overflows): 1/(1 + e) for u >= 0, e/(1 + e) below, so
the tail keeps its subnormal values instead of 1/(1 + inf). Its derivative is
expit(u) expit(-u) (no (1 - s) s that is 0 from u = 37.43 on).

Rules: ``expit`` (1 + exp(u))^-k -> expit(-u)^k; ``expit_absorb``
exp(u) expit(-u)^k -> expit(u) expit(-u)^(k-1) (exp(u) overflows, the product
does not); ``tanh_expit`` 1 +- tanh(u) -> 2 expit(+-2u) (cancellation in the tails).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import (Code, Kernel, Primitive, Rule, StableFunction, array_code, const_part,
                                    one_plus, other_terms)


class expit(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return 1 / (1 + sp.exp(-u))

    def fdiff(self, argindex=1):
        u = self.args[0]
        return expit(u) * expit(-u)


def _r_expit(e):
    if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp < 0:
        w = one_plus(e.base)
        if isinstance(w, sp.exp):
            return expit(-w.args[0]) ** (-e.exp)
    return None


def _r_expit_absorb(e):
    if not isinstance(e, sp.Mul):
        return None
    factors = list(e.args)
    for i, f in enumerate(factors):
        if isinstance(f, sp.exp):
            u = f.args[0]
            for j, g in enumerate(factors):
                base, k = (g.base, g.exp) if isinstance(g, sp.Pow) else (g, sp.S.One)
                if isinstance(base, expit) and k.is_Integer and k >= 1 and sp.simplify(base.args[0] + u) == 0:
                    rest = [h for t, h in enumerate(factors) if t not in (i, j)]
                    return sp.Mul(*rest) * expit(u) * expit(-u) ** (k - 1)
    return None


def _r_tanh_expit(e):
    if not isinstance(e, sp.Add):
        return None
    const = const_part(e)
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.tanh) and const != 0 and abs(c) == abs(const):
            u = rest.args[0]
            return other_terms(e, a) + 2 * const * expit(2 * u if c == const else -2 * u)
    return None


def _expit(a, out, t, m):
    """1/(1+e^-a) sign split on e = exp(-|a|), mask-free: numerator max(e, [a >= 0])."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.add(t, 1.0, out=out)
    np.greater_equal(a, 0.0, out=m)
    np.maximum(t, m, out=t)               # 1 (a >= 0) or e (a < 0); NaN stays NaN
    np.divide(t, out, out=out)
    return out


ARRAY = '''def _expit(u):
    """1/(1 + exp(-u)) split on the sign: e = exp(-|u|) never overflows."""
    e = {M}.exp(-{M}.abs(u))
    return {M}.where(u >= 0, 1.0 + 0.0 * e, e) / (1.0 + e)'''

PYTHON = '''def _expit(u):
    """1/(1 + exp(-u)) split on the sign: e = exp(-|u|) never overflows."""
    e = math.exp(-abs(u))
    return (1.0 if u >= 0 else e) / (1.0 + e)'''

C = '''static T symact_expitF(T u)
{
    /* 1/(1 + exp(-u)) split on the sign: e = exp(-|u|) never overflows */
    const T e = expF(-fabsF(u));
    return (u >= 0 ? 1 : e) / (1 + e);
}'''


def _decay(u, s):
    E = sp.exp(-s * u)
    return (E if s < 0 else 1) / (1 + E)


_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    expit,
    kernel=Kernel(_expit, floats=1, bools=1),
    code=dict(array_code("_expit", ARRAY), python=Code("_expit", PYTHON), c=Code("symact_expit", C)),
    rules=(
        Rule("expit", "(1 + exp(u))^-k -> expit(-u)^k", _r_expit, "overflow; tails that underflow too early",
             rank=30, examples=(1 / (1 + sp.exp(-_x)), _x / (1 + sp.exp(2 * _x)) ** 2)),
        Rule("expit_absorb", "exp(u) expit(-u)^k -> expit(u) expit(-u)^(k-1)", _r_expit_absorb,
             "exp(u) overflows, the product does not", rank=40,
             examples=(sp.exp(_x) * expit(-_x) ** 2, _x * sp.exp(-_x) * expit(_x))),
        Rule("tanh_expit", "1 +- tanh(u) -> 2 expit(+-2u)", _r_tanh_expit, "cancellation in the tails", rank=70,
             examples=(1 + sp.tanh(_x), (1 - sp.tanh(_x**3)) / 2, _x + 3 - 3 * sp.tanh(_x / 5))),
    ),
    decay=_decay,
    order=40,
    built_on_exp=True,
    why="1/(1 + exp(-u)) overflows for u < -709 and its tail then underflows to 0 too early",
),)
