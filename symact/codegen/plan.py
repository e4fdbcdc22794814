r"""The target-neutral plan of an activation: what every target prints, decided once.

:func:`plan` turns an activation into a :class:`symact.codegen.forms.Plan`:

1. **Stable forms.** The function and its derivative are taken from
   :func:`symact.numeric.kernels.stable_expr` -- the same rewrites as the NumPy kernels
   (expit/softplus sign splits, expm1, log1p, erfc, sech2, ...), so kink
   conventions are exactly those of ``act.derivative``.
2. **Branches.** Max/Min/Abs are rewritten to Piecewise and folded to one
   top-level Piecewise whose conditions are intervals of x (:class:`Branch`).
3. **Double-double arguments.** A transcendental g(u) whose argument u is a
   polynomial in x that floating point cannot form exactly (gelu's x/sqrt 2,
   gelu' 's -x^2/2, gelu_tanh's cubic) is replaced by g(H) + g'(H) L where
   H + L = u to ~2^-100 comes from a small Horner helper with Dekker/FMA
   products: erfc and exp amplify the argument's rounding by 2u^2 and |u|.
4. **Form choice and roots.** When every transcendental is exp of an integer
   multiple of x, the kernels' exp-rational forms (one e = exp(-|x|), each sign
   branch a rational function of (e, x)) compete with the stable form, and so do
   the expit-polynomial forms (:func:`_expit_poly`); each is written as NumPy code
   and measured against the oracle (:mod:`symact.codegen.measure`). Around simple
   roots where the chosen form still cancels (silu', mish', gelu_tanh'), the code
   evaluates (x - r_hi - r_lo) q(x) with q a piecewise polynomial fitted in mpmath
   at generation time (:func:`_root_fixups`; RootPoly data that every target emits
   as tables plus a ``_rootpoly`` helper).
5. **Infinities.** Unless every branch is a polynomial, ``x = +-inf`` returns
   the symbolic one-sided limit (:func:`symact.symbolic.forms.one_sided_limit`)
   instead of inf*0, and where a double-double argument would overflow the value
   returns its limit past the point where it rounds to it (:func:`_saturation`).

Vector activations take the max-subtraction form of
:class:`symact.numeric.kernels.vector.VectorKernel` (x_j = t_j + m, t in double-double,
Sum exp = e^m (1 + Sm1)). The subnormal-safe tails of targets that flush
subnormals are derived from a plan's forms by :mod:`symact.codegen.tails`;
CSE happens as each target prints a branch (:func:`symact.codegen.emit.branch_body`).
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp

from symact.codegen.forms import DD, Branch, Plan, ScalarForm
from symact.codegen.measure import NumpyChain, finite_at_extremes, measure
from symact.codegen.printer import CodegenError, fold_constants
from symact.numeric.fitting import bracket_roots, fit_root_poly
from symact.numeric.kernels import stable_expr
from symact.numeric.kernels.selection import exp_rational
from symact.numeric.kernels.vector import VectorKernel
from symact.numeric.oracle import Oracle, oracle_for
from symact.numeric.oracle import reference as oracle_values
from symact.numeric.ulp import FLOOR_ULP, ulp_distance
from symact import primitives as rw
from symact.symbolic.forms import X, one_sided_limit


def plan(act) -> Plan:
    """The target-neutral plan of ``act`` (cached per definition and parameter values)."""
    key = (act.name, act.definition, tuple(sorted((k, str(v)) for k, v in act.param_values.items())))
    if key not in _PLANS:
        _PLANS[key] = _plan(act)
    return _PLANS[key]


_PLANS: dict = {}


def _plan(act) -> Plan:
    if act.vector:
        kf, kd = VectorKernel(act, False), VectorKernel(act, True)
        return Plan(act, None, None, (kf.stable, kf.symbols), (kd.stable, kd.symbols))
    return Plan(act, scalar_form(act.expr, stable_expr(act, False)),
                scalar_form(act.derivative, stable_expr(act, True)))


def _exact_arg(u, x) -> bool:
    if u in (x, -x) or not u.has(x):
        return True
    c, rest = u.as_coeff_Mul()
    if rest == x and c.is_Rational and c != 0:
        p = abs(c)
        return (p.p & (p.p - 1)) == 0 and (p.q & (p.q - 1)) == 0  # a power of two
    return False


class dd_poly(sp.Function):
    """Marker: the polynomial argument evaluated in double-double and rounded once
    (:func:`_dd_transform` replaces it by the pair's ``H``).  Used for the
    polynomial coefficients of the expit-polynomial forms (:func:`_expit_poly`)."""

    nargs = 1


def _dd_transform(expr: sp.Expr, x: sp.Symbol, tag: str):
    """Replace g(u) (u an inexact polynomial in x) by g(H) + g'(H) L, and dd_poly(u) by H."""
    dds: dict[sp.Expr, DD] = {}

    def pick(e):
        if not (isinstance(e, sp.Function) and len(e.args) == 1):
            return False
        u = e.args[0]
        return u.is_polynomial(x) and not _exact_arg(u, x)

    def repl(e):
        u = e.args[0]
        if -u in dds:
            d, s = dds[-u], -1
        else:
            if u not in dds:
                k = len(dds)
                coeffs = list(sp.Poly(u, x).all_coeffs())
                dds[u] = DD(sp.Symbol(f"H{tag}{k}", real=True), sp.Symbol(f"L{tag}{k}", real=True), coeffs)
            d, s = dds[u], 1
        if isinstance(e, dd_poly):
            return s * d.hi
        y = sp.Dummy("y", real=True)
        g = e.func
        return g(s * d.hi) + sp.diff(g(y), y).subs(y, s * d.hi) * (s * d.lo)

    new = expr.replace(pick, repl)
    new = new.replace(lambda e: isinstance(e, dd_poly), lambda e: e.args[0])  # exact ones: as they are
    return new, list(dds.values())


def _interval(cond) -> sp.Set:
    s = cond.as_set()
    if isinstance(s, sp.Interval) or (isinstance(s, sp.FiniteSet) and len(s) == 1):
        return s
    raise CodegenError(f"condition {cond} is not an interval of x")


def _float(v) -> float:
    if v == sp.oo:
        return float("inf")
    if v == -sp.oo:
        return float("-inf")
    return float(v)


def scalar_form(reference: sp.Expr, stable: sp.Expr) -> ScalarForm:
    """The plan of one scalar function: the best-measured form plus root fix-ups.

    Candidates are ``stable`` and, when every transcendental is exp of an
    integer multiple of x, the kernels' exp-rational forms
    (:func:`symact.numeric.kernels.selection.exp_rational`: one e = exp(-|x|), each sign branch
    one rational function of (e, x) -- no cancellation between terms that
    carry their own exp, as in mish' = x expit sech2_softplus + tanh_softplus).
    Each is emitted as NumPy code and measured against the oracle
    (:func:`symact.codegen.measure.measure`); the fewest points above 2 ULP, then the lowest mean,
    wins. Then :func:`_root_fixups` looks for simple roots where
    the chosen form still cancels and fits (x - r) q(x) there; every target
    evaluates those pieces before its branches.
    """
    forms = [_form(reference, stable)]
    for alt in _exp_rational(stable) + _expit_poly(stable):
        try:
            forms.append(_form(reference, alt))
        except (CodegenError, NotImplementedError, TypeError):  # conditions SymPy cannot turn into intervals
            continue
    if len(forms) > 1:
        forms.sort(key=lambda f: measure(f))
    best = forms[0]
    if best.limits is not None and best.tails == (None, None) and not finite_at_extremes(best):
        # an exp-rational form forms 4x or x e^{-|x|} x: overflow at the largest doubles
        best.tails = tuple(_saturation(reference, sgn, lim) for sgn, lim in ((-1, best.limits[0]), (1, best.limits[1])))
    if not best.reference.has(sp.Piecewise) and any(b.dds or not b.expr.is_polynomial(X) for b in best.branches):
        best.roots = _root_fixups(reference, NumpyChain(best))
    return best


def _root_fixups(reference: sp.Expr, chain) -> list:
    """:class:`symact.numeric.fitting.RootPoly` fix-ups for the simple roots where ``chain`` cancels.

    The steps of :func:`symact.numeric.fitting.root_polys`: roots are bracketed by
    sign changes of the emitted NumPy form and refined in mpmath; around each the
    form's error is sampled against the oracle and, where a sample exceeds the
    accuracy floor :data:`symact.numeric.ulp.FLOOR_ULP`, (x - r) q(x) is fitted on
    twice the farthest such distance, or a little wider where the fit (q piecewise
    polynomial, checked against the oracle) misses its tolerance.

    The threshold is the floor itself, not the kernels' ``ROOT_CANCEL_ULP`` (one
    below it): the kernels size a fix-up by the dense run of samples above that
    next to the root and then extend it over every sample above the floor; codegen
    has only the second rule. Its forms were chosen and tested with it, so it stays.
    """
    brackets = bracket_roots(chain)
    if not brackets or len(brackets) > 8:
        return []
    orc = Oracle(reference, X)
    out = []
    with mpmath.workdps(50):
        roots = []
        for a, b in brackets:
            try:
                roots.append(mpmath.findroot(orc.value, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson"))
            except (ValueError, ZeroDivisionError):
                # not a simple root (tanhshrink's triple root at 0, where its stable form does
                # not cancel): no fix-up, as the kernels' root_polys skip it
                continue
        rng = np.random.default_rng(0)
        for i, r in enumerate(roots):
            rf = float(r)
            room = min([abs(float(o) - rf) * 0.45 for j, o in enumerate(roots) if j != i] + [3.0])
            near = np.concatenate([rf + np.geomspace(1e-9, room, 60), rf - np.geomspace(1e-9, room, 60)])
            with np.errstate(all="ignore"):
                if ulp_distance(chain.run(near, None, np.float64), oracle_values(reference, X, near)).max() <= 2:
                    continue  # no cancellation where it would be worst (odd functions at 0)
                xs = np.concatenate([rf + rng.uniform(-room, room, 3000),
                                     rf + np.geomspace(1e-9, room, 300), rf - np.geomspace(1e-9, room, 300)])
                got = chain.run(xs, None, np.float64)
            bad = ulp_distance(got, oracle_values(reference, X, xs)) > FLOOR_ULP
            if bad.any():
                w0 = 2.0 * float(np.abs(xs[bad] - rf).max())
                rp = None
                for w in (min(w0 * g, room) for g in (1.0, 1.1, 1.25, 1.5, 2.0)):
                    rp = fit_root_poly(orc, r, rf - w, rf + w)  # None: pieces cut badly; wider
                    if rp is not None:
                        break
                if rp is None:
                    raise CodegenError(f"no root-factored fit of {reference} next to x = {rf}")
                out.append(rp)
    return out


def _exp_rational(stable: sp.Expr) -> list[sp.Expr]:
    """The kernels' exp-rational forms with their e = exp(-|x|) spelled as exp_neg_abs(x)."""
    out = []
    for f in exp_rational(sp.piecewise_fold(stable)):
        e = f.xreplace({s: rw.exp_neg_abs(X) for s in f.free_symbols if s != X})
        out.append(e)
    return out


def _expit_poly(stable: sp.Expr) -> list[sp.Expr]:
    """Forms of ``stable`` polynomial in its small sigmoid, one branch per sign of x.

    Applies when every transcendental is expit(w) or expit(-w) for one polynomial
    w = x q(x) with q > 0 on the reals (so sign w = sign x): silu, silu', sigmoid',
    gelu_tanh with w its scaled cubic.  With s = expit(w) and 1 - s = expit(-w),
    the expression is a polynomial in s whose coefficients are polynomials in x.
    On x < 0, where s is small, it is written in Horner form in s; on x >= 0 in
    c = expit(-w) = 1 - s.  Each coefficient is one polynomial in x evaluated in
    double-double and rounded once (:class:`dd_poly`), so
    gelu_tanh' = s + P s (1 - s), P = x w'(x), becomes s ((1 + P) - P s) for x < 0
    -- two roundings after s instead of the ~9 of the product
    1.5957 x (s - ..)(1 - s + ..)(26829 x^2 + 200000)/200000, whose piled-up
    rounding went past the accuracy floor where the two terms only mildly cancel.
    """
    calls = stable.atoms(sp.Function)
    if not calls or any(type(c) is not rw.expit for c in calls):
        return []
    args = {sp.expand(c.args[0]) for c in calls}
    a = next(iter(args))
    if not a.is_polynomial(X) or a.subs(X, 0) != 0 or not args <= {a, sp.expand(-a)}:
        return []
    q = sp.Poly(sp.cancel(a / X), X)
    lead = q.LC()
    monic = sp.Poly(sp.expand(q.as_expr() / lead), X)  # rational coefficients, or give up
    if not lead.is_number or not monic.domain.is_QQ and not monic.domain.is_ZZ or monic.count_roots() != 0:
        return []
    w = a if lead > 0 else sp.expand(-a)                # a monic q without real roots is > 0
    S = sp.Dummy("S")
    e = sp.expand(stable.replace(lambda c: isinstance(c, rw.expit),
                                 lambda c: S if sp.expand(c.args[0]) == w else 1 - S))
    if e.has(rw.expit) or not e.is_polynomial(S):
        return []

    def horner(poly_in_s, atom):
        acc = sp.S.Zero
        for c in sp.Poly(poly_in_s, S).all_coeffs():  # highest degree first
            c = sp.factor(c) if c.is_polynomial(X) else c
            if c.is_polynomial(X) and not c.is_number and not _exact_arg(sp.expand(c), X):
                c = dd_poly(sp.expand(c))
            acc = acc * atom + c
        return acc

    neg = horner(e, rw.expit(w))
    pos = horner(sp.expand(e.subs(S, 1 - S)), rw.expit(-w))
    return [sp.Piecewise((neg, X < 0), (pos, True))]


def _form(reference: sp.Expr, stable: sp.Expr) -> ScalarForm:
    x = X
    s = sp.piecewise_fold(stable.replace(lambda e: isinstance(e, (sp.Max, sp.Min, sp.Abs)),
                                         lambda e: e.rewrite(sp.Piecewise)))
    pieces = list(s.args) if isinstance(s, sp.Piecewise) else [(s, sp.true)]
    branches = []
    prior = sp.false
    for k, (e, c) in enumerate(pieces):
        active = sp.And(c, sp.Not(prior)).as_set() if c is not sp.true else sp.Not(prior).as_set()
        prior = sp.Or(prior, c)
        if active is sp.S.EmptySet:
            continue
        full = active in (sp.S.UniversalSet, sp.S.Reals)
        dom = (float("-inf"), float("inf")) if full else (_float(active.inf), _float(active.sup))
        cond = None if (c is sp.true or k == len(pieces) - 1) else _interval(c)
        e2, dds = _dd_transform(e, x, str(len(branches)))
        if not dds and e2.is_polynomial(x) and not e2.is_number:
            e2 = sp.factor(e2)  # x/6 + 1/2 -> (x + 3)/6: exact at the kink's neighbours
        branches.append(Branch(fold_constants(e2), cond, dom, dds))
        if cond is None:
            break
    polynomial = all(b.expr.is_polynomial(x) and not b.dds for b in branches)
    limits = None
    if not polynomial:
        lims = []
        for at, side in ((-sp.oo, "+"), (sp.oo, "-")):
            v = one_sided_limit(reference, x, at, side)
            if v.has(sp.nan, sp.zoo, sp.AccumBounds) or v.is_extended_real is False:
                raise CodegenError(f"no limit of {reference} at {at}")
            lims.append(_float(v))
        limits = tuple(lims)
    tails = (None, None)
    if limits is not None and any(b.dds for b in branches):
        tails = tuple(_saturation(reference, sgn, lim) for sgn, lim in ((-1, limits[0]), (1, limits[1])))
    return ScalarForm(reference, stable, branches, limits, tails)


def _saturation(reference: sp.Expr, sign: int, limit: float) -> float | None:
    """Smallest T = 2^k (0 <= k <= 40) beyond which f(sign*x) rounds to ``limit``.

    Why: a double-double argument polynomial (gelu_tanh's cubic) overflows
    long before |x| reaches the largest double, and then a factor that has
    already underflowed to 0 meets one that is inf (NaN).  Where the correctly
    rounded value *is* the limit the generated code returns the limit itself.
    Evidence: the oracle rounds to the limit at 2^j * {1, 1.25, 1.5, 1.75} for
    every j in [k, k + 12] -- far past the point where the tail's leading term
    (exp(-c x^2), exp(-c x^3)) has dropped below 2^-1075 -- and the generated
    files are tested at 1e10, 1e300 and the largest double.
    """
    if not math.isfinite(limit):
        return None
    orc = oracle_for(reference, X)

    @functools.lru_cache(maxsize=None)
    def at_limit(k):
        return all(orc.rounded(sign * m * 2.0**k) == limit for m in (1.0, 1.25, 1.5, 1.75))

    for k in range(0, 41):
        if all(at_limit(j) for j in range(k, k + 13)):
            return 2.0**k
    return None

