"""Benchmark and accuracy tables for the generated kernels (library code: never prints).

:func:`run_bench` times, per activation (and its derivative), the symact kernel
against its peers on the same input, round-robin over ``repeats`` (so drift and
turbo affect every peer alike), and reports medians in ns/element with each
peer's accuracy (max ULP against the mpmath oracle on a fixed sample of points
that includes the tails):

* ``symact``   -- :func:`symact.numeric.kernels.kernel_for`, allocating its result
* ``symact_out`` -- the same kernel writing into a preallocated ``out=``
* ``lambdify`` -- ``sympy.lambdify`` of the same formula with module "numpy"
* ``naive``    -- hand-written NumPy in the course's style (:data:`NAIVE`)
* ``scipy``    -- ``scipy.special`` where it has the function (:data:`SCIPY`)
* ``torch``    -- ``torch.nn.functional`` on the CPU, when torch is importable
* ``copy``     -- ``np.copyto`` of the same array: the memory-bandwidth floor

:func:`floor_checks` compares the medians with the performance floor of issue 3
(:data:`FLOORS`, :data:`COPY_FLOORS`); :func:`format_bench` prints both. Every
peer allocates its result, and so does ``symact`` in those comparisons; a
fresh array pays page faults on first touch, which ``np.copyto`` into its
preallocated destination does not, so the copy floors compare ``symact_out``
(same conditions) with ``copy``.

:func:`accuracy_table` measures each kernel against the oracle in float64 and
float32 over bit-pattern-uniform points, a grid on [-60, 60], the kinks and the
overflow tails (the README's accuracy table).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.special as sc
import sympy as sp

from symact.model import catalog
from symact.numeric import kernels
from symact.numeric.oracle import oracle_reference, vector_reference
from symact.numeric.points import bench_input, sample_points, vector_rows
from symact.numeric.ulp import floor_errors
from symact.symbolic.forms import X

# --------------------------------------------------------------------------- peers
_S2 = math.sqrt(2.0)
_A = float(catalog.SELU_ALPHA)
_L = float(catalog.SELU_SCALE)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


#: Naive NumPy forms, as a course writes them (function, derivative or None).
NAIVE = {
    "step": (lambda x: np.array(x > 0, dtype=np.float64), lambda x: np.zeros_like(x)),
    "identity": (lambda x: x.copy(), lambda x: np.ones_like(x)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: (lambda s: (1 - s) * s)(1 / (1 + np.exp(-x)))),
    "relu": (lambda x: np.maximum(0, x), lambda x: np.array(x > 0, dtype=np.float64)),
    "softmax": (_softmax, None),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "leaky_relu": (lambda x: np.where(x < 0, 0.01 * x, x), lambda x: np.where(x <= 0, 0.01, 1.0)),
    "elu": (lambda x: np.where(x < 0, np.exp(x) - 1, x), lambda x: np.where(x < 0, np.exp(x), 1.0)),
    "selu": (lambda x: _L * np.where(x < 0, _A * (np.exp(x) - 1), x),
             lambda x: _L * np.where(x <= 0, _A * np.exp(x), 1.0)),
    "celu": (lambda x: np.where(x < 0, np.exp(x) - 1, x), lambda x: np.where(x < 0, np.exp(x), 1.0)),
    "gelu": (lambda x: 0.5 * x * (1 + sc.erf(x / _S2)), None),
    "gelu_tanh": (lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))), None),
    "silu": (lambda x: x / (1 + np.exp(-x)), None),
    "softplus": (lambda x: np.log(1 + np.exp(x)), lambda x: 1 / (1 + np.exp(-x))),
    "softsign": (lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "mish": (lambda x: x * np.tanh(np.log(1 + np.exp(x))), None),
    "hard_sigmoid": (lambda x: np.minimum(np.maximum(0, x + 3), 6) / 6, None),
    "hard_swish": (lambda x: x * np.minimum(np.maximum(0, x + 3), 6) / 6, None),
    "hard_tanh": (lambda x: np.clip(x, -1, 1), None),
    "relu6": (lambda x: np.minimum(np.maximum(0, x), 6), None),
    "log_sigmoid": (lambda x: -np.log(1 + np.exp(-x)), lambda x: 1 / (1 + np.exp(x))),
    "log_softmax": (lambda x: x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True)), None),
}

#: scipy.special equivalents (function, derivative or None).
SCIPY = {
    "sigmoid": (sc.expit, lambda x: sc.expit(x) * sc.expit(-x)),
    "log_sigmoid": (sc.log_expit, lambda x: sc.expit(-x)),
    "softmax": (lambda x: sc.softmax(x, axis=-1), None),
    "log_softmax": (lambda x: sc.log_softmax(x, axis=-1), None),
    "gelu": (lambda x: x * sc.ndtr(x), None),
    "silu": (lambda x: x * sc.expit(x), None),
    "softplus": (lambda x: np.logaddexp(0, x), sc.expit),
}

_TORCH = {
    "sigmoid": "sigmoid", "relu": "relu", "tanh": "tanh", "leaky_relu": "leaky_relu", "elu": "elu",
    "selu": "selu", "celu": "celu", "gelu": "gelu", "silu": "silu", "softplus": "softplus",
    "softsign": "softsign", "mish": "mish", "hard_sigmoid": "hardsigmoid", "hard_swish": "hardswish",
    "hard_tanh": "hardtanh", "relu6": "relu6", "log_sigmoid": "logsigmoid", "softmax": "softmax",
    "log_softmax": "log_softmax",
}


def _torch_peer(name):
    try:
        import torch
        import torch.nn.functional as F
    except Exception:  # torch is optional
        return None
    if name == "gelu_tanh":
        fn = lambda t: F.gelu(t, approximate="tanh")  # noqa: E731
    elif name in _TORCH:
        f = getattr(F, _TORCH[name])
        fn = (lambda t: f(t, dim=-1)) if name in ("softmax", "log_softmax") else f
    else:
        return None
    return lambda x: fn(torch.from_numpy(x)).numpy()


def _lambdify_peer(act, derivative):
    if act.vector:
        return None
    expr = act.derivative if derivative else act.expr
    try:
        f = sp.lambdify(X, expr, modules="numpy")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            r = f(np.linspace(-3, 3, 7))
        if np.shape(r) != (7,):
            return lambda x, f=f: np.broadcast_to(f(x), x.shape).copy()
        return f
    except Exception:  # e.g. erf mapped to math.erf
        return None


# --------------------------------------------------------------------------- accuracy
def accuracy(name, derivative=False, dtype=np.float64, n_bits=200, n_grid=121, seed=0, **params):
    """(points, ULP errors) of one kernel against the oracle."""
    act = catalog.get(name, **params)
    pts = sample_points(act, dtype, n_bits, n_grid, seed)
    ref = oracle_reference(act.derivative if derivative else act.expr, pts.astype(np.float64), dtype)
    got = kernels.kernel_for(act, derivative)(pts)
    return pts, floor_errors(got, ref, dtype)


@dataclass
class AccuracyRow:
    name: str
    derivative: bool
    dtype: str
    max_ulp: float
    mean_ulp: float
    worst_x: float
    n: int
    max_ulp_ge_minus5: float | None = None  # gelu: at most 4 ULP promised for x >= -5


def accuracy_table(names=None, dtypes=("float64", "float32"), n_bits=200, n_grid=121, seed=0) -> list[AccuracyRow]:
    """Max and mean ULP per scalar activation and derivative, per dtype."""
    rows = []
    for name in names or catalog.names():
        if catalog.get(name).vector:
            continue
        for deriv in (False, True):
            for dt in dtypes:
                pts, err = accuracy(name, deriv, np.dtype(dt), n_bits, n_grid, seed)
                i = int(np.argmax(err))
                sub = err[pts >= -5]
                rows.append(AccuracyRow(name, deriv, dt, float(err.max()), float(err.mean()), float(pts[i]),
                                        len(pts), float(sub.max()) if sub.size else None))
    return rows


def format_accuracy(rows) -> str:
    lines = [f"{'activation':<14}{'kernel':<7}{'f64 max':>9}{'f64 mean':>9}{'f32 max':>9}{'f32 mean':>9}"]
    by = {}
    for r in rows:
        by.setdefault((r.name, r.derivative), {})[r.dtype] = r
    for (name, d), m in by.items():
        f64, f32 = m.get("float64"), m.get("float32")
        cell = lambda r, a: f"{getattr(r, a):9.2f}" if r else f"{'-':>9}"  # noqa: E731
        lines.append(f"{name:<14}{'df' if d else 'f':<7}{cell(f64, 'max_ulp')}{cell(f64, 'mean_ulp')}"
                     f"{cell(f32, 'max_ulp')}{cell(f32, 'mean_ulp')}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- timing
@dataclass
class PeerResult:
    peer: str
    ns_per_element: float | None
    ratio_to_symact: float | None
    max_ulp: float | None
    note: str = ""


@dataclass
class BenchRow:
    name: str
    derivative: bool
    peers: list[PeerResult] = field(default_factory=list)


@dataclass
class BenchResult:
    size: int
    dtype: str
    repeats: int
    threads: int
    rows: list[BenchRow] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _vector_accuracy(fn, act):
    """Max ULP of a row function against the vector oracle on :func:`vector_rows`
    (NaN or inf where the truth is finite counts as 1e30)."""
    worst = 0.0
    for v in vector_rows():
        if act.shape == "half" and len(v) % 2:      # glu: even rows only
            continue
        ref = vector_reference(act, v)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            got = np.asarray(fn(v.copy()), dtype=np.float64)
        err = floor_errors(got, ref, np.float64)
        worst = max(worst, float(np.where(np.isnan(err), 1e30, err).max()))
    return worst


def _peer_accuracy(fn, act, derivative, vector):
    if vector:
        try:
            return None if derivative else _vector_accuracy(fn, act)
        except Exception:
            return None
    pts = sample_points(act, np.float64, n_bits=60, n_grid=121)
    ref = oracle_reference(act.derivative if derivative else act.expr, pts, np.float64)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            got = np.asarray(fn(pts.copy()), dtype=np.float64)
        return float(floor_errors(got, ref, np.float64).max())
    except Exception:
        return None


def _warm_up(x, rounds=40) -> None:
    """Untimed: run an allocating kernel until its time settles (three calls within
    10% of each other, at least 8). In a fresh process the first calls that touch
    new memory run several times slower, which had made whichever activation came
    first look slow."""
    k = kernels.kernel_for(catalog.get("sigmoid"))
    times = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for i in range(rounds):
            t0 = time.perf_counter()
            k(x)
            times.append(time.perf_counter() - t0)
            last = times[-3:]
            if i >= 8 and max(last) <= 1.1 * min(last):
                break


def run_bench(names=None, size=10**7, dtype="float64", repeats=7, seed=0, derivatives=True,
              accuracy=True) -> BenchResult:
    """Time every kernel against its peers (see the module docstring)."""
    dt = np.dtype(dtype)
    x = bench_input(size, dt, seed)
    xv = x.reshape(-1, 100) if size % 100 == 0 else x.reshape(1, -1)
    res = BenchResult(size, dt.name, repeats, kernels.get_num_threads())
    _warm_up(x)
    for name in names or catalog.names():
        act = catalog.get(name)
        for deriv in ((False, True) if derivatives else (False,)):
            if act.vector and deriv:
                continue  # Jacobians are (..., n, n): not comparable per element
            inp = xv if act.vector else x
            k = kernels.kernel_for(act, deriv)
            # a kernel that halves, removes or doubles the axis writes its own shape
            obuf = np.empty_like(inp) if act.shape == "same" else np.empty(k(inp).shape, inp.dtype)
            peers = {"symact": lambda a, k=k: k(a), "symact_out": lambda a, k=k, o=obuf: k(a, out=o)}
            lam = _lambdify_peer(act, deriv)
            if lam is not None:
                peers["lambdify"] = lam
            idx = 1 if deriv else 0
            if name in NAIVE and NAIVE[name][idx] is not None:
                peers["naive"] = NAIVE[name][idx]
            if name in SCIPY and SCIPY[name][idx] is not None:
                peers["scipy"] = SCIPY[name][idx]
            tp = None if deriv else _torch_peer(name)
            if tp is not None:
                peers["torch"] = tp
            buf = np.empty_like(inp)
            peers["copy"] = lambda a, buf=buf: np.copyto(buf, a)
            times = {p: [] for p in peers}
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                aliases = {}
                for p, f in peers.items():  # warm-up
                    aliases[p] = f(inp) is inp
                for _ in range(repeats):
                    for p, f in peers.items():
                        t0 = time.perf_counter()
                        f(inp)
                        times[p].append(time.perf_counter() - t0)
            med = {p: float(np.median(t)) * 1e9 / inp.size for p, t in times.items()}
            row = BenchRow(name, deriv)
            for p in peers:
                acc = None
                if accuracy and p not in ("copy", "symact_out"):
                    acc = _peer_accuracy(peers[p], act, deriv, act.vector)
                note = ""
                if p == "lambdify" and aliases[p]:
                    note = NO_WORK
                row.peers.append(PeerResult(p, med[p], med[p] / med["symact"], acc, note))
            res.rows.append(row)
    return res


#: The performance floor (issue 3): peer -> minimum (peer time / symact time).
#: Peers and ``symact`` all allocate their result.
FLOORS = {"naive": 1.0, "scipy": 1.0, "lambdify": 1.25}
#: ``symact_out`` (the kernel writing into a preallocated ``out=``, as
#: ``np.copyto`` writes into its preallocated destination) at most this
#: multiple of the copy baseline.
COPY_FLOORS = {("sigmoid", False): 4.0, ("relu", False): 1.5}
#: Note on a lambdify peer that returns its argument object: it does no work
#: (identity), so no kernel that returns an array of its own can be compared.
NO_WORK = "returns its input object: no work, not comparable"


@dataclass
class FloorCheck:
    name: str
    derivative: bool
    floor: str
    required: float
    measured: float
    met: bool


def floor_checks(result: BenchResult) -> list[FloorCheck]:
    """Each floor that applies to a row, with the measured ratio."""
    out = []
    for r in result.rows:
        cells = {p.peer: p for p in r.peers}
        for peer, need in FLOORS.items():
            c = cells.get(peer)
            if c is not None and c.ns_per_element is not None and not c.note:
                out.append(FloorCheck(r.name, r.derivative, f"{peer} / symact >= {need:g}", need,
                                      c.ratio_to_symact, c.ratio_to_symact >= need))
        lim = COPY_FLOORS.get((r.name, r.derivative))
        if lim is not None and "copy" in cells:
            mine = cells.get("symact_out", cells["symact"])
            ratio = mine.ns_per_element / cells["copy"].ns_per_element
            out.append(FloorCheck(r.name, r.derivative, f"{mine.peer} / copy <= {lim:g}", lim, ratio, ratio <= lim))
    return out


def format_bench(result: BenchResult) -> str:
    """Text tables: per row, each peer's ns/element, time relative to symact and
    max ULP (vs the oracle, float64); then the floors that are not met."""
    order = ["symact", "symact_out", "lambdify", "naive", "scipy", "torch", "copy"]
    w = 19
    head = f"{'activation':<14}" + "".join(f"{p:>{w}}" for p in order)
    lines = [f"size={result.size} dtype={result.dtype} repeats={result.repeats} (medians, peers round-robin) "
             f"threads={result.threads}",
             "cell: ns/element  x(peer time / symact time)  [max ULP vs mpmath oracle; - = not measured]",
             "symact_out: the kernel writing into a preallocated out= (as np.copyto does); every other "
             "column allocates its result; * = does no work (see notes)", head]
    for r in result.rows:
        cells = {p.peer: p for p in r.peers}
        s = f"{r.name + (chr(39) if r.derivative else ''):<14}"
        for p in order:
            c = cells.get(p)
            if c is None:
                s += f"{'.':>{w}}"
                continue
            u = "" if c.max_ulp is None else (f"[{c.max_ulp:.0f}]" if c.max_ulp < 1e4 else "[>1e4]")
            u += "*" if c.note else ""
            s += f"{f'{c.ns_per_element:.2f} x{c.ratio_to_symact:.2f}{u:>7}':>{w}}"
        lines.append(s)
    checks = floor_checks(result)
    bad = [c for c in checks if not c.met]
    notes = [(r, c) for r in result.rows for c in r.peers if c.note]
    if notes:
        lines.append("")
    for r, c in notes:
        lines.append(f"* {r.name + (chr(39) if r.derivative else '')} {c.peer}: {c.note}")
    lines.append("")
    lines.append(f"floors: {len(checks) - len(bad)}/{len(checks)} met"
                 + ("" if not bad else "; not met:"))
    for c in bad:
        lines.append(f"  {c.name + (chr(39) if c.derivative else ''):<14}{c.floor:<24} measured {c.measured:.2f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- Markdown (README figures)
def _ulp_cell(v: float | None) -> str:
    if v is None:
        return ""
    return f"[{v:.0f}]" if v < 1e4 else "[>1e4]"


def markdown_accuracy(rows) -> str:
    """The README's accuracy table: per activation, max / mean ULP of f and f' in float64
    and float32 (rows from :func:`accuracy_table`)."""
    by: dict = {}
    for r in rows:
        by.setdefault(r.name, {})[(r.derivative, r.dtype)] = r
    cols = [(False, "float64"), (False, "float32"), (True, "float64"), (True, "float32")]
    out = ["| activation | f: f64 max / mean | f: f32 max / mean | f': f64 max / mean | f': f32 max / mean |",
           "| --- | --- | --- | --- | --- |"]
    for name, cells in by.items():
        parts = [f"{cells[c].max_ulp:.0f} / {cells[c].mean_ulp:.2f}" if c in cells else "" for c in cols]
        out.append(f"| {name} | " + " | ".join(parts) + " |")
    return "\n".join(out)


def markdown_bench(result: BenchResult) -> str:
    """The README's bench table (ns/element, x time relative to symact's, [max ULP]) and
    the count of floor checks met, from one :func:`run_bench` result."""
    order = ["symact", "symact_out", "lambdify", "naive", "scipy", "torch", "copy"]
    heads = {"symact_out": "symact out="}
    out = ["| activation | " + " | ".join(heads.get(p, p) for p in order) + " |",
           "| --- " * (len(order) + 1) + "|"]
    for r in result.rows:
        cells = {p.peer: p for p in r.peers}
        parts = []
        for p in order:
            c = cells.get(p)
            if c is None or c.ns_per_element is None:
                parts.append("")
                continue
            text = f"{c.ns_per_element:.2f}"
            if p not in ("symact", "copy"):
                text += f" ×{c.ratio_to_symact:.2f}"
            if p != "copy" and c.max_ulp is not None:
                text += f" {_ulp_cell(c.max_ulp)}"
            if c.note:
                text += " (no work)"
            parts.append(text)
        out.append(f"| {r.name + (chr(39) if r.derivative else '')} | " + " | ".join(parts) + " |")
    checks = floor_checks(result)
    bad = [c for c in checks if not c.met]
    out.append("")
    out.append(f"Floor checks met in this run: {len(checks) - len(bad)} of {len(checks)}"
               + ("." if not bad else "; not met: " + ", ".join(
                   f"{c.name + (chr(39) if c.derivative else '')} ({c.floor}: {c.measured:.2f})" for c in bad) + "."))
    return "\n".join(out)
