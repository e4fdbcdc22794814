"""Measuring a candidate form against the oracle, through the code the ``numpy`` target writes.

:mod:`symact.codegen.plan` has several candidate forms for one function (the stable
form, exp-rational forms, expit-polynomial forms) and keeps the one whose emitted
code is most accurate; it also looks for roots where the chosen form cancels. Both
run the form as a real generated function: :class:`NumpyChain` writes it with the
``numpy`` target (:mod:`symact.codegen.targets.numpy`) and executes that source
(symact's own output, never user input). :func:`measure` scores it on a fixed
point set against :func:`symact.numeric.oracle.reference`; :func:`finite_at_extremes`
checks it at the largest doubles.
"""
from __future__ import annotations

import numpy as np

from symact.codegen.emit import helper_order
from symact.codegen.forms import ScalarForm, replace_roots
from symact.codegen.targets.numpy import TARGET as NUMPY
from symact.numeric.oracle import reference
from symact.numeric.ulp import smallest_normal, ulp_distance
from symact.symbolic.forms import X

#: points where candidate forms are compared (besides the sampled tails)
MEASURE_AT = np.unique(np.concatenate([
    np.linspace(-40, 40, 1601), np.geomspace(1e-8, 60, 160), -np.geomspace(1e-8, 60, 160),
    [100.0, 300.0, 700.0, 708.5, 710.0, 745.0, 1e10, 1e300, -100.0, -300.0, -700.0, -708.5, -710.0, -745.0,
     -1e10, -1e300]]))

#: the oracle at MEASURE_AT, per reference expression
_REF_CACHE: dict = {}


class NumpyChain:
    """A form's generated NumPy function (without its root fix-ups), shaped like a kernels
    chain (``.run``, ``.source``) so that the kernels' root bracketing can run it."""

    def __init__(self, form: ScalarForm):
        printer = NUMPY.printer()
        fn = NUMPY.scalar_function("f", replace_roots(form), printer, "measured form", NUMPY.dtype_line("float64"), "r")
        out = [NUMPY.imports, ""]
        for h in helper_order(printer.used):
            out += [NUMPY.helper_source(h), ""]
        self.source = "\n".join(out + fn) + "\n"
        ns: dict = {}
        exec(compile(self.source, "<symact codegen measure>", "exec"), ns)  # symact's own generated source
        self._fn = ns["f"]

    def run(self, xs, out, dtype):
        r = self._fn(xs)
        if out is not None:
            out[...] = r
            return out
        return r


def measure(form: ScalarForm) -> tuple[int, float]:
    """(points above 2 ULP, mean ULP) of a form's NumPy emission against the oracle
    (an absolute error below the smallest normal counts 0; a non-finite error 10^6)."""
    ref = _REF_CACHE.get(form.reference)
    if ref is None:
        ref = _REF_CACHE[form.reference] = reference(form.reference, X, MEASURE_AT)
    got = NumpyChain(form).run(MEASURE_AT, None, np.float64)
    with np.errstate(all="ignore"):
        err = ulp_distance(got, ref)
        err = np.where(np.abs(got - ref) < smallest_normal(np.float64), 0.0, err)
    err = np.where(np.isfinite(err) | np.isnan(ref), np.nan_to_num(err), 1e6)
    return int((err > 2).sum()), float(err.mean())


def finite_at_extremes(form: ScalarForm) -> bool:
    """Does the form stay finite at the largest doubles where its limit is finite?"""
    big = np.array([-np.finfo(np.float64).max, -1e300, 1e300, np.finfo(np.float64).max])
    got = NumpyChain(form).run(big, None, np.float64)
    want = np.array([form.limits[0]] * 2 + [form.limits[1]] * 2)
    return bool(np.all(np.isfinite(got) | ~np.isfinite(want)))
