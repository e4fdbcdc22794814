"""Lowering of forms that overflow and underflow together (issue 15, item 4): tanh as
written, (1 - e^-2x)/(1 + e^-2x), stabilizes to -expit(2x) expm1(-2x), NaN at x <= -355.
References: mpmath."""
import mpmath
import numpy as np
import sympy as sp

from symact import primitives as rw
from symact.numeric.kernels.lowering import _compile_chain, expit_expm1_forms
from symact.numeric.ulp import ulp_distance
from symact.symbolic.forms import X as x


def test_expit_expm1_pair_is_tanh():
    assert expit_expm1_forms(-rw.expit(2 * x) * rw.expm1(-2 * x)) == sp.tanh(x)
    assert expit_expm1_forms(3 * rw.expit(x) * rw.expm1(-x)) == -3 * sp.tanh(x / 2)
    # inside a sum it stays (1 + tanh would cancel where the product does not)
    s = 1 + rw.expit(x) * rw.expm1(-x)
    assert expit_expm1_forms(s) == s


def test_tanh_as_written_has_no_nan_in_its_tail():
    stable = rw.stabilize((1 - sp.exp(-2 * x)) / (1 + sp.exp(-2 * x)))
    chain = _compile_chain(stable, dd=True, name="t")
    xs = np.array([-1e300, -800.0, -355.0, -354.0, -20.0, -0.3, 0.0, 1e-300, 0.3, 20.0, 355.0, 1e300])
    got = chain.run(xs, np.empty_like(xs), np.float64)
    with mpmath.workdps(40):
        want = np.array([float(mpmath.tanh(mpmath.mpf(v))) for v in xs])
    assert not np.isnan(got).any()
    assert ulp_distance(got, want).max() <= 1
