r"""Standalone derivative code for an activation: NumPy, Python, C, PyTorch, JAX, LaTeX.

``generate(act, target, dtype="float64", name=None) -> GeneratedCode`` writes one
self-contained source file that defines ``NAME(x)`` and ``NAME_grad(x)``.
Nothing is written per activation; every file comes out of one pipeline:

1. **Stable forms.** The function and its derivative are taken from
   :func:`symact.numeric.kernels.stable_expr` -- the same rewrites as the NumPy kernels
   (expit/softplus sign splits, expm1, log1p, erfc, sech2, ...), so kink
   conventions are exactly those of ``act.derivative``.
2. **Branches.** Max/Min/Abs are rewritten to Piecewise and folded to one
   top-level Piecewise whose conditions are intervals of x (:class:`Branch`).
   C and Python test them in an if/else chain; NumPy, PyTorch and JAX compute
   every branch on x *clipped into its own interval* (elu's exp never sees
   x > 0) and select with ``where`` -- so no overflow, no RuntimeWarning and
   no NaN gradient through the unselected branch (the jnp.where trap).
3. **Double-double arguments.** A transcendental g(u) whose argument u is a
   polynomial in x that floating point cannot form exactly (gelu's x/sqrt 2,
   gelu' 's -x^2/2, gelu_tanh's cubic) is replaced by g(H) + g'(H) L where
   H + L = u to ~2^-100 comes from a small Horner helper with Dekker/FMA
   products: erfc and exp amplify the argument's rounding by 2u^2 and |u|.
4. **CSE and printing.** Each branch goes through ``sympy.cse`` (named
   intermediates ``t0, t1, ...``) and a printer from :mod:`symact.codegen.printers`.
   Stable primitives print as calls of small helpers emitted only when used.
5. **Form choice and roots.** When every transcendental is exp of an integer
   multiple of x, the kernels' exp-rational forms (one e = exp(-|x|), each sign
   branch a rational function of (e, x)) compete with the stable form; each is
   emitted as NumPy code and measured against the oracle (:func:`scalar_form`).
   So do the expit-polynomial forms (:func:`_expit_poly`): when every
   transcendental is expit(+-w), w = x q(x) with q > 0, the expression is a
   polynomial in the sigmoid that is small on each side of 0, in Horner form,
   each coefficient one double-double polynomial in x rounded once
   (gelu_tanh' = s ((1 + P) - P s) on x < 0 instead of a product of ~9 roundings).
   Around simple roots where the chosen form still cancels (silu', mish', gelu_tanh'), the
   code evaluates (x - r_hi - r_lo) q(x) with q a piecewise polynomial fitted in
   mpmath at generation time (:class:`symact.numeric.kernels.RootPoly` data, emitted as
   tables plus a ``_rootpoly`` helper in every target).
6. **JAX.** XLA's tanh and erfc are replaced by generated helpers (expm1-based
   tanh; erfc = exp(-u^2) erfcx(u) with u^2 formed exactly and erfcx fitted per
   octave in mpmath).  XLA on CPU also flushes subnormal intermediates to zero, so
   where f -> 0 and a factor of f (e^x, erfc) is subnormal while f is not (silu at
   x = -710, tanh' in float32 at 44), the JAX code switches past a point ``at`` to
   e^-c R: R the branch's leading Taylor coefficient in its decaying atoms, each
   spelled a e^c (:func:`subnormal_tails`; derived symbolically, nothing per activation).
7. **Infinities.** Unless every branch is a polynomial, ``x = +-inf`` returns
   the symbolic one-sided limit (computed here with
   :func:`symact.symbolic.forms.one_sided_limit`) instead of inf*0.

Vector activations (softmax, log_softmax) take the max-subtraction form of
:class:`symact.numeric.kernels.VectorKernel` (x_j = t_j + m, t in double-double,
Sum exp = e^m (1 + Sm1)); each target prints that expression inside a small
fixed prologue. Their ``NAME_grad`` returns the Jacobian ``J[..., i, k]``.

Targets and their dtypes: NumPy computes in float64 and rounds once to the
requested dtype; C emits ``double`` functions and, with ``float32``, also
``NAMEf``/``NAME_gradf`` in float with the f-suffixed libm functions; PyTorch
and JAX compute in the input's dtype; Python uses floats (float64 only).
"""
from __future__ import annotations

import functools
import keyword
import math
import re
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symact import __version__
from symact.numeric import kernels
from symact.symbolic import rewrite as rw
from symact.codegen.printers import (CodegenError, CPrinter, JaxPrinter, LatexOut, MathPrinter, NumpyCodePrinter,
                       TorchPrinter, erfc_scaled, fold_constants)
from symact.numeric.oracle import oracle_for
from symact.symbolic.forms import X, one_sided_limit

TARGETS = ("numpy", "python", "c", "torch", "jax", "latex")
DTYPES = ("float64", "float32")

#: names a generated identifier must not take, per target (keywords, library names, helpers)
_PY_RESERVED = set(keyword.kwlist) | {"math", "np", "numpy", "torch", "jax", "jnp", "abs", "max", "min",
                                      "float", "sum", "len", "range", "list", "zip"}
_C_RESERVED = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Imaginary", "main", "fma", "fmax", "fmin", "fabs",
    "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "pow", "sqrt", "cbrt", "hypot", "sin", "cos",
    "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf",
    "erfc", "tgamma", "lgamma", "ceil", "floor", "round", "trunc", "isinf", "isnan", "isfinite",
    "nan", "copysign", "ldexp", "frexp", "modf", "fmod", "remainder", "signbit",
}


def identifier(name: str, target: str) -> str:
    """``name`` made a valid identifier of ``target`` (``-`` -> ``_``; clashes get ``_act``)."""
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit():
        ident = "f_" + ident
    reserved = _C_RESERVED if target == "c" else _PY_RESERVED
    stems = {ident, ident + "_grad", ident + "f", ident + "_gradf"}
    if stems & reserved or ident.startswith(("_", "symact_")):
        ident += "_act"
    return ident


# --------------------------------------------------------------------------- target-neutral plan
@dataclass
class DD:
    """H + L = polynomial(x) in double-double; coefficients (hi, lo), highest degree first."""

    hi: sp.Symbol
    lo: sp.Symbol
    coeffs: list[tuple[float, float]]


@dataclass
class Branch:
    """One piece: taken where ``cond`` (a SymPy set of x; None = default) holds."""

    expr: sp.Expr
    cond: sp.Set | None
    domain: tuple[float, float]          # where the piece is active (clip here)
    dds: list[DD] = field(default_factory=list)


@dataclass
class ScalarForm:
    reference: sp.Expr
    stable: sp.Expr
    branches: list[Branch]
    limits: tuple[float, float] | None   # values at -inf, +inf when a guard is needed
    tails: tuple[float | None, float | None] = (None, None)  # x <= -T0 / x >= T1 give the limit
    roots: list = field(default_factory=list)  # kernels.RootPoly: (x - r) q(x) next to cancelling roots


def _split(c) -> tuple[float, float]:
    v = sp.N(c, 60)
    hi = float(v)
    return hi, float(sp.N(v - sp.Rational(hi), 30))


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
    (:func:`symact.numeric.kernels.exp_rational`: one e = exp(-|x|), each sign branch
    one rational function of (e, x) -- no cancellation between terms that
    carry their own exp, as in mish' = x expit sech2_softplus + tanh_softplus).
    Each is emitted as NumPy code and measured against the oracle
    (:func:`_measure`); the fewest points above 2 ULP, then the lowest mean,
    wins. Then :func:`symact.numeric.kernels.root_polys` looks for simple roots where
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
        forms.sort(key=lambda f: _measure(f))
    best = forms[0]
    if best.limits is not None and best.tails == (None, None) and not _finite_at_extremes(best):
        # an exp-rational form forms 4x or x e^{-|x|} x: overflow at the largest doubles
        best.tails = tuple(_saturation(reference, sgn, lim) for sgn, lim in ((-1, best.limits[0]), (1, best.limits[1])))
    if not best.reference.has(sp.Piecewise) and any(b.dds or not b.expr.is_polynomial(X) for b in best.branches):
        best.roots = _root_fixups(reference, _NumpyChain(best))
    return best


#: ULP error of the emitted form next to a root above which it gets a root fix-up (the test floor)
ROOT_BAD_ULP = 4.0


def _root_fixups(reference: sp.Expr, chain) -> list:
    """:class:`symact.numeric.kernels.RootPoly` fix-ups for the simple roots where ``chain`` cancels.

    The kernels' procedure (:func:`symact.numeric.kernels.root_polys`) with codegen's own
    threshold: roots are bracketed by sign changes of the emitted NumPy form and
    refined in mpmath; around each the form's error is sampled against the oracle
    and, where it exceeds :data:`ROOT_BAD_ULP`, (x - r) q(x) is fitted on twice the
    farthest such distance, or a little wider where the fit (q piecewise polynomial,
    checked against the oracle) misses its tolerance.
    """
    import mpmath

    from symact.numeric.oracle import Oracle
    from symact.numeric.oracle import reference as oracle_values
    from symact.numeric.ulp import ulp_distance

    brackets = kernels._bracket_roots(chain)
    if not brackets or len(brackets) > 8:
        return []
    orc = Oracle(reference, X)
    out = []
    with mpmath.workdps(50):
        roots = [mpmath.findroot(orc.value, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson") for a, b in brackets]
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
            bad = ulp_distance(got, oracle_values(reference, X, xs)) > ROOT_BAD_ULP
            if bad.any():
                w0 = 2.0 * float(np.abs(xs[bad] - rf).max())
                rp = None
                for w in (min(w0 * g, room) for g in (1.0, 1.1, 1.25, 1.5, 2.0)):
                    rp = kernels._fit_root_poly(orc, r, rf - w, rf + w)  # None: pieces cut badly; wider
                    if rp is not None:
                        break
                if rp is None:
                    raise CodegenError(f"no root-factored fit of {reference} next to x = {rf}")
                out.append(rp)
    return out


def _exp_rational(stable: sp.Expr) -> list[sp.Expr]:
    """The kernels' exp-rational forms with their e = exp(-|x|) spelled as exp_neg_abs(x)."""
    out = []
    for f in kernels.exp_rational(sp.piecewise_fold(stable)):
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
    rounding reached 6-7 ULP where the two terms only mildly cancel (x in [-12, -2]).
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


def _finite_at_extremes(form: ScalarForm) -> bool:
    """Does the form stay finite at the largest doubles where its limit is finite?"""
    big = np.array([-np.finfo(np.float64).max, -1e300, 1e300, np.finfo(np.float64).max])
    got = _NumpyChain(form).run(big, None, np.float64)
    want = np.array([form.limits[0]] * 2 + [form.limits[1]] * 2)
    return bool(np.all(np.isfinite(got) | ~np.isfinite(want)))


#: points where candidate forms are compared (besides the sampled tails)
_MEASURE_AT = np.unique(np.concatenate([
    np.linspace(-40, 40, 1601), np.geomspace(1e-8, 60, 160), -np.geomspace(1e-8, 60, 160),
    [100.0, 300.0, 700.0, 708.5, 710.0, 745.0, 1e10, 1e300, -100.0, -300.0, -700.0, -708.5, -710.0, -745.0,
     -1e10, -1e300]]))


def _measure(form: ScalarForm) -> tuple[int, float]:
    """(points above 2 ULP, mean ULP) of a form's NumPy emission against the oracle."""
    from symact.numeric.oracle import reference
    from symact.numeric.ulp import smallest_normal, ulp_distance

    ref = _REF_CACHE.get(form.reference)
    if ref is None:
        ref = _REF_CACHE[form.reference] = reference(form.reference, X, _MEASURE_AT)
    got = _NumpyChain(form).run(_MEASURE_AT, None, np.float64)
    with np.errstate(all="ignore"):
        err = ulp_distance(got, ref)
        err = np.where(np.abs(got - ref) < smallest_normal(np.float64), 0.0, err)
    err = np.where(np.isfinite(err) | np.isnan(ref), np.nan_to_num(err), 1e6)
    return int((err > 2).sum()), float(err.mean())


_REF_CACHE: dict = {}


class _NumpyChain:
    """A form's generated NumPy function, shaped like a kernels chain (``.run``, ``.source``)
    so that :func:`symact.numeric.kernels.root_polys` can bracket and measure it."""

    def __init__(self, form: ScalarForm):
        lib = _LIBS["numpy"]
        printer = lib.printer()
        fn = _vec_scalar_fn(lib, "f", replace_roots(form), printer, "measured form",
                            "x = np.asarray(x, dtype=np.float64)", "r")
        out = [lib.imports, ""]
        for h in _helper_order(printer.used):
            out += [_vec_helper(h, "numpy"), ""]
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


def replace_roots(form: ScalarForm, roots=()) -> ScalarForm:
    """``form`` with its root fix-ups replaced (the measured chain has none)."""
    return ScalarForm(form.reference, form.stable, form.branches, form.limits, form.tails, list(roots))


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


# --------------------------------------------------------------------------- subnormal-safe tails
#: a tail starts where every decaying atom is below this: the terms it drops are that much smaller
TAIL_ATOM = 2.0 ** -60


@dataclass
class Tail:
    """``value = scale * R`` for x <= -at (side -1) or x >= at (side +1), for targets that flush
    subnormal intermediates to zero (XLA on CPU).  R is the branch's leading coefficient in its
    decaying atoms, each atom a spelled a * e^c (normal wherever the value is), scale = e^(-m c)."""

    side: int
    at: float
    branch: Branch
    scale: float
    order: int


def _dd_poly(e: sp.Expr, dds) -> sp.Expr:
    """``e`` with each double-double pair H, L replaced by its exact polynomial and 0."""
    rep = {}
    for d in dds:
        rep[d.hi] = sum(c * X**k for k, c in enumerate(reversed(d.coeffs)))
        rep[d.lo] = sp.S.Zero
    return e.xreplace(rep)


def _direction(u: sp.Expr, side: int, dds) -> int:
    """+1 / -1 where u -> +oo / -oo as x -> side*oo, 0 otherwise."""
    v = sp.limit(_dd_poly(u, dds), X, side * sp.oo)
    return 1 if v == sp.oo else -1 if v == -sp.oo else 0


def _side_form(name: str, u: sp.Expr, s: int):
    """Primitive ``name`` at an argument u -> s*oo as a function of E = e^-|u| (or None: keep).
    Textbook identities of :mod:`symact.symbolic.rewrite`'s primitives, one per sign of the argument."""
    E, E2 = sp.exp(-s * u), sp.exp(-2 * s * u)
    if name == "exp_neg_abs":
        return E
    if name == "expit":
        return (E if s < 0 else 1) / (1 + E)
    if name == "softplus":
        return (u if s > 0 else 0) + sp.log(1 + E)
    if name == "tanh_softplus":
        return E * (E + 2) / (E * (E + 2) + 2) if s < 0 else (1 + 2 * E) / (1 + 2 * E + 2 * E2)
    if name == "sech2_softplus":
        a, w = (1 + E) ** 2, (1 if s < 0 else E2)
        return 4 * a * w / (a + w) ** 2
    if name == "sech2":
        return 4 * E2 / (1 + E2) ** 2
    if name == "tanh":
        return s * (1 - E2) / (1 + E2)
    if name == "expm1" and s < 0:
        return E - 1
    if name == "log1p":
        return sp.log(1 + u)
    if name == "erfc" and s < 0:
        return 2 - rw.erfc(-u)
    return None


def _scale_exponent(order: int) -> int:
    """The integer c in [8, 40] whose e^(-order c) rounds best in both float64 and float32.

    c >= 8: e^c exceeds every polynomial factor R/a of a tail where the value is still
    normal (|x| < 800), so the scaled atoms stay normal there; c <= 40 < -log(TAIL_ATOM):
    g + c (g <= log(TAIL_ATOM) the atom's exponent) is exact in floating point."""
    import mpmath

    def err(c):
        with mpmath.workdps(40):
            v = mpmath.exp(-order * c)
            e64 = abs(mpmath.mpf(float(v)) - v) / float(np.spacing(float(v)))
            f32 = np.float32(float(v))
            e32 = abs(mpmath.mpf(float(f32)) - v) / float(np.spacing(f32))
        return float(max(e64, e32))

    return min(range(8, 41), key=err)


def _tail_candidates():
    return sorted(m * 2.0**k for k in range(0, 11) for m in (1.0, 1.25, 1.5, 1.75))


def subnormal_tails(form: ScalarForm) -> list[Tail]:
    """Tails of ``form`` that need no subnormal intermediate (for targets that flush them).

    Where f -> 0 at -oo or +oo, the branch there is a function of decaying atoms a_i
    (exp of an argument -> -oo, erfc of one -> +oo) once the stable primitives are
    written on that side (:func:`_side_form`).  With every a_i = K A_i, K = e^-c, the
    value is K^m R(A, x) + O(a) relatively, R the leading Taylor coefficient in K
    (taken symbolically).  Past the point ``at`` where every a_i < 2^-60 the dropped
    terms are below rounding, A_i = a_i e^c is normal wherever the value is, and
    ``K^m * R`` never forms a subnormal: silu's x e^x becomes e^-c (x e^(x+c)), where
    XLA would flush e^x at x = -710 although x e^x is a normal number.
    """
    if form.limits is None:
        return []
    K = sp.Dummy("K", positive=True)
    out = []
    for side, lim in ((-1, form.limits[0]), (1, form.limits[1])):
        if lim != 0.0:
            continue
        branch = next((b for b in form.branches
                       if b.cond is None or (b.cond.inf == -sp.oo if side < 0 else b.cond.sup == sp.oo)), None)
        if branch is None or branch.expr.is_polynomial(X) and not branch.dds:
            continue
        tail = _tail(branch, side, K)
        if tail is not None:
            out.append(tail)
    return out


def _tail(branch: Branch, side: int, K) -> Tail | None:
    dds = branch.dds

    def rewrite(e):
        name = type(e).__name__
        s = _direction(e.args[0], side, dds)
        new = _side_form(name, e.args[0], s) if s else None
        return e if new is None else new

    prims = tuple(rw.PRIMITIVES.values()) + (sp.tanh, sp.erfc)
    expr = branch.expr.replace(lambda e: isinstance(e, prims), rewrite)
    atoms = [a for a in expr.atoms(sp.exp) if _direction(a.args[0], side, dds) < 0]
    atoms += [a for a in expr.atoms(rw.erfc, sp.erfc) if _direction(a.args[0], side, dds) > 0]
    if not atoms:
        return None
    for t in _tail_candidates():
        values = [abs(sp.N(_dd_poly(a, dds).subs(X, side * t), 20)) for a in atoms]
        if max(values) <= TAIL_ATOM:
            break
    else:
        return None
    at = t
    marks = {a: sp.Dummy(f"a{i}", positive=True) for i, a in enumerate(atoms)}
    inv = {m: a for a, m in marks.items()}
    scaled = expr.xreplace({a: K * m for a, m in marks.items()})
    if sp.simplify(scaled.subs(K, 0)) != 0:
        return None
    for order in (1, 2, 3):
        lead = sp.diff(scaled, K, order).subs(K, 0) / sp.factorial(order)
        if sp.cancel(lead) != 0:
            break
    else:
        return None
    c = _scale_exponent(order)
    spelled = {}
    for m, a in inv.items():
        u = a.args[0]
        spelled[m] = sp.exp(u + c) if isinstance(a, sp.exp) else erfc_scaled(u, c)
    if not lead.has(sp.Float):
        lead = sp.factor(lead)  # silu' x A + A -> (x + 1) A
    ratio = sp.cancel(lead / sp.Mul(*[m for m in inv if lead.has(m)]))
    if ratio.is_number and abs(ratio) <= 1:
        return None  # the value is at most the atom: subnormal exactly where the atom is
    lead = fold_constants(lead.xreplace(spelled))
    used = [d for d in dds if lead.has(d.hi) or lead.has(d.lo)]
    dom = (float("-inf"), -at) if side < 0 else (at, float("inf"))
    return Tail(side, at, Branch(lead, None, dom, used), float(sp.exp(-order * c).evalf(30)), order)


@dataclass
class Plan:
    act: object
    f: ScalarForm | None
    df: ScalarForm | None
    vec_f: tuple | None = None   # (expr, symbols) from kernels.VectorKernel
    vec_df: tuple | None = None


def plan(act) -> Plan:
    """The target-neutral plan of ``act`` (cached per definition and parameter values)."""
    key = (act.name, act.definition, tuple(sorted((k, str(v)) for k, v in act.param_values.items())))
    if key not in _PLANS:
        _PLANS[key] = _plan(act)
    return _PLANS[key]


_PLANS: dict = {}


def _plan(act) -> Plan:
    if act.vector:
        kf, kd = kernels.VectorKernel(act, False), kernels.VectorKernel(act, True)
        return Plan(act, None, None, (kf.stable, kf.symbols), (kd.stable, kd.symbols))
    return Plan(act, scalar_form(act.expr, kernels.stable_expr(act, False)),
                scalar_form(act.derivative, kernels.stable_expr(act, True)))


# --------------------------------------------------------------------------- output
@dataclass
class GeneratedCode:
    target: str
    name: str            # identifier of the function in the output
    source: str
    mapping: dict        # catalog name -> identifier (shown in the header)


def _cse(expr):
    reps, (red,) = sp.cse(expr, symbols=sp.numbered_symbols("t"), optimizations=None)
    return reps, red


def _header_lines(act, target, ident, dtype, notes: list[str]) -> list[str]:
    params = ", ".join(f"{k}={v}" for k, v in act.param_values.items())
    lines = [f"{act.name}{f' ({params})' if params else ''}: generated by symact {__version__} "
             f"(symact codegen --target {target}{' --dtype ' + dtype if dtype != 'float64' else ''})",
             f"  f(x)  = {sp.sstr(act.expr)}", f"  f'(x) = {sp.sstr(act.derivative)}"]
    if act.conventions_bound:
        conv = ", ".join(f"f'({k}) = {side}-hand slope" for k, side in act.conventions_bound.items())
        lines.append(f"  kink convention: {conv}")
    if ident != act.name:
        lines.append(f"  name: {act.name} -> {ident}")
    lines += [f"  {n}" for n in notes]
    return lines


def generate(act, target: str = "numpy", dtype: str = "float64", name: str | None = None) -> GeneratedCode:
    """The source of one target for ``act`` (see the module docstring)."""
    if target not in TARGETS:
        raise CodegenError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if dtype not in DTYPES:
        raise CodegenError(f"unknown dtype {dtype!r}; choose float64 or float32")
    if target == "python" and dtype != "float64":
        raise CodegenError("the python target computes with Python floats: float64 only")
    ident = identifier(name or act.name, target)
    if target == "latex":
        return GeneratedCode(target, ident, _latex(act), {act.name: ident})
    src = EMITTERS[target](act, plan(act), ident, dtype)
    return GeneratedCode(target, ident, src, {act.name: ident})


def _latex(act) -> str:
    p = LatexOut()
    head = [f"% {ln}" for ln in _header_lines(act, "latex", act.name, "float64", [])]
    if act.vector:
        f_l, d_l = "y_i", r"\frac{\partial y_i}{\partial x_k}"
    else:
        f_l, d_l = "f(x)", "f'(x)"
    return "\n".join(head + ["\\[", f"{f_l} = {p.doprint(act.expr)}", "\\]", "\\[",
                             f"{d_l} = {p.doprint(act.derivative)}", "\\]", ""])


# --------------------------------------------------------------------------- emitters
def _coeff_split(c, single: bool) -> tuple[float, float]:
    import numpy as np
    if not single:
        return _split(c)
    hi = np.float32(float(sp.N(c, 40)))
    return float(hi), float(np.float32(float(sp.N(c - sp.Rational(float(hi)), 40))))


def _indent(lines, n):
    return [" " * n + ln if ln else ln for ln in lines]


def _interval_parts(s: sp.Set, var: str, num) -> list[str]:
    if isinstance(s, sp.FiniteSet):
        return [f"{var} == {num(float(next(iter(s))))}"]
    parts = []
    if s.inf != -sp.oo:
        parts.append(f"{var} {'>' if s.left_open else '>='} {num(float(s.inf))}")
    if s.sup != sp.oo:
        parts.append(f"{var} {'<' if s.right_open else '<='} {num(float(s.sup))}")
    return parts or ["True"]


def _branch_body(b: Branch, printer, assign, dd_line, var="x", tag="", single=False):
    """Lines computing branch ``b`` (dd arguments, CSE intermediates) and its result text."""
    lines = [dd_line(d, var, single) for d in b.dds]
    expr = b.expr.subs(X, sp.Symbol(var, real=True)) if var != "x" else b.expr
    reps, (red,) = sp.cse([expr], symbols=sp.numbered_symbols(f"t{tag}"), optimizations=None)
    for s, v in reps:
        lines.append(assign(str(s), printer.doprint(v)))
    return lines, printer.doprint(red)


def _needs_clip(b: Branch) -> bool:
    return b.domain != (float("-inf"), float("inf")) and not b.expr.is_polynomial(X)


# ---- Python-family helper sources ({M}: module; written once, emitted only when used)
_VEC_HELPERS = {
    "expit": '''def _expit(u):
    """1/(1 + exp(-u)) split on the sign: e = exp(-|u|) never overflows."""
    e = {M}.exp(-{M}.abs(u))
    return {M}.where(u >= 0, 1.0 + 0.0 * e, e) / (1.0 + e)''',
    "softplus": '''def _softplus(u):
    """log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|))."""
    return {M}.where(u > 0, u, 0.0 * u) + {M}.log1p({M}.exp(-{M}.abs(u)))''',
    "tanh_softplus": '''def _tanh_softplus(u):
    """tanh(softplus(u)) = n/(n + 2), n = e^u (e^u + 2); for u > 0 in s = e^-u."""
    e = {M}.exp(-{M}.abs(u))
    pos = u > 0
    n = {M}.where(pos, 1.0 + 2.0 * e, e * (e + 2.0))
    return n / (n + {M}.where(pos, 2.0 * e * e, 2.0 + 0.0 * e))''',
    "sech2_softplus": '''def _sech2_softplus(u):
    """1 - tanh(softplus(u))^2 = 4 A w / (A + w)^2, A = (1 + e)^2, w = 1 or e^2."""
    e = {M}.exp(-{M}.abs(u))
    a = (1.0 + e) * (1.0 + e)
    w = {M}.where(u > 0, e * e, 1.0 + 0.0 * e)
    return 4.0 * a * w / ((a + w) * (a + w))''',
    "sech2": '''def _sech2(u):
    """1 - tanh(u)^2 = 4e/(1 + e)^2, e = exp(-2|u|)."""
    e = {M}.exp(-2.0 * {M}.abs(u))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))''',
    "exp_neg_abs": '''def _exp_neg_abs(u):
    return {M}.exp(-{M}.abs(u))''',
    "erfc": '''_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _erfc(u):
    """erfc elementwise through the C library's erfc (NumPy has none)."""
    return np.asarray(_ERFC(u), dtype=np.float64)''',
    "dd": '''def _dd_horner(x, coeffs):
    """(hi, lo) with hi + lo = sum c x^k to ~2^-100; coeffs (hi, lo) highest degree first."""
    split = 134217729.0 if x.dtype == {M}.float64 else 4097.0
    if x.dtype != {M}.float64:              # float32: split each coefficient again at float32
        coeffs = [(float({M}.asarray(h, dtype=x.dtype)), (h - float({M}.asarray(h, dtype=x.dtype))) + l)
                  for h, l in coeffs]
    hi = {M}.full_like(x, coeffs[0][0])
    lo = {M}.full_like(x, coeffs[0][1])
    plain = hi
    for c_hi, c_lo in coeffs[1:]:
        p = hi * x                          # Dekker: p + e == hi * x exactly
        t = split * hi
        ah = t - (t - hi)
        al = hi - ah
        t = split * x
        bh = t - (t - x)
        bl = x - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl + lo * x
        s = p + c_hi                        # TwoSum(p, c_hi)
        bb = s - p
        e = e + ((p - (s - bb)) + (c_hi - bb)) + c_lo
        hi = s + e
        lo = e - (hi - s)
        plain = plain * x + c_hi
    ok = {M}.isfinite(lo)                   # |x| so large that the split overflowed
    return {M}.where(ok, hi, plain), {M}.where(ok, lo, 0.0)''',
}

_MATH_HELPERS = {
    "expit": '''def _expit(u):
    """1/(1 + exp(-u)) split on the sign: e = exp(-|u|) never overflows."""
    e = math.exp(-abs(u))
    return (1.0 if u >= 0 else e) / (1.0 + e)''',
    "softplus": '''def _softplus(u):
    """log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|))."""
    return max(u, 0.0) + math.log1p(math.exp(-abs(u)))''',
    "tanh_softplus": '''def _tanh_softplus(u):
    """tanh(softplus(u)) = n/(n + 2), n = e^u (e^u + 2); for u > 0 in s = e^-u."""
    e = math.exp(-abs(u))
    if u > 0:
        n = 1.0 + 2.0 * e
        return n / (n + 2.0 * e * e)
    n = e * (e + 2.0)
    return n / (n + 2.0)''',
    "sech2_softplus": '''def _sech2_softplus(u):
    """1 - tanh(softplus(u))^2 = 4 A w / (A + w)^2, A = (1 + e)^2, w = 1 or e^2."""
    e = math.exp(-abs(u))
    a = (1.0 + e) * (1.0 + e)
    w = e * e if u > 0 else 1.0
    return 4.0 * a * w / ((a + w) * (a + w))''',
    "sech2": '''def _sech2(u):
    """1 - tanh(u)^2 = 4e/(1 + e)^2, e = exp(-2|u|)."""
    e = math.exp(-2.0 * abs(u))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))''',
    "exp_neg_abs": '''def _exp_neg_abs(u):
    return math.exp(-abs(u))''',
    "dd": '''def _dd_horner(x, coeffs):
    """(hi, lo) with hi + lo = sum c x^k to ~2^-100; coeffs (hi, lo) highest degree first."""
    hi, lo = coeffs[0]
    plain = hi
    for c_hi, c_lo in coeffs[1:]:
        p = hi * x                          # Dekker: p + e == hi * x exactly
        t = 134217729.0 * hi
        ah = t - (t - hi)
        al = hi - ah
        t = 134217729.0 * x
        bh = t - (t - x)
        bl = x - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl + lo * x
        s = p + c_hi                        # TwoSum(p, c_hi)
        bb = s - p
        e = e + ((p - (s - bb)) + (c_hi - bb)) + c_lo
        hi = s + e
        lo = e - (hi - s)
        plain = plain * x + c_hi
    if not math.isfinite(lo):               # |x| so large that the split overflowed
        return plain, 0.0
    return hi, lo''',
}

_C_HELPERS = {
    "expit": '''static T symact_expitF(T u)
{
    /* 1/(1 + exp(-u)) split on the sign: e = exp(-|u|) never overflows */
    const T e = expF(-fabsF(u));
    return (u >= 0 ? 1 : e) / (1 + e);
}''',
    "softplus": '''static T symact_softplusF(T u)
{
    /* log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)) */
    return (u > 0 ? u : 0) + log1pF(expF(-fabsF(u)));
}''',
    "tanh_softplus": '''static T symact_tanh_softplusF(T u)
{
    /* tanh(softplus(u)) = n/(n + 2), n = e^u (e^u + 2); for u > 0 in s = e^-u */
    const T e = expF(-fabsF(u));
    if (u > 0) {
        const T n = 1 + 2 * e;
        return n / (n + 2 * e * e);
    } else {
        const T n = e * (e + 2);
        return n / (n + 2);
    }
}''',
    "sech2_softplus": '''static T symact_sech2_softplusF(T u)
{
    /* 1 - tanh(softplus(u))^2 = 4 A w / (A + w)^2, A = (1 + e)^2, w = 1 or e^2 */
    const T e = expF(-fabsF(u));
    const T a = (1 + e) * (1 + e);
    const T w = u > 0 ? e * e : 1;
    return 4 * a * w / ((a + w) * (a + w));
}''',
    "sech2": '''static T symact_sech2F(T u)
{
    /* 1 - tanh(u)^2 = 4e/(1 + e)^2, e = exp(-2|u|) */
    const T e = expF(-2 * fabsF(u));
    return 4 * e / ((1 + e) * (1 + e));
}''',
    "exp_neg_abs": '''static T symact_exp_neg_absF(T u)
{
    return expF(-fabsF(u));
}''',
    "rootpoly": '''static T symact_rootpolyF(T x, T lo, T step, int n, int rows, const T *centres, const T *coeffs,
                          T r_hi, T r_lo)
{
    /* (x - r) q(x) next to a root r = r_hi + r_lo where the formula's terms cancel: q is one
       polynomial in x - centre per piece of [lo, lo + n step] (coefficients coeffs[k n + j],
       highest degree first), fitted in mpmath when this file was generated */
    const T u = (x - lo) * (1 / step);
    const int j = u < 1 ? 0 : u >= n - 1 ? n - 1 : (int)u;
    const T t = x - centres[j];
    T q = 0;
    int k;
    for (k = 0; k < rows; k++)
        q = q * t + coeffs[k * n + j];
    return ((x - r_hi) - r_lo) * q;
}''',
    "dd": '''static void symact_dd_hornerF(T x, const T *c_hi, const T *c_lo, int n, T *hi, T *lo)
{
    /* hi + lo = sum c x^k to about twice the working precision (fma products) */
    T h = c_hi[0], l = c_lo[0], plain = c_hi[0];
    int k;
    for (k = 1; k < n; k++) {
        const T p = h * x;
        T e = fmaF(h, x, -p) + l * x;
        const T s = p + c_hi[k];
        const T bb = s - p;
        e += ((p - (s - bb)) + (c_hi[k] - bb)) + c_lo[k];
        h = s + e;
        l = e - (h - s);
        plain = plain * x + c_hi[k];
    }
    if (!isfinite(l)) {
        h = plain;
        l = 0;
    }
    *hi = h;
    *lo = l;
}''',
}


_MATH_HELPERS["rootpoly"] = '''def _rootpoly(x, p):
    """(x - r) q(x) next to a root r where the formula's terms cancel: p = (lo, step, centres,
    coefficient rows (highest degree first, one column per piece), r_hi, r_lo); q is one
    polynomial in x - centre per piece, fitted in mpmath when this file was generated."""
    lo, step, centres, rows, r_hi, r_lo = p
    j = min(max(int((x - lo) * (1.0 / step)), 0), len(centres) - 1)
    t = x - centres[j]
    q = 0.0
    for row in rows:
        q = q * t + row[j]
    return ((x - r_hi) - r_lo) * q'''

_ROOTPOLY_VEC = {
    "numpy": ("np.asarray({a})", "np.clip(np.nan_to_num(u), 0, n - 1).astype(np.intp)", "x"),
    "torch": ("torch.tensor({a}, dtype=x.dtype)", "torch.clamp(torch.nan_to_num(u), 0, n - 1).long()",
              "float(torch.tensor(r_hi, dtype=x.dtype))"),
    "jax": ("jnp.asarray({a}, dtype=x.dtype)", "jnp.clip(jnp.nan_to_num(u), 0, n - 1).astype(jnp.int32)",
            "float(jnp.asarray(r_hi, dtype=x.dtype))"),
}


def _rootpoly_vec(target: str) -> str:
    arr, idx, rnd = _ROOTPOLY_VEC[target]
    split = ("    r1 = r_hi                            # float64: r = r_hi + r_lo as given\n" if target == "numpy" else
             f"    r1 = {rnd}  # r_hi in x's dtype; r2 the rest\n")
    return f'''def _rootpoly(x, p):
    """(x - r) q(x) next to a root r where the formula's terms cancel: p = (lo, step, centres,
    coefficient rows (highest degree first, one column per piece), r_hi, r_lo); q is one
    polynomial in x - centre per piece, fitted in mpmath when this file was generated.
    x is already clipped into [lo, hi]."""
    lo, step, centres, rows, r_hi, r_lo = p
    n = len(centres)
    u = (x - lo) * (1.0 / step)
    j = {idx}
    t = x - {arr.format(a="centres")}[j]
    q = 0.0 * t
    for row in rows:
        q = q * t + {arr.format(a="row")}[j]
{split}    r2 = (r_hi - r1) + r_lo
    return ((x - r1) - r2) * q'''


def _root_tuple(rp, single: bool = False) -> tuple:
    """(lo, step, centres, rows, r_hi, r_lo) of a kernels.RootPoly (rounded for float32 in C)."""
    rnd = (lambda v: float(np.float32(v))) if single else float
    r_hi = rnd(rp.r_hi)
    r_lo = rnd((rp.r_hi - r_hi) + rp.r_lo) if single else float(rp.r_lo)
    return (float(rp.lo), float(rp.step), [rnd(c) for c in rp.centers],
            [[rnd(c) for c in row] for row in rp.coeffs], r_hi, r_lo)


def _root_const_py(name: str, rp) -> list[str]:
    lo, step, cs, rows, r_hi, r_lo = _root_tuple(rp)
    f = _num_py
    return [f"#: near the root x = {f(rp.r_hi)}: (x - r) q(x) on [{f(rp.lo)}, {f(rp.hi)}], "
            f"{len(cs)} pieces of degree {len(rows) - 1}",
            f"{name} = ({f(lo)}, {f(step)},", f"    ({', '.join(f(c) for c in cs)},),", "    (",
            *[f"        ({', '.join(f(c) for c in row)},)," for row in rows],
            f"    ), {f(r_hi)}, {f(r_lo)})"]


_JAX_TANH = '''def _tanh(u):
    """tanh(u) = -expm1(-2|u|) / (2 + expm1(-2|u|)) with u's sign (jnp.tanh is up to 6 ULP off)."""
    e = jnp.expm1(-2.0 * jnp.abs(u))
    return jnp.copysign(-e / (2.0 + e), u)'''


@functools.lru_cache(maxsize=None)
def _erfcx_octaves() -> tuple:
    """(centres, rows): erfcx(u) = exp(u^2) erfc(u) as one polynomial in u - centre on each
    octave [0.5, 1), [1, 2), ..., [16, 32]; rows highest degree first, one column per octave.
    Chebyshev interpolants in mpmath (:func:`symact.numeric.kernels._cheb_fit`) of the lowest odd
    degree within 2^-58 relative on 200 points of the octave."""
    import mpmath

    def g(u):
        return mpmath.exp(u * u) * mpmath.erfc(u)

    table, centres = [], []
    with mpmath.workdps(40):
        for k in range(-1, 5):
            lo, hi = mpmath.mpf(2) ** k, mpmath.mpf(2) ** (k + 1)
            m = (lo + hi) / 2
            pts = [mpmath.mpf(float(v)) for v in np.linspace(float(lo), float(hi), 200)]
            for deg in range(9, 41, 2):
                c = kernels._cheb_fit(g, lo, hi, deg)
                worst = max(abs(_horner_mp(c, v - m) / g(v) - 1) for v in pts)
                if worst < mpmath.mpf(2) ** -58:
                    break
            else:  # pragma: no cover
                raise CodegenError("erfcx octave fit did not converge")
            table.append([float(v) for v in c])
            centres.append(float(m))
    deg = max(len(c) for c in table)
    rows = [[([0.0] * (deg - len(c)) + c)[i] for c in table] for i in range(deg)]
    return tuple(centres), tuple(tuple(r) for r in rows)


def _horner_mp(coeffs, t):
    acc = 0
    for c in coeffs:
        acc = acc * t + c
    return acc


def _jax_erfc() -> str:
    centres, rows = _erfcx_octaves()
    f = _num_py
    table = "\n".join([f"    ({', '.join(f(c) for c in centres)},),", "    ("]
                      + [f"        ({', '.join(f(c) for c in row)},)," for row in rows] + ["    ))"])
    return f'''#: erfcx(u) = exp(u^2) erfc(u): (centres, rows) of one polynomial in u - centre per octave
#: [0.5, 1), [1, 2), ..., [16, 32] (highest degree first), fitted in mpmath when this file was generated
_ERFCX_OCTAVES = (
{table}


def _erfc(u, scale=0.0):
    """erfc(u) exp(scale): jax.scipy.special.erfc for u < 0.5; above, exp(scale - u^2) erfcx(u)
    with u^2 = p + e formed exactly (XLA's own exp(-u*u) rounds the square: hundreds of ULP at
    u = 25); scale > 0 keeps exp(scale - u^2) normal where erfc(u) alone would be subnormal."""
    centres, rows = _ERFCX_OCTAVES
    a = jnp.clip(u, 0.5, 27.5)
    j = sum((a >= 2.0 ** k).astype(jnp.int32) for k in range(5))
    t = a - jnp.asarray(centres, dtype=a.dtype)[j]
    q = 0.0 * t
    for row in rows:
        q = q * t + jnp.asarray(row, dtype=a.dtype)[j]
    p = a * a                                   # Dekker: a * a = p + e exactly
    s = (134217729.0 if a.dtype == jnp.float64 else 4097.0) * a
    ah = s - (s - a)
    al = a - ah
    e = ((ah * ah - p) + 2.0 * ah * al) + al * al
    big = jnp.exp(scale - p) * q * (1.0 - e)
    small = jax.scipy.special.erfc(u) * jnp.exp(scale + 0.0 * u)
    return jnp.where(u < 0.5, small, jnp.where(u > 27.5, 0.0 * u, big))'''


def _vec_helper(h: str, target: str) -> str | None:
    """Source of helper ``h`` for a vectorized target (None: the target's library has it)."""
    if h == "rootpoly":
        return _rootpoly_vec(target)
    if target == "jax" and h in ("tanh", "erfc"):
        return _JAX_TANH if h == "tanh" else _jax_erfc()
    if h == "erfc" and target != "numpy":
        return None
    return _VEC_HELPERS[h].replace("{M}", _LIBS[target].M)


def _helper_order(used):
    order = ["dd", "erfc", "tanh", "rootpoly", "expit", "softplus", "tanh_softplus", "sech2_softplus", "sech2", "exp_neg_abs"]
    return [h for h in order if h in used]


# ---- vectorized Python-family targets (numpy, torch, jax)
@dataclass(frozen=True)
class _Lib:
    target: str
    M: str
    printer: type
    imports: str
    inf: str

    def clip(self, var, lo, hi, num):
        if self.target == "torch":
            args = ([f"min={num(lo)}"] if lo != float("-inf") else []) + ([f"max={num(hi)}"] if hi != float("inf") else [])
            return f"torch.clamp({var}, {', '.join(args)})"
        if lo == float("-inf"):
            return f"{self.M}.minimum({var}, {num(hi)})"
        if hi == float("inf"):
            return f"{self.M}.maximum({var}, {num(lo)})"
        return f"{self.M}.clip({var}, {num(lo)}, {num(hi)})"


_LIBS = {
    "numpy": _Lib("numpy", "np", NumpyCodePrinter, "import math\nimport numpy as np", "np.inf"),
    "torch": _Lib("torch", "torch", TorchPrinter, "import torch", "float('inf')"),
    "jax": _Lib("jax", "jnp", JaxPrinter, "import jax\nimport jax.numpy as jnp", "jnp.inf"),
}


def _tail_guards(form: ScalarForm):
    """(threshold, comparison, limit) for each side where the value saturates."""
    out = []
    for t, side, v in ((form.tails[0], "<=", form.limits and form.limits[0]),
                       (form.tails[1], ">=", form.limits and form.limits[1])):
        if t is not None:
            out.append((-t if side == "<=" else t, side, v))
    return out


def _num_py(v: float) -> str:
    return repr(float(v))


def _lim(v, inf):
    if v == float("inf"):
        return inf
    if v == float("-inf"):
        return "-" + inf
    if v != v:
        return "float('nan')"
    return repr(v)


def _dd_py(d: DD, var, single=False):
    coeffs = ", ".join(f"({_num_py(h)}, {_num_py(l)})" for h, l in (_coeff_split(c, False) for c in d.coeffs))
    return f"{d.hi}, {d.lo} = _dd_horner({var}, ({coeffs},))"


def _vec_scalar_fn(lib: _Lib, fname, form: ScalarForm, printer, doc, dtype_line, ret):
    M = lib.M
    lines = [f"def {fname}(x):", f'    """{doc}"""', f"    {dtype_line}"]
    body, results = [], []
    for k, b in enumerate(form.branches):
        var = "x"
        label = " and ".join(_interval_parts(b.cond, "x", _num_py)) if b.cond is not None else "otherwise"
        body.append(f"# branch {k}: {label}")
        if _needs_clip(b):
            var = f"xc{k}"
            body.append(f"{var} = {lib.clip('x', b.domain[0], b.domain[1], _num_py)}  # x clipped into the branch")
        if b.dds:
            printer.used.add("dd")
        bl, res = _branch_body(b, printer, lambda s, v: f"{s} = {v}", _dd_py, var, tag=f"{k}_")
        body += bl
        if b.expr.is_number:
            res = f"{M}.full_like(x, {res})"
        body.append(f"b{k} = {res}")
        results.append(b)
    n = len(form.branches)
    body.append(f"r = b{n - 1}")
    for k in reversed(range(n - 1)):
        cond = " & ".join(f"({p})" for p in _interval_parts(form.branches[k].cond, "x", _num_py))
        body.append(f"r = {M}.where({cond}, b{k}, r)")
    for i, tail in enumerate(subnormal_tails(form) if lib.target == "jax" else []):
        var, (lo, hi) = f"xt{i}", tail.branch.domain
        cond = f"x <= {_num_py(hi)}" if tail.side < 0 else f"x >= {_num_py(lo)}"
        body += [f"# {cond}: e^-{tail.order * _scale_exponent(tail.order)} (atoms times e^c), so that no "
                 "intermediate is subnormal (XLA flushes those to zero)",
                 f"{var} = {lib.clip('x', lo, hi, _num_py)}"]
        if tail.branch.dds:
            printer.used.add("dd")
        bl, res = _branch_body(tail.branch, printer, lambda s_, v: f"{s_} = {v}", _dd_py, var, tag=f"t{i}_")
        body += bl + [f"r = {M}.where({cond}, {_num_py(tail.scale)} * ({res}), r)"]
    consts = []
    for i, rp in enumerate(form.roots):
        printer.used.add("rootpoly")
        cname = f"_{fname.lstrip('_')}_root{i}"
        consts += _root_const_py(cname, rp) + ["", ""]
        lo, hi = _num_py(rp.lo), _num_py(rp.hi)
        body.append(f"r = {M}.where((x >= {lo}) & (x <= {hi}), _rootpoly({lib.clip('x', rp.lo, rp.hi, _num_py)}, "
                    f"{cname}), r)  # next to a root")
    lines[:0] = consts
    if form.limits is not None:
        lo, hi = (_lim(v, lib.inf) for v in form.limits)
        body.append(f"r = {M}.where({M}.isinf(x), {M}.where(x > 0, {hi}, {lo}), r)  # limits at +-inf")
        for t, side, v in _tail_guards(form):
            body.append(f"r = {M}.where(x {side} {_num_py(t)}, {_lim(v, lib.inf)}, r)  # rounds to the limit here")
    body.append(f"return {ret}")
    if lib.target == "numpy":
        lines.append('    with np.errstate(all="ignore"):')
        lines += _indent(body, 8)
    else:
        lines += _indent(body, 4)
    return lines


_VEC_PROLOGUE = {
    "numpy": ("np.amax(x, axis=-1, keepdims=True)", "np.sum({a}, axis=-1, keepdims=True)", "np.eye({n})"),
    "jax": ("jnp.max(x, axis=-1, keepdims=True)", "jnp.sum({a}, axis=-1, keepdims=True)", "jnp.eye({n}, dtype=x.dtype)"),
    "torch": ("torch.amax(x, dim=-1, keepdim=True)", "torch.sum({a}, dim=-1, keepdim=True)",
              "torch.eye({n}, dtype=x.dtype)"),
}


def _shift_helper(lib: _Lib) -> str:
    mx, sm, _ = _VEC_PROLOGUE[lib.target]
    M = lib.M
    return f'''def _shift(x):
    """x - max(x) = t_hi + t_lo exactly; e = exp(t); Sm1 = sum(e) - 1 without the leading 1."""
    m = {mx}
    m = {M}.where({M}.isfinite(m), m, 0.0 * m)
    t = x - m
    bb = t - x
    lo = (x - (t - bb)) - (m + bb)
    lo = {M}.where({M}.isfinite(lo), lo, 0.0 * lo)
    e = {M}.exp(t) * (1.0 + lo)
    top = t == 0
    sm1 = {sm.format(a=f"{M}.where(top, 0.0 * e, e)")} + ({sm.format(a=f"top.to(x.dtype)" if lib.target == "torch" else "top.astype(x.dtype)")} - 1.0)
    return t, lo, e, sm1'''


def _vec_vector_fns(lib: _Lib, ident, p: Plan, printer, dtype_line):
    _, _, eye = _VEC_PROLOGUE[lib.target]
    M = lib.M
    out = []
    for deriv, (expr, syms) in ((False, p.vec_f), (True, p.vec_df)):
        fname = f"{'_' + ident + '_value' if lib.target in ('torch', 'jax') and not deriv else ident}{'_grad' if deriv else ''}"
        names = {s: sp.Symbol(s.name, real=True) for s in syms}
        e = fold_constants(expr.xreplace(names))
        reps, (red,) = sp.cse([e], symbols=sp.numbered_symbols("t"), optimizations=None)
        used = {s.name for s in e.free_symbols}
        doc = "Jacobian J[..., i, k] = d y_i / d x_k along the last axis" if deriv else "along the last axis"
        lines = [f"def {fname}(x):", f'    """{p.act.name}{chr(39) if deriv else ""}: {doc}."""', f"    {dtype_line}"]
        body = ["t, t_lo, e, Sm1 = _shift(x)"]
        if deriv:
            body += ["t_i, t_i_lo = t[..., :, None], t_lo[..., :, None]",
                     "t_k, t_k_lo = t[..., None, :], t_lo[..., None, :]",
                     "Sm1 = Sm1[..., None]", f"delta = {eye.format(n='x.shape[-1]')}",
                     "q = delta - e[..., None, :]"]
        else:
            body += ["t_i, t_i_lo = t, t_lo", "delta = 1.0", "q = 1.0 - e"]
        body = [ln for ln in body if not re.match(r"^(delta|q|t_k, t_k_lo) =", ln)
                or ln.split(" =")[0].split(", ")[0] in used]
        body += [f"{s} = {printer.doprint(v)}" for s, v in reps]
        body.append(f"r = {printer.doprint(red)}")
        shape = "x.shape + (x.shape[-1],)" if deriv else "x.shape"
        ret = f"{M}.broadcast_to(r, {shape})"
        if lib.target == "numpy":
            ret = f"np.array({ret}, dtype=DTYPE)"
        body.append(f"return {ret}")
        if lib.target == "numpy":
            lines.append('    with np.errstate(all="ignore"):')
            lines += _indent(body, 8)
        else:
            lines += _indent(body, 4)
        out.append(lines)
    return out


def _emit_vectorized(target):
    lib = _LIBS[target]

    def emit(act, p: Plan, ident, dtype):
        printer = lib.printer()
        fns = []
        notes = []
        if target == "numpy":
            dtype_line = "x = np.asarray(x, dtype=np.float64)"
            notes.append(f"computes in float64, returns {dtype}")
        elif target == "torch":
            dtype_line = f"x = torch.as_tensor(x, dtype=x.dtype if torch.is_tensor(x) and x.is_floating_point() else torch.{dtype})"
            notes.append("computes in the tensor's dtype; NAME is differentiable through a torch.autograd.Function")
        else:
            dtype_line = "x = jnp.asarray(x, dtype=x.dtype if hasattr(x, 'dtype') and jnp.issubdtype(x.dtype, jnp.floating) else None)"
            notes.append("computes in the array's dtype (float64 needs jax.config.update('jax_enable_x64', True));"
                         " NAME carries a jax.custom_jvp")
        value_name = ident if target == "numpy" else f"_{ident}_value"
        if act.vector:
            fns = _vec_vector_fns(lib, ident, p, printer, dtype_line)
            printer.used.add("shift")
        else:
            for deriv, form in ((False, p.f), (True, p.df)):
                fname = f"{ident}_grad" if deriv else value_name
                ret = "r.astype(DTYPE)" if target == "numpy" else "r"
                doc = f"{act.name}{chr(39) if deriv else ''}(x) elementwise"
                fns.append(_vec_scalar_fn(lib, fname, form, printer, doc, dtype_line, ret))
        header = _header_lines(act, target, ident, dtype, notes)
        out = ['"""' + header[0], *header[1:], '"""', lib.imports, ""]
        if target == "numpy":
            out += [f"DTYPE = np.{dtype}", ""]
        for h in _helper_order(printer.used):
            src = _vec_helper(h, target)
            if src is not None:
                out += ["", src.replace("{M}", lib.M), ""]
        if "shift" in printer.used:
            out += ["", _shift_helper(lib), ""]
        for f in fns:
            out += ["", *f, ""]
        out += _wrappers(target, act, ident)
        return "\n".join(out).rstrip() + "\n"

    return emit


def _wrappers(target, act, ident):
    if target == "torch":
        bwd = ("torch.einsum('...i,...ik->...k', g, {i}_grad(x))" if act.vector else "g * {i}_grad(x)").format(i=ident)
        return ["", f"class _{ident}_fn(torch.autograd.Function):",
                f'    """{act.name} whose backward is the derived derivative."""', "",
                "    @staticmethod", "    def forward(ctx, x):", "        ctx.save_for_backward(x)",
                f"        return _{ident}_value(x)", "", "    @staticmethod", "    def backward(ctx, g):",
                "        (x,) = ctx.saved_tensors", f"        return {bwd}", "", "",
                f"def {ident}(x):", f'    """{act.name}(x), differentiable with the derived derivative."""',
                f"    return _{ident}_fn.apply(torch.as_tensor(x))"]
    if target == "jax":
        tan = ("jnp.einsum('...ik,...k->...i', {i}_grad(x), t)" if act.vector else "{i}_grad(x) * t").format(i=ident)
        return ["", "@jax.custom_jvp", f"def {ident}(x):",
                f'    """{act.name}(x); its JVP uses the derived derivative."""', f"    return _{ident}_value(x)", "",
                "", f"@{ident}.defjvp", f"def _{ident}_jvp(primals, tangents):", "    (x,), (t,) = primals, tangents",
                f"    return {ident}(x), {tan}"]
    return []


# ---- python (math)
def _emit_python(act, p: Plan, ident, dtype):
    printer = MathPrinter()
    fns = []
    if act.vector:
        for deriv, (expr, syms) in ((False, p.vec_f), (True, p.vec_df)):
            e = fold_constants(expr.xreplace({s: sp.Symbol(s.name, real=True) for s in syms}))
            used = {s.name for s in e.free_symbols}
            reps, (red,) = sp.cse([e], symbols=sp.numbered_symbols("t"), optimizations=None)
            inner = [f"{s} = {printer.doprint(v)}" for s, v in reps] + [f"row.append({printer.doprint(red)})" if deriv
                                                                        else f"out.append({printer.doprint(red)})"]
            lines = [f"def {ident}{'_grad' if deriv else ''}(x):",
                     f'    """{act.name}{chr(39) + " Jacobian J[i][k] = d y_i / d x_k" if deriv else ""} of a list of floats."""',
                     "    sh, Sm1 = _shift([float(v) for v in x])", "    out = []", "    for i, (t_i, t_i_lo, e_i) in enumerate(sh):"]
            if deriv:
                lines += ["        row = []", "        for k, (t_k, t_k_lo, e_k) in enumerate(sh):"]
                pre = ["delta = 1.0 if i == k else 0.0"] if ("delta" in used or "q" in used) else []
                pre += ["q = delta - e_k"] if "q" in used else []
                lines += _indent(pre + inner, 12) + ["        out.append(row)"]
            else:
                pre = (["delta = 1.0"] if "delta" in used else []) + (["q = 1.0 - e_i"] if "q" in used else [])
                lines += _indent(pre + inner, 8)
            lines.append("    return out")
            fns.append(lines)
        printer.used.add("shift")
    else:
        for deriv, form in ((False, p.f), (True, p.df)):
            lines = [f"def {ident}{'_grad' if deriv else ''}(x):",
                     f'    """{act.name}{chr(39) if deriv else ""}(x) of a float."""', "    x = float(x)"]
            if form.limits is not None:
                lo, hi = (_lim(v, "math.inf") for v in form.limits)
                lines += ["    if math.isinf(x):", f"        return {hi} if x > 0 else {lo}"]
                for t, side, v in _tail_guards(form):
                    lines += [f"    if x {side} {_num_py(t)}:  # rounds to the limit here", f"        return {_lim(v, 'math.inf')}"]
            for i, rp in enumerate(form.roots):
                printer.used.add("rootpoly")
                cname = f"_{ident}{'_grad' if deriv else ''}_root{i}"
                lines[:0] = _root_const_py(cname, rp) + ["", ""]
                lines += [f"    if {_num_py(rp.lo)} <= x <= {_num_py(rp.hi)}:  # next to a root",
                          f"        return _rootpoly(x, {cname})"]
            for k, b in enumerate(form.branches):
                if b.dds:
                    printer.used.add("dd")
                bl, res = _branch_body(b, printer, lambda s, v: f"{s} = {v}", _dd_py, "x", tag=f"{k}_")
                if b.expr.is_number:
                    res = _num_py(float(b.expr))
                if b.cond is not None:
                    lines.append(f"    if {' and '.join(_interval_parts(b.cond, 'x', _num_py))}:")
                    lines += _indent(bl + [f"return {res}"], 8)
                else:
                    lines += _indent(bl + [f"return {res}"], 4)
            fns.append(lines)
    header = _header_lines(act, "python", ident, dtype, ["Python floats, standard library math only"])
    out = ['"""' + header[0], *header[1:], '"""', "import math", ""]
    for h in _helper_order(printer.used):
        out += ["", _MATH_HELPERS[h], ""]
    if "shift" in printer.used:
        out += ["", '''def _shift(x):
    """(t_hi, t_lo, e = exp(t)) per element with t = x - max(x) exact; Sm1 = sum(e) - 1."""
    m = max(x) if x else 0.0
    if not math.isfinite(m):
        m = 0.0
    sh = []
    for v in x:
        t = v - m
        bb = t - v
        lo = (v - (t - bb)) - (m + bb)
        if not math.isfinite(lo):
            lo = 0.0
        sh.append((t, lo, math.exp(t) * (1.0 + lo)))
    rest = math.fsum(e for t, lo, e in sh if t != 0)
    return sh, rest + (sum(1 for t, lo, e in sh if t == 0) - 1.0)''', ""]
    for f in fns:
        out += ["", *f, ""]
    return "\n".join(out).rstrip() + "\n"


# ---- C99
def _emit_c(act, p: Plan, ident, dtype):
    variants = [False] + ([True] if dtype == "float32" else [])
    used_all: dict[bool, set] = {}
    fns = []
    for single in variants:
        T = "float" if single else "double"
        F = "f" if single else ""
        printer = CPrinter(single=single)
        num = printer._num
        inf = "INFINITY"
        if act.vector:
            fns += _c_vector(act, p, ident, printer, T, F)
            printer.used.add("shift")
        else:
            for deriv, form in ((False, p.f), (True, p.df)):
                lines = [f"{T} {ident}{'_grad' if deriv else ''}{F}({T} x)", "{"]
                if form.limits is not None:
                    lo, hi = (_lim(v, inf).replace("float('nan')", "NAN") if v == v else "NAN" for v in form.limits)
                    lo, hi = (s if s in ("INFINITY", "-INFINITY", "NAN") else num(float(s)) for s in (lo, hi))
                    lines.append(f"    if (isinf(x)) return x > 0 ? {hi} : {lo};")
                    for t, side, v in _tail_guards(form):
                        lines.append(f"    if (x {side} {num(t)}) return {num(v)};  /* rounds to the limit here */")
                for i, rp in enumerate(form.roots):
                    printer.used.add("rootpoly")
                    cname = f"{ident}{'_grad' if deriv else ''}{F}_root{i}"
                    lo_, step, cs, rows, r_hi, r_lo = _root_tuple(rp, single)
                    lines[:0] = [f"/* near the root x = {_num_py(rp.r_hi)}: (x - r) q(x) on [{_num_py(rp.lo)}, "
                                 f"{_num_py(rp.hi)}], {len(cs)} pieces of degree {len(rows) - 1} */",
                                 f"static const {T} {cname}_centres[{len(cs)}] = {{{', '.join(num(c) for c in cs)}}};",
                                 f"static const {T} {cname}_coeffs[{len(rows) * len(cs)}] = {{",
                                 *[f"    {', '.join(num(c) for c in row)}," for row in rows], "};", ""]
                    lines += [f"    if (x >= {num(rp.lo)} && x <= {num(rp.hi)})  /* next to a root */",
                              f"        return symact_rootpoly{F}(x, {num(lo_)}, {num(step)}, {len(cs)}, {len(rows)}, "
                              f"{cname}_centres, {cname}_coeffs, {num(r_hi)}, {num(r_lo)});"]

                def dd_line(d, var, single_, T=T, F=F, num=num):
                    cs = [_coeff_split(c, single_) for c in d.coeffs]
                    his = ", ".join(num(h) for h, _ in cs)
                    los = ", ".join(num(lo_) for _, lo_ in cs)
                    return (f"static const {T} {d.hi}_c[] = {{{his}}}, {d.lo}_c[] = {{{los}}};\n"
                            f"{T} {d.hi}, {d.lo};\nsymact_dd_horner{F}({var}, {d.hi}_c, {d.lo}_c, {len(cs)}, "
                            f"&{d.hi}, &{d.lo});")
                for k, b in enumerate(form.branches):
                    if b.dds:
                        printer.used.add("dd")
                    bl, res = _branch_body(b, printer, lambda s, v, T=T: f"const {T} {s} = {v};",
                                           lambda d, var, s_: dd_line(d, var, single), "x", tag=f"{k}_", single=single)
                    bl = [ln for chunk in bl for ln in chunk.split("\n")]
                    if b.cond is not None:
                        cond = " && ".join(f"{c}" for c in _interval_parts(b.cond, "x", num))
                        lines += [f"    if ({cond}) {{"] + _indent(bl + [f"return {res};"], 8) + ["    }"]
                    else:
                        lines += _indent(bl + [f"return {res};"], 4)
                lines.append("}")
                fns.append(lines)
        used_all[single] = set(printer.used)
    header = _header_lines(act, "c", ident, dtype, ["C99; needs only <math.h>" + (" and <stddef.h> (size_t)" if act.vector else "")
                                                    + "; link with -lm"])
    out = ["/* " + header[0], *[" * " + h for h in header[1:]], " */", "#include <math.h>"]
    if act.vector:
        out.append("#include <stddef.h>")
    out.append("")
    for single in variants:
        T, F = ("float", "f") if single else ("double", "")
        for h in _helper_order(used_all[single]):
            src = _C_HELPERS[h].replace("symact_" + h + "F", "symact_" + h + F)
            src = re.sub(r"\b(exp|fabs|log1p|fma)F\b", lambda m: m.group(1) + F, src)
            src = src.replace("dd_hornerF", "dd_horner" + F)
            out += ["", re.sub(r"\bT\b", T, src), ""]
        if "shift" in used_all[single]:
            out += ["", f'''static void symact_shift{F}({T} x, {T} m, {T} *t, {T} *lo, {T} *e)
{{
    /* t + lo = x - m exactly; e = exp(t + lo) */
    const {T} bb = (*t = x - m) - x;
    *lo = (x - (*t - bb)) - (m + bb);
    if (!isfinite(*lo))
        *lo = 0;
    *e = exp{F}(*t) * (1 + *lo);
}}''', ""]
    for f in fns:
        out += ["", *f, ""]
    return "\n".join(out).rstrip() + "\n"


def _c_vector(act, p: Plan, ident, printer, T, F):
    fns = []
    for deriv, (expr, syms) in ((False, p.vec_f), (True, p.vec_df)):
        e = fold_constants(expr.xreplace({s: sp.Symbol(s.name, real=True) for s in syms}))
        used = {s.name for s in e.free_symbols}
        reps, (red,) = sp.cse([e], symbols=sp.numbered_symbols("t"), optimizations=None)
        inner = [f"const {T} {s} = {printer.doprint(v)};" for s, v in reps]
        lines = [f"void {ident}{'_grad' if deriv else ''}{F}(const {T} *x, {T} *{'jac' if deriv else 'y'}, size_t n)", "{",
                 f"    {T} m = -INFINITY, rest = 0, top = 0, Sm1;", "    size_t i;" if not deriv else "    size_t i, k;",
                 "    for (i = 0; i < n; i++)", "        if (x[i] > m)", "            m = x[i];",
                 "    if (!isfinite(m))", "        m = 0;", "    for (i = 0; i < n; i++) {",
                 f"        {T} t, lo, e;", f"        symact_shift{F}(x[i], m, &t, &lo, &e);",
                 "        if (t == 0)", "            top += 1;", "        else", "            rest += e;", "    }",
                 "    Sm1 = rest + (top - 1);", "    for (i = 0; i < n; i++) {",
                 f"        {T} t_i, t_i_lo, e_i;", f"        symact_shift{F}(x[i], m, &t_i, &t_i_lo, &e_i);"]
        if deriv:
            lines += ["        for (k = 0; k < n; k++) {", f"            {T} t_k, t_k_lo, e_k;",
                      f"            symact_shift{F}(x[k], m, &t_k, &t_k_lo, &e_k);"]
            pre = ([f"const {T} delta = i == k ? 1 : 0;"] if ("delta" in used or "q" in used) else [])
            pre += [f"const {T} q = delta - e_k;"] if "q" in used else []
            lines += _indent(pre + inner + [f"jac[i * n + k] = {printer.doprint(red)};"], 12) + ["        }"]
        else:
            pre = ([f"const {T} delta = 1;"] if "delta" in used else []) + ([f"const {T} q = 1 - e_i;"] if "q" in used else [])
            lines += _indent(pre + inner + [f"y[i] = {printer.doprint(red)};"], 8)
        lines += ["    }", "}"]
        fns.append(lines)
    return fns


EMITTERS = {"numpy": _emit_vectorized("numpy"), "torch": _emit_vectorized("torch"), "jax": _emit_vectorized("jax"),
            "python": _emit_python, "c": _emit_c}
