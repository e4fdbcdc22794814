"""Choosing a scalar kernel's form, and its float32 chain, by measurement.

The stabilized expression has equal forms that round differently. Candidates
(:func:`candidates`): the stable form, its ``factor_terms``/``expand``, a
branch-free ``g(|x|)`` where the sign branches mirror (:func:`abs_merge`), and --
when every transcendental is exp (or a primitive built on it) of an integer
multiple of x -- *exp-rational* forms (:func:`exp_rational`): with e = exp(-|x|)
computed once, each sign branch is one rational function of (e, x) over a
common denominator (``cancel``; factored or Horner). That needs one exp for all
primitives and removes the cancellation between terms that carry their own exp
(silu', mish'); sign branches over one denominator merge into one chain
(:func:`_merge_branches`). An expit of an inexact polynomial (gelu_tanh) is
tried with its argument rounded once and in double-double.

:func:`choose_form` compiles each candidate and measures it against the mpmath
oracle on fixed points (:func:`symact.numeric.points.selection_points`; the
oracle's values are disk-cached) with the floor's measure
(:func:`symact.numeric.ulp.floor_errors`). Its *hot intervals*
(:func:`_ld_intervals`: where the float64 chain loses more than :data:`HOT_ULP`
to the same chain in x87 long double) would each cost a fix-up pass; the
cheapest form (:func:`_cost`) whose hot intervals total < 1 unit of x inside
[-60, 60] wins, ties by mean error. Every candidate's numbers and the reason stay
on the kernel (``kernel.choices``, :func:`symact.numeric.kernels.describe`,
``symact show NAME --kernels``).

float32 input runs a float32 chain where that chain measures within
:data:`F32_MAX_ULP` of the float64 kernel rounded to float32 on fixed float32
points (:func:`_choose_float32`; ``kernel.float32`` says which and why);
otherwise it is widened, computed in float64 and rounded once.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symact.numeric.kernels.lowering import _SCIPY_FUNCS, _T, _Chain, _compile_chain, _has_dd_expit
from symact.numeric.points import digest, float32_points, hot_scan_points, selection_points
from symact.numeric.ulp import floor_errors
from symact import primitives as rw
from symact.symbolic.forms import X

#: A float64 chain that loses more than this many ULP to the same chain in long
#: double is *hot* there: those intervals are recomputed in long double.
HOT_ULP = 3.0
#: A float32 chain replaces float64-and-round when, against the float64 kernel
#: rounded to float32, it stays within this on :func:`symact.numeric.points.float32_points`.
F32_MAX_ULP = 2.0
#: The primitives an exp-rational form may rewrite (each built on exp).
_EXP_RATIONAL_OK = (rw.expit, rw.tanh_softplus, rw.sech2_softplus, rw.sech2, rw.exp_neg_abs)


def exp_rational(stable: sp.Expr) -> list[sp.Expr]:
    """Forms of ``stable`` rational in x and e = exp(-|x|), one branch per sign of x
    (e is the symbol :data:`.lowering._T` in the result).

    Applies when every transcendental is exp (or a primitive built from it) of an
    integer multiple of x. With exp(x) = e on x < 0 and 1/e on x >= 0, each
    branch becomes a rational function of (e, x) -- ``cancel`` puts the whole
    expression over one denominator, which removes the cancellation between
    terms that each carry their own exp (silu', mish'), and the kernel needs one
    exp for all primitives. Branch values are finite (e in [0, 1]); if both
    branches agree the Piecewise is dropped (sigmoid' = e/(1+e)^2).
    Candidates: factored, and numerator/denominator in Horner form in e.
    """
    fns = {type(f) for f in stable.atoms(sp.Function)}
    if not fns or not fns <= set(_EXP_RATIONAL_OK) | {sp.exp} or stable.has(sp.Piecewise):
        return []
    std = rw.to_standard(stable).rewrite(sp.exp)
    forms = {"factor": [], "horner": []}
    fracs = []
    for sgn in (1, -1):
        bad = []

        def rep(a, sgn=sgn, bad=bad):
            k = sp.simplify(sp.expand(a.args[0]) / X)
            if k.is_Integer:
                return _T ** (sgn * k)
            bad.append(a)
            return a

        e = std.replace(lambda a: isinstance(a, sp.exp), rep)
        e = sp.powsimp(sp.expand_power_base(e, force=True), force=True)
        e = e.replace(lambda a: isinstance(a, sp.exp), rep)
        if bad or e.has(sp.exp, sp.log, sp.tanh) or e.free_symbols - {X, _T}:
            return []
        c = sp.cancel(e)
        num, den = sp.fraction(c)
        fracs.append((num, den))
        forms["factor"].append(sp.factor(c))
        h = lambda p: sp.horner(sp.expand(p), wrt=_T) if sp.expand(p).has(_T) else p  # noqa: E731
        forms["horner"].append(h(num) / h(den))
    out = []
    for neg, pos in forms.values():
        f = neg if sp.simplify(neg - pos) == 0 else sp.Piecewise((neg, X < 0), (pos, True))
        if f not in out:
            out.append(f)
    merged = _merge_branches(*fracs)
    if merged is not None and merged not in out:
        out.append(merged)
    return out


def _merge_branches(neg, pos):
    """One branch-free form when the sign branches share their denominator and
    their numerators differ by c e^k against c (k >= 1):

        N = common + c max(e^k, [x >= 0])      (or [x < 0] when mirrored)

    -- exact, because 0 <= e^k <= 1 and the indicator is 0 or 1 (the trick of
    expit's numerator max(e, [x >= 0])). silu' = (e (x + 1) + max(e^2, [x >= 0])) / (1 + e)^2:
    one chain instead of two blended ones. None when the shapes differ.
    """
    (nn, dn), (np_, dp) = neg, pos
    if sp.expand(dn - dp) != 0:
        return None
    dn_, dp_ = sp.expand(nn), sp.expand(np_)
    diff_n = sp.Add.make_args(dn_)
    diff_p = sp.Add.make_args(dp_)
    common = [t for t in diff_n if t in diff_p]
    only_n = sp.Add(*[t for t in diff_n if t not in common])
    only_p = sp.Add(*[t for t in diff_p if t not in common])

    def mono(t):  # (c, k) when t == c e^k with c a positive number
        c, rest = t.as_coeff_Mul()
        if c <= 0:
            return None
        if rest == 1:
            return c, 0
        if rest == _T:
            return c, 1
        if rest.is_Pow and rest.base == _T and rest.exp.is_Integer and rest.exp > 0:
            return c, int(rest.exp)
        return None

    a, b = mono(only_n), mono(only_p)
    if a is None or b is None or a[0] != b[0] or (a[1] == 0) == (b[1] == 0):
        return None
    if b[1] == 0:   # x < 0 needs e^k, x >= 0 needs 1
        ind = sp.Piecewise((1, X >= 0), (0, True))
        k = a[1]
    else:
        ind = sp.Piecewise((1, X < 0), (0, True))
        k = b[1]
    # the common part as a polynomial in e with coefficients in x (e (x + 1), not
    # e x + e: x + 1 is exact where it cancels)
    num = sp.horner(sp.Add(*common), wrt=_T) + a[0] * sp.Max(_T ** k, ind)
    return num / sp.horner(sp.expand(dn), wrt=_T)


def _cost(chain: _Chain) -> int:
    """Rough cost of a chain in array passes (transcendental calls weigh 4)."""
    heavy = ("np.exp", "np.expm1", "np.log", "np.log1p", "np.tanh", "_sc.", "_h_expit", "_h_softplus",
             "_h_tanh_softplus", "_h_sech2", "_h_exp_neg_abs", "_erfc", "_exp_dd")
    # double-double helpers: a Horner step is ~17 passes; expit_dd is expit plus 4
    fixed = {"_dd_poly_into(": 24, "_expit_dd(": 14}
    lines = chain.source.splitlines()[1:]
    return sum(next((w for h, w in fixed.items() if h in ln), 4 if any(h in ln for h in heavy) else 1)
               for ln in lines) + sum(6 for ln in lines if "_h_" in ln)


def abs_merge(stable: sp.Expr) -> list[sp.Expr]:
    """``[g(|x|)]`` when ``stable`` is Piecewise((l(x), x < 0), (r(x), True)) with
    l(-|x|) == r(|x|): one branch-free form (softsign' = (1 + |x|)^-2). The
    identity makes the pieces agree at 0, so the kink convention is kept."""
    if not isinstance(stable, sp.Piecewise) or len(stable.args) != 2 or stable.args[1][1] != sp.true:
        return []
    (left, cond), (right, _) = stable.args
    if cond not in (X < 0, X <= 0):
        return []
    a = sp.Symbol("a_abs", nonnegative=True)
    lf, rf = left.subs(X, -a), right.subs(X, a)
    try:
        same = sp.simplify(rw.to_standard(lf) - rw.to_standard(rf)) == 0
    except Exception:  # pragma: no cover
        return []
    return [rf.subs(a, sp.Abs(X))] if same else []


def candidates(stable: sp.Expr) -> list[sp.Expr]:
    """Equal forms of ``stable`` to choose from by measured error."""
    out = [stable] + abs_merge(stable)
    if not stable.has(sp.Piecewise):
        # powsimp: exp(a) exp(b) as exp(a + b) -- e^x e^(-e^x) is inf * 0 = NaN past x = 709
        for f in (sp.factor_terms, lambda e: sp.expand(e, deep=False), sp.powsimp):
            try:
                c = f(stable)
            except Exception:  # pragma: no cover
                continue
            if c not in out:
                out.append(c)
        # a polynomial in Horner form: x^2 (x^2 - 3) + 1 is inf where x^4 - 3 x^2 + 1 is inf - inf
        if stable.free_symbols == {X} and stable.is_polynomial(X) and sp.degree(stable, X) > 1:
            h = sp.horner(stable, wrt=X)
            if h not in out:
                out.append(h)
    return out


def _ld_intervals(chain64: _Chain, chain_ld: _Chain) -> list[tuple[float, float]]:
    """Intervals of x where the float64 chain loses more than :data:`HOT_ULP` to
    the same chain in long double (on :func:`symact.numeric.points.hot_scan_points`;
    errors below the smallest normal and non-finite references do not count).
    Close intervals are merged, at most 8 are kept."""
    xs = hot_scan_points()
    with np.errstate(all="ignore"):
        got = chain64.run(xs, np.empty_like(xs), np.float64)
        ref = chain_ld.run(xs.astype(np.longdouble), np.empty(xs.shape, np.longdouble), np.longdouble)
    ref64 = ref.astype(np.float64)
    bad = (floor_errors(got, ref64) > HOT_ULP) & np.isfinite(ref64)
    if not bad.any():
        return []
    idx = np.nonzero(bad)[0]
    out = []
    lo = hi = idx[0]
    for k in idx[1:]:
        if xs[k] - xs[hi] <= 0.5 or k - hi <= 2:
            hi = k
        else:
            out.append((lo, hi))
            lo = hi = k
    out.append((lo, hi))
    ivs = []
    last = len(xs) - 1
    for a, b in out:
        ivs.append([-np.inf if a == 0 else float(xs[max(a - 2, 0)]), np.inf if b == last else float(xs[min(b + 2, last)])])
    k = 0
    while k < len(ivs) - 1:  # one detection pass instead of several for close intervals
        if ivs[k + 1][0] - ivs[k][1] < 1.0:
            ivs[k:k + 2] = [[ivs[k][0], ivs[k + 1][1]]]
        else:
            k += 1
    while len(ivs) > 8:  # merge the two closest neighbours (never drop one)
        k = min(range(len(ivs) - 1), key=lambda i: ivs[i + 1][0] - ivs[i][1])
        ivs[k:k + 2] = [[ivs[k][0], ivs[k + 1][1]]]
    return [tuple(v) for v in ivs]


def _hot_width(ivs) -> float:
    """Total width of the hot intervals inside [-60, 60] (where data lives)."""
    return sum(max(0.0, min(b, 60.0) - max(a, -60.0)) for a, b in ivs)


def _selection_reference(expr: sp.Expr) -> tuple[np.ndarray, np.ndarray]:
    """The mpmath oracle's correctly rounded values of ``expr`` on the fixed
    selection points (disk-cached)."""
    from symact import cache
    from symact.numeric.oracle import oracle_reference   # the oracle with its stable-identity rewrites

    xs = selection_points()
    ref = cache.cached("kernel-selection-ref", (sp.srepr(expr), digest(xs)),
                       lambda: oracle_reference(expr, xs, np.float64))
    return xs, ref


def _measure(chain64: _Chain, xs: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(mean, max) ULP of a float64 chain against the oracle's values ``ref``.

    Points where the chain gives a non-finite value but the oracle does not
    count as 1e6 ULP (an exp-rational form that overflows is rejected); an
    absolute error below the smallest normal counts as 0 (:func:`floor_errors`).
    """
    with np.errstate(all="ignore"):
        got = chain64.run(xs, np.empty_like(xs), np.float64)
    err = floor_errors(got, ref)
    err = np.where(np.isfinite(err), np.minimum(err, 1e6), 1e6)
    return float(err.mean()), float(err.max())


def choose_form(expr: sp.Expr, stable: sp.Expr, name: str) -> tuple[sp.Expr, bool, list[dict]]:
    """(form, dd_expit, choices): the form of ``stable`` (Piecewise folded) to lower
    for ``expr``, whether its expit argument is carried in double-double, and every
    candidate's measured numbers (empty when there was nothing to choose, or the
    form calls SciPy)."""
    cands = candidates(stable) + exp_rational(stable)
    choices: list[dict] = []
    if not ((len(cands) > 1 or _has_dd_expit(stable)) and not stable.has(*_SCIPY_FUNCS)):
        return stable, False, choices
    # Choose by measured error against the mpmath oracle, then by cost: among
    # forms whose long-double fix-up intervals (where float64 loses > HOT_ULP to
    # the same form in long double) total < 1 unit of x, the cheapest; ties
    # by mean error. Every candidate's numbers are kept on the kernel.
    xs, ref = _selection_reference(expr)
    scored = []
    # an expit of an inexact polynomial (gelu_tanh) is tried both ways: its
    # argument rounded once, or in double-double (exp amplifies that rounding by |u|)
    for c in cands:
        cld = _compile_chain(c, dd=False, name=name, ld=True)
        for dde in ((False, True) if _has_dd_expit(c) else (False,)):
            c64 = _compile_chain(c, dd=True, name=name, dd_expit=dde)
            mean, mx = _measure(c64, xs, ref)
            width = _hot_width(_ld_intervals(c64, cld))
            # a hot interval inside [-60, 60] costs a detection pass or two per block
            scored.append((width > 1.0, _cost(c64) + (8 if width > 0 else 0), mean, mx, width, c, dde))
    best = min(scored, key=lambda t: t[:3])
    for t in scored:
        why = ("chosen: " if t is best else "") + (
            f"fix-up intervals {t[4]:.3g} wide (> 1)" if t[0] else f"cost {t[1]}, mean {t[2]:.3f} ULP")
        form = str(t[5]) + (" [expit argument in double-double]" if t[6] else "")
        choices.append(dict(form=form, mean_ulp=t[2], max_ulp=t[3], hot_width=t[4], cost=t[1],
                            chosen=t is best, why=why))
    return best[5], best[6], choices


def _choose_float32(k, stable, name, c32=None):
    """(chain, record): the float32 chain when it measures within :data:`F32_MAX_ULP`
    of the float64 kernel ``k`` (itself within 3 ULP of the oracle in float64, so its
    float32 rounding is the correctly rounded value but for rare ties), else None:
    float32 input is then computed in float64 and rounded once. Only forms with no
    root polynomial or long-double interval get here (those mark cancellation);
    rational forms (chain32 already compiled) are held to the same measure."""
    if c32 is None:
        c32 = _compile_chain(stable, dd=False, name=name + "_f32")
    xs = float32_points()
    with np.errstate(all="ignore"):
        got = c32.run(xs, np.empty_like(xs), np.float32)
        ref = k(xs.astype(np.float64)).astype(np.float32)
    err = floor_errors(got, ref)
    err[np.isnan(err)] = np.inf
    mx, mean = float(err.max()), float(err.mean())
    worst = float(xs[int(np.argmax(err))])
    rec = dict(max_ulp=mx, mean_ulp=mean, worst_x=worst, points=int(xs.size))
    if mx <= F32_MAX_ULP:
        return c32, dict(rec, chain="float32", why=f"float32 chain within {mx:g} ULP of the float64 kernel")
    return None, dict(rec, chain="float64", why=f"float32 chain {mx:g} ULP off at x = {worst:.9g}: "
                                                  "computed in float64, rounded once")


