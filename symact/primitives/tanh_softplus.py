"""tanh(softplus(u)) and 1 - tanh(softplus(u))^2: mish and its derivative, without overflow.

With n = e^u (e^u + 2), tanh(softplus(u)) = n/(n + 2); for u > 0 in s = e^-u,
(1 + 2s)/(1 + 2s + 2s^2), so e^u never overflows. Likewise
1 - tanh(softplus(u))^2 = 4(n + 1)/(n + 2)^2 = 4 A w/(A + w)^2 with A = (1 + e)^2,
e = exp(-|u|) and w = 1 (u <= 0) or e^2 (u > 0). The two are declared together:
each one's derivative is written in the other.

Rules: ``tanh_softplus`` tanh(softplus(u)) -> tanh_softplus(u); 1 - tanh_softplus(u)^2
becomes sech2_softplus(u) through the ``sech2`` rule (:mod:`.sech2`).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, array_code
from symact.primitives.expit import expit
from symact.primitives.softplus import softplus


class tanh_softplus(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return sp.tanh(sp.log(1 + sp.exp(u)))

    def fdiff(self, argindex=1):
        u = self.args[0]
        return sech2_softplus(u) * expit(u)


class sech2_softplus(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return 1 - sp.tanh(sp.log(1 + sp.exp(u))) ** 2

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -2 * tanh_softplus(u) * sech2_softplus(u) * expit(u)


def _r_tanh_softplus(e):
    if isinstance(e, sp.tanh) and isinstance(e.args[0], softplus):
        return tanh_softplus(e.args[0].args[0])
    return None


def _tanh_softplus(a, out, t, t2, m):
    """tanh(log(1+e^a)) = n/(n+2), n = e(e+2), e = exp(min(a, 40)).

    From a = 40 on the value rounds to 1 in float64 (2/(n+2) < 2^-110), so the
    clip changes nothing and e never overflows; for a -> -inf n/(n+2) -> 2e.
    """
    np.clip(a, -np.inf, 40.0, out=t)
    np.exp(t, out=t)
    np.add(t, 2.0, out=out)
    np.multiply(t, out, out=t)            # n
    np.add(t, 2.0, out=out)
    np.divide(t, out, out=out)
    return out


def _sech2_softplus(a, out, t, t2, m):
    """1 - tanh(softplus(a))^2 = 4 A w / (A + w)^2, A = (1+E)^2, E = exp(-|a|),
    w = max(E^2, [a <= 0]) (1 for a <= 0, E^2 for a > 0): no overflow.

    In long double: the value is a square of rounded factors, and in float64 their
    roundings pile up past the accuracy floor. (The kernels of mish' take an
    exp-rational form instead, measured cheaper; this helper serves other forms.)"""
    al = a.astype(np.longdouble)
    e = np.exp(-np.abs(al))
    big_a = np.square(1.0 + e)
    w = np.maximum(np.square(e), np.less_equal(a, 0.0, out=m))
    np.copyto(out, 4.0 * big_a * w / np.square(big_a + w), casting="unsafe")
    return out


TANH_ARRAY = '''def _tanh_softplus(u):
    """tanh(softplus(u)) = n/(n + 2), n = e^u (e^u + 2); for u > 0 in s = e^-u."""
    e = {M}.exp(-{M}.abs(u))
    pos = u > 0
    n = {M}.where(pos, 1.0 + 2.0 * e, e * (e + 2.0))
    return n / (n + {M}.where(pos, 2.0 * e * e, 2.0 + 0.0 * e))'''

TANH_PYTHON = '''def _tanh_softplus(u):
    """tanh(softplus(u)) = n/(n + 2), n = e^u (e^u + 2); for u > 0 in s = e^-u."""
    e = math.exp(-abs(u))
    if u > 0:
        n = 1.0 + 2.0 * e
        return n / (n + 2.0 * e * e)
    n = e * (e + 2.0)
    return n / (n + 2.0)'''

TANH_C = '''static T symact_tanh_softplusF(T u)
{
    /* tanh(softplus(u)) = n/(n + 2), n = e^u (e^u + 2); for u > 0 in s = e^-u */
    const T e = expF(-fabsF(u));
    if (u > 0) {
        const T n = 1 + 2 * e;
        return n / (n + 2 * e * e);
    } else {
        const T n = e * (e + 2);
        return n / (n + 2);
    }
}'''

SECH2_ARRAY = '''def _sech2_softplus(u):
    """1 - tanh(softplus(u))^2 = 4 A w / (A + w)^2, A = (1 + e)^2, w = 1 or e^2."""
    e = {M}.exp(-{M}.abs(u))
    a = (1.0 + e) * (1.0 + e)
    w = {M}.where(u > 0, e * e, 1.0 + 0.0 * e)
    return 4.0 * a * w / ((a + w) * (a + w))'''

SECH2_PYTHON = '''def _sech2_softplus(u):
    """1 - tanh(softplus(u))^2 = 4 A w / (A + w)^2, A = (1 + e)^2, w = 1 or e^2."""
    e = math.exp(-abs(u))
    a = (1.0 + e) * (1.0 + e)
    w = e * e if u > 0 else 1.0
    return 4.0 * a * w / ((a + w) * (a + w))'''

SECH2_C = '''static T symact_sech2_softplusF(T u)
{
    /* 1 - tanh(softplus(u))^2 = 4 A w / (A + w)^2, A = (1 + e)^2, w = 1 or e^2 */
    const T e = expF(-fabsF(u));
    const T a = (1 + e) * (1 + e);
    const T w = u > 0 ? e * e : 1;
    return 4 * a * w / ((a + w) * (a + w));
}'''


def _tanh_decay(u, s):
    E, E2 = sp.exp(-s * u), sp.exp(-2 * s * u)
    return E * (E + 2) / (E * (E + 2) + 2) if s < 0 else (1 + 2 * E) / (1 + 2 * E + 2 * E2)


def _sech2_decay(u, s):
    E, E2 = sp.exp(-s * u), sp.exp(-2 * s * u)
    a, w = (1 + E) ** 2, (1 if s < 0 else E2)
    return 4 * a * w / (a + w) ** 2


_x = sp.Symbol("x", real=True)

PRIMITIVES = (
    Primitive(
        tanh_softplus,
        kernel=Kernel(_tanh_softplus, floats=2, bools=1),
        code=dict(array_code("_tanh_softplus", TANH_ARRAY), python=Code("_tanh_softplus", TANH_PYTHON),
                  c=Code("symact_tanh_softplus", TANH_C)),
        rules=(Rule("tanh_softplus", "tanh(softplus(u)) -> tanh_softplus(u)", _r_tanh_softplus,
                    "mish: e^u overflows", rank=80, examples=(sp.tanh(softplus(_x)), _x * sp.tanh(softplus(2 * _x)))),),
        decay=_tanh_decay,
        order=42,
        built_on_exp=True,
        why="tanh(log(1 + e^u)) overflows in e^u for u > 709",
    ),
    Primitive(
        sech2_softplus,
        kernel=Kernel(_sech2_softplus, floats=2, bools=1),
        code=dict(array_code("_sech2_softplus", SECH2_ARRAY), python=Code("_sech2_softplus", SECH2_PYTHON),
                  c=Code("symact_sech2_softplus", SECH2_C)),
        oracle=lambda u: sp.cosh(sp.log(1 + sp.exp(u))) ** -2,
        decay=_sech2_decay,
        order=43,
        built_on_exp=True,
        why="1 - tanh(softplus(u))^2 loses every bit once tanh rounds to 1",
    ),
)
