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
"""
from __future__ import annotations

import sympy as sp

from symact.numeric.kernels.runtime import get_num_threads, set_num_threads
from symact.numeric.kernels.scalar import ScalarKernel, build_scalar
from symact.numeric.kernels.vector import VectorKernel
from symact import primitives as rw
from symact.symbolic.forms import X

# Transitional re-exports: symact.codegen still reaches these as attributes of this
# package (kernels.RootPoly, kernels.root_polys, kernels._bracket_roots,
# kernels._cheb_fit, kernels._fit_root_poly, kernels.exp_rational); they live in
# the modules named here. Remove these lines once codegen imports them from there.
from symact.numeric.fitting import RootPoly, root_polys  # noqa: F401
from symact.numeric.fitting import bracket_roots as _bracket_roots  # noqa: F401
from symact.numeric.fitting import cheb_fit as _cheb_fit  # noqa: F401
from symact.numeric.fitting import fit_root_poly as _fit_root_poly  # noqa: F401
from symact.numeric.kernels.selection import exp_rational  # noqa: F401

__all__ = ["kernel_for", "describe", "stable_expr", "set_num_threads", "get_num_threads",
           "ScalarKernel", "VectorKernel"]


def stable_expr(act, derivative: bool) -> sp.Expr:
    """The stabilized SymPy form a scalar kernel is generated from."""
    if not derivative:
        return rw.stabilize(act.expr)
    d = act.derivative
    if d.has(sp.Piecewise):
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
    k = kernel_for(act, derivative)
    if isinstance(k, VectorKernel):
        return dict(kind="vector", form=str(k.stable), candidates=list(getattr(k, "choices", [])),
                    long_double=[], root_polys=[])
    return dict(kind="scalar", form=str(k.stable), candidates=list(k.choices),
                long_double=[[float(a), float(b)] for a, b in k.ld_intervals],
                root_polys=[dict(lo=rp.lo, hi=rp.hi, root=rp.r_hi, pieces=int(rp.centers.shape[0]),
                                 degree=int(rp.coeffs.shape[0] - 1)) for rp in k.root_polys],
                nonfinite_fixup=bool(k.fix_nonfinite), float32=dict(k.float32))


def kernel_for(act, derivative: bool = False):
    """The generated kernel ``(x, out=None, axis=-1) -> ndarray`` for ``act``."""
    key = (act.name, act.definition, tuple(sorted((k, str(v)) for k, v in act.param_values.items())),
           bool(derivative))
    k = _CACHE.get(key)
    if k is None:
        if act.vector:
            k = VectorKernel(act, derivative)
        else:
            expr = act.derivative if derivative else act.expr
            k = build_scalar(expr, stable_expr(act, derivative), name=f"{act.name}{'_d' if derivative else ''}")
        _CACHE[key] = k
    return k


_CACHE: dict = {}

