"""symact.verify.recognize.what_it_computes: naming what a wrong implementation computes.

The implementations are in tests/impls/recognize_mixups.py, written as textbooks and
libraries write them; each is evaluated in this process at check's own test points
(symact.verify.difftest.scalar_points) and its values handed to the recognizer, as
difftest does for a failed test.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from symact.model import catalog
from symact.verify import recognize
from symact.verify.difftest import scalar_points, vector_rows
from symact.verify.recognize import what_it_computes

import importlib.util

_SPEC = importlib.util.spec_from_file_location(
    "recognize_mixups", Path(__file__).parent / "impls" / "recognize_mixups.py")
mixups = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(mixups)

EXAMPLES = 800

# the implementations overflow in the tails, as such code does
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _points(act, dtype="float64"):
    return scalar_points(act, dtype, EXAMPLES, 0)


def recognize_fn(name, fn, *, derivative=False, dtype="float64", **params):
    act = catalog.get(name, **params)
    pts = _points(act, dtype)
    with np.errstate(all="ignore"):
        vals = np.asarray(fn(pts), dtype=np.float64)
    return what_it_computes(act, pts, vals, derivative=derivative, dtype=dtype)


def _assert_close(found):
    assert found is not None
    assert 0 <= found["max_ulp"] <= recognize.ULP_BOUND
    assert found["points"] > 100
    assert set(found) >= {"name", "params", "derivative", "max_ulp", "text"}


# --------------------------------------------------------------------------- named
def test_gelu_tanh_tested_as_gelu():
    found = recognize_fn("gelu", mixups.gelu_bert)
    _assert_close(found)
    assert (found["name"], found["params"], found["derivative"]) == ("gelu_tanh", {}, False)
    assert found["text"].startswith("this computes gelu_tanh, not gelu (within ")
    assert "ULP" in found["text"]


def test_gelu_tanh_in_float32():
    act = catalog.get("gelu")
    pts = _points(act, "float32")
    vals = mixups.gelu_bert(pts.astype(np.float32)).astype(np.float32)
    found = what_it_computes(act, pts, vals, dtype="float32")
    _assert_close(found)
    assert found["name"] == "gelu_tanh"


def test_keras2_hard_sigmoid_is_hard_sigmoid_with_slope_one_fifth():
    found = recognize_fn("hard_sigmoid", mixups.hard_sigmoid_keras2)
    _assert_close(found)
    assert found["name"] == "hard_sigmoid" and not found["derivative"]
    assert found["params"] == {"slope": "1/5", "offset": "1/2"}
    assert found["text"].startswith("this is hard_sigmoid with slope = 1/5 and offset = 1/2, as in Keras 2")
    assert "not slope = 1/6" in found["text"]


def test_hardcoded_leaky_slope_is_named():
    found = recognize_fn("leaky_relu", mixups.leaky_relu_fixed)  # tested at the default 1/100
    _assert_close(found)
    assert (found["name"], found["params"]) == ("leaky_relu", {"negative_slope": "1/5"})
    assert "negative_slope = 1/5" in found["text"] and "not negative_slope = 1/100" in found["text"]
    assert found["max_ulp"] <= 1


def test_hardcoded_leaky_slope_in_the_derivative():
    found = recognize_fn("leaky_relu", mixups.leaky_relu_grad_fixed, derivative=True)
    _assert_close(found)
    assert (found["name"], found["params"], found["derivative"]) == ("leaky_relu", {"negative_slope": "1/5"}, True)
    assert found["text"].startswith("this is the derivative of leaky_relu with negative_slope = 1/5")


def test_elu_alpha_is_fitted():
    found = recognize_fn("elu", mixups.elu_half)
    _assert_close(found)
    assert (found["name"], found["params"]) == ("elu", {"alpha": "1/2"})


def test_step_value_at_zero_is_fitted():
    found = recognize_fn("step", lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5)))
    assert found is not None and found["params"] == {"h0": "1/2"}
    assert found["text"] == "this is step with h0 = 1/2, not h0 = 0 (exactly)"


def test_grad_impl_returning_f_is_f_itself():
    found = recognize_fn("sigmoid", mixups.sigmoid_backward_forgets, derivative=True)
    _assert_close(found)
    assert (found["name"], found["derivative"]) == ("sigmoid", False)
    assert found["text"].startswith("this is sigmoid itself, not its derivative (within ")


def test_relu_grad_returning_relu():
    found = recognize_fn("relu", mixups.relu_grad_returns_relu, derivative=True)
    assert found is not None and (found["name"], found["derivative"]) == ("relu", False)
    assert found["text"] == "this is relu itself, not its derivative (exactly)"


@pytest.mark.parametrize("name, fn", [("relu", mixups.relu_forward_is_grad),
                                      ("tanh", mixups.tanh_forward_is_grad)])
def test_forward_computing_the_derivative(name, fn):
    found = recognize_fn(name, fn)
    assert found is not None and (found["name"], found["derivative"]) == (name, True)
    assert found["text"].startswith(f"this is the derivative of {name}, not {name} itself")


def test_vector_mixups():
    rows = vector_rows("float64", 200, 0)[5]
    shifted = rows - rows.max(axis=1, keepdims=True)
    log_sm = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    found = what_it_computes(catalog.get("softmax"), rows, log_sm)
    assert found is not None and found["name"] == "log_softmax" and found["rows"] >= 4
    assert found["text"].startswith("this computes log_softmax, not softmax")
    found = what_it_computes(catalog.get("softmax"), rows, 1 / (1 + np.exp(-rows)))
    assert found is not None and found["text"].startswith("this computes sigmoid entry by entry, not softmax")
    assert what_it_computes(catalog.get("softmax"), rows, np.exp(log_sm)) is None  # softmax itself


# --------------------------------------------------------------------------- never a guess
def test_derivative_in_terms_of_the_output_applied_to_x():
    found = recognize_fn("sigmoid", mixups.sigmoid_grad_of_output, derivative=True)
    _assert_close(found)
    assert (found["name"], found["derivative"], found["output_form"]) == ("sigmoid", True, "f*(1 - f)")
    assert found["text"].startswith("this is sigmoid's derivative in terms of its output, f'(x) = f*(1 - f)")
    assert "it expects sigmoid(x), not x" in found["text"]


def test_unrelated_code_is_not_named():
    assert recognize_fn("sigmoid", mixups.cubic) is None
    assert recognize_fn("sigmoid", mixups.cubic, derivative=True) is None
    assert recognize_fn("tanh", lambda x: 1 - x**3, derivative=True) is None


def test_one_disagreeing_point_names_nothing():
    # tanh-GELU everywhere but at x = 1, where it is off by 1e-9 (4.5 million ULP)
    act = catalog.get("gelu")
    pts = _points(act)
    assert (pts == 1.0).any()
    assert recognize_fn("gelu", mixups.gelu_bert_but_one) is None


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([1e-12, 1e-9, 1e-6, 1e-3, 1.0, 1e3]))
def test_any_one_corrupted_ordinary_point_names_nothing(seed, rel):
    act = catalog.get("gelu")
    pts = _points(act)
    vals = mixups.gelu_bert(pts)
    ordinary = np.flatnonzero(np.isfinite(pts) & (np.abs(pts) >= 0.25) & (np.abs(pts) <= recognize.ORDINARY))
    i = ordinary[seed % ordinary.size]
    vals = vals.copy()
    vals[i] += rel * (1 + abs(pts[i]))
    assert what_it_computes(act, pts, vals) is None


def test_code_right_at_ordinary_points_is_not_wrong():
    # the target itself (its failure, if any, lies in the tails or at kinks): nothing to name
    from scipy.special import erf
    assert recognize_fn("gelu", lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2)))) is None
    # relu'(0) = 1: a convention at the kink, not another function
    assert recognize_fn("relu", lambda x: (x >= 0).astype(float), derivative=True) is None


def test_nan_only_for_nan():
    act = catalog.get("gelu")
    pts = _points(act)
    vals = mixups.gelu_bert(pts)
    vals[np.flatnonzero(np.abs(pts) < 5)[0]] = np.nan
    assert what_it_computes(act, pts, vals) is None


def test_too_little_evidence_or_bad_input_names_nothing():
    act = catalog.get("gelu")
    few = np.array([1e-300, 2e-300, 1e10, -1e10, 0.5])
    assert what_it_computes(act, few, mixups.gelu_bert(few)) is None
    pts = _points(act)
    assert what_it_computes(act, pts, mixups.gelu_bert(pts)[:-1]) is None  # shape mismatch
    assert what_it_computes(act, pts, mixups.gelu_bert(pts), dtype="int64") is None
    found = what_it_computes(act, pts, mixups.gelu_bert(pts), derivative=True)
    assert found["text"].startswith("this computes gelu_tanh, not the derivative of gelu")


# --------------------------------------------------------------------------- cost
def test_bounded_time():
    act = catalog.get("sigmoid")
    pts = _points(act)
    with np.errstate(all="ignore"):
        unrelated = mixups.cubic(pts)
        forgets = mixups.sigmoid_backward_forgets(pts)
    what_it_computes(act, pts, unrelated)  # compile the fitting forms once
    t = time.process_time()   # CPU time: a loaded machine does not make the work larger
    assert what_it_computes(act, pts, unrelated) is None  # the longest path: every fit tried
    assert what_it_computes(act, pts, forgets, derivative=True) is not None
    assert time.process_time() - t < 15.0   # a backstop against unbounded work, not a benchmark


def test_a_user_formula_under_test():
    # --expr/--latex activations: evaluated through their kernel only, never compiled here
    from symact.verify.formula import activation_from_formula, read_formula
    act = activation_from_formula(read_formula(expr="f(x) = x/2*(1 + erf(x/sqrt(2)))"), name="my_gelu")
    pts = _points(act)
    found = what_it_computes(act, pts, mixups.gelu_bert(pts))
    assert found is not None and found["text"].startswith("this computes gelu_tanh, not my_gelu")
    found = what_it_computes(act, pts, mixups.sigmoid_backward_forgets(pts), derivative=True)
    # softplus_beta at its default beta = 1 is softplus: its derivative is the same function too
    assert found is not None and (found["name"], found["derivative"]) == ("softplus", True)
    assert "sigmoid" in found["also"] and set(found["also"]) <= {"sigmoid", "the derivative of softplus_beta"}
    assert found["text"].startswith("this computes the derivative of softplus, not the derivative of my_gelu; "
                                    "the same function as ")
    assert "sigmoid (within " in found["text"]


def test_a_wrong_vector_implementation_is_named_by_check():
    """run_tests names what a wrong softmax computes (sigmoid entry by entry), on rows of its own."""
    from symact.verify import difftest

    def softmax_as_sigmoid(x):
        return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))

    with np.errstate(all="ignore"):
        res = difftest.run_tests(catalog.get("softmax"), impl=softmax_as_sigmoid, examples=100,
                                 dtypes=("float64",))
    impl = next(r for r in res if r.name == "impl[float64]")
    assert not impl.passed and impl.details["severity"] == "wrong"
    assert impl.details["computes"]["name"] == "sigmoid"
    assert "entry by entry" in impl.details["computes"]["text"]
