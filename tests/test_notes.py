"""`symact notes`: reviewing notes whose formulas and code may disagree.

The notes under tests/notes/ are written in the course's style. The expected
verdicts are what a careful reader finds, derived by hand: e.g. the course's
step code `np.array(x > 0, dtype=int)` gives 0 at x = 0 where its formula says 1.
The reviews here pass trust=True: they test the review, and run confined wherever
the platform allows (tests/test_notes_hostile.py tests the confinement itself).

Since issue 14 a note's code is judged by the accuracy policy of `check --impl`
(symact/verify/policy.py: 4 ULP or atol = float64's smallest normal, kinks, normwise
vectors) and every finding carries its severity class. Changed expectations: the
course's naive sigmoid is `consistent` (its only large error, 0 for 4.5e-309 at
x = -710, is below atol = 2.2e-308; it was `inaccurate` under the old 64-ULP rule
with no atol), and so is the Korean note's; the step's mismatch at x = 0 is a
`convention` naming h0 on each side.
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import symact
from symact.notes import review as notes, sandbox
from symact.cli import notes as notes_cli
from symact.errors import SymactError
from symact.verify import difftest, policy

HERE = Path(__file__).parent / "notes"


@pytest.fixture(scope="module")
def course():
    return notes.review(HERE / "course.md", trust=True)


@pytest.fixture(scope="module")
def cases():
    return notes.review(HERE / "review_cases.md", timeout=3, trust=True)


def by_section(review):
    out = {}
    for f in review.findings:
        out.setdefault(f.section, []).append(f)
    return out


def test_course_note_gets_the_careful_readers_review(course):
    secs = by_section(course)
    summary = {s: [(f.code, f.activation, f.verdict, f.severity) for f in fs] for s, fs in secs.items()}
    assert summary == {
        "Step function": [("step_function", "step", "mismatch", "convention")],
        "Sigmoid function": [("sigmoid", "sigmoid", "consistent", None)],
        "ReLU (hidden layers)": [("relu", "relu", "consistent", None)],
        "Identity function": [("identity_function", "identity", "consistent", None)],
        "Softmax function": [("softmax", "softmax", "inaccurate", "unstable")],
        "Softmax without overflow": [("softmax", "softmax", "consistent", None)],
    }
    step = secs["Step function"][0]
    assert step.witness == {"x": "0"}
    assert "code gives 0" in step.message and "formula gives 1" in step.message
    # a value at the jump: which h0 each side follows, and the --param that gives the code's
    assert "the code follows h0 = 0 (symact check step --param h0=0), the formula h0 = 1" in step.message
    naive = secs["Softmax function"][0]
    assert naive.witness == {"x": ["1010", "1000", "990"]} and "nan" in naive.message
    # the policy's atol (2.2e-308): 0 for 4.5e-309 at x = -710 passes, and the review says so
    sig = secs["Sigmoid function"][0]
    assert sig.witness is None and "only within the absolute tolerance 2.22507e-308, e.g. x = -710" in sig.message
    assert "4.47628622567513e-309" in sig.message and "overflow encountered in exp" in sig.message
    assert course.policy == {"max_ulp": 4.0, "atol": 2.2250738585072014e-308, "kink_convention": "between",
                             "vector_error": "normwise"}
    assert not course.ok
    assert course.execution["mode"] in ("confined", "unconfined") and course.executed


def test_review_cases(cases):
    secs = by_section(cases)
    verdicts = {s: [(f.formula is not None, f.code, f.verdict) for f in fs] for s, fs in secs.items()}
    assert verdicts["Stable sigmoid"][0] == (True, "sigmoid", "consistent")
    derivative = [f for f in secs["Stable sigmoid"] if f.formula and "'" in f.formula and f.code is None]
    assert derivative[0].verdict == "consistent"
    # (1 - s) * s cancels for large x: sigmoid_grad(40) is 0, the exact value 4.2e-18
    grad = [f for f in secs["Stable sigmoid"] if f.code == "sigmoid_grad"]
    assert [(f.verdict, f.severity, f.witness) for f in grad] == [("inaccurate", "unstable", {"x": "40"})]
    slip = secs["Sign slip"][0]
    assert (slip.verdict, slip.severity, slip.activation, slip.witness) == ("mismatch", "wrong", "sigmoid", {"x": "1"})
    wrong_d = [f for f in secs["Wrong derivative"] if "'" in f.formula][0]
    assert (wrong_d.verdict, wrong_d.severity, wrong_d.witness) == ("mismatch", "wrong", {"x": "1"})
    assert [f.verdict for f in secs["Wrong derivative"] if "'" not in f.formula] == ["consistent"]
    assert [(f.verdict, f.severity) for f in secs["Not an activation"]] == [("unrecognized", None)]
    assert [(f.verdict, f.severity) for f in secs["Broken formula"]] == [("error", None)]  # nothing judged
    soft = secs["Naive softplus"][0]
    assert (soft.verdict, soft.severity, soft.witness) == ("inaccurate", "unstable", {"x": "710"})
    assert "gives inf" in soft.message
    loop = secs["Endless loop"][0]
    assert (loop.verdict, loop.severity) == ("error", "wrong") and "did not finish" in loop.message
    assert [(f.activation, f.verdict) for f in secs["ReLU by cases"]] == [("relu", "consistent")]


def test_korean_note_keeps_titles():
    review = notes.review(HERE / "korean.md", trust=True)
    secs = by_section(review)
    assert list(secs) == ["시그모이드 함수", "계단 함수", "ReLU 함수"]
    assert [f.verdict for f in secs["계단 함수"]] == ["consistent"]  # x >= 0 matches the formula
    assert [f.verdict for f in secs["ReLU 함수"]] == ["consistent"]
    assert [f.verdict for f in secs["시그모이드 함수"]] == ["consistent"]  # 0 below x = -709.78: within atol


def test_no_exec_checks_formulas_only(tmp_path):
    marker = tmp_path / "ran"
    note = tmp_path / "n.md"
    note.write_text(f"# S\n$$ f(x) = \\max(0, x) $$\n```python\nopen({str(marker)!r}, 'w').write('x')\n"
                    "def relu(x):\n    return x\n```\n", encoding="utf-8")
    review = notes.review(note, execute=False)
    # --no-exec claims nothing about the code: not "passes", not "matches", "not run"
    assert [(f.activation, f.verdict, f.code) for f in review.findings] == [("relu", "consistent", None),
                                                                           (None, "not run", "relu")]
    assert review.findings[1].message == "not run (--no-exec)" and review.findings[1].severity is None
    assert review.summary["text"] == "1 of 1 formula read, 1 checked; 1 function not run (--no-exec)"
    assert review.execution == {"mode": "not run", "detail": "--no-exec"} and not review.executed
    assert not marker.exists()
    ran = notes.review(note, trust=True)  # the code runs, in a child; confined, it writes nowhere else
    assert marker.exists() == (ran.execution["mode"] == "unconfined")


def run_cli(*argv):
    parser = argparse.ArgumentParser()
    notes_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["notes", *argv])
    out = io.StringIO()
    return notes_cli.run(args, out), out.getvalue()


def test_cli_json_and_text(tmp_path):
    note = tmp_path / "ok.md"
    note.write_text("# ReLU\n```math\nf(x) = \\max(0, x)\n```\n```python\ndef relu(x):\n"
                    "    print('hi')\n    return np.maximum(x, 0)\n```\n", encoding="utf-8")
    code, out = run_cli(str(note), "--json", "--trust")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["findings"][0]["verdict"] == "consistent"
    assert data["execution"]["mode"] in ("confined", "unconfined")
    assert data["execution"]["detail"].startswith("code ran ")
    assert set(data["findings"][0]) == {"section", "line", "formula", "code", "activation", "verdict",
                                        "witness", "message", "severity"}
    assert data["findings"][0]["severity"] is None and data["policy"]["max_ulp"] == 4.0
    code, out = run_cli(str(HERE / "course.md"), "--trust")
    assert code == 1
    assert "## Step function" in out and "at x = 0 the code gives 0, the formula gives 1" in out
    assert out.splitlines()[1].startswith("  code ran ")
    assert out.splitlines()[2] == ("  judged as check --impl judges: within 4 ULP or 2.22507e-308 (atol); "
                                   "kinks: between; vectors: normwise")
    # the class comes first, right after the mark, as in check's "FAIL impl[float64] (wrong):"
    assert "  line 14: MISMATCH (convention): formula $$h(x)" in out
    assert "  line 65: INACCURATE (unstable): formula $$y_k" in out
    assert "  line 25: ok: formula" in out


def test_unreadable_note_is_exit_2(tmp_path):
    with pytest.raises(SymactError):
        notes.review(tmp_path / "missing.md")
    bad = tmp_path / "latin1.md"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    proc = subprocess.run([sys.executable, "-m", "symact", "notes", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "cannot read" in proc.stderr


def test_sandbox_survives_exits_and_memory_bombs():
    with sandbox.NoteRunner(trust=True, step=5, budget=20) as runner:
        runner.start()
        exited = runner.run_block("import sys\nsys.exit(0)\ndef f(x):\n    return x", ["f"], [1.0], [])
        assert "SystemExit" in exited.error and not exited.fatal and exited.calls["f"].scalar is None
        bomb = runner.run_block("x = [0] * (10**10)", [], [0.0], [])
        assert bomb.error and "MemoryError" in bomb.error
        fine = runner.run_block("def f(x):\n    return x * 2", ["f"], [1.5, -2.0], [[1.0, 2.0]])
        assert fine.calls["f"].scalar == [3.0, -4.0] and fine.calls["f"].vectors == [[2.0, 4.0]]
        crashed = runner.run_block("import os\nos._exit(3)", [], [0.0], [])
        assert crashed.fatal == "the code crashed: exit status 3"
        after = runner.run_block("def g(x):\n    return x", ["g"], [0.0], [])
        assert after.fatal.startswith("not run: the code was stopped earlier (the code crashed")


# ------------------------------------------------------------------ one policy with check --impl (issue 14)
def _parity_module():
    spec = importlib.util.spec_from_file_location("notes_parity_code", HERE / "parity_code.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SIGMOID = r"$$ f(x) = \frac{1}{1 + e^{-x}} $$"
SOFTMAX = "```math\ny_k = \\frac{\\exp(a_k)}{\\sum_{i=1}^{n} \\exp(a_i)}\n```"
#: function -> (formula in the note, what check --impl is given: name, params, impl or grad_impl,
#: class expected from both under the defaults): each class re-derived by hand in parity_code.py
PARITY = {
    "sigmoid": (SIGMOID, "sigmoid", {}, "impl", None),
    "sigmoid_ratio": (SIGMOID, "sigmoid", {}, "impl", "unstable"),
    "logistic_slip": (SIGMOID, "sigmoid", {}, "impl", "wrong"),
    "softmax": (SOFTMAX, "softmax", {}, "impl", None),
    "softmax_naive": (SOFTMAX, "softmax", {}, "impl", "unstable"),
    "step_function": ("```math\nh(x) = \\begin{cases} 1 & (x \\geq 0) \\\\ 0 & (x < 0) \\end{cases}\n```",
                      "step", {"h0": 1}, "impl", "convention"),
    "relu_grad": (r"$$ f(x) = \max(0, x) $$", "relu", {}, "grad_impl", None),
}


def _parity_note(tmp_path, mod) -> Path:
    note = tmp_path / "parity.md"
    parts = ["# The same code, judged twice\n"]
    for name, (formula_text, *_rest) in PARITY.items():
        parts.append(f"## {name}\n\n{formula_text}\n\n```python\n{inspect.getsource(getattr(mod, name))}```\n")
    note.write_text("\n".join(parts), encoding="utf-8")
    return note


def _check_class(mod, name, kink_convention="between"):
    _, act_name, params, which, _ = PARITY[name]
    results = difftest.run_tests(symact.get(act_name, **params), **{which: getattr(mod, name)}, examples=300,
                                 dtypes=("float64",), kink_convention=kink_convention)
    test = next(r for r in results if r.name == f"{which}[float64]")
    return None if test.passed else test.details["severity"]


def test_notes_and_check_impl_judge_the_same_code_alike(tmp_path):
    mod = _parity_module()
    review = notes.review(_parity_note(tmp_path, mod), trust=True)
    found = {f.code: f for f in review.findings if f.code}
    assert set(found) == set(PARITY)
    for name, (*_, expected) in PARITY.items():
        f = found[name]
        assert (f.severity, _check_class(mod, name)) == (expected, expected), name
        assert f.verdict == ({None: "consistent"} | notes.SEVERITY)[expected], name
    # the accepted kink convention is named in both: relu'(0) = 1, the right derivative
    assert "relu'(0) = 1: the right derivative" in found["relu_grad"].message
    # --kink-convention strict: a convention failure in both
    strict = notes.review(_parity_note(tmp_path, mod), trust=True, kink_convention="strict")
    grad = next(f for f in strict.findings if f.code == "relu_grad")
    assert (grad.verdict, grad.severity) == ("mismatch", "convention")
    assert _check_class(mod, "relu_grad", "strict") == "convention"


def test_policy_options_change_the_judgement_as_in_check(tmp_path):
    note = tmp_path / "sigmoid.md"
    note.write_text(f"# Sigmoid\n{SIGMOID}\n```python\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n```\n",
                    encoding="utf-8")
    code, out = run_cli(str(note), "--trust", "--json", "--atol", "0")  # no absolute tolerance
    data = json.loads(out)
    (f,) = data["findings"]
    assert code == 1 and (f["verdict"], f["severity"]) == ("inaccurate", "unstable")  # 0 for 4.5e-309
    assert float(f["witness"]["x"]) < -709 and data["policy"]["atol"] == 0.0
    code, out = run_cli(str(note), "--trust", "--json", "--max-ulp", "1e300")
    assert code == 0 and json.loads(out)["policy"]["max_ulp"] == 1e300
    with pytest.raises(SymactError, match="--max-ulp"):
        notes.review(note, execute=False, max_ulp=float("nan"))
    with pytest.raises(SymactError, match="--kink-convention"):
        notes.review(note, execute=False, kink_convention="left")
    proc = subprocess.run([sys.executable, "-m", "symact", "notes", str(note), "--atol", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--atol" in proc.stderr and "Traceback" not in proc.stderr


def test_notes_options_have_checks_defaults():
    parser = argparse.ArgumentParser()
    notes_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["notes", "x.md"])
    assert (args.max_ulp, args.atol, args.kink_convention, args.vector_error) == (
        policy.MAX_ULP, None, policy.KINK_CONVENTIONS[0], policy.VECTOR_ERRORS[0])
    sig = inspect.signature(notes.review).parameters
    assert (sig["max_ulp"].default, sig["atol"].default) == (policy.MAX_ULP, None)
    assert not hasattr(notes, "MAX_ULP")  # the 64-ULP rule is gone


def test_every_finding_kind_carries_its_class(tmp_path):
    note = tmp_path / "kinds.md"
    note.write_text("# Raises\n```python\ndef f(x):\n    raise ValueError('no')\n```\n"
                    "# Does not parse\n```python\ndef g(x) return x\n```\n"
                    "# Unknown\n```python\ndef h(x):\n    return x ** 3\n```\n"
                    "# Heaviside\n```math\nH(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & x \\le 0 \\end{cases}\n```\n"
                    "```python\ndef heaviside(x):\n    return np.heaviside(x, 0.5)\n```\n", encoding="utf-8")
    review = notes.review(note, trust=True, timeout=5)
    got = {(f.section, f.verdict, f.severity) for f in review.findings}
    assert got == {("Raises", "error", "wrong"), ("Does not parse", "error", "wrong"),
                   ("Unknown", "unrecognized", None), ("Heaviside", "mismatch", "convention")}
    heaviside = next(f for f in review.findings if f.code == "heaviside")
    assert "the code follows h0 = 0.5 (symact check step --param h0=0.5), the formula h0 = 0" in heaviside.message
    for f in review.findings:
        assert f.severity is None or notes.SEVERITY.get(f.severity, "error") == f.verdict or f.verdict == "error"


def test_vector_only_code_and_a_stray_derivative_symbol_are_still_judged(tmp_path):
    note = tmp_path / "odd.md"
    note.write_text("# Vector only\n" + SOFTMAX + "\n```python\ndef softmax(a):\n    n = len(a)  # no scalars\n"
                    "    e = np.exp(a - a.max())\n    return e / e.sum()\n```\n"
                    "# Stray symbol\n$$ f(x) = \\tanh(x) $$\n$$ f'(x) = 1 - a f(x)^2 $$\n"
                    "```python\ndef tanh_grad(x):\n    return 1 - np.tanh(x) ** 2\n```\n", encoding="utf-8")
    review = notes.review(note, trust=True)
    by_code = {f.code: f for f in review.findings if f.code}
    assert (by_code["softmax"].verdict, by_code["softmax"].severity) == ("consistent", None)
    # the derivative formula is an error finding; the code is judged against tanh's derivative:
    # 1 - tanh(x)^2 is 0 from x = 19.06 on, where the exact value is about 4 exp(-2x)
    assert (by_code["tanh_grad"].verdict, by_code["tanh_grad"].severity) == ("inaccurate", "unstable")
    assert (by_code["tanh_grad"].formula, by_code["tanh_grad"].activation) == (None, "tanh")
    assert [f.verdict for f in review.findings if f.formula and "a f(x)" in f.formula] == ["error"]


def test_a_wrong_finding_names_what_the_code_computes(tmp_path):
    """As check does: GELU's erf formula with the tanh approximation's code is wrong, and the
    finding says the code computes gelu_tanh."""
    note = tmp_path / "gelu.md"
    note.write_text("# GELU\n$$\\mathrm{GELU}(x) = \\frac{x}{2}\\left(1 + \\operatorname{erf}\\left("
                    "\\frac{x}{\\sqrt{2}}\\right)\\right)$$\n```python\nimport numpy as np\ndef gelu(x):\n"
                    "    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))\n```\n",
                    encoding="utf-8")
    review = notes.review(note, trust=True)
    (finding,) = [f for f in review.findings if f.code]
    assert finding.verdict == "mismatch" and finding.severity == "wrong"
    assert "this computes gelu_tanh, not gelu" in finding.message
