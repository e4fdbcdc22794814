"""x_minus_tanh(u) = u - tanh(u), without its cancellation near u = 0 (tanhshrink).

u - tanh(u) is about u^3/3 near 0: written literally it loses every bit there
(tanhshrink(1e-6) is 3.3e-19, from two terms of 1e-6) and still about 2 bits at
u = 1. For |u| <= 1 it is u^3 g(u^2), g(t) = (u - tanh u)/u^3 fitted once in mpmath
(a degree-16 Chebyshev interpolant in t - 1/2 on [0, 1], its float64 coefficients
within 0.31 ULP of g; ``tests/test_primitives.py`` checks them against mpmath). For
|u| > 1 it is sign(u) ((|u| - 1) + 2e/(1 + e)) with e = exp(-2|u|): a sum of two
non-negative terms (1 - tanh|u| = 2e/(1 + e)), no cancellation, no overflow.

Rule ``x_minus_tanh``: c u - c tanh(u) -> c x_minus_tanh(u).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, array_code

#: g(t) = (u - tanh u)/u^3 at t = u^2 in [0, 1]: monomial coefficients in (t - 1/2), highest first
#: (symact.primitives.chebyshev.cheb_fit(g, 0, 1, 16) at 50 digits, rounded to float64)
G_COEFFS = (8.538161901212156e-09, -2.533615101996034e-08, 6.611072539325892e-08, -1.9617703927176709e-07,
            5.861048733796617e-07, -1.7392082461459563e-06, 5.160007108926025e-06, -1.5311810774589047e-05,
            4.5436406002152975e-05, -0.00013482804227126378, 0.0004000888970129298, -0.0011872248049725588,
            0.003522985197466861, -0.010454406818231659, 0.031029244854936983, -0.09223751778642146,
            0.2778856568389047)


class x_minus_tanh(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return u - sp.tanh(u)

    def fdiff(self, argindex=1):
        from symact.primitives.tanh2 import tanh2

        return tanh2(self.args[0])


def _r_x_minus_tanh(e):
    if not isinstance(e, sp.Add):
        return None
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if not isinstance(rest, sp.tanh):
            continue
        lin = sp.Add.make_args(sp.expand(-c * rest.args[0]))
        if all(s in e.args for s in lin):
            others = sp.Add(*[s for s in e.args if s is not a and s not in lin])
            return others - c * x_minus_tanh(rest.args[0])
    return None


def _x_minus_tanh(u, out, t, s, p, m):
    """u - tanh(u): u^3 g(u^2) for |u| <= 1, sign(u) ((|u| - 1) + 2e/(1 + e)) beyond."""
    np.clip(u, -1.0, 1.0, out=s)
    np.multiply(s, s, out=t)
    np.subtract(t, 0.5, out=out)          # the fit's variable t - 1/2
    p.fill(G_COEFFS[0])
    for c in G_COEFFS[1:]:
        np.multiply(p, out, out=p)
        np.add(p, c, out=p)
    np.multiply(p, t, out=p)
    np.multiply(p, s, out=s)              # u^3 g(u^2) on the clipped u
    np.abs(u, out=t)
    np.multiply(t, -2.0, out=p)
    np.exp(p, out=p)                      # e = exp(-2|u|), never overflows
    np.add(p, 1.0, out=out)
    np.divide(p, out, out=p)
    np.multiply(p, 2.0, out=p)            # 1 - tanh|u|
    np.subtract(t, 1.0, out=out)
    np.add(out, p, out=out)
    np.copysign(out, u, out=out)
    np.less_equal(t, 1.0, out=m)          # NaN: False, the other branch's NaN stays
    np.copyto(out, s, where=m)
    return out


def _horner(indent: str, var: str, acc: str, num, end: str = "") -> str:
    """Horner's scheme for g in ``var`` as statements assigning ``acc``."""
    lines = [f"{indent}{acc} = {num(G_COEFFS[0])}{end}"]
    lines += [f"{indent}{acc} = {acc} * {var} + {num(c)}{end}" for c in G_COEFFS[1:]]
    return "\n".join(lines)


ARRAY = f'''def _x_minus_tanh(u):
    """u - tanh(u) without cancellation: u^3 g(u^2) for |u| <= 1 (g fitted on [0, 1]),
    sign(u) ((|u| - 1) + 2e/(1 + e)) with e = exp(-2|u|) beyond."""
    uc = {{M}}.clip(u, -1.0, 1.0)
    t = uc * uc
    v = t - 0.5
{_horner("    ", "v", "p", repr)}
    a = {{M}}.abs(u)
    e = {{M}}.exp(-2.0 * a)
    big = (a - 1.0) + 2.0 * e / (1.0 + e)
    return {{M}}.where(a <= 1.0, uc * (t * p), {{M}}.where(u < 0, -big, big))'''

PYTHON = f'''def _x_minus_tanh(u):
    """u - tanh(u) without cancellation: u^3 g(u^2) for |u| <= 1 (g fitted on [0, 1]),
    sign(u) ((|u| - 1) + 2e/(1 + e)) with e = exp(-2|u|) beyond."""
    a = abs(u)
    if a <= 1.0:
        t = u * u
        v = t - 0.5
{_horner("        ", "v", "p", repr)}
        return u * (t * p)
    e = math.exp(-2.0 * a)
    big = (a - 1.0) + 2.0 * e / (1.0 + e)
    return -big if u < 0 else big'''

C = f'''static T symact_x_minus_tanhF(T u)
{{
    /* u - tanh(u) without cancellation: u^3 g(u^2) for |u| <= 1 (g fitted on [0, 1]),
       sign(u) ((|u| - 1) + 2e/(1 + e)) with e = exp(-2|u|) beyond */
    const T a = fabsF(u);
    if (a <= 1) {{
        const T t = u * u;
        const T v = t - (T)0.5;
        T p;
{_horner("        ", "v", "p", lambda c: f"(T){c!r}", ";")}
        return u * (t * p);
    }}
    const T e = expF(-2 * a);
    const T big = (a - 1) + 2 * e / (1 + e);
    return u < 0 ? -big : big;
}}'''

_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    x_minus_tanh,
    kernel=Kernel(_x_minus_tanh, floats=3, bools=1),
    code=dict(array_code("_x_minus_tanh", ARRAY), python=Code("_x_minus_tanh", PYTHON),
              c=Code("symact_x_minus_tanh", C)),
    rules=(Rule("x_minus_tanh", "c u - c tanh(u) -> c x_minus_tanh(u)", _r_x_minus_tanh,
                "cancellation near u = 0 (every bit for |u| < 1e-8)", rank=95,
                examples=(_x - sp.tanh(_x), 2 * _x - 2 * sp.tanh(_x) + 1, _x / 2 - sp.tanh(_x / 2))),),
    order=62,
    why="u - tanh(u) cancels near u = 0 (tanhshrink)",
),)
