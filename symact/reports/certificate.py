r"""Certificates: one Markdown file per activation stating what symact established.

A certificate (``proofs/NAME.md``) collects, for one catalog activation: its
definition, parameters, derivative and its form in terms of the function's own
value, kink conventions, linearity and symmetry verdicts with exact witnesses,
the identities that involve it (:mod:`symact.analysis.identities`), derived constants
(:mod:`symact.analysis.constants`), located approximation errors
(:mod:`symact.analysis.approximations`) and the measured accuracy of its generated
kernels against the oracle. Every claim names how it was established:

* ``proved``: a symbolic identity (``symact.symbolic.forms.prove_zero``);
* ``refuted``: a witness at exact rational inputs with a certified sign;
* ``undecided``: neither (never shown as proved);
* ``derived``: a constant solved from its defining equation, with its digits;
* ``located``: a maximum error found by root-finding on the difference's slope;
* ``measured``: kernel accuracy on a fixed, seeded point set.

Determinism. Rendering uses only ordered lists, SymPy ``sstr`` forms, mpmath
decimal strings (platform independent) and fixed seeds; there is no timestamp
and no symact version (a version bump would otherwise make every certificate
stale). The same catalog, SymPy and mpmath give the same bytes.

Measured claims are the one exception to byte comparison. Kernels run on the
platform's libm and may differ by an ULP between machines, so the committed
text states a *bound* ("max <= 2 ULP, mean <= 1/4 ULP on 300 points: holds"),
chosen with headroom (none at or above :data:`CEILING_ULP`, where the row
fails instead; max bound: the smallest power of two > the measured max;
mean bound: the smallest of 1/8, 1/4, 1/2, 1, 2, ... at least mean + 1/8), and
exact measured numbers appear only in ``--json``. As in the accuracy policy
(:mod:`symact.verify.policy`, the rules of ``symact check``), an absolute error within
:func:`~symact.verify.policy.atol_for` (the dtype's smallest normal number) counts as 0 ULP:
flushing a subnormal result is not an accuracy loss claimed here; vector kernels are measured
componentwise, as the policy holds symact's own kernels. :func:`check_directory`
compares every other line byte for byte, and for the kernel-accuracy section
re-measures and requires that each committed bound still holds (a tighter
regenerated bound is not a failure: the committed claim is still true).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

from symact import fsio
from symact.analysis import approximations, constants, identities, linearity
from symact.model import catalog
from symact.analysis.facts import self_form, short
from symact.numeric.kernels import kernel_for
from symact.numeric.oracle import VectorOracle, reference
from symact.reports.report import expr_str
from symact.numeric.ulp import ulp_distance
from symact.verify.policy import atol_for

#: points per measured kernel and dtype (scalar); vectors: rows of length 3
POINTS = 300
VECTOR_ROWS, VECTOR_LENGTH = 100, 3
SEED = 20240611
#: no accuracy claim is made (the row fails) at or above this many ULP
CEILING_ULP = 1024
DTYPES = (np.float64, np.float32)
ACCURACY_TITLE = "Kernel accuracy (measured)"
_GRID = np.linspace(-10.0, 10.0, 161)  # step 1/8, exact in both formats
_TAILS = [20.0, 30.0, 50.0, 100.0, 1e3, 1e5, 1e10, 1e20, 1e38, 1e100, 1e300, math.inf]


# --------------------------------------------------------------------------- points
def scalar_points(act, dtype, n: int = POINTS) -> np.ndarray:
    """The fixed point set: grid, kinks and their neighbours, tails, then bit patterns.

    Exactly ``n`` distinct values of ``dtype``; the bit-pattern-uniform part
    (random bits viewed as floats, non-finite dropped) is seeded by :data:`SEED`.
    """
    dtype = np.dtype(dtype)
    fixed = [0.0, -0.0] + list(_GRID)
    for k in [k.at for k in act.kinks]:
        c = dtype.type(float(k))
        fixed += [c, np.nextafter(c, dtype.type(-np.inf)), np.nextafter(c, dtype.type(np.inf)),
                  c - dtype.type(1e-3), c + dtype.type(1e-3)]
    fixed += _TAILS + [-t for t in _TAILS]
    fixed += [float(np.finfo(dtype).max), -float(np.finfo(dtype).max), float(np.finfo(dtype).tiny),
              float(np.finfo(dtype).smallest_subnormal)]
    with np.errstate(over="ignore"):
        arr = np.array(fixed, dtype=np.float64).astype(dtype)
    itype = np.uint64 if dtype == np.float64 else np.uint32
    seen, out = set(), []
    for v in arr:
        key = v.tobytes()
        if key not in seen and not np.isnan(v):
            seen.add(key)
            out.append(v)
    rng = np.random.default_rng(SEED)
    while len(out) < n:
        bits = rng.integers(0, np.iinfo(itype).max, size=64, dtype=itype, endpoint=True)
        for v in bits.view(dtype):
            key = v.tobytes()
            if np.isfinite(v) and key not in seen and len(out) < n:
                seen.add(key)
                out.append(v)
    return np.array(out[:n], dtype=dtype)


def vector_length(act) -> int:
    """The row length of a vector certificate: :data:`VECTOR_LENGTH`, or 4 where the axis is
    split in half (glu needs an even length)."""
    return VECTOR_LENGTH + 1 if getattr(act, "shape", "same") == "half" else VECTOR_LENGTH


def vector_points(dtype, length: int = VECTOR_LENGTH) -> np.ndarray:
    """Rows of ``length`` (3, glu 4): seeded normal draws at spreads 1, 10, 100, plus wide rows
    (a fourth entry 0.5 for length 4)."""
    rng = np.random.default_rng(SEED)
    rows = [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1e3, 0.0, -1e3], [-1e3, -1e3, -1e3], [700.0, 0.0, 1.0],
            [-745.0, 0.0, 0.0], [1e-300, -1e-300, 0.0], [50.0, 50.0, -50.0]]
    while len(rows) < VECTOR_ROWS:
        spread = (1.0, 10.0, 100.0)[len(rows) % 3]
        rows.append(list(rng.normal(0.0, spread, VECTOR_LENGTH)))
    rows = [r + [0.5] * (length - VECTOR_LENGTH) for r in rows]
    return np.array(rows[:VECTOR_ROWS], dtype=np.float64).astype(dtype)


# --------------------------------------------------------------------------- accuracy
@dataclass(frozen=True)
class Accuracy:
    """Measured ULP error of one kernel in one dtype, and the bound it certifies."""

    kernel: str  # "f" or "f'" (vectors: "y" or "Jacobian")
    dtype: str
    points: int
    max_ulp: float
    mean_ulp: float
    error: str = ""

    @property
    def max_bound(self) -> int | None:
        if self.error or not math.isfinite(self.max_ulp) or self.max_ulp >= CEILING_ULP:
            return None
        b = 1
        while b <= self.max_ulp:
            b *= 2
        return b

    @property
    def mean_bound(self) -> Fraction | None:
        if self.error or not math.isfinite(self.mean_ulp):
            return None
        b = Fraction(1, 8)
        while b < self.mean_ulp + 0.125:
            b *= 2
        return b

    def claim(self) -> str:
        if self.max_bound is None:
            return f"max < {CEILING_ULP} ULP"
        return f"max <= {self.max_bound} ULP, mean <= {self.mean_bound} ULP"

    def status(self) -> str:
        if self.max_bound is not None:
            return "holds"
        if self.error:
            return f"fails ({self.error})"
        if not math.isfinite(self.max_ulp):
            return "fails (non-finite ULP error)"
        return f"fails (max {self.max_ulp:.0f} ULP is not below the {CEILING_ULP}-ULP ceiling)"

    def satisfies(self, max_bound: int, mean_bound: Fraction) -> bool:
        return not self.error and self.max_ulp <= max_bound and self.mean_ulp <= mean_bound

    def to_dict(self) -> dict:
        return {"kernel": self.kernel, "dtype": self.dtype, "points": self.points,
                "max_ulp": self.max_ulp if math.isfinite(self.max_ulp) else None,
                "mean_ulp": round(self.mean_ulp, 6) if math.isfinite(self.mean_ulp) else None,
                "claim": self.claim(), "status": self.status(), "error": self.error or None}


def _stats(got, ref, label, dtype, count) -> Accuracy:
    got, ref = np.asarray(got, dtype=dtype).ravel(), np.asarray(ref, dtype=dtype).ravel()
    err = ulp_distance(got, ref)
    with np.errstate(all="ignore"):
        # the accuracy policy's atol (the smallest normal): differences in the subnormal range do not count
        tiny = np.isfinite(ref) & (np.abs(got.astype(np.float64) - ref.astype(np.float64)) <= atol_for(dtype))
    err = np.where(tiny, 0.0, err)
    if not np.all(np.isfinite(err)):
        return Accuracy(label, np.dtype(dtype).name, count, math.inf, math.inf,
                        f"{int(np.sum(~np.isfinite(err)))} points with NaN where the oracle has a number or vice versa")
    return Accuracy(label, np.dtype(dtype).name, count, float(err.max()), float(err.mean()))


def _run(kernel, x):
    with np.errstate(all="ignore"):
        return kernel(x)


def measure(act) -> list[Accuracy]:
    """Kernel and derivative kernel against the oracle, in float64 and float32."""
    out = []
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        if act.vector:
            n = vector_length(act)
            pts = vector_points(dtype, n)
            xs, comps = act.components(n)
            _, rows = act.jacobian_components(n)
            jac = [c for r in rows for c in r]
            m = len(comps)
            reduce = act.shape == "reduce"          # logsumexp: one value a row, its gradient x's shape
            jobs = [("y", kernel_for(act), comps, (VECTOR_ROWS,) if reduce else (VECTOR_ROWS, m)),
                    ("Jacobian", kernel_for(act, derivative=True), jac,
                     (VECTOR_ROWS, n) if reduce else (VECTOR_ROWS, m, n))]
            for label, kernel, exprs, shape in jobs:
                orc = VectorOracle(exprs, xs)
                ref = np.array([orc.rounded([float(t) for t in row], dtype) for row in pts]).reshape(shape)
                try:
                    got = _run(kernel, pts)
                except Exception as exc:  # noqa: BLE001 - a broken kernel is a failed claim
                    out.append(Accuracy(label, name, ref.size, math.inf, math.inf, type(exc).__name__))
                    continue
                out.append(_stats(got, ref, label, dtype, ref.size))
        else:
            pts = scalar_points(act, dtype)
            for label, kernel, expr in (("f", kernel_for(act), act.expr), ("f'", kernel_for(act, derivative=True), act.derivative)):
                ref = reference(expr, act.x, pts.astype(np.float64), dtype)
                try:
                    got = _run(kernel, pts)
                except Exception as exc:  # noqa: BLE001
                    out.append(Accuracy(label, name, pts.size, math.inf, math.inf, type(exc).__name__))
                    continue
                out.append(_stats(got, ref, label, dtype, pts.size))
    return out


# --------------------------------------------------------------------------- building
@dataclass
class Certificate:
    """One activation's certificate: Markdown sections plus the JSON view."""

    name: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    accuracy: list[Accuracy] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"# Certificate: {self.name}", "", *_PREAMBLE]
        for title, body in self.sections:
            lines += ["", f"## {title}", "", *body]
        return "\n".join(lines).rstrip() + "\n"

    def to_dict(self) -> dict:
        return self.data


_PREAMBLE = [
    "Generated by `symact prove` from the declaration in `symact/catalog.py`; do not edit by hand.",
    "Regenerate with `symact prove --all`; verify with `symact prove --all --check proofs`.",
    "Each claim says how it was established: **proved** (symbolic identity), **refuted** (exact witness),",
    "**undecided**, **derived** (constant solved from its defining equation), **located** (maximum error found",
    "by root-finding) or **measured** (kernel accuracy on a fixed seeded point set, stated as a bound).",
]


def _code(s) -> str:
    return "`" + str(s).replace("`", "'").replace("|", "\\|") + "`"


_SCALED_RATIONAL = re.compile(r"(?<![\w.])(-?\d{21,})\*([\w()+\-*.]+?)/(\d{21,})(?![\w.])")
_LONG_RATIONAL = re.compile(r"(?<![\w.])(-?\d{21,})(?:/(\d+))?(?![\w.])")


def shorten(text: str) -> str:
    """Long integers and ratios in a printed expression as 20 significant digits.

    Read with :class:`fractions.Fraction` (never sympify): SELU's witnesses
    otherwise print as 60-digit ratios.
    """
    def sub(m):
        value = Fraction(int(m.group(1)), int(m.group(2) or 1))
        return str(sp.Float(sp.Rational(value.numerator, value.denominator), 20))

    def sub_scaled(m):  # sstr prints p*g/q for a rational times a factor
        return f"{sub_value(m.group(1), m.group(3))}*{m.group(2)}"

    def sub_value(p, q):
        return str(sp.Float(sp.Rational(int(p), int(q or 1)), 20))

    return _LONG_RATIONAL.sub(sub, _SCALED_RATIONAL.sub(sub_scaled, text))


def _witness_text(w: dict | None) -> str:
    if not w:
        return ""
    return ", ".join(f"{k} = {'(' + ', '.join(v) + ')' if isinstance(v, list) else v}" for k, v in w.items())


def build(name: str, accuracy: bool = True) -> Certificate:
    """The certificate of the catalog activation ``name`` (defaults bound)."""
    act = catalog.get(name)
    cert = Certificate(act.name)
    data = cert.data
    data.update({"name": act.name, "description": act.description, "latex": act.latex, "expr": expr_str(act.expr),
                 "reference": act.reference, "role": act.role, "vector": act.vector})

    # definition and parameters
    body = ["$$" + act.latex + "$$", "", f"- SymPy: {_code(short(act.expr))}", f"- {act.description}",
            f"- Role: {act.role}"]
    if act.reference:
        body.append(f"- Reference: {act.reference}")
    if act.aliases:
        body.append(f"- Aliases: {', '.join(act.aliases)}")
    cert.sections.append(("Definition", body))
    if act.params:
        body = ["| parameter | value | meaning |", "|---|---|---|"]
        body += [f"| {p.name} | {_code(short(act.param_values[p.name]))} | {p.doc} |" for p in act.params]
    else:
        body = ["None."]
    data["params"] = {k: str(v) for k, v in act.param_values.items()}
    cert.sections.append(("Parameters", body))

    # derivative
    if act.vector:
        body = [f"- d y_i / d x_k = {_code(short(act.derivative))} "
                + ("(declared: SymPy's diff would pick no kink convention)" if act.jacobian is not None
                   else "(derived by SymPy)")]
        if act.shape != "same":
            body.append(f"- Output shape: {act.shape} (rows of n entries give "
                        + {"half": "n/2 outputs", "reduce": "one value; the derivative is the gradient",
                           "double": "2 n outputs"}[act.shape] + ")")
        data["derivative"] = expr_str(act.derivative)
    else:
        form = self_form(act)
        body = [f"- f'(x) = {_code(short(act.derivative))} (derived by SymPy, kink conventions below)"]
        if form is not None:
            body.append(f"- In terms of y = f(x): f'(x) = {_code(sp.sstr(form))}: **proved** "
                        "(f'(x) - g(f(x)) reduced to 0 by prove_zero)")
        else:
            body.append("- In terms of y = f(x): no form found (x is not recovered from y by SymPy's inversion)")
        data["derivative"] = expr_str(act.derivative)
        data["derivative_in_terms_of_f"] = sp.sstr(form) if form is not None else None
    cert.sections.append(("Derivative", body))

    # kinks
    if not act.vector:
        kinks = act.kinks
        conv = act.conventions_bound
        if kinks:
            body = ["| at | kind | left slope | right slope | f' there uses |", "|---|---|---|---|---|"]
            body += [f"| {k.at} | {k.kind} | {_code(short(k.left_slope))} | {_code(short(k.right_slope))} "
                     f"| the {conv.get(k.at)} slope |" for k in kinks]
        else:
            body = ["None: differentiable everywhere."]
        if act.convention_note:
            body += ["", act.convention_note]
        data["kinks"] = [{"at": str(k.at), "kind": k.kind, "left_slope": str(k.left_slope),
                          "right_slope": str(k.right_slope), "convention": conv.get(k.at)} for k in kinks]
        cert.sections.append(("Kinks and conventions", body))

    # linearity
    vs = linearity.verdicts(act)
    body = ["| property | statement | verdict | witness |", "|---|---|---|---|"]
    for v in vs.values():
        wit = ""
        if v.witness:
            wit = f"{_witness_text(v.witness)}: lhs = {_code(shorten(str(v.lhs)))}, rhs = {_code(shorten(str(v.rhs)))}"
        elif v.note:
            wit = v.note
        body.append(f"| {v.property} | {v.statement} | **{v.verdict}** | {wit} |")
    body += ["", f"Linear (additive and homogeneous): **{linearity.is_linear(vs)}**."]
    data["linearity"] = {k: v.to_dict() for k, v in vs.items()}
    data["linear"] = linearity.is_linear(vs)
    cert.sections.append(("Linearity and symmetry", body))

    # identities
    ids = identities.identities_for(act.name)
    body = []
    for r in ids:
        body.append(f"- **{r.verdict}**: {r.statement}")
        body.append(f"  - method: {r.method}")
        for case, lhs, rhs in r.sides:
            body.append(f"  - {case + ': ' if case else ''}lhs {_code(lhs)}, rhs {_code(rhs)}")
        if r.witness:
            body.append(f"  - witness: {_witness_text(r.witness)}")
    data["identities"] = [r.to_dict() for r in ids]
    cert.sections.append(("Identities", body or ["None in symact's list involve this activation."]))

    # constants
    cs = constants.constants_for(act.name)
    body = []
    for c in cs:
        body.append(f"- **{c.established}** `{c.name}` = {c.value}")
        body.append(f"  - equation: {c.equation}")
        body.append(f"  - method: {c.method}")
        if c.closed_form:
            body.append(f"  - closed form: {_code(c.closed_form)}")
        if c.catalog_value:
            body.append(f"  - catalog value {c.catalog_value}: {c.agreement}")
    data["constants"] = {c.name: c.value for c in cs}
    data["constants_detail"] = [c.to_dict() for c in cs]
    cert.sections.append(("Constants", body or ["None."]))

    # approximations
    aps = approximations.approximations_for(act.name)
    body = []
    for a in aps:
        where = ", ".join(f"{w} ({a.of} - {a.target} = {v})" for w, v in zip(a.at, a.signed)) or "-"
        body.append(f"- **{a.established}**: max |{a.of} - {a.target}| on {a.domain} = {a.max_abs_error}, at x = {where}")
        body.append(f"  - method: {a.method}")
        body.append(f"  - tails: {a.tail}")
        if a.note:
            body.append(f"  - note: {a.note}")
    data["approximations"] = [a.to_dict() for a in aps]
    cert.sections.append(("Approximation errors", body or ["None."]))

    # kernel accuracy
    if accuracy:
        cert.accuracy = measure(act)
        if act.vector:
            where = [f"{VECTOR_ROWS} fixed vectors of length {vector_length(act)}: wide rows (entries up to 1e3 apart) and",
                     f"seeded normal draws at spreads 1, 10, 100 (seed {SEED})."]
        else:
            where = [f"{POINTS} fixed points per dtype: grid on [-10, 10] (step 1/8), kinks and their neighbours, tails,",
                     f"and bit-pattern-uniform values (seed {SEED})."]
        body = ["Kernels (`symact.kernel(NAME)`, `symact.kernel(NAME, derivative=True)`) against the oracle (`symact.numeric.oracle`), on", *where,
                "Absolute errors below the smallest normal number count as 0 ULP (the `atol` of symact's accuracy policy,",
                "`symact/verify/policy.py`)" + (": errors are componentwise, each entry in its own ULPs." if act.vector else "."),
                "The bound has headroom for an ULP of libm difference; exact numbers: `symact prove NAME --json`.",
                "`--check` re-measures and requires the committed bound.", "",
                "| kernel | dtype | values | claim | status |", "|---|---|---|---|---|"]
        body += [f"| {a.kernel} | {a.dtype} | {a.points} | {a.claim()} | {a.status()} |" for a in cert.accuracy]
        data["kernel_accuracy"] = [a.to_dict() for a in cert.accuracy]
        cert.sections.append((ACCURACY_TITLE, body))
    return cert


# --------------------------------------------------------------------------- checking
@dataclass(frozen=True)
class Problem:
    """One reason a committed certificate is not current."""

    file: str
    claim: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.claim}: {self.message}"


_ROW = re.compile(r"^\| (?P<kernel>[^|]+?) \| (?P<dtype>float\d+) \| (?P<n>\d+) \| max <= (?P<max>\d+) ULP, "
                  r"mean <= (?P<mean>[\d/]+) ULP \| holds \|$")


def _sections(text: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = [("header", [])]
    for line in text.splitlines():
        if line.startswith("## "):
            out.append((line[3:], []))
        else:
            out[-1][1].append(line)
    return out


_GOOD = ("**proved**", "holds", "**located**", "**derived")


def compare(committed: str, cert: Certificate, file: str) -> list[Problem]:
    """Problems between a committed certificate text and a regenerated one."""
    old, new = _sections(committed), _sections(cert.markdown())
    if [t for t, _ in old] != [t for t, _ in new]:
        return [Problem(file, "sections", f"committed {[t for t, _ in old][1:]} != regenerated {[t for t, _ in new][1:]}")]
    problems = []
    for (title, a), (_, b) in zip(old, new):
        if title == ACCURACY_TITLE:
            problems += _compare_accuracy(a, cert, file)
            continue
        for i in range(max(len(a), len(b))):
            la = a[i] if i < len(a) else "<missing>"
            lb = b[i] if i < len(b) else "<missing>"
            if la != lb:
                weaker = any(g in la for g in _GOOD) and not any(g in lb for g in _GOOD)
                what = "no longer holds" if weaker else "differs"
                problems.append(Problem(file, f"section '{title}', line {i + 1}",
                                        f"{what}: committed {la!r}, regenerated {lb!r}"))
                break  # the first difference per section
    return problems


def _compare_accuracy(lines: list[str], cert: Certificate, file: str) -> list[Problem]:
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| kernel")]
    measured = {(a.kernel, a.dtype): a for a in cert.accuracy}
    problems, seen = [], set()
    for row in rows:
        m = _ROW.match(row)
        if not m:
            cells = [c.strip() for c in row.strip("|").split("|")]
            seen.add(tuple(cells[:2]))
            problems.append(Problem(file, f"kernel accuracy row {row!r}", "not a holding claim"))
            continue
        key = (m["kernel"], m["dtype"])
        seen.add(key)
        got = measured.get(key)
        claim = f"kernel accuracy {m['kernel']} {m['dtype']}: max <= {m['max']} ULP, mean <= {m['mean']} ULP"
        if got is None:
            problems.append(Problem(file, claim, "no such kernel is measured any more"))
        elif int(m["n"]) != got.points:
            problems.append(Problem(file, claim, f"measured on {got.points} values, not {m['n']}"))
        elif not got.satisfies(int(m["max"]), Fraction(m["mean"])):
            detail = got.error or f"measured max {got.max_ulp:g}, mean {got.mean_ulp:.4f} ULP"
            problems.append(Problem(file, claim, f"no longer holds: {detail}"))
    for key in measured:
        if key not in seen:
            problems.append(Problem(file, f"kernel accuracy {key[0]} {key[1]}", "missing from the certificate"))
    return problems


def check_directory(directory, names=None) -> list[Problem]:
    """Regenerate in memory and compare with ``directory``; an empty list means current."""
    directory = Path(directory)
    names = list(names) if names is not None else catalog.names()
    problems = []
    for name in names:
        path = directory / f"{name}.md"
        shown = str(path)
        if not path.is_file():
            problems.append(Problem(shown, "file", "missing (run `symact prove --all`)"))
            continue
        problems += compare(path.read_text(encoding="utf-8"), build(name), shown)
    if names == catalog.names() and directory.is_dir():
        known = {f"{n}.md" for n in names} | {"README.md"}
        for extra in sorted(p.name for p in directory.glob("*.md")):
            if extra not in known:
                problems.append(Problem(str(directory / extra), "file", "no catalog activation of that name"))
    return problems


def write(name: str, directory) -> Path:
    """Write ``directory/name.md`` (creating the directory) and return its path.

    Atomically (:func:`symact.fsio.write_file`): a failed write leaves the old
    certificate as it was and raises :class:`~symact.errors.WriteError`; a
    symbolic link at the path is refused, never written through."""
    directory = fsio.ensure_folder(directory)
    path = directory / f"{name}.md"
    fsio.write_file(path, build(name).markdown(), force_flag=None)
    return path
