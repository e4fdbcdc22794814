"""`symact notes`: reviewing notes whose formulas and code may disagree.

The notes under tests/notes/ are written in the course's style. The expected
verdicts are what a careful reader finds, derived by hand: e.g. the course's
step code `np.array(x > 0, dtype=int)` gives 0 at x = 0 where its formula says 1.
The reviews here pass trust=True: they test the review, and run confined wherever
the platform allows (tests/test_notes_hostile.py tests the confinement itself).
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from symact.notes import review as notes, sandbox
from symact.cli import notes as notes_cli
from symact.errors import SymactError

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
    summary = {s: [(f.code, f.activation, f.verdict) for f in fs] for s, fs in secs.items()}
    assert summary == {
        "Step function": [("step_function", "step", "mismatch")],
        "Sigmoid function": [("sigmoid", "sigmoid", "inaccurate")],
        "ReLU (hidden layers)": [("relu", "relu", "consistent")],
        "Identity function": [("identity_function", "identity", "consistent")],
        "Softmax function": [("softmax", "softmax", "inaccurate")],
        "Softmax without overflow": [("softmax", "softmax", "consistent")],
    }
    step = secs["Step function"][0]
    assert step.witness == {"x": "0"}
    assert "code gives 0" in step.message and "formula gives 1" in step.message
    naive = secs["Softmax function"][0]
    assert naive.witness == {"x": ["1010", "1000", "990"]} and "nan" in naive.message
    sig = secs["Sigmoid function"][0]
    assert float(sig.witness["x"]) < -700 and "overflow" in sig.message  # wrong subnormal tail
    assert not course.ok
    assert course.execution["mode"] in ("confined", "unconfined") and course.executed


def test_review_cases(cases):
    secs = by_section(cases)
    verdicts = {s: [(f.formula is not None, f.code, f.verdict) for f in fs] for s, fs in secs.items()}
    assert verdicts["Stable sigmoid"][0] == (True, "sigmoid", "consistent")
    derivative = [f for f in secs["Stable sigmoid"] if f.formula and "'" in f.formula and f.code is None]
    assert derivative[0].verdict == "consistent"
    # (1 - s) * s cancels for large x: sigmoid_grad(40) is 0, the exact value 4.2e-18
    assert [f.verdict for f in secs["Stable sigmoid"] if f.code == "sigmoid_grad"] == ["inaccurate"]
    slip = secs["Sign slip"][0]
    assert (slip.verdict, slip.activation, slip.witness) == ("mismatch", "sigmoid", {"x": "1"})
    wrong_d = [f for f in secs["Wrong derivative"] if "'" in f.formula][0]
    assert wrong_d.verdict == "mismatch" and wrong_d.witness == {"x": "1"}
    assert [f.verdict for f in secs["Wrong derivative"] if "'" not in f.formula] == ["consistent"]
    assert [f.verdict for f in secs["Not an activation"]] == ["unrecognized"]
    assert [f.verdict for f in secs["Broken formula"]] == ["error"]
    soft = secs["Naive softplus"][0]
    assert soft.verdict == "inaccurate" and "inf" in soft.message
    loop = secs["Endless loop"][0]
    assert loop.verdict == "error" and "did not finish" in loop.message
    assert [(f.activation, f.verdict) for f in secs["ReLU by cases"]] == [("relu", "consistent")]


def test_korean_note_keeps_titles():
    review = notes.review(HERE / "korean.md", trust=True)
    secs = by_section(review)
    assert list(secs) == ["시그모이드 함수", "계단 함수", "ReLU 함수"]
    assert [f.verdict for f in secs["계단 함수"]] == ["consistent"]  # x >= 0 matches the formula
    assert [f.verdict for f in secs["ReLU 함수"]] == ["consistent"]
    assert [f.verdict for f in secs["시그모이드 함수"]] == ["inaccurate"]


def test_no_exec_checks_formulas_only(tmp_path):
    marker = tmp_path / "ran"
    note = tmp_path / "n.md"
    note.write_text(f"# S\n$$ f(x) = \\max(0, x) $$\n```python\nopen({str(marker)!r}, 'w').write('x')\n"
                    "def relu(x):\n    return x\n```\n", encoding="utf-8")
    review = notes.review(note, execute=False)
    assert [(f.activation, f.verdict, f.code) for f in review.findings] == [("relu", "consistent", None)]
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
                                        "witness", "message"}
    code, out = run_cli(str(HERE / "course.md"), "--trust")
    assert code == 1
    assert "## Step function" in out and "at x = 0 the code gives 0, the formula gives 1" in out
    assert out.splitlines()[1].startswith("  code ran ")


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
