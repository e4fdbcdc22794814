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
* ``mismatch`` - they differ at an ordinary input (|x| <= 20); the witness is
  the simplest such input (0 first, then integers, then by size);
* ``inaccurate`` - equal at ordinary inputs, but the code is off by more than
  :data:`MAX_ULP` ULP somewhere (tails, subnormals, overflow to inf/nan),
  raises there, or NumPy warns of overflow;
* ``unrecognized`` - a formula or function that is no catalog activation and
  has nothing to be compared with;
* ``error`` - a formula that cannot be read, code that does not parse, raises,
  or does not finish in time, and code that could not run (the sandbox died
  or the note's time budget was spent before it).

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
from symact.symbolic import forms as symbolic
from symact.errors import SymactError
from symact.parse.common import ParsedFormula
from symact.parse.latex import parse_latex
from symact.numeric.oracle import Oracle, VectorOracle, round_to
from symact.numeric.ulp import ulp_distance

#: Code within this many ULP of the reference is accurate.
MAX_ULP = 64
#: Inputs up to this size are "ordinary": a difference there is a mismatch.
ORDINARY = 20.0
#: Relative tolerance for agreement at ordinary inputs.
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

    @property
    def ok(self) -> bool:
        return not any(f.verdict in ("mismatch", "inaccurate", "error") for f in self.findings)

    def to_dict(self) -> dict:
        return {"findings": [f.to_dict() for f in self.findings], "ok": self.ok, "execution": self.execution}


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
    """Something code can be compared with: a scalar or vector expression."""

    expr: sp.Expr
    vector: bool
    label: str  # "formula" or "sigmoid" ...
    activation: str | None


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


def compare_scalar(ref: _Ref, points: list[float], got: list[float], warnings: list[str],
                   error: str | None) -> tuple[str, dict | None, str]:
    """(verdict, witness, message) for scalar code values ``got`` against ``ref``."""
    orc = Oracle(ref.expr, symbolic.X)
    exp = np.array([_safe(orc, v) for v in points])
    got_a = np.array(got, dtype=np.float64)
    defined = ~np.isnan(exp)
    pts = np.array(points)
    ordinary = defined & (np.abs(pts) <= ORDINARY) & np.isfinite(exp)
    bad_ord = ordinary & ~(np.abs(got_a - exp) <= LOOSE * np.maximum(1.0, np.abs(exp)))
    if bad_ord.any():
        x = min((float(v) for v in pts[bad_ord]), key=_simplicity)
        k = points.index(x)
        return "mismatch", {"x": _fmt(x)}, (
            f"at x = {_fmt(x)} the code gives {_fmt(float(got_a[k]))}, the {ref.label} gives {_fmt(float(exp[k]))}")
    ulps = ulp_distance(got_a, exp)
    bad = defined & (ulps > MAX_ULP)
    if bad.any():
        blown = bad & ~np.isfinite(got_a) & np.isfinite(exp)  # overflow to inf/nan shows it best
        x = min((float(v) for v in pts[blown if blown.any() else bad]), key=_simplicity)
        k = points.index(x)
        extra = f"; NumPy warned: {', '.join(warnings)}" if warnings else ""
        return "inaccurate", {"x": _fmt(x)}, (
            f"equal at ordinary inputs, but at x = {_fmt(x)} the code gives {_fmt(float(got_a[k]))} "
            f"where the exact value is {_fmt(float(exp[k]))} ({int(bad.sum())} of {len(points)} points "
            f"off by more than {MAX_ULP} ULP{extra})")
    overflow = [w for w in warnings if "overflow" in w]
    if overflow:
        return "inaccurate", None, (f"values are right, but NumPy warned: {', '.join(warnings)} "
                                    "(an intermediate overflows)")
    worst = float(np.max(ulps[defined])) if defined.any() else 0.0
    return "consistent", None, (f"agrees with the {ref.label} on {int(defined.sum())} points "
                                f"(max error {worst:g} ULP)")


def _safe(orc, v) -> float:
    try:
        return round_to(orc(v), np.float64)
    except Exception:  # noqa: BLE001 - the oracle cannot evaluate: undefined here
        return math.nan


def compare_vector(ref: _Ref, vectors, got, warnings, errors) -> tuple[str, dict | None, str]:
    bad_ord, bad_tail = None, None
    for v, g, err in zip(vectors, got, errors):
        xs, comps = symbolic.components(ref.expr, len(v))
        exp = VectorOracle(comps, xs).rounded(v)
        ordinary = max(abs(t) for t in v) <= ORDINARY
        if g is None:
            entry = (v, None, exp, err)
        else:
            ga = np.array(g)
            ea = np.array(exp)
            if ordinary and not np.all(np.abs(ga - ea) <= LOOSE * np.maximum(1.0, np.abs(ea))):
                entry = (v, g, exp, None)
            elif np.any(ulp_distance(ga, ea) > MAX_ULP):
                entry = (v, g, exp, None)
            else:
                continue
        if ordinary and bad_ord is None:
            bad_ord = entry
        elif not ordinary and bad_tail is None:
            bad_tail = entry
    if bad_ord is not None:
        v, g, exp, err = bad_ord
        what = f"raises {err}" if g is None else f"gives {[_fmt(t) for t in g]}"
        return "mismatch", {"x": [_fmt(t) for t in v]}, (
            f"at x = {[_fmt(t) for t in v]} the code {what}, the {ref.label} gives {[_fmt(t) for t in exp]}")
    if bad_tail is not None:
        v, g, exp, err = bad_tail
        what = f"raises {err}" if g is None else f"gives {[_fmt(t) for t in g]}"
        extra = f"; NumPy warned: {', '.join(warnings)}" if warnings else ""
        return "inaccurate", {"x": [_fmt(t) for t in v]}, (
            f"equal at ordinary inputs, but at x = {[_fmt(t) for t in v]} the code {what} "
            f"where the exact values are {[_fmt(t) for t in exp]}{extra}")
    return "consistent", None, f"agrees with the {ref.label} on {len(vectors)} test vectors"


# --------------------------------------------------------------------------- review
def review(path, *, execute: bool = True, seed: int = 0, timeout: float = sandbox.STEP_LIMIT,
           budget: float = sandbox.BUDGET, trust: bool = False) -> Review:
    """Read the note at ``path`` and review every section (see the module docstring).

    ``timeout``: seconds for one block or one function's evaluation; ``budget``: seconds for
    all of the note's code; ``trust``: run the code even where it cannot be confined.
    :class:`NoteError` when the note cannot be read, or its code cannot be run here.
    """
    text = read_note(path)
    sections = split_sections(text)
    has_code = any(s.code for s in sections)
    findings: list[Finding] = []
    if not execute or not has_code:
        execution = {"mode": "not run", "detail": "--no-exec" if not execute else "the note has no code"}
        for sec in sections:
            findings += _review_section(sec, None, execute=False, seed=seed)
        findings.sort(key=lambda f: f.line)
        return Review(str(path), findings, False, execution)
    with sandbox.NoteRunner(trust=trust, step=timeout, budget=budget) as runner:
        try:
            how = runner.start()
        except sandbox.Unavailable as exc:
            raise NoteError(f"cannot run the code of {str(path)!r}: {exc}") from None
        for sec in sections:
            findings += _review_section(sec, runner, execute=True, seed=seed)
    findings.sort(key=lambda f: f.line)
    return Review(str(path), findings, True, {"mode": how.mode, "detail": how.describe()})


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


def _review_section(sec: Section, runner, *, execute, seed) -> list[Finding]:
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
                               f"the code does not parse: {exc.msg} (line {exc.lineno} of the block)"))
            continue
        if not execute:
            continue
        kinks = [k for _, p, a, _, _ in plain if a is not None and not a.vector for k in formula._kink_points(a.expr)]
        points = _points(kinks, seed)
        result = runner.run_block(code.text, names, points, [list(v) for v in formula.VECTOR_POINTS])
        if result.fatal:
            out.append(Finding(title, code.line, None, ", ".join(names) or None, None, "error", None, result.fatal))
            continue
        if result.error:
            out.append(Finding(title, code.line, None, None, None, "error", None,
                               f"running the block failed: {result.error}"))
        for name in names:
            funcs.append((name, code, result.calls.get(name), points))

    used_formulas: set[int] = set()
    section_act = next((a for _, _, a, m, _ in plain if a is not None and m), None) or \
        next((a for _, _, a, _, _ in plain if a is not None), None)
    for name, code, call, points in funcs:
        line = code.line
        if call is None or (call.scalar is None and call.scalar_error):
            out.append(Finding(title, line, None, name, None, "error", None,
                               f"{name} could not be called: {call.scalar_error if call else 'not defined'}"))
            continue
        is_deriv = bool(_DERIVATIVE_NAME.search(name))
        candidates = []
        if is_deriv:
            for fm, parsed in derivs:
                base = _deriv_base(parsed, section_act)
                if base is not None:
                    candidates.append((id(fm), fm, _Ref(formula.bind(base, parsed), False, "formula",
                                                        None)))
            if not derivs and section_act is not None and not section_act.vector:
                candidates.append((None, None, _Ref(section_act.derivative, False,
                                                    "derivative of the section's formula", None)))
        else:
            for fm, parsed, act, match, _ in plain:
                if act is not None:
                    candidates.append((id(fm), fm, _Ref(act.expr, act.vector, "formula",
                                                        match["name"] if match else None)))
        verdicts = [(key, fm, ref, _compare(ref, call, points)) for key, fm, ref in candidates]
        chosen = next((v for v in verdicts if v[3][0] == "consistent"), None) or \
            next((v for v in verdicts if v[3][0] == "inaccurate"), None) or (verdicts[0] if verdicts else None)
        if chosen is None:
            ref, how = _recognize_code(call, points)
            if ref is None:
                out.append(Finding(title, line, None, name, None, "unrecognized", None,
                                   f"{name} matches no catalog activation and the section has no formula for it"))
                continue
            verdict, witness, msg = _compare(ref, call, points)
            out.append(Finding(title, line, None, name, ref.activation, verdict, witness,
                               f"{name} is {ref.activation}: {msg}"))
            continue
        key, fm, ref, (verdict, witness, msg) = chosen
        if key is not None:
            used_formulas.add(key)
        act_name = ref.activation
        if is_deriv and section_act is not None:
            m = next((m for _, _, a, m, _ in plain if a is section_act), None)
            act_name = m["name"] if m else None
        out.append(Finding(title, line, fm.text if fm else None, name, act_name, verdict, witness,
                           f"{name}: {msg}"))

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
        return Finding(title, fm.line, fm.text, None, name, "mismatch", d["witness"],
                       f"the derivative is wrong: at x = {d['witness']['x']} the formula gives {d['got']}, "
                       f"the derivative of the section's function is {d['expected']}")
    return Finding(title, fm.line, fm.text, None, name, "error", None, d.get("note", "not decided"))


def _compare(ref: _Ref, call: sandbox.Call, points) -> tuple[str, dict | None, str]:
    if ref.vector:
        return compare_vector(ref, [list(v) for v in formula.VECTOR_POINTS], call.vectors,
                              call.vector_warnings, call.vector_errors)
    return compare_scalar(ref, points, call.scalar, call.warnings, call.scalar_error)


_PRE = (-2.0, -0.5, 0.5, 1.0, 3.0)


def _recognize_code(call: sandbox.Call, points) -> tuple[_Ref | None, str]:
    """The catalog activation the code computes (loosely, at a few ordinary points)."""
    idx = [points.index(p) for p in _PRE if p in points]
    got = [call.scalar[i] for i in idx]
    for name in catalog.names():
        act = catalog.get(name)
        if act.vector:
            continue
        exp = [_safe(Oracle(act.expr, act.x), points[i]) for i in idx]
        if all(abs(g - e) <= LOOSE * max(1.0, abs(e)) for g, e in zip(got, exp)):
            ref = _Ref(act.expr, False, name, name)
            if compare_scalar(ref, points, call.scalar, [], None)[0] != "mismatch":
                return ref, "scalar"
    for name in catalog.names():
        act = catalog.get(name)
        if not act.vector:
            continue
        ref = _Ref(act.expr, True, name, name)
        ordinary = [i for i, v in enumerate(formula.VECTOR_POINTS) if max(map(abs, v)) <= ORDINARY]
        vecs = [list(formula.VECTOR_POINTS[i]) for i in ordinary]
        if compare_vector(ref, vecs, [call.vectors[i] for i in ordinary], [],
                          [call.vector_errors[i] for i in ordinary])[0] == "consistent":
            return ref, "vector"
    return None, ""
