"""Certificates (proofs/), identities, derived constants, approximation errors, plot.

References are independent of the code under test: identities are re-checked
numerically with mpmath at random points, SELU's moments by scipy quadrature,
series matching by evaluating the residual near 0, approximation maxima on a
dense float64 grid and (hard_sigmoid) against the closed form log(2 + sqrt 3).
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, special

import symact
from symact.analysis import approximations, constants, identities
from symact.reports import certificate
from symact.model.catalog import SELU_ALPHA, SELU_SCALE
from symact.cli import capture
from symact.symbolic.exact import certified_sign
from symact.symbolic.forms import X as x

ROOT = Path(__file__).resolve().parents[1]
PROOFS = ROOT / "proofs"


# --------------------------------------------------------------------------- committed proofs/
@pytest.fixture(scope="module")
def certs():
    """Every certificate, built once for this module (the expensive part: ~1 min)."""
    return {name: certificate.build(name) for name in symact.names()}


def test_committed_certificates_are_current(certs):
    """The suite fails when proofs/ is stale: same check as `symact prove --all --check proofs`."""
    problems = []
    for name, cert in certs.items():
        path = PROOFS / f"{name}.md"
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        problems += [str(p) for p in certificate.compare(path.read_text(encoding="utf-8"), cert, str(path))]
    extra = {p.name for p in PROOFS.glob("*.md")} - {f"{n}.md" for n in certs} - {"README.md"}
    problems += [f"{e}: no catalog activation of that name" for e in sorted(extra)]
    assert not problems, "proofs/ is stale; run `symact prove --all`:\n" + "\n".join(problems)


def test_every_certificate_states_only_established_claims(certs):
    for name, cert in certs.items():
        data = cert.to_dict()
        for ident in data["identities"]:
            assert ident["verdict"] == "proved", (name, ident)
        assert all(a["status"] == "holds" for a in data["kernel_accuracy"]), (name, data["kernel_accuracy"])
        md = cert.markdown()
        assert md.endswith("\n") and "\r" not in md
        assert [t for t, _ in cert.sections][-1] == certificate.ACCURACY_TITLE


def test_json_contract(certs):
    data = certs["selu"].to_dict()
    assert {"identities", "constants", "approximations", "kernel_accuracy", "linearity", "derivative"} <= set(data)
    assert set(data["constants"]) == {"selu.alpha", "selu.scale"}
    hs = certs["hard_sigmoid"].to_dict()["approximations"][0]
    assert hs["of"] == "hard_sigmoid" and hs["against"] == "sigmoid" and len(hs["at"]) == 2
    for ident in data["identities"]:
        assert {"statement", "verdict", "method"} <= set(ident)


# --------------------------------------------------------------------------- identities
def _numeric_zero(lhs, rhs, variables, rng):
    """|lhs - rhs| tiny at random points, by mpmath at 40 digits (independent of prove_zero)."""
    for _ in range(5):
        env = {v: sp.Float(rng.uniform(-4, 4), 30) for v in variables}
        with mpmath.workdps(40):
            val = sp.N((lhs - rhs).subs(env), 40)
        if val.free_symbols:  # symbolic parameters (selu's alpha, scale; step's h0)
            val = sp.N(val.subs({s: sp.Rational(7, 5) for s in val.free_symbols}), 40)
        assert abs(val) < 1e-30, (lhs, rhs, env, val)


@pytest.mark.parametrize("ident", identities.IDENTITIES, ids=lambda i: i.key)
def test_identity_proved_and_numerically_true(ident):
    result = identities.prove(ident.key)
    assert result.verdict == identities.PROVED, result
    assert result.method.startswith("symact.symbolic.forms.prove_zero")
    rng = np.random.default_rng(7)
    for _, lhs, rhs, variables in ident.build().pairs:
        _numeric_zero(lhs, rhs, variables, rng)


def test_vector_identities_say_which_lengths():
    assert "n = 2, 3" in identities.prove("softmax_shift").method
    assert "n = 2, 3" in identities.prove("log_softmax_log").method


def test_false_identity_is_refuted_with_exact_witness():
    s = symact.get("sigmoid").expr
    wrong = identities.Identity("wrong", "sigmoid' = s (1 + s)", ("sigmoid",),
                                lambda: identities.Sides([("", symact.get("sigmoid").derivative, s * (1 + s), (x,))]))
    result = identities.evaluate(wrong)
    assert result.verdict == identities.REFUTED
    at = sp.Rational(Fraction(result.witness["x"]))
    diff = symact.get("sigmoid").derivative.subs(x, at) - (s * (1 + s)).subs(x, at)
    assert certified_sign(diff) in (-1, 1)
    assert abs(float(sp.N(diff))) > 1e-3


def test_unprovable_identity_is_undecided_not_proved():
    g = sp.Function("g")
    opaque = identities.Identity("opaque", "g(x) = g(-x)", (), lambda: identities.Sides([("", g(x), g(-x), (x,))]))
    assert identities.evaluate(opaque).verdict == identities.UNDECIDED


def test_identities_are_built_from_the_catalog(monkeypatch):
    """Change the catalog's sigmoid and the sigmoid identities stop being proved."""
    import symact.model.catalog as cat

    import dataclasses

    changed = dataclasses.replace(cat.get("sigmoid"), definition=1 / (1 + sp.exp(-2 * x)))
    monkeypatch.setitem(cat._CATALOG, "sigmoid", changed)
    ident = next(i for i in identities.IDENTITIES if i.key == "silu_sigmoid")
    assert identities.evaluate(ident).verdict == identities.REFUTED


# --------------------------------------------------------------------------- constants
def test_selu_constants_derived_agree_with_catalog():
    alpha, scale = constants.selu_constants()
    assert alpha.agreement == "agrees to all 32 digits given"
    assert scale.agreement == "agrees to all 32 digits given"
    assert len(alpha.value.replace(".", "")) >= 41
    a, s = float(SELU_ALPHA), float(SELU_SCALE)
    # independent: float64 quadrature of the moments with scipy
    f = lambda z: s * z if z >= 0 else s * a * math.expm1(z)  # noqa: E731
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    m1 = integrate.quad(lambda z: f(z) * pdf(z), -np.inf, 0)[0] + integrate.quad(lambda z: f(z) * pdf(z), 0, np.inf)[0]
    m2 = (integrate.quad(lambda z: f(z) ** 2 * pdf(z), -np.inf, 0)[0]
          + integrate.quad(lambda z: f(z) ** 2 * pdf(z), 0, np.inf)[0])
    assert abs(m1) < 1e-10 and abs(m2 - 1) < 1e-10
    # and the derived digits equal the published closed form sqrt(2/pi) / (1 - sqrt(e) erfc(1/sqrt 2))
    with mpmath.workdps(60):
        ref = mpmath.sqrt(2 / mpmath.pi) / (1 - mpmath.sqrt(mpmath.e) * mpmath.erfc(1 / mpmath.sqrt(2)))
        assert abs(mpmath.mpf(alpha.value) - ref) < mpmath.mpf(10) ** -48


def test_gelu_constants_series_matching():
    a, cubic, k = constants.gelu_constants()
    assert a.closed_form == "sqrt(2)/sqrt(pi)" and a.agreement.startswith("equal")
    assert cubic.closed_form == "(4 - pi)/(6*pi)"
    assert "fit" in cubic.agreement
    # independent: with the derived cubic the residual near 0 is O(x^5), with 0.044715 only O(x^3)
    c = float(mpmath.mpf(cubic.value))
    aa = math.sqrt(2 / math.pi)
    t = 1e-2
    resid = lambda cc: abs(0.5 * (1 + math.tanh(aa * (t + cc * t**3))) - special.ndtr(t))  # noqa: E731
    assert resid(c) < 1e-11 < resid(0.044715)
    assert abs(float(mpmath.mpf(k.value)) - 4 / math.sqrt(2 * math.pi)) < 1e-15


# --------------------------------------------------------------------------- approximations
def test_gelu_tanh_error_against_dense_grid():
    r = approximations.locate("gelu_tanh_vs_gelu")
    xs = np.linspace(-8, 8, 400001)
    err = np.abs(0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs**3)))
                 - 0.5 * xs * (1 + special.erf(xs / math.sqrt(2))))
    assert abs(err.max() - float(r.max_abs_error)) < 1e-12
    assert abs(abs(xs[err.argmax()]) - abs(float(r.at[-1]))) < 1e-3
    assert len(r.max_abs_error.replace(".", "").replace("e-4", "").lstrip("0")) >= 8


def test_hard_sigmoid_error_closed_form():
    r = approximations.locate("hard_sigmoid_vs_sigmoid")
    where = math.log(2 + math.sqrt(3))  # sigmoid'(x) = 1/6
    value = abs(where / 6 + 0.5 - (3 + math.sqrt(3)) / 6)
    assert r.domain == "[-3, 3]"
    assert abs(float(r.max_abs_error) - value) < 1e-12
    assert sorted(abs(float(v)) for v in r.at) == pytest.approx([where, where], abs=1e-13)


def test_sigmoid_1702_extra():
    r = approximations.locate("sigmoid_1702_vs_gelu")
    xs = np.linspace(-10, 10, 200001)
    err = np.abs(xs * special.expit(1.702 * xs) - 0.5 * xs * (1 + special.erf(xs / math.sqrt(2))))
    assert abs(err.max() - float(r.max_abs_error)) < 1e-10


# --------------------------------------------------------------------------- certificates
def test_deterministic_across_hash_seeds(tmp_path):
    """Same bytes in a fresh interpreter with another PYTHONHASHSEED (set/dict order)."""
    outs = []
    for seed in ("1", "2"):
        d = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "symact", "prove", "sigmoid", "--out", str(d)],
                       check=True, env=env, capture_output=True, cwd=ROOT)
        outs.append((d / "sigmoid.md").read_bytes())
    assert outs[0] == outs[1]


def test_compare_names_file_and_claim():
    cert = certificate.build("relu")
    text = cert.markdown()
    assert certificate.compare(text, cert, "p/relu.md") == []
    weaker = text.replace("- **proved**: relu(x) = (x + |x|) / 2", "- **undecided**: relu(x) = (x + |x|) / 2")
    (p,) = certificate.compare(weaker, cert, "p/relu.md")
    assert p.file == "p/relu.md" and "Identities" in p.claim
    edited = text.replace("- Role: hidden", "- Role: output")
    (p,) = certificate.compare(edited, cert, "p/relu.md")
    assert "Definition" in p.claim and "Role: output" in p.message
    # a measured claim is checked as a bound, not as bytes
    looser = text.replace("| f | float64 | 300 | max <= 1 ULP, mean <= 1/8 ULP |",
                          "| f | float64 | 300 | max <= 4 ULP, mean <= 1 ULP |")
    assert looser != text and certificate.compare(looser, cert, "p/relu.md") == []


def test_compare_accuracy_bound_violated():
    cert = certificate.Certificate("demo", sections=[(certificate.ACCURACY_TITLE, [
        "| kernel | dtype | values | claim | status |", "|---|---|---|---|---|",
        "| f | float64 | 300 | max <= 2 ULP, mean <= 1/4 ULP | holds |"])])
    cert.accuracy = [certificate.Accuracy("f", "float64", 300, 3.0, 0.1)]
    committed = cert.markdown()
    (p,) = certificate.compare(committed, cert, "demo.md")
    assert "no longer holds" in p.message and "max <= 2 ULP" in p.claim
    cert.accuracy = [certificate.Accuracy("f", "float64", 300, 2.0, 0.1)]
    assert certificate.compare(committed, cert, "demo.md") == []


def test_accuracy_bounds_have_headroom():
    assert certificate.Accuracy("f", "float64", 300, 0.0, 0.0).claim() == "max <= 1 ULP, mean <= 1/8 ULP"
    assert certificate.Accuracy("f", "float64", 300, 1.0, 0.2).claim() == "max <= 2 ULP, mean <= 1/2 ULP"
    assert certificate.Accuracy("f", "float64", 300, 4.0, 0.2).max_bound == 8
    assert certificate.Accuracy("f", "float64", 300, 5000.0, 1.0).status().startswith("fails")
    assert certificate.Accuracy("f", "float64", 300, math.inf, math.inf).status().startswith("fails")


def test_point_sets_fixed_and_complete():
    act = symact.get("hard_swish")
    for dtype in certificate.DTYPES:
        a, b = certificate.scalar_points(act, dtype), certificate.scalar_points(act, dtype)
        assert a.dtype == dtype and a.size == certificate.POINTS and np.array_equal(a, b, equal_nan=True)
        assert {-3.0, 3.0, 0.0} <= set(a.tolist()) and np.isinf(a).sum() == 2
        assert len({v.tobytes() for v in a}) == a.size


# --------------------------------------------------------------------------- CLI
def test_cli_prove_write_and_check(tmp_path):
    code, out, err = capture(["prove", "relu", "--out", str(tmp_path)])
    assert code == 0 and err == "" and "relu.md" in out
    assert (tmp_path / "relu.md").read_text() == certificate.build("relu").markdown()
    code, out, _ = capture(["prove", "relu", "--check", str(tmp_path)])
    assert code == 0 and "all current" in out
    path = tmp_path / "relu.md"
    path.write_text(path.read_text().replace("| **refuted** |", "| **proved** |", 1))
    code, out, _ = capture(["prove", "relu", "--check", str(tmp_path)])
    assert code == 1 and "relu.md" in out and "Linearity and symmetry" in out
    path.unlink()
    code, out, _ = capture(["prove", "relu", "--check", str(tmp_path)])
    assert code == 1 and "missing" in out


def test_cli_prove_json(tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    code, out, _ = capture(["prove", "hard_sigmoid", "--json"])
    data = json.loads(out)
    assert code == 0 and data["name"] == "hard_sigmoid"
    assert data["approximations"][0]["max_abs_error"].startswith("0.0691821517")
    assert any(i["statement"].startswith("hard_sigmoid(x) = relu6") and i["verdict"] == "proved"
               for i in data["identities"])
    assert not (tmp_path / "proofs").exists()  # --json alone writes nothing
    code, out, _ = capture(["prove", "relu", "--json", "--out", str(tmp_path / "d")])
    assert code == 0 and (tmp_path / "d" / "relu.md").is_file() and json.loads(out)["name"] == "relu"


@pytest.mark.parametrize("argv", [["prove"], ["prove", "relu", "--all"], ["prove", "nope"],
                                  ["prove", "relu", "--check", "/no/such/dir"],
                                  ["prove", "relu", "--check", ".", "--out", "x"]])
def test_cli_prove_usage_errors(argv):
    code, out, err = capture(argv)
    assert code == 2 and err.startswith("symact: error:") and "Traceback" not in err


# --------------------------------------------------------------------------- plot
def test_plot_without_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    target = tmp_path / "relu.png"
    code, out, err = capture(["plot", "relu", "-o", str(target)])
    assert code == 2 and "pip install 'symact[plot]'" in err and not target.exists()
    assert err.count("\n") == 1


def test_plot_writes_figures(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (symact[plot]) is not installed")
    for name, suffix in (("hard_swish", ".png"), ("softmax", ".png"), ("relu6", ".svg")):
        target = tmp_path / f"{name}{suffix}"
        code, out, err = capture(["plot", name, "-o", str(target)])
        assert code == 0 and err == "" and target.stat().st_size > 1000
    svg = tmp_path / "relu6.svg"
    first = svg.read_bytes()
    capture(["plot", "relu6", "-o", str(svg)])
    assert svg.read_bytes() == first  # deterministic SVG
    code, _, err = capture(["plot", "leaky_relu", "--param", "negative_slope=0.2", "-o", str(tmp_path / "l.txt")])
    assert code == 2 and ".png" in err


def test_plot_curves_follow_the_kernels():
    from symact.reports import plot

    act = symact.get("relu6")
    assert plot.x_range(act) == (-6.0, 8.0)
    xs, ys, ds = plot.curves(act, n=281)
    assert np.array_equal(ys, np.clip(xs, 0, 6))
    assert np.array_equal(ds[(xs > 0) & (xs < 6)], np.ones(((xs > 0) & (xs < 6)).sum()))
