"""Scalar kernels: one compiled chain per form, run in blocks, fixed up where rare.

:func:`build_scalar` takes an expression and its stabilized form
(:func:`symact.numeric.kernels.stable_expr`), lets :mod:`.selection` choose the
form to lower, compiles it (:mod:`.lowering`) in float64, long double and, where
measured good enough, float32, and finds the fix-ups. A :class:`ScalarKernel`
then runs over the flattened input in blocks of :data:`.runtime.CHUNK` elements
on the thread pool (:mod:`.runtime`), and fixes up rare elements only where
needed: per block, ``min``/``max`` (NaN-propagating) tell whether non-finite
inputs exist (they get the symbolic one-sided limits at +-inf, and NaN) and
which fix-up intervals overlap the block; the elements found are recomputed
once per :data:`FIX_GROUP` blocks:

* around the simple roots of a smooth expression where the float64 chain
  cancels (silu' at -1.2785, gelu' at -0.7518), as (x - r) q(x) with r in
  double-double and q a piecewise polynomial fitted in mpmath
  (:class:`symact.numeric.fitting.RootPoly`, disk-cached);
* elsewhere, in the *hot intervals* where the chain loses more than
  :data:`.selection.HOT_ULP` to the same chain in x87 long double, in long double.

float32 input runs the float32 chain when there is one, otherwise it is widened
block by block, computed in float64 and rounded once; other inputs (ints,
lists) give float64. Constant kernels (step', identity') are ``np.zeros`` plus
the non-finite fix-up, or one ``np.clip(x, c, c)`` pass. Outputs are plain
``np.empty`` arrays; pass ``out=`` to reuse a buffer.

A :class:`ScalarKernel` holds only what generating decided (the form as text,
the compiled chains, limits, intervals, polynomials, measured choices), so a
catalog activation's kernel is assembled from its prebuilt file
(:mod:`.prebuilt`) with the same fields and no SymPy work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symact.numeric.fitting import root_polys
from symact.numeric.kernels.helpers import _in_interval
from symact.numeric.kernels.lowering import _SCIPY_FUNCS, _Chain, _compile_chain
from symact.numeric.kernels.runtime import CHUNK, _hi, _hs, _parallel, _scratch, half_via_float64, real_input
from symact.numeric.kernels.selection import _choose_float32, _ld_intervals, choose_form
from symact.symbolic.forms import X, one_sided_limit

#: Blocks whose fix-ups are applied together: the long-double chain and the root
#: polynomials pay their per-call overhead once per group, while the gathered
#: elements and their scatter stay in cache (one pass over a whole thread range
#: would scatter across the full output).
FIX_GROUP = 8


def _is_rational_form(expr) -> bool:
    """A short form with no transcendental: its float32 chain is a candidate, and
    it needs no long-double chain."""
    return not any(isinstance(f, sp.Function) and not isinstance(f, (sp.Abs, sp.Max, sp.Min))
                   for f in expr.atoms(sp.Function)) and sp.count_ops(expr) <= 8


def _float_limit(expr, at):
    """The one-sided limit of ``expr`` at +-inf (``at``'s sign) as a float; NaN
    when there is none."""
    try:
        lim = one_sided_limit(expr, X, sp.oo if at > 0 else -sp.oo, "-" if at > 0 else "+")
    except Exception:
        return math.nan
    if lim == sp.oo:
        return math.inf
    if lim == -sp.oo:
        return -math.inf
    if lim.is_real is False or lim.has(sp.nan, sp.zoo, sp.AccumBounds):
        return math.nan
    return float(lim)


@dataclass
class ScalarKernel:
    """A generated scalar kernel; call it like ``kernel(x, out=None)``."""

    form: str               # the stabilized form that was lowered, as SymPy prints it
    constant: float | None  # the form's value when it is a number (step', identity')
    chain64: _Chain
    chain32: _Chain | None  # float32-native chain (rational forms, or measured: see _choose_float32)
    chain_ld: _Chain | None  # long double chain for measured fix-up intervals
    limits: tuple[float, float]
    fix_nonfinite: bool = True
    ld_intervals: list = field(default_factory=list)
    root_polys: list = field(default_factory=list)   # RootPoly fix-ups (simple roots)
    choices: list = field(default_factory=list)      # candidate forms, measured (see choose_form)
    float32: dict = field(default_factory=dict)      # how float32 input is computed, and why

    @property
    def source(self) -> str:
        return self.chain64.source

    def _block(self, x, out, cdt, pending, offset):
        """x: contiguous compute-dtype block (<= CHUNK); out: the result block.

        The chain runs here; the elements that need a fix-up are only *found*
        (range checks per block) and their global indices appended to ``pending``:
        :meth:`_fix` recomputes them once per :data:`FIX_GROUP` blocks, so the
        long-double chain and the root polynomials pay their per-call overhead
        once per group, not per block."""
        chain = self.chain32 if cdt == np.float32 else self.chain64
        n = x.shape[0]
        sc = _scratch(cdt)
        fl, bl = sc.f(chain.nf + 3), sc.b(chain.nb + 3)
        if x.dtype != cdt:                   # float32 input, float64 chain: widen here
            wide = fl[chain.nf + 2][:n]
            np.copyto(wide, x)
            x = wide
        tmp = fl[chain.nf + 1][:n]
        target = out if out.dtype == cdt else fl[chain.nf][:n]
        fb = [b[:n] for b in fl[:chain.nf]]
        bb = [b[:n] for b in bl[:chain.nb]]
        chain.fn(x, target, *fb, *bb)
        if target is not out:
            np.copyto(out, target, casting="unsafe")
        if self.fix_nonfinite or (cdt == np.float64 and (self.ld_intervals or self.root_polys)):
            lo, hi = x.min(), x.max()        # NaN propagates: then the range is unknown
            known = lo == lo and hi == hi
            mask, m2 = bl[chain.nb][:n], bl[chain.nb + 1][:n]
            if cdt == np.float64 and self.ld_intervals:
                hot = [iv for iv in self.ld_intervals if not known or (hi >= iv[0] and lo <= iv[1])]
                if hot:
                    idx = self._hot(x, hot, mask, m2, tmp)
                    if idx.size:
                        pending.setdefault("ld", []).append(idx + offset)
            if cdt == np.float64:
                for k, rp in enumerate(self.root_polys):
                    if not known or (hi >= rp.lo and lo <= rp.hi):
                        idx = np.flatnonzero(_in_interval(x, rp.lo, rp.hi, mask, tmp))
                        if idx.size:
                            pending.setdefault(k, []).append(idx + offset)
            if self.fix_nonfinite and not (known and -np.inf < lo and hi < np.inf):
                pending.setdefault("bad", []).append(np.flatnonzero(~np.isfinite(x)) + offset)

    @staticmethod
    def _hot(x, hot, mask, m2, tmp):
        """Indices of the elements of x in any of the hot intervals."""
        for k, (a, b) in enumerate(hot):
            dst = mask if k == 0 else m2
            if a == -np.inf:
                np.less_equal(x, b, out=dst)
            elif b == np.inf:
                np.greater_equal(x, a, out=dst)
            else:
                _in_interval(x, a, b, dst, tmp)
            if k:
                np.logical_or(mask, m2, out=mask)
        return np.flatnonzero(mask)

    def _fix(self, xc, res, pending):
        """Apply the fix-ups found by :meth:`_block`, in order: long double in the hot
        intervals, then the root polynomials, then +-inf (limits) and NaN."""
        # in pieces of CHUNK elements into thread-local buffers: larger temporaries
        # come from fresh mmap'd pages on every call
        if "ld" in pending:
            idx_all = np.concatenate(pending["ld"])
            for i in range(0, idx_all.shape[0], CHUNK):
                idx = idx_all[i:i + CHUNK]
                v = np.empty(idx.shape, np.longdouble)
                self.chain_ld.run(xc[idx].astype(np.longdouble), v, np.longdouble)
                res[idx] = v
        for k, rp in enumerate(self.root_polys):
            if k in pending:
                idx_all = np.concatenate(pending[k])
                for i in range(0, idx_all.shape[0], CHUNK):
                    idx = idx_all[i:i + CHUNK]
                    m = idx.shape[0]
                    xs = (np.take(xc, idx, out=_hs(np.float64, 12, m)) if xc.dtype == np.float64
                          else xc[idx].astype(np.float64))
                    res[idx] = rp(xs, _hs(np.float64, 13, m), _hs(np.float64, 14, m), _hi(1, m),
                                  _hs(np.float64, 10, m))
        if "bad" in pending:
            idx = np.concatenate(pending["bad"])
            xb = xc[idx]
            res[idx] = np.where(np.isnan(xb), np.nan, np.where(xb > 0, self.limits[1], self.limits[0]))

    def __call__(self, x, out=None, axis=-1):
        xa = real_input(x, out)
        if xa.dtype == np.float16:
            return half_via_float64(self, xa, out)
        if xa.dtype == np.float32:
            rdt = np.dtype(np.float32)
            cdt = np.dtype(np.float32) if self.chain32 is not None else np.dtype(np.float64)
        else:
            rdt = cdt = np.dtype(np.float64)
        if self.constant is not None:
            return self._constant(xa if xa.dtype.kind == "f" else xa.astype(np.float64), rdt, out)
        fresh = out is None
        if fresh:
            out = np.empty(xa.shape, rdt)
        elif out.shape != xa.shape:
            raise ValueError(f"out has shape {out.shape}, expected {xa.shape}")
        # float32 computed in float64 is widened block by block in the workers (a
        # whole-array astype was a serial pass plus 8 bytes an element of fresh pages)
        xc = np.ascontiguousarray(xa, dtype=np.float32 if xa.dtype == np.float32 else cdt).reshape(-1)
        # may_share_memory: bounds only, never the exact (worst-case exponential) overlap search
        direct = out.flags.c_contiguous and out.dtype == rdt and not np.may_share_memory(out, xc)
        if not direct:
            res, fresh = np.empty(xc.shape, rdt), True
        else:
            res = out.reshape(-1)
        self._run(xc, res, cdt, fresh)
        if not direct:
            np.copyto(out, res.reshape(xa.shape), casting="unsafe")
        return out

    def _constant(self, xa, rdt, out=None):
        """A constant kernel (step', identity'). c = 0: ``np.zeros`` (calloc: pages
        are mapped lazily) and one summation pass per range to find non-finite
        inputs, which get their limits/NaN. c != 0 with both limits c: one
        ``np.clip(x, c, c)`` pass (c, and NaN for NaN). Ranges run on the thread
        pool like the chains."""
        c = self.constant
        if out is not None:
            if out.shape != xa.shape:
                raise ValueError(f"out has shape {out.shape}, expected {xa.shape}")
            # out aliasing x: the fill would overwrite the inputs before their NaN and +-inf are read
            if not (out.flags.c_contiguous and out.dtype == rdt) or np.may_share_memory(out, xa):
                np.copyto(out, self._constant(xa, rdt), casting="unsafe")
                return out
        fresh = out is None
        if fresh:
            out = np.zeros(xa.shape, rdt) if c == 0 else np.empty(xa.shape, rdt)  # zeros: calloc, lazy pages
        flat, xf = out.reshape(-1), xa.reshape(-1)
        lo, hi = self.limits

        def fill(start, stop):
            if c != 0 and lo == c and hi == c:
                # one pass: clip(x, c, c) is c, and NaN for NaN (identity')
                np.clip(xf[start:stop], c, c, out=flat[start:stop])
                return
            if c != 0 or not fresh:
                flat[start:stop].fill(c)
            with np.errstate(all="ignore"):
                total = np.add.reduce(xf[start:stop], dtype=np.float64)
            if not math.isfinite(total):
                bad = np.flatnonzero(~np.isfinite(xf[start:stop])) + start
                xb = xf[bad]
                flat[bad] = np.where(np.isnan(xb), np.nan, np.where(xb > 0, hi, lo))

        _parallel(flat.shape[0], fill, flat if fresh and c != 0 else None)
        return out

    def _streaming(self, cdt, rdt) -> bool:
        """One ufunc pass and nothing to fix up (tanh, relu, hard_tanh, identity):
        blocks would only add overhead, the pass streams the whole range."""
        chain = self.chain32 if cdt == np.float32 else self.chain64
        return (chain is not None and chain.nf == 0 and chain.nb == 0 and chain.source.count("\n") == 2 and cdt == rdt
                and not self.fix_nonfinite and not self.ld_intervals and not self.root_polys)

    def _range(self, xc, res, cdt, start, stop):
        with np.errstate(all="ignore"):
            if xc.dtype == cdt and self._streaming(cdt, res.dtype):
                chain = self.chain32 if cdt == np.float32 else self.chain64
                chain.fn(xc[start:stop], res[start:stop])
                return
            pending: dict = {}
            for n, i in enumerate(range(start, stop, CHUNK), 1):
                j = min(i + CHUNK, stop)
                self._block(xc[i:j], res[i:j], cdt, pending, i)
                if pending and (n % FIX_GROUP == 0 or j == stop):
                    self._fix(xc, res, pending)
                    pending = {}

    def _run(self, xc, res, cdt, fresh=False):
        _parallel(xc.shape[0], lambda start, stop: self._range(xc, res, cdt, start, stop), res if fresh else None)


def build_scalar(expr: sp.Expr, stable: sp.Expr, name: str = "kernel") -> ScalarKernel:
    """Generate, choose by measured error, and probe one scalar kernel."""
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _build_scalar(expr, stable, name)


def _build_scalar(expr, stable, name):
    stable, dd_expit, choices = choose_form(expr, sp.piecewise_fold(stable), name)
    chain64 = _compile_chain(stable, dd=True, name=name, dd_expit=dd_expit)
    chain32 = _compile_chain(stable, dd=False, name=name + "_f32") if _is_rational_form(stable) else None
    has_scipy = stable.has(*_SCIPY_FUNCS)
    chain_ld = None if has_scipy or _is_rational_form(stable) else _compile_chain(stable, dd=False, name=name + "_ld", ld=True)
    lims = (_float_limit(expr, -1), _float_limit(expr, 1))
    k = ScalarKernel(str(stable), float(stable) if stable.is_number else None, chain64, chain32, chain_ld, lims)
    k.choices = choices
    if chain_ld is not None or has_scipy or not stable.is_number:
        # around simple roots where float64 cancels: (x - r) q(x), measured against the oracle
        # (rational forms too: x^20 + x cancels at its root -1, 12 ULP off before)
        k.root_polys = root_polys(expr, chain64)
    if chain_ld is not None:
        # long double elsewhere; a hot interval inside a root polynomial's range is covered
        # by it (and costs a fraction: Horner on the gathered elements, no long double)
        k.ld_intervals = [iv for iv in _ld_intervals(chain64, chain_ld)
                          if not any(rp.lo <= iv[0] and iv[1] <= rp.hi for rp in k.root_polys)]
    # does the chain already give the limits and NaN? then skip the fix-up
    probe = np.array([-np.inf, np.inf, np.nan])
    k.fix_nonfinite = False
    got = k(probe)
    want = np.array([lims[0], lims[1], np.nan])
    k.fix_nonfinite = not np.array_equal(got, want, equal_nan=True)
    if chain32 is not None or not (has_scipy or k.root_polys or k.ld_intervals):
        k.chain32, k.float32 = _choose_float32(k, stable, name, chain32)
        chain32 = k.chain32
    if chain32 is not None:
        got32 = k(probe.astype(np.float32))
        k.fix_nonfinite |= not np.array_equal(got32, want.astype(np.float32), equal_nan=True)
    return k


