r"""What a wrong implementation computes: naming it from its values alone.

When an implementation disagrees with an activation at ordinary inputs,
:func:`what_it_computes` searches the catalog for the function it does compute,
as :func:`symact.verify.formula.catalog_matches` does for a formula -- but here
there is no formula, only the code's float values at the test points:

* every scalar catalog activation and its derivative at the declared parameter
  values ("this computes gelu_tanh, not gelu");
* the activation under test with its value and derivative swapped ("this is
  sigmoid itself, not its derivative"; "this is the derivative of relu, not relu
  itself"), the commonest mix-up in hand-written backward passes;
* a derivative written in terms of the output (sigmoid's f (1 - f), tanh's 1 - f^2,
  symact's own :func:`~symact.analysis.facts.self_form`) but applied to x: the
  backward pass of course code, handed x where it expects f(x);
* every catalog family with parameters (step h0, leaky_relu negative_slope,
  elu/celu alpha, selu alpha and scale, squareplus b, hard_sigmoid slope and
  offset), its parameter values fitted to the data by least squares and snapped
  to the simplest rational or short decimal that fits ("this is leaky_relu with
  negative_slope = 1/5"; "this is hard_sigmoid with slope = 1/5 and offset =
  1/2, as in Keras 2").

Nothing is guessed. Fitting and a cheap NumPy evaluation of the catalog's own
(trusted) definitions only choose what to try; a candidate is *named* only after
symact's generated kernel for it, at the snapped exact parameter values, agrees
with the code at **every** ordinary point (NaN only for NaN): within
:data:`ULP_BOUND` units in the last place of ``dtype``, or, where the code's
own rounding dominates (cancellation near a root, tiny values), within
``ABS_BOUND * eps * (1 + |x|)`` absolute. The text says how close: "within 2
ULP", and how many points agreed only absolutely. One disagreeing point, too few
ordinary points, or an implementation that agrees with the activation under test
itself (its failure lies elsewhere: tails, kinks) give ``None``.

Ordinary points are the finite points with ``|x| <= ORDINARY``: beyond, textbook
formulas overflow (``exp(x)`` at 710) and that is another failure class
(``unstable``), not a different function. For a derivative candidate, its own
kinks are left out (any value between the one-sided slopes is a convention).

The cost is bounded: at most :data:`MAX_FIT_POINTS` points for the fits, a
handful of kernels evaluated, and nothing proportional to anything but the
number of points given. User formulas are never compiled here: candidates come
from the catalog, and the activation under test is evaluated only through its
kernel.
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy as sp

from symact.errors import SymactError
from symact.model import catalog
from symact.model.activation import Activation
from symact.numeric.ulp import ulp_distance

__all__ = ["what_it_computes", "fit_params", "ULP_BOUND", "ABS_BOUND", "ORDINARY", "KNOWN_VARIANTS"]

#: A point agrees when the code is within this many ULP of the candidate...
ULP_BOUND = 4.0
#: ... or within ABS_BOUND * eps * (1 + |x|) of it (eps of the dtype compared in).
ABS_BOUND = 16.0
#: Ordinary points: finite, |x| at most this.
ORDINARY = 50.0
#: At least this many ordinary points with |x| >= 1/4 on each side of 0.
MIN_SIDE_POINTS = 4
#: Points used to fit parameters and to pre-screen candidates.
MAX_FIT_POINTS = 160
#: Points the screen forgives (kinks, where a derivative's value is a convention).
SCREEN_OUTLIERS = 2
#: Kernels built to confirm parametric candidates, per call.
MAX_CONFIRMATIONS = 6

#: (name, ((param, value), ...) sorted) -> where that variant is the definition.
KNOWN_VARIANTS: dict[tuple, str] = {
    ("hard_sigmoid", (("offset", Fraction(1, 2)), ("slope", Fraction(1, 5)))):
        "as in Keras 2 (tf.keras before TensorFlow 2.16) and ONNX HardSigmoid's defaults",
    ("leaky_relu", (("negative_slope", Fraction(1, 5)),)):
        "the default of tf.nn.leaky_relu (alpha = 0.2) and of Keras 3's keras.activations.leaky_relu",
    ("leaky_relu", (("negative_slope", Fraction(3, 10)),)):
        "the default of Keras' LeakyReLU layer (alpha = 0.3 in Keras 2, negative_slope = 0.3 in Keras 3)",
}


# --------------------------------------------------------------------------- catalog numerics
_NUMPY: dict = {}


def _numpy_form(name: str, derivative: bool) -> tuple[Callable, tuple[sp.Symbol, ...], set]:
    """A NumPy function ``f(x, *params)`` of a catalog family's *definition* (parameters
    free), its parameter symbols and those the (derivative) formula uses; compiled once
    per process. Only catalog declarations -- trusted source -- are compiled; it screens
    and fits, it never decides."""
    key = (name, derivative)
    if key not in _NUMPY:
        act = catalog.get(name)
        params = tuple(p.symbol for p in act.params)
        expr = sp.diff(act.definition, act.x) if derivative else act.definition
        fn = sp.lambdify((act.x,) + params, expr, modules=["scipy", "numpy"])
        _NUMPY[key] = (fn, params, expr.free_symbols)
    return _NUMPY[key]


def _eval_numpy(name: str, derivative: bool, x: np.ndarray, values) -> np.ndarray:
    fn = _numpy_form(name, derivative)[0]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn(x, *[float(v) for v in values])
        except (ValueError, TypeError, NameError, ZeroDivisionError, OverflowError, FloatingPointError):
            return np.full(x.shape, np.nan)
    return np.broadcast_to(np.asarray(out, dtype=np.float64), x.shape)


# --------------------------------------------------------------------------- agreement
class _Data:
    """The code's values at the ordinary points, and how to compare with them."""

    def __init__(self, x: np.ndarray, v: np.ndarray, dtype: np.dtype):
        self.x, self.v, self.dtype = x, v, dtype
        self.eps = float(np.finfo(dtype).eps)
        self.v_dt = v.astype(dtype)
        # the fit/screen subset: spread over the range, 0 and the small integers kept
        order = np.argsort(x, kind="stable")
        if x.size > MAX_FIT_POINTS:
            idx = order[np.linspace(0, x.size - 1, MAX_FIT_POINTS).round().astype(int)]
            special = np.flatnonzero(np.isin(x, np.arange(-6.0, 7.0)))
            idx = np.unique(np.concatenate([idx, special]))
        else:
            idx = order
        self.fit = idx

    def tol(self, x: np.ndarray) -> np.ndarray:
        return ABS_BOUND * self.eps * (1.0 + np.abs(x))

    def misses(self, cand: np.ndarray, loose: float) -> int:
        """Points of the fit subset where ``cand`` is off by more than ``loose`` (relative to
        1 + |x|); a NaN of the screening formula itself is forgiven (up to a fifth)."""
        x, v = self.x[self.fit], self.v[self.fit]
        ok = np.isfinite(cand)
        if ok.sum() < 0.8 * x.size:
            return x.size
        with np.errstate(all="ignore"):
            close = np.abs(cand - v) <= loose * (1.0 + np.abs(x)) + self.tol(x)
        return int((~close[ok]).sum())

    def screen(self, cand: np.ndarray, loose: float) -> bool:
        """Agreement on the fit subset but for a point or two (a derivative's value at a kink
        is a convention); the decision is :meth:`compare`'s."""
        return self.misses(cand, loose) <= SCREEN_OUTLIERS

    def compare(self, cand: np.ndarray, skip: np.ndarray | None = None) -> dict | None:
        """Agreement at every ordinary point (``skip`` left out), or None."""
        keep = np.ones(self.x.shape, dtype=bool) if skip is None else ~skip
        got, ref = self.v_dt[keep], cand.astype(self.dtype)[keep]
        x = self.x[keep]
        if got.size == 0:
            return None
        ulps = ulp_distance(got, ref)
        with np.errstate(all="ignore"):
            abs_err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        by_ulp = ulps <= ULP_BOUND
        by_abs = ~by_ulp & (abs_err <= self.tol(x))
        if not np.all(by_ulp | by_abs):
            return None
        return {"points": int(got.size), "max_ulp": float(ulps[by_ulp].max()) if by_ulp.any() else 0.0,
                "abs_points": int(by_abs.sum()),
                "max_abs": float(abs_err[by_abs].max()) if by_abs.any() else 0.0}


def _kernel_values(act: Activation, derivative: bool, x: np.ndarray) -> np.ndarray | None:
    from symact.numeric.kernels import kernel_for

    try:
        with np.errstate(all="ignore"):
            return np.asarray(kernel_for(act, derivative=derivative)(x), dtype=np.float64)
    except (SymactError, ValueError, TypeError, ArithmeticError):
        return None


def _cheap_values(act: Activation, derivative: bool, x: np.ndarray) -> np.ndarray | None:
    """A catalog entry's values for screening: its prebuilt kernel where that is current
    (no SymPy or mpmath work), else the NumPy form of its definition -- never a kernel
    generated now for a candidate that may not even be close."""
    from symact.numeric.kernels import prebuilt

    if act.is_default and prebuilt.current(act):
        return _kernel_values(act, derivative, x)
    return _eval_numpy(act.name, derivative, x, [act.param_values[p.name] for p in act.params])


def _kink_mask(act: Activation, x: np.ndarray) -> np.ndarray:
    """The points exactly at ``act``'s kinks (where a derivative is a convention)."""
    mask = np.zeros(x.shape, dtype=bool)
    for k in act.kinks:
        try:
            at = float(k.at)
        except (TypeError, ValueError):
            continue
        mask |= x == at
    return mask


def _confirm(data: _Data, act: Activation, derivative: bool) -> dict | None:
    ref = _kernel_values(act, derivative, data.x)
    if ref is None:
        return None
    return data.compare(ref, _kink_mask(act, data.x) if derivative else None)


# --------------------------------------------------------------------------- parameters
def _simple_values(v: float, default) -> list[Fraction]:
    """Exact values near the fitted ``v``, simplest first: small fractions, short decimals."""
    if not math.isfinite(v):
        return []
    out = {Fraction(default)} if default is not None else set()
    for d in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 32, 50, 64, 100, 1000, 10**4, 10**6):
        out.add(Fraction(v).limit_denominator(d))
    for k in range(0, 10):
        out.add(Fraction(repr(round(v, k))))
    out.add(Fraction(v))
    # those within 1e-6 (relative) of the fit first: a short decimal such as 851/500 (1.702)
    # must not fall behind cruder short fractions (5/3, 12/7) that the screen rejects anyway
    near = Fraction(1, 10**6) * max(1, abs(Fraction(v)))
    return sorted(out, key=lambda f: (abs(f - Fraction(v)) > near,
                                      len(str(abs(f.numerator))) + len(str(f.denominator)), abs(f - Fraction(v))))


def _fit(data: _Data, name: str, derivative: bool) -> list[dict[str, Fraction]]:
    """Parameter values of ``name`` (or its derivative) that fit the data, simplest first.

    Least squares (residuals relative to 1 + |x|, a robust loss so that a kink's
    conventional value does not pull), first on a few points from two starts -- most
    families are rejected there -- then on the fit subset from the best of those."""
    from scipy.optimize import least_squares

    act = catalog.get(name)
    fn, symbols, used = _numpy_form(name, derivative)
    free = [i for i, s in enumerate(symbols) if s in used]
    if not free:
        return []
    x, v = data.x[data.fit], data.v[data.fit]
    defaults = [float(p.default) for p in act.params]
    lower = [1e-12 if act.params[i].symbol.is_positive else -np.inf for i in free]

    def solve(xs, vs, starts, nfev):
        weight = 1.0 / (1.0 + np.abs(xs))

        def residual(p):
            vals = list(defaults)
            for i, pv in zip(free, p):
                vals[i] = pv
            r = (_eval_numpy(name, derivative, xs, vals) - vs) * weight
            return np.where(np.isfinite(r), r, 1e3)

        best = None
        for start in starts:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = least_squares(residual, start, bounds=(lower, [np.inf] * len(free)), max_nfev=nfev,
                                        xtol=1e-15, ftol=1e-15, gtol=1e-15, loss="soft_l1", f_scale=1e-6)
            except (ValueError, np.linalg.LinAlgError):
                continue
            cost = float(np.sort(np.abs(res.fun))[-1 - min(SCREEN_OUTLIERS, res.fun.size - 1)])
            if best is None or cost < best[0]:
                best = (cost, res.x)
            if cost < 1e-12:
                break
        return best

    starts = []
    for scale in (1.0, 3.0):
        start = [defaults[i] * scale if defaults[i] else 0.1 * scale for i in free]
        starts.append([max(s, 2 * lo) if np.isfinite(lo) else s for s, lo in zip(start, lower)])
    few = np.linspace(0, x.size - 1, min(x.size, 32)).round().astype(int)
    best = solve(x[few], v[few], starts, 60)
    if best is None or best[0] > 1e-3:
        return []
    best = solve(x, v, [best[1]], 200)
    if best is None or best[0] > 1e-6:
        return []
    fitted = best[1]
    options = [_simple_values(float(fitted[j]), act.params[i].default)[:8] for j, i in enumerate(free)]
    combos: list[dict[str, Fraction]] = [{}]
    for j, i in enumerate(free):
        combos = [dict(c, **{act.params[i].name: o}) for c in combos for o in options[j]]
    ranked = []
    for rank, c in enumerate(sorted(combos, key=lambda c: sum(len(str(f)) for f in c.values()))):
        vals = [c.get(p.name, Fraction(p.default)) if i in free else Fraction(p.default)
                for i, p in enumerate(act.params)]
        if any(act.params[i].symbol.is_positive and vals[i] <= 0 for i in free):
            continue
        miss = data.misses(_eval_numpy(name, derivative, x, [float(t) for t in vals]), 1e-9)
        if miss <= SCREEN_OUTLIERS:
            ranked.append((miss, rank, c))
    return [c for _, _, c in sorted(ranked, key=lambda t: t[:2])[:2]]


def fit_params(name: str, points, values) -> list[dict[str, Fraction]]:
    """Parameter values of the catalog family ``name`` that fit ``values`` (float64 values
    at ``points``), simplest first, at most two: the least-squares fit of :func:`_fit`
    snapped to simple exact numbers. Only candidates: a caller confirms them exactly
    (:func:`symact.verify.formula.catalog_matches` proves or tests each). Bounded work:
    at most :data:`MAX_FIT_POINTS` points and a few hundred evaluations of the
    family's NumPy form; [] where nothing fits or the fit cannot proceed."""
    try:
        x = np.asarray(points, dtype=np.float64).ravel()
        v = np.asarray(values, dtype=np.float64).ravel()
        keep = np.isfinite(x) & np.isfinite(v)
        if keep.sum() < 2 * MIN_SIDE_POINTS or not catalog.get(name).params:
            return []
        return _fit(_Data(x[keep], v[keep], np.dtype(np.float64)), name, False)
    except (ArithmeticError, ValueError, TypeError, NotImplementedError, RecursionError,
            AttributeError, np.linalg.LinAlgError):
        return []


# --------------------------------------------------------------------------- the search
def _fmt(v) -> str:
    f = Fraction(v) if not isinstance(v, sp.Basic) else Fraction(int(v.p), int(v.q)) if v.is_Rational else None
    if f is None:
        return str(v)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _closeness(m: dict) -> str:
    u = m["max_ulp"]
    text = f"within {u:g} ULP" if u else "exactly"
    if m["abs_points"]:
        text += f"; {m['abs_points']} of the {m['points']} points only to {m['max_abs']:.2g} absolute"
    return text


def _describe(target: Activation, derivative: bool, name: str, params: dict, cand_deriv: bool,
              match: dict) -> str:
    family = catalog.get(name)
    close = _closeness(match)
    if name == target.name and cand_deriv != derivative and all(
            Fraction(_fmt(params[k])) == Fraction(_fmt(v)) for k, v in target.param_values.items()):
        if derivative:
            return f"this is {name} itself, not its derivative ({close})"
        return f"this is the derivative of {name}, not {name} itself ({close})"
    bound = ""
    if family.params:
        items = [(p.name, params.get(p.name, p.default)) for p in family.params]
        bound = " with " + " and ".join(f"{k} = {_fmt(v)}" for k, v in items)
        key = (name, tuple(sorted((k, Fraction(_fmt(v))) for k, v in items)))
        if key in KNOWN_VARIANTS:
            bound += f", {KNOWN_VARIANTS[key]}"
    what = f"the derivative of {name}{bound}" if cand_deriv else f"{name}{bound}"
    if name == target.name and cand_deriv == derivative:
        diff = [f"{k} = {_fmt(v)}" for k, v in target.param_values.items()
                if Fraction(_fmt(params.get(k, v))) != Fraction(_fmt(v))]
        return f"this is {what}, not {' and '.join(diff)} ({close})"
    want = f"the derivative of {target.name}" if derivative else target.name
    return f"this computes {what}, not {want} ({close})"


_OUTPUT_FORMS: dict = {}


def _output_form(data: _Data, act: Activation) -> dict | None:
    """A derivative written in terms of the output (sigmoid's y (1 - y), tanh's 1 - y^2)
    but applied to x: course code's backward pass that expects f(x) and was given x.
    The form is symact's own (:func:`symact.analysis.facts.self_form`, catalog entries
    only); the candidate is that form in x, confirmed by its generated kernel."""
    from symact.analysis.facts import self_form

    key = (act.name, tuple(sorted((k, str(v)) for k, v in act.param_values.items())))
    if key not in _OUTPUT_FORMS:
        form = None
        try:
            form = self_form(act)
        except (TypeError, ValueError, NotImplementedError, RecursionError, AttributeError):
            pass
        y = sp.Symbol("y", real=True)
        cand = None
        if form is not None and form.free_symbols == {y}:
            cand = Activation(name=f"{act.name}_derivative_of_output", definition=form.subs(y, act.x),
                              description="", latex="", role="hidden")
        screen = sp.lambdify(y, form, modules="numpy") if cand is not None else None
        _OUTPUT_FORMS[key] = (form, cand, screen)
    form, cand, screen = _OUTPUT_FORMS[key]
    if cand is None:
        return None
    with np.errstate(all="ignore"):
        cheap = np.broadcast_to(np.asarray(screen(data.x[data.fit]), dtype=np.float64), data.fit.shape)
    if not data.screen(cheap, 1e-6):
        return None  # the kernel is built only for a form that screens well
    match = _confirm(data, cand, False)
    if match is None:
        return None
    shown = sp.sstr(form).replace("y", "f")
    return {"name": act.name, "params": {k: _fmt(v) for k, v in act.param_values.items()},
            "derivative": True, "output_form": shown, **match,
            "text": (f"this is {act.name}'s derivative in terms of its output, f'(x) = {shown} with f = "
                     f"{act.name}(x), applied to x itself: it expects {act.name}(x), not x "
                     f"({_closeness(match)})")}


def _with_equals(found: dict, others: list) -> dict:
    """``found`` naming the other catalog entries at their defaults that the code equals as
    well (the derivative of softplus is sigmoid): ``also`` and a clause of the text."""
    same = [f"the derivative of {o['name']}" if o["derivative"] else o["name"] for o in others if o]
    if same:
        close = _closeness(found)
        head = found["text"][: -len(close) - 3]
        found = dict(found, also=same, text=f"{head}; the same function as {', '.join(same)} ({close})")
    return found


def _ordinary(points: np.ndarray, values: np.ndarray):
    with np.errstate(all="ignore"):
        keep = np.isfinite(points) & (np.abs(points) <= ORDINARY)
    return points[keep], values[keep]


def _vector_computes(act: Activation, rows: np.ndarray, vals: np.ndarray, derivative: bool,
                     dt: np.dtype) -> dict | None:
    """Vector activations: rows (m, n) and the code's outputs there. Only values, not
    Jacobians: another vector entry (softmax for log_softmax), or a scalar entry applied
    entry by entry (sigmoid for softmax), each at its defaults."""
    if derivative or rows.ndim != 2 or rows.shape[1] < 2:
        return None
    with np.errstate(all="ignore"):
        keep = np.all(np.isfinite(rows) & (np.abs(rows) <= ORDINARY), axis=1)
    rows, vals = rows[keep], vals[keep]
    if rows.shape[0] < MIN_SIDE_POINTS:
        return None
    data = _Data(rows.ravel(), vals.ravel(), dt)

    def check(cand: Activation) -> dict | None:
        if not cand.vector:  # scalar entries are screened first, without generating kernels
            cheap = _cheap_values(cand, False, rows.ravel())
            if cheap is None or data.misses(cheap[data.fit], 1e-6):
                return None
        ref = _kernel_values(cand, False, rows)
        return None if ref is None or ref.shape != rows.shape else data.compare(ref.ravel())

    if check(act) is not None:
        return None
    for name in catalog.names():
        cand = catalog.get(name)
        if name == act.name or cand.shape != "same":   # glu, logsumexp, crelu: another output shape
            continue
        match = check(cand)
        if match is not None:
            how = "" if cand.vector else " entry by entry"
            return {"name": name, "params": {}, "derivative": False, "rows": int(rows.shape[0]), **match,
                    "text": f"this computes {name}{how}, not {act.name} ({_closeness(match)})"}
    return None


def what_it_computes(act: Activation, points, values, *, derivative: bool = False,
                     dtype="float64") -> dict | None:
    """Name the function an implementation computes instead of ``act`` (or its derivative).

    ``points`` and ``values``: the test inputs and the implementation's outputs there
    (same shape; for vector activations rows of shape (m, n), values only). ``dtype``: the
    dtype the outputs were computed in (ULPs are counted in it). Returns None unless
    one candidate agrees at every ordinary point (see the module docstring), else
    ``{"name", "params": {name: "p/q"}, "derivative": bool, "max_ulp", "points",
    "abs_points", "max_abs", "text"}``, e.g. text "this computes gelu_tanh, not gelu
    (within 2 ULP)". A naming is an annotation of a failed test: where the search
    itself cannot proceed (a SymPy or NumPy error on an odd activation under test),
    the answer is None, never an exception; a :class:`~symact.errors.SymactError`
    (a stated budget) propagates.
    """
    try:
        return _what_it_computes(act, points, values, derivative, dtype)
    except (ArithmeticError, ValueError, TypeError, NotImplementedError, RecursionError,
            AttributeError, np.linalg.LinAlgError):
        return None


def _what_it_computes(act: Activation, points, values, derivative: bool, dtype) -> dict | None:
    try:
        dt = np.dtype(dtype)
        pts = np.asarray(points, dtype=np.float64)
        vals = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)) or pts.shape != vals.shape:
        return None
    if act.vector:
        return _vector_computes(act, pts, vals, derivative, dt)
    pts, vals = pts.ravel(), vals.ravel()
    x, v = _ordinary(pts, vals)
    x, first = np.unique(x, return_index=True)
    v = v[first]
    if (x <= -0.25).sum() < MIN_SIDE_POINTS or (x >= 0.25).sum() < MIN_SIDE_POINTS:
        return None
    data = _Data(x, v, dt)

    # the activation under test itself: agreeing here means the failure is not "wrong"
    if _confirm(data, act, derivative) is not None:
        return None

    in_catalog = act.name in catalog.names() and act.definition == catalog.get(act.name).definition
    confirmations = 0

    def attempt(name_or_act, cand_deriv: bool, params: dict | None = None):
        nonlocal confirmations
        if isinstance(name_or_act, Activation):
            cand, name = name_or_act, name_or_act.name
        else:
            name = name_or_act
            try:
                cand = catalog.get(name, **({k: str(f) for k, f in params.items()} if params else {}))
            except SymactError:
                return None
            cheap = _cheap_values(cand, cand_deriv, data.x[data.fit])
            if cheap is None or not data.screen(cheap, 1e-6):
                return None
        if params:
            if confirmations >= MAX_CONFIRMATIONS:
                return None
            confirmations += 1
        match = _confirm(data, cand, cand_deriv)
        if match is None:
            return None
        shown = {k: _fmt(val) for k, val in cand.param_values.items()}
        return {"name": name, "params": shown, "derivative": cand_deriv, **match,
                "text": _describe(act, derivative, name, cand.param_values, cand_deriv, match)}

    # 1. value and derivative swapped; 2. catalog entries at their defaults; 3. the same
    # family at fitted parameter values -- with the flag under test, then swapped;
    # 4. other families at fitted values
    found = attempt(act, not derivative)
    if found:
        return found
    if derivative and in_catalog:
        found = _output_form(data, act)
        if found:
            return found
    names = [n for n in catalog.names() if not catalog.get(n).vector]
    order = []
    for flag in (derivative, not derivative):
        # at the defaults, the family under test was tried above (itself and swapped)
        order += [("default", n, flag) for n in names if not (n == act.name and act.is_default)]
        if in_catalog and act.params:
            order.append(("fit", act.name, flag))
    for flag in (derivative, not derivative):
        order += [("fit", n, flag) for n in names if catalog.get(n).params and n != act.name]
    for pos, (kind, name, flag) in enumerate(order):
        if kind == "default":
            found = attempt(name, flag)
            if found:
                return _with_equals(found, [attempt(n, f) for k, n, f in order[pos + 1:] if k == "default"])
            continue
        for params in _fit(data, name, flag):
            cand = catalog.get(name, **{k: str(f) for k, f in params.items()})
            if cand.is_default or (name == act.name and cand.param_values == act.param_values):
                continue  # tried above
            found = attempt(name, flag, params)
            if found:
                return found
    return None
