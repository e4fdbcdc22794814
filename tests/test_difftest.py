"""The differential-testing engine: API, determinism, scoring, strategies, assertions.

Independent references here are SymPy ``evalf`` at 60 digits (not symact's
oracle) and exact facts (relu is max(0, x) bit for bit).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

import symact
from symact import kernel, strategies
from symact.verify import difftest
from symact.errors import SpecError, SymactError
from symact.verify.impl import load_impl
from symact.testing import assert_implements

EXPECTED_NAMES = ["kernel[float64]", "derivative_kernel[float64]", "shape_dtype"]


def _evalf(expr, x: float) -> float:
    """SymPy's own high-precision value at x (independent of symact.numeric.oracle)."""
    return float(sp.N(expr.subs(sp.Symbol("x", real=True), sp.Rational(x)), 60))


@pytest.mark.parametrize("name", symact.names())
def test_registry_entries_and_witnesses_are_real(name):
    """Every catalog activation gets its entries; a failed kernel's witness really fails."""
    act = symact.get(name)
    results = difftest.run_tests(act, examples=40, dtypes=("float64",))
    assert [r.name for r in results] == ["kernel[float64]", "derivative_kernel[float64]", "shape_dtype"]
    for r in results[:2]:
        d = r.to_dict()
        json.dumps(d, allow_nan=False)  # strictly JSON: inf/nan as strings
        assert d["points"] >= (1 if act.vector else 40) and d["failing"] >= 0 and d["tolerance"]["max_ulp"] == 4.0
        if not r.passed and not act.vector:
            w = d["witness"]
            x = float(w["x"])
            expr = act.derivative if r.name.startswith("derivative") else act.expr
            if math.isfinite(x):
                true = _evalf(expr, x)
                got = float(w["got"])
                assert abs(got - true) > 4 * np.spacing(abs(true)), (name, r.name, w, true)
    assert results[-1].passed, results[-1].details


def test_same_seed_gives_byte_identical_json_across_processes():
    code = ("import json, symact; from symact.verify import difftest; "
            "print(json.dumps([r.to_dict() for r in difftest.run_tests(symact.get('softplus'), "
            "impl=__import__('numpy').log1p, seed=7, examples=150)]))")
    here = json.dumps([r.to_dict() for r in difftest.run_tests(
        symact.get("softplus"), impl=np.log1p, seed=7, examples=150)])
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert here == there.strip()
    assert '"witness"' in here  # log1p is not softplus: the shrunk witness is part of the output


def test_different_seeds_draw_different_points():
    act = symact.get("sigmoid")
    a, b = difftest.bulk_points(act, 500, 0), difftest.bulk_points(act, 500, 1)
    assert len(a) == len(b) and not np.array_equal(a, b)
    assert np.array_equal(a, difftest.bulk_points(act, 500, 0))


def test_points_cover_the_edge_classes():
    act = symact.get("relu6")
    for dtype in ("float64", "float32"):
        pts = difftest.scalar_points(act, dtype, 100, 0)
        assert pts.dtype == np.dtype(dtype)
        vals = set(pts.astype(np.float64).tolist())
        fi = np.finfo(dtype)
        for v in (0.0, 6.0, math.inf, -math.inf, float(fi.smallest_subnormal), float(fi.max)):
            assert v in vals
        assert float(np.nextafter(np.dtype(dtype).type(6), np.dtype(dtype).type(7))) in vals
        assert np.isnan(pts).sum() == 1 and np.signbit(pts[pts == 0]).any()
    e64 = strategies.edge_values("float64")
    assert any(abs(v - 709.78) < 0.01 for v in e64) and any(abs(v + 745.13) < 0.01 for v in e64)
    e32 = strategies.edge_values("float32")
    assert any(abs(v - 88.72) < 0.01 for v in e32) and any(abs(v + 103.28) < 0.01 for v in e32)


def test_vector_activations_rows_and_jacobians():
    results = {r.name: r for r in difftest.run_tests(symact.get("softmax"), examples=80, dtypes=("float64",))}
    assert results["kernel[float64]"].passed, results["kernel[float64]"].details
    assert results["kernel[float64]"].details["rows"] >= 10
    assert results["derivative_kernel[float64]"].details["rows"] >= 4
    assert results["shape_dtype"].passed


def test_vector_impl_failure_has_row_witness():
    def bad_softmax(x):  # no max subtraction: overflows at offset 1000
        with np.errstate(all="ignore"):
            e = np.exp(x)
            return e / e.sum(axis=-1, keepdims=True)

    r = {t.name: t for t in difftest.run_tests(symact.get("softmax"), impl=bad_softmax, examples=80,
                                                 dtypes=("float64",))}["impl[float64]"]
    assert not r.passed
    w = r.details["witness"]
    row = np.array([float(v) for v in w["x"]])
    with np.errstate(all="ignore"):
        got = bad_softmax(row[None, :])[0]
    true = np.array([float(v) for v in sp.Matrix([sp.exp(sp.Rational(v) - sp.Rational(max(row)))
                                                   for v in row]).evalf(40)])
    true = true / true.sum()
    assert np.any(~np.isclose(got, true, rtol=1e-12, atol=0) | np.isnan(got))


def test_tolerance_options():
    act = symact.get("sigmoid")

    def off_by_little(x):
        return kernel(act)(x) * (1 + 2e-15)

    strict = {r.name: r for r in difftest.run_tests(act, impl=off_by_little, examples=100, max_ulp=1.0,
                                                    dtypes=("float64",))}
    loose = {r.name: r for r in difftest.run_tests(act, impl=off_by_little, examples=100, max_ulp=64.0,
                                                   dtypes=("float64",))}
    assert not strict["impl[float64]"].passed and loose["impl[float64]"].passed
    assert loose["impl[float64]"].details["tolerance"] == {"max_ulp": 64.0, "atol": 2.2250738585072014e-308}
    atol = {r.name: r for r in difftest.run_tests(act, impl=off_by_little, examples=100, max_ulp=0.0,
                                                  atol=1e-10, dtypes=("float64",))}
    assert atol["impl[float64]"].passed


@pytest.mark.parametrize("kwargs", [dict(dtypes=("float16",)), dict(examples=0), dict(max_ulp=-1),
                                    dict(atol=-1.0), dict(dtypes=())])
def test_bad_options_are_user_errors(kwargs):
    with pytest.raises(SymactError):
        difftest.run_tests(symact.get("relu"), **kwargs)


def test_not_callable_impl_is_a_failed_entry():
    r = {t.name: t for t in difftest.run_tests(symact.get("relu"), impl=3, examples=20,
                                                dtypes=("float64",))}
    assert not r["impl[float64]"].passed and "not callable" in r["impl[float64]"].details["message"]


def test_user_warnings_are_captured_not_shown():
    def noisy(x):
        warnings.warn("hello from user code")
        return np.maximum(x, 0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = {t.name: t for t in difftest.run_tests(symact.get("relu"), impl=noisy, examples=30,
                                                    dtypes=("float64",))}
    assert not caught
    assert r["impl[float64]"].passed and r["impl[float64]"].details["warnings"] == ["UserWarning: hello from user code"]


# ------------------------------------------------------------------ load_impl
@pytest.mark.parametrize("spec,words", [
    ("nofile.py:f", "no file 'nofile.py'"),
    ("numpy:no_such_fn", "'numpy' has no function 'no_such_fn'"),
    ("numpy", "missing ':FUNCTION'"),
    ("numpy:", "no function name after ':'"),
    ("math:pi", "not callable"),
    ("no_such_module_xyz:f", "no module named 'no_such_module_xyz'"),
])
def test_load_impl_errors_name_what_is_missing(spec, words):
    with pytest.raises(SpecError) as exc:
        load_impl(spec)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_load_impl_from_file_and_module(tmp_path):
    f = tmp_path / "mine.py"
    f.write_text("import numpy as np\ndef act(x):\n    return np.maximum(x, 0)\n")
    assert load_impl(f"{f}:act")(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]
    assert load_impl("numpy:tanh") is np.tanh
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('broken at import')\n")
    with pytest.raises(SpecError, match="raised RuntimeError: broken at import"):
        load_impl(f"{bad}:f")


# ------------------------------------------------------------------ assert_implements and strategies
def test_assert_implements_passes_and_fails_like_numpy_testing():
    from scipy.special import expit

    res = assert_implements("sigmoid", expit, examples=200)
    assert [r.name for r in res] == ["impl[float64]", "impl[float32]", "shape_dtype"]
    with pytest.raises(AssertionError) as exc:
        assert_implements("leaky_relu", lambda x: np.where(x >= 0, x, 0.2 * x), examples=200)
    text = str(exc.value)
    for part in ("does not implement 'leaky_relu'", "impl[float64]: FAILED", "points failed",
                 "tolerance: 4 ULP", "worst: x = ", "witness: x = -1.0, expected -0.01, got -0.2"):
        assert part in text, text
    assert_implements("leaky_relu", lambda x: np.where(x >= 0, x, 0.2 * x), params={"negative_slope": "0.2"},
                      examples=200)
    # relu'(0) = 1 is the right derivative: a valid convention at the kink (issue 14), strict refuses it
    res = assert_implements("relu", lambda x: (x >= 0).astype(x.dtype), derivative=True, examples=100)
    assert "the right derivative" in res[0].details["conventions"][0]["text"]
    with pytest.raises(AssertionError, match=r"(?s)relu'.*FAILED \(convention\)"):
        assert_implements("relu", lambda x: (x >= 0).astype(x.dtype), derivative=True, examples=100,
                          kink_convention="strict")


@settings(max_examples=200, derandomize=True, database=None)
@given(strategies.floats_for(symact.get("relu"), "float64"))
def test_strategies_floats_for_relu_kernel_is_exact(x):
    got = kernel(symact.get("relu"))(np.array([x]))[0]
    assert (math.isnan(x) and math.isnan(got)) or got == max(0.0, x)


@settings(max_examples=50, derandomize=True, database=None)
@given(strategies.vectors("float32"))
def test_strategies_vectors_rows_are_float32_rows(row):
    assert 1 <= len(row) <= 8 and all(float(np.float32(v)) == v for v in row)


def test_strategy_pieces():
    act = symact.get("hard_tanh")
    assert set(strategies.kink_values(act, "float64")) >= {-1.0, 1.0, float(np.nextafter(1.0, 2.0))}
    assert strategies.kinks(symact.get("sigmoid")).is_empty


@settings(max_examples=100, derandomize=True, database=None)
@given(strategies.subnormals("float32"), strategies.bit_patterns("float32"), strategies.tails("float64"))
def test_strategy_draws(sub, bits, tail):
    assert abs(sub) < float(np.finfo(np.float32).smallest_normal)
    assert isinstance(bits, float) and not math.isnan(bits) and float(np.float32(bits)) == bits
    assert tail in set(strategies.edge_values("float64")) | {math.inf, -math.inf}
