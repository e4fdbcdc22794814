"""log1p(u) = log(1 + u), without the cancellation of forming 1 + u for small u.

Rule ``log1p``: log(1 + w) -> log1p(w). Every target has it in its library.
"""
from __future__ import annotations

import sympy as sp

from symact.primitives.base import Kernel, Primitive, Rule, StableFunction, library_code, one_plus


class log1p(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return sp.log(1 + u)

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0])


def _r_log1p(e):
    if isinstance(e, sp.log):
        w = one_plus(e.args[0])
        if w is not None:
            return log1p(w)
    return None


_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    log1p,
    kernel=Kernel("np.log1p"),
    code=library_code(numpy="np.log1p", python="math.log1p", c="log1p", torch="torch.log1p", jax="jnp.log1p"),
    rules=(Rule("log1p", "log(1 + w) -> log1p(w)", _r_log1p, "cancellation for small w", rank=20,
                examples=(sp.log(1 + _x**2), sp.log(1 + sp.tanh(_x)))),),
    decay=lambda u, s: sp.log(1 + u),
    domain=(-1.0, float("inf")),
    order=50,
    why="log(1 + u) loses the bits of a small u when 1 + u is rounded",
),)
