"""Differential testing: kernels and hand-written implementations against the oracle.

:func:`run_tests` compares functions of floats with the correctly rounded
values of the activation's symbolic definition (:mod:`symact.numeric.oracle`) and
returns one :class:`~symact.verify.results.TestResult` per test:

``kernel[dtype]``, ``derivative_kernel[dtype]``
    symact's generated kernels (:func:`symact.numeric.kernels.kernel_for`).
``impl[dtype]``, ``grad_impl[dtype]``
    a user's implementation of the activation / of its derivative.
``shape_dtype``
    0-d and 2-d arrays keep their shape; float32 in gives float32 out.

Design
------
*Points.* One seeded ``numpy`` generator draws the bulk points once per
activation (bit-pattern-uniform float32 and float64, value-uniform on
[-50, 50], log-uniform magnitudes, values near each kink); the edge classes of
:mod:`symact.verify.strategies` are added (kinks and their neighbours, ±0, subnormals,
the exp overflow/underflow and saturation edges of the dtype, ±inf, NaN). The
float32 set is the float64 set rounded, and half the bulk is drawn
float32-representable, so most float32 points are float64 points too.

*Oracle budget.* The oracle costs 0.02-3 ms a point, so exact values are
cached per expression and per point (:func:`expected`): the kernel and the
impl tests, and both dtypes, share them. A 2,000-example ``symact check
sigmoid`` evaluates ~2,800 distinct points per expression once.

*Scoring.* A point passes when its ULP distance to the correctly rounded value
(in the tested dtype) is at most ``max_ulp`` or its absolute error at most
``atol`` (default: the dtype's smallest normal number). NaN must give NaN; the
values at ±inf are the symbolic limits.

*Witnesses.* When points fail, a Hypothesis search (derandomized, no database)
seeded with the failing points shrinks to a simple failing input (37.0 rather
than 37.43128...); it is reported as ``witness`` next to ``worst`` (the point
with the largest ULP error). The search has a fixed budget of calls, so it is
bounded and deterministic.

*User code.* Implementations are called on a copy of the points, with warnings
recorded (never shown) and exceptions caught: one that raises gives a failed
entry whose ``error`` is "ExceptionType: message"; garbage (None, strings,
complex, the wrong shape) a failed entry that says so. Code that works on
scalars only (``if x > 0:``, ``math.exp``) is evaluated element by element and
the entry's ``note`` says so. ``impl`` may be a plain callable (called here, in this
process) or a :class:`symact.verify.impl.RemoteFunction` (called in a confined child, as
``symact check --impl`` does); when such a call raises
:class:`~symact.verify.impl.Stopped` (the child exited, crashed, overran or printed),
the test fails with that reason as its ``error``.

*Integer output* (the course's ``np.array(x > 0, dtype=int)``): the values are
compared as floats (they may pass), and ``shape_dtype`` fails with "float64
input gave int64": in a network an integer activation silently changes the
dtype of everything downstream, so symact calls it a defect, but names it
precisely instead of reporting wrong values.

Everything is deterministic: the same ``seed`` gives byte-identical results.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp

from symact import cache
from symact.verify import policy, strategies
from symact.model.activation import Activation
from symact.errors import SymactError
from symact.numeric.kernels import kernel_for
from symact.numeric.oracle import VectorOracle, oracle_for, round_to
from symact.verify.impl import Stopped
from symact.verify.results import TestResult
from symact.numeric.ulp import smallest_normal, ulp_distance

DTYPES = ("float64", "float32")

#: calls the Hypothesis witness search may make (scalar, vector value, Jacobian)
WITNESS_BUDGET = {"scalar": 300, "vector": 150, "jacobian": 30}

#: bulk rows for vector activations: examples // divisor (values, Jacobians)
VECTOR_ROWS = {"value": 8, "jacobian": 80}


# =========================================================================== oracle cache
_MP_CACHE: dict = {}      # (expr, x) -> {point key: mpf}
_ROUND_CACHE: dict = {}   # (expr, x, dtype) -> {point key: float}
_CACHE_LIMIT = 400_000


def _key(v: float) -> int:
    return int(np.float64(v).view(np.int64))


def _cache_guard() -> None:
    if sum(len(d) for d in _MP_CACHE.values()) > _CACHE_LIMIT:
        _MP_CACHE.clear()
        _ROUND_CACHE.clear()


def expected(expr: sp.Expr, x: sp.Symbol, values, dtype) -> np.ndarray:
    """Correctly rounded values of ``expr`` at ``values`` in ``dtype``, cached per point."""
    dt = np.dtype(dtype)
    flat = np.asarray(values, dtype=np.float64).ravel()
    mp = _MP_CACHE.setdefault((expr, x), {})
    disk_key = (sp.srepr(expr), sp.srepr(x), dt.name)
    if (expr, x, dt.name) not in _ROUND_CACHE:  # first use in this process: read the disk cache
        _ROUND_CACHE[(expr, x, dt.name)] = dict(cache.load("oracle-values", disk_key) or {})
    rd = _ROUND_CACHE[(expr, x, dt.name)]
    before = len(rd)
    orc = None
    out = np.empty(flat.shape, dtype=dt)
    for i, v in enumerate(flat.tolist()):
        if v != v:
            out[i] = np.nan
            continue
        k = _key(v)
        r = rd.get(k)
        if r is None:
            m = mp.get(k)
            if m is None:
                orc = orc or oracle_for(expr, x)
                m = mp[k] = orc(v)
            r = rd[k] = round_to(m, dt)
        out[i] = r
    if len(rd) > before:
        cache.store("oracle-values", disk_key, rd)
    _cache_guard()
    return out.reshape(np.shape(values))


_VEC_ORACLES: dict = {}


def _vector_oracle(act: Activation, n: int, jacobian: bool) -> VectorOracle:
    key = (act.expr, act.jacobian, n, jacobian)
    if key not in _VEC_ORACLES:
        if jacobian:
            xs, rows = act.jacobian_components(n)
            comps = [c for r in rows for c in r]
        else:
            xs, comps = act.components(n)
        _VEC_ORACLES[key] = VectorOracle(list(comps), list(xs))
    return _VEC_ORACLES[key]


def row_shape(act: Activation, n: int, jacobian: bool) -> tuple:
    """The declared shape of one row's result: (m,) values and (m, n) Jacobians for m
    outputs (:meth:`~symact.model.activation.Activation.output_length`); an activation
    that reduces the axis (logsumexp) gives () and its gradient (n,)."""
    if act.shape == "reduce":
        return (n,) if jacobian else ()
    m = act.output_length(n)
    return (m, n) if jacobian else (m,)


def expected_rows(act: Activation, rows: np.ndarray, dtype, jacobian: bool) -> np.ndarray:
    """Reference values for rows (m, n) of a vector activation: (m,) + :func:`row_shape`
    ((m, n) or (m, n, n) for softmax)."""
    dt = np.dtype(dtype)
    m, n = rows.shape
    orc = _vector_oracle(act, n, jacobian)
    cache = _MP_CACHE.setdefault(("rows", act.expr, act.jacobian, n, jacobian), {})
    shape = row_shape(act, n, jacobian)
    out = np.empty((m, int(np.prod(shape, dtype=int))), dtype=dt)
    for r, row in enumerate(rows.astype(np.float64).tolist()):
        k = tuple(_key(v) for v in row)
        vals = cache.get(k)
        if vals is None:
            vals = cache[k] = orc(row)
        out[r] = [round_to(v, dt) for v in vals]
    return out.reshape((m,) + shape)


# =========================================================================== points
def _dedupe(values) -> np.ndarray:
    seen, out = set(), []
    for v in values:
        k = "nan" if v != v else _key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return np.array(out, dtype=np.float64)


def bulk_points(act: Activation, n: int, seed: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        return _bulk_points(act, n, seed)


def _bulk_points(act: Activation, n: int, seed: int) -> np.ndarray:
    """``n`` float64 points from a generator seeded with ``seed`` (about half float32-exact)."""
    rng = np.random.default_rng([seed, 0x5AC7])
    kinks = [float(k.at) for k in act.kinks if _finite_number(k.at)]
    shares = {"bits32": 0.22, "bits64": 0.18, "uniform": 0.30, "log": 0.18}
    if not kinks:
        shares["uniform"] += 0.12
    counts = {k: int(n * s) for k, s in shares.items()}
    counts["near_kink"] = n - sum(counts.values())
    parts = []
    b32 = rng.integers(0, 2**32, counts["bits32"], dtype=np.uint64).astype(np.uint32).view(np.float32)
    parts.append(b32.astype(np.float64))
    parts.append(rng.integers(0, 2**63, counts["bits64"], dtype=np.uint64).view(np.float64)
                 * rng.choice([-1.0, 1.0], counts["bits64"]))
    u = rng.uniform(-50, 50, counts["uniform"])
    u[: len(u) // 2] = u[: len(u) // 2].astype(np.float32)
    parts.append(u)
    lg = 10.0 ** rng.uniform(-12, 3, counts["log"]) * rng.choice([-1.0, 1.0], counts["log"])
    lg[: len(lg) // 2] = lg[: len(lg) // 2].astype(np.float32)
    parts.append(lg)
    if counts["near_kink"]:
        centers = np.array(kinks or [0.0])[rng.integers(0, max(len(kinks), 1), counts["near_kink"])]
        parts.append((centers + rng.uniform(-1, 1, counts["near_kink"])
                      * 10.0 ** rng.uniform(-8, 0, counts["near_kink"])).astype(np.float32))
    pts = np.concatenate(parts)
    return pts[np.isfinite(pts)]


def _finite_number(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def scalar_points(act: Activation, dtype, examples: int, seed: int) -> np.ndarray:
    """The test points in ``dtype``: edge classes first, then the bulk, deduplicated."""
    dt = np.dtype(dtype)
    edges = (strategies.kink_values(act, dt) + strategies.special_values(dt)
             + strategies.edge_values(dt))
    with np.errstate(over="ignore"):
        bulk = bulk_points(act, examples, seed).astype(dt).astype(np.float64)
    return _dedupe(list(edges) + bulk.tolist()).astype(dt)


def vector_rows(dtype, count: int, seed: int, max_len: int = 8, even: bool = False) -> dict[int, np.ndarray]:
    """Rows grouped by length: moderate values, large offsets (±1000, 1e5) and ties
    (``even``: even lengths only, for an activation that splits the axis in half)."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng([seed, 0x7EC])
    groups: dict[int, list] = {}
    offsets = np.array([0.0, 0.0, 1000.0, -1000.0, 1e5, -50.0])
    for r in range(count):
        n = int(rng.integers(1, max_len + 1))
        if even:
            n = 2 * max(1, n // 2)
        if r % 10 == 9:
            row = np.full(n, rng.normal() * 5)
        else:
            row = rng.normal(size=n) * rng.choice([0.1, 3.0, 20.0])
        row = (row + offsets[rng.integers(0, len(offsets))]).astype(dt)
        groups.setdefault(n, []).append(row)
    return {n: np.array(rows, dtype=dt) for n, rows in sorted(groups.items())}


# =========================================================================== evaluation
class Garbage(Exception):
    """An implementation returned something that is not an array of floats of the right shape."""


def _describe_exception(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def to_array(out) -> np.ndarray:
    """``out`` as a NumPy array: ``numpy.asarray``, else through ``detach()`` (a torch tensor that
    requires grad) or DLPack (``numpy.from_dlpack``); raises what ``asarray`` raised otherwise."""
    try:
        return np.asarray(out)
    except Exception as exc:  # noqa: BLE001 - user objects may fail in any way
        first = exc
    try:
        if callable(getattr(type(out), "detach", None)):
            return np.asarray(out.detach())
    except Exception:  # noqa: BLE001
        pass
    try:
        if hasattr(type(out), "__dlpack__"):
            return np.from_dlpack(out)
    except Exception:  # noqa: BLE001
        pass
    raise first


def _squeezed(shape) -> tuple:
    return tuple(d for d in shape if d != 1)


def _lossless(arr: np.ndarray, dt: np.dtype) -> bool:
    """Do ``arr``'s values (integers, booleans, floats read from objects) convert to ``dt`` exactly?"""
    with np.errstate(all="ignore"):
        back = arr.astype(dt).astype(arr.dtype)
        same = (back == arr) | (np.isnan(back) & np.isnan(arr)) if arr.dtype.kind == "f" else back == arr
        return bool(np.all(same))


def _object_floats(arr: np.ndarray, what: str) -> np.ndarray:
    """An object array (``np.frompyfunc``'s result, a list of NumPy scalars) as float64."""
    try:
        if not all(isinstance(v, numbers.Real) for v in arr.ravel().tolist()):
            raise TypeError("not real numbers")  # None would become NaN, a string a parse
        with np.errstate(all="ignore"):
            return arr.astype(np.float64)
    except Exception:  # noqa: BLE001 - elements that are not real numbers
        raise Garbage(f"returned {what} of object, not an array of floats") from None


def _as_float_array(out, shape, dtype, in_shape=None) -> tuple[np.ndarray, str | None, list, str | None]:
    """``out`` as a float array of ``shape`` (cast to ``dtype``): (values, dtype note, remarks,
    shape note).

    Accepted without loss: anything NumPy converts (lists, scalars, torch or JAX arrays),
    object arrays of numbers, integer or boolean results whose values ``dtype`` holds
    exactly (a remark), the right number of values in a shape that differs only by axes of
    length 1 (values judged, the shape noted; shape_dtype reports it).
    """
    in_shape = tuple(shape) if in_shape is None else tuple(in_shape)
    dt = np.dtype(dtype)
    if out is None:
        raise Garbage("returned None, not an array of floats")
    if isinstance(out, (str, bytes)):
        raise Garbage(f"returned a string ({out[:20]!r}), not an array of floats")
    what = type(out).__name__
    try:
        arr = to_array(out)
    except Exception as exc:  # noqa: BLE001 - user objects may fail in any way
        raise Garbage(f"returned {what} that is not an array ({_describe_exception(exc)})") from None
    remarks = []
    if arr.dtype.kind == "O":
        arr = _object_floats(arr, what)
        remarks.append(f"returned an object array of numbers for {dt.name} input; values read as float64")
    if arr.dtype.kind == "c":
        raise Garbage(f"returned complex values ({arr.dtype})")
    if arr.dtype.kind not in "fiub":
        raise Garbage(f"returned {what} of {arr.dtype}, not an array of floats")
    shape_note = None
    if arr.shape != tuple(shape):
        if arr.size == math.prod(shape) and _squeezed(arr.shape) == _squeezed(shape):
            shape_note = (f"returned shape {arr.shape} for input shape {in_shape} (expected {tuple(shape)}); "
                          "values judged after reshaping")
            arr = arr.reshape(shape)
        else:
            expect = "" if tuple(shape) == in_shape else f" (expected {tuple(shape)})"
            raise Garbage(f"returned shape {arr.shape} for input shape {in_shape}{expect}")
    note = None
    if arr.dtype != dt:
        if arr.dtype.kind in "iub" and _lossless(arr, dt):
            remarks.append(f"returned {arr.dtype} for {dt.name} input: values exact in {dt.name} "
                           "(a dtype remark, not a value failure)")
        else:
            note = f"returned {arr.dtype} for {dt.name} input; values compared as {dt.name}"
    with np.errstate(all="ignore"):
        return arr.astype(dt), note, remarks, shape_note


@dataclass
class Evaluation:
    """What calling one function on a batch of inputs gave."""

    values: np.ndarray | None = None       # in the tested dtype; NaN where a point raised
    raised: np.ndarray | None = None        # bool mask: the point raised (element-wise mode)
    elementwise: str | None = None          # why element-wise evaluation was used
    error: str | None = None                # whole-call failure or first per-point exception
    garbage: str | None = None
    dtype_note: str | None = None
    shape_note: str | None = None
    remarks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _record(caught) -> list[str]:
    msgs = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return msgs[:3]


def evaluate(fn: Callable, inputs: np.ndarray, out_shape: tuple, *, unit_ndim: int = 0,
             force_elementwise: bool = False) -> Evaluation:
    """Call ``fn`` on ``inputs`` (a copy), falling back to element-by-element calls.

    ``unit_ndim`` is 0 for scalar activations (one element is a number) and 1 for
    vector ones (one element is a row); ``out_shape`` is the expected result shape.
    """
    dt = inputs.dtype
    ev = Evaluation()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first_exc = None
        if not force_elementwise:
            try:
                out = fn(inputs.copy())
                ev.values, ev.dtype_note, ev.remarks, ev.shape_note = _as_float_array(
                    out, out_shape, dt, inputs.shape)
                ev.raised = np.zeros(inputs.shape[: inputs.ndim - unit_ndim], dtype=bool)
            except Garbage as exc:
                ev.garbage = str(exc)
            except Stopped:
                raise
            except Exception as exc:  # noqa: BLE001 - user code may raise anything
                first_exc = exc
        if ev.values is None and ev.garbage is None:
            _elementwise(fn, inputs, out_shape, unit_ndim, ev)
            if first_exc is not None:
                ev.elementwise = f"evaluated element by element: on arrays it raised {_describe_exception(first_exc)}"
            if ev.raised is not None and ev.raised.all() and first_exc is not None and ev.raised.size:
                ev.values, ev.elementwise = None, None
                ev.error = _describe_exception(first_exc)
    ev.warnings = _record(caught)
    return ev


def _elementwise(fn, inputs, out_shape, unit_ndim, ev: Evaluation) -> None:
    dt = inputs.dtype
    lead = inputs.shape[: inputs.ndim - unit_ndim]
    unit_out = tuple(out_shape[len(lead):])
    flat_in = inputs.reshape((-1,) + inputs.shape[inputs.ndim - unit_ndim:])
    values = np.full((flat_in.shape[0],) + unit_out, np.nan, dtype=dt)
    raised = np.zeros(flat_in.shape[0], dtype=bool)
    for i in range(flat_in.shape[0]):
        arg = dt.type(flat_in[i]) if unit_ndim == 0 else flat_in[i].copy()
        try:
            out = fn(arg)
        except Stopped:
            raise
        except Exception as exc:  # noqa: BLE001
            raised[i] = True
            if ev.error is None:
                ev.error = f"{_describe_exception(exc)} (at x = {_fmt_input(flat_in[i])})"
            continue
        try:
            if unit_ndim == 0:
                try:
                    arr = to_array(out) if out is not None and not isinstance(out, (str, bytes)) else None
                    if arr is not None and arr.dtype.kind == "O":
                        arr = _object_floats(arr, type(out).__name__)
                except Garbage:
                    raise
                except Exception as exc:  # noqa: BLE001 - a ragged list, an __array__ that raises
                    raise Garbage(f"returned {type(out).__name__} that is not an array "
                                  f"({_describe_exception(exc)})") from None
                if arr is None or arr.size != 1:
                    raise Garbage("returned None" if out is None else
                                  f"returned {type(out).__name__} {_short(out)} for one number")
                arr = arr.reshape(())
            else:
                arr = out
            values[i] = _as_float_array(arr, unit_out, dt, flat_in[i].shape)[0]
        except Garbage as exc:
            ev.garbage = f"{exc} (at x = {_fmt_input(flat_in[i])})"
            ev.values = None
            return
    ev.values = values.reshape(tuple(lead) + unit_out)
    ev.raised = raised.reshape(lead)


def _short(obj) -> str:
    s = repr(obj)
    return s if len(s) <= 30 else s[:27] + "..."


# =========================================================================== scoring
def _num(v):
    """A float for JSON: a number when finite, else its repr string ('inf', 'nan')."""
    v = float(v)
    return v if math.isfinite(v) else repr(v)


def _fmt_input(v):
    a = np.asarray(v)
    return repr(float(a)) if a.ndim == 0 else "[" + ", ".join(repr(float(t)) for t in a.ravel()) + "]"


def _json_value(a):
    a = np.asarray(a)
    return _num(a) if a.ndim == 0 else [_json_value(t) for t in a]


def point_failures(got: np.ndarray, exp: np.ndarray, max_ulp: float, atol: float):
    """(ULP distance, failing mask) elementwise."""
    ulps = ulp_distance(got, exp)
    with np.errstate(all="ignore"):
        abs_err = np.abs(got.astype(np.float64) - exp.astype(np.float64))
    ok = (ulps <= max_ulp) | (abs_err <= atol)
    return ulps, ~ok


@dataclass
class _Case:
    """One function under test over one dtype: how to compute got and expected."""

    name: str
    act: Activation
    fn: Callable
    dtype: np.dtype
    derivative: bool
    max_ulp: float
    atol: float
    user: bool  # user code: catch and describe failures
    kink_convention: str = policy.KINK_CONVENTIONS[0]
    vector_error: str = policy.VECTOR_ERRORS[0]

    @property
    def expr(self):
        return self.act.derivative if self.derivative else self.act.expr


# =========================================================================== kinks and jumps
@dataclass
class _Kink:
    """A kink or jump of f exactly at a float of the tested dtype, with what may be returned there."""

    at: float
    lo: float            # the least and greatest accepted values (one-sided derivatives or limits)
    hi: float
    left: float
    right: float
    continuous: bool


_KINKS: dict = {}


def _kinks_of(case: _Case) -> list[_Kink]:
    """The kinks (derivative tests) or jumps (value tests) of f at floats of the dtype."""
    key = (case.act.expr, case.dtype.name, case.derivative)
    if key in _KINKS:
        return _KINKS[key]
    out = []
    dt = case.dtype
    for k in case.act.kinks:
        try:
            at = float(k.at)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(at) or sp.Rational(float(dt.type(at))) != k.at:
            continue  # no float of this dtype lies at the kink
        if case.derivative:
            try:
                left, right = (float(dt.type(float(sp.N(s, 40)))) for s in (k.left_slope, k.right_slope))
            except (TypeError, ValueError):
                continue
        elif not k.continuous:
            pts = np.array(strategies.neighbours(at, dt)[:1] + strategies.neighbours(at, dt)[-1:], dtype=dt)
            left, right = (float(v) for v in expected(case.expr, case.act.x, pts, dt))
        else:
            continue  # f's value at a continuous kink is defined: judged as anywhere else
        if not (math.isfinite(left) and math.isfinite(right)):
            continue
        out.append(_Kink(at, min(left, right), max(left, right), left, right, bool(k.continuous)))
    _KINKS[key] = out
    return out


def _jump_param(act: Activation, at: float, value: float) -> str | None:
    """``--param NAME=VALUE`` that makes f(at) = value (step's h0), or None."""
    for p in act.params:
        try:
            other = act.with_params(**{p.name: repr(float(value))})
            if float(other(sp.Rational(at))) == value:
                return f"--param {p.name}={float(value):g}"
        except (SymactError, TypeError, ValueError):
            continue
    return None


def _apply_kinks(case: _Case, points, got, exp, ulps, fail, severity, raised) -> list[dict]:
    """Judge the points at kinks and jumps of f (user code only): accepted conventions pass
    (``between``), other values there are ``convention`` failures. Returns what the code does there."""
    if not case.user:
        return []
    found = {}
    for k in _kinks_of(case):
        tol = lambda a, b: bool(ulp_distance(np.array([a], case.dtype), np.array([b], case.dtype))[0]  # noqa: E731
                                 <= case.max_ulp or abs(a - b) <= case.atol)
        for i in np.flatnonzero((points == k.at) & fail & ~raised):
            g = float(got[i])
            inside = (k.lo <= g <= k.hi) or tol(g, k.lo) or tol(g, k.hi)
            if case.derivative:
                if inside:
                    side, text = policy.convention_text(case.act.name, k.at, g, k.left, k.right,
                                                        symact_value=float(exp[i]), close=tol)
                    if not k.continuous:
                        text = f"{case.act.name}'({policy._g(k.at)}) = {policy._g(g)} at a jump, where f has no derivative"
                    if case.kink_convention == "between":
                        fail[i], ulps[i] = False, 0.0
                    else:
                        severity[i] = "convention"
                    found.setdefault(g, {"x": _num(k.at), "value": _num(g), "side": side, "text": text,
                                         "accepted": case.kink_convention == "between"})
                elif not k.continuous and math.isfinite(g):
                    severity[i] = "convention"
                elif math.isfinite(g):
                    severity[i] = "wrong"  # no one-sided derivative gives it
            elif inside:  # a value at a jump: a parameter of f
                severity[i] = "convention"
                hint = _jump_param(case.act, k.at, g)
                text = (f"{case.act.name}({policy._g(k.at)}) = {policy._g(g)} at the jump (symact: "
                        f"{policy._g(float(exp[i]))})" + (f"; the code matches {hint}" if hint else ""))
                found.setdefault(g, {"x": _num(k.at), "value": _num(g), "side": "jump", "text": text,
                                     "accepted": False, **({"param": hint} if hint else {})})
    return list(found.values())


# =========================================================================== judgement
def _judge(case: _Case, points, got, exp, raised):
    """(ulps, fail, severity, conventions) of results ``got`` at ``points`` (scalar activations)."""
    ulps, fail = point_failures(got, exp, case.max_ulp, case.atol)
    fail |= raised
    ulps[raised] = np.inf
    severity = np.full(points.shape, None, dtype=object)
    conventions = _apply_kinks(case, points, got, exp, ulps, fail, severity, raised)
    todo = fail & (severity == None)  # noqa: E711 - elementwise
    if todo.any():
        severity[todo] = policy.classify(points[todo], got[todo], exp[todo])
    severity[~fail] = None
    return ulps, fail, severity, conventions


def _nan_leniency(case: _Case, points: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Points where user code gave a number for NaN input: noted, not failed.

    The kernels must propagate NaN. A hand-written function need not: the
    course's ``if x > 0: return 1`` has no NaN to return, and what a function
    does with NaN input is no statement about the activation it computes.
    """
    if not case.user:
        return np.zeros(points.shape, dtype=bool)
    return np.isnan(points) & ~np.isnan(got)


def _who(case: _Case) -> str:
    return case.name.split("[")[0]


def _stats(ulps, fail) -> dict:
    finite = ulps[np.isfinite(ulps)]
    return {"failing": int(fail.sum()),
            "max_ulp": _num(ulps.max()) if ulps.size else 0.0,
            "mean_ulp": round(float(finite.mean()), 4) if finite.size else _num(math.inf)}


def _worst_index(ulps, fail) -> int:
    """Largest ULP error, among failing points if any (first in order on ties)."""
    score = np.where(fail, ulps, -1.0) if fail.any() else ulps
    score = np.where(np.isnan(score), np.inf, score)
    return int(np.argmax(score))


def _finish(case: _Case, passed: bool, details: dict, ev: Evaluation) -> TestResult:
    notes = [n for n in (ev.elementwise, ev.dtype_note, ev.shape_note) if n]
    if notes:
        details["note"] = "; ".join(notes)
    if ev.remarks:
        details["remarks"] = list(dict.fromkeys(ev.remarks))
    if ev.warnings:
        details["warnings"] = ev.warnings
    if not passed and "severity" not in details:
        details["severity"] = "wrong"  # no values at all: raised everywhere, garbage, stopped
    return TestResult(case.name, passed, details)


def _message(d: dict, unit: str = "points") -> str:
    w = d["worst"]
    total = d["rows"] if unit == "rows" else d["points"]
    return (f"{d['failing']} of {total} {unit} outside {d['tolerance']['max_ulp']:g} ULP "
            f"(atol {d['tolerance']['atol']:g}); {d['severity']}: worst at x = {_w(w['x'])}: "
            f"expected {_w(w['expected'])}, got {_w(w['got'])} ({w['ulp']} ULP)")


def _w(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_w(t) for t in v) + "]"
    return str(v)


def _simplicity(v: float):
    if math.isnan(v):
        return (3, 0, 0.0)
    if math.isinf(v):
        return (2, 0, 0.0)
    m, _ = math.frexp(abs(v))
    bits = 0
    while m and m != int(m) and bits < 64:
        m *= 2
        bits += 1
    return (v != round(v), bits, abs(v), v < 0)


def _tolerance_note(case: _Case, w: dict, ulp: float, fail: bool) -> None:
    """Mark a passing worst point that passed only by the absolute tolerance."""
    if not fail and ulp > case.max_ulp:
        w["passed_by"] = "atol"


# =========================================================================== scalar tests
def _scalar_test(case: _Case, points: np.ndarray) -> TestResult:
    act, dt = case.act, case.dtype
    exp = expected(case.expr, act.x, points, dt)
    ev = evaluate(case.fn, points, points.shape)
    details = {"dtype": dt.name, "points": int(points.size),
               "tolerance": {"max_ulp": case.max_ulp, "atol": case.atol}}
    if ev.values is None:
        details["error" if ev.error else "message"] = ev.error or f"{_who(case)} {ev.garbage}"
        details["failing"] = int(points.size)
        return _finish(case, False, details, ev)
    lenient = _nan_leniency(case, points, ev.values) & ~ev.raised
    ulps, fail, severity, conventions = _judge(case, points, ev.values, exp, ev.raised)
    if lenient.any():
        fail &= ~lenient
        ulps[lenient] = 0.0
        severity[lenient] = None
        ev.elementwise = "; ".join(filter(None, [ev.elementwise, (
            f"x = nan gave {_num(ev.values[lenient][0])}, not NaN (user code: noted, not counted as a failure)")]))
    details.update(_stats(ulps, fail))
    passed = not fail.any()
    top = policy.most_severe(severity[fail]) if not passed else None
    in_top = fail & (severity == top) if top else fail
    worst = _worst_index(ulps, in_top)
    details["worst"] = {"x": _num(points[worst]), "expected": _num(exp[worst]),
                        "got": _num(ev.values[worst]), "ulp": _num(ulps[worst])}
    _tolerance_note(case, details["worst"], float(ulps[worst]), bool(fail[worst]))
    if conventions:
        details["conventions"] = conventions
    if ev.error:
        details["error"] = ev.error
    if not passed:
        details["severity"] = top
        details["classes"] = _classes(points, exp, ev.values, ulps, fail, severity)
        details["witness"] = _scalar_witness(case, points[in_top], ev.elementwise is not None, top)
        details["message"] = _message(details)
        if top == "wrong" and case.user:
            computes = _what_it_computes(case, points, ev.values)
            if computes:
                details["computes"] = computes
    return _finish(case, passed, details, ev)


def _what_it_computes(case: _Case, points, values) -> dict | None:
    """What a ``wrong`` implementation computes instead (:mod:`symact.verify.recognize`), or None."""
    try:
        from symact.verify.recognize import what_it_computes
    except ImportError:  # pragma: no cover - a partial installation
        return None
    try:
        return what_it_computes(case.act, points, values, derivative=case.derivative, dtype=case.dtype.name)
    except SymactError:
        return None


def _classes(points, exp, got, ulps, fail, severity) -> dict:
    out = {}
    for c in policy.SEVERITIES:
        m = fail & (severity == c)
        if m.any():
            i = _worst_index(ulps, m)
            out[c] = {"failing": int(m.sum()), "worst": {"x": _num(points[i]), "expected": _num(exp[i]),
                                                         "got": _num(got[i]), "ulp": _num(ulps[i])}}
    return out


def _single(case: _Case, v: float, elementwise: bool):
    """(got, expected, ulp, failed, error, severity) at one point, judged as the bulk was."""
    dt = case.dtype
    arr = np.array([v], dtype=dt)
    ev = evaluate(case.fn, arr, arr.shape, force_elementwise=elementwise)
    exp = expected(case.expr, case.act.x, arr, dt)
    if ev.values is None:
        return math.nan, float(exp[0]), math.inf, True, ev.error or ev.garbage, "wrong"
    ulps, fail, severity, _ = _judge(case, arr, ev.values, exp, ev.raised)
    if _nan_leniency(case, arr, ev.values)[0] and not ev.raised[0]:
        return float(ev.values[0]), float(exp[0]), 0.0, False, None, None
    err = ev.error if ev.raised[0] else None
    return float(ev.values[0]), float(exp[0]), float(ulps[0]), bool(fail[0]), err, severity[0]


def _scalar_witness(case: _Case, failing: np.ndarray, elementwise: bool, target: str | None) -> dict:
    """The simplest failing input of class ``target`` Hypothesis finds from the failing points."""
    from hypothesis import strategies as st

    seeds = sorted(set(failing.astype(np.float64).tolist()) - {math.nan}, key=_simplicity)[:50]
    if np.isnan(failing).any() or not seeds:
        seeds.append(math.nan)
    width = 8 * case.dtype.itemsize
    strategy = st.one_of(st.floats(allow_nan=False, width=width), st.sampled_from(seeds))

    def fails(v):
        r = _single(case, v, elementwise)
        return r[3] and (target is None or r[5] == target)

    found = _hypothesis_find(strategy, fails, WITNESS_BUDGET["scalar"], key=lambda v: _key(v) if v == v else "nan")
    x = seeds[0] if found is None else found
    got, exp, ulp, failed, err, sev = _single(case, x, elementwise)
    w = {"x": _num(x), "expected": _num(exp), "got": _num(got), "ulp": _num(ulp)}
    if sev:
        w["severity"] = sev
    if err:
        w["error"] = err
    if not failed:
        w["note"] = _ALONE.format(what="point")
    return w


def _hypothesis_find(strategy, fails: Callable, budget: int, key: Callable = repr):
    """The simplest input Hypothesis finds for which ``fails`` holds, or None.

    Derandomized, no example database, quiet. The condition is memoized, so every replay
    answers as the first call did; after ``budget`` distinct calls it answers False for
    new inputs, so the search and the shrinking stop (deterministic: the budget counts
    calls, not seconds). Any error of Hypothesis itself (Flaky, Unsatisfiable, a health
    check, a deadline) ends the search with the simplest failing input seen so far.
    """
    from hypothesis import HealthCheck, Verbosity, find, settings

    seen: dict = {}
    best, stopped = [], []

    def condition(v):
        k = key(v)
        if k in seen:
            return seen[k]
        if len(seen) >= budget or stopped:
            return False
        try:
            ok = bool(fails(v))
        except Stopped as exc:  # the implementation can no longer be called: end the search
            stopped.append(exc)
            ok = False
        seen[k] = ok
        if ok:
            best.append(v)
        return ok

    cfg = settings(derandomize=True, database=None, max_examples=max(budget // 3, 10), deadline=None,
                   verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = find(strategy, condition, settings=cfg)
    except Stopped:
        raise
    except Exception:  # noqa: BLE001 - NoSuchExample, Unsatisfiable, Flaky*, DeadlineExceeded, ...
        found = best[-1] if best else None
    if stopped:
        raise stopped[0]
    if found is not None and not seen.get(key(found), False):
        found = best[-1] if best else None
    return found


# =========================================================================== vector tests
#: vector activations whose normwise scale includes the inputs' magnitude (see policy)
_INPUT_SCALED = ("log_softmax", "logsumexp")


def _row_judge(case: _Case, rows: np.ndarray, got: np.ndarray, exp: np.ndarray, raised: np.ndarray):
    """Per input row: (judged ulps, normwise ulps, componentwise ulps, failing, severity)."""
    dt = case.dtype
    m = rows.shape[0]
    g = got.reshape(m, -1).astype(np.float64)
    e = exp.reshape(m, -1).astype(np.float64)
    comp_ulps, comp_fail = point_failures(got.reshape(m, -1), exp.reshape(m, -1), case.max_ulp, case.atol)
    with np.errstate(all="ignore"):
        fin = np.where(np.isfinite(e), np.abs(e), 0.0)
        scale = fin.max(axis=1) if fin.size else np.zeros(m)
        if case.act.name in _INPUT_SCALED and not case.derivative:
            xs = np.where(np.isfinite(rows), np.abs(rows.astype(np.float64)), 0.0)
            scale = np.maximum(scale, xs.max(axis=1))
        unit = np.spacing(scale.astype(dt)).astype(np.float64)
        err = np.abs(g - e)
        norm_ulps = np.where(unit[:, None] > 0, err / unit[:, None], comp_ulps)
        special = ~np.isfinite(g) | ~np.isfinite(e)
        norm_ulps = np.where(special, comp_ulps, norm_ulps)
        norm_ulps = np.where(np.isnan(norm_ulps), np.inf, norm_ulps)
        norm_fail = np.where(special, comp_fail, (norm_ulps > case.max_ulp) & ~(err <= case.atol))
    normwise = case.user and case.vector_error == "normwise"
    ulps, fail = (norm_ulps, norm_fail) if normwise else (comp_ulps, comp_fail)
    ulps = np.where(raised[:, None], np.inf, ulps)
    fail = fail | raised[:, None]
    row_fail = fail.any(axis=1)
    severity = np.full(m, None, dtype=object)
    ordinary_row = np.all(np.abs(rows.astype(np.float64)) <= policy.ORDINARY[1], axis=1)
    for r in np.flatnonzero(row_fail):
        f = fail[r]
        cls = policy.classify(np.zeros(int(f.sum())), g[r][f], e[r][f],
                              scale=scale[r] if normwise else None, is_ordinary=bool(ordinary_row[r]))
        severity[r] = policy.most_severe(cls)
    return ulps.max(axis=1), norm_ulps.max(axis=1), comp_ulps.max(axis=1), row_fail, severity


def _vector_test(case: _Case, groups: dict[int, np.ndarray]) -> TestResult:
    act, dt = case.act, case.dtype
    mode = case.vector_error if case.user else "componentwise"
    details = {"dtype": dt.name, "points": 0, "rows": 0, "vector_error": mode,
               "tolerance": {"max_ulp": case.max_ulp, "atol": case.atol}}
    notes = Evaluation()
    parts = []
    for n, rows in groups.items():
        exp = expected_rows(act, rows, dt, case.derivative)
        ev = evaluate(case.fn, rows, exp.shape, unit_ndim=1)
        details["points"] += int(exp.size)
        details["rows"] += int(rows.shape[0])
        notes.elementwise = notes.elementwise or ev.elementwise
        notes.dtype_note = notes.dtype_note or ev.dtype_note
        notes.shape_note = notes.shape_note or ev.shape_note
        notes.remarks = list(dict.fromkeys(notes.remarks + ev.remarks))
        notes.warnings = sorted(set(notes.warnings) | set(ev.warnings))[:3]
        if ev.values is None:
            details["error" if ev.error else "message"] = ev.error or f"{_who(case)} {ev.garbage}"
            details["failing"] = details["rows"]
            details["failing_rows"] = details["rows"]
            return _finish(case, False, details, notes)
        if ev.error and "error" not in details:
            details["error"] = ev.error
        if np.size(ev.values) != exp.size:              # not the declared output shape (glu halves the axis)
            details["message"] = (f"{_who(case)} returned shape {tuple(np.shape(ev.values))} for rows of shape "
                                  f"{rows.shape}; the declared output shape is {exp.shape}")
            details["failing"] = details["failing_rows"] = details["rows"]
            details["severity"] = "wrong"
            return _finish(case, False, details, notes)
        judged, norm, comp, row_fail, severity = _row_judge(case, rows, ev.values, exp, ev.raised)
        for r in range(rows.shape[0]):
            parts.append((rows[r], exp[r], ev.values[r], float(judged[r]), float(norm[r]), float(comp[r]),
                          bool(row_fail[r]), severity[r]))
    judged = np.array([p[3] for p in parts])
    fail = np.array([p[6] for p in parts], dtype=bool)
    severity = np.array([p[7] for p in parts], dtype=object)
    details.update(_stats(judged, fail))
    details["failing_rows"] = details["failing"]
    norm = np.array([p[4] for p in parts])
    comp = np.array([p[5] for p in parts])
    details["normwise_max_ulp"] = _num(norm.max()) if norm.size else 0.0
    details["componentwise_max_ulp"] = _num(comp.max()) if comp.size else 0.0
    passed = not fail.any()
    top = policy.most_severe(severity[fail]) if not passed else None
    in_top = fail & (severity == top) if top else fail
    r = _worst_index(judged, in_top) if parts else 0
    if parts:
        row, e, g, ju, nu, cu, f, _ = parts[r]
        details["worst"] = {"x": _json_value(row), "expected": _json_value(e), "got": _json_value(g),
                            "ulp": _num(ju), "normwise_ulp": _num(nu), "componentwise_ulp": _num(cu)}
        _tolerance_note(case, details["worst"], ju, f)
    if not passed:
        details["severity"] = top
        details["classes"] = {c: {"failing": int((fail & (severity == c)).sum())}
                              for c in policy.SEVERITIES if (fail & (severity == c)).any()}
        failing_rows = [parts[i][0] for i in np.flatnonzero(in_top)]
        details["witness"] = _vector_witness(case, failing_rows, notes.elementwise is not None, top)
        details["message"] = _message(details, "rows")
        if top == "wrong" and case.user and not case.derivative:   # values only, not Jacobians
            computes = _vector_computes(case)
            if computes:
                details["computes"] = computes
    return _finish(case, passed, details, notes)


def _vector_computes(case: _Case) -> dict | None:
    """What a ``wrong`` vector implementation computes instead: judged on 24 seeded ordinary
    rows of length 4 (the test's own point set holds few ordinary rows of one length)."""
    rows = (np.random.default_rng(4).normal(size=(24, 4)) * 3).astype(case.dtype)
    ev = evaluate(case.fn, rows, rows.shape, unit_ndim=1)
    if ev.values is None or np.shape(ev.values) != rows.shape:
        return None
    return _what_it_computes(case, rows, np.asarray(ev.values))


def _row_check(case: _Case, row, elementwise: bool):
    """(got, expected, ulp, failed, severity, normwise ulp, componentwise ulp) for one row."""
    dt = case.dtype
    rows = np.array([row], dtype=dt)
    exp = expected_rows(case.act, rows, dt, case.derivative)
    ev = evaluate(case.fn, rows, exp.shape, unit_ndim=1, force_elementwise=elementwise)
    if ev.values is None:
        return None, exp[0], math.inf, True, "wrong", math.inf, math.inf
    judged, norm, comp, row_fail, severity = _row_judge(case, rows, ev.values, exp, ev.raised)
    return (ev.values[0], exp[0], float(judged[0]), bool(row_fail[0]), severity[0],
            float(norm[0]), float(comp[0]))


def _vector_witness(case: _Case, failing_rows: list, elementwise: bool, target: str | None) -> dict:
    seeds = sorted((tuple(float(t) for t in r) for r in failing_rows),
                   key=lambda r: (len(r), [_simplicity(t) for t in r]))[:30]
    budget = WITNESS_BUDGET["jacobian" if case.derivative else "vector"]
    strategy = strategies.vectors(case.dtype.name, max_size=4 if case.derivative else 8)
    from hypothesis import strategies as st

    strategy = st.one_of(strategy.map(tuple), st.sampled_from(seeds)) if seeds else strategy.map(tuple)

    def fails(r):
        res = _row_check(case, r, elementwise)
        return res[3] and (target is None or res[4] == target)

    found = _hypothesis_find(strategy, fails, budget, key=lambda r: tuple(_key(t) if t == t else "nan" for t in r))
    row = seeds[0] if found is None else found
    got, exp, ulp, failed, sev, nu, cu = _row_check(case, row, elementwise)
    w = {"x": [_num(t) for t in row], "expected": _json_value(exp),
         "got": None if got is None else _json_value(got), "ulp": _num(ulp),
         "normwise_ulp": _num(nu), "componentwise_ulp": _num(cu)}
    if sev:
        w["severity"] = sev
    if not failed:
        w["note"] = _ALONE.format(what="row")
    return w


#: a witness that passes when evaluated alone although it failed in the batch
_ALONE = ("this {what} fails in a batch but passes when evaluated alone: the result at one {what} "
          "depends on the others (a reduction over the whole array, e.g. axis=None?)")


# =========================================================================== shape and dtype
def _shape_cases(act: Activation, derivative: bool, dtypes) -> list[tuple[np.ndarray, tuple]]:
    rng = np.random.default_rng(1)
    cases = []
    for name in dtypes:
        dt = np.dtype(name)
        if act.vector:
            n = 4 if act.shape == "half" else 3      # glu splits the axis in half
            for shape in ((n,), (2, n), (2, 2, n)):
                x = rng.normal(size=shape).astype(dt)
                cases.append((x, shape[:-1] + row_shape(act, n, derivative)))
        else:
            for shape in ((), (3, 4)):
                x = np.asarray(rng.normal(size=shape)).astype(dt)
                cases.append((x, shape))
    return cases


def _shape_problems(label: str, fn: Callable, act: Activation, derivative: bool, dtypes):
    """(problems, remarks) of ``fn``'s results' shapes and dtypes.

    The contract is f(x).shape == x.shape (x.shape + (n,) for a vector Jacobian) and
    f(x).dtype == x.dtype. A result whose dtype differs but whose values the input's dtype
    holds exactly (integers, booleans, an object array of numbers) is a remark; one whose
    values must be rounded (float64 for float32 input), a shape that differs, or something
    that is no array of numbers is a problem.
    """
    problems, remarks = [], []
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for x, want in _shape_cases(act, derivative, dtypes):
            desc = f"{x.dtype.name} {x.shape}"
            try:
                out = fn(x.copy())
            except Stopped as exc:
                problems.append(f"{label}: {exc}")
                break
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{label}: {desc} input raised {_describe_exception(exc)}")
                continue
            try:
                arr = to_array(out) if out is not None and not isinstance(out, (str, bytes)) else None
            except Exception as exc:  # noqa: BLE001 - a ragged list, an __array__ that raises
                problems.append(f"{label}: {desc} input gave {type(out).__name__} that is not an array "
                                f"({_describe_exception(exc)})")
                continue
            if arr is None:
                problems.append(f"{label}: {desc} input gave {type(out).__name__}")
                continue
            kind = arr.dtype.name
            if arr.dtype.kind == "O":
                try:
                    arr = _object_floats(arr, type(out).__name__)
                except Garbage as exc:
                    problems.append(f"{label}: {desc} input {str(exc).replace('returned', 'gave', 1)}")
                    continue
                kind = "object"
            if arr.shape != want:
                problems.append(f"{label}: {desc} input gave {kind} {arr.shape}, expected {x.dtype.name} {want}")
            elif arr.dtype != x.dtype or kind == "object":
                if (kind == "object" or arr.dtype.kind in "iub") and _lossless(arr, x.dtype):
                    what = "an object array of numbers" if kind == "object" else f"{kind} values"
                    remarks.append(f"{label}: {desc} input gave {kind} {arr.shape}: {what}, exact in "
                                   f"{x.dtype.name} (a remark, not a failure)")
                else:
                    problems.append(f"{label}: {desc} input gave {kind} {arr.shape}, "
                                    f"expected {x.dtype.name} {want}")
    return problems, remarks


def _shape_dtype_test(act, subjects, dtypes) -> TestResult:
    problems, notes, remarks = [], [], []
    for label, fn, derivative, scalar_only in subjects:
        if scalar_only:
            notes.append(f"{label} works on scalars only (evaluated element by element): shapes not checked")
            continue
        p, r = _shape_problems(label, fn, act, derivative, dtypes)
        problems += p
        remarks += r
    details = {"checked": [s[0] for s in subjects if not s[3]]}
    if problems:
        details["problems"] = problems
        details["message"] = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        details["severity"] = "wrong"
    if remarks:
        details["remarks"] = remarks
    if notes:
        details["note"] = "; ".join(notes)
    return TestResult("shape_dtype", not problems, details)


# =========================================================================== front door
def _validate(examples, max_ulp, atol, dtypes, kink_convention=policy.KINK_CONVENTIONS[0],
              vector_error=policy.VECTOR_ERRORS[0]) -> tuple[str, ...]:
    if isinstance(dtypes, str):
        dtypes = (dtypes,)
    out = []
    for d in dtypes:
        try:
            name = np.dtype(d).name
        except TypeError:
            name = str(d)
        if name not in DTYPES:
            raise SymactError(f"dtype must be float64 or float32, not {d!r}")
        if name not in out:
            out.append(name)
    if not out:
        raise SymactError("no dtype to test; use float64 and/or float32")
    if int(examples) < 1:
        raise SymactError(f"--examples must be at least 1, got {examples}")
    if not (max_ulp >= 0):
        raise SymactError(f"--max-ulp must be a non-negative number, got {max_ulp}")
    if atol is not None and not (atol >= 0):
        raise SymactError(f"--atol must be a non-negative number, got {atol}")
    if kink_convention not in policy.KINK_CONVENTIONS:
        raise SymactError(f"--kink-convention must be one of {', '.join(policy.KINK_CONVENTIONS)}, "
                          f"not {kink_convention!r}")
    if vector_error not in policy.VECTOR_ERRORS:
        raise SymactError(f"--vector-error must be one of {', '.join(policy.VECTOR_ERRORS)}, not {vector_error!r}")
    return tuple(out)


def run_tests(act: Activation, *, impl=None, grad_impl=None, seed=0, examples=2000,
              max_ulp=policy.MAX_ULP, atol=None, dtypes=("float64", "float32"),
              kink_convention=policy.KINK_CONVENTIONS[0], vector_error=policy.VECTOR_ERRORS[0]
              ) -> list[TestResult]:
    """Differential tests of ``act``'s kernels (and ``impl``/``grad_impl``) against the oracle,
    under the accuracy policy of :mod:`symact.verify.policy`.

    Returns, in order: ``kernel[dt]`` and ``derivative_kernel[dt]`` for each dtype,
    ``impl[dt]`` and ``grad_impl[dt]`` when given, and ``shape_dtype``. Every failed test's
    details carry ``severity`` (wrong, unstable, inaccurate or convention).
    """
    dtypes = _validate(examples, max_ulp, atol, dtypes, kink_convention, vector_error)
    examples, seed = int(examples), int(seed)
    subjects = [("kernel", kernel_for(act), False, False), ("derivative_kernel", kernel_for(act, derivative=True), True, False)]
    if impl is not None:
        subjects.append(("impl", impl, False, True))
    if grad_impl is not None:
        subjects.append(("grad_impl", grad_impl, True, True))
    if act.vector:
        point_sets = {
            (d, deriv): vector_rows(d, max(examples // VECTOR_ROWS["jacobian" if deriv else "value"], 4),
                                    seed, max_len=4 if deriv else 8, even=act.shape == "half")
            for d in dtypes for deriv in (False, True)}
    else:
        point_sets = {(d, deriv): scalar_points(act, d, examples, seed) for d in dtypes for deriv in (False, True)}
    results, scalar_only = [], {}
    for label, fn, deriv, user in subjects:
        if fn is not None and not callable(fn):
            results += [TestResult(f"{label}[{d}]", False, {"message": f"{label} is {type(fn).__name__}, not callable"})
                        for d in dtypes]
            scalar_only[label] = True
            continue
        for d in dtypes:
            case = _Case(f"{label}[{d}]", act, fn, np.dtype(d), deriv, float(max_ulp),
                         float(smallest_normal(d) if atol is None else atol), user, kink_convention, vector_error)
            pts = point_sets[(d, deriv)]
            try:
                res = _vector_test(case, pts) if act.vector else _scalar_test(case, pts)
            except Stopped as exc:  # the implementation's process ended, overran or printed
                size = sum(int(r.size) for r in pts.values()) if act.vector else int(pts.size)
                res = TestResult(case.name, False, {"dtype": d, "points": size, "failing": size,
                                                    "error": str(exc), "severity": "wrong"})
            scalar_only[label] = scalar_only.get(label, False) or "element by element" in res.details.get("note", "")
            results.append(res)
    results.append(_shape_dtype_test(
        act, [(label, fn, deriv, scalar_only.get(label, False)) for label, fn, deriv, _ in subjects
              if callable(fn)], dtypes))
    return results
