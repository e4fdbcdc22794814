r"""Review a research note: do its formulas and its Python code say the same thing?

:func:`review` reads a Markdown note (UTF-8; any language), splits it into
sections at its headings, and collects per section the formulas (```` ```math ````
fences, ``$$ ... $$`` blocks, one-line ``$$ ... $$``) and the functions defined
in its ```` ```python ```` fences (found with :mod:`ast`; parsing is not running).
It returns a :class:`Review` of :class:`Finding` records, one per
formula/function pair, per unpaired formula and per unpaired function:

* ``consistent`` - the code agrees with its formula (or, with no formula, with
  the catalog activation it was recognized as), and a formula alone is a
  catalog activation (:func:`symact.verify.formula.catalog_matches`) or a derivative
  proved equal to the derivative of the section's function;
* ``mismatch`` - class ``wrong``: they differ at an ordinary input (2**-10 <= |x| <= 8),
  so the code computes another function; or class ``convention``: they differ only at a
  kink or a jump, where the value is a convention (step's h0: the message says which
  value each side follows);
* ``inaccurate`` - class ``unstable``: equal at ordinary inputs, but inf, NaN, 0 or the
  wrong sign elsewhere (overflow, underflow, cancellation); or class ``inaccurate``: a
  bounded loss beyond the tolerance;
* ``unrecognized`` - a formula or function that is no catalog activation and
  has nothing to be compared with;
* ``error`` - a formula that cannot be read, code that does not parse, raises,
  or does not finish in time, and code that could not run (the sandbox died
  or the note's time budget was spent before it).

Code is judged as ``symact check --impl`` judges an implementation: by the accuracy
policy (:mod:`symact.verify.policy`: within ``max_ulp`` (4) ULP of the correctly rounded
float64 value, or within ``atol`` (float64's smallest normal number, so a result that
underflows passes); at a kink any value between the one-sided derivatives is a
derivative unless ``kink_convention`` is ``"strict"``; softmax-like vectors normwise unless
``vector_error`` is ``"componentwise"``) and through the same judgement
(:mod:`symact.verify.difftest`), so both give the same classes. Each finding carries
``severity``, the most severe class of its failing points (:data:`SEVERITY`), and its
witness is the simplest input of that class (0 first, then integers, then by size; an
inf or NaN where the value is finite first). An ``error`` finding is ``wrong`` when the
note's code gave no values to judge (it does not parse, raises, hangs or crashes: check
classes an implementation that returns nothing so); ``severity`` is None where nothing
failed (``consistent``, ``unrecognized``) or nothing was judged (a formula that cannot be
read, a derivative not decided, code not run because of an earlier block). NumPy's
warnings are reported, never judged.

Pairing in a section: a function whose name says derivative (grad, deriv,
prime, backward, ``_d``) goes with the derivative formula, others with the
formula they agree with, else the first one. Code runs only through
:mod:`symact.notes.sandbox` (one confined child per note: each block once, in
order, in one namespace, under one time budget), and only when ``execute`` is
true; where the platform offers no confinement it runs only with ``trust``, and
:attr:`Review.execution` says which way it ran. The note itself must be a regular
file of at most :data:`MAX_NOTE_BYTES` bytes. The library never prints;
:mod:`symact.cli.notes` writes the review.
"""
from __future__ import annotations

import ast
import math
import os
import re
import stat
from dataclasses import asdict, dataclass, field

import numpy as np
import sympy as sp

from symact.model import catalog
from symact.verify import formula
from symact.notes import sandbox
from symact.errors import SymactError
from symact.parse.common import ParsedFormula
from symact.parse.latex import parse_latex
from symact.numeric.oracle import Oracle, oracle_for, round_to
from symact.verify import difftest, policy

#: Finding verdict of each severity class (:data:`symact.verify.policy.SEVERITIES`).
SEVERITY = {"wrong": "mismatch", "convention": "mismatch", "unstable": "inaccurate", "inaccurate": "inaccurate"}
#: Recognizing code with no formula (:func:`_recognize_code`): a first look at a few
#: inputs up to this size, within this relative tolerance, before the policy's judgement.
RECOGNIZE_RANGE = 20.0
LOOSE = 1e-6
#: Largest note read, in bytes.
MAX_NOTE_BYTES = 2 * 1024**2
_DERIVATIVE_NAME = re.compile(r"(grad|deriv|prime|backward|diff|(^|_)d($|_)|dash)", re.I)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


class NoteError(SymactError):
    """A note that cannot be read."""


@dataclass
class Finding:
    section: str
    line: int
    formula: str | None
    code: str | None
    activation: str | None
    verdict: str
    witness: dict | None
    message: str
    severity: str | None = None  # wrong, unstable, inaccurate or convention (see SEVERITY); None: none failed

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Review:
    """The findings, and how the note's code ran: ``execution`` = {``mode``, ``detail``}, ``mode``
    one of ``confined``, ``unconfined`` (only with ``trust``) and ``not run``."""

    path: str
    findings: list[Finding]
    executed: bool
    execution: dict = field(default_factory=lambda: {"mode": "not run", "detail": "--no-exec"})
    policy: dict = field(default_factory=lambda: policy_dict(policy.Policy()))

    @property
    def ok(self) -> bool:
        return not any(f.verdict in ("mismatch", "inaccurate", "error") for f in self.findings)

    def to_dict(self) -> dict:
        return {"findings": [f.to_dict() for f in self.findings], "ok": self.ok, "execution": self.execution,
                "policy": self.policy}


def policy_dict(rules: policy.Policy) -> dict:
    """The rules a review applies (float64: the dtype a note's code is judged in)."""
    return {"max_ulp": rules.max_ulp, "atol": rules.atol_in(np.float64), "kink_convention": rules.kink_convention,
            "vector_error": rules.vector_error}


def make_policy(max_ulp=policy.MAX_ULP, atol=None, kink_convention=policy.KINK_CONVENTIONS[0],
                vector_error=policy.VECTOR_ERRORS[0]) -> policy.Policy:
    """A :class:`~symact.verify.policy.Policy`, its options checked as ``symact check`` checks them
    (a :class:`~symact.errors.SymactError` names the option)."""
    difftest._validate(1, max_ulp, atol, ("float64",), kink_convention, vector_error)
    return policy.Policy(float(max_ulp), None if atol is None else float(atol), kink_convention, vector_error)


# --------------------------------------------------------------------------- reading
@dataclass
class _Formula:
    text: str
    line: int


@dataclass
class _Code:
    text: str
    line: int
    index: int  # position among the note's code blocks


@dataclass
class Section:
    title: str
    line: int
    formulas: list[_Formula] = field(default_factory=list)
    code: list[_Code] = field(default_factory=list)


def read_note(path) -> str:
    """The note's text: a regular file of at most :data:`MAX_NOTE_BYTES` bytes, in UTF-8.

    Opened without blocking (a FIFO cannot stall it) and checked with ``fstat`` before a
    byte is read: a directory, device (``/dev/zero``), FIFO or socket is refused, and so
    is a file that is, or grows while read, over the limit.
    """
    name = str(path)

    def regular(st) -> None:
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "no regular file")
            raise NoteError(f"cannot read the note {name!r}: it is {kind}, not a regular file")

    try:
        regular(os.stat(name))  # a socket cannot even be opened: say what it is
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise NoteError(f"cannot read the note {name!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        regular(st)  # what was opened, which may have been swapped in since the stat
        too_big = NoteError(f"cannot read the note {name!r}: it is over {MAX_NOTE_BYTES // 1024**2} MiB "
                            f"(the largest note symact reads)")
        if st.st_size > MAX_NOTE_BYTES:
            raise too_big
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, MAX_NOTE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_NOTE_BYTES:
                raise too_big
    except OSError as exc:
        raise NoteError(f"cannot read the note {name!r}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError(f"cannot read the note {name!r}: {exc}") from None


def split_sections(text: str) -> list[Section]:
    """Sections (by heading) with their formulas and code blocks, in order."""
    sections = [Section("(top)", 1)]
    lines = text.splitlines()
    i, n_code = 0, 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            marker, lang = fence.group(2), fence.group(3).lower()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker):
                j += 1
            body = "\n".join(lines[i + 1:j])
            if lang == "math":
                sections[-1].formulas.append(_Formula(body.strip(), i + 2))
            elif lang in ("python", "py", "python3"):
                sections[-1].code.append(_Code(body, i + 2, n_code))
                n_code += 1
            i = j + 1
            continue
        stripped = line.strip()
        if stripped.startswith("$$"):
            rest = stripped[2:]
            if "$$" in rest:
                sections[-1].formulas.append(_Formula(rest[:rest.index("$$")].strip(), i + 1))
                i += 1
                continue
            j = i + 1
            body = [rest]
            while j < len(lines) and "$$" not in lines[j]:
                body.append(lines[j])
                j += 1
            if j < len(lines):
                body.append(lines[j][:lines[j].index("$$")])
            sections[-1].formulas.append(_Formula("\n".join(body).strip(), i + 1))
            i = j + 1
            continue
        heading = _HEADING.match(line)
        if heading:
            sections.append(Section(heading.group(2), i + 1))
        i += 1
    return [s for s in sections if s.formulas or s.code]


def _functions(code: str) -> list[str]:
    tree = ast.parse(code)
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


# --------------------------------------------------------------------------- references
@dataclass
class _Ref:
    """What code is judged against: ``subject``, an activation (the formula's own, or the catalog
    entry it was proved equal to, whose kinks and parameters name the conventions), or its
    derivative (``derivative``); ``label`` names it in messages."""

    subject: object
    derivative: bool
    label: str  # "formula" or "sigmoid" ...
    activation: str | None

    @property
    def vector(self) -> bool:
        return bool(self.subject.vector) and not self.derivative


class _DerivativeFormula:
    """A derivative formula as the reference of a gradient function: the formula's values
    (``derivative``), the kinks of the function it differentiates (``base``), so that at a kink
    any value between the one-sided derivatives passes as for ``check --grad-impl``."""

    vector = False
    params = ()

    def __init__(self, base, expr: sp.Expr, name: str):
        self.base, self.derivative, self.name, self.x = base, expr, name, base.x

    @property
    def expr(self):
        return self.base.expr

    @property
    def kinks(self):
        return self.base.kinks


def _subject(act, match):
    """The catalog entry ``act`` was proved equal to (its name and parameters name kink
    conventions and ``--param`` values), else ``act`` itself."""
    if not match or match.get("verdict") != "proved":
        return act
    try:
        entry = catalog.get(match["name"])
        changed = {k: v for k, v in match["params"].items() if entry.param_values[k] != sp.Rational(v)}
        return entry.with_params(**changed) if changed else entry
    except (SymactError, KeyError, TypeError, ValueError):
        return act


def _points(kinks, seed: int) -> list[float]:
    return formula.oracle_points(kinks, seed=seed, examples=200)


def _simplicity(v: float):
    return (v != 0, float(v).is_integer() is False, abs(v), v < 0)


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    return str(v)


def _case(ref: _Ref, rules: policy.Policy):
    """The difftest case that judges values against ``ref`` under ``rules`` (user code, float64)."""
    dt = np.dtype(np.float64)
    return difftest._Case(ref.label, ref.subject, None, dt, ref.derivative, float(rules.max_ulp),
                          rules.atol_in(dt), True, rules.kink_convention, rules.vector_error)


def _expected(expr, x, pts: np.ndarray) -> np.ndarray:
    """Correctly rounded float64 values of the reference; NaN where the oracle cannot evaluate it.
    (In memory: a review writes nothing to symact's cache, see tests/test_notes_hostile.py.)"""
    orc = oracle_for(expr, x)
    return np.array([_safe(orc, float(v)) for v in pts], dtype=np.float64)


def _tolerance(rules: policy.Policy, unit: str) -> str:
    return f"outside {rules.max_ulp:g} ULP{unit} and the absolute tolerance {rules.atol_in(np.float64):g}"


def _also(counts: dict, top: str, what: str) -> str:
    """``; also 3 unstable, 1 inaccurate points``: the failing points of the other classes."""
    rest = [(n, c) for c, n in counts.items() if c != top]
    if not rest:
        return ""
    noun = what if sum(n for n, _ in rest) > 1 else what[:-1]
    return f"; also {', '.join(f'{n} {c}' for n, c in rest)} {noun}"


def compare_scalar(ref: _Ref, points: list[float], got: list[float], warnings: list[str],
                   error: str | None, rules: policy.Policy | None = None
                   ) -> tuple[str, str | None, dict | None, str]:
    """(verdict, severity, witness, message) for scalar code values ``got`` against ``ref``,
    judged by :func:`symact.verify.difftest._judge` under ``rules`` (default: the policy's)."""
    rules = rules or policy.Policy()
    case = _case(ref, rules)
    pts_all = np.array(points, dtype=np.float64)
    exp_all = _expected(case.expr, ref.subject.x, pts_all)
    judged = ~np.isnan(exp_all)  # where the reference is undefined there is nothing to judge
    pts, exp = pts_all[judged], exp_all[judged]
    got_a = np.array(got, dtype=np.float64)[judged]
    try:
        ulps, fail, severity, conventions = difftest._judge(case, pts, got_a, exp, np.zeros(pts.shape, dtype=bool))
    except Exception:  # noqa: BLE001 - the reference's one-sided limits at a jump cannot be evaluated:
        case.user = False  # judge every point as an ordinary one (no convention is accepted)
        ulps, fail, severity, conventions = difftest._judge(case, pts, got_a, exp, np.zeros(pts.shape, dtype=bool))
    n = int(pts.size)
    warned = f"; NumPy warned: {', '.join(warnings)}" if warnings else ""
    if not fail.any():
        return "consistent", None, None, _agrees(ref, rules, pts, got_a, exp, ulps, conventions, warned)
    top = policy.most_severe(severity[fail])
    in_top = fail & (severity == top)
    blown = in_top & ~np.isfinite(got_a) & np.isfinite(exp)  # overflow to inf/nan shows it best
    pick = blown if blown.any() and top != "wrong" else in_top
    k = min(np.flatnonzero(pick).tolist(), key=lambda i: _simplicity(float(pts[i])))
    x, g, e = float(pts[k]), float(got_a[k]), float(exp[k])
    counts = {c: int((fail & (severity == c)).sum()) for c in policy.SEVERITIES if (fail & (severity == c)).any()}
    raised = f"; it raised {error}" if error else ""
    at = f"at x = {_fmt(x)} the code gives {_fmt(g)}"
    if top == "wrong":
        msg = f"{at}, the {ref.label} gives {_fmt(e)}{_also(counts, top, 'points')}{raised}"
        computes = _what_it_computes(ref, pts, got_a)
        if computes:
            msg += f"; {computes['text']}"
    elif top == "convention":
        msg = (f"{at}, the {ref.label} gives {_fmt(e)}: {_convention_words(ref, case, x, g, e, conventions)}"
               f"{_also(counts, top, 'points')}")
    else:
        msg = (f"equal at ordinary inputs, but {at} where the exact value is {_fmt(e)} "
               f"({counts[top]} of {n} points {top}: {_tolerance(rules, '')}"
               f"{_also(counts, top, 'points')}{warned}){raised}")
    return SEVERITY[top], top, {"x": _fmt(x)}, msg


def _what_it_computes(ref: _Ref, pts, got) -> dict | None:
    """What wrong code computes instead (:mod:`symact.verify.recognize`, as check names it), or None."""
    from symact.verify.recognize import what_it_computes

    try:
        return what_it_computes(ref.subject, pts, got, derivative=ref.derivative)
    except Exception:  # noqa: BLE001 - naming is a courtesy: a failure to name is no finding
        return None


def _agrees(ref, rules, pts, got, exp, ulps, conventions, warned) -> str:
    by_atol = ulps > rules.max_ulp  # every point passed: these only within atol
    worst = float(np.max(ulps[~by_atol])) if (~by_atol).any() else 0.0
    msg = f"agrees with the {ref.label} on {int(pts.size)} points (max error {worst:g} ULP"
    if by_atol.any():
        k = min(np.flatnonzero(by_atol).tolist(), key=lambda i: _simplicity(float(pts[i])))
        msg += (f"; {int(by_atol.sum())} of them only within the absolute tolerance "
                f"{rules.atol_in(np.float64):g}, e.g. x = {_fmt(float(pts[k]))}: the code gives "
                f"{_fmt(float(got[k]))} where the exact value is {_fmt(float(exp[k]))}")
    msg += ")"
    for c in conventions:
        msg += f"; at x = {_fmt(float(c['x']))}: {c['text']} (accepted: any value between the one-sided derivatives)"
    if warned:
        msg += warned + " (reported, not judged)"
    return msg


def _convention_words(ref: _Ref, case, x: float, g: float, e: float, conventions) -> str:
    """What a ``convention`` failure at ``x`` means: which value each side takes at the jump or kink."""
    found = next((c for c in conventions if c["x"] == x and c["value"] == g), None)
    if ref.derivative:
        text = found["text"] if found else f"x = {_fmt(x)} is a kink or jump of the function"
        return (f"{text}; a convention, not another function (--kink-convention strict requires the "
                f"value the {ref.label} gives)")
    kink = next((k for k in difftest._kinks_of(case) if k.at == x), None)
    limits = f" (the one-sided limits are {_fmt(kink.left)} and {_fmt(kink.right)})" if kink else ""
    hint = found.get("param") if found else None
    if hint:
        name, _, value = hint.split()[1].partition("=")
        own = ref.subject.param_values.get(name)
        own = _fmt(float(own)) if own is not None else _fmt(e)
        return (f"a value at the jump{limits}, which is {ref.subject.name}'s parameter {name}: the code "
                f"follows {name} = {value} (symact check {ref.subject.name} {hint}), the {ref.label} "
                f"{name} = {own}; a convention, not another function")
    return (f"a value at the jump{limits}: the code takes {_fmt(g)} there, the {ref.label} {_fmt(e)}; "
            f"a convention, not another function")


def _safe(orc, v) -> float:
    try:
        return round_to(orc(v), np.float64)
    except Exception:  # noqa: BLE001 - the oracle cannot evaluate: undefined here
        return math.nan


def _expected_row(subject, row: np.ndarray):
    try:
        return difftest.expected_rows(subject, row, np.float64, False)
    except Exception:  # noqa: BLE001 - the reference is undefined at this vector: not judged
        return None


def compare_vector(ref: _Ref, vectors, got, warnings, errors, rules: policy.Policy | None = None
                   ) -> tuple[str, str | None, dict | None, str]:
    """(verdict, severity, witness, message) for code values on test vectors, judged row by row
    by :func:`symact.verify.difftest._row_judge` (normwise by default, as ``check --impl``)."""
    rules = rules or policy.Policy()
    case = _case(ref, rules)
    rows = []  # (vector, got or None, expected, failed, severity, normwise ulp, componentwise ulp, error)
    for v, g, err in zip(vectors, got, errors):
        row = np.array([v], dtype=np.float64)
        exp = _expected_row(ref.subject, row)
        if exp is None:
            continue
        ga = np.full(exp.shape, np.nan) if g is None else np.array([g], dtype=np.float64)
        _, norm, comp, row_fail, sev = difftest._row_judge(case, row, ga, exp, np.array([g is None]))
        rows.append((v, g, exp[0], bool(row_fail[0]), sev[0], float(norm[0]), float(comp[0]), err))
    mode = rules.vector_error
    failing = [r for r in rows if r[3]]
    if not failing:
        norm = max((r[5] for r in rows), default=0.0)
        comp = max((r[6] for r in rows), default=0.0)
        extra = f"; NumPy warned: {', '.join(warnings)} (reported, not judged)" if warnings else ""
        return "consistent", None, None, (
            f"agrees with the {ref.label} on {len(rows)} test vectors (max error {norm:g} ULP normwise, "
            f"{comp:g} componentwise; judged {mode}){extra}")
    top = policy.most_severe(r[4] for r in failing)
    counts = {c: sum(1 for r in failing if r[4] == c) for c in policy.SEVERITIES if any(r[4] == c for r in failing)}
    v, g, exp, _, _, _, _, err = next(r for r in failing if r[4] == top)
    what = f"raises {err}" if g is None else f"gives {[_fmt(float(t)) for t in g]}"
    at = f"at x = {[_fmt(float(t)) for t in v]} the code {what}"
    if top in ("wrong", "convention"):
        msg = f"{at}, the {ref.label} gives {[_fmt(float(t)) for t in exp]}{_also(counts, top, 'vectors')}"
    else:
        extra = f"; NumPy warned: {', '.join(warnings)}" if warnings else ""
        msg = (f"equal at ordinary inputs, but {at} where the exact values are {[_fmt(float(t)) for t in exp]} "
               f"({counts[top]} of {len(rows)} vectors {top}: {_tolerance(rules, ' ' + mode)}"
               f"{_also(counts, top, 'vectors')}{extra})")
    return SEVERITY[top], top, {"x": [_fmt(float(t)) for t in v]}, msg


# --------------------------------------------------------------------------- review
def review(path, *, execute: bool = True, seed: int = 0, timeout: float = sandbox.STEP_LIMIT,
           budget: float = sandbox.BUDGET, trust: bool = False, max_ulp: float = policy.MAX_ULP,
           atol: float | None = None, kink_convention: str = policy.KINK_CONVENTIONS[0],
           vector_error: str = policy.VECTOR_ERRORS[0]) -> Review:
    """Read the note at ``path`` and review every section (see the module docstring).

    ``timeout``: seconds for one block or one function's evaluation; ``budget``: seconds for
    all of the note's code; ``trust``: run the code even where it cannot be confined.
    ``max_ulp``, ``atol``, ``kink_convention``, ``vector_error``: the accuracy policy's options,
    as for ``symact check --impl`` (:mod:`symact.verify.policy`; same defaults).
    :class:`NoteError` when the note cannot be read, or its code cannot be run here; a
    :class:`~symact.errors.SymactError` for an option out of range.
    """
    rules = make_policy(max_ulp, atol, kink_convention, vector_error)
    text = read_note(path)
    sections = split_sections(text)
    has_code = any(s.code for s in sections)
    findings: list[Finding] = []
    if not execute or not has_code:
        execution = {"mode": "not run", "detail": "--no-exec" if not execute else "the note has no code"}
        for sec in sections:
            findings += _review_section(sec, None, execute=False, seed=seed, rules=rules)
        findings.sort(key=lambda f: f.line)
        return Review(str(path), findings, False, execution, policy_dict(rules))
    with sandbox.NoteRunner(trust=trust, step=timeout, budget=budget) as runner:
        try:
            how = runner.start()
        except sandbox.Unavailable as exc:
            raise NoteError(f"cannot run the code of {str(path)!r}: {exc}") from None
        for sec in sections:
            findings += _review_section(sec, runner, execute=True, seed=seed, rules=rules)
    findings.sort(key=lambda f: f.line)
    return Review(str(path), findings, True, {"mode": how.mode, "detail": how.describe()}, policy_dict(rules))


def _recognize_formula(parsed: ParsedFormula):
    """(activation record or None, catalog match or None, problem message or None)."""
    try:
        act = formula.activation_from_formula(parsed)
        matches = formula.catalog_matches(act)   # the oracle's budget (BudgetError) is a finding too
    except SymactError as exc:
        return None, None, str(exc)
    return act, (matches[0] if matches else None), None


def _match_name(m) -> str:
    if not m:
        return ""
    changed = {k: v for k, v in m["params"].items() if catalog.get(m["name"]).param_values[k] != sp.Rational(v)}
    p = ", ".join(f"{k}={v}" for k, v in changed.items())
    return f"{m['name']}" + (f" with {p}" if p else "")


def _review_section(sec: Section, runner, *, execute, seed, rules=None) -> list[Finding]:
    rules = rules or policy.Policy()
    out: list[Finding] = []
    title = sec.title
    plain, derivs = [], []  # (Formula, parsed, act, match)
    for fm in sec.formulas:
        try:
            parsed = parse_latex(fm.text)
        except SymactError as exc:
            first = str(exc).splitlines()[0]
            out.append(Finding(title, fm.line, fm.text, None, None, "error", None,
                               f"the formula cannot be read: {first}"))
            continue
        if parsed.is_derivative:
            derivs.append((fm, parsed))
        else:
            act, match, problem = _recognize_formula(parsed)
            plain.append((fm, parsed, act, match, problem))

    # code: parse, run, collect calls
    funcs = []  # (name, code block, Call or None, error)
    for code in sec.code:
        try:
            names = _functions(code.text)
        except SyntaxError as exc:
            out.append(Finding(title, code.line + (exc.lineno or 1) - 1, None, None, None, "error", None,
                               f"the code does not parse: {exc.msg} (line {exc.lineno} of the block)", "wrong"))
            continue
        if not execute:
            continue
        kinks = [k for _, p, a, _, _ in plain if a is not None and not a.vector for k in formula._kink_points(a.expr)]
        points = _points(kinks, seed)
        result = runner.run_block(code.text, names, points, [list(v) for v in formula.VECTOR_POINTS])
        if result.fatal:
            out.append(Finding(title, code.line, None, ", ".join(names) or None, None, "error", None, result.fatal,
                               None if result.fatal.startswith("not run") else "wrong"))
            continue
        if result.error:
            out.append(Finding(title, code.line, None, None, None, "error", None,
                               f"running the block failed: {result.error}", "wrong"))
        for name in names:
            funcs.append((name, code, result.calls.get(name), points))

    used_formulas: set[int] = set()
    section_act = next((a for _, _, a, m, _ in plain if a is not None and m), None) or \
        next((a for _, _, a, _, _ in plain if a is not None), None)
    section_match = next((m for _, _, a, m, _ in plain if a is section_act), None)
    for name, code, call, points in funcs:
        line = code.line
        no_scalar = call is not None and (call.scalar is None or all(v != v for v in call.scalar))
        if call is None or (call.scalar_error and no_scalar and all(v is None for v in call.vectors)):
            # no value at all (it raised at every point and vector): nothing to judge, as check's "wrong"
            out.append(Finding(title, line, None, name, None, "error", None,
                               f"{name} could not be called: {call.scalar_error if call else 'not defined'}",
                               "wrong"))
            continue
        is_deriv = bool(_DERIVATIVE_NAME.search(name))
        candidates = []
        if is_deriv:
            for fm, parsed in derivs:
                base = _deriv_base(parsed, section_act)
                if base is not None:
                    dname = section_match["name"] if section_match else base.name
                    try:
                        expr = formula.bind(base, parsed)
                    except SymactError:  # a symbol that is no parameter: the formula's own finding says so
                        continue
                    candidates.append((id(fm), fm, _Ref(_DerivativeFormula(base, expr, dname), True, "formula", None)))
            if not candidates and section_act is not None and not section_act.vector:
                candidates.append((None, None, _Ref(_subject(section_act, section_match), True,
                                                    "derivative of the section's formula", None)))
        else:
            for fm, parsed, act, match, _ in plain:
                if act is not None:
                    candidates.append((id(fm), fm, _Ref(_subject(act, match), False, "formula",
                                                        match["name"] if match else None)))
        verdicts = [(key, fm, ref, _compare(ref, call, points, rules)) for key, fm, ref in candidates]
        # the formula the code agrees with, else the one it is least far from (least severe class)
        rank = {None: 0, **{c: len(policy.SEVERITIES) - i for i, c in enumerate(policy.SEVERITIES)}}
        chosen = min(verdicts, key=lambda v: rank[v[3][1]]) if verdicts else None
        if chosen is None:
            ref, how = _recognize_code(call, points, rules)
            if ref is None:
                out.append(Finding(title, line, None, name, None, "unrecognized", None,
                                   f"{name} matches no catalog activation and the section has no formula for it"))
                continue
            verdict, severity, witness, msg = _compare(ref, call, points, rules)
            out.append(Finding(title, line, None, name, ref.activation, verdict, witness,
                               f"{name} is {ref.activation}: {msg}", severity))
            continue
        key, fm, ref, (verdict, severity, witness, msg) = chosen
        if key is not None:
            used_formulas.add(key)
        act_name = ref.activation
        if is_deriv and section_act is not None:
            m = next((m for _, _, a, m, _ in plain if a is section_act), None)
            act_name = m["name"] if m else None
        out.append(Finding(title, line, fm.text if fm else None, name, act_name, verdict, witness,
                           f"{name}: {msg}", severity))

    for fm, parsed, act, match, problem in plain:
        if id(fm) in used_formulas:
            continue
        if problem:
            out.append(Finding(title, fm.line, fm.text, None, None, "unrecognized", None,
                               f"not compared: {problem}"))
        elif match:
            out.append(Finding(title, fm.line, fm.text, None, match["name"], "consistent", None,
                               f"the formula is {_match_name(match)} ({match['verdict']})"))
        else:
            out.append(Finding(title, fm.line, fm.text, None, None, "unrecognized", None,
                               "the formula is no catalog activation"))
    for fm, parsed in derivs:
        out.append(_derivative_finding(title, fm, parsed, section_act, plain))
    return out


def _deriv_base(parsed, section_act):
    return section_act if section_act is not None and not section_act.vector else None


def _derivative_finding(title, fm, parsed, section_act, plain) -> Finding:
    base = _deriv_base(parsed, section_act)
    if base is None:
        return Finding(title, fm.line, fm.text, None, None, "unrecognized", None,
                       "a derivative formula, but the section defines no function to differentiate")
    match = next((m for _, _, a, m, _ in plain if a is base), None)
    name = match["name"] if match else None
    try:
        res = formula.formula_test(base, parsed)
    except SymactError as exc:
        return Finding(title, fm.line, fm.text, None, name, "error", None, str(exc))
    d = res.details
    if res.passed:
        return Finding(title, fm.line, fm.text, None, name, "consistent", None,
                       f"the derivative is right ({d['verdict']}: {d.get('note', '')})")
    if d.get("verdict") == "refuted":
        at_kink = _at_kink(base, d["witness"]["x"])
        why = (": x = {} is a kink of the section's function, where the value is a convention".format(
            d["witness"]["x"]) if at_kink else "")
        return Finding(title, fm.line, fm.text, None, name, "mismatch", d["witness"],
                       f"the derivative is wrong: at x = {d['witness']['x']} the formula gives {d['got']}, "
                       f"the derivative of the section's function is {d['expected']}{why}",
                       "convention" if at_kink else "wrong")
    return Finding(title, fm.line, fm.text, None, name, "error", None, d.get("note", "not decided"))


def _at_kink(act, x: str) -> bool:
    """Is the exact witness ``x`` (a rational's text) a kink or jump of ``act``?"""
    try:
        w = sp.Rational(x)
        return any(k.at == w for k in act.kinks)
    except (TypeError, ValueError, SymactError):
        return False


def _compare(ref: _Ref, call: sandbox.Call, points, rules=None) -> tuple[str, str | None, dict | None, str]:
    if ref.vector:
        return compare_vector(ref, [list(v) for v in formula.VECTOR_POINTS], call.vectors,
                              call.vector_warnings, call.vector_errors, rules)
    return compare_scalar(ref, points, call.scalar, call.warnings, call.scalar_error, rules)


_PRE = (-2.0, -0.5, 0.5, 1.0, 3.0)


def _recognize_code(call: sandbox.Call, points, rules=None) -> tuple[_Ref | None, str]:
    """The catalog activation the code computes: close at a few ordinary points, then not
    ``wrong`` by the policy (a convention at a jump, or a loss in the tails, is still the function)."""
    idx = [points.index(p) for p in _PRE if p in points]
    got = [call.scalar[i] for i in idx]
    for name in catalog.names():
        act = catalog.get(name)
        if act.vector:
            continue
        exp = [_safe(Oracle(act.expr, act.x), points[i]) for i in idx]
        if all(abs(g - e) <= LOOSE * max(1.0, abs(e)) for g, e in zip(got, exp)):
            ref = _Ref(act, False, name, name)
            if compare_scalar(ref, points, call.scalar, [], None, rules)[1] != "wrong":
                return ref, "scalar"
    for name in catalog.names():
        act = catalog.get(name)
        if not act.vector:
            continue
        ref = _Ref(act, False, name, name)
        ordinary = [i for i, v in enumerate(formula.VECTOR_POINTS) if max(map(abs, v)) <= RECOGNIZE_RANGE]
        vecs = [list(formula.VECTOR_POINTS[i]) for i in ordinary]
        if compare_vector(ref, vecs, [call.vectors[i] for i in ordinary], [],
                          [call.vector_errors[i] for i in ordinary], rules)[0] == "consistent":
            return ref, "vector"
    return None, ""
