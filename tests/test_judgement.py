"""How symact judges real implementations (issue 14): one accuracy policy, severity classes,
kink conventions, normwise vectors, containers, text reports, no internal error escaping.

Every implementation is written as textbooks and libraries write it (tests/impls/judge_*.py).
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import symact
from symact.cli.check import render_report
from symact.reports import report
from symact.verify import difftest, policy
from symact.verify.impl import load_impl
from symact.verify.testing import assert_implements

IMPLS = Path(__file__).parent / "impls"
EXAMPLES = 300


def impl(spec: str):
    file, _, fn = spec.partition(":")
    return load_impl(f"{IMPLS / file}:{fn}")


def run(name, which, spec, params=None, dtypes=("float64",), **options):
    act = symact.get(name, **(params or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # user warnings never escape
        results = difftest.run_tests(act, **{which: impl(spec)}, examples=EXAMPLES, seed=0, dtypes=dtypes,
                                     **options)
    return {r.name: r for r in results}


# ------------------------------------------------------------------ one policy
def test_one_policy_for_check_and_assert_implements():
    import inspect

    from symact.cli import check

    assert policy.MAX_ULP == 4.0
    assert policy.atol_for("float64") == np.finfo(np.float64).smallest_normal
    assert policy.atol_for("float32") == np.finfo(np.float32).smallest_normal
    sig = inspect.signature(difftest.run_tests).parameters
    assert sig["max_ulp"].default == policy.MAX_ULP and sig["atol"].default is None
    assert sig["kink_convention"].default == "between" and sig["vector_error"].default == "normwise"
    import argparse

    parser = check.add_parser(argparse.ArgumentParser().add_subparsers())
    args = parser.parse_args(["relu"])
    assert (args.max_ulp, args.atol, args.kink_convention, args.vector_error) == (4.0, None, "between", "normwise")
    # assert_implements applies the same rules: relu'(0) = 1 passes there too
    assert_implements("relu", impl("judge_kinks.py:relu_grad"), derivative=True, examples=100)


def test_bad_policy_options_are_user_errors():
    with pytest.raises(symact.SymactError, match="kink-convention"):
        difftest.run_tests(symact.get("relu"), examples=10, kink_convention="left")
    with pytest.raises(symact.SymactError, match="vector-error"):
        difftest.run_tests(symact.get("softmax"), examples=10, vector_error="rowwise")


# ------------------------------------------------------------------ severity rules
def test_classify_rules_each_pinned():
    x = np.array([1.0, 1.0, 1.0, 1.0, 100.0, 100.0, 100.0, 100.0, 1e-5, 8.0, 8.5])
    exp = np.array([0.7, 0.7, 0.7, 0.7, 1e-40, 1e-40, 5.0, 5.0, 1e-5, 2.0, 2.0])
    got = np.array([0.7 * (1 + 2**-11), 0.7 * (1 + 2**-14), np.nan, -0.7,  # ordinary x = 1
                    0.0, -1e-40, np.inf, 5.0 * (1 + 2**-20),              # x = 100: not ordinary
                    1e-5 * 3, 2.0 * (1 + 2**-11), 2.0 * (1 + 2**-11)])    # 2**-10 > |x|; |x| = 8; 8.5
    got_cls = list(policy.classify(x, got, exp))
    assert got_cls == ["wrong", "inaccurate", "wrong", "wrong",
                       "unstable", "unstable", "unstable", "inaccurate",
                       "unstable", "wrong", "inaccurate"]
    assert policy.most_severe(["convention", "inaccurate", "unstable"]) == "unstable"
    assert policy.most_severe(["convention", "wrong"]) == "wrong"
    assert policy.SEVERITIES == ("wrong", "unstable", "inaccurate", "convention")


# ------------------------------------------------------------------ kinks
@pytest.mark.parametrize("name,spec,value,frameworks", [
    ("relu", "judge_kinks.py:relu_grad", 1.0, None),
    ("leaky_relu", "judge_kinks.py:leaky_relu_grad", 1.0, "as in JAX"),
    ("selu", "judge_kinks.py:selu_grad", float(np.float64(1.0507009873554804934193349852946)), "as in TensorFlow"),
])
def test_right_derivative_at_the_kink_passes_named_and_fails_strict(name, spec, value, frameworks):
    res = run(name, "grad_impl", spec)
    t = res["grad_impl[float64]"]
    assert t.passed, t.details
    (conv,) = t.details["conventions"]
    assert conv["x"] == 0.0 and conv["value"] == value and conv["side"] == "right" and conv["accepted"]
    assert "the right derivative" in conv["text"]
    if frameworks:
        assert frameworks in conv["text"]
    assert "symact uses" in conv["text"]
    strict = run(name, "grad_impl", spec, kink_convention="strict")["grad_impl[float64]"]
    assert not strict.passed and strict.details["severity"] == "convention"
    assert strict.details["witness"]["x"] == 0.0 and strict.details["worst"]["x"] == 0.0
    assert strict.details["classes"] == {"convention": strict.details["classes"]["convention"]}


def test_value_outside_the_one_sided_derivatives_is_wrong():
    t = run("relu", "grad_impl", "judge_kinks.py:relu_grad_two")["grad_impl[float64]"]
    assert not t.passed and t.details["severity"] == "wrong" and t.details["worst"]["got"] == 2.0


def test_value_at_a_jump_is_a_convention_naming_the_param():
    t = run("step", "impl", "judge_values.py:step_half")["impl[float64]"]
    assert not t.passed and t.details["severity"] == "convention"
    (conv,) = t.details["conventions"]
    assert conv["param"] == "--param h0=0.5" and "matches --param h0=0.5" in conv["text"]
    assert run("step", "impl", "judge_values.py:step_half", params={"h0": "0.5"})["impl[float64]"].passed


def test_elu_gradient_witness_is_the_cancellation_not_the_kink():
    for mode in ("between", "strict"):
        t = run("elu", "grad_impl", "judge_kinks.py:elu_half_grad", params={"alpha": "0.5"},
                kink_convention=mode)["grad_impl[float64]"]
        d = t.details
        assert not t.passed and d["severity"] == "unstable", d
        for key in ("witness", "worst"):
            assert -746 < float(d[key]["x"]) < -36 and d[key]["got"] == 0.0, (mode, d[key])
        assert "inaccurate" in d["classes"]  # bounded loss next to the catastrophic one (near -33)
        assert ("convention" in d["classes"]) == (mode == "strict")
        assert d["conventions"][0]["x"] == 0.0 and d["conventions"][0]["side"] == "right"


# ------------------------------------------------------------------ severity of real defects
def test_naive_sigmoid_overflow_is_unstable():
    t = run("sigmoid", "impl", "judge_values.py:sigmoid_exp_ratio")["impl[float64]"]
    d = t.details
    assert d["severity"] == "unstable" and list(d["classes"]) == ["unstable"]
    assert float(d["witness"]["x"]) > 709 and d["witness"]["got"] == "nan"


def test_gelu_that_ignores_its_flag_is_wrong_and_named():
    d = run("gelu", "impl", "judge_values.py:gelu")["impl[float64]"].details
    assert d["severity"] == "wrong"
    assert 2 ** -10 <= abs(float(d["witness"]["x"])) <= 8 and d["witness"]["severity"] == "wrong"
    assert 2 ** -10 <= abs(float(d["worst"]["x"])) <= 8
    assert d["computes"]["name"] == "gelu_tanh"


# ------------------------------------------------------------------ vectors
def test_textbook_softmax_passes_normwise_and_fails_componentwise():
    res = run("softmax", "impl", "judge_vectors.py:softmax", dtypes=("float64", "float32"))
    for dt in ("float64", "float32"):
        d = res[f"impl[{dt}]"].details
        assert res[f"impl[{dt}]"].passed and d["vector_error"] == "normwise"
        assert d["normwise_max_ulp"] <= 4 and d["componentwise_max_ulp"] > 4  # 38 ULP in both dtypes
    comp = run("softmax", "impl", "judge_vectors.py:softmax", vector_error="componentwise")["impl[float64]"]
    d = comp.details
    assert not comp.passed and d["severity"] == "inaccurate"
    assert d["componentwise_max_ulp"] > 4 and d["normwise_max_ulp"] <= 4
    assert d["message"].startswith(f"{d['failing']} of {d['rows']} rows outside 4 ULP")
    assert d["failing"] <= d["rows"] < d["points"]
    # symact's own kernels stay componentwise
    assert res["kernel[float64]"].details["vector_error"] == "componentwise"


def test_textbook_log_softmax_passes_normwise():
    t = run("log_softmax", "impl", "judge_vectors.py:log_softmax")["impl[float64]"]
    assert t.passed and t.details["componentwise_max_ulp"] > 4


def test_softmax_without_the_maximum_is_unstable():
    d = run("softmax", "impl", "judge_vectors.py:softmax_naive")["impl[float64]"].details
    assert d["severity"] == "unstable" and "nan" in d["witness"]["got"]


def test_jacobian_of_the_wrong_shape_names_input_and_expected_shapes():
    d = run("softmax", "grad_impl", "judge_values.py:softmax_jacobian_flat")["grad_impl[float64]"].details
    assert d["severity"] == "wrong"
    msg = d["message"]
    assert "for input shape (" in msg and "(expected (" in msg, msg
    got, _, rest = msg.partition(" for input shape ")
    inp = rest.split(" (expected")[0]
    assert got.endswith(inp)  # the returned shape is the input's; the expected one has another axis


# ------------------------------------------------------------------ containers and values
def test_frompyfunc_object_array_values_are_judged():
    res = run("sigmoid", "impl", "judge_values.py:sigmoid_frompyfunc")
    t = res["impl[float64]"]
    assert t.passed and "object array" in t.details["remarks"][0]
    assert res["shape_dtype"].passed and "object array of numbers" in res["shape_dtype"].details["remarks"][0]


def test_row_shaped_result_values_pass_and_the_shape_is_a_problem():
    res = run("sigmoid", "impl", "judge_values.py:sigmoid_row")
    t = res["impl[float64]"]
    assert t.passed
    assert "returned shape (1, " in t.details["note"] and "values judged after reshaping" in t.details["note"]
    s = res["shape_dtype"]
    assert not s.passed and s.details["problems"] == ["impl: float64 () input gave float64 (1, 1), expected float64 ()"]


def test_list_result_is_accepted():
    assert run("sigmoid", "impl", "judge_values.py:sigmoid_list")["impl[float64]"].passed


def test_int64_step_passes_with_a_dtype_remark():
    res = run("step", "impl", "judge_values.py:step_int64", dtypes=("float64", "float32"))
    assert all(r.passed for r in res.values() if r.name.startswith(("impl", "shape"))), res
    assert "values exact in float64" in res["impl[float64]"].details["remarks"][0]
    assert any("int64 values, exact in float32" in r for r in res["shape_dtype"].details["remarks"])


def test_torch_tensor_that_requires_grad_is_converted():
    pytest.importorskip("torch")
    res = run("sigmoid", "impl", "judge_values.py:sigmoid_torch", dtypes=("float64", "float32"))
    assert res["impl[float64]"].passed and res["impl[float32]"].passed and res["shape_dtype"].passed


# ------------------------------------------------------------------ text reports
def _text(name, params=None, **opts):
    rep = report.check(name, params, examples=EXAMPLES, dtypes=("float64",), **opts)
    return rep, render_report(rep)


def test_text_report_says_what_the_json_says():
    rep, text = _text("relu", grad_impl=impl("judge_kinks.py:relu_grad"), kink_convention="strict")
    assert "FAIL grad_impl[float64] (convention):" in text
    assert "convention (not accepted): relu'(0) = 1: the right derivative" in text
    assert "witness x = 0.0: expected 0.0, got 1.0" in text
    rep, text = _text("sigmoid", impl=impl("judge_values.py:sigmoid_row"))
    assert "FAIL shape_dtype (wrong)" in text
    assert "problem: impl: float64 () input gave float64 (1, 1), expected float64 ()" in text
    assert "values judged after reshaping" in text
    rep, text = _text("step", impl=impl("judge_values.py:step_int64"))
    assert "remark: returned int64 for float64 input" in text and "ok: yes" in text
    rep, text = _text("softmax", impl=impl("judge_vectors.py:softmax"), vector_error="componentwise")
    line = next(ln for ln in text.splitlines() if "impl[float64]" in ln)
    assert line.startswith("    FAIL impl[float64] (inaccurate): ") and " rows (" in line and "failing" in line
    assert "normwise" in line and "componentwise" in line
    rep, text = _text("gelu", impl=impl("judge_values.py:gelu"))
    assert "FAIL impl[float64] (wrong)" in text and "computes: this computes gelu_tanh, not gelu" in text


def test_pass_line_notes_a_worst_point_that_passed_by_atol():
    rep, text = _text("sigmoid", impl=impl("judge_values.py:sigmoid_flush"))
    d = next(t for t in rep.tests if t.name == "impl[float64]").details
    assert d["worst"]["passed_by"] == "atol" and d["worst"]["ulp"] > 4
    assert "passed by the absolute tolerance" in text


# ------------------------------------------------------------------ nothing escapes
def test_hypothesis_errors_inside_the_search_never_escape(monkeypatch):
    import hypothesis
    from hypothesis.errors import Flaky

    def broken_find(*a, **k):
        raise Flaky("inconsistent")

    monkeypatch.setattr(hypothesis, "find", broken_find)
    t = run("relu", "grad_impl", "judge_kinks.py:relu_grad_two")["grad_impl[float64]"]
    assert not t.passed and t.details["witness"]["x"] == 0.0  # the best failing point found


def test_an_implementation_that_changes_its_answers_gives_a_result():
    calls = [0]

    def flaky(x):  # off by 1e-6 on every other call: Hypothesis would call this Flaky
        calls[0] += 1
        return 1 / (1 + np.exp(-np.abs(x) * np.sign(x))) * (1 + (calls[0] % 2) * 1e-6)

    with np.errstate(all="ignore"):
        res = difftest.run_tests(symact.get("sigmoid"), impl=flaky, examples=200, dtypes=("float64",))
    assert not res[2].passed and res[2].details["severity"] in policy.SEVERITIES
    assert "witness" in res[2].details


def test_scipy_softmax_default_axis_is_a_failure_not_a_crash(tmp_path):
    env = dict(os.environ, SYMACT_CACHE_DIR=str(tmp_path / "c"))
    p = subprocess.run([sys.executable, "-m", "symact", "check", "softmax", "--impl", "scipy.special:softmax",
                        "--examples", "200", "--dtype", "float64"], capture_output=True, text=True,
                       timeout=180, env=env)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr and "Flaky" not in p.stdout + p.stderr
    assert "FAIL impl[float64] (wrong)" in p.stdout
    assert "passes when evaluated alone" in p.stdout  # axis=None: each row depends on the others
