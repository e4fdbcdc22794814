"""The problems issue 15 found on real notes, each on a small note (expected findings derived by
hand): a formula never aborts the review, prose values bind, sigma means what the note says,
every side of a chain and every labelled formula is checked, derivative code meets the
derivative of the section's function, code that raises says so, the summary counts."""
from __future__ import annotations

import argparse
import io
import json
from pathlib import Path


from symact.cli import notes as notes_cli
from symact.notes import review as notes

PROBLEMS = Path(__file__).parent / "notes" / "issue15" / "problems.md"


def write(tmp_path, text, name="n.md"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def run_cli(*argv):
    parser = argparse.ArgumentParser()
    notes_cli.add_parser(parser.add_subparsers())
    out = io.StringIO()
    return notes_cli.run(parser.parse_args(["notes", *argv]), out), out.getvalue()


def test_a_bad_formula_is_a_finding_and_the_json_is_always_emitted(tmp_path):
    note = write(tmp_path, "# A\n$$f(x) = \\frac{1}{1 + e^{-x}$$\n# B\n$$g(x) = \\max(0, x)$$\n"
                 "# C\n$$h(x) = \\lambda \\max(0, x)$$\nwhere λ = 2.\n")
    code, out = run_cli(str(note), "--json", "--no-exec")
    data = json.loads(out)
    assert code == 1
    bad, relu, scaled = data["findings"]
    assert bad["verdict"] == "error" and bad["severity"] is None
    assert bad["message"].startswith("the formula cannot be read:") and "column" in bad["message"]
    assert (relu["verdict"], relu["activation"]) == ("consistent", "relu")
    # the prose's value binds the symbol: 2 max(0, x) is no catalog activation, but it was read and compared
    assert scaled["verdict"] == "unrecognized" and "lambda = 2 from the prose" in scaled["message"]
    assert data["summary"] == {"formulas": 3, "formulas_read": 2, "formulas_checked": 1, "functions": 0,
                               "functions_run": 0, "blocks_run": 0,
                               "text": "2 of 3 formulas read, 1 checked; no functions defined; code not run (--no-exec)"}


def test_prose_values_and_rounded_constants(tmp_path):
    """SELU with its constants in the prose, rounded to 4 digits: it is the catalog's SELU."""
    note = write(tmp_path, PROBLEMS.read_text(encoding="utf-8").split("## Mish")[0])
    (f, not_run) = notes.review(note, execute=False).findings
    assert (f.verdict, f.activation) == ("consistent", "selu") and "proved" in f.message
    assert (not_run.code, not_run.verdict, not_run.message) == ("selu", "not run", "not run (--no-exec)")


def test_a_tanh_labelled_sigmoid_and_a_wrong_chain_are_wrong_with_witnesses(tmp_path):
    note = write(tmp_path, "# Logistic\nThe logistic function \\(\\mathrm{sigmoid}(x) = \\tanh(x)\\) squashes.\n"
                 "# Chain\n$$f(x) = \\frac{1}{1 + e^{-x}} = \\frac{e^x}{1 + e^x} = \\tanh(x)$$\n"
                 "# Right chain\n$$\\tanh(x) = \\frac{1 - \\exp(-2x)}{1 + \\exp(-2x)} = 2 \\sigma(2x) - 1$$\n")
    labelled, chain, right = notes.review(note, execute=False).findings
    assert (labelled.verdict, labelled.severity, labelled.witness) == ("mismatch", "wrong", {"x": "0"})
    assert "differs from sigmoid: at x = 0 it gives 0, sigmoid is 1/2" in labelled.message
    assert (chain.verdict, chain.severity, chain.witness) == ("mismatch", "wrong", {"x": "0"})
    assert "side 3 (\\tanh(x)) differs from the first side" in chain.message and "side 2" not in chain.message
    assert (right.verdict, right.activation) == ("consistent", "tanh")
    assert "side 2 (2 \\sigma(2x) - 1) is tanh (proved)" in right.message


def test_a_wrong_mish_derivative_is_checked(tmp_path):
    """The blog's Mish' has sech^2(x) where sech^2(softplus(x)) belongs: 1.1721 at x = 1, not 1.0490."""
    text = PROBLEMS.read_text(encoding="utf-8").split("## Mish")[1].split("## Logistic")[0]
    note = write(tmp_path, "## Mish" + text)
    found = notes.review(note, execute=False).findings
    formula, derivative = [f for f in found if f.formula]
    assert (formula.verdict, formula.activation) == ("consistent", "mish")
    assert derivative.activation == "mish" and derivative.verdict in ("mismatch", "error")
    # refuted once an exact witness can be certified; until then: undecided, never "right"
    assert "the derivative of mish" in derivative.message and "right" not in derivative.message
    assert derivative.verdict == "error" or derivative.witness == {"x": "1"}


def test_sigma_means_what_the_note_says(tmp_path):
    note = write(tmp_path, "# Plain\n$$f(x) = \\sigma(x)$$\n"
                 "# Redefined by a formula\n$$\\sigma(x) = \\tanh(x)$$\n$$g(x) = \\sigma(x)$$\n")
    plain, definition, later = notes.review(note, execute=False).findings
    assert plain.activation == "sigmoid" and definition.activation == "tanh" and later.activation == "tanh"
    prose = write(tmp_path, "# Notation\nIn this note σ denotes tanh.\n$$f(x) = \\sigma(x)$$\n", "p.md")
    (f,) = notes.review(prose, execute=False).findings
    assert (f.verdict, f.activation) == ("consistent", "tanh")


CODE = """# Mish
$$\\operatorname{Mish}(x) = x \\tanh(\\oops(x))$$

```py
def mish_grad(x):
    sp_ = np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)
    t = np.tanh(sp_)
    s = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))
    return t + x * (1 - t * t) * s
```

# Raising
```python
import math

def logistic(x):
    return 1 / (1 + math.exp(-x))

def never(x):
    raise ValueError("no")

def cube_or_fail(x):
    if x > 100:
        raise OverflowError("too big")
    return x ** 3
```
"""


def test_derivative_code_without_a_readable_formula_and_code_that_raises(tmp_path):
    review = notes.review(write(tmp_path, CODE), trust=True, timeout=5)
    by = {f.code: f for f in review.findings if f.code}
    (unreadable,) = [f for f in review.findings if f.formula]
    assert unreadable.verdict == "error" and "cannot be read" in unreadable.message
    # the section's title names mish: the gradient is judged against mish's derivative
    grad = by["mish_grad"]
    assert grad.activation == "mish" and grad.message.startswith("mish_grad (against the derivative of mish): ")
    assert grad.verdict in ("consistent", "inaccurate") and grad.severity in (None, "inaccurate")
    # the catalog's sigmoid by its name, but it raises below x = -709: NaN where the value is
    # finite is unstable (as check --impl classes it), and the finding says what it raised and where
    logistic = by["logistic"]
    assert (logistic.activation, logistic.verdict, logistic.severity) == ("sigmoid", "inaccurate", "unstable")
    assert logistic.witness == {"x": "-710"}
    assert logistic.message.endswith("; it raised OverflowError: math range error at x = -710")
    assert (by["never"].verdict, by["never"].severity) == ("error", "wrong")
    assert by["never"].message == "never raised ValueError: no at x = 0"
    cube = by["cube_or_fail"]
    assert (cube.verdict, cube.severity) == ("error", "wrong") and "matches no catalog" not in cube.message
    assert cube.message.startswith("cube_or_fail raised OverflowError: too big at x = ")
    assert review.summary["text"] == "0 of 1 formula read, 0 checked; 4 of 4 functions run"


def test_an_approximation_is_never_refuted_for_being_approximate(tmp_path):
    note = write(tmp_path, "# GELU\n$$\\mathrm{GELU}(x) = x\\Phi(x) \\approx x \\sigma(1.702 x)$$\n")
    (f,) = notes.review(note, execute=False).findings
    assert (f.verdict, f.activation) == ("consistent", "gelu")
    assert "side 1 (x\\Phi(x)) is gelu (proved)" in f.message
    # its largest error over the real line where symact.analysis.approximations locates it (0.0203)
    assert "side 2 (x \\sigma(1.702 x)) approximates gelu" in f.message or "is an approximation of gelu" in f.message
