"""NumPy kernels generated from the catalog's symbolic forms.

``kernel_for(act, derivative)`` returns a callable ``(x, out=None, axis=-1)``.
Nothing here is written per activation; every kernel is produced from
``act.expr`` / ``act.derivative`` by the same pipeline, one module per step:

1. **Stabilize** (:func:`stable_expr`, :mod:`symact.symbolic.rewrite`): textbook
   forms become stable primitives (expit, softplus, expm1, erfc, sech2, ...).
   Smooth derivatives are taken from the stabilized function with the
   primitives' own ``fdiff``; Piecewise derivatives (with the catalog's kink
   conventions) are stabilized branch by branch, so conventions match
   ``act.derivative`` exactly.
2. **Choose a form** by measurement against the mpmath oracle
   (:mod:`.selection`), and a float32 chain where it measures good enough.
3. **Lower** it to straight-line in-place NumPy code (:mod:`.lowering`, with
   Piecewise in :mod:`.piecewise`, the stable primitives in :mod:`.helpers` and
   double-double arguments in :mod:`.ddouble`), compiled once.
4. **Run** it in blocks on the thread pool with per-thread scratch buffers
   (:mod:`.runtime`), and **fix up** rare elements: non-finite inputs, roots
   where float64 cancels (:mod:`symact.numeric.fitting`), intervals recomputed
   in long double (:mod:`.scalar`).

Vector activations (softmax, log_softmax) are lowered from their component form
(:mod:`.vector`). Kernels are cached per (definition, parameter values,
derivative flag); :func:`describe` says what was chosen and why.

For catalog activations at their declared parameter values these steps ran
ahead of time: ``symact build-kernels`` wrote what they decided into
``generated/<name>.py``, and :func:`kernel_for` assembles the kernel from that
file (:mod:`.prebuilt`) with no SymPy or mpmath work while its KEY matches the
declaration and this code. Anything else -- formulas users give, other
parameter values, a stale file -- is generated at run time
(:func:`build_kernel`), its measured and fitted data disk-cached.
"""
from __future__ import annotations

import sympy as sp

from symact.numeric.kernels import prebuilt
from symact.numeric.kernels.runtime import get_num_threads, set_num_threads
from symact.numeric.kernels.scalar import ScalarKernel, build_scalar
from symact.numeric.kernels.vector import ShapedKernel, VectorKernel
from symact import primitives as rw
from symact.symbolic.forms import X

__all__ = ["kernel_for", "build_kernel", "describe", "stable_expr", "set_num_threads", "get_num_threads",
           "ScalarKernel", "ShapedKernel", "VectorKernel"]


def stable_expr(act, derivative: bool) -> sp.Expr:
    """The stabilized SymPy form a scalar kernel is generated from."""
    if not derivative:
        return rw.stabilize(act.expr)
    d = act.derivative
    # a piecewise definition's derivative was taken branch by branch (with its kink
    # conventions): SymPy's own derivative of the Piecewise rebuilds and
    # distributes its conditions (minutes for a 20-row cases with constant rows)
    if d.has(sp.Piecewise) or act.expr.has(sp.Piecewise):
        return rw.stabilize(d)
    cand = rw.stable_derivative(act.expr, X)
    # the derivative of the stabilized form must equal act.derivative
    for v in (sp.Rational(-13, 10), sp.Rational(7, 10), sp.Rational(22, 10)):
        if abs(complex((rw.to_standard(cand) - d).subs(X, v).evalf(30))) > 1e-20:
            return rw.stabilize(d)
    return cand


def describe(act, derivative: bool = False) -> dict:
    """What the generator chose for one kernel, and why (plain data for reports):
    the lowered form, the candidates with their measured error against the
    oracle and cost, the long-double and root-polynomial fix-up intervals."""
    return describe_kernel(kernel_for(act, derivative))


def describe_kernel(k) -> dict:
    """:func:`describe` for a kernel object (generated now or loaded)."""
    if isinstance(k, ShapedKernel):
        return dict(kind="shaped", form=f"hand-written ({k.kind} shape): see symact.numeric.kernels.vector.ShapedKernel",
                    candidates=[], long_double=[], root_polys=[])
    if isinstance(k, VectorKernel):
        return dict(kind="vector", form=k.form, candidates=list(k.choices), long_double=[], root_polys=[])
    return dict(kind="scalar", form=k.form, candidates=list(k.choices),
                long_double=[[float(a), float(b)] for a, b in k.ld_intervals],
                root_polys=[dict(lo=rp.lo, hi=rp.hi, root=rp.r_hi, pieces=int(rp.centers.shape[0]),
                                 degree=int(rp.coeffs.shape[0] - 1)) for rp in k.root_polys],
                nonfinite_fixup=bool(k.fix_nonfinite), float32=dict(k.float32))


def kernel_for(act, derivative: bool = False):
    """The generated kernel ``(x, out=None, axis=-1) -> ndarray`` for ``act``: from
    its prebuilt file when that is current (:func:`.prebuilt.load`), else
    generated now (:func:`build_kernel`); cached per process."""
    key = (act.name, act.definition, tuple(sorted((k, str(v)) for k, v in act.param_values.items())),
           bool(derivative))
    k = _CACHE.get(key)
    if k is None:
        k = prebuilt.load(act, derivative)
        if k is None:
            k = build_kernel(act, derivative)
        _CACHE[key] = k
    return k


def build_kernel(act, derivative: bool = False):
    """Generate ``act``'s kernel now, from its SymPy form (no prebuilt file, no cache)."""
    if act.vector and act.shaped:
        return ShapedKernel(act.name, derivative)
    if act.vector:
        return VectorKernel(act, derivative)
    expr = act.derivative if derivative else act.expr
    return build_scalar(expr, stable_expr(act, derivative), name=f"{act.name}{'_d' if derivative else ''}")


_CACHE: dict = {}

