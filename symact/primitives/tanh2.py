"""tanh2(u) = tanh(u)^2, the derivative of x_minus_tanh (tanhshrink').

Squaring doubles tanh's error: XLA's tanh (and the JAX target's expm1-based one) is a few
ULP off near |u| = 3-8, where tanh(u)^2 then missed the floor by 2 ULP. Where tanh(u)^2 >= 1/2
(|u| > 0.8814) the JAX piece computes 1 - sech^2(u) with sech^2 = 4e/(1 + e)^2, e = exp(-2|u|):
a difference of 1 and at most 1/2, no cancellation. Below, tanh|u| = |u| - x_minus_tanh(|u|)
(the fitted helper; no cancellation there). The other targets' tanh is within 1 ULP: they square it. No rule introduces it: only x_minus_tanh's fdiff.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.primitives.base import Code, Kernel, Primitive, StableFunction, array_code


class tanh2(StableFunction):
    @classmethod
    def standard_form(cls, u):
        return sp.tanh(u) ** 2

    def fdiff(self, argindex=1):
        u = self.args[0]
        return 2 * sp.tanh(u) * (1 - sp.tanh(u) ** 2)


def _tanh2(u, out):
    """tanh(u)^2 (NumPy's tanh is within 1 ULP)."""
    np.tanh(u, out=out)
    np.square(out, out=out)
    return out


ARRAY = '''def _tanh2(u):
    """tanh(u)^2."""
    t = {M}.tanh(u)
    return t * t'''

JAX = '''def _tanh2(u):
    """tanh(u)^2: 1 - sech^2(u) where that is >= 1/2 (sech^2 = 4e/(1 + e)^2, e = exp(-2|u|)),
    else the square of tanh|u| = |u| - (|u| - tanh|u|) from the fitted _x_minus_tanh
    (XLA's tanh is up to 6 ULP off)."""
    a = jnp.abs(u)
    e = jnp.exp(-2.0 * a)
    t = a - _x_minus_tanh(jnp.minimum(a, 1.0))
    return jnp.where(a > 0.8814, 1.0 - 4.0 * e / ((1.0 + e) * (1.0 + e)), t * t)'''

PYTHON = '''def _tanh2(u):
    """tanh(u)^2."""
    t = math.tanh(u)
    return t * t'''

C = '''static T symact_tanh2F(T u)
{
    /* tanh(u)^2 */
    const T t = tanhF(u);
    return t * t;
}'''

PRIMITIVES = (Primitive(
    tanh2,
    kernel=Kernel(_tanh2),
    code=dict(array_code("_tanh2", ARRAY, jax=Code("_tanh2", JAX, needs=("x_minus_tanh",))), python=Code("_tanh2", PYTHON),
              c=Code("symact_tanh2", C)),
    order=63,
    why="tanh(u)^2 doubles tanh's error (the JAX target's tanh is a few ULP off)",
),)
