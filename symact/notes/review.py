r"""Review a research note: do its formulas and its Python code say the same thing?

:func:`review` reads a Markdown note (UTF-8; any language), splits it into
sections at its headings, and collects per section the formulas (```` ```math ```` fences, display math ``$$...$$`` and ``\[...\]``,
inline math ``$...$`` and ``\(...\)`` that defines a function), the values its prose gives
symbols ("where α = 1.6733") and the functions defined in its Python fences, in any spelling
(```` ```python ````, ``py``, ``python3``, ``{.python .input}``; found with :mod:`ast`; parsing
is not running). Reading is :mod:`symact.notes.markdown`, formulas :mod:`symact.notes.formulas`,
code :mod:`symact.notes.judge`, the counts :mod:`symact.notes.summary`.
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
* ``not run`` - a function of the note when its code is not run (``--no-exec``): nothing is
  claimed about it;
* ``error`` - a formula that cannot be read (the reader's message, with its position), code that does not parse, raises,
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

A formula whose head names a catalog function (``\mathrm{sigmoid}(x) = ...``, ``Mish'(x) =
...``) is checked against it, every side of a chain (``a = b = c``) is checked, and a wrong
one is a ``mismatch`` with its witness. ``\sigma`` is the sigmoid unless the note says
otherwise (a formula ``\sigma(x) = \tanh(x)``, or "σ denotes tanh"), and then means that for
the note's later formulas. A formula is never an abort: the review always completes.

Pairing in a section: a function whose name says derivative (grad, deriv,
prime, backward, ``_d``) goes with the derivative formulas and with the derivative of the
section's function (its formula's, else the catalog function the section's title, a formula's
head or the code's name names, even when the formula cannot be read); others with the formula
they agree with, else the first one. Code runs only through
:mod:`symact.notes.sandbox` (one confined child per note: each block once, in
order, in one namespace, under one time budget), and only when ``execute`` is
true; where the platform offers no confinement it runs only with ``trust``, and
:attr:`Review.execution` says which way it ran. The note itself must be a regular
file of at most :data:`MAX_NOTE_BYTES` bytes. The library never prints;
:mod:`symact.cli.notes` writes the review.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from symact.errors import SymactError
from symact.model import catalog
from symact.notes import formulas, judge, sandbox, summary as summaries
from symact.notes.judge import (  # noqa: F401 - the review's judgement, re-exported
    LOOSE, RECOGNIZE_RANGE, SEVERITY, _Ref, _DerivativeFormula, _subject, compare_scalar, compare_vector)
from symact.notes.markdown import (  # noqa: F401 - reading a note, re-exported
    MAX_NOTE_BYTES, NoteError, Section, read_note, split_sections, functions_in, sigma_meaning)
from symact.parse.common import catalog_name
from symact.verify import difftest, formula, policy

_DERIVATIVE_NAME = re.compile(r"(grad|deriv|prime|backward|diff|(^|_)d($|_)|dash)", re.I)
_DERIVATIVE_PARTS = re.compile(r"(_?(grad|gradient|derivative|deriv|prime|backward|diff|dash)_?|^d_|_d$|^d(?=[a-z]{3}))",
                               re.I)
VERDICTS = ("consistent", "mismatch", "inaccurate", "unrecognized", "not run", "error")


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
    one of ``confined``, ``unconfined`` (only with ``trust``) and ``not run``; ``summary``: how
    much was read, checked and run (:mod:`symact.notes.summary`)."""

    path: str
    findings: list[Finding]
    executed: bool
    execution: dict = field(default_factory=lambda: {"mode": "not run", "detail": "--no-exec"})
    policy: dict = field(default_factory=lambda: policy_dict(policy.Policy()))
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.verdict in ("mismatch", "inaccurate", "error") for f in self.findings)

    def to_dict(self) -> dict:
        return {"findings": [f.to_dict() for f in self.findings], "ok": self.ok, "execution": self.execution,
                "policy": self.policy, "summary": self.summary}


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


# --------------------------------------------------------------------------- review
class _Note:
    """What a note says across its sections: the meaning of sigma so far, the prose's values."""

    def __init__(self, sections):
        self.functions: dict = {}
        self.values: dict = {}
        for sec in sections:
            for d in sec.definitions:
                self.values.setdefault(d.key, (d.value, d.text))
        self.counts = summaries.Counts()
        self.known: dict = {}  # catalog name -> the entry as the note defines it (its parameters)
        self.missing_module: str | None = None  # the first block that could not import a module

    def entry(self, name: str):
        """The catalog function ``name`` as this note defines it (with the parameters its
        formulas gave it), else the catalog's."""
        return self.known.get(name) or catalog.get(name)

    def sigma(self) -> str:
        return getattr(self.functions.get("sigma"), "catalog_name", None) or "sigmoid"

    def values_for(self, sec) -> dict:
        own = {}
        for d in sec.definitions:
            own.setdefault(d.key, (d.value, d.text))
        return {**self.values, **own}


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
    :class:`~symact.errors.SymactError` for an option out of range. A formula never ends the
    review: one that cannot be read or checked is an ``error`` finding.
    """
    rules = make_policy(max_ulp, atol, kink_convention, vector_error)
    text = read_note(path)
    sections = split_sections(text)
    note = _Note(sections)
    has_code = any(s.code for s in sections)
    findings: list[Finding] = []
    if not execute or not has_code:
        execution = {"mode": "not run", "detail": "--no-exec" if not execute else "the note has no code"}
        for sec in sections:
            findings += _review_section(sec, None, note, execute=False, seed=seed, rules=rules)
        findings.sort(key=lambda f: f.line)
        return Review(str(path), findings, False, execution, policy_dict(rules),
                      note.counts.as_dict(executed=False, no_exec=not execute))
    with sandbox.NoteRunner(trust=trust, step=timeout, budget=budget) as runner:
        try:
            how = runner.start()
        except sandbox.Unavailable as exc:
            raise NoteError(f"cannot run the code of {str(path)!r}: {exc}") from None
        for sec in sections:
            findings += _review_section(sec, runner, note, execute=True, seed=seed, rules=rules)
    findings.sort(key=lambda f: f.line)
    return Review(str(path), findings, True, {"mode": how.mode, "detail": how.describe()}, policy_dict(rules),
                  note.counts.as_dict(executed=True, no_exec=False))


def _read_formulas(sec: Section, note: _Note, out: list[Finding]):
    """Each formula of the section read in order (sigma's meaning changes as the note defines it)."""
    plain, derivs = [], []
    values = note.values_for(sec)
    for fm in sec.formulas:
        note.counts.formulas += 1
        meaning = sigma_meaning(_prose_before(sec, fm.line))
        if meaning and meaning != "sigmoid":
            note.functions["sigma"] = formulas.sigma_function(meaning)
        rf = formulas.read(fm, note.functions, values, note.entry)
        if rf.parsed is None:
            out.append(Finding(sec.title, fm.line, fm.text, None, None, "error", None, rf.error))
            continue
        note.counts.read += 1
        sigma = formulas.defines_sigma(rf)
        if sigma:
            note.functions["sigma"] = formulas.sigma_function(sigma)
        if rf.match and rf.match.get("verdict") == "proved":
            subject = judge._subject(rf.act, rf.match)
            if getattr(subject, "name", None) == rf.match["name"]:
                note.known[rf.match["name"]] = subject
        (derivs if rf.is_derivative else plain).append(rf)
    return plain, derivs


def _prose_before(sec: Section, line: int) -> str:
    return "\n".join(t for ln, t in sec.prose if ln <= line)


def _base_name(sec: Section, plain, derivs, names, note) -> str | None:
    """The catalog function a section is about when its own formula gives none: a formula's head
    (``\\sigma'`` is the note's sigma), the title, a function's name (``mish_prime`` -> mish)."""
    for rf in plain + derivs:
        if rf.label:
            return rf.label
        if rf.parsed is not None and rf.parsed.head == "sigma":
            return note.sigma()
    candidates = [sec.title] + re.findall(r"[A-Za-z][A-Za-z0-9_\- ]*[A-Za-z0-9]", sec.title)
    candidates += [w for c in candidates[1:] for w in c.split()]
    candidates += [_DERIVATIVE_PARTS.sub("", n) for n in names if _DERIVATIVE_NAME.search(n)]
    for c in candidates:
        name = catalog_name(c.strip())
        if name is not None and not catalog.get(name).vector:
            return name
    return None


def _label_finding(title, rf, used: bool) -> Finding | None:
    """A named or chained formula, every side checked: None when it is paired with code and right."""
    p = rf.parsed
    links = formulas.links_of(p)
    if rf.label and not rf.is_derivative:
        try:  # the label names the family: its parameters may take the formula's values
            entry = judge._subject(rf.act, rf.match) if rf.match and rf.match["name"] == rf.label \
                else catalog.get(rf.label)
        except SymactError:
            return None
        what = formulas.match_name(rf.match) if rf.match and rf.match["name"] == rf.label else rf.label
        checks = formulas.check_against(entry, rf, what)
    elif len(links) > 1 and rf.act is not None and not rf.is_derivative:
        checks = formulas.check_against(rf.act, rf, "the first side")[1:]
    else:
        return None
    bad = [c for c in checks if c.verdict == "mismatch"] or [c for c in checks if c.verdict == "error"]
    if not bad and used:
        return None
    if bad:
        c = bad[0]
        return Finding(title, rf.line, rf.text, None, rf.label, c.verdict, c.witness,
                       "; ".join(b.message for b in bad), c.severity)
    name = formulas.match_name(rf.match) if rf.match else rf.label
    return Finding(title, rf.line, rf.text, None, rf.label or (rf.match or {}).get("name"), "consistent", None,
                   f"the formula is {name}" + (f" ({rf.match['verdict']})" if rf.match else "") + _with_values(rf)
                   + ("; " + "; ".join(c.message for c in checks)
                      if len(links) > 1 or any(k.relation != "=" for k in links) else ""))


def _review_section(sec: Section, runner, note: _Note | None = None, *, execute, seed, rules=None) -> list[Finding]:
    rules = rules or policy.Policy()
    note = note or _Note([sec])
    out: list[Finding] = []
    title = sec.title
    plain, derivs = _read_formulas(sec, note, out)

    # code: parse, run, collect calls
    funcs = []  # (name, code block, Call or None, points)
    all_names = []
    for code in sec.code:
        try:
            names = functions_in(code.text)
        except SyntaxError as exc:
            out.append(Finding(title, code.line + (exc.lineno or 1) - 1, None, None, None, "error", None,
                               f"the code does not parse: {exc.msg} (line {exc.lineno} of the block)", "wrong"))
            continue
        all_names += names
        note.counts.functions += len(names)
        if not execute:
            for name in names:
                out.append(Finding(title, code.line, None, name, None, "not run", None, "not run (--no-exec)"))
            continue
        kinks = [k for rf in plain if rf.act is not None and not rf.act.vector for k in formula._kink_points(rf.act.expr)]
        points = judge._points(kinks, seed)
        result = runner.run_block(code.text, names, points, [list(v) for v in formula.VECTOR_POINTS])
        if result.fatal:
            out.append(Finding(title, code.line, None, ", ".join(names) or None, None, "error", None, result.fatal,
                               None if result.fatal.startswith("not run") else "wrong"))
            continue
        note.counts.blocks_run += 1
        if result.error:
            missing = result.error.startswith(("ModuleNotFoundError", "ImportError"))
            after = note.missing_module is not None and not names
            why = (" (the module is not available where the note's code runs; nothing judged)" if missing
                   else f" (after {note.missing_module}; nothing judged)" if after else "")
            if missing and note.missing_module is None:
                note.missing_module = f"the block at line {code.line} could not import a module"
            out.append(Finding(title, code.line, None, None, None, "error", None,
                               f"running the block failed: {result.error}{why}", None if missing or after else "wrong"))
        for name in names:
            note.counts.run += 1
            funcs.append((name, code, result.calls.get(name), points))

    section_rf = next((rf for rf in plain if rf.act is not None and rf.match), None) or \
        next((rf for rf in plain if rf.act is not None), None)
    section_act = section_rf.act if section_rf else None
    section_match = section_rf.match if section_rf else None
    base_name = _base_name(sec, plain, derivs, all_names, note)
    if section_act is not None and not section_act.vector:
        base, base_label = judge._subject(section_act, section_match), (section_match or {}).get("name")
    elif base_name is not None:
        base, base_label = note.entry(base_name), base_name
    else:
        base, base_label = None, None

    used: set[int] = set()
    for name, code, call, points in funcs:
        try:
            out.append(_code_finding(title, name, code, call, points, plain, derivs, base, base_label,
                                     section_act, section_match, used, rules, note.entry))
        except formulas.CHECK_ERRORS as exc:  # a reference the oracle cannot evaluate: this function's finding
            out.append(Finding(title, code.line, None, name, None, "error", None,
                               f"{name} could not be judged: {type(exc).__name__}: {exc}"))

    for rf in plain:
        labelled = _label_finding(title, rf, id(rf) in used)
        if labelled is not None:
            note.counts.checked += 1
            out.append(labelled)
            continue
        if id(rf) in used:
            note.counts.checked += 1
            continue
        if rf.problem:
            out.append(Finding(title, rf.line, rf.text, None, None, "unrecognized", None, f"not compared: {rf.problem}"))
        elif rf.match:
            note.counts.checked += 1
            out.append(Finding(title, rf.line, rf.text, None, rf.match["name"], "consistent", None,
                               f"the formula is {formulas.match_name(rf.match)} ({rf.match['verdict']})"
                               + _with_values(rf)))
        else:
            out.append(Finding(title, rf.line, rf.text, None, None, "unrecognized", None,
                               "the formula is no catalog activation" + _with_values(rf)))
    for rf in derivs:
        out.append(_derivative_finding(title, rf, base, base_label, note))
    return out


def _with_values(rf) -> str:
    """The prose's values the formula used, and what the reader dropped or assumed."""
    out = ""
    if rf.params:
        out += " (" + ", ".join(f"{k} = {v[0]} from the prose: {v[1]!r}" for k, v in rf.params.items()) + ")"
    said = tuple(getattr(rf.parsed, "notes", ()) or ())
    if said:
        out += " (read: " + "; ".join(said) + ")"
    return out


def _derivative_finding(title, rf, base, base_label, note) -> Finding:
    if base is None:
        return Finding(title, rf.line, rf.text, None, None, "unrecognized", None,
                       "a derivative formula, but the section defines no function to differentiate")
    checks = formulas.check_against(base, rf, f"the derivative of {base_label or 'the section' + chr(39) + 's function'}")
    note.counts.checked += 1
    bad = [c for c in checks if c.verdict == "mismatch"] or [c for c in checks if c.verdict == "error"]
    if bad:
        c = bad[0]
        severity = c.severity
        if c.verdict == "mismatch" and c.witness and formulas.at_kink(base, c.witness.get("x", "")):
            severity = "convention"
        if severity == "convention":
            of = base_label or "the section's function"
            message = (f"at x = {c.witness['x']}, a kink of {of}, the formula gives {c.got} and symact's "
                       f"derivative of {of} {c.expected}: the value at a kink is a convention, not another function")
        elif c.verdict == "mismatch":
            message = "the derivative is wrong: " + "; ".join(b.message for b in bad)
        else:
            message = "; ".join(b.message for b in bad)
        return Finding(title, rf.line, rf.text, None, base_label, c.verdict, c.witness, message, severity)
    return Finding(title, rf.line, rf.text, None, base_label, "consistent", None,
                   "the derivative is right (" + "; ".join(c.message for c in checks) + ")")


_raised = judge.describe_raise


def _code_finding(title, name, code, call, points, plain, derivs, base, base_label, section_act, section_match,
                  used, rules, note_entry=catalog.get) -> Finding:
    line = code.line
    no_scalar = call is not None and (call.scalar is None or all(v != v for v in call.scalar))
    if call is None or (call.scalar_error and no_scalar and all(v is None for v in call.vectors)):
        # no value at all (it raised at every point and vector): nothing to judge, as check's "wrong"
        what = _raised(call.scalar_error) if call and call.scalar_error else "is not defined"
        return Finding(title, line, None, name, None, "error", None, f"{name} {what}", "wrong")
    is_deriv = bool(_DERIVATIVE_NAME.search(name))
    candidates = []
    if is_deriv:
        for rf in derivs:
            if base is None:
                continue
            try:
                expr = formula.bind(base, formulas.side(rf.parsed, formulas.links_of(rf.parsed)[0]))
            except formulas.CHECK_ERRORS:  # a symbol that is no parameter: the formula's own finding says so
                continue
            candidates.append((id(rf), rf, _Ref(_DerivativeFormula(base, expr, base_label or base.name), True,
                                                "formula", None)))
        if base is not None and not base.vector:  # and always the derivative of the section's function
            label = "derivative of the section's formula" if section_act is not None else f"derivative of {base_label}"
            candidates.append((None, None, _Ref(base, True, label, None)))
    else:
        for rf in plain:
            if rf.act is not None:
                candidates.append((id(rf), rf, _Ref(_subject(rf.act, rf.match), False, "formula",
                                                    rf.match["name"] if rf.match else None)))
        if not candidates and base is not None and section_act is None:
            own = catalog_name(name)  # a helper named for another function (sigmoid beside swish) is that one
            ref = base if own is None or own == base_label or catalog.get(own).vector else note_entry(own)
            label = own if ref is not base else base_label
            candidates.append((None, None, _Ref(ref, False, label, label)))
    verdicts = [(key, rf, ref, judge._compare(ref, call, points, rules)) for key, rf, ref in candidates]
    rank = {None: 0, **{c: len(policy.SEVERITIES) - i for i, c in enumerate(policy.SEVERITIES)}}
    chosen = min(verdicts, key=lambda v: rank[v[3][1]]) if verdicts else None
    if chosen is None:
        ref, _how = judge._recognize_code(call, points, rules)
        if ref is None:
            if call.scalar_error:
                return Finding(title, line, None, name, None, "error", None, f"{name} {_raised(call.scalar_error)}",
                               "wrong")
            return Finding(title, line, None, name, None, "unrecognized", None,
                           f"{name} matches no catalog activation and the section has no formula for it")
        verdict, severity, witness, msg = judge._compare(ref, call, points, rules)
        return Finding(title, line, None, name, ref.activation, verdict, witness, f"{name} is {ref.activation}: {msg}",
                       severity)
    key, rf, ref, (verdict, severity, witness, msg) = chosen
    if key is not None:
        used.add(key)
    act_name = ref.activation
    if is_deriv:
        act_name = (section_match or {}).get("name") if section_act is not None else base_label
    if call.scalar_error and verdict != "consistent" and "raised" not in msg:
        msg += f"; it {_raised(call.scalar_error)}"
    against = f" (against the {ref.label})" if ref.derivative and verdict != "mismatch" else ""
    return Finding(title, line, rf.text if rf else None, name, act_name, verdict, witness,
                   f"{name}{against}: {msg}", severity)
