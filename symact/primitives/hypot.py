"""hypot(u, a) = sqrt(u^2 + a^2) for a constant a > 0, without overflow or underflow.

u^2 overflows beyond |u| = 1.3e154 (float64) and 1.8e19 (float32) while the root is
finite; every target's hypot scales instead (C99 hypot, NumPy's, torch's, XLA's).
It is exact where it can be: sqrt(x^2 + 4) is hypot(x, 2), with no constant rounded.
Rule ``hypot``: sqrt(k v^2 + c) -> sqrt(k) hypot(v, sqrt(c/k)) for numbers k, c > 0.
"""
from __future__ import annotations

import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, const_part, library_code


class hypot(StableFunction):
    """sqrt(u^2 + a^2); ``a`` is a positive constant."""

    nargs = 2

    @classmethod
    def standard_form(cls, u, a):
        return sp.sqrt(u**2 + a**2)

    def fdiff(self, argindex=1):
        u, a = self.args
        return (u if argindex == 1 else a) / hypot(u, a)


def square_root_of(term):
    """(k, v) with ``term`` == k v^2, k a positive number and v not a number; else None."""
    nums = [f for f in sp.Mul.make_args(term) if f.is_number]
    k = sp.Mul(*nums)
    rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if not f.is_number])
    if not k.is_positive or not isinstance(rest, sp.Pow) or not (rest.exp.is_Integer and rest.exp.is_even):
        return None
    return k, rest.base ** (rest.exp / 2)


def _r_hypot(e):
    if not (isinstance(e, sp.Pow) and e.exp == sp.S.Half and isinstance(e.base, sp.Add)):
        return None
    c = const_part(e.base)
    rest = [t for t in e.base.args if not t.is_number]
    if not c.is_positive or len(rest) != 1:
        return None
    kv = square_root_of(rest[0])
    if kv is None:
        return None
    k, v = kv
    return sp.sqrt(k) * hypot(v, sp.sqrt(c / k))


TORCH = '''def _hypot(u, a):
    """sqrt(u^2 + a^2) without overflow (torch.hypot takes two tensors)."""
    return torch.hypot(u, torch.full_like(u, a))'''

#: XLA's hypot scales by the larger argument (|u| sqrt(1 + (a/u)^2)), which rounds several times.
#: With a constant a: for |u| < a, h = a + u^2/(s + a) (s the plain root) rounds once in effect (the
#: plain root carries the rounding of 1 + u^2/a^2, a whole ULP of a value just above a); up to
#: |u| = 2^27 a the plain root (the square far from overflow); beyond, |u| (h rounds to it in
#: float64 and float32 alike)
JAX = '''def _hypot(u, a):
    """sqrt(u^2 + a^2) without overflow, rounded about once (XLA's own hypot rounds more)."""
    au = jnp.abs(u)
    s = jnp.sqrt(u * u + a * a)
    return jnp.where(au > 134217728.0 * a, au, jnp.where(au < a, a + u * u / (s + a), s))'''

_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    hypot,
    kernel=Kernel("np.hypot"),
    code=dict(library_code(numpy="np.hypot", python="math.hypot", c="hypot"),
              torch=Code("_hypot", TORCH), jax=Code("_hypot", JAX)),
    rules=(Rule("hypot", "sqrt(k v^2 + c) -> sqrt(k) hypot(v, sqrt(c/k))", _r_hypot,
                "v^2 overflows for |v| > 1.3e154", rank=100,
                examples=(sp.sqrt(_x**2 + 4), sp.sqrt(_x**2 / 4 + 3), sp.sqrt(2 * _x**4 + 1) + _x)),),
    samples=((1,), (2,), (sp.Rational(1, 2),), (sp.sqrt(2),)),
    order=60,
    why="sqrt(u^2 + c) overflows in u^2 for |u| > 1.3e154 where the root is finite",
),)
