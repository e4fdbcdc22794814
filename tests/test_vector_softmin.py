"""softmin = softmax(-x): its kernel, Jacobian, certificate facts, against an independent
mpmath reference written here (not symact's oracle)."""
import mpmath
import numpy as np
import pytest

from symact.analysis.facts import derive
from symact.model import catalog
from symact.numeric.kernels import kernel_for

ACT = catalog.get("softmin")
RNG = np.random.default_rng(20261202)


def _mp_softmin(row):
    """Values and Jacobian at 200 bits: y_i = e^-x_i / sum e^-x_j, J = y y^T - diag(y)."""
    with mpmath.workprec(200):
        xs = [mpmath.mpf(float(v)) for v in row]
        m = min(xs)
        e = [mpmath.exp(m - v) for v in xs]
        s = mpmath.fsum(e)
        y = [v / s for v in e]
        jac = [[y[i] * y[k] - (y[i] if i == k else 0) for k in range(len(y))] for i in range(len(y))]
        return np.array([float(v) for v in y]), np.array([[float(v) for v in r] for r in jac])


def _ulps(got, ref, dtype):
    """Componentwise error in ULPs of the reference in ``dtype``; below the smallest normal: 0."""
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    tiny = float(np.finfo(dtype).smallest_normal)
    ulp = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    err = np.abs(got - ref)
    return np.where(err <= tiny, 0.0, err / np.maximum(ulp, np.spacing(np.float64(tiny))))


ROWS = ([[1.0, 2.0, 3.0], [1000.0, 1001.0, 999.0], [-1000.0, -1001.5, -999.25], [0.5, 0.5, 0.5],
         [1000.0, 1000.0, -1000.0], [7.0, 7.0, 7.0 + 2 ** -40], [-3.0, 40.0, 750.0], [1e-300, -1e-300, 0.0]]
        + [list(RNG.normal(0, s, 4)) for s in (1, 10, 100)]
        + [list(RNG.normal(0, 5, 5) + off) for off in (-1000, 1000)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmin_within_4_ulp_of_mpmath(dtype):
    k, kd = kernel_for(ACT), kernel_for(ACT, True)
    worst = worst_j = 0.0
    for row in ROWS:
        x = np.array(row, dtype=dtype)
        y, jac = _mp_softmin(x.astype(np.float64))
        got, gj = k(x), kd(x)
        assert got.dtype == dtype and gj.shape == (len(row), len(row))
        worst = max(worst, _ulps(got, y, dtype).max())
        worst_j = max(worst_j, _ulps(gj, jac, dtype).max())
    print(f"softmin {np.dtype(dtype).name}: max {worst:.2f} ULP, Jacobian {worst_j:.2f} ULP (componentwise)")
    assert worst <= 4 and worst_j <= 4


def test_softmin_is_softmax_of_minus_x_bitwise_and_axis():
    soft = kernel_for(catalog.get("softmax"))
    x = RNG.normal(0, 30, (5, 7))
    assert np.array_equal(kernel_for(ACT)(x), soft(-x))
    assert np.array_equal(kernel_for(ACT, True)(x), -kernel_for(catalog.get("softmax"), True)(-x))
    assert np.array_equal(kernel_for(ACT)(x.T, axis=0), kernel_for(ACT)(x).T)


def test_softmin_nonfinite_ties_and_empty_rows():
    k = kernel_for(ACT)
    got = k(np.array([[np.inf, 0.0], [np.nan, 0.0], [3.0, 3.0], [-1e308, 1e308]]))
    assert np.array_equal(got[0], [0.0, 1.0])         # e^-inf = 0
    assert np.isnan(got[1]).all()                      # NaN anywhere: NaN row
    assert np.array_equal(got[2], [0.5, 0.5])          # ties: equal shares, exactly
    assert np.array_equal(got[3], [1.0, 0.0])          # any finite spread: limits, never NaN
    assert k(np.zeros((3, 0))).shape == (3, 0)
    assert kernel_for(ACT, True)(np.zeros((2, 0))).shape == (2, 0, 0)


def test_softmin_facts_and_identity():
    from symact.analysis.identities import prove
    f = derive(ACT)
    assert f["jacobian"].value == "y y^T - diag(y)"
    assert f["sum"].value == 1
    assert prove("softmin_softmax").verdict == "proved"
