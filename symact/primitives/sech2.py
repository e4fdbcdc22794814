"""sech2(u) = 1 - tanh(u)^2 = 4e/(1 + e)^2 with e = exp(-2|u|).

1 - tanh(u)^2 loses every bit for |u| > 19 (tanh rounds to 1); the e form keeps
the tail. Rule ``sech2``: c - c tanh(u)^2 -> c sech2(u), and
c - c tanh_softplus(u)^2 -> c sech2_softplus(u).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, array_code, const_part, other_terms
from symact.primitives.tanh_softplus import sech2_softplus, tanh_softplus


class sech2(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return 1 - sp.tanh(u) ** 2

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -2 * sp.tanh(u) * sech2(u)


def _r_sech2(e):
    if not isinstance(e, sp.Add):
        return None
    const = const_part(e)
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.Pow) and rest.exp == 2 and c == -const and const != 0:
            b = rest.base
            if isinstance(b, sp.tanh):
                return other_terms(e, a) + const * sech2(b.args[0])
            if isinstance(b, tanh_softplus):
                return other_terms(e, a) + const * sech2_softplus(b.args[0])
    return None


def _sech2(a, out, t, m):
    """1 - tanh(a)^2 = 4e/(1+e)^2, e = exp(-2|a|)."""
    np.abs(a, out=t)
    np.multiply(t, -2.0, out=t)
    np.exp(t, out=t)
    np.add(t, 1.0, out=out)
    np.square(out, out=out)
    np.divide(t, out, out=out)
    np.multiply(out, 4.0, out=out)
    return out


ARRAY = '''def _sech2(u):
    """1 - tanh(u)^2 = 4e/(1 + e)^2, e = exp(-2|u|)."""
    e = {M}.exp(-2.0 * {M}.abs(u))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))'''

PYTHON = '''def _sech2(u):
    """1 - tanh(u)^2 = 4e/(1 + e)^2, e = exp(-2|u|)."""
    e = math.exp(-2.0 * abs(u))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))'''

C = '''static T symact_sech2F(T u)
{
    /* 1 - tanh(u)^2 = 4e/(1 + e)^2, e = exp(-2|u|) */
    const T e = expF(-2 * fabsF(u));
    return 4 * e / ((1 + e) * (1 + e));
}'''


def _decay(u, s):
    E2 = sp.exp(-2 * s * u)
    return 4 * E2 / (1 + E2) ** 2


_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    sech2,
    kernel=Kernel(_sech2, floats=1, bools=1),
    code=dict(array_code("_sech2", ARRAY), python=Code("_sech2", PYTHON), c=Code("symact_sech2", C)),
    rules=(Rule("sech2", "1 - tanh(u)^2 -> sech2(u)", _r_sech2, "all bits lost for |u| > 19", rank=90,
                examples=(1 - sp.tanh(_x) ** 2, _x / 2 - sp.tanh(3 * _x) ** 2 / 2 + sp.S.Half,
                          1 - tanh_softplus(_x) ** 2)),),
    oracle=lambda u: sp.cosh(u) ** -2,
    decay=_decay,
    order=44,
    built_on_exp=True,
    why="1 - tanh(u)^2 is 0 once tanh(u) rounds to 1",
),)
