"""softplus(u) = log(1 + e^u) = max(u, 0) + log1p(exp(-|u|)) (logaddexp(0, u)).

exp(u) overflows for u > 709; the split form never does. Its derivative is expit(u).
Rule ``softplus``: log(1 + exp(u)) -> softplus(u) (tried before ``log1p``).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction, array_code, one_plus
from symact.primitives.expit import expit


class softplus(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return sp.log(1 + sp.exp(u))

    def fdiff(self, argindex=1):
        return expit(self.args[0])


def _r_softplus(e):
    if isinstance(e, sp.log):
        w = one_plus(e.args[0])
        if isinstance(w, sp.exp):
            return softplus(w.args[0])
    return None


def _softplus(a, out, t, m):
    """max(a, 0) + log1p(exp(-|a|))."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    np.clip(a, 0.0, np.inf, out=out)      # max(a, 0): clip is the fast scalar form
    np.add(out, t, out=out)
    return out


ARRAY = '''def _softplus(u):
    """log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|))."""
    return {M}.where(u > 0, u, 0.0 * u) + {M}.log1p({M}.exp(-{M}.abs(u)))'''

PYTHON = '''def _softplus(u):
    """log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|))."""
    return max(u, 0.0) + math.log1p(math.exp(-abs(u)))'''

C = '''static T symact_softplusF(T u)
{
    /* log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)) */
    return (u > 0 ? u : 0) + log1pF(expF(-fabsF(u)));
}'''


def _decay(u, s):
    return (u if s > 0 else 0) + sp.log(1 + sp.exp(-s * u))


_x = sp.Symbol("x", real=True)

PRIMITIVES = (Primitive(
    softplus,
    kernel=Kernel(_softplus, floats=1, bools=1),
    code=dict(array_code("_softplus", ARRAY), python=Code("_softplus", PYTHON), c=Code("symact_softplus", C)),
    rules=(Rule("softplus", "log(1 + exp(u)) -> softplus(u)", _r_softplus, "exp overflows for u > 709", rank=10,
                examples=(sp.log(1 + sp.exp(_x)), -sp.log(1 + sp.exp(-2 * _x)))),),
    decay=_decay,
    order=41,
    why="log(1 + exp(u)) overflows for u > 709",
),)
