"""erfc as users write it (JAX's gelu: x/2 erfc(-x/sqrt 2)): SymPy turns erfc(-u) into
2 - erfc(u), which cancels for u < -6. The oracle and the kernels' lowering undo that
reflection (issue 15). References: mpmath at a precision fixed here."""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from symact.numeric.kernels.lowering import _compile_chain, erfc_forms
from symact import primitives as rw
from symact.numeric.oracle import Oracle
from symact.numeric.ulp import ulp_distance
from symact.symbolic.forms import X

x = X
JAX_GELU = x / 2 * sp.erfc(-x / sp.sqrt(2))        # SymPy: x (2 - erfc(sqrt(2) x / 2)) / 2
THIRD = x / 3 * sp.erfc(-x / sp.sqrt(3))           # no catalog entry: its own kernel


def _ref(fn, v):
    with mpmath.workdps(60):
        return float(fn(mpmath.mpf(v)))


def test_sympy_reflects_erfc():
    # the premise: what the reader builds has the cancelling form
    assert JAX_GELU.has(sp.erfc) and sp.expand(JAX_GELU).has(sp.erfc)
    assert 2 in sp.Add.make_args(sp.Mul.make_args(JAX_GELU)[-1]) or sp.expand(JAX_GELU).has(x)


@pytest.mark.parametrize("v", [-5.0, -20.0, -40.0, -300.0, 3.0])
@pytest.mark.parametrize("expr", [JAX_GELU, sp.expand(JAX_GELU)])
def test_oracle_tail_of_reflected_erfc(expr, v):
    want = _ref(lambda t: t / 2 * mpmath.erfc(-t / mpmath.sqrt(2)), v)
    assert Oracle(expr, x).rounded(v) == want


def test_erfc_forms_undo_the_reflection():
    u = sp.sqrt(3) * x / 3
    assert erfc_forms(2 - sp.erfc(u)) == rw.erfc(-u)
    assert erfc_forms(sp.expand(THIRD)) == x * rw.erfc(-u) / 3
    assert erfc_forms(sp.erfc(u) / 5) == rw.erfc(u) / 5


@pytest.mark.parametrize("expr,fn", [
    (THIRD, lambda t: t / 3 * mpmath.erfc(-t / mpmath.sqrt(3))),
    (sp.diff(THIRD, x), lambda t: mpmath.erfc(-t / mpmath.sqrt(3)) / 3
     + 2 * t * mpmath.exp(-t * t / 3) / (3 * mpmath.sqrt(3 * mpmath.pi))),
])
def test_kernel_chain_keeps_the_tail(expr, fn):
    # away from the roots (f at 0, f' near -0.75: root polynomials fix those, measured
    # elsewhere): the chain alone within 4 ULP down the tail, where 2 - erfc(u) gave 0
    # (x <= -27) or 1e15 ULP
    xs = np.array([-40.0, -27.0, -10.0, -3.0, 1.0, 3.0, 10.0, 40.0])
    chain = _compile_chain(sp.expand(expr), dd=True, name="t")
    got = chain.run(xs, np.empty_like(xs), np.float64)
    want = np.array([_ref(fn, v) for v in xs])
    assert ulp_distance(got, want).max() <= 4, (got, want)


def test_scaling_up_comes_last_in_a_product():
    # x * 1.128 * exp(-x^2) is inf * 0 = nan at the largest float; x * exp(-x^2) * 1.128 is 0
    e = 2 * x * sp.exp(-x**2) / sp.sqrt(sp.pi)
    chain = _compile_chain(e, dd=True, name="t")
    xs = np.array([-1.7976931348623157e308, 1.7976931348623157e308, 1.0])
    got = chain.run(xs, np.empty_like(xs), np.float64)
    assert got[0] == 0 and got[1] == 0 and math.isclose(got[2], 2 / math.e / math.sqrt(math.pi), rel_tol=1e-15)
