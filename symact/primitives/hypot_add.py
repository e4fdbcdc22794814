"""hypot_add(u, a) = u + sqrt(u^2 + a^2) (a > 0 constant), split on the sign of u.

For u < 0 the sum cancels (squareplus at x = -1e8 is 1e-8, from two terms of 1e8);
there it equals a^2/(sqrt(u^2 + a^2) - u). With w = hypot(u, a) + |u| (a sum of two
positive terms, no cancellation): w for u >= 0, a (a/w) for u < 0. Its derivative
1 + u/sqrt(u^2 + a^2) is hypot_add(u, a)/hypot(u, a): a quotient of two stable values,
no cancellation and no overflow of a product.

Rule ``hypot_add``: k v + k hypot(v, a) -> 2k hypot_add(v/2, a/2). Halving inside keeps
the sum finite wherever the value is (squareplus = (x + sqrt(x^2 + 4))/2 is
hypot_add(x/2, 1), which never forms x + sqrt(x^2 + 4) > 1.8e308 for x near the largest double).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, array_code
from symact.primitives.hypot import hypot


class hypot_add(StableFunction):
    """u + sqrt(u^2 + a^2); ``a`` is a positive constant."""

    nargs = 2

    @classmethod
    def standard_form(cls, u, a):
        return u + sp.sqrt(u**2 + a**2)

    def fdiff(self, argindex=1):
        u, a = self.args
        return (hypot_add(u, a) if argindex == 1 else a) / hypot(u, a)


def _coeff(term):
    """(number factor, the rest) of a product."""
    factors = sp.Mul.make_args(term)
    return sp.Mul(*[f for f in factors if f.is_number]), sp.Mul(*[f for f in factors if not f.is_number])


def _r_hypot_add(e):
    if not isinstance(e, sp.Add):
        return None
    for t in e.args:
        k, h = _coeff(t)
        if not isinstance(h, hypot) or k == 0:
            continue
        v, a = h.args
        lin = sp.Add.make_args(sp.expand(k * v))
        if all(s in e.args for s in lin):
            others = sp.Add(*[s for s in e.args if s is not t and s not in lin])
            return others + 2 * k * hypot_add(v / 2, a / 2)
    return None


def _hypot_add(u, a, out, t, m):
    """u + hypot(u, a) with w = hypot(u, a) + |u|: w where u >= 0, a (a / w) below."""
    np.hypot(u, a, out=t)
    np.abs(u, out=out)
    np.add(t, out, out=t)                 # w: no cancellation
    np.divide(a, t, out=out)
    np.multiply(out, a, out=out)          # a^2 / w = a^2 / (hypot(u, a) - u) for u < 0
    np.greater_equal(u, 0.0, out=m)
    np.copyto(out, t, where=m)            # NaN: m is False, a^2/NaN stays
    return out


ARRAY = '''def _hypot_add(u, a):
    """u + sqrt(u^2 + a^2) split on the sign: w = sqrt(u^2 + a^2) + |u| never cancels;
    w for u >= 0, a^2/w below."""
    w = {M}.hypot(u, {HYPOT_A}) + {M}.abs(u)
    return {M}.where(u >= 0, w, a * (a / w))'''

PYTHON = '''def _hypot_add(u, a):
    """u + sqrt(u^2 + a^2) split on the sign: w = sqrt(u^2 + a^2) + |u| never cancels;
    w for u >= 0, a^2/w below."""
    w = math.hypot(u, a) + abs(u)
    return w if u >= 0 else a * (a / w)'''

#: the JAX piece takes the root from the hypot primitive's JAX helper (XLA's hypot rounds more)
JAX = '''def _hypot_add(u, a):
    """u + sqrt(u^2 + a^2) split on the sign: w = sqrt(u^2 + a^2) + |u| never cancels;
    w for u >= 0, a^2/w below."""
    w = _hypot(u, a) + jnp.abs(u)
    return jnp.where(u >= 0, w, a * (a / w))'''

C = '''static T symact_hypot_addF(T u, T a)
{
    /* u + sqrt(u^2 + a^2) split on the sign: w = sqrt(u^2 + a^2) + |u| never cancels;
       w for u >= 0, a^2/w below */
    const T w = hypotF(u, a) + fabsF(u);
    return u >= 0 ? w : a * (a / w);
}'''

_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    hypot_add,
    kernel=Kernel(_hypot_add, floats=1, bools=1),
    code=dict(array_code("_hypot_add", ARRAY.replace("{HYPOT_A}", "a"),
                         torch=Code("_hypot_add", ARRAY.replace("{HYPOT_A}", "{M}.full_like(u, a)")
                                    .replace("{M}", "torch")),
                         jax=Code("_hypot_add", JAX, needs=("hypot",))),
              python=Code("_hypot_add", PYTHON), c=Code("symact_hypot_add", C)),
    rules=(Rule("hypot_add", "k v + k hypot(v, a) -> 2k hypot_add(v/2, a/2)", _r_hypot_add,
                "v + sqrt(v^2 + c) cancels for v < 0", rank=110,
                examples=(_x + hypot(_x, 2), _x / 2 + hypot(_x, 2) / 2, 3 - _x + hypot(-_x, 1),
                          _x**2 + 1 + hypot(_x**2 + 1, sp.sqrt(3)))),),
    samples=((1,), (sp.Rational(1, 2),), (sp.sqrt(2) / 2,)),
    order=61,
    why="u + sqrt(u^2 + c) cancels for u < 0 (every bit for u < -1e8 with c = 4)",
),)
