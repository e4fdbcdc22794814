"""Published notes, reviewed end to end (tests/notes/real/, sources and licences in SOURCES.md).

What each should give was derived by hand from its text: d2l writes its formulas as display math
with a final period, chained derivatives and ``\\operatorname`` names, and its code in
``{.python .input}`` fences that need d2l and a framework; cs231n writes kramdown's ``\\\\( ... \\\\)``
inline math; the French notebook (exported to Markdown) defines functions in inline ``$...$``,
gives ε its value in a later sentence, and writes derivatives by cases without x = 0.

The formula-only reviews are fast; the run of every note's code is marked slow (about a minute
on a loaded machine)."""
from __future__ import annotations

from pathlib import Path

import pytest

from symact.notes import review as notes

REAL = Path(__file__).parent / "notes" / "real"


def formula_findings(review):
    return [(f.line, f.activation, f.verdict, f.severity) for f in review.findings if f.formula]


@pytest.fixture(scope="module")
def d2l():
    return notes.review(REAL / "d2l_mlp_activations.md", execute=False)


def test_d2l_formulas_with_periods_chains_and_operatorname(d2l):
    assert formula_findings(d2l) == [
        (42, "relu", "consistent", None), (120, "prelu", "consistent", None),
        (132, "sigmoid", "consistent", None), (187, "sigmoid", "consistent", None),
        (224, "tanh", "consistent", None), (249, "tanh", "consistent", None)]
    chain = next(f for f in d2l.findings if f.line == 187)
    # d/dx sigmoid(x) = exp(-x)/(1 + exp(-x))^2 = sigmoid(x)(1 - sigmoid(x)): both sides checked
    assert "side 1 (" in chain.message and "side 2 (" in chain.message and chain.message.count("(proved)") == 2
    assert d2l.summary["text"] == "6 of 6 formulas read, 6 checked; no functions defined; code not run (--no-exec)"
    assert not any(f.code for f in d2l.findings)  # d2l's blocks define no function


def test_d2l_in_chinese_reads_the_same():
    zh = notes.review(REAL / "d2l_zh_mlp_activations.md", execute=False)
    assert [(a, v) for _, a, v, _ in formula_findings(zh)] == [
        ("relu", "consistent"), ("prelu", "consistent"), ("sigmoid", "consistent"), ("sigmoid", "consistent"),
        ("tanh", "consistent"), ("tanh", "consistent")]
    assert {f.section for f in zh.findings} == {"ReLU函数", "sigmoid函数", "tanh函数"}


def test_cs231n_kramdown_inline_math():
    review = notes.review(REAL / "cs231n_neural_networks_1.md", execute=False)
    found = formula_findings(review)
    assert found[:3] == [(4, "sigmoid", "consistent", None), (9, "tanh", "consistent", None),
                         (17, "relu", "consistent", None)]
    # the leaky ReLU by indicators, "where \\(\\alpha\\) is a small constant": no value, not compared
    assert found[3][0] == 23 and found[3][2] in ("unrecognized", "error")
    tanh = next(f for f in review.findings if f.line == 9)
    assert tanh.formula == "\\tanh(x) = 2 \\sigma(2x) -1"   # its label is checked: tanh = 2 sigma(2x) - 1
    assert review.summary["formulas"] == 4


@pytest.fixture(scope="module")
def french():
    return notes.review(REAL / "fr_fonctions_activation.md", execute=False)


def test_french_notebook_formulas(french):
    assert formula_findings(french) == [
        (14, "sigmoid", "consistent", None), (47, "relu", "consistent", None),
        (69, "leaky_relu", "consistent", None), (91, "silu", "consistent", None),
        (135, "sigmoid", "consistent", None),
        # ReLU'(x) and LeakyReLU'(x) by cases for x > 0 and x < 0 only: undefined at the kink
        (160, "relu", "mismatch", "convention"), (179, "leaky_relu", "mismatch", "convention")]
    leaky = next(f for f in french.findings if f.line == 69)
    # "Leaky ReLU pour $\\varepsilon = 0.1$", a later section, gives the slope
    assert "negative_slope=1/10" in leaky.message and "epsilon = 1/10 from the prose" in leaky.message.replace(
        "varepsilon", "epsilon")
    relu_d = next(f for f in french.findings if f.line == 160)
    assert relu_d.witness == {"x": "0"} and "a convention, not another function" in relu_d.message


def test_french_notebook_without_execution_claims_nothing_about_its_code(french):
    code = [f for f in french.findings if f.code]
    assert len(code) == 11 and {(f.verdict, f.message) for f in code} == {("not run", "not run (--no-exec)")}
    assert french.summary["text"] == "7 of 7 formulas read, 7 checked; 11 functions not run (--no-exec)"


@pytest.mark.slow
def test_every_real_note_runs_end_to_end():
    fr = notes.review(REAL / "fr_fonctions_activation.md", trust=True)
    code = [(f.line, f.code, f.activation, f.verdict, f.severity) for f in fr.findings if f.code]
    assert code == [
        (20, "sigmoid", "sigmoid", "consistent", None), (53, "relu", "relu", "consistent", None),
        (75, "leaky_relu", "leaky_relu", "consistent", None),       # epsilon = 0.1, as its formula
        (97, "swish", "silu", "inaccurate", "unstable"),            # x sigmoid(x): 0 at x = -710, not -3.2e-306
        (116, "softmax", "softmax", "consistent", None), (145, "sigmoid", "sigmoid", "consistent", None),
        (167, "relu", "relu", "consistent", None), (186, "leaky_relu", "leaky_relu", "consistent", None),
        (201, "sigmoid", "sigmoid", "consistent", None), (201, "swish", "silu", "inaccurate", "unstable"),
        (214, "softmax", "softmax", "consistent", None)]
    assert fr.summary["text"] == "7 of 7 formulas read, 7 checked; 11 of 11 functions run"
    d2l = notes.review(REAL / "d2l_mlp_activations.md", trust=True)
    blocks = [f for f in d2l.findings if not f.formula]
    # d2l and its frameworks are not where the note's code runs: every block is an error that
    # judged nothing, the first saying which module is missing
    assert len(blocks) == 21 and {(f.verdict, f.severity) for f in blocks} == {("error", None)}
    assert "No module named 'd2l'" in blocks[0].message
    assert d2l.summary["text"] == "6 of 6 formulas read, 6 checked; no functions defined (21 code blocks ran)"
    cs = notes.review(REAL / "cs231n_neural_networks_1.md", trust=True)
    (block,) = [f for f in cs.findings if not f.formula]
    assert block.message.startswith("running the block failed: NameError: name 'W1' is not defined")
