"""Formulas that are not real and finite on all of R (issue 13, item 7).

An activation maps every real x to a real value. ``sqrt(x)``, ``x^(1/3)``, ``log(x)``
and ``1/x`` used to end ``check --latex`` with an internal error (a TypeError deep in
the facts); now the formula is refused with exit 2 and an exact witness that
re-evaluates, and compared with a catalog NAME it is a failed test with that witness.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sympy as sp

from symact.numeric.oracle import NotRealError, Oracle
from symact.symbolic.forms import X
from symact.verify.formula import (DomainError, activation_from_formula, domain_witness, formula_test,
                                   read_formula)
from symact.model import catalog

NOT_REAL = {
    r"\sqrt{x}": ("-1", "not real"),
    r"x^{1/3}": ("-1", "not real"),
    r"\log(x)": ("0", "not finite"),
    r"1/x": ("0", "not finite"),
    r"\frac{\sin x}{x}": ("0", "undefined"),
    r"\tan(x)": ("pi/2", "not finite"),
    r"\operatorname{artanh}(x)": ("1", "not finite"),
    r"x^x": ("-1/2", "not real"),
    r"\frac{1}{x^2-2}": ("sqrt(2)", "not finite"),
    r"\frac{1}{x-1/3}": ("1/3", "not finite"),
    r"\log(\sin(x))": ("0", "not finite"),
    r"x^{-1/2}": ("0", "not finite"),
    r"\ln(x^2 - 1)": ("0", "not real"),
}

REAL = [
    r"\sqrt{x^2+1}", r"\ln(1+e^x)", r"\frac{x}{1+|x|}", r"|x|^{1/3}", r"\sqrt{|x|}", r"\frac{x^2}{1+x^2}",
    r"2^x", r"\frac{x+\sqrt{x^2+4}}{2}", r"\log(1+x^2)",
    r"\begin{cases} \sqrt{x} & x > 0 \\ 0 & \text{otherwise} \end{cases}",
    r"\begin{cases} \frac{\sin x}{x} & x \ne 0 \\ 1 & \text{otherwise} \end{cases}",
]


def _exact_value(latex, w):
    parsed = read_formula(latex=latex)
    body = parsed.expr.xreplace({parsed.variable: X})
    return sp.piecewise_fold(body.subs(X, sp.sympify(w)))


@pytest.mark.parametrize("latex", sorted(NOT_REAL))
def test_refused_with_an_exact_witness_that_re_evaluates(latex):
    w, kind = NOT_REAL[latex]
    with pytest.raises(DomainError) as exc:
        activation_from_formula(read_formula(latex=latex))
    msg = str(exc.value)
    assert f"{kind} at x = {w}" in msg and "symact checks functions" in msg, msg
    v = _exact_value(latex, w)
    if kind == "not real":
        assert sp.N(sp.im(v), 30) != 0 and v.is_extended_real is not True
    else:
        assert v.has(sp.zoo, sp.nan, sp.oo, -sp.oo)


@pytest.mark.parametrize("latex", REAL)
def test_real_formulas_pass_the_domain_check(latex):
    parsed = read_formula(latex=latex)
    assert domain_witness(parsed.expr.xreplace({parsed.variable: X}), X) is None
    activation_from_formula(parsed)


def test_the_same_through_plain_text():
    with pytest.raises(DomainError, match="not real at x = -1"):
        activation_from_formula(read_formula(expr="sqrt(x)"))
    with pytest.raises(DomainError, match="not finite at x = 0"):
        activation_from_formula(read_formula(expr="x/(x^2)"))


def test_a_parameter_is_bound_before_the_check():
    with pytest.raises(DomainError, match="not real at x = -1"):
        activation_from_formula(read_formula(latex=r"\sqrt{a x}"), params={"a": "1"})
    activation_from_formula(read_formula(latex=r"\sqrt{a x^2 + 1}"), params={"a": "2"})


def test_against_a_catalog_name_it_is_a_refuted_formula():
    res = formula_test(catalog.get("relu"), read_formula(latex=r"\sqrt{x}"))
    assert not res.passed and res.details["verdict"] == "refuted"
    assert res.details["witness"] == {"x": "-1"} and res.details["expected"] == "0"
    assert "not real at x = -1" in res.details["note"]
    res = formula_test(catalog.get("sigmoid"), read_formula(latex=r"\frac{1}{x}"))
    assert not res.passed and res.details["witness"] == {"x": "0"} and res.details["expected"] == "1/2"


def test_the_oracle_names_a_non_real_point():
    with pytest.raises(NotRealError, match="not real at x = -1"):
        Oracle(sp.sqrt(X), X)(-1.0)
    assert float(Oracle(sp.sqrt(X) ** 3, X)(4.0)) == 8.0


def _cli(*args, tmp_path):
    env = dict(os.environ, SYMACT_CACHE_DIR=str(tmp_path / "c"))
    return subprocess.run([sys.executable, "-m", "symact", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("latex", [r"\sqrt{x}", r"x^{1/3}", r"\log(x)", r"1/x"])
def test_cli_exit_2_with_the_witness(latex, tmp_path):
    r = _cli("check", "--jobs", "1", "--latex", latex, tmp_path=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    w, kind = NOT_REAL[latex]
    assert f"{kind} at x = {w}" in r.stderr


def test_cli_against_a_name_is_a_failed_test(tmp_path):
    r = _cli("check", "relu", "--jobs", "1", "--latex", r"\sqrt{x}", tmp_path=tmp_path)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert "FAIL formula" in r.stdout and "not real at x = -1" in r.stdout


@pytest.mark.parametrize("latex", [r"\operatorname{sgn}(x)", r"H(x)", r"x\operatorname{sgn}(x)", r"\arctan(x)",
                                   r"x^4-3x^2+1"])
def test_jumps_limits_and_overflow_are_no_internal_errors(latex, tmp_path):
    """sgn/H are cases rows (their derivative was a DiracDelta no kernel lowers);
    arctan's limit pi/2 reaches the oracle as a number; a polynomial's Horner form
    is inf where its expanded form is inf - inf."""
    r = _cli("check", "--jobs", "1", "--latex", latex, tmp_path=tmp_path)
    assert r.returncode == 0, (r.returncode, r.stderr[-500:], [ln for ln in r.stdout.splitlines() if "FAIL" in ln])


def test_nonlinear_conditions_are_a_clear_error(tmp_path):
    r = _cli("check", "--jobs", "1", "--latex", r"\operatorname{sgn}(x^2-1)", tmp_path=tmp_path)
    assert r.returncode == 2 and "linear in x" in r.stderr and "internal error" not in r.stderr
