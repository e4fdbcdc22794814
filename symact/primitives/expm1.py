"""expm1(u) = exp(u) - 1, without the cancellation of exp(u) - 1 near u = 0.

Rule ``expm1``: c exp(u) - c -> c expm1(u). Every target has it in its library.
"""
from __future__ import annotations

import sympy as sp

from symact.primitives.base import Kernel, Primitive, Rule, StableFunction, const_part, library_code, other_terms


class expm1(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return sp.exp(u) - 1

    def fdiff(self, argindex=1):
        return sp.exp(self.args[0])


def _r_expm1(e):
    if not isinstance(e, sp.Add):
        return None
    const = const_part(e)
    if const == 0:
        return None
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.exp) and sp.simplify(c + const) == 0:
            return other_terms(e, a) + c * expm1(rest.args[0])
    return None


_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    expm1,
    kernel=Kernel("np.expm1"),
    code=library_code(numpy="np.expm1", python="math.expm1", c="expm1", torch="torch.expm1", jax="jnp.expm1"),
    rules=(Rule("expm1", "c exp(u) - c -> c expm1(u)", _r_expm1, "cancellation near u = 0", rank=50,
                examples=(sp.exp(_x) - 1, 3 * sp.exp(_x / 2) - 3 + _x)),),
    decay=lambda u, s: sp.exp(u) - 1 if s < 0 else None,
    order=51,
    why="exp(u) - 1 cancels near u = 0",
),)
