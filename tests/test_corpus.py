"""The published-formula corpus (tests/corpus/formulas.toml, issue 15).

Formulas as PyTorch, JAX, Keras, TensorFlow, Wikipedia, d2l, course notes and
blogs write them.  Each is read by the LaTeX or plain-text reader, or refused
with a ParseError that names a position; at least 95% are read.  A read formula
that names the catalog entry it defines (``means``) agrees with that entry at
exact rational points, evaluated by SymPy/mpmath at 50 digits (never with
symact's kernels); every side of a chained equality is compared; sides after
an ``\\approx`` only within the source's stated accuracy.  A formula recorded as
wrong (``correct = false``) must differ from its entry, so that symact can flag
it.  The full check of every formula through ``symact check NAME --latex`` is
marked slow.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))

import corpus  # noqa: E402

from symact.errors import ParseError  # noqa: E402

ENTRIES = corpus.load()
BY_ID = {e.id: e for e in ENTRIES}
_READ: dict[str, object] = {}


def _read(entry):
    if entry.id not in _READ:
        _READ[entry.id] = corpus.read(entry)
    return _READ[entry.id]


def _catalog_names():
    import symact
    return set(symact.names())


def test_corpus_is_well_formed():
    assert len(ENTRIES) >= 150
    assert len(BY_ID) == len(ENTRIES), "ids must be unique"
    names = _catalog_names()
    for e in ENTRIES:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", e.id), e.id
        assert e.source and e.where and e.text, e.id
        assert e.language in ("latex", "expr"), e.id
        assert e.relation in ("=", "approx"), e.id
        base = e.means[2:] if e.means.startswith("d:") else e.means
        assert base == "" or base in names, (e.id, e.means)
        if not e.correct:
            assert e.note and e.means, f"{e.id}: a wrong formula needs a note and a meaning"
        for v in [*e.params.values(), *e.catalog_params.values(), *e.witness_params.values()]:
            corpus.exact(v)  # every stated value is an exact decimal or fraction
    assert sum(1 for e in ENTRIES if e.means.startswith("d:")) >= 5
    assert sum(1 for e in ENTRIES if e.relation == "approx") >= 3


def test_read_rate():
    """Every formula is read or refused with a positioned ParseError; 95% are read."""
    refused = []
    for e in ENTRIES:
        r = _read(e)
        if isinstance(r, ParseError):
            assert "column" in str(r), f"{e.id}: the refusal names no position: {r}"
            refused.append((e, r))
        else:
            assert not isinstance(r, BaseException), (e.id, r)
    rate = 1 - len(refused) / len(ENTRIES)
    for e, r in refused:
        print(f"--- refused {e.id} ({e.where}):\n{r}")
    print(f"read {len(ENTRIES) - len(refused)} of {len(ENTRIES)} ({100 * rate:.1f}%)")
    assert rate >= 0.95, f"read rate {100 * rate:.1f}% < 95% ({len(refused)} refused)"


def _checked():
    return [e for e in ENTRIES if e.means and e.correct]


@pytest.mark.parametrize("entry", _checked(), ids=lambda e: e.id)
def test_read_formula_agrees_with_its_entry(entry):
    parsed = _read(entry)
    if isinstance(parsed, ParseError):
        pytest.skip("refused (counted by test_read_rate)")
    for side, worst, allowed in corpus.compare(entry, parsed):
        assert worst <= allowed, (
            f"{entry.id}: side {side} differs from {entry.means} by {float(worst):.3g} "
            f"(allowed {float(allowed):.3g})")


@pytest.mark.parametrize("entry", [e for e in ENTRIES if not e.correct], ids=lambda e: e.id)
def test_wrong_formula_differs_from_its_entry(entry):
    parsed = _read(entry)
    if isinstance(parsed, ParseError):
        pytest.skip("refused (counted by test_read_rate)")
    results = corpus.compare(entry, parsed, witness=True)
    assert any(worst > 10 * allowed for _, worst, allowed in results), (
        f"{entry.id} is recorded as wrong ({entry.note}) but agrees with {entry.means}")


def test_reference_catches_a_known_difference():
    """The comparison itself is not vacuous: sigmoid read as tanh differs."""
    e = corpus.Entry(id="probe", source="-", where="-", language="latex",
                     text=r"\sigma(x) = \tanh(x)", means="sigmoid", relation="=", tolerance=None)
    parsed = corpus.read(e)
    assert not isinstance(parsed, ParseError)
    assert all(worst > 1e-3 for _, worst, _ in corpus.compare(e, parsed))


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.means and not e.means.startswith("d:")],
                         ids=lambda e: e.id)
def test_symact_check_latex(entry):
    """``symact check NAME --latex/--expr FORMULA``: exit 0 for a right formula, 1 for a wrong one."""
    parsed = _read(entry)
    if isinstance(parsed, ParseError):
        pytest.skip("refused (counted by test_read_rate)")
    name = entry.means
    flag = "--latex" if entry.language == "latex" else "--expr"
    args = [sys.executable, "-m", "symact", "check", name, flag, entry.text,
            "--examples", "100", "--dtype", "float64"]
    extra = entry.witness_params if not entry.correct else {}
    for k, v in {**entry.params, **entry.catalog_params, **extra}.items():
        args += ["--param", f"{k}={v}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    expected = 0 if entry.correct else 1
    assert proc.returncode == expected, proc.stdout[-3000:] + proc.stderr[-2000:]
