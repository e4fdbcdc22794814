"""The kernels under hostile input: softmax and log_softmax at any spread of finite
inputs (the right limits, no -0 probabilities), their conventions at infinities, and
every catalog kernel fed 0-d, empty, strided, reversed, Fortran-ordered, read-only,
big-endian, float16, integer, boolean, object and masked arrays, lists, scalars and
ill-fitting or overlapping ``out=`` -- a correct result or a TypeError/ValueError with
a message, never another exception or a wrong value."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symact.model.catalog as catalog
from symact import kernel
from symact.numeric.oracle import vector_reference
from symact.numeric.ulp import FLOOR_ULP, floor_errors

VECTOR = [n for n in catalog.names() if catalog.get(n).vector]
#: softmax, log_softmax, softmin (VectorKernel: the input's shape); the others (glu, logsumexp, crelu)
#: halve, remove or double the axis and take the generic tests below with their declared shapes
SOFTMAX_LIKE = [n for n in VECTOR if catalog.get(n).shape == "same"]
MAX = float(np.finfo(np.float64).max)
MAX32 = float(np.finfo(np.float32).max)
inf, nan = np.inf, np.nan


def _no_warnings(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*a, **kw)


# --------------------------------------------------------------------------- softmax: pinned cases
SOFTMAX_CASES = [
    # (row, softmax, log_softmax): exact expected results
    ([9e307, -9e307], [1.0, 0.0], [0.0, -inf]),
    ([-9e307, 9e307], [0.0, 1.0], [-inf, 0.0]),
    ([1e308, -1e300], [1.0, 0.0], [0.0, -1e308 - 1e300]),
    ([MAX, -MAX, 0.0], [1.0, 0.0, 0.0], [0.0, -inf, -MAX]),
    ([MAX, MAX], [0.5, 0.5], [-math.log(2), -math.log(2)]),
    ([-MAX, -MAX, -MAX, -MAX], [0.25] * 4, [-math.log(4)] * 4),
    ([5e-324, -1.7e308], [1.0, 0.0], [0.0, -1.7e308]),
    ([0.0, -0.0], [0.5, 0.5], [-math.log(2), -math.log(2)]),
    ([1.0], [1.0], [0.0]),
    ([-MAX], [1.0], [0.0]),
    ([-inf, 1.0], [0.0, 1.0], [-inf, 0.0]),
    ([-inf, MAX, -MAX], [0.0, 1.0, 0.0], [-inf, 0.0, -inf]),
    # a row holding +inf: S = +inf, as the oracle evaluates it (softmax x_i / S, log x_i - log S)
    ([inf, 1.0], [nan, 0.0], [nan, -inf]),
    ([inf, 1000.0, -MAX], [nan, 0.0, 0.0], [nan, -inf, -inf]),
    ([inf, inf], [nan, nan], [nan, nan]),
    # NaN anywhere, or nothing but -inf: NaN
    ([nan, 1.0], [nan, nan], [nan, nan]),
    ([nan, inf, -inf], [nan, nan, nan], [nan, nan, nan]),
    ([-inf, -inf], [nan, nan], [nan, nan]),
]


@pytest.mark.parametrize("row,sm,lsm", SOFTMAX_CASES, ids=[str(c[0]) for c in SOFTMAX_CASES])
def test_softmax_special_rows_exact(row, sm, lsm):
    x = np.array(row)
    for name, want in (("softmax", sm), ("log_softmax", lsm)):
        got = _no_warnings(kernel(name), x)
        assert np.array_equal(got, np.array(want), equal_nan=True), (name, row, got, want)
        if name == "softmax":
            assert not np.signbit(got[~np.isnan(got)]).any(), (row, got)
        # the same row inside a block of ordinary rows, and alone through the blocked path
        block = np.vstack([np.linspace(-3, 3, len(row)), x, np.full(len(row), 2.0)])
        assert np.array_equal(kernel(name)(block)[1], got, equal_nan=True)
        # the oracle agrees, where it gives a value
        ref = vector_reference(catalog.get(name), x)
        assert np.array_equal(np.isnan(ref), np.isnan(got)) and floor_errors(got, ref).max() <= FLOOR_ULP


@pytest.mark.parametrize("row", [[3e38, -3e38], [-3e38, 3e38, 0.0], [MAX32, -MAX32, 1e-45], [1e-45, -1e-45]])
def test_softmax_float32_spreads_beyond_float32_max(row):
    x = np.array(row, dtype=np.float32)
    for name in VECTOR:
        if catalog.get(name).shape == "half" and x.size % 2:
            continue
        got = _no_warnings(kernel(name), x)
        assert got.dtype == np.float32
        want = kernel(name)(x.astype(np.float64)).astype(np.float32)
        assert np.array_equal(got, want), (name, got, want)
    sm = kernel("softmax")(x)
    assert np.isfinite(sm).all() and not np.signbit(sm).any()
    if x[0] == np.float32(3e38):
        assert np.array_equal(sm[:2], [1.0, 0.0]) and np.array_equal(kernel("log_softmax")(x)[:2], [0.0, -inf])


@pytest.mark.parametrize("name", SOFTMAX_LIKE)
def test_softmax_jacobian_at_extreme_spreads(name):
    """The Jacobians at spreads past float max: finite, the oracle's values; rows whose
    maximum is not finite (+inf, NaN, all -inf) give a NaN Jacobian."""
    k = kernel(name, derivative=True)
    sgn = -1.0 if name == "softmin" else 1.0          # softmin(x) = softmax(-x): mirrored rows
    for row in ([9e307, -9e307], [1e308, -1e300, 0.0], [-inf, 2.0, -MAX]):
        x = sgn * np.array(row)
        J = _no_warnings(k, x)
        assert np.isfinite(J).all(), (row, J)
        ref = vector_reference(catalog.get(name), x, derivative=True)
        assert floor_errors(J, ref).max() <= FLOOR_ULP, (row, J, ref)
    for row in ([inf, 1.0], [nan, 1.0], [-inf, -inf]):
        assert np.isnan(_no_warnings(k, sgn * np.array(row))).all()


@pytest.mark.parametrize("name", SOFTMAX_LIKE)
def test_empty_one_element_and_long_rows(name):
    k, dk = kernel(name), kernel(name, derivative=True)
    for shape in ((0,), (0, 5), (4, 0), (2, 0, 3)):
        x = np.zeros(shape)
        assert k(x).shape == shape and k(x).dtype == np.float64
        assert k(x.astype(np.float32)).dtype == np.float32
        assert dk(x).shape == shape + (shape[-1],)
        out = np.empty(shape)
        assert k(x, out=out) is out
    one = np.array([[5.0], [-MAX], [MAX], [0.0]])
    soft = name in ("softmax", "softmin")             # softmin: softmax's expectations at -x
    sgn = -1.0 if name == "softmin" else 1.0
    assert np.array_equal(k(one), np.full((4, 1), 1.0 if soft else 0.0))
    assert np.array_equal(dk(one), np.zeros((4, 1, 1)))
    # one row of 10^5 entries, ordinary and with a huge spread
    rng = np.random.default_rng(5)
    x = rng.normal(size=100_000) * 10
    y = k(sgn * x)
    z = np.exp(x - x.max())
    want = z / math.fsum(z) if soft else (x - x.max()) - math.log(math.fsum(z))
    assert np.allclose(y, want, rtol=1e-12, atol=0)
    x[123] = 9e307
    x[456] = -9e307
    y = k(sgn * x)
    if soft:
        assert y[123] == 1.0 and not y[np.arange(y.size) != 123].any() and not np.signbit(y).any()
    else:
        assert y[123] == 0.0 and y[456] == -inf and np.array_equal(y[:100], x[:100] - 9e307)


# --------------------------------------------------------------------------- softmax: any spread (Hypothesis)
def _rows(width):
    big = MAX if width == 64 else MAX32
    specials = [big, -big, big / 2, -big / 2, 9e307 if width == 64 else 3e38, -9e307 if width == 64 else -3e38,
                5e-324 if width == 64 else 1e-45, -5e-324 if width == 64 else -1e-45, 0.0, -0.0, 1.0,
                700.0, -745.0, 88.0, -104.0, 1e-300 if width == 64 else 1e-38]
    elem = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=width),
                     st.sampled_from(specials),
                     st.floats(-50, 50, width=width))
    return elem


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), width=st.sampled_from([64, 32]))
def test_softmax_any_spread_properties(data, width):
    """Rows of finite values of any spread (±max, subnormals, huge and tiny mixed):
    softmax finite, >= +0 (no -0), summing to 1 within a few ULP; log_softmax <= 0,
    -inf only where x_i - max underflows past -max, equal to x_i - max wherever the
    row's other terms are negligible; each row the same inside a block as alone."""
    dt = np.float64 if width == 64 else np.float32
    R = data.draw(st.integers(1, 4))
    n = data.draw(st.integers(1, 10))
    x = np.array(data.draw(st.lists(st.lists(_rows(width), min_size=n, max_size=n), min_size=R, max_size=R)),
                 dtype=dt)
    sm = _no_warnings(kernel("softmax"), x)
    ls = _no_warnings(kernel("log_softmax"), x)
    assert sm.dtype == dt and ls.dtype == dt
    eps = float(np.finfo(dt).eps)
    assert np.isfinite(sm).all() and (sm >= 0).all() and not np.signbit(sm).any(), (x, sm)
    assert (sm <= 1).all()
    for r in range(R):
        assert abs(math.fsum(sm[r].astype(np.float64)) - 1.0) <= 8 * eps, (x[r], sm[r])
        assert np.array_equal(kernel("softmax")(x[r]), sm[r]) and np.array_equal(kernel("log_softmax")(x[r]), ls[r])
    assert (ls <= 0).all() and not np.isnan(ls).any(), (x, ls)
    xw = x.astype(np.float64)
    with np.errstate(over="ignore"):
        # x_i - max in float64 (exact for float64 rows, where it does not overflow): the
        # result is -inf exactly where that passes -max of the result dtype (log n is
        # far below an ULP there)
        t = (xw - xw.max(axis=-1, keepdims=True)).astype(dt)
    assert np.array_equal(np.isneginf(ls), np.isneginf(t)), (x, ls)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), width=st.sampled_from([64, 32]), name=st.sampled_from(VECTOR))
def test_softmax_any_spread_against_oracle(data, width, name):
    """Rows of any spread within the floor of the vector oracle (rows kept short: the
    oracle's precision grows with the spread)."""
    dt = np.float64 if width == 64 else np.float32
    n = data.draw(st.integers(1, 4))
    if catalog.get(name).shape == "half":           # glu: an even length
        n += n % 2
    x = np.array(data.draw(st.lists(_rows(width), min_size=n, max_size=n)), dtype=dt)
    got = kernel(name)(x)
    ref = vector_reference(catalog.get(name), x.astype(np.float64)).astype(dt)
    assert np.array_equal(np.isneginf(got), np.isneginf(ref)), (x, got, ref)
    assert floor_errors(got, ref).max() <= FLOOR_ULP, (x, got, ref)


# --------------------------------------------------------------------------- every kernel, hostile arrays
ALL = [(n, d) for n in catalog.names() for d in (False, True)]
_BASE = np.array([[-2.5, 0.0, 1.0, 3.0, -800.0], [7.0, -1.0, 0.5, 2.0, nan], [0.1, inf, -0.3, 40.0, -inf],
                  [0.1, 2.0, -0.3, 40.0, 1.5]])


def _base(name):
    """_BASE, its rows cut to an even length for an entry that splits the axis in half (glu)."""
    return _BASE[:, :4] if catalog.get(name).shape == "half" else _BASE


def _result_shape(name, shape, deriv):
    """The declared result shape of ``name``'s kernel (f or f') along the last axis."""
    act = catalog.get(name)
    if not act.vector:
        return tuple(shape)
    shape, n = tuple(shape), shape[-1]
    if act.shape == "reduce":
        return shape if deriv else shape[:-1]
    m = act.output_length(n)
    return shape[:-1] + ((m, n) if deriv else (m,))


def _readonly(a):
    a = a.copy()
    a.setflags(write=False)
    return a


# kind -> (builder from a clean float64 array, the result's expected dtype or an exception type)
HOSTILE = {
    "list": (lambda a: a.tolist(), np.float64),
    "noncontiguous": (lambda a: np.repeat(a, 2, axis=-1)[..., ::2], np.float64),
    "reversed": (lambda a: a[::-1, ::-1], np.float64),
    "reversed-rows": (lambda a: a[:, ::-1], np.float64),
    "fortran": (lambda a: np.asfortranarray(a), np.float64),
    "transposed": (lambda a: a.T.copy().T, np.float64),
    "readonly": (_readonly, np.float64),
    "big-endian f8": (lambda a: a.astype(">f8"), np.float64),
    "big-endian f4": (lambda a: a.astype(">f4"), np.float32),
    "float32 reversed": (lambda a: a.astype(np.float32)[::-1, ::-1], np.float32),
    "float16": (lambda a: a.astype(np.float16), np.float16),
    "int64": (lambda a: np.nan_to_num(a, posinf=9, neginf=-9).astype(np.int64), np.float64),
    "int8": (lambda a: np.clip(np.nan_to_num(a), -100, 100).astype(np.int8), np.float64),
    "uint16": (lambda a: np.abs(np.nan_to_num(a, posinf=9, neginf=9)).astype(np.uint16), np.float64),
    "bool": (lambda a: a > 0, np.float64),
    "matrix-free 3-d": (lambda a: np.stack([a, a * 2]), np.float64),
    "object": (lambda a: a.astype(object), TypeError),
    "complex": (lambda a: a.astype(complex), TypeError),
    "strings": (lambda a: a.astype(str), TypeError),
    "datetime": (lambda a: np.zeros(a.shape, "datetime64[s]"), TypeError),
    "masked": (lambda a: np.ma.array(a, mask=a > 1), TypeError),
    "longdouble": (lambda a: a.astype(np.longdouble), TypeError if np.finfo(np.longdouble).bits > 64 else np.float64),
    "None": (lambda a: None, TypeError),
    "ragged": (lambda a: [[1.0, 2.0], [3.0]], ValueError),
}


class _Raises:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no array here")


def _clean(xh, expect):
    """The clean, C-contiguous, native array the hostile input stands for."""
    a = np.array(np.asarray(xh), order="C", copy=True)
    if expect == np.float32:
        return a.astype(np.float32)
    return a.astype(np.float64)


def _check(k, xh, expect, vector, **kw):
    if isinstance(expect, type) and issubclass(expect, Exception):
        with pytest.raises(expect) as ei:
            k(xh, **kw)
        assert str(ei.value).strip()
        return None
    y = _no_warnings(k, xh, **kw)
    assert isinstance(y, np.ndarray) and y.dtype == expect, (y, expect)
    clean = _clean(xh, expect)
    want = k(clean.astype(np.float64)).astype(np.float16) if expect == np.float16 else k(clean)
    assert y.shape == want.shape and np.array_equal(y, want, equal_nan=True), (xh, y, want)
    return y


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_every_kernel_hostile_arrays(kind):
    build, expect = HOSTILE[kind]
    for name, deriv in ALL:
        act = catalog.get(name)
        _check(kernel(name, derivative=deriv), build(_base(name)), expect, act.vector)


def test_every_kernel_hostile_scalars_and_shapes():
    for name, deriv in ALL:
        k = kernel(name, derivative=deriv)
        vector = catalog.get(name).vector
        for x in (0.5, 3, True, np.float32(2.0), np.array(-1.25), np.float16(1.5)):
            if vector:
                with pytest.raises(ValueError, match="0-d"):
                    k(x)
                continue
            y = _no_warnings(k, x)
            assert y.shape == () and y == k(np.array([x]))[0]
        for shape in ((0,), (3, 0), (0, 4), (1, 1, 1)):
            x = np.zeros(shape)
            if catalog.get(name).shape == "half" and shape[-1] % 2:
                with pytest.raises(ValueError, match="even"):
                    k(x)
                continue
            assert _no_warnings(k, x).shape == _result_shape(name, shape, deriv)
        with pytest.raises(TypeError):
            k(_Raises())
        with pytest.raises(TypeError):
            k(10 ** 400)                                   # NumPy makes it an object array


@pytest.mark.parametrize("name,deriv", ALL, ids=[f"{n}{chr(39) if d else ''}" for n, d in ALL])
def test_every_kernel_hostile_out(name, deriv):
    k = kernel(name, derivative=deriv)
    vector = catalog.get(name).vector
    same = catalog.get(name).shape == "same"
    x = _base(name).copy()
    want = k(x.copy())
    # wrong shape, including shapes x's result would broadcast into
    for shape in ((4, 4), (2, 4, 5), (20,), (1, 5), ()):
        with pytest.raises(ValueError, match="shape"):
            k(x, out=np.empty(shape))
    with pytest.raises(TypeError, match="same_kind"):
        k(x, out=np.empty(want.shape, np.int64))
    with pytest.raises(TypeError):
        k(x, out=want.tolist())
    with pytest.raises(TypeError):
        k(x, out=np.ma.array(np.empty(want.shape)))
    ro = np.empty(want.shape)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        k(x, out=ro)
    # strided, Fortran, big-endian and narrower outs receive the same values
    for out in (np.empty(want.shape, order="F"), np.empty(want.shape, ">f8"),
                np.empty(want.shape[:-1] + (2 * want.shape[-1],))[..., ::2]):
        assert k(x, out=out) is out and np.array_equal(out, want, equal_nan=True)
    o32 = np.empty(want.shape, np.float32)
    assert k(x, out=o32) is o32 and np.array_equal(o32, want.astype(np.float32), equal_nan=True)
    if vector and deriv or not same:
        return                                         # a Jacobian's (or a reshaped) out cannot alias its input
    # out overlapping its input: the whole of it, or shifted by one element
    y = x.copy()
    assert k(y, out=y) is y and np.array_equal(y, want, equal_nan=True)
    flat = np.concatenate([[0.0], x.ravel()])
    src, dst = flat[1:].reshape(x.shape), flat[:-1].reshape(x.shape)
    assert k(src, out=dst) is dst and np.array_equal(dst, want, equal_nan=True)
    flat = np.concatenate([x.ravel(), [0.0]])
    src, dst = flat[:-1].reshape(x.shape), flat[1:].reshape(x.shape)
    assert k(src, out=dst) is dst and np.array_equal(dst, want, equal_nan=True)
    if vector:
        # along axis 0, into an out that is the input's transpose
        z = x.T.copy()
        assert np.array_equal(k(z, axis=0), want.T, equal_nan=True)
        assert k(z, out=z, axis=0) is z and np.array_equal(z, want.T, equal_nan=True)


@pytest.mark.parametrize("name", VECTOR)
def test_vector_axis_argument(name):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 4)) * 5
    k, dk = kernel(name), kernel(name, derivative=True)
    reduce = catalog.get(name).shape == "reduce"
    for axis in (0, 1, 2, -1, -2, -3):
        xm = np.moveaxis(x, axis, -1)
        a = axis % 3
        want = k(xm.copy())
        assert np.array_equal(k(x, axis=axis), want if reduce else np.moveaxis(want, -1, axis))
        J = dk(x, axis=axis)
        got_shape = _result_shape(name, xm.shape, True)
        if reduce:                                     # the gradient: x's shape
            assert J.shape == x.shape and np.array_equal(J, np.moveaxis(dk(xm.copy()), -1, a))
            continue
        assert J.shape == x.shape[:a] + got_shape[-2:] + x.shape[a + 1:]
        assert np.array_equal(J, np.moveaxis(dk(xm.copy()), (-2, -1), (a, a + 1)))
    for bad in (3, -4):
        with pytest.raises(ValueError, match="axis"):
            k(x, axis=bad)
    for bad in (1.5, "0", None):
        with pytest.raises(TypeError, match="axis"):
            k(x, axis=bad)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_sweep_hypothesis(data):
    """Random kernels, hostile kinds and shapes (0-d included), with random values:
    the kernel's own result on a clean float64 copy, or TypeError/ValueError."""
    name, deriv = data.draw(st.sampled_from(ALL))
    vector = catalog.get(name).vector
    shape = tuple(data.draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    vals = st.one_of(st.floats(width=64), st.sampled_from([MAX, -MAX, 9e307, -9e307, 5e-324, 0.0, -0.0]))
    base = np.array(data.draw(st.lists(vals, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                    dtype=np.float64).reshape(shape)
    kind = data.draw(st.sampled_from([k for k in HOSTILE if k not in ("ragged", "None")]))
    build, expect = HOSTILE[kind]
    k = kernel(name, derivative=deriv)
    if base.ndim < 2 and kind in ("reversed", "reversed-rows", "transposed", "float32 reversed") \
            or base.ndim == 0 and kind == "noncontiguous":
        kind, build, expect = "list", *HOSTILE["list"]
    xh = build(base)
    if vector and np.ndim(xh) == 0 and not (isinstance(expect, type) and issubclass(expect, Exception)):
        expect = ValueError
    if catalog.get(name).shape == "half" and np.ndim(xh) > 0 and np.shape(xh)[-1] % 2 \
            and not (isinstance(expect, type) and issubclass(expect, Exception)):
        expect = ValueError                            # glu of an odd length
    with np.errstate(invalid="ignore", over="ignore"):
        _check(k, xh, expect, vector)
