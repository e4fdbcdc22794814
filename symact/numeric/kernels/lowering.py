"""Lowering: a stabilized SymPy expression becomes straight-line NumPy code.

:class:`_Gen` turns an expression into lines of in-place ufunc calls
(``np.exp(F0, out=F1)``) after ``sympy.cse``; scratch buffers come from a small
register allocator (``F0, F1, ...`` float, ``B0, ...`` bool), so a chain
allocates nothing per call. Sums put x (times a power of two) first with the
constant, so 2^k x + c is exact where it cancels; products scale early so they
do not overflow. Piecewise and conditions are lowered without masked copies by
the mixin in :mod:`.piecewise`; Max/Min with constant bounds become one
``np.clip``.

Transcendentals whose argument is a polynomial in x that cannot be formed
exactly get it in double-double (float64 chains only; :mod:`.ddouble`):
exp and erfc always, expit where the form was measured better that way
(gelu_tanh, :func:`.selection.choose_form`); erfc(c x) with c^2 a power of two
uses the fitted erfcx table, exp(a x^2) exact x^2. Every other stable primitive
(expit, softplus, hypot, ...) is lowered by the ``kernel`` piece of its
declaration (:mod:`symact.primitives`): a ufunc, or a helper ``_h_NAME``.

:func:`_compile_chain` compiles the lines once with ``compile``/``exec`` into a
:class:`_Chain` ``fn(X, OUT, *float_bufs, *bool_bufs)``; the source is symact's
own, built from SymPy trees, never from user text. The namespace it runs in
(:data:`_NS`) holds NumPy, SciPy and the helpers, the allocating ones wrapped to
work in pieces (:func:`.runtime._pieces`). :class:`_RowChain` is the same for the
vector kernels' (rows, n) blocks, with row-only subexpressions hoisted so they
run once per row. A ``ld=True`` chain carries its non-integer constants in long
double: the same form, evaluated in x87 precision for the fix-ups.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special as _sc
import sympy as sp

from symact.numeric.fitting import erfcx_table
from symact.numeric.kernels.ddouble import (_dd_const, _dd_poly_into, _erfc_dd, _erfc_lin, _erfc_plain, _exp_dd,
                                            _exp_sq, _expit_dd)
from symact.numeric.kernels.piecewise import _PiecewiseLowering
from symact.numeric.kernels.runtime import SUB_NO_ALLOC, _pieces, _row_bufs
from symact import primitives as rw
from symact.symbolic.forms import X

#: SymPy's own functions -> the NumPy/SciPy ufunc each lowers to (a stable primitive
#: brings its own: the ``kernel`` piece of its declaration in :mod:`symact.primitives`).
_UFUNCS = {
    sp.exp: "np.exp", sp.log: "np.log", sp.tanh: "np.tanh", sp.Abs: "np.abs",
    sp.sinh: "np.sinh", sp.cosh: "np.cosh", sp.atan: "np.arctan", sp.sin: "np.sin",
    sp.cos: "np.cos", sp.sign: "np.sign", sp.erf: "_sc.erf",
}
#: Functions evaluated by SciPy (no long-double chain, no float32 chain for them).
_SCIPY_FUNCS = (sp.erf, sp.erfc, *(p.function for p in rw.REGISTRY.values() if p.kernel.scipy))
#: The shared e = exp(-|x|) of exp-rational forms (:func:`.selection.exp_rational`),
#: computed once per chain by :func:`_compile_chain`.
_T = sp.Symbol("T_exp_neg_abs_x", positive=True)


def _is_exact_arg(arg, x) -> bool:
    """Is ``arg`` (a polynomial in x) formed exactly in floating point?"""
    if arg == x or arg == -x:
        return True
    c, rest = arg.as_coeff_Mul()
    if rest == x and c.is_Rational and c != 0:
        m, e = math.frexp(abs(float(c)))
        return m == 0.5 and sp.Rational(float(c)) == c
    return False


def _pow2(v) -> float | None:
    """float(v) when v is an exact number whose magnitude is a power of two."""
    if not (v.is_number and v.is_real) or v == 0:
        return None
    v = sp.nsimplify(v) if not v.is_Rational else v
    if not v.is_Rational:
        return None
    f = float(v)
    return f if math.frexp(abs(f))[0] == 0.5 and sp.Rational(f) == v else None


def _sq_coeff(arg, x):
    """a when arg == a x^2 with a a power of two (exp's argument for _exp_sq)."""
    c, rest = arg.as_coeff_Mul()
    if rest == x**2 and not arg.has(sp.Piecewise):
        return _pow2(c)
    return None


def _lin_coeff(arg, x):
    """(c, c^2, |c|) when arg == c x with c^2 a power of two (c itself inexact)."""
    c = sp.simplify(arg / x)
    if not c.is_number or not c.is_real or c == 0 or c.is_Rational:
        return None
    c2 = _pow2(sp.simplify(c**2))
    if c2 is None:
        return None
    return float(c), c2, sp.Abs(c)


class _Gen(_PiecewiseLowering):
    """Straight-line in-place ufunc code for one scalar expression."""

    def __init__(self, x, dd: bool, dd_expit: bool = False):
        self.x = x
        self.xname = "X"
        self.ld = False
        self.dd_expit = dd_expit  # expit's polynomial argument in double-double too (a measured choice)
        self.exact: dict = {}
        self.dd_nodes: dict = {}
        self.dd = dd  # double-double argument corrections (float64 chains only)
        self.exact_x: set = set()
        self.lines: list[str] = []
        self.nf = 0
        self.nb = 0
        self.free_f: list[str] = []
        self.free_b: list[str] = []
        self.consts: dict[str, object] = {}

    # buffers
    def fbuf(self) -> str:
        if self.free_f:
            return self.free_f.pop()
        self.nf += 1
        return f"F{self.nf - 1}"

    def bbuf(self) -> str:
        if self.free_b:
            return self.free_b.pop()
        self.nb += 1
        return f"B{self.nb - 1}"

    def release(self, v):
        if isinstance(v, tuple) and v[1] and v[0].startswith("F") and v[0] not in self.free_f:
            self.free_f.append(v[0])
        elif isinstance(v, tuple) and v[1] and v[0].startswith("B") and v[0] not in self.free_b:
            self.free_b.append(v[0])

    def const(self, value) -> str:
        name = f"C{len(self.consts)}"
        self.consts[name] = value
        return name

    # values: float (scalar) or (name, temp)
    def s(self, v) -> str:
        if isinstance(v, tuple):
            return v[0]
        if self.ld and not float(v).is_integer():
            return self.const(np.longdouble(str(sp.N(self.exact.get(float(v), v), 30))))
        return repr(float(v))

    def dst(self, target, args):
        if target is not None:
            for a in args:
                self.release(a)
            return (target, False)
        for a in args:
            if isinstance(a, tuple) and a[1] and a[0].startswith("F"):
                for b in args:
                    if b is not a:
                        self.release(b)
                return a
        for a in args:
            self.release(a)
        return (self.fbuf(), True)

    def scalar_to(self, value, target):
        d = (target, False) if target is not None else (self.fbuf(), True)
        self.lines.append(f"{d[0]}.fill({float(value)!r})")
        return d

    def copy_to(self, v, target):
        if isinstance(v, tuple):
            if v[0] != target:
                self.lines.append(f"np.copyto({target}, {v[0]})")
                self.release(v)
            return (target, False)
        return self.scalar_to(v, target)

    # entry
    def block(self, expr, target=None, env=None):
        """Emit ``expr`` (with its own CSE) and return its value."""
        env = dict(env or {})
        if expr.has(sp.Piecewise):
            return self.emit(expr, target, env)
        if self.dd:
            expr = expr.replace(lambda a: self.needs_dd(a), lambda a: self.placeholder(a))
        reps, (red,) = sp.cse(expr, symbols=sp.numbered_symbols("_c"), optimizations=None)
        uses = {s: 0 for s, _ in reps}
        for _, e in reps:
            for s in e.free_symbols & set(uses):
                uses[s] += 1
        for s in red.free_symbols & set(uses):
            uses[s] += 1
        live = {}
        for s, e in reps:
            c, rest = e.as_coeff_Mul()
            if rest == self.x and _pow2(abs(c)) is not None:
                self.exact_x.add(s)          # a CSE name for 2^k x (see add)
            v = self.emit(e, None, env)
            if isinstance(v, tuple) and not v[1]:
                pass
            env[s] = (v[0], False) if isinstance(v, tuple) else v
            live[s] = v
            # in CSE order, not set order: the scratch names must not depend on PYTHONHASHSEED
            for t in [t for t in uses if t in e.free_symbols]:
                uses[t] -= 1
                if uses[t] == 0:
                    self.release(live[t])
        out = self.emit(red, target, env)
        for t in [t for t in uses if t in red.free_symbols]:
            uses[t] -= 1
            if uses[t] == 0 and not (isinstance(out, tuple) and out[0] == live[t][0] if isinstance(live[t], tuple) else False):
                self.release(live[t])
        return out

    def needs_dd(self, a) -> bool:
        kinds = (sp.exp, rw.erfc, rw.expit) if self.dd_expit else (sp.exp, rw.erfc)
        return (isinstance(a, kinds) and a.args[0].free_symbols == {self.x}
                and a.args[0].is_polynomial(self.x) and not _is_exact_arg(a.args[0], self.x))

    def poly_in_x(self, arg) -> bool:
        """Is ``arg`` a polynomial in x alone? A CSE name (``_c0`` for an inner exp(x)
        in e^(e^x)) holds no x, so ``is_polynomial(x)`` says yes, yet it is no
        constant: it takes the plain path, never :meth:`dd_arg`."""
        return arg.free_symbols <= {self.x} and arg.is_polynomial(self.x)

    def placeholder(self, a):
        d = sp.Dummy("dd", real=True)
        self.dd_nodes[d] = a
        return d

    def emit(self, e, target, env):
        if e in self.dd_nodes:
            return self.emit(self.dd_nodes[e], target, env)
        if e in env:
            v = env[e]
            return self.copy_to(v, target) if target is not None else v
        if e.is_Number or e.is_NumberSymbol:
            return self.scalar_to(e, target) if target is not None else float(e)
        if isinstance(e, sp.Add):
            return self.add(e, target, env)
        if isinstance(e, sp.Mul):
            return self.mul(e, target, env)
        if isinstance(e, sp.Pow):
            return self.pow(e, target, env)
        if isinstance(e, (sp.Max, sp.Min)) and self.clip_form(e) is not None:
            inner, lo, hi = self.clip_form(e)
            a = self.emit(inner, None, env)
            d = self.dst(target, [a])
            bound = lambda v: repr(v) if math.isfinite(v) else ("np.inf" if v > 0 else "-np.inf")  # noqa: E731
            self.lines.append(f"np.clip({self.s(a)}, {bound(lo)}, {bound(hi)}, out={d[0]})")
            return d
        if isinstance(e, (sp.Max, sp.Min)):
            fn = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
            args = [self.emit(a, None, env) for a in e.args]
            arrs = [a for a in args if isinstance(a, tuple)]
            scal = [a for a in args if not isinstance(a, tuple)]
            cur = arrs[0]
            for a in arrs[1:] + scal:
                d = self.dst(target if a is (arrs[1:] + scal)[-1] else None, [cur, a])
                self.lines.append(f"{fn}({self.s(cur)}, {self.s(a)}, out={d[0]})")
                cur = d
            return cur
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e, target, env)
        if isinstance(e, (rw.erfc, sp.erfc)):   # SymPy's own erfc where stabilizing kept it (erfc(e^x))
            return self.erfc(e, target, env)
        if isinstance(e, sp.exp) and self.dd and _sq_coeff(e.args[0], self.x) is not None:
            d = self.dst(target, [])
            self.lines.append(f"_exp_sq({self.xname}, {_sq_coeff(e.args[0], self.x)!r}, {d[0]})")
            return d
        if isinstance(e, sp.exp) and self.dd and self.poly_in_x(e.args[0]) and not _is_exact_arg(e.args[0], self.x):
            hi, lo = self.dd_arg(e.args[0])
            d = self.dst(target, [])
            self.lines.append(f"_exp_dd({hi}, {lo}, {d[0]})")
            self.release((hi, True))
            self.release((lo, True))
            return d
        if isinstance(e, rw.expit) and self.dd and self.dd_expit and self.needs_dd(e):
            # expit(u), u = hi + lo: exp amplifies u's rounding by |u| (gelu_tanh lost
            # ~1000 ULP at x = -20 with u rounded once; long double covered [-20.9, -1.3])
            hi, lo = self.dd_arg(e.args[0])
            d = self.dst(target, [])
            t, m = self.fbuf(), self.bbuf()
            self.lines.append(f"_expit_dd({hi}, {lo}, {d[0]}, {t}, {m})")
            for b in ((hi, True), (lo, True), (t, True), (m, True)):
                self.release(b)
            return d
        if isinstance(e, sp.Function):
            name = type(e).__name__
            a = self.emit(e.args[0], None, env)
            consts = [self.const_arg(c) for c in e.args[1:]]
            prim = rw.primitive_of(e)
            if prim is not None and callable(prim.kernel.call):
                # a primitive's helper, _h_NAME in _NS: (u, *consts, out, *float scratch, *bool scratch)
                scratch_f = [self.fbuf() for _ in range(prim.kernel.floats)]
                scratch_b = [self.bbuf() for _ in range(prim.kernel.bools)]
                d = (target, False) if target is not None else (self.fbuf(), True)
                self.lines.append(f"_h_{name}({', '.join([self.s(a), *consts, d[0], *scratch_f, *scratch_b])})")
                for b in scratch_f + scratch_b:
                    self.release((b, True))
                self.release(a)
                return d
            fn = prim.kernel.call if prim is not None else _UFUNCS.get(type(e))
            if fn is None:
                raise NotImplementedError(f"no NumPy lowering for {name}")
            if not isinstance(a, tuple):
                a = self.scalar_to(a, None)
            d = self.dst(target, [a])
            self.lines.append(f"{fn}({', '.join([a[0], *consts])}, out={d[0]})")
            return d
        raise NotImplementedError(f"no NumPy lowering for {e}")

    def const_arg(self, c) -> str:
        """A primitive's constant argument after the first (hypot's a), spelled like any constant."""
        if not c.is_number:
            raise NotImplementedError(f"no NumPy lowering for the non-constant argument {c}")
        v = float(c)
        self.exact.setdefault(v, c)
        return self.s(v)

    @staticmethod
    def clip_form(e):
        """(inner, lo, hi) when e is Max(u, c), Min(u, c) or a nesting of them with
        constant bounds: one np.clip pass (np.maximum with a scalar is slower)."""
        lo, hi = -math.inf, math.inf
        cur = e
        while isinstance(cur, (sp.Max, sp.Min)):
            nums = [a for a in cur.args if a.is_number]
            rest = [a for a in cur.args if not a.is_number]
            if len(rest) != 1 or len(nums) != 1:
                return None
            c = float(nums[0])
            if isinstance(cur, sp.Max):
                if c > lo and c <= hi:
                    lo = c
                elif c > hi:
                    return None
            else:
                if c < hi and c >= lo:
                    hi = c
                elif c < lo:
                    return None
            cur = rest[0]
        if lo == -math.inf and hi == math.inf:
            return None
        return cur, lo, hi

    def dd_arg(self, arg):
        poly = sp.Poly(arg, self.x)
        deg = poly.degree()
        coeffs = [_dd_const(poly.coeff_monomial(self.x**k)) for k in range(deg + 1)]
        hi, lo = self.fbuf(), self.fbuf()
        c = self.const(coeffs)
        self.lines.append(f"_dd_poly_into({self.xname}, {c}, {hi}, {lo})")
        return hi, lo

    def erfc(self, e, target, env):
        arg = e.args[0]
        d = self.dst(target, [])
        lin = _lin_coeff(arg, self.x) if self.dd else None
        if lin is not None:
            c = self.const((lin[0], lin[1], erfcx_table(lin[2])))
            self.lines.append(f"_erfc_lin({self.xname}, *{c}, {d[0]})")
        elif self.dd and self.poly_in_x(arg) and not _is_exact_arg(arg, self.x):
            hi, lo = self.dd_arg(arg)
            self.lines.append(f"_erfc_dd({hi}, {lo}, {d[0]})")
            self.release((hi, True))
            self.release((lo, True))
        else:
            a = self.emit(arg, None, env)
            if not isinstance(a, tuple):
                a = self.scalar_to(a, None)
            self.lines.append(f"_erfc_plain({a[0]}, {d[0]})")
            self.release(a)
        return d

    def binop(self, fn, a, b, target):
        d = self.dst(target, [a, b])
        self.lines.append(f"{fn}({self.s(a)}, {self.s(b)}, out={d[0]})")
        return d

    def add(self, e, target, env):
        const = sum((float(a) for a in e.args if a.is_number), 0.0)
        terms = [a for a in e.args if not a.is_number]
        # x (times a power of two) first, with the constant: 2^k x + c is exact
        # where it cancels (Sterbenz), so e (x + 1 + e) near silu's root and
        # e (...) + 4 x + 4 near mish''s round once, not twice
        def exact_x(t):
            c, rest = t.as_coeff_Mul()
            return t in self.exact_x or (rest == self.x and _pow2(abs(c)) is not None)

        terms.sort(key=lambda t: not exact_x(t))
        lead = bool(const) and exact_x(terms[0])
        # subtract negative terms instead of negating them
        vals = []
        for t in terms:
            c, rest = t.as_coeff_Mul()
            if c.is_negative:
                vals.append((self.emit(-t, None, env), "np.subtract"))
            else:
                vals.append((self.emit(t, None, env), "np.add"))
        if lead:
            v, op = vals.pop(0)
            cur = self.binop(op, const, v, None) if op == "np.subtract" else self.binop("np.add", v, const, None)
            return self.fold(cur, [(o, w) for w, o in vals], target)
        vals.sort(key=lambda v: v[1] != "np.add")
        cur, op = vals[0]
        if op == "np.subtract":      # every term negative: 0 - first
            cur = self.binop("np.subtract", 0.0, cur, None)
        rest = [(o, v) for v, o in vals[1:]] + ([("np.add", const)] if const else [])
        return self.fold(cur, rest, target)

    def fold(self, cur, ops, target):
        """cur op1 v1 op2 v2 ..., the last step written into ``target``."""
        if not ops:
            return self.copy_to(cur, target) if target is not None else cur
        for k, (op, v) in enumerate(ops):
            cur = self.binop(op, cur, v, target if k == len(ops) - 1 else None)
        return cur

    def mul(self, e, target, env):
        c, rest = e.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        numeric = [f for f in factors if f.is_number]
        if numeric:
            exact = c * sp.Mul(*numeric)
            c = sp.Float(sp.N(exact, 40), 40)
            self.exact[float(c)] = exact
            if sp.Rational(float(c)) == sp.Rational(float(c)):
                c = sp.Float(float(c))
            factors = [f for f in factors if not f.is_number]
            if not factors:
                return self.scalar_to(c, target) if target is not None else float(c)
        num, den = [], []
        for f in factors:
            if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0:
                den.append(f.base ** (-f.exp))
            else:
                num.append(f)
        ops = []
        for f in num:
            ops.append(("np.multiply", self.emit(f, None, env)))
        for f in den:
            ops.append(("np.divide", self.emit(f, None, env)))
        if c.is_Float and float(c) == 1.0:
            c = sp.S.One
        if c.is_Float and float(c) == -1.0:
            c = sp.S.NegativeOne
        if c != 1:
            if c.is_Rational and c.p in (1, -1) and c.q > 1:
                ops.append(("np.divide", float(c.q * c.p)))
            elif c == -1:
                ops.append(("np.multiply", -1.0))
            else:
                self.exact.setdefault(float(c), c)
                ops.append(("np.multiply", float(c)))
        if len(ops) > 2 and not isinstance(ops[-1][1], tuple) and (ops[-1][0] == "np.divide") == (abs(ops[-1][1]) >= 1):
            # scale down early: x*t/6 overflows where x/6*t does not; scale up last:
            # x*1.13*exp(-x^2) is inf*0 = nan at x = 1.8e308, where x*exp(-x^2)*1.13 is 0
            ops.insert(1, ops.pop())
        cur = 1.0 if ops[0][0] == "np.divide" else ops.pop(0)[1]
        return self.fold(cur, ops, target)

    def pow(self, e, target, env):
        b, n = e.base, e.exp
        if n == sp.S.Half:
            a = self.emit(b, None, env)
            d = self.dst(target, [a])
            self.lines.append(f"np.sqrt({self.s(a)}, out={d[0]})")
            return d
        if n.is_Integer and n < 0:
            if n == -1:
                return self.binop("np.divide", 1.0, self.emit(b, None, env), target)
            return self.mul(1 / sp.Pow(b, -n, evaluate=False), target, env)
        a = self.emit(b, None, env)
        if n == 2:
            d = self.dst(target, [a])
            self.lines.append(f"np.square({self.s(a)}, out={d[0]})")
            return d
        if n == 3:
            sq = self.fbuf()
            self.lines.append(f"np.square({self.s(a)}, out={sq})")
            return self.binop("np.multiply", (sq, True), a, target)
        return self.binop("np.power", a, float(n), target)


#: The namespace generated chains run in: NumPy, SciPy, the double-double
#: helpers (the allocating ones wrapped to work in pieces) and every stable
#: primitive's helper as ``_h_NAME``.
_NS = {"np": np, "_sc": _sc, "_exp_dd": _exp_dd, "_expit_dd": _expit_dd, "_erfc_dd": _pieces(_erfc_dd),
       "_erfc_plain": _erfc_plain, "_erfc_lin": _pieces(_erfc_lin, SUB_NO_ALLOC), "_exp_sq": _pieces(_exp_sq),
       "_dd_poly_into": _pieces(_dd_poly_into, SUB_NO_ALLOC),
       **{f"_h_{p.name}": p.kernel.call for p in rw.REGISTRY.values() if callable(p.kernel.call)}}


@dataclass
class _Chain:
    """A compiled straight-line chain: fn(X, OUT, *float_bufs, *bool_bufs)."""

    source: str
    fn: object
    nf: int
    nb: int

    def run(self, x, out, dtype):
        """The chain on a 1-d ``x`` into ``out`` with freshly allocated scratch (for
        measuring and fix-ups; kernels pass their own buffers to ``fn``)."""
        n = x.shape[0]
        fb = [np.empty(n, dtype) for _ in range(self.nf)]
        bb = [np.empty(n, np.bool_) for _ in range(self.nb)]
        self.fn(x, out, *fb, *bb)
        return out


def _has_dd_expit(expr) -> bool:
    """Whether ``expr`` has an expit of an inexact polynomial in x (gelu_tanh)."""
    return any(a.args[0].free_symbols == {X} and a.args[0].is_polynomial(X) and not _is_exact_arg(a.args[0], X)
               for a in expr.atoms(rw.expit))


def erfc_forms(expr: sp.Expr) -> sp.Expr:
    """SymPy's erfc as the stable primitive, its reflection undone: k erfc(u) - 2k -> -k erfc(-u).

    SymPy evaluates erfc(-u) to 2 - erfc(u) (JAX's gelu, x/2 erfc(-x/sqrt 2), arrives as
    x (2 - erfc(x/sqrt 2))/2), and 2 - erfc(u) loses every bit for u < -6; a user's erfc
    is SymPy's, which :meth:`_Gen.needs_dd` does not give a double-double argument.
    ``k`` is any cofactor (a number, or x/3 once the product is expanded).
    """
    if not expr.has(sp.erfc, rw.erfc):
        return expr
    out = expr.replace(lambda e: isinstance(e, sp.erfc), lambda e: rw.erfc(e.args[0]))

    def reflect(e):
        args = e.args
        for a in args:
            factors = sp.Mul.make_args(a)
            f = next((t for t in factors if isinstance(t, rw.erfc)), None)
            if f is None:
                continue
            k = sp.Mul(*[t for t in factors if t is not f])
            if -2 * k in args:
                others = [t for t in args if t is not a and t != -2 * k]
                return sp.Add(*others) - k * rw.erfc(-f.args[0])
        return e

    return out.replace(lambda e: isinstance(e, sp.Add) and any(isinstance(t, rw.erfc) for a in e.args
                                                               for t in sp.Mul.make_args(a)), reflect)


def expit_expm1_forms(expr: sp.Expr) -> sp.Expr:
    """expit(u) expm1(-u) -> -tanh(u/2): the stabilized form of (1 - e^-2x)/(1 + e^-2x)
    (tanh as written) is -expit(2x) expm1(-2x), whose factors underflow and overflow
    together (0 * inf = NaN at x <= -355); their product is exactly -tanh(u/2)
    ((e^-u - 1)/(1 + e^-u), times e^(u/2) over e^(u/2)), which NumPy computes within an ULP.
    Only where the whole expression is that product (times other factors)."""
    if not (expr.has(rw.expit) and expr.has(rw.expm1)):
        return expr

    def pair(e):
        factors = list(sp.Mul.make_args(e))
        for f in factors:
            if not isinstance(f, rw.expit):
                continue
            partner = next((g for g in factors if isinstance(g, rw.expm1) and sp.expand(g.args[0] + f.args[0]) == 0),
                           None)
            if partner is not None:
                rest = [g for g in factors if g is not f and g is not partner]
                return pair(sp.Mul(*rest)) * -sp.tanh(f.args[0] / 2)
        return e

    # the whole expression only: inside a sum (a derivative's 1 + expit(u) expm1(-u) ...)
    # -tanh(u/2) would bring a cancellation of its own
    return pair(expr) if isinstance(expr, sp.Mul) else expr


def _compile_chain(expr, dd: bool, name: str, ld: bool = False, dd_expit: bool = False) -> _Chain:
    """``expr`` (in x, maybe with the shared e = exp(-|x|) :data:`_T`) as a compiled
    chain: ``dd`` -- inexact polynomial arguments in double-double; ``ld`` --
    constants in long double; ``dd_expit`` -- expit's argument in double-double too.
    SymPy's erfc becomes the stable primitive first (:func:`erfc_forms`), and
    expit(u) expm1(-u) becomes -tanh(u/2) (:func:`expit_expm1_forms`)."""
    expr = expit_expm1_forms(erfc_forms(expr))
    gen = _Gen(X, dd, dd_expit)
    gen.ld = ld
    env = {X: ("X", False)}
    if expr.has(_T):  # the shared exp(-|x|) of an exp-rational form, computed once
        t = gen.emit(rw.exp_neg_abs(X), None, env)
        env[_T] = (t[0], False)
    gen.block(expr, "OUT", env)
    src, fn = _exec_gen(gen, name, ["X", "OUT"], "kernel")
    return _Chain(src, fn, gen.nf, gen.nb)


def _exec_gen(gen, name, inputs, label):
    """(source, function) of ``gen``'s lines as ``def name(*inputs, F.., B..)``,
    compiled once (symact's own generated source, never user text)."""
    args = list(inputs) + [f"F{k}" for k in range(gen.nf)] + [f"B{k}" for k in range(gen.nb)]
    body = "\n".join("    " + ln for ln in gen.lines) or "    pass"
    src = f"def {name}({', '.join(args)}):\n{body}\n"
    return src, _exec_source(src, name, label, gen.consts)


def _exec_source(src, name, label, consts):
    """The function ``name`` defined by ``src``, compiled in :data:`_NS` plus
    ``consts`` (a chain's constants and helpers). Generated chains and the
    prebuilt kernels' stored chains (:mod:`.prebuilt`) both go through here."""
    ns = dict(_NS)
    ns.update(consts)
    exec(compile(src, f"<symact {label} {name}>", "exec"), ns)
    return ns[name]


def _hoist_rows(expr, row_syms):
    """expr with its maximal subtrees in ``row_syms`` alone replaced by dummies:
    (expr', {dummy: subtree}). Those are computed once per row, not per element;
    a reciprocal keeps its division (hoisting 1/(1 + Sm1) would round twice)."""
    reps: dict = {}

    def hoist(e):
        if e.is_Symbol or e.is_number:
            return e
        d = sp.Dummy(f"r{len(reps)}", real=True)
        reps[d] = e
        return d

    def walk(e):
        fs = e.free_symbols
        if isinstance(e, sp.Mul) and fs and not fs <= row_syms:
            rows = [a for a in e.args if a.free_symbols and a.free_symbols <= row_syms]
            rest = [walk(a) for a in e.args if a not in rows]
            num = sp.Mul(*[a for a in rows if not (isinstance(a, sp.Pow) and a.exp.is_negative)])
            den = sp.Mul(*[1 / a for a in rows if isinstance(a, sp.Pow) and a.exp.is_negative])
            return sp.Mul(*rest, hoist(num), sp.Pow(hoist(den), -1))
        if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp < 0 and fs and fs <= row_syms:
            return sp.Pow(hoist(e.base ** -e.exp), -1)
        if fs and fs <= row_syms:
            return hoist(e)
        if not e.args or not fs:
            return e
        return e.func(*[walk(a) for a in e.args])

    return walk(expr), reps


class _RowChain:
    """``fn(elems..., rows..., out)``: an in-place chain over (rows, n) blocks whose
    row-only subexpressions run once per row (``rows`` arrays are (rows, 1))."""

    def __init__(self, expr, elem_syms, row_syms, name):
        body, reps = _hoist_rows(expr, set(row_syms))
        self.row_fns = [sp.lambdify(row_syms, r, modules=[{"log1p": np.log1p, "expm1": np.expm1}, "numpy"])
                        for r in reps.values()]
        gen = _Gen(sp.Dummy(), dd=False)
        env = {s: (f"A{k}", False) for k, s in enumerate(elem_syms)}
        env.update({d: (f"R{k}", False) for k, d in enumerate(reps)})
        env.update({s: (f"S{k}", False) for k, s in enumerate(row_syms)})
        gen.block(body, "OUT", env)
        inputs = ([f"A{k}" for k in range(len(elem_syms))] + [f"R{k}" for k in range(len(reps))]
                  + [f"S{k}" for k in range(len(row_syms))] + ["OUT"])
        self.source, self.fn = _exec_gen(gen, name, inputs, "row kernel")
        self.nf, self.nb = gen.nf, gen.nb

    def __call__(self, elems, rows, out):
        shape = out.shape
        hoisted = [f(*rows) for f in self.row_fns]
        fb = [b.reshape(shape) for b in _row_bufs(out.size, 4, self.nf)] if self.nf else []
        bb = [b.reshape(shape) for b in _row_bufs(out.size, 0, self.nb, "vb")] if self.nb else []
        self.fn(*elems, *hoisted, *rows, out, *fb, *bb)
        return out

