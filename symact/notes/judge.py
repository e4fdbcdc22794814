"""Judging a note's code: the references it is compared with (a formula, a catalog activation,
a derivative), and the comparison of its values under the accuracy policy of ``check --impl``
(:mod:`symact.verify.policy`, through :mod:`symact.verify.difftest`'s judgement).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symact.errors import SymactError
from symact.model import catalog
from symact.notes import sandbox
from symact.numeric.oracle import Oracle, oracle_for, round_to
from symact.verify import difftest, formula, policy

#: Finding verdict of each severity class (:data:`symact.verify.policy.SEVERITIES`).
SEVERITY = {"wrong": "mismatch", "convention": "mismatch", "unstable": "inaccurate", "inaccurate": "inaccurate"}
#: Recognizing code with no formula (:func:`recognize_code`): a first look at a few
#: inputs up to this size, within this relative tolerance, before the policy's judgement.
RECOGNIZE_RANGE = 20.0
LOOSE = 1e-6


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
    raised = f"; it {describe_raise(error)}" if error else ""
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


def describe_raise(error: str | None) -> str:
    """The child's "x = 1000.0: OverflowError: math range error" as "raised OverflowError: math
    range error at x = 1000" (what the code raised, and where)."""
    import re

    m = re.match(r"x = ([^:]+): (.*)$", error or "", re.S)
    if not m:
        return f"raised {error}"
    try:
        at = _fmt(float(m.group(1)))
    except ValueError:
        at = m.group(1)
    return f"raised {m.group(2)} at x = {at}"


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
        if ga.size != exp.size:                        # not the declared output shape: wrong there
            ga = np.full(exp.shape, np.nan)
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
        if not act.vector or act.shape != "same":      # glu, logsumexp, crelu: another output shape
            continue
        ref = _Ref(act, False, name, name)
        ordinary = [i for i, v in enumerate(formula.VECTOR_POINTS) if max(map(abs, v)) <= RECOGNIZE_RANGE]
        vecs = [list(formula.VECTOR_POINTS[i]) for i in ordinary]
        if compare_vector(ref, vecs, [call.vectors[i] for i in ordinary], [],
                          [call.vector_errors[i] for i in ordinary], rules)[0] == "consistent":
            return ref, "vector"
    return None, ""
