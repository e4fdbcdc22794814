"""Notebook display: an Activation and a CheckReport as LaTeX and HTML (Jupyter's
``_repr_latex_`` / ``_repr_html_``)."""
from __future__ import annotations

import html
import re
from dataclasses import replace

import symact
from symact.model import catalog
from symact.reports import report


def test_activation_latex_is_the_entrys_formula():
    relu = catalog.get("relu")
    assert relu._repr_latex_() == r"$\displaystyle f(x) = \max(0, x)$"
    for name in catalog.names():
        act = catalog.get(name)
        tex = act._repr_latex_()
        assert tex.startswith(r"$\displaystyle ") and tex.endswith("$")
        assert act.latex in tex
        assert tex.count("$") == 2


def test_activation_latex_states_the_parameter_values():
    tex = catalog.get("leaky_relu", negative_slope="0.2")._repr_latex_()
    assert r"\mathrm{negative\_slope} = \frac{1}{5}" in tex


def test_activation_html_escapes_text():
    act = catalog.get("leaky_relu")
    hostile = replace(act, description="<script>alert('x')</script> & more", reference="a < b",
                      latex=r"f(x) = </p><img src=x onerror=alert(1)> $")
    out = hostile._repr_html_()
    assert "<script>" not in out and "<img" not in out
    assert html.escape("<script>alert('x')</script> & more") in out
    assert "a &lt; b" in out
    assert len(re.findall(r"(?<!\\)\$", hostile._repr_latex_())) == 2   # a '$' in the text cannot end the math
    good = act._repr_html_()
    assert "<strong>leaky_relu</strong>" in good and "negative_slope" in good and "1/100" in good


def test_report_displays_as_latex_and_html():
    rep = report.analyze(symact.get("relu"))
    assert rep._repr_latex_() == r"$\displaystyle f(x) = \max(0, x)$"
    out = rep._repr_html_()
    assert "refuted" in out and "additivity" in out and "witness" in out
    assert html.escape(rep.conclusion()) in out
    assert "ok: <strong>yes</strong>" in out


def test_report_html_escapes_test_names_and_facts():
    from symact.verify.results import TestResult

    rep = report.analyze(symact.get("sigmoid"))
    rep.tests = [TestResult("<b>hostile</b>", False, {"points": 3})]
    out = rep._repr_html_()
    assert "<b>hostile</b>" not in out and "&lt;b&gt;hostile&lt;/b&gt;" in out
    assert "FAIL" in out and "ok: <strong>NO</strong>" in out
