"""The high-precision reference: SymPy expressions evaluated with mpmath.

An expression is compiled once into a tree of closures over mpmath functions
(no ``eval``, no ``lambdify``: user formulas reach this module too). Each value
is computed at increasing precision until two successive precisions agree to
well beyond the target format (or agree that it lies far below the smallest
subnormal number of every format), then rounded once to float64 or float32.

Fixed precision is not enough: at 60 digits ``log(1 + exp(-150))`` is 0. Before
compiling, forms that cancel are rewritten (``log(1 + u)`` to ``log1p(u)``,
``exp(u) - 1`` to ``expm1(u)``), and a result of zero or one that keeps moving
drives the precision up (to :data:`MAX_PREC` bits) until it settles.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import mpmath
import numpy as np
import sympy as sp

from symact import cache
from symact.errors import BudgetError, SymactError
from symact import primitives as rw
from symact.symbolic import budget
from symact.symbolic.forms import X, normalize, one_sided_limit

#: Precision ladder in bits; the last rung is a hard cap.
START_PREC = 128
MAX_PREC = 8192

_log1p = sp.Function("log1p")
_expm1 = sp.Function("expm1")
_erfc_fn = sp.Function("erfc_")  # unevaluated: SymPy would turn erfc(-u) back into 2 - erfc(u)

_FUNCS: dict[type, Callable] = {
    sp.exp: lambda u: _exp(u),
    sp.log: mpmath.log,
    sp.tanh: lambda u: _tanh(u),
    sp.sinh: lambda u: _sinh(u),
    sp.cosh: lambda u: _cosh(u),
    sp.sin: lambda u: _trig(mpmath.sin)(u),
    sp.cos: lambda u: _trig(mpmath.cos)(u),
    sp.tan: lambda u: _trig(mpmath.tan)(u),
    sp.atan: mpmath.atan,
    sp.atanh: mpmath.atanh,
    sp.asinh: mpmath.asinh,
    sp.erf: lambda z: _erf(z),
    sp.erfc: lambda z: _erfc(z),
    sp.Abs: abs,
    sp.sign: mpmath.sign,
}
def _exp(u):
    """mpmath.exp, fast for huge |u| (gelu at x = 1e300 asks for exp(-5e599)).

    e**u = 2**n * 2**f with u / ln 2 = n + f, computed with log2|u| extra bits so
    that f keeps the working precision; mpmath's own path is slow there.
    """
    if not mpmath.isfinite(u) or abs(u) < 10**4:
        return mpmath.exp(u)
    if _mag(u) > EXP_RANGE_BITS:
        return _beyond(u > 0)
    extra = int(mpmath.log(abs(u), 2)) + 20
    with mpmath.workprec(mpmath.mp.prec + extra):
        t = u / mpmath.ln2
        n = int(mpmath.floor(t))
        f = t - n
        return mpmath.ldexp(mpmath.power(2, f), n)


#: exp(u) is computed for |u| < 2**EXP_RANGE_BITS (with log2|u| guard bits: every float input
#: of every catalog entry, gelu_tanh's cubic at 1e300 included); beyond, its value (above
#: 2**(2**4096) or below its reciprocal) has an exponent no bounded computation pins down
#: (e^(e^x) at x = 1e300), and a placeholder that moves with the precision stands for it
EXP_RANGE_BITS = 4096
#: |argument| of sin, cos and tan up to 2**TRIG_RANGE_BITS (reduction costs that many bits)
TRIG_RANGE_BITS = 8192


_BEYOND = [0]   # placeholders handed out so far (Oracle.value: did this evaluation use one?)


def _beyond(positive: bool):
    """A stand-in for exp(u) with |u| >= 2**EXP_RANGE_BITS: 2**(+-(2**4096 * prec)).

    It differs at each rung of the precision ladder (its exponent doubles), so a
    result that depends on it smoothly never settles, and :meth:`Oracle.value`
    then raises BudgetError rather than guess. A result that does not depend on
    it (tanh of it, 1/(1 + it)) settles to the true value; one that is as huge
    (or as tiny) as the placeholders at two rungs, with the same sign, lies
    beyond every format and rounds to +-inf (or +-0) whatever the true value
    (:func:`_saturated`).
    """
    _BEYOND[0] += 1
    e = 2**EXP_RANGE_BITS * mpmath.mp.prec
    return mpmath.ldexp(mpmath.mpf(1), e if positive else -e)


def _saturated(a, b) -> bool:
    """Both rungs beyond 2**+-(2**(EXP_RANGE_BITS - 1)), same sign and same side."""
    if type(a) is not mpmath.mpf or type(b) is not mpmath.mpf or not (mpmath.isfinite(a) and mpmath.isfinite(b)) \
            or a == 0 or b == 0 or (a > 0) != (b > 0):
        return False
    ma, mb, edge = _mag(a), _mag(b), 2 ** (EXP_RANGE_BITS - 1)
    return (ma > edge and mb > edge) or (ma < -edge and mb < -edge)


def _trig(fn):
    def bounded(u):
        if mpmath.isfinite(u) and u != 0 and _mag(u) > TRIG_RANGE_BITS:
            from symact.errors import BudgetError

            raise BudgetError(f"the oracle would compute {fn.__name__} of a number above 2^{TRIG_RANGE_BITS}; "
                              f"its budget stops there (argument reduction costs as many bits)")
        return fn(u)

    return bounded


def _power(b, p):
    """b**p for a non-integer or varying p; huge results through :func:`_exp`."""
    if mpmath.isfinite(b) and mpmath.isfinite(p) and b > 0 and p != 0:
        t = p * mpmath.log(b)
        if abs(t) >= 10**4:
            return _exp(t)
    return mpmath.power(b, p)


def _cosh(u):
    if mpmath.isfinite(u) and abs(u) >= 10**4:  # e**-|u| is below any working precision
        return _exp(abs(u)) / 2
    return mpmath.cosh(u)


def _sinh(u):
    if mpmath.isfinite(u) and abs(u) >= 10**4:
        return mpmath.sign(u) * _exp(abs(u)) / 2
    return mpmath.sinh(u)


def _tanh(u):
    if mpmath.isfinite(u) and abs(u) >= 10**4:
        return mpmath.sign(u) * (1 - 2 * _exp(-2 * abs(u)))
    return mpmath.tanh(u)


def _erfc(z):
    """mpmath.erfc, with the asymptotic form where mpmath overflows (z > 1e8).

    There erfc(z) = exp(-z**2) / (z sqrt(pi)) * (1 + O(1/z**2)), far below any
    float format, so the leading term is exact to the last bit that matters.
    """
    if z > 10**8:
        return _exp(-z * z) / (z * mpmath.sqrt(mpmath.pi))
    if z < -(10**8):
        return mpmath.mpf(2)
    return mpmath.erfc(z)


def _erf(z):
    if abs(z) > 10**8:
        return mpmath.sign(z) * (1 - _erfc(abs(z)))
    return mpmath.erf(z)


_NAMED = {"log1p": mpmath.log1p, "expm1": mpmath.expm1, "erfc_": _erfc}


class OracleError(Exception):
    """An expression the oracle cannot evaluate (an unsupported function)."""


class NotRealError(OracleError, SymactError):
    """The expression's value at a real point is not real (sqrt(x) at x = -1): a user's
    formula that leaves the reals, past the structural domain check of
    :mod:`symact.verify.formula`. A SymactError (exit 2) naming the point."""


class _Cancelled(Exception):
    """A sum lost too many bits to cancellation at this precision: go higher."""


#: bits a sum may lose to cancellation and still leave this many correct bits
_GUARD_BITS = 100


def _check_cancellation(terms, total) -> None:
    """Raise :class:`_Cancelled` when ``total`` keeps fewer than _GUARD_BITS good bits.

    Each term carries a relative error near 2**-prec, so the sum's absolute error is
    about max|term| * 2**-prec; with |total| far below max|term| the relative error
    grows by their ratio (the same bookkeeping SymPy's evalf does).
    """
    if mpmath.mp.prec >= MAX_PREC:
        return  # the last rung: the sum stands (it is below 2**-8000 of its terms)
    finite = [t for t in terms if mpmath.isfinite(t)]
    if len(finite) < len(terms) or not finite:
        return
    if total != 0 and all(type(t) is mpmath.mpf for t in finite) and type(total) is mpmath.mpf \
            and max(map(_mag, finite)) - _mag(total) + 1 <= mpmath.mp.prec - _GUARD_BITS:
        return  # |terms| < 2**m1 and |total| >= 2**(m2 - 1): at most m1 - m2 + 1 bits lost (the usual case)
    biggest = max(abs(t) for t in finite)
    if biggest == 0:
        return
    if total == 0:
        raise _Cancelled()
    lost = int(mpmath.log(biggest / abs(total), 2)) if biggest > abs(total) else 0
    if mpmath.mp.prec - lost < _GUARD_BITS:
        raise _Cancelled()


def _mag(v) -> int:
    """e with 2**(e - 1) <= |v| < 2**e for a finite mpf (a very small e for 0)."""
    _, man, exp, bc = v._mpf_
    return exp + bc if man else -(1 << 62)


def stable_form(expr: sp.Expr) -> sp.Expr:
    """Rewrite cancelling patterns into log1p/expm1 so precision is not wasted."""
    def fix_log(e):
        arg = e.args[0]
        if isinstance(arg, sp.Add) and 1 in arg.args:
            return _log1p(arg - 1)
        return e

    def fix_add(e):
        if -1 in e.args:
            exps = [a for a in e.args if isinstance(a, sp.exp)]
            if exps:
                rest = sp.Add(*[a for a in e.args if a is not exps[0] and a != -1])
                return _expm1(exps[0].args[0]) + rest
        return e

    def fix_erf(e):
        # k erf(u) + k -> k erfc(-u);  k erf(u) - k -> -k erfc(u)  (gelu: erf/2 + 1/2)
        # k erfc(u) - 2k -> -k erfc(-u)  (SymPy writes erfc(-u) as 2 - erfc(u): JAX's gelu)
        # k: any cofactor (a number, or x/2 in x - x erfc(u)/2)
        args = e.args
        for a in args:
            factors = sp.Mul.make_args(a)
            f = next((t for t in factors if isinstance(t, (sp.erf, sp.erfc))), None)
            if f is None:
                continue
            k = sp.Mul(*[t for t in factors if t is not f])
            if isinstance(f, sp.erfc):
                pairs = ((-2 * k, -k * _erfc_fn(-f.args[0])),)
            else:
                pairs = ((k, k * _erfc_fn(-f.args[0])), (-k, -k * _erfc_fn(f.args[0])))
            for partner, form in pairs:
                if partner in args:
                    others = sp.Add(*[t for t in args if t is not a and t != partner])
                    return form + others
        return e

    def fix_tanh(e):
        # c - c*tanh(u)**2 -> c/cosh(u)**2 ; c*tanh(u) + c -> 2c/(1 + exp(-2u)) (either sign)
        for a in e.args:
            coeff, rest = a.as_coeff_Mul()
            if isinstance(rest, sp.Pow) and isinstance(rest.base, sp.tanh) and rest.exp == 2 and -coeff in e.args:
                others = [t for t in e.args if t is not a and t != -coeff]
                return -coeff / sp.cosh(rest.base.args[0]) ** 2 + sp.Add(*others)
            if isinstance(rest, sp.tanh) and coeff.is_Rational:
                u = rest.args[0]
                for c, form in ((coeff, 2 * coeff / (1 + sp.exp(-2 * u))), (-coeff, 2 * coeff / (1 + sp.exp(2 * u)) * -1)):
                    if c in e.args:
                        others = [t for t in e.args if t is not a and t != c]
                        return form + sp.Add(*others)
        return e

    out = expr.replace(lambda e: isinstance(e, sp.log), fix_log)
    out = out.replace(lambda e: isinstance(e, sp.Add) and e.has(sp.tanh), fix_tanh)
    out = out.replace(lambda e: isinstance(e, sp.Add) and any(isinstance(t, (sp.erf, sp.erfc)) for a in e.args
                                                              for t in sp.Mul.make_args(a)), fix_erf)
    return out.replace(lambda e: isinstance(e, sp.Add), fix_add)


def _compile(expr: sp.Expr, x, _shared: dict | None = None) -> Callable:
    """Closure tree evaluating ``expr`` at an mpf value of ``x``.

    ``x`` is a Symbol (the closure takes one mpf) or a tuple of Symbols (the
    closure takes a tuple of mpf, one per symbol). Work is not repeated, and
    the values are those of the plain tree: a constant subtree (sqrt(2/pi)) is
    computed once per precision, and a subtree that occurs more than once (the
    cubic inside gelu_tanh' tanh and cosh) once per evaluation.
    """
    if _shared is None:
        counts: dict = {}
        for node in sp.preorder_traversal(expr):
            counts[node] = counts.get(node, 0) + 1
        _shared = {"counts": counts, "closures": {}}
    closures = _shared["closures"]
    if expr in closures:
        return closures[expr]
    fn = _compile_node(expr, x, _shared)
    if not expr.free_symbols and not expr.is_Integer:
        fn = _per_precision(fn)
    elif _shared["counts"].get(expr, 0) > 1 and not expr.is_Symbol and not isinstance(expr, sp.Indexed):
        fn = _last_value(fn)
    closures[expr] = fn
    return fn


def _per_precision(fn: Callable) -> Callable:
    """A constant's closure, computed once at each working precision."""
    values: dict = {}

    def constant(v):
        prec = mpmath.mp.prec
        out = values.get(prec)
        if out is None:
            out = values[prec] = fn(v)
        return out

    return constant


def _last_value(fn: Callable) -> Callable:
    """A shared subtree's closure, computed once per evaluation (same argument object, same precision)."""
    last = [(None, 0, None)]   # (argument, precision, value), replaced as one object

    def shared(v):
        prec = mpmath.mp.prec
        arg, at, out = last[0]
        if arg is v and at == prec:
            return out
        out = fn(v)
        last[0] = (v, prec, out)
        return out

    return shared


def _compile_node(expr: sp.Expr, x, _shared: dict) -> Callable:
    """One node of :func:`_compile`'s tree; its children come from ``_compile``."""
    if isinstance(x, tuple):
        if expr in x:
            idx = x.index(expr)
            return lambda v: v[idx]
    elif expr == x:
        return lambda v: v
    if expr.is_Number or expr in (sp.pi, sp.E) or expr.is_NumberSymbol:
        if expr.is_Integer:
            c = int(expr)
            return lambda v: mpmath.mpf(c)
        if expr.is_Rational:
            p, q = int(expr.p), int(expr.q)
            return lambda v: mpmath.mpf(p) / q
        if expr == sp.pi:
            return lambda v: +mpmath.pi
        if expr == sp.E:
            return lambda v: +mpmath.e
        return lambda v, e=expr: mpmath.mpf(sp.Float(e, mpmath.mp.dps + 10))
    if isinstance(expr, sp.Add):
        parts = [_compile(a, x, _shared) for a in expr.args]

        def add(v):
            terms = [p(v) for p in parts]
            total = mpmath.fsum(terms)
            _check_cancellation(terms, total)
            return total

        return add
    if isinstance(expr, sp.Mul):
        parts = [_compile(a, x, _shared) for a in expr.args]

        def mul(v):
            out = mpmath.mpf(1)
            for p in parts:
                out *= p(v)
            return out

        return mul
    if isinstance(expr, sp.Pow):
        base, ex = _compile(expr.base, x, _shared), expr.exp
        if ex == sp.S.Half:
            return lambda v: mpmath.sqrt(base(v))
        if ex.is_Integer:
            n = int(ex)
            return lambda v: base(v) ** n
        power = _compile(ex, x, _shared)
        return lambda v: _power(base(v), power(v))
    if isinstance(expr, sp.Piecewise):
        branches = [(_compile(e, x, _shared), _compile_cond(c, x)) for e, c in expr.args]
        return _piecewise(branches, expr)
    if isinstance(expr, sp.Function):
        name = type(expr).__name__
        fn = _FUNCS.get(type(expr)) or _NAMED.get(name)
        prim = rw.primitive_of(expr)
        if fn is None and prim is not None:  # a stable primitive: the form its declaration gives the oracle
            return _compile(stable_form(prim.oracle_form(*expr.args)), x)
        if fn is None:
            raise OracleError(f"the oracle cannot evaluate {name}")
        args = [_compile(a, x, _shared) for a in expr.args]
        if len(args) == 1:
            a0 = args[0]
            return lambda v: fn(a0(v))
        return lambda v: fn(*(a(v) for a in args))
    raise OracleError(f"the oracle cannot evaluate {expr}")


def _piecewise(branches, expr) -> Callable:
    """A Piecewise's closure: the first row whose condition is certainly true.

    A condition that is certified neither true nor false (:func:`_compile_cond`
    gives None: a Max of two expressions that are equal at the point, beyond what
    SymPy or :data:`MAX_PREC` bits of interval arithmetic can show) takes both ways;
    when they give the same value at this precision (Max(a, b) with a = b: either
    branch is right) that value stands, else :class:`UndecidedBranch` says so
    rather than pick one. At most :data:`_MAX_FORKS` such forks per evaluation.
    """
    def walk(v, start, forks):
        for i in range(start, len(branches)):
            e, c = branches[i]
            truth = c(v)
            if truth is None:
                if forks >= _MAX_FORKS:
                    break
                taken, other = e(v), walk(v, i + 1, forks + 1)
                if _agree(taken, other) or (taken == 0 and other == 0):
                    return taken
                break
            if truth:
                return e(v)
        else:
            return mpmath.nan
        raise UndecidedBranch(f"the oracle could not decide which case of {_brief(expr)} holds at x = "
                              f"{_show_point(v)}: a condition there is neither certainly true nor certainly "
                              f"false within {MAX_PREC} bits, and the cases give different values")

    return lambda v: walk(v, 0, 0)


#: undecided conditions one piecewise evaluation may take both ways
_MAX_FORKS = 4


def _show_point(v) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(mpmath.nstr(t, 17) for t in v) + ")"
    return mpmath.nstr(v, 17)


def _compile_cond(cond, x) -> Callable:
    """A condition's closure: True, False, or None (not certain) at a point.

    Every relation is decided exactly: the sign of lhs - rhs at the point (a float,
    so an exact binary number) is certified by interval arithmetic whose precision
    rises until the interval excludes zero (:func:`_decide_sign`), never by comparing
    two values rounded to the working precision (``exp(x) >= 1`` at x = -2^-1074 is
    false, though exp(x) rounds to 1 at 1024 bits). The decision does not depend on
    the working precision, so it is made once per point and kept.
    """
    if cond in (sp.true, True):
        return lambda v: True
    if cond in (sp.false, False):
        return lambda v: False
    if isinstance(cond, sp.And):
        parts = [_compile_cond(c, x) for c in cond.args]

        def all_of(v):
            out = True
            for p in parts:
                t = p(v)
                if t is False:
                    return False
                if t is None:
                    out = None
            return out

        return all_of
    if isinstance(cond, sp.Or):
        parts = [_compile_cond(c, x) for c in cond.args]

        def any_of(v):
            out = False
            for p in parts:
                t = p(v)
                if t is True:
                    return True
                if t is None:
                    out = None
            return out

        return any_of
    if isinstance(cond, sp.Not):
        inner = _compile_cond(cond.args[0], x)

        def negated(v):
            t = inner(v)
            return None if t is None else not t

        return negated
    if isinstance(cond, sp.logic.boolalg.BooleanFunction):   # ITE, Xor, Implies, ...: as And/Or/Not
        nnf = cond.to_nnf()
        if nnf != cond and isinstance(nnf, (sp.And, sp.Or, sp.Not, sp.core.relational.Relational)) or nnf in (sp.true, sp.false):
            return _compile_cond(nnf, x)
    if not isinstance(cond, sp.core.relational.Relational):
        raise OracleError(f"the oracle cannot evaluate the condition {cond}")
    ops = {"==": lambda s: s == 0, "!=": lambda s: s != 0, "<": lambda s: s < 0,
           "<=": lambda s: s <= 0, ">": lambda s: s > 0, ">=": lambda s: s >= 0}
    op = ops[cond.rel_op]
    decide = _sign_decider(cond.lhs - cond.rhs, x)
    last = [None, None]   # (point key, decision)

    def relation(v):
        key = tuple(t._mpf_ for t in v) if isinstance(v, tuple) else v._mpf_
        if last[0] != key:
            s = decide(v)
            last[0], last[1] = key, (None if s is None else op(s))
        return last[1]

    return relation


# --------------------------------------------------------------------------- certified signs
class UndecidedBranch(OracleError, BudgetError):
    """Which case of a piecewise expression holds at a point could not be certified
    (within :data:`MAX_PREC` bits and SymPy's exact evaluation), and the cases differ
    there: the oracle gives no value rather than a guess."""


class _NoEnclosure(Exception):
    """An operation without a certified interval form (the sign stays undecided)."""


#: seconds SymPy may spend deciding that a difference is exactly zero at one point
_ZERO_SECONDS = 2.0


def _sign_decider(diff: sp.Expr, x) -> Callable:
    """A function of a point giving the certified sign (-1, 0, 1) of ``diff`` there, or None.

    The interval ladder runs from START_PREC to MAX_PREC bits; an interval that is
    exactly [0, 0] is an exact zero (only exact operations give a point interval). An
    interval that keeps containing zero is zero only when SymPy evaluates ``diff`` at
    the rational point to exactly 0 (Max(x, x**2) at x = 1; exp(0) - 1), within
    :data:`_ZERO_SECONDS`; otherwise None.
    """
    diff = sp.expand(diff) if diff.is_polynomial(*(x if isinstance(x, tuple) else (x,))) else diff
    form = stable_form(diff)
    try:
        enclose = _compile_iv(form, x)
    except _NoEnclosure:
        enclose = None
    if diff.is_Number:
        s = 0 if diff == 0 else (1 if diff > 0 else -1)
        return lambda v: s

    def decide(v):
        if enclose is not None:
            prec = START_PREC
            while prec <= MAX_PREC:
                with _iv_prec(prec):
                    try:
                        box = enclose(_iv_point(v))
                        lo, hi = box.a, box.b
                    except (_NoEnclosure, ZeroDivisionError, ValueError, OverflowError, TypeError):
                        break
                if lo > 0:
                    return 1
                if hi < 0:
                    return -1
                if lo == 0 and hi == 0:
                    return 0
                if not (mpmath.isfinite(lo) and mpmath.isfinite(hi)) and prec >= 1024:
                    break
                prec *= 2
        return _exact_zero(diff, x, v)

    return decide


def _exact_zero(diff, x, v):
    """0 when SymPy evaluates ``diff`` at the point to exactly zero, else None (bounded)."""
    def rational(t):
        man, exp = mpmath.mpf(t).man_exp   # the point exactly (an mpf is a binary number)
        if not isinstance(man, int) or abs(exp) > 4 * MAX_PREC:
            return None
        return sp.Integer(man) * sp.Integer(2) ** exp

    pts = tuple(map(rational, v)) if isinstance(v, tuple) else (rational(v),)
    if any(p is None for p in pts):
        return None
    subs = dict(zip(x, pts)) if isinstance(x, tuple) else {x: pts[0]}
    try:
        with budget.step("deciding a piecewise condition exactly", _ZERO_SECONDS):
            at = diff.xreplace(subs)
            return 0 if at == 0 or at.is_zero is True else None
    except (SymactError, TypeError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _iv_point(v):
    iv = mpmath.iv
    return tuple(iv.mpf(t) for t in v) if isinstance(v, tuple) else iv.mpf(v)


class _iv_prec:
    """Scoped precision for mpmath.iv (a global of its own, apart from mp.prec)."""

    def __init__(self, bits: int):
        self.bits = bits

    def __enter__(self):
        self.saved = mpmath.iv.prec
        mpmath.iv.prec = self.bits
        return self

    def __exit__(self, *exc):
        mpmath.iv.prec = self.saved
        return False


def _outward(lo, hi, decreasing=False):
    """[lo, hi] (from point values at iv.prec + 64 bits) widened by 2^-(iv.prec - 8) relative.

    mpmath's point functions are accurate to a few units in the last of their
    ``prec + 64`` bits; the widening covers that many times over. An exact zero
    stays exact (every such function is exactly 0 only where its argument makes it so).
    """
    if decreasing:
        lo, hi = hi, lo
    prec = mpmath.iv.prec
    slack = mpmath.ldexp(mpmath.mpf(1), -(prec - 8))
    with mpmath.workprec(prec + 64):
        lo2 = lo - abs(lo) * slack
        hi2 = hi + abs(hi) * slack
    return mpmath.iv.mpf([lo2, hi2])


def _monotone(fn, decreasing=False) -> Callable:
    """The interval form of a monotone function from its values at the two ends."""
    def enclose(box):
        with mpmath.workprec(mpmath.iv.prec + 64):
            a, b = mpmath.mpf(box.a), mpmath.mpf(box.b)
            if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
                raise _NoEnclosure("an unbounded argument")
            used = _BEYOND[0]
            lo, hi = fn(a), (fn(b) if b != a else None)
            hi = lo if hi is None else hi
            if _BEYOND[0] != used or not (mpmath.isfinite(lo) and mpmath.isfinite(hi)):
                raise _NoEnclosure("beyond the exponent range")
        return _outward(lo, hi, decreasing)

    return enclose


def _expm1_point(u):
    if abs(u) >= 10**4:
        return _exp(u) - 1
    return mpmath.expm1(u)


def _log1p_point(u):
    if u <= -1:
        raise _NoEnclosure("log1p at or below -1")
    return mpmath.log1p(u)


def _log_point(u):
    if u <= 0:
        raise _NoEnclosure("log at or below 0")
    return mpmath.log(u)


def _atanh_point(u):
    if not -1 < u < 1:
        raise _NoEnclosure("atanh outside (-1, 1)")
    return mpmath.atanh(u)


def _sqrt_iv(box):
    if box.a < 0:
        raise _NoEnclosure("sqrt of a negative number")
    return mpmath.iv.sqrt(box)


def _cosh_iv(box):
    lo, hi = mpmath.mpf(box.a), mpmath.mpf(box.b)
    far = max(abs(lo), abs(hi))
    top = _monotone(_cosh)(mpmath.iv.mpf([far, far]))
    if lo <= 0 <= hi:
        return mpmath.iv.mpf([1, top.b])
    near = min(abs(lo), abs(hi))
    bottom = _monotone(_cosh)(mpmath.iv.mpf([near, near]))
    return mpmath.iv.mpf([bottom.a, top.b])


def _trig_iv(name):
    def enclose(box):
        for t in (box.a, box.b):
            t = mpmath.mpf(t)
            if not mpmath.isfinite(t) or (t != 0 and _mag(t) > TRIG_RANGE_BITS):
                raise _NoEnclosure("a trigonometric argument beyond the oracle's range")
        return getattr(mpmath.iv, name)(box)

    return enclose


_IV_FUNCS: dict = {
    sp.exp: _monotone(lambda u: _exp(u)), sp.log: _monotone(_log_point),
    sp.tanh: _monotone(lambda u: _tanh(u)), sp.sinh: _monotone(lambda u: _sinh(u)), sp.cosh: _cosh_iv,
    sp.sin: _trig_iv("sin"), sp.cos: _trig_iv("cos"), sp.tan: _trig_iv("tan"),
    sp.atan: _monotone(mpmath.atan), sp.atanh: _monotone(_atanh_point), sp.asinh: _monotone(mpmath.asinh),
    sp.erf: _monotone(lambda z: _erf(z)), sp.erfc: _monotone(lambda z: _erfc(z), decreasing=True),
    sp.Abs: abs,
}
_IV_NAMED = {"log1p": _monotone(_log1p_point), "expm1": _monotone(_expm1_point),
             "erfc_": _monotone(lambda z: _erfc(z), decreasing=True)}


def enclosure(expr: sp.Expr, x, v, prec: int = 256):
    """A certified interval (lo, hi) of mpf holding ``expr`` at the point ``v`` (an mpf or
    float: an exact binary number), by outward-rounded interval arithmetic at ``prec``
    bits; None where ``expr`` has no interval form (a Piecewise, an unknown function) or
    an operation leaves its domain. Cheap where the oracle's value is not: a difference
    that cancels to 1e-3559 is enclosed in [-2^-200, 2^-200] at once."""
    try:
        fn = _compile_iv(stable_form(normalize(expr)), x)
        with _iv_prec(prec):
            box = fn(_iv_point(mpmath.mpf(v)))
            return mpmath.mpf(box.a), mpmath.mpf(box.b)
    except (_NoEnclosure, ZeroDivisionError, ValueError, OverflowError, TypeError):
        return None


def _compile_iv(expr: sp.Expr, x) -> Callable:
    """Closure tree enclosing ``expr`` at a point interval of ``x`` (mpmath.iv, outward rounding).

    Raises :class:`_NoEnclosure` for what has no certified form (a Piecewise inside a
    condition, an unknown function); the closure raises it for an argument outside a
    function's domain.
    """
    iv = mpmath.iv
    if isinstance(x, tuple):
        if expr in x:
            idx = x.index(expr)
            return lambda v: v[idx]
    elif expr == x:
        return lambda v: v
    if expr.is_Integer:
        c = int(expr)
        return lambda v: iv.mpf(c)
    if expr.is_Rational:
        p, q = int(expr.p), int(expr.q)
        return lambda v: iv.mpf(p) / iv.mpf(q)
    if isinstance(expr, sp.Float):
        c = mpmath.mpf(expr._mpf_)   # a Float is an exact binary number: that number
        return lambda v: iv.mpf(c)
    if expr == sp.pi:
        return lambda v: iv.pi
    if expr == sp.E:
        return lambda v: iv.e
    if expr.is_NumberSymbol:
        def constant(v, e=expr):
            prec = iv.prec
            with mpmath.workprec(prec + 64):
                c = mpmath.mpf(sp.Float(e, int((prec + 64) * 0.302) + 5)._mpf_)
            return _outward(c, c)

        return constant
    if isinstance(expr, sp.Add):
        parts = [_compile_iv(a, x) for a in expr.args]

        def add(v):
            out = iv.mpf(0)
            for p in parts:
                out += p(v)
            return out

        return add
    if isinstance(expr, sp.Mul):
        parts = [_compile_iv(a, x) for a in expr.args]

        def mul(v):
            out = iv.mpf(1)
            for p in parts:
                out *= p(v)
            return out

        return mul
    if isinstance(expr, sp.Pow):
        base, ex = _compile_iv(expr.base, x), expr.exp
        if ex == sp.S.Half:
            return lambda v: _sqrt_iv(base(v))
        if ex.is_Integer:
            n = int(ex)

            def ipow(v):
                b = base(v)
                if n < 0:
                    if b.a <= 0 <= b.b:
                        raise _NoEnclosure("division by an interval holding zero")
                    return iv.mpf(1) / b ** (-n)
                return b ** n

            return ipow
        power, log = _compile_iv(ex, x), _IV_FUNCS[sp.log]
        exp = _IV_FUNCS[sp.exp]
        return lambda v: exp(power(v) * log(base(v)))
    if isinstance(expr, sp.Function):
        fn = _IV_FUNCS.get(type(expr)) or _IV_NAMED.get(type(expr).__name__)
        prim = rw.primitive_of(expr)
        if fn is None and prim is not None:
            return _compile_iv(stable_form(prim.oracle_form(*expr.args)), x)
        if fn is None or len(expr.args) != 1:
            raise _NoEnclosure(f"no interval form for {type(expr).__name__}")
        arg = _compile_iv(expr.args[0], x)
        return lambda v: fn(arg(v))
    raise _NoEnclosure(f"no interval form for {type(expr).__name__}")


_FORMATS = {np.dtype(np.float64): (53, -1074, 1024), np.dtype(np.float32): (24, -149, 128)}


def round_to(value: mpmath.mpf, dtype) -> float:
    """``value`` correctly rounded (to nearest, ties to even) to ``dtype``, as a Python float."""
    bits, min_exp, max_exp = _FORMATS[np.dtype(dtype)]
    if mpmath.isnan(value):
        return math.nan
    if mpmath.isinf(value):
        return math.inf if value > 0 else -math.inf
    if value == 0:
        return 0.0
    man, exp = mpmath.frexp(value)  # value = man * 2**exp, 0.5 <= |man| < 1
    exp = int(exp)
    if exp > max_exp:
        return math.inf if value > 0 else -math.inf
    # quantum: spacing of representable numbers at this magnitude (subnormals fixed)
    quantum_exp = max(exp - bits, min_exp)
    with mpmath.workprec(max(mpmath.mp.prec, bits + 10)):
        scaled = mpmath.ldexp(value, -quantum_exp)
        n = int(mpmath.nint(scaled))  # mpmath's nint rounds half to even
    out = math.ldexp(n, quantum_exp) if abs(n) < 2**60 else float(mpmath.ldexp(n, quantum_exp))
    if abs(out) > float(np.finfo(dtype).max):
        return math.inf if value > 0 else -math.inf
    return out


class Oracle:
    """Reference values of one scalar expression in one variable.

    ``Oracle(expr, x)(v)`` gives the exact value of ``expr`` at the float ``v``
    as a high-precision mpf; :meth:`rounded` rounds it to a dtype. Values at
    ±inf are the symbolic one-sided limits; NaN in gives NaN out.
    """

    def __init__(self, expr: sp.Expr, x: sp.Symbol):
        self.expr = expr
        self.x = x
        budget.check_expr(expr, "the expression given to the oracle", x=x, size=False)
        self._fn = _compile(stable_form(normalize(expr)), x)
        self._limits: dict[str, sp.Expr] = {}

    def limit(self, at: float) -> sp.Expr:
        """The symbolic limit at +inf (``at`` > 0) or -inf, cached in memory and on disk."""
        side = "oo" if at > 0 else "-oo"
        if side not in self._limits:
            point = sp.oo if at > 0 else -sp.oo
            self._limits[side] = cache.cached(
                "limit", (sp.srepr(self.expr), side),
                lambda: one_sided_limit(self.expr, self.x, point, "-" if at > 0 else "+"))
        return self._limits[side]

    def _eval(self, v, prec: int):
        with mpmath.workprec(prec):
            try:
                return +self._fn(mpmath.mpf(v))
            except _Cancelled:
                return None
            except (ZeroDivisionError, ValueError, OverflowError):
                return mpmath.nan

    def __call__(self, v: float) -> mpmath.mpf:
        """The value at ``v`` to well beyond float64 precision."""
        if math.isnan(v):
            return mpmath.nan
        if math.isinf(v):
            lim = self.limit(v)
            if lim in (sp.oo, -sp.oo):
                return mpmath.inf if lim == sp.oo else -mpmath.inf
            if lim.is_real is False or lim.has(sp.nan, sp.zoo, sp.AccumBounds):
                return mpmath.nan
            with mpmath.workprec(256):
                return mpmath.mpf(sp.N(lim, 80))   # pi/2 (arctan at +inf): Float() of a Mul fails
        return self.value(mpmath.mpf(v))

    def value(self, v: mpmath.mpf) -> mpmath.mpf:
        """The value at a finite mpf ``v`` (:meth:`_value`); a value with an imaginary
        part is :class:`NotRealError`, one with an imaginary part that vanishes (or is
        below 2^-100 of the real part: rounding of complex intermediates) its real part."""
        out = self._value(v)
        if isinstance(out, mpmath.mpc):
            re, im = out.real, out.imag
            if im == 0 or (mpmath.isfinite(re) and abs(im) <= mpmath.ldexp(abs(re), -100)):
                return re
            raise NotRealError(f"{_brief(self.expr)} is not real at x = {mpmath.nstr(v, 17)} (its value there is "
                               f"{mpmath.nstr(out, 8)}); symact checks functions that are real at every real x")
        return out

    def _value(self, v: mpmath.mpf) -> mpmath.mpf:
        """The value at a finite mpf ``v``, raising precision until it is stable.

        Bounded: at most :data:`MAX_PREC` bits (six rungs from START_PREC). Where an
        exponential's argument was beyond :data:`EXP_RANGE_BITS` and the value did
        not settle, :class:`~symact.errors.BudgetError` says so rather than guess.
        """
        used = _BEYOND[0]
        prec = START_PREC
        prev = self._eval(v, prec)
        while prec < MAX_PREC:
            prec *= 2
            cur = self._eval(v, prec)
            if cur is None or prev is None:
                prev = cur
                continue
            beyond = _BEYOND[0] != used
            if _agree(prev, cur) and cur != 0:
                return cur
            if cur == 0 and prev == 0 and prec >= 1024 and not beyond:
                return cur  # zero at 1024 bits and more, with no cancellation: exact
            if _underflows(prev, cur) or _overflows(prev, cur) or (beyond and _saturated(prev, cur)):
                return cur
            prev = cur
        if _BEYOND[0] != used:
            from symact.errors import BudgetError

            raise BudgetError(f"the oracle could not settle {_brief(self.expr)} at x = {mpmath.nstr(v, 17)}: an "
                              f"exponential's argument there is above 2^{EXP_RANGE_BITS} and the value did not "
                              f"settle within {MAX_PREC} bits (its budget)")
        return prev if prev is not None else mpmath.mpf(0)

    def rounded(self, v: float, dtype=np.float64) -> float:
        return round_to(self(v), dtype)


def _brief(expr) -> str:
    text = sp.sstr(expr)
    return text if len(text) <= 60 else text[:57] + "..."


def _agree(a, b) -> bool:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.isnan(a) and mpmath.isnan(b)
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    if a == b:
        return True
    scale = max(abs(a), abs(b))
    return abs(a - b) <= mpmath.ldexp(scale, -80)  # scale * 2**-80, exactly


#: 2**-UNDERFLOW_BITS is far below the smallest subnormal of every format (float64: 2**-1074)
UNDERFLOW_BITS = 1200


def _underflows(a, b) -> bool:
    """Two rungs agree that the value is far below every format's smallest subnormal.

    Same sign, both below 2**-UNDERFLOW_BITS and binary exponents that agree to one
    part in 2**32: the value rounds to 0 in every format, so higher rungs could only
    refine digits no format keeps. (gelu_tanh(-1e300) is about -1e300 e**(-7e898):
    each rung fixes the exponent to its precision, and the ladder used to climb to
    8192 bits before two rungs agreed to 2**-80.)
    """
    if type(a) is not mpmath.mpf or type(b) is not mpmath.mpf or not (mpmath.isfinite(a) and mpmath.isfinite(b)) \
            or a == 0 or b == 0 or (a > 0) != (b > 0):
        return False
    ma, mb = _mag(a), _mag(b)
    return ma < -UNDERFLOW_BITS and mb < -UNDERFLOW_BITS and abs(ma - mb) <= max(1, abs(mb) >> 32)


def _overflows(a, b) -> bool:
    """Two rungs agree that the value is far above every format's largest number
    (same sign, both above 2**UNDERFLOW_BITS, binary exponents that agree to one part
    in 2**32): it rounds to +-inf in every format (e^(e^x) at x = 1e300)."""
    if type(a) is not mpmath.mpf or type(b) is not mpmath.mpf or not (mpmath.isfinite(a) and mpmath.isfinite(b)) \
            or a == 0 or b == 0 or (a > 0) != (b > 0):
        return False
    ma, mb = _mag(a), _mag(b)
    return ma > UNDERFLOW_BITS and mb > UNDERFLOW_BITS and abs(ma - mb) <= max(1, abs(mb) >> 32)


@lru_cache(maxsize=256)
def oracle_for(expr: sp.Expr, x: sp.Symbol) -> Oracle:
    """A cached :class:`Oracle` (expressions are hashable and immutable)."""
    return Oracle(expr, x)


def reference(expr: sp.Expr, x: sp.Symbol, values, dtype=np.float64) -> np.ndarray:
    """Correctly rounded reference values of ``expr`` at each of ``values``."""
    orc = oracle_for(expr, x)
    flat = np.asarray(values, dtype=np.float64).ravel()
    return np.array([orc.rounded(float(v), dtype) for v in flat], dtype=dtype).reshape(np.shape(values))


class VectorOracle:
    """Reference values of a vector activation's components at one input vector."""

    def __init__(self, comps: list[sp.Expr], xs: list[sp.Symbol]):
        self._fns = [_compile(stable_form(normalize(c)), tuple(xs)) for c in comps]

    def _eval(self, v, prec):
        with mpmath.workprec(prec):
            vals = tuple(mpmath.mpf(float(t)) for t in v)
            try:
                return [+f(vals) for f in self._fns]
            except _Cancelled:
                return None
            except (ZeroDivisionError, ValueError, OverflowError):
                return [mpmath.nan] * len(self._fns)

    def __call__(self, v) -> list:
        prec = START_PREC
        prev = self._eval(v, prec)
        while prec < MAX_PREC:
            prec *= 2
            cur = self._eval(v, prec)
            if cur is not None and prev is not None and all(_agree(a, b) for a, b in zip(prev, cur)) \
                    and (all(c != 0 for c in cur) or prec >= 1024):
                return cur
            prev = cur
        return prev if prev is not None else [mpmath.mpf(0)] * len(self._fns)

    def rounded(self, v, dtype=np.float64) -> list[float]:
        return [round_to(c, dtype) for c in self(v)]


# --------------------------------------------------------------------------- reference values
def oracle_expr(expr):
    """``expr`` with exact identities that keep the oracle's precision ladder honest.

    * 1 + erf(u) -> erfc(-u) (unevaluated): the ladder stops when two precisions
      agree; 1 + erf(u) for u < -9 loses more than 256 bits, both rungs agree on
      the wrong value, and gelu' came out 0.3 % off at x = -19.
    * 1 - tanh(u)^2 -> cosh(u)^-2: for gelu_tanh' at x >= 43 and mish' at large x
      the difference cancels below 2^-MAX_PREC and the oracle gives up with 0
      for the whole expression (the true value is 1).
    """
    rules = [r for r in rw.RULES if r.name in ("erfc", "sech2")]
    out = rw.stabilize(expr, rules)
    # each primitive those rules made becomes the form its declaration gives the oracle
    # (sech2: cosh^-2; erfc: SymPy's erfc, unevaluated)
    return out.replace(lambda e: rw.primitive_of(e) is not None, lambda e: rw.primitive_of(e).oracle_form(*e.args))


def oracle_reference(expr, pts, dtype):
    """Reference values: the erfc form first, the literal form where that gives NaN."""
    ref = reference(oracle_expr(expr), X, pts, dtype)
    bad = np.isnan(ref) & ~np.isnan(pts)
    if bad.any():
        ref[bad] = reference(expr, X, pts[bad], dtype)
    return ref


def vector_reference(act, v, derivative=False) -> np.ndarray:
    """The vector oracle's correctly rounded values of ``act`` (or its Jacobian,
    shape (m, n) for m outputs) at the row ``v``. An activation that reduces the
    axis (logsumexp) gives a 0-d value, and its gradient (n,)."""
    n = len(v)
    reduce = getattr(act, "shape", "same") == "reduce"
    if derivative:
        xs, rows = act.jacobian_components(n)
        comps = [c for r in rows for c in r]
        shape = (n,) if reduce else (len(rows), n)
    else:
        xs, comps = act.components(n)
        shape = () if reduce else (len(comps),)
    return np.array(VectorOracle(comps, xs).rounded(v)).reshape(shape)
