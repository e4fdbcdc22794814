"""symact catches the defects real activation code has had, with correct witnesses.

Each defective implementation in tests/impls/defective.py must fail with a
witness that this file re-evaluates itself, with mpmath formulas written here
(independent of symact's oracle): the implementation's value at the witness
must really be off by more than the tolerance. Each correct implementation
(tests/impls/correct.py, course.py) must pass.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

import symact
from symact.verify import difftest
from symact.verify.impl import load_impl

IMPLS = Path(__file__).parent / "impls"
EXAMPLES = 400
MAX_ULP = 4.0


def impl(spec: str):
    file, _, fn = spec.partition(":")
    return load_impl(f"{IMPLS / file}:{fn}")


# ------------------------------------------------------------------ independent references (mpmath)
def _m(x):
    return mp.mpf(x)


def ref_sigmoid(x):
    return 1 / (1 + mp.exp(-_m(x)))


def ref_sigmoid_grad(x):
    s = ref_sigmoid(x)
    return mp.exp(-abs(_m(x))) / (1 + mp.exp(-abs(_m(x)))) ** 2 if abs(x) > 1 else s * (1 - s)


def ref_silu(x):
    return _m(x) / (1 + mp.exp(-_m(x)))


def ref_mish(x):
    return _m(x) * mp.tanh(mp.log1p(mp.exp(_m(x))))


def ref_elu(x):
    return _m(x) if x >= 0 else mp.expm1(_m(x))


def ref_softplus(x):
    return mp.log1p(mp.exp(_m(x)))


def ref_hard_sigmoid(x):
    return min(max(mp.mpf(0), _m(x) + 3), mp.mpf(6)) / 6


def ref_leaky(slope):
    return lambda x: _m(x) if x >= 0 else mp.mpf(slope) * _m(x)


def ref_relu_grad(x):
    return mp.mpf(1) if x > 0 else mp.mpf(0)


LIMITS = {  # the reference at ±inf: limits worked out by hand
    ("silu", -math.inf): 0, ("mish", -math.inf): 0, ("sigmoid", -math.inf): 0,
}


def truth(ref, name, x: float):
    if math.isinf(x):
        return mp.mpf(LIMITS[(name, x)])
    with mp.workprec(400):
        return ref(x)


def really_fails(got: float, true, dtype) -> bool:
    """Does ``got`` miss ``true`` by more than MAX_ULP ULP and more than atol (here, not symact)?"""
    if math.isnan(got):
        return not mp.isnan(true)
    dt = np.dtype(dtype)
    rounded = dt.type(float(true))
    err = abs(mp.mpf(got) - true)
    spacing = float(np.spacing(np.abs(rounded))) if np.isfinite(rounded) else math.inf
    return err > MAX_ULP * spacing and err > float(np.finfo(dt).smallest_normal)


def call_at(fn, x: float, dtype) -> float:
    dt = np.dtype(dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out = fn(np.array([x], dtype=dt))
            return float(np.asarray(out, dtype=np.float64).ravel()[0])
        except Exception:  # scalar-only code
            try:
                return float(fn(dt.type(x)))
            except (OverflowError, ValueError):
                return math.nan


# ------------------------------------------------------------------ the defects
DEFECTS = [
    # (id, activation, params, which, spec, reference)
    ("sigmoid_grad_(1-s)s", "sigmoid", {}, "grad_impl", "defective.py:sigmoid_grad_one_minus", ref_sigmoid_grad),
    ("silu_exp_nan_at_-inf", "silu", {}, "impl", "defective.py:silu_exp", ref_silu),
    ("mish_exp_nan_at_-inf", "mish", {}, "impl", "defective.py:mish_exp", ref_mish),
    ("elu_exp_minus_1", "elu", {}, "impl", "defective.py:elu_exp_minus_one", ref_elu),
    ("softplus_overflow", "softplus", {}, "impl", "defective.py:softplus_naive", ref_softplus),
    ("keras_hard_sigmoid", "hard_sigmoid", {}, "impl", "defective.py:hard_sigmoid_keras", ref_hard_sigmoid),
    ("leaky_slope_0.2", "leaky_relu", {}, "impl", "defective.py:leaky_relu_02", ref_leaky("0.01")),
    ("relu_grad_1_at_0", "relu", {}, "grad_impl", "defective.py:relu_grad_one_at_zero", ref_relu_grad),
    ("sigmoid_math_overflow", "sigmoid", {}, "impl", "defective.py:sigmoid_math", ref_sigmoid),
]


#: relu'(0) = 1 is a valid derivative at the kink (the right one): a defect only under the
#: strict kink convention (issue 14)
STRICT = {"relu_grad_1_at_0"}


def _run(act_name, params, which, fn, dtypes=("float64", "float32"), **options):
    act = symact.get(act_name, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = difftest.run_tests(act, **{which: fn}, examples=EXAMPLES, seed=0, dtypes=dtypes, **options)
    assert not caught, [str(w.message) for w in caught]  # user warnings never escape
    return {r.name: r for r in results}


@pytest.mark.parametrize("case", DEFECTS, ids=[c[0] for c in DEFECTS])
def test_defect_is_caught_with_a_true_witness(case):
    key, name, params, which, spec, ref = case
    fn = impl(spec)
    results = _run(name, params, which, fn, **({"kink_convention": "strict"} if key in STRICT else {}))
    for dtype in ("float64", "float32"):
        entry = results[f"{which}[{dtype}]"]
        d = entry.details
        assert not entry.passed and d["failing"] >= 1
        assert {"x", "expected", "got", "ulp"} <= set(d["worst"]) and "message" in d
        for key in ("witness", "worst"):
            w = d[key]
            x = float(w["x"])
            true = truth(ref, name, x)
            got = call_at(fn, x, dtype)
            assert really_fails(got, true, dtype), (key, dtype, w, got, true)
            # the expected value symact reports is the truth rounded to the dtype
            exp = float(w["expected"])
            assert exp == pytest.approx(float(true), rel=2.0 ** -22 if dtype == "float32" else 2.0 ** -50,
                                        abs=1e-300), (key, w, true)


def _entry(name, which, spec, params=None, dtype="float64", **options):
    return _run(name, params or {}, which, impl(spec), **options)[f"{which}[{dtype}]"].details


def test_sigmoid_grad_one_minus_s_is_zero_where_the_truth_is_not():
    d = _entry("sigmoid", "grad_impl", "defective.py:sigmoid_grad_one_minus")
    w = d["worst"]
    # 1 - s is exactly 0 once 1 + e^-x rounds to 1, i.e. from x = 53 ln 2 = 36.74 on
    assert float(w["x"]) >= 53 * math.log(2) - 1e-9 and w["got"] == 0.0
    assert float(ref_sigmoid_grad(float(w["x"]))) > 0
    fn = impl("defective.py:sigmoid_grad_one_minus")
    assert call_at(fn, 36.7, "float64") > 0 and call_at(fn, 36.8, "float64") == 0.0
    assert float(truth(ref_sigmoid_grad, "sigmoid", 37.5)) == pytest.approx(5.175555005801869e-17, rel=1e-12)


@pytest.mark.parametrize("name,spec", [("silu", "defective.py:silu_exp"), ("mish", "defective.py:mish_exp")])
def test_nan_at_minus_inf_is_the_worst_point(name, spec):
    d = _entry(name, "impl", spec)
    assert d["worst"] == {"x": "-inf", "expected": 0.0, "got": "nan", "ulp": "inf"}
    assert math.isnan(call_at(impl(spec), -math.inf, "float64"))


def test_relu_grad_witness_is_zero_exactly():
    d = _entry("relu", "grad_impl", "defective.py:relu_grad_one_at_zero", kink_convention="strict")
    assert d["witness"]["x"] == 0.0 and d["witness"]["got"] == 1.0 and d["witness"]["expected"] == 0.0
    assert d["severity"] == "convention"
    # by default the right derivative at the kink passes, named as the convention it is
    d = _entry("relu", "grad_impl", "defective.py:relu_grad_one_at_zero")
    assert "severity" not in d and d["conventions"][0]["side"] == "right"


def test_keras_hard_sigmoid_shrinks_to_a_simple_witness():
    w = _entry("hard_sigmoid", "impl", "defective.py:hard_sigmoid_keras")["witness"]
    x = float(w["x"])
    assert x == round(x * 4) / 4 and -3 < x < 3  # a simple number inside the ramp (e.g. 1.0)
    assert w["got"] == pytest.approx(0.2 * x + 0.5) and w["expected"] == pytest.approx((x + 3) / 6)


def test_softplus_overflow_witness_is_past_log_max():
    w = _entry("softplus", "impl", "defective.py:softplus_naive")["worst"]
    assert w["got"] in ("inf", 0.0)


def test_scalar_only_math_exp_is_evaluated_elementwise_and_overflow_reported():
    d = _entry("sigmoid", "impl", "defective.py:sigmoid_math")
    assert d["note"].startswith("evaluated element by element: on arrays it raised TypeError")
    assert d["error"].startswith("OverflowError: math range error (at x = -")
    assert d["witness"]["got"] == "nan" and float(d["witness"]["x"]) < -709


CORRECT = [
    ("sigmoid", {}, "impl", "correct.py:sigmoid_naive"),
    ("sigmoid", {}, "impl", "correct.py:sigmoid_expit"),
    ("sigmoid", {}, "grad_impl", "correct.py:sigmoid_grad"),
    ("silu", {}, "impl", "correct.py:silu"),
    ("mish", {}, "impl", "correct.py:mish"),
    ("elu", {}, "impl", "correct.py:elu"),
    ("softplus", {}, "impl", "correct.py:softplus"),
    ("hard_sigmoid", {}, "impl", "correct.py:hard_sigmoid"),
    ("leaky_relu", {"negative_slope": "0.2"}, "impl", "correct.py:leaky_relu_02"),
    ("relu", {}, "grad_impl", "correct.py:relu_grad"),
    ("step", {}, "impl", "course.py:step_function"),
]


@pytest.mark.parametrize("case", CORRECT, ids=[c[3].split(":")[1] + "-" + c[0] for c in CORRECT])
def test_correct_implementation_passes(case):
    name, params, which, spec = case
    results = _run(name, params, which, impl(spec))
    for dtype in ("float64", "float32"):
        entry = results[f"{which}[{dtype}]"]
        assert entry.passed, entry.details
        assert entry.details["failing"] == 0 and entry.details["max_ulp"] <= MAX_ULP or \
            entry.details["worst"]["ulp"] != "inf"
    assert results["shape_dtype"].passed, results["shape_dtype"].details


def test_course_step_scalar_code_passes_element_by_element():
    results = _run("step", {}, "impl", impl("course.py:step_function"))
    assert "evaluated element by element" in results["impl[float64]"].details["note"]
    assert "truth value of an array" in results["impl[float64]"].details["note"]
    assert "scalars only" in results["shape_dtype"].details["note"]


def test_course_step_int_array_has_right_values_and_a_dtype_remark():
    # issue 14: exact integer values are a dtype remark, not a failure of the check
    results = _run("step", {}, "impl", impl("course.py:step_function_array"))
    assert results["impl[float64]"].passed and results["impl[float32]"].passed
    assert "returned int64" in results["impl[float64]"].details["remarks"][0]
    shape = results["shape_dtype"]
    assert shape.passed and "problems" not in shape.details
    assert ("impl: float64 (3, 4) input gave int64 (3, 4): int64 values, exact in float64 (a remark, not a failure)"
            in shape.details["remarks"])


def test_leaky_slope_02_passes_with_its_own_parameter_only():
    fn = impl("correct.py:leaky_relu_02")
    assert _run("leaky_relu", {"negative_slope": "0.2"}, "impl", fn)["impl[float64]"].passed
    assert not _run("leaky_relu", {}, "impl", fn)["impl[float64]"].passed


GARBAGE = [
    ("defective.py:raises", "error", "NotImplementedError: TODO: write the activation"),
    ("defective.py:returns_none", "message", "impl returned None, not an array of floats"),
    ("defective.py:returns_string", "message", "impl returned a string ('0.5'), not an array of floats"),
    ("defective.py:returns_complex", "message", "impl returned complex values (complex128)"),
    ("defective.py:wrong_shape", "message", "impl returned shape (1,) for input shape"),
]


@pytest.mark.parametrize("spec,key,text", GARBAGE, ids=[g[0].split(":")[1] for g in GARBAGE])
def test_raising_and_garbage_implementations_fail_clearly(spec, key, text):
    results = _run("sigmoid", {}, "impl", impl(spec), dtypes=("float64",))
    d = results["impl[float64]"].details
    assert not results["impl[float64]"].passed and d["failing"] == d["points"]
    assert d[key].startswith(text), d
    assert not results["shape_dtype"].passed


def test_float64_output_for_float32_input_is_a_dtype_failure():
    results = _run("sigmoid", {}, "impl", impl("defective.py:float64_for_float32"))
    assert results["impl[float32]"].passed  # values right after rounding
    assert "returned float64 for float32 input" in results["impl[float32]"].details["note"]
    assert results["shape_dtype"].details["problems"] == [
        "impl: float32 () input gave float64 (), expected float32 ()",
        "impl: float32 (3, 4) input gave float64 (3, 4), expected float32 (3, 4)"]
