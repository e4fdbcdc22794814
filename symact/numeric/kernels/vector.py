"""Vector kernels (softmax, log_softmax, softmin), lowered from the component form.

A definition whose sums are ``Sum(exp(-x_j))`` (softmin) is *mirrored*: its kernel is
the one of the definition with every ``x_j`` replaced by ``-x_j`` (a softmax-like
form), evaluated at ``-x`` (negation is exact); the Jacobian's chain factor is
in the mirrored derivative already (:func:`mirrored`).

``Sum(exp(x_j))`` becomes a row reduction; the general max-subtraction identity
``x_j = t_j + m`` (``m = max_j x_j``) is applied symbolically and ``m`` cancels;
``log(S)`` becomes ``log1p(S - 1)`` with ``S - 1`` summed without one maximal
element; ``t_j`` is carried in double-double. The forward pass runs over row
blocks of :data:`VEC_BLOCK` elements on the thread pool (:mod:`.runtime`).

Rows whose entries all lie in [-700, 700 - ln n] (the usual case) need no shift
inside exp: exp(x_j) has an exact argument, ``E_j = exp(x_j) / exp(m)`` and
``Sm1`` are folded into the generated row chain (:class:`.lowering._RowChain`:
row-only subexpressions run once per row), and t's low part is dropped where
that measures within :data:`LEAN_MAX_ULP` against the vector oracle on fixed
rows (:func:`symact.numeric.points.vector_selection_rows`; log_softmax; the
numbers are kept on ``kernel.choices``). The other rows are gathered per
thread range and take the shifted form, which reuses ``exp(t_j)(1 + t_lo)``
from the sum and calls exp only where its result is comfortably normal, the
underflow band being summed scaled by 2^128. Each row's form depends on that
row alone, so blocks and threads never change a result. Derivatives return the
Jacobian ``J[..., i, k] = d y_i / d x_k`` (its axes i, k in the row axis'
place). Finite rows of any spread get their limits: where x - m overflows (past
-max) or lies below -2^50, exp(x - m) is 0 and t's low part is dropped (NaN or
huge there), so softmax([9e307, -9e307]) is [1, 0], never NaN or -0.
Non-finite rows are evaluated as the oracle evaluates them
(:meth:`VectorKernel._compute`). A catalog activation's vector kernel
is assembled from its prebuilt file (:meth:`VectorKernel.from_parts`,
:mod:`.prebuilt`): the row chains' sources and the lambdified forms' printed
source, compiled with no SymPy work.
"""
from __future__ import annotations

import math
import operator
import os

import numpy as np
import sympy as sp

from symact.numeric.kernels.ddouble import _dd_const
from symact.numeric.kernels.helpers import _expit_np
from symact.numeric.kernels.lowering import _RowChain
from symact.numeric.kernels.runtime import (THREAD_MIN, _get_pool, _row_bufs, get_num_threads, half_via_float64,
                                           real_input, result_dtype_of)
from symact.numeric.points import digest, vector_selection_rows
from symact.numeric.ulp import floor_errors
from symact import primitives as rw
from symact.symbolic.forms import XV, I, J, K, N

#: Elements per row block of the vector kernels. Their passes write into
#: thread-local scratch (:func:`.runtime._row_bufs`), so blocks can be large
#: enough that the Python-level calls per block stop mattering.
VEC_BLOCK = 1 << 17
#: Threads for the vector kernels' row blocks (0: the scalar kernels' count).
#: Blocks of 2^17 elements keep the GIL-held Python overhead small enough for
#: two threads to pay; much smaller blocks made two threads slower than one.
VECTOR_THREADS = int(os.environ.get("SYMACT_VECTOR_THREADS", "0"))
#: A vector kernel's unshifted form may drop t's low part when its max error on
#: the selection rows stays within this (half the accuracy floor).
LEAN_MAX_ULP = 2.0


def _vector_selection_reference(act) -> tuple[np.ndarray, np.ndarray]:
    """The vector oracle's correctly rounded values on
    :func:`symact.numeric.points.vector_selection_rows` (disk-cached)."""
    from symact import cache
    from symact.numeric.oracle import VectorOracle

    xs = vector_selection_rows()

    def compute():
        syms, comps = act.components(xs.shape[1])
        orc = VectorOracle(comps, syms)
        return np.array([orc.rounded(v) for v in xs])

    ref = cache.cached("kernel-vector-selection-ref", (sp.srepr(act.expr), digest(xs)), compute)
    return xs, ref


#: exp(t) is computed directly only for t >= this (results >= 1e-304: NumPy's
#: exp takes a slow path for arguments near and past underflow, even at -708.39).
_EXP_SAFE = -700.0
_BELOW_SAFE = float(np.nextafter(_EXP_SAFE, -np.inf))
#: Rows whose max is at most this minus ln(n) cannot overflow the unshifted row sum.
_EXP_HI = 700.0
#: 128 ln 2 as a double-double, and 2^-128: exp(t) = exp(t + 128 ln 2) 2^-128.
_SCALE_LN, _SCALE_LN_LO = _dd_const(128 * sp.log(2))
_SCALE = 2.0 ** -128
#: Below this t = x - m, exp(t) is 0 and t's TwoSum error tl (NaN where x - m overflows
#: to -inf, up to ulp(t) / 2 otherwise) is dropped: from here down |tl| >= 1/8 is possible.
_TL_FAR = -2.0 ** 50


#: Names the lambdified forms call besides NumPy's (SymPy's printer writes the
#: primitives by name); a prebuilt kernel's stored source is compiled with them too.
LAMBDA_FUNCS = {"log1p": np.log1p, "expm1": np.expm1, "expit": _expit_np}

_NEG_SUM = sp.Sum(sp.exp(-XV[J]), (J, 1, N))


def mirrored(act) -> bool:
    """Whether ``act``'s kernel is that of its mirror image x -> -x, taken at -x
    (its sums are ``Sum(exp(-x_j))``, softmin's). Cheap: no derivative."""
    return bool(act.vector) and act.expr.has(_NEG_SUM)


def mirror(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every component ``x_j`` replaced by ``-x_j``."""
    return expr.replace(lambda a: isinstance(a, sp.Indexed) and a.base == XV, lambda a: -a)


class VectorKernel:
    """Softmax-like kernels from the component form, with max subtraction.

    ``VectorKernel(act, derivative)`` generates the kernel from ``act``'s
    SymPy form; :meth:`from_parts` assembles one from stored parts (a prebuilt
    kernel, :mod:`.prebuilt`), whose SymPy form (``stable``, ``symbols``) is then
    derived again only if asked for."""

    def __init__(self, act, derivative: bool):
        self.act = act
        self.derivative = derivative
        expr = act.derivative if derivative else act.expr
        self.negate = mirrored(act)
        if self.negate:
            expr = mirror(expr)
        S, T, TK, SM1, D = sp.symbols("S t_i t_k Sm1 delta", real=True)
        m = sp.Symbol("m", real=True)
        ssum = sp.Sum(sp.exp(XV[J]), (J, 1, N))
        e = expr.subs(ssum, S)
        if e.has(sp.Sum):
            raise NotImplementedError(f"{act.name}: only Sum(exp(x_j)) reductions are lowered")
        e = e.subs(sp.KroneckerDelta(I, K), D).subs({XV[I]: T + m, XV[K]: TK + m, S: sp.exp(m) * (1 + SM1)})
        e = sp.expand_log(sp.powsimp(sp.expand(e, power_exp=True)), force=True)
        e = sp.simplify(e)
        if e.has(m):
            raise NotImplementedError(f"{act.name}: max subtraction did not cancel")
        e = rw.stabilize(e)
        # exp(t) with t carried in double-double: exp(t_hi) (1 + t_lo)
        TL, TKL = sp.symbols("t_i_lo t_k_lo", real=True)
        e = e.replace(lambda a: isinstance(a, sp.exp), lambda a: a * (1 + a.args[0].subs({T: TL, TK: TKL}).diff(TL) * TL
                                                                   + a.args[0].diff(TK) * TKL) if a.args[0].has(T, TK) else a)
        e = e.subs(T, T + TL) if not e.has(sp.exp) else e
        # delta - e_k first (exact on the diagonal of the max element), then + Sm1 delta
        Q = sp.Symbol("q", real=True)
        e = e.subs(D - (1 + TKL) * sp.exp(TK), Q)
        self.stable = e
        self.form = str(e)
        syms = (T, TL, TK, TKL, SM1, D, Q)
        self.fn = sp.lambdify(syms, e, modules=[LAMBDA_FUNCS, "numpy"])
        self.symbols = syms
        # forward: exp(t_i) (1 + t_i_lo) is the E the row sum was made of -- reuse it
        E = sp.Symbol("E_i", positive=True)
        fwd = e.subs(sp.exp(T) * (1 + TL), E)
        self.fwd = self.fwd_safe = None
        self.choices: list[dict] = []
        if not fwd.free_symbols - {T, TL, SM1, E}:
            self.fwd = _RowChain(fwd, (T, TL, E), (SM1,), f"{act.name}_forward")
            # rows whose exp(x_j) are all normal and whose sum cannot overflow need
            # no shift inside exp: E = exp(x_i) / exp(m), exp(x_i) with an exact argument
            EX, EM = sp.Symbol("Ex_i", positive=True), sp.Symbol("Em", positive=True)
            self._choose_safe(act, fwd.subs(E, EX / EM), (T, TL, EX), (SM1, EM), TL)
        self.fwd_uses_e = fwd.has(E)

    @classmethod
    def from_parts(cls, act, derivative: bool, form: str, fn, fwd, fwd_safe, safe_uses_t, safe_uses_tl,
                   fwd_uses_e, choices) -> "VectorKernel":
        """A kernel from what generating it decided (:mod:`.prebuilt`): ``fn`` the
        lambdified form (shifted rows, Jacobians), ``fwd``/``fwd_safe`` the forward
        row chains (None for a derivative), the flags saying what they read, and
        the measured ``choices``. No SymPy work."""
        k = cls.__new__(cls)
        k.act, k.derivative, k.form, k.fn = act, derivative, form, fn
        k.fwd, k.fwd_safe, k.fwd_uses_e, k.choices = fwd, fwd_safe, fwd_uses_e, choices
        k.negate = mirrored(act)
        if safe_uses_t is not None:
            k.safe_uses_t, k.safe_uses_tl = safe_uses_t, safe_uses_tl
        return k

    def __getattr__(self, name):
        # a kernel from from_parts derives its SymPy form only when asked for it
        if name in ("stable", "symbols") and "act" in self.__dict__:
            built = VectorKernel(self.act, self.derivative)
            self.stable, self.symbols = built.stable, built.symbols
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _choose_safe(self, act, form, elems, rows, TL):
        """The unshifted form with t = x - m in double-double, or -- when its max
        error against the vector oracle on fixed rows stays within
        :data:`LEAN_MAX_ULP` -- with t rounded (t_lo = 0: five passes fewer).
        Both candidates' numbers stay on ``self.choices``."""
        full = _RowChain(form, elems, rows, f"{act.name}_forward_rows")
        cands = [(full, form)]
        if form.has(TL):
            lean = form.subs(TL, 0)
            cands.append((_RowChain(lean, elems, rows, f"{act.name}_forward_rows_lean"), lean))
        self.choices = []
        self.fwd_safe, self.safe_uses_t, self.safe_uses_tl = full, form.has(elems[0]) or form.has(TL), form.has(TL)
        if len(cands) == 1:
            return
        xs, ref = _vector_selection_reference(act)
        if self.negate:                                # the chains take the mirrored rows
            xs = -xs
        scored = []
        for chain, f in cands:
            self.fwd_safe, self.safe_uses_t, self.safe_uses_tl = chain, f.has(elems[0]) or f.has(TL), f.has(TL)
            got = np.empty_like(xs)
            with np.errstate(all="ignore"):
                left = self._forward_block(xs, got)
            assert left.size == 0, "selection rows must all take the unshifted form"
            err = floor_errors(got, ref)
            cost = len(chain.source.splitlines()) - 1 + (6 if f.has(TL) else 1 if f.has(elems[0]) else 0)
            scored.append((chain, f, float(err.mean()), float(err.max()), cost))
        ok = [s for s in scored if s[3] <= LEAN_MAX_ULP] or scored[:1]
        best = min(ok, key=lambda s: (s[4], s[2]))
        self.fwd_safe, self.safe_uses_t, self.safe_uses_tl = best[0], best[1].has(elems[0]) or best[1].has(TL), best[1].has(TL)
        for s in scored:
            why = ("chosen: " if s is best else "") + (f"cost {s[4]} passes, max {s[3]:.2f} ULP"
                                                       + ("" if s[3] <= LEAN_MAX_ULP else f" (> {LEAN_MAX_ULP})"))
            self.choices.append(dict(form=str(s[1]), mean_ulp=s[2], max_ulp=s[3], hot_width=0.0, cost=s[4],
                                     chosen=s is best, why=why))

    def __call__(self, x, out=None, axis=-1):
        xa = real_input(x, out)
        if xa.ndim == 0:
            raise ValueError(f"{self.act.name} takes rows along an axis: an array of at least one "
                             "dimension, not a 0-d input")
        try:
            ax = operator.index(axis)
        except TypeError:
            raise TypeError(f"axis must be an integer, not {type(axis).__name__}") from None
        if not -xa.ndim <= ax < xa.ndim:
            raise ValueError(f"axis {ax} is out of range for an array of {xa.ndim} dimension(s)")
        axis = ax % xa.ndim
        if xa.dtype == np.float16:
            return half_via_float64(self, xa, out, axis=axis)
        if self.negate:                                # softmin(x) = softmax(-x): exact
            # (integers and booleans widened first: unsigned negation wraps, bool has none)
            xa = np.negative(xa if xa.dtype.kind == "f" else xa.astype(np.float64))
        rdt = result_dtype_of(xa)
        n = xa.shape[axis]
        shape = xa.shape if not self.derivative else xa.shape[:axis] + (n, n) + xa.shape[axis + 1:]
        if out is not None and out.shape != shape:
            raise ValueError(f"out has shape {out.shape}, expected {shape}")
        if xa.size == 0:                               # no rows, or rows of no elements
            res = np.empty(shape, rdt)
            if out is None:
                return res
            return out
        if not self.derivative and self.fwd is not None:
            # float32 rows are widened block by block in the workers
            return self._forward(xa, np.moveaxis(np.asarray(xa, dtype=rdt), axis, -1), rdt, out, axis)
        xv = np.moveaxis(np.asarray(xa, dtype=np.float64), axis, -1)
        with np.errstate(all="ignore"):
            res = self._compute(xv)
        # the Jacobian's axes (i, k) take the row axis' place
        res = np.moveaxis(res, -1, axis) if not self.derivative else np.moveaxis(res, (-2, -1), (axis, axis + 1))
        if out is None:
            return np.ascontiguousarray(res, dtype=rdt)
        np.copyto(out, res, casting="unsafe")
        return out

    def _forward(self, xa, xv, rdt, out, axis):
        """Rows in blocks over the thread pool, into ``out`` directly when it is a
        C-contiguous array of the result dtype along the last axis. Computed in
        float64 (float32 rows widened per block), written in the result dtype."""
        n = xv.shape[-1]
        rows = xv.reshape(-1, n)                         # copies only if xv is not row-contiguous
        if rows.dtype == np.float64 and not rows.flags.c_contiguous:
            # NumPy's exp is vectorized on contiguous data only, and its strided loop can
            # differ by an ULP (a reversed view of a row gave another bit than the row)
            rows = np.ascontiguousarray(rows)
        R = rows.shape[0]
        direct = (out is not None and out.dtype == rdt and out.flags.c_contiguous
                  and out.shape == xa.shape and axis == xa.ndim - 1
                  and not np.may_share_memory(out, rows))
        res = out.reshape(R, n) if direct else np.empty(rows.shape, rdt)
        step = max(1, VEC_BLOCK // max(n, 1))

        def run(r0, r1):
            with np.errstate(all="ignore"):
                left = [self._forward_block(rows[i:min(i + step, r1)], res[i:min(i + step, r1)]) + i
                        for i in range(r0, r1, step)]
                left = np.concatenate(left)
                # the rows the safe form could not take, gathered over the whole range:
                # one pass of the slow form per block of them, not a few rows per block
                for i in range(0, left.size, step):
                    ii = left[i:i + step]
                    sub = np.empty((ii.size, n))
                    self._slow_rows(rows[ii].astype(np.float64), sub)
                    res[ii] = sub

        threads = get_num_threads()
        nt = min(threads, VECTOR_THREADS or threads)
        if rows.size >= THREAD_MIN and nt > 1 and R > 1:
            per = -(-R // nt)
            starts = list(range(0, R, per))
            futs = [_get_pool().submit(run, s0, min(s0 + per, R)) for s0 in starts[:-1]]
            run(starts[-1], R)
            for f in futs:
                f.result()
        else:
            run(0, R)
        if direct:
            return out
        res = np.moveaxis(res.reshape(xv.shape), -1, axis)
        if out is None:
            return res if res.flags.c_contiguous else np.ascontiguousarray(res)
        np.copyto(out, res, casting="unsafe")
        return out

    def _forward_block(self, x, out) -> np.ndarray:
        """Forward pass over a (rows, n) block; returns the rows left to :meth:`_slow_rows`.

        Rows whose entries all lie in [_EXP_SAFE, _EXP_HI - ln n] (the usual case)
        take :meth:`_safe_rows`: exp(x) with exact arguments, no shift. The others
        (NaN and infinities included) are returned for the caller to gather; a
        block of nothing but them takes :meth:`_slow_rows` whole. Each row's form
        depends on the row alone, so blocks and threads never change a bit of
        the result. argmax/argmin are NumPy's fast reductions (max along rows is
        slower).
        """
        R, n = x.shape
        if x.dtype != np.float64:
            wide = _row_bufs(R * n, 12, 1)[0].reshape(R, n)
            np.copyto(wide, x)
            x = wide
        r = np.arange(R)
        top = x.argmax(axis=-1)                        # NaN rows: argmax finds the NaN
        m = x[r, top]
        lo = x[r, x.argmin(axis=-1)]
        unsafe = np.flatnonzero(~((lo >= _EXP_SAFE) & (m <= _EXP_HI - math.log(n))))
        if unsafe.size == R:
            self._slow_rows(x, out)
            return unsafe[:0]
        self._safe_rows(x, out, r, top, m)
        return unsafe

    def _slow_rows(self, x, out):
        """Rows with a non-finite maximum by :meth:`_compute`, the rest by :meth:`_shifted_rows`."""
        R, n = x.shape
        top = x.argmax(axis=-1)
        m = x[np.arange(R), top]
        fin = np.isfinite(m)
        if not fin.all():
            bad = np.flatnonzero(~fin)
            out[bad] = self._compute(x[bad])
            ok = np.flatnonzero(fin)
            if ok.size:
                sub = np.empty((ok.size, n))
                self._slow_rows(x[ok], sub)
                out[ok] = sub
            return
        lo = x[np.arange(R), x.argmin(axis=-1)]
        self._shifted_rows(x, out, np.arange(R), top, m, lo)

    def _safe_rows(self, x, out, r, top, m):
        """exp(x_j) unshifted (exact arguments, all normal): Sm1 = the row sum without
        one maximal element, divided by exp(m); E_i = exp(x_i) / exp(m) is folded
        into the generated row chain (softmax: exp(x_i) / (exp(m) (1 + Sm1)))."""
        R, n = x.shape
        buf = _row_bufs(R * n)
        ex = buf[0].reshape(R, n)
        np.exp(x, out=ex)
        em = ex[r, top]
        ex[r, top] = 0.0
        sm1 = ex.sum(axis=-1)
        sm1 /= em
        ex[r, top] = em
        t = tl = None
        if self.safe_uses_tl:
            t, tl = self._two_diff(x, m[:, None], buf[1].reshape(R, n), buf[2].reshape(R, n),
                                   buf[3].reshape(R, n))
        elif self.safe_uses_t:
            t = np.subtract(x, m[:, None], out=buf[1].reshape(R, n))
        self.fwd_safe((t, tl, ex), (sm1[:, None], em[:, None]), out)

    @staticmethod
    def _two_diff(x, m, t, tl, bb):
        """t + tl = x - m exactly (Knuth's TwoSum), into ``t`` and ``tl``."""
        np.subtract(x, m, out=t)
        np.subtract(t, x, out=bb)
        np.subtract(t, bb, out=tl)
        np.subtract(x, tl, out=tl)
        np.add(bb, m, out=bb)
        np.subtract(tl, bb, out=tl)
        return t, tl

    def _shifted_rows(self, x, out, r, top, m, lo):
        """t = x - m with its TwoSum error tl; e = exp(t) (1 + tl); Sm1 = the row sum
        of e with one maximal element (e = 1 exactly) zeroed, so Sm1 keeps its own
        low bits (no 1 + tiny rounding)."""
        R, n = x.shape
        buf = _row_bufs(R * n)
        t, tl, e, w = (b.reshape(R, n) for b in buf[:4])
        self._two_diff(x, m[:, None], t, tl, e)
        if (lo - m < _TL_FAR).any():
            # x = -inf, or x - m past -2^50 (overflowing to -inf past -max): exp(t) is 0
            # there, and tl is NaN (-inf - -inf) or up to ulp(t) / 2 (huge): 1 + tl
            # must not make exp(t) (1 + tl) NaN or -0
            np.putmask(tl, t < _TL_FAR, 0.0)
        # exp only where its result is comfortably normal: libm's exp takes a slow
        # path near and past underflow, many times slower than its normal one --
        # masked attention (-1e9 logits) and rows with one large entry hit it
        np.clip(t, _EXP_SAFE, 0.0, out=e)
        np.exp(e, out=e)
        np.multiply(e, tl, out=w)
        e += w                                         # exp(t) (1 + tl)
        e[r, top] = 0.0
        band = self._underflow(t, tl, e) if (lo - m < _EXP_SAFE).any() else 0.0
        sm1 = e.sum(axis=-1, keepdims=True)
        sm1 += band
        if self.fwd_uses_e:
            e[r, top] = 1.0
        self.fwd((t, tl, e), (sm1,), out)

    def _underflow(self, t, tl, e):
        """Row sums of exp(t) (1 + tl) over the underflow band, for a block whose e
        holds exp(max(t, _EXP_SAFE)) (1 + tl): e is zeroed where t < _EXP_SAFE;
        when the chain uses e (softmax) e takes the band's values and 0 is
        returned (its row sum is at least 1, so it takes them at full precision).

        exp(t) for t in [_EXP_SAFE - 128 ln 2, _EXP_SAFE] is exp(t + 128 ln 2)
        2^-128, the band's row sums kept scaled (full precision when the rest of
        Sm1 is as small); below that range exp(t) < 2^-1137: 0 changes no result.
        Dense passes over scratch, no masked gathers (their temporaries are
        costly).
        """
        R, n = t.shape
        keep, ub, u, ul = (b.reshape(R, n) for b in _row_bufs(R * n, 8))
        np.greater_equal(t, _EXP_SAFE, out=keep)
        e *= keep
        np.clip(t, _EXP_SAFE - _SCALE_LN, _BELOW_SAFE, out=ub)  # t = _EXP_SAFE stays in e
        band = np.equal(ub, t, out=_row_bufs(R * n, 0, 1, "vb")[0].reshape(R, n))
        if not band.any():
            return 0.0
        np.add(ub, _SCALE_LN, out=u)                   # TwoSum: u + ul = t + tl + 128 ln 2
        np.subtract(u, ub, out=keep)                   # v
        np.subtract(u, keep, out=ul)
        np.subtract(ub, ul, out=ul)                    # ub - (u - v)
        np.subtract(_SCALE_LN, keep, out=keep)         # 128 ln 2 - v
        ul += keep
        ul += _SCALE_LN_LO
        ul += tl
        np.exp(u, out=u)
        np.multiply(u, ul, out=ul)
        u += ul                                        # exp(t + 128 ln 2) (1 + ...)
        u *= band
        if self.fwd_uses_e:                            # softmax: e_i / S, and S >= 1 (its sum takes them)
            u *= _SCALE
            e += u
            return 0.0
        part = u.sum(axis=-1, keepdims=True)           # log_softmax: log1p(Sm1) needs Sm1's low bits
        part *= _SCALE
        return part

    def _compute(self, xv):
        """Any rows (the reference path, and the Jacobians), x - m in double-double.

        Non-finite rows follow the oracle's literal evaluation, S = Sum(exp(x_j)): a
        row holding NaN, or only -inf, is NaN; a row holding +inf has S = +inf
        (t = x - m with m = +inf: -inf at the finite entries, NaN at the infinite
        ones, and Sm1 = +inf), so softmax is 0 at its finite entries and NaN at its
        +inf ones, log_softmax -inf and NaN. The Jacobian of a row whose maximum is
        not finite is NaN throughout."""
        n = xv.shape[-1]
        m = np.max(xv, axis=-1, keepdims=True)
        fin = np.isfinite(m)
        finite_m = np.where(fin, m, 0.0)
        th = xv - finite_m
        bb = th - xv
        tl = (xv - (th - bb)) - (finite_m + bb)       # TwoSum: th + tl = x - m exactly
        tl = np.where(np.isfinite(tl) & (th >= _TL_FAR), tl, 0.0)   # (see _shifted_rows)
        e = np.exp(th) * (1 + tl)
        top = th == 0
        e_rest = np.where(top, 0.0, e)
        sm1 = e_rest.sum(axis=-1, keepdims=True) + (top.sum(axis=-1, keepdims=True) - 1)
        if not self.derivative:
            pinf = m == np.inf
            if pinf.any():
                th = np.where(pinf, xv - np.inf, th)
                tl = np.where(pinf, 0.0, tl)
                sm1 = np.where(pinf, np.inf, sm1)
            r = self.fn(th, tl, th, tl, sm1, 1.0, 1.0 - e)
            return np.broadcast_to(r, xv.shape).astype(np.float64)
        eye = np.eye(n)
        q = eye - e[..., None, :]
        r = self.fn(th[..., :, None], tl[..., :, None], th[..., None, :], tl[..., None, :], sm1[..., None], eye, q)
        r = np.broadcast_to(r, xv.shape + (n,)).astype(np.float64)
        if not fin.all():
            r[np.broadcast_to(~fin[..., None], r.shape)] = np.nan
        return r



# --------------------------------------------------------------------------- shaped vector kernels
#: Vector activations whose output does not keep the input's shape (or whose
#: definition is no Sum(exp) component form): the declared output length for
#: rows of length n, and what the axis becomes.
#:   glu        n -> n / 2  (a * sigmoid(b) with x = [a, b]; an odd n is a ValueError)
#:   logsumexp  n -> (axis removed)
#:   crelu      n -> 2 n    ([relu(x), relu(-x)])
#:   sparsemax  n -> n      (the Euclidean projection onto the simplex; piecewise linear)
SHAPED = {"glu": "half", "logsumexp": "reduce", "crelu": "double", "sparsemax": "same"}


def output_length(kind: str, n: int) -> int | None:
    """The output length along the axis for rows of length ``n`` (None: the axis is removed)."""
    if kind == "half":
        if n % 2:
            raise ValueError(f"glu splits the axis in half: its length must be even, got {n}")
        return n // 2
    return None if kind == "reduce" else 2 * n if kind == "double" else n


def _two_diff_np(x, m):
    """t + tl = x - m exactly (TwoSum); tl = 0 where it is not finite or x - m < -2^50."""
    with np.errstate(all="ignore"):
        t = x - m
        bb = t - x
        tl = (x - (t - bb)) - (m + bb)
        return t, np.where(np.isfinite(tl) & (t >= _TL_FAR), tl, 0.0)


def _sigmoid(b, derivative=False):
    from symact.model import catalog
    from symact.numeric.kernels import kernel_for

    return kernel_for(catalog.get("sigmoid"), derivative)(b)


def _softmax_rows(x):
    from symact.model import catalog
    from symact.numeric.kernels import kernel_for

    return kernel_for(catalog.get("softmax"))(x)


class ShapedKernel:
    """A hand-written vector kernel (:data:`SHAPED`): ``(x, out=None, axis=-1)``, computed in
    float64 (float32 rows widened, the result rounded once to the input's dtype).

    Forward outputs take the declared length along ``axis`` (logsumexp removes it);
    derivatives return the Jacobian ``J[..., i, k] = d y_i / d x_k`` with its axes
    (i over the outputs, k over the inputs) in the row axis' place, except
    logsumexp, whose derivative is its gradient (softmax, x's shape).

    * glu: y = a * sigmoid(b) from symact's sigmoid kernels; an odd length is a ValueError.
    * logsumexp: m + log1p(Sm1) with x - m in double-double and Sm1 the sum without one
      maximal element; rows holding NaN give NaN, holding +inf give +inf, of only -inf
      (or empty) give -inf (torch.logsumexp, jax.nn.logsumexp).
    * crelu: [relu(x), relu(-x)], exact; relu'(0) = 0.
    * sparsemax: x - m in double-double (TwoSum), the support from the sorted row's
      cumulative sums, tau over the support, y = max(t - tau, 0). A row holding NaN is
      NaN; -inf entries are 0 (their limit); one +inf entry takes all the mass (the
      limit), several give NaN there and 0 elsewhere; a row of only -inf is NaN. The
      Jacobian is diag(s) - s s^T / |S| with s the indicator of y > 0 (at a kink, where
      x_j equals the threshold, j counts outside the support: the one-sided derivative
      from that side); rows whose maximum is not finite have a NaN Jacobian.
    """

    def __init__(self, name: str, derivative: bool = False):
        if name not in SHAPED:
            raise KeyError(name)
        self.name, self.kind, self.derivative = name, SHAPED[name], derivative

    def output_shape(self, shape, axis: int = -1) -> tuple:
        shape = tuple(shape)
        axis %= len(shape)
        n = shape[axis]
        if self.kind == "reduce":
            return shape if self.derivative else shape[:axis] + shape[axis + 1:]
        m = output_length(self.kind, n)
        return shape[:axis] + ((m, n) if self.derivative else (m,)) + shape[axis + 1:]

    def __call__(self, x, out=None, axis=-1):
        xa = real_input(x, out)
        if xa.ndim == 0:
            raise ValueError(f"{self.name} takes rows along an axis: an array of at least one "
                             "dimension, not a 0-d input")
        try:
            ax = operator.index(axis)
        except TypeError:
            raise TypeError(f"axis must be an integer, not {type(axis).__name__}") from None
        if not -xa.ndim <= ax < xa.ndim:
            raise ValueError(f"axis {ax} is out of range for an array of {xa.ndim} dimension(s)")
        axis = ax % xa.ndim
        shape = self.output_shape(xa.shape, axis)
        if out is not None and out.shape != shape:
            raise ValueError(f"out has shape {out.shape}, expected {shape}")
        rdt = result_dtype_of(xa)
        rows = np.moveaxis(np.asarray(xa, dtype=np.float64), axis, -1)
        with np.errstate(all="ignore"):
            res = getattr(self, f"_{self.name}")(rows)
        if self.derivative and self.kind != "reduce":
            res = np.moveaxis(res, (-2, -1), (axis, axis + 1))
        elif self.kind != "reduce" or self.derivative:
            res = np.moveaxis(res, -1, axis)
        if out is None:
            return np.array(res, dtype=rdt, order="C")          # 0-d stays 0-d (logsumexp of one row)
        np.copyto(out, res, casting="unsafe")
        return out

    # ------------------------------------------------------------------ glu
    def _glu(self, x):
        h = output_length("half", x.shape[-1])
        a, b = x[..., :h], x[..., h:]
        if not self.derivative:
            return a * _sigmoid(b)
        jac = np.zeros(x.shape[:-1] + (h, 2 * h))
        idx = np.arange(h)
        jac[..., idx, idx] = _sigmoid(b)
        jac[..., idx, h + idx] = a * _sigmoid(b, True)
        return jac

    # ------------------------------------------------------------------ crelu
    def _crelu(self, x):
        n = x.shape[-1]
        if not self.derivative:
            return np.concatenate([np.maximum(x, 0.0), np.maximum(-x, 0.0)], axis=-1)
        jac = np.zeros(x.shape[:-1] + (2 * n, n))
        idx = np.arange(n)
        nan = np.where(np.isnan(x), np.nan, 0.0)
        jac[..., idx, idx] = np.where(x > 0, 1.0, 0.0) + nan
        jac[..., n + idx, idx] = np.where(x < 0, -1.0, 0.0) + nan
        return jac

    # ------------------------------------------------------------------ logsumexp
    def _logsumexp(self, x):
        if self.derivative:
            if x.shape[-1] == 0:
                return np.empty(x.shape)
            return _softmax_rows(x)
        if x.shape[-1] == 0:
            return np.full(x.shape[:-1], -np.inf)
        m = np.max(x, axis=-1, keepdims=True)          # NaN rows: NaN
        fin = np.isfinite(m)
        mf = np.where(fin, m, 0.0)
        t, tl = _two_diff_np(x, mf)
        e = np.exp(t) * (1 + tl)
        top = t == 0
        sm1 = np.where(top, 0.0, e).sum(axis=-1, keepdims=True) + (top.sum(axis=-1, keepdims=True) - 1)
        res = mf + np.log1p(sm1)
        res = np.where(fin, res, m)                    # +inf, -inf (all -inf), NaN: the max itself
        return res[..., 0]

    # ------------------------------------------------------------------ sparsemax
    def _sparsemax(self, x):
        n = x.shape[-1]
        if n == 0:
            return np.empty(x.shape[:-1] + ((0, 0) if self.derivative else (0,)))
        m = np.max(x, axis=-1, keepdims=True)
        fin = np.isfinite(m)
        mf = np.where(fin, m, 0.0)
        t, tl = _two_diff_np(x, mf)                    # t in (-inf, 0]; -inf entries stay -inf
        z = -np.sort(-t, axis=-1)                      # descending
        cs = np.cumsum(np.where(np.isfinite(z), z, 0.0), axis=-1)
        k = np.arange(1, n + 1)
        cand = (1 + k * z) > cs                        # k in the support of the sorted row
        ks = np.maximum(cand.sum(axis=-1, keepdims=True), 1)   # the support is a prefix
        # tau over the support, in t's double-double: the support's t lie in (-1, 0]
        sel = t >= np.take_along_axis(z, ks - 1, axis=-1)
        ssum = np.where(sel, t, 0.0).sum(axis=-1, keepdims=True) + np.where(sel, tl, 0.0).sum(axis=-1, keepdims=True)
        cnt = sel.sum(axis=-1, keepdims=True)          # ties at the k-th value join (they are equal)
        tau = (ssum - 1) / cnt
        y = np.maximum((t - tau) + tl, 0.0)
        s = y > 0
        if self.derivative:
            sf = s.astype(np.float64)
            size = np.maximum(sf.sum(axis=-1), 1)[..., None, None]
            # (k delta_ij - s_j) / k: one rounding per entry, 0 (not -0) off the support
            jac = np.where(s[..., :, None], (np.eye(n) * size - sf[..., None, :]) / size, 0.0)
            bad = ~fin[..., 0]
            jac[bad] = np.nan
            return jac
        # non-finite maxima: NaN rows stay NaN; +inf: the infinite entries share the mass
        pinf = (m == np.inf)[..., 0]
        if pinf.any():
            at = x[pinf] == np.inf
            one = at.sum(axis=-1, keepdims=True) == 1
            y[pinf] = np.where(at, np.where(one, 1.0, np.nan), 0.0)
        nanrow = np.isnan(m)[..., 0]
        y[nanrow] = np.nan
        ninf = (m == -np.inf)[..., 0]                  # only -inf: no finite entry
        y[ninf] = np.nan
        return y
