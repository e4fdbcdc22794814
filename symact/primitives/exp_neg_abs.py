"""exp_neg_abs(u) = exp(-|u|): the shared e of the exp-rational forms, never overflows.

No rule introduces it: the kernels' and codegen's exp-rational forms
(:func:`symact.numeric.kernels.selection.exp_rational`) write their e = exp(-|x|) with it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, StableFunction, array_code


class exp_neg_abs(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return sp.exp(-sp.Abs(u))

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -sp.sign(u) * exp_neg_abs(u)


def _exp_neg_abs(a, out):
    """exp(-|a|): the shared e of the exp-rational forms (never overflows)."""
    np.abs(a, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    return out


ARRAY = '''def _exp_neg_abs(u):
    return {M}.exp(-{M}.abs(u))'''

PYTHON = '''def _exp_neg_abs(u):
    return math.exp(-abs(u))'''

C = '''static T symact_exp_neg_absF(T u)
{
    return expF(-fabsF(u));
}'''

PRIMITIVES = (Primitive(
    exp_neg_abs,
    kernel=Kernel(_exp_neg_abs),
    code=dict(array_code("_exp_neg_abs", ARRAY), python=Code("_exp_neg_abs", PYTHON), c=Code("symact_exp_neg_abs", C)),
    decay=lambda u, s: sp.exp(-s * u),
    order=45,
    built_on_exp=True,
    why="the one exp of an exp-rational form: e = exp(-|x|) is in [0, 1]",
),)
