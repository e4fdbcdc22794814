r"""NumPy kernels generated from the catalog's symbolic forms.

``kernel_for(act, derivative)`` returns a callable ``(x, out=None, axis=-1)``.
Nothing here is written per activation; every kernel is produced from
``act.expr`` / ``act.derivative`` by the same pipeline:

1. **Stabilize** (:mod:`symact.symbolic.rewrite`): textbook forms become stable
   primitives (expit, softplus, expm1, erfc, sech2, ...). Smooth derivatives are
   taken from the stabilized function with the primitives' own ``fdiff``;
   Piecewise derivatives (with the catalog's kink conventions) are stabilized
   branch by branch, so conventions match ``act.derivative`` exactly.
2. **Choose a form** by measurement. Candidates: the stable form, its
   ``factor_terms``/``expand``, and -- when every transcendental is exp (or a
   primitive built on it) of an integer multiple of x -- *exp-rational* forms
   (:func:`exp_rational`): with e = exp(-|x|) computed once, each sign branch is
   one rational function of (e, x) over a common denominator (``cancel``;
   factored or Horner). That needs one exp for all primitives and removes the
   cancellation between terms that carry their own exp (silu', mish'); sign
   branches over one denominator merge into one chain (:func:`_merge_branches`).
   Each candidate is compiled and measured against the mpmath oracle on fixed
   points (references disk-cached); the cheapest one whose hot intervals
   (below) total < 1 unit of x wins. The candidates' numbers and the reason
   stay on the kernel (``kernel.choices``, :func:`describe`,
   ``symact show NAME --kernels``).
3. **Lower** to straight-line Python source of in-place ufunc calls
   (``np.exp(a, out=F0)``) after ``sympy.cse``; scratch buffers come from a
   small register allocator. No masked copies (``copyto(where=)`` costs
   ~4.5 ns/element on random masks): Max/Min with constant bounds become one
   ``np.clip``; an interval Piecewise is ``sum_k g_k(clip_k(x)) [x in I_k]``
   -- each branch on x clipped into its interval (exp never overflows, no
   warning), blended by 0/1 indicators (exact: one term is the value, the
   others +-0; NaN propagates); pieces that vanish at their shared boundaries
   (elu, leaky_relu) need no indicator, constant pieces only a float
   indicator ceil(clip(x - a, 0, 1)), which keeps NaN.
   Transcendentals whose argument is a polynomial in x that cannot be formed
   exactly get it in double-double: erfc(c x) with c^2 a power of two (gelu)
   is erfcx(|c| |x|) exp(-c^2 x^2) with erfcx from a table fitted in mpmath as
   a function of |x| and x^2 exact (:func:`_erfc_lin`, :class:`ErfcxTable`;
   no scipy call); exp(a x^2) with a a power of two uses exact x^2
   (:func:`_exp_sq`). Helpers write into thread-local buffers, never large
   temporaries (glibc maps those afresh on every call). The
   source (symact's own, built from SymPy trees, never from user strings) is
   compiled once with ``compile``/``exec``.
4. **Run** over the flattened input in blocks of :data:`CHUNK` elements (every
   pass stays in L2) with per-thread scratch buffers shared by all kernels;
   arrays of at least :data:`THREAD_MIN` elements are split into one
   contiguous range per thread (NumPy ufuncs release the GIL; the calling
   thread takes the last range). Threads: ``os.cpu_count()``, overridable with
   :func:`set_num_threads` or ``SYMACT_THREADS``. Outputs are plain
   ``np.empty`` arrays; when threads fill a fresh one, only the calling thread
   maps its pages, a segment at a time, while the others compute (see
   :func:`_parallel`); pass ``out=`` to reuse a buffer.
5. **Fix up rare elements** only where needed: per block, ``min``/``max``
   (NaN-propagating) tell whether non-finite inputs exist (then they get the
   symbolic one-sided limits at +-inf and NaN) and which fix-up intervals
   overlap the block; the elements found are recomputed once per
   :data:`FIX_GROUP` blocks. Around the simple roots of a smooth expression,
   where the float64 chain loses more than 3 ULP against the mpmath oracle
   (silu' at -1.2785, gelu' at -0.7518), elements are recomputed as
   (x - r) q(x) with r in double-double and q a piecewise polynomial fitted in
   mpmath at build time (:class:`RootPoly`, :func:`root_polys`, disk-cached).
   Elsewhere, *hot intervals* -- where the chain loses more than 3 ULP against
   the same chain in x87 long double -- are recomputed in long double.

float32 inputs run a float32 chain where that chain measures within
:data:`F32_MAX_ULP` of the float64 kernel on fixed float32 points
(:func:`_choose_float32`; ``kernel.float32`` says which and why), otherwise they
are widened block by block, computed in float64 and rounded once. Other inputs
(ints, lists) give float64. Constant kernels (step',
identity') are ``np.zeros`` plus the non-finite fix-up, or one
``np.clip(x, c, c)`` pass. Kernels
are cached per (definition, parameter values, derivative flag).

Vector activations (softmax, log_softmax) are lowered from their component
form: ``Sum(exp(x_j))`` becomes a reduction, the general max-subtraction
identity ``x_j = t_j + m`` (``m = max_j x_j``) is applied symbolically and ``m``
cancels, ``log(S)`` becomes ``log1p(S - 1)`` with ``S - 1`` summed without one
maximal element, and ``t_j`` is carried in double-double. The forward pass runs
over row blocks of :data:`VEC_BLOCK` elements on the thread pool. Rows whose
entries all lie in [-700, 700 - ln n] (the usual case) need no shift inside exp:
exp(x_j) has an exact argument, ``E_j = exp(x_j) / exp(m)`` and ``Sm1`` are folded
into the generated row chain (:class:`_RowChain`: row-only subexpressions run once
per row), and t's low part is dropped where that measures within
:data:`LEAN_MAX_ULP` against the vector oracle (log_softmax; recorded on
``kernel.choices``). The other rows are gathered per thread range and take the
shifted form, which reuses ``exp(t_j)(1 + t_lo)`` from the sum and calls exp only
where its result is comfortably normal, the underflow band being summed scaled
by 2^128. Each row's form depends on that row alone, so blocks and threads never
change a result. Derivatives return the Jacobian ``J[..., i, k] = d y_i / d x_k``.
"""
from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.special as _sc
import sympy as sp

from symact.symbolic import rewrite as rw
from symact.symbolic.forms import XV, I, J, K, N, X, one_sided_limit

#: Elements per chunk. Each block costs ~10 Python-level NumPy calls that hold
#: the GIL, so two threads serialize on them; 2^17 (1 MB of float64 per buffer,
#: spilling from L2 to L3) measured 10-40 % faster than 2^15 on this 2-vCPU VM
#: for the short chains (softsign 0.93 -> 0.52 ns/element into out=).
CHUNK = 1 << 17
#: Blocks whose fix-ups are applied together: the long-double chain and the root
#: polynomials pay their per-call overhead once per group, while the gathered
#: elements and their scatter stay in cache (one pass over the whole thread range
#: scattered into 80 MB at ~10 ns an element).
FIX_GROUP = 8
#: Elements per row block of the vector kernels. Their passes write into
#: thread-local scratch (:func:`_row_bufs`), so blocks can be large enough that
#: the ~15 Python-level calls per block stop mattering (2^14: 6.7 ns/element for
#: log_softmax, 2^17: 2.4, two threads).
VEC_BLOCK = 1 << 17
#: Threads for the vector kernels' row blocks (0: the scalar kernels' count).
#: Blocks of 2^17 elements keep the GIL-held Python overhead small enough for
#: two threads to pay (1.7x here); at 2^14 they were slower than one.
VECTOR_THREADS = int(os.environ.get("SYMACT_VECTOR_THREADS", "0"))
#: Row blocks up to this many elements use thread-local scratch buffers.
VEC_SCRATCH_MAX = 1 << 20
#: Arrays at least this long are split over threads.
THREAD_MIN = 1 << 18

_num_threads = int(os.environ.get("SYMACT_THREADS", "0")) or (os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def set_num_threads(n: int | None) -> None:
    """Threads for large arrays (None: ``os.cpu_count()``; 1: no threads)."""
    global _num_threads, _pool
    with _pool_lock:
        _num_threads = max(1, int(n or os.cpu_count() or 1))
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def get_num_threads() -> int:
    return _num_threads


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_num_threads, thread_name_prefix="symact")
        return _pool


# --------------------------------------------------------------------------- runtime helpers
_SPLIT = 134217729.0  # 2^27 + 1, Dekker's splitter for float64


def _two_prod(a, b):
    """p, e with p + e == a*b exactly (Dekker, no FMA); arrays or scalars."""
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


#: Helpers that allocate temporaries work in pieces of this many elements:
#: glibc serves blocks >= 128 KiB with mmap, so larger temporaries page-fault
#: on every call (measured: softmax 11.5 -> 38 ns/element at 256 KiB blocks).
SUB = 1 << 15
#: :func:`_erfc_lin` allocates nothing (thread-local scratch, gathers by index),
#: so its pieces can be larger: 2^16 measured best for gelu (9.6 ns/element
#: into out=, against 11.7 at 2^15 and 23 at 2^13: per-piece Python overhead).
SUB_NO_ALLOC = 1 << 16


def _pieces(fn, size=None):
    """Apply ``fn(*arrays, out)`` to slices of ``size`` (default :data:`SUB`)
    elements of equally long 1-d arrays."""
    def run(*args):
        sub = size or SUB
        n = args[0].shape[0]
        if n <= sub:
            return fn(*args)
        for i in range(0, n, sub):
            fn(*[a[i:i + sub] if isinstance(a, np.ndarray) and a.ndim == 1 and a.shape[0] == n else a
                 for a in args])
        return args[-1]
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _dd_poly_into(x, coeffs, hi, lo):
    """hi + lo = sum c_k x^k in double-double (coeffs [(hi, lo)] from degree 0 up),
    Horner with Dekker products and TwoSum, every intermediate in thread-local
    scratch (allocating them made gelu_tanh's double-double argument cost more
    than the long-double fix-up it replaces)."""
    n, dt = x.shape[0], x.dtype
    p, e, t, ah, al, xh, xl = (_hs(dt, 20 + i, n) for i in range(7))
    np.multiply(x, _SPLIT, out=t)                     # x = xh + xl (Dekker's split)
    np.subtract(t, x, out=xh)
    np.subtract(t, xh, out=xh)
    np.subtract(x, xh, out=xl)
    hi.fill(coeffs[-1][0])
    lo.fill(coeffs[-1][1])
    for c_hi, c_lo in reversed(coeffs[:-1]):
        np.multiply(hi, x, out=p)                     # p + e = hi x exactly
        np.multiply(hi, _SPLIT, out=t)
        np.subtract(t, hi, out=ah)
        np.subtract(t, ah, out=ah)
        np.subtract(hi, ah, out=al)
        np.multiply(ah, xh, out=e)
        e -= p
        np.multiply(ah, xl, out=t)
        e += t
        np.multiply(al, xh, out=t)
        e += t
        np.multiply(al, xl, out=t)
        e += t
        np.multiply(lo, x, out=t)
        e += t                                        # + lo x
        if c_hi != 0.0:
            np.add(p, c_hi, out=t)                    # s = p + c_hi, TwoSum error into al
            np.subtract(t, p, out=ah)                 # bb
            np.subtract(t, ah, out=al)
            np.subtract(p, al, out=al)
            np.subtract(c_hi, ah, out=ah)
            al += ah
            e += al
            e += c_lo
            p, t = t, p
        np.add(p, e, out=hi)
        np.subtract(hi, p, out=lo)
        np.subtract(e, lo, out=lo)
    if not np.isfinite(lo).all():    # |x| so large that the splitting overflowed: plain evaluation
        bad = ~np.isfinite(lo)
        xb = x[bad]
        hi[bad] = sum(c * xb**k for k, (c, _) in enumerate(coeffs))
        lo[bad] = 0.0
    return lo


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _exp_minus_square(w):
    """exp(-w^2) with w^2 = p + e formed exactly (Dekker): exp(-p) (1 - e)."""
    p, e = _two_prod(w, w)
    np.negative(p, out=p)
    np.exp(p, out=p)
    np.subtract(1.0, e, out=e)
    return np.multiply(p, e, out=p)


def _erfc_dd(wh, wl, out):
    """erfc(wh + wl) to about an ULP; scipy is called only where it matters.

    * wh <= -6: 2 (erfc(-6) = 2 - 2e-17 rounds to 2); wh >= 27.5: 0 (underflow);
      NaN stays NaN -- one mask-free pass: ``2 [wh <= 0] + 0 wh``.
    * -6 < wh <= 1/2: erfc(wh) - (2/sqrt pi) exp(-wh^2) wl (first-order correction);
    * 1/2 < wh < 27.5: exp(-wh^2) (erfcx(wh) - (2/sqrt pi) wl) with wh^2 carried
      exactly, so the tail keeps its relative accuracy.

    The two middle sets are gathered with ``flatnonzero`` (scipy's erfc/erfcx
    cost 15-40 ns an element; the saturated tails then cost nothing).
    """
    with np.errstate(all="ignore"):
        m = np.less_equal(wh, 0.0)
        np.multiply(m, 2.0, out=out)
        out += wh * 0.0                                   # NaN in, NaN out
        sel = np.flatnonzero((wh > -6.0) & (wh <= 0.5))
        if sel.size:
            w, l = wh[sel], wl[sel]
            r = _sc.erfc(w)
            r -= _TWO_OVER_SQRT_PI * _exp_minus_square(w) * l
            out[sel] = r
        sel = np.flatnonzero((wh > 0.5) & (wh < 27.5))
        if sel.size:
            w, l = wh[sel], wl[sel]
            r = _sc.erfcx(w)
            r -= _TWO_OVER_SQRT_PI * l                    # erfc(w + l) = exp(-w^2) (erfcx(w) - 2l/sqrt pi)
            out[sel] = r * _exp_minus_square(w)
    return out


def _square_dd(x, p=None, e=None, t=None, u=None):
    """x^2 = p + e exactly (|x| < 2^995); p, e, t, u: optional buffers like x."""
    p = np.multiply(x, x, out=p)
    t = np.multiply(x, _SPLIT, out=t)
    e = np.subtract(t, x, out=e)
    np.subtract(t, e, out=t)               # xh
    u = np.subtract(x, t, out=u)           # xl
    np.multiply(t, t, out=e)
    e -= p                                 # xh^2 - p
    t *= 2.0
    t *= u                                 # 2 xh xl
    e += t
    u *= u
    e += u
    return p, e


_hls = threading.local()


def _helper_buf(kind, dtype, k, n) -> np.ndarray:
    """Thread-local scratch buffer ``k`` of ``dtype`` for the helpers, viewed as [:n].

    Helpers run on blocks of up to CHUNK elements; allocating their temporaries
    instead costs erratic page faults (glibc serves blocks over its mmap
    threshold with fresh pages: a 20000-element temporary measured 17 ns/element
    against 2 for 32768), so they write into buffers that live with the thread."""
    d = getattr(_hls, "bufs", None)
    if d is None:
        d = _hls.bufs = {}
    key = (kind, np.dtype(dtype).str, k)
    b = d.get(key)
    if b is None or b.shape[0] < n:
        b = d[key] = np.empty(max(n, CHUNK), dtype)
    return b[:n]


def _hs(dtype, k, n):
    return _helper_buf("f", dtype, k, n)


def _hb(k, n):
    return _helper_buf("b", np.bool_, k, n)


def _hi(k, n):
    return _helper_buf("i", np.intp, k, n)


def _exp_sq(x, a, out):
    """exp(a x^2) for a power of two a: exp(a p) + exp(a p) a e with x^2 = p + e exact.

    |x| is capped at 2^500 (x^2 is then far past exp's overflow/underflow)."""
    n = x.shape[0]
    dt = x.dtype
    with np.errstate(all="ignore"):
        xc = np.clip(x, -2.0**500, 2.0**500, out=_hs(dt, 0, n))
        p, e = _square_dd(xc, _hs(dt, 1, n), _hs(dt, 2, n), _hs(dt, 3, n), _hs(dt, 4, n))
        np.multiply(p, a, out=p)
        np.exp(p, out=out)
        e *= a
        e *= out
        out += e                          # exp(a p) + exp(a p) a e: one rounding
    return out


def _erfc_lin(x, c, c2, table, out):
    """erfc(c x) for a constant c with c^2 a power of two (gelu's -x/sqrt 2).

    Mask-free first: 2 where c x <= 0 and 0 elsewhere, NaN kept -- the
    saturated tails (erfc(-6) rounds to 2; erfc(27.3) underflows). Then only
    the elements with -6 <= c x <= |c| table.hi (gathered by index: ``np.compress``
    and ``np.place`` on such a mask measured 5.4 and 2.4 ns an element, the
    flatnonzero / take / indexed store route 1.35):
    erfc(c x) = erfcx(|c| |x|) exp(-c^2 x^2), or 2 minus that where c x < 0.
    erfcx(|c| v) comes from ``table`` (:class:`ErfcxTable`), a piecewise
    polynomial fitted to it *as a function of v = |x|* in mpmath, so c x is
    never rounded (erfc amplifies its argument's rounding by 2 (c x)^2);
    exp(-c^2 x^2) = exp(-c^2 p) - exp(-c^2 p) c^2 e with x^2 = p + e exact
    (Dekker), one rounding. scipy is not called: its erfc is 9-11 ULP off on
    [0.5, 4] and 490 at 26, its erfcx 5-7 ULP on [0, 2]. Temporaries are
    thread-local buffers (:func:`_helper_buf`).
    """
    n = x.shape[0]
    dt = x.dtype
    with np.errstate(all="ignore"):
        m = np.less_equal(x, 0.0, out=_hb(0, n)) if c > 0 else np.greater_equal(x, 0.0, out=_hb(0, n))
        np.multiply(m, 2.0, out=out)            # 2 where c x <= 0
        w = np.multiply(x, 0.0, out=_hs(dt, 0, n))
        out += w                                # NaN in, NaN out
        # c x in [-ERFC_TWO, a hi]: beyond, erfc(c x) is 2 or 0 (set above)
        reach = ERFC_TWO / table.a
        lo, hi = (-table.hi, reach) if c < 0 else (-reach, table.hi)
        sel = np.flatnonzero(_in_interval(x, lo, hi, _hb(1, n), _hs(dt, 1, n)))
        k = sel.shape[0]
        if k:
            xs = np.take(x, sel, out=_hs(dt, 2, k))
            vs = np.abs(xs, out=_hs(dt, 3, k))
            p, e = _square_dd(xs, _hs(dt, 4, k), _hs(dt, 5, k), _hs(dt, 6, k), _hs(dt, 7, k))
            big = np.multiply(p, -c2, out=p)
            np.exp(big, out=big)
            e *= -c2
            e *= big
            big += e                            # exp(-c^2 (p + e)), one rounding
            r = table(vs, _hs(dt, 8, k), _hs(dt, 9, k), _hi(0, k))
            r *= big
            neg = np.less(xs, 0.0, out=_hb(2, k)) if c > 0 else np.greater(xs, 0.0, out=_hb(2, k))
            sgn = np.multiply(neg, -2.0, out=e)
            sgn += 1.0                          # -1 where c x < 0, else 1
            r *= sgn
            sgn -= 1.0                          # -2 there, else 0
            r -= sgn                            # erfc(-u) = 2 - erfc(u): one rounding
            out[sel] = r
    return out


def _exp_dd(hi, lo, out):
    np.exp(hi, out=out)
    out *= 1.0 + lo
    return out


def _expit_dd(hi, lo, out, t, m):
    """expit(hi + lo) for |lo| <= ulp(hi): expit(hi) (1 + (1 - expit(hi)) lo),
    first order in lo (the next term is below lo^2)."""
    _expit(hi, out, t, m)
    np.subtract(1.0, out, out=t)
    t *= out
    t *= lo
    out += t
    return out


def _expit(a, out, t, m):
    """1/(1+e^-a) sign split on e = exp(-|a|), mask-free: numerator max(e, [a >= 0])."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.add(t, 1.0, out=out)
    np.greater_equal(a, 0.0, out=m)
    np.maximum(t, m, out=t)               # 1 (a >= 0) or e (a < 0); NaN stays NaN
    np.divide(t, out, out=out)
    return out


def _softplus(a, out, t, m):
    """max(a, 0) + log1p(exp(-|a|))."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    np.clip(a, 0.0, np.inf, out=out)      # max(a, 0): clip is the fast scalar form
    np.add(out, t, out=out)
    return out


def _tanh_softplus(a, out, t, t2, m):
    """tanh(log(1+e^a)) = n/(n+2), n = e(e+2), e = exp(min(a, 40)).

    From a = 40 on the value rounds to 1 in float64 (2/(n+2) < 2^-110), so the
    clip changes nothing and e never overflows; for a -> -inf n/(n+2) -> 2e.
    """
    np.clip(a, -np.inf, 40.0, out=t)
    np.exp(t, out=t)
    np.add(t, 2.0, out=out)
    np.multiply(t, out, out=t)            # n
    np.add(t, 2.0, out=out)
    np.divide(t, out, out=out)
    return out


def _sech2_softplus(a, out, t, t2, m):
    """1 - tanh(softplus(a))^2 = 4 A w / (A + w)^2, A = (1+E)^2, E = exp(-|a|),
    w = max(E^2, [a <= 0]) (1 for a <= 0, E^2 for a > 0): mask-free, no overflow."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)                      # E
    np.add(t, 1.0, out=t2)
    np.square(t2, out=t2)                 # A
    np.square(t, out=t)
    np.less_equal(a, 0.0, out=m)
    np.maximum(t, m, out=t)               # w
    np.add(t2, t, out=out)
    np.square(out, out=out)               # (A + w)^2
    np.multiply(t2, t, out=t2)
    np.multiply(t2, 4.0, out=t2)
    np.divide(t2, out, out=out)
    return out


def _sech2(a, out, t, m):
    """1 - tanh(a)^2 = 4e/(1+e)^2, e = exp(-2|a|)."""
    np.abs(a, out=t)
    np.multiply(t, -2.0, out=t)
    np.exp(t, out=t)
    np.add(t, 1.0, out=out)
    np.square(out, out=out)
    np.divide(t, out, out=out)
    np.multiply(out, 4.0, out=out)
    return out


def _exp_neg_abs(a, out):
    np.abs(a, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    return out


def _erfc_plain(a, out):
    wl = np.zeros_like(a)
    return _erfc_dd(np.asarray(a, dtype=np.float64), wl, out)


# name -> (helper, number of float scratch buffers, number of bool scratch buffers)
_HELPERS = {
    "expit": (_expit, 1, 1),
    "softplus": (_softplus, 1, 1),
    "tanh_softplus": (_tanh_softplus, 2, 1),
    "sech2_softplus": (_sech2_softplus, 2, 1),
    "sech2": (_sech2, 1, 1),
    "exp_neg_abs": (_exp_neg_abs, 0, 0),
}
_UFUNCS = {
    sp.exp: "np.exp", sp.log: "np.log", sp.tanh: "np.tanh", sp.Abs: "np.abs",
    sp.sinh: "np.sinh", sp.cosh: "np.cosh", sp.atan: "np.arctan", sp.sin: "np.sin",
    sp.cos: "np.cos", sp.sign: "np.sign", sp.erf: "_sc.erf",
    rw.log1p: "np.log1p", rw.expm1: "np.expm1", rw.erfcx: "_sc.erfcx",
}
_SCIPY_FUNCS = (sp.erf, rw.erfc, rw.erfcx)


# --------------------------------------------------------------------------- code generation
def _dd_const(c) -> tuple[float, float]:
    v = sp.Float(sp.N(c, 60), 60)
    hi = float(v)
    return hi, float(v - sp.Float(hi, 60))


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


class _Gen:
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
            for t in e.free_symbols & set(uses):
                uses[t] -= 1
                if uses[t] == 0:
                    self.release(live[t])
        out = self.emit(red, target, env)
        for t in red.free_symbols & set(uses):
            uses[t] -= 1
            if uses[t] == 0 and not (isinstance(out, tuple) and out[0] == live[t][0] if isinstance(live[t], tuple) else False):
                self.release(live[t])
        return out

    def needs_dd(self, a) -> bool:
        kinds = (sp.exp, rw.erfc, rw.expit) if self.dd_expit else (sp.exp, rw.erfc)
        return (isinstance(a, kinds) and a.args[0].free_symbols == {self.x}
                and a.args[0].is_polynomial(self.x) and not _is_exact_arg(a.args[0], self.x))

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
        if isinstance(e, rw.erfc):
            return self.erfc(e, target, env)
        if isinstance(e, sp.exp) and self.dd and _sq_coeff(e.args[0], self.x) is not None:
            d = self.dst(target, [])
            self.lines.append(f"_exp_sq({self.xname}, {_sq_coeff(e.args[0], self.x)!r}, {d[0]})")
            return d
        if isinstance(e, sp.exp) and self.dd and not _is_exact_arg(e.args[0], self.x) and e.args[0].is_polynomial(self.x):
            hi, lo = self.dd_arg(e.args[0])
            d = self.dst(target, [])
            self.lines.append(f"_exp_dd({hi}, {lo}, {d[0]})")
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
            if name in _HELPERS:
                fn, nf, nb = _HELPERS[name]
                scratch_f = [self.fbuf() for _ in range(nf)]
                scratch_b = [self.bbuf() for _ in range(nb)]
                d = (target, False) if target is not None else (self.fbuf(), True)
                self.lines.append(f"_h_{name}({self.s(a)}, {d[0]}{''.join(', ' + b for b in scratch_f + scratch_b)})")
                self.consts[f"_h_{name}"] = fn
                for b in scratch_f + scratch_b:
                    self.release((b, True))
                self.release(a)
                return d
            fn = _UFUNCS.get(type(e))
            if fn is None:
                raise NotImplementedError(f"no NumPy lowering for {name}")
            if not isinstance(a, tuple):
                a = self.scalar_to(a, None)
            d = self.dst(target, [a])
            self.lines.append(f"{fn}({a[0]}, out={d[0]})")
            return d
        raise NotImplementedError(f"no NumPy lowering for {e}")

    @staticmethod
    def clip_form(e):
        """(inner, lo, hi) when e is Max(u, c), Min(u, c) or a nesting of them with
        constant bounds: one np.clip pass (np.maximum with a scalar is ~3x slower)."""
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
        elif self.dd and arg.is_polynomial(self.x) and not _is_exact_arg(arg, self.x):
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
        if len(ops) > 2 and not isinstance(ops[-1][1], tuple):
            ops.insert(1, ops.pop())  # scale early: x*t/6 overflows where x/6*t does not
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

    # conditions
    def cond(self, c) -> str:
        m = self.bbuf()
        s = c.as_set() if c.free_symbols == {self.x} else None
        if isinstance(s, sp.Interval):
            return self.interval_mask(s, m)
        if isinstance(c, (sp.And, sp.Or)):
            fn = "np.logical_and" if isinstance(c, sp.And) else "np.logical_or"
            first = self.cond(c.args[0])
            for a in c.args[1:]:
                t = self.cond(a)
                self.lines.append(f"{fn}({first}, {t}, out={first})")
                self.free_b.append(t)
            self.free_b.append(m)
            return first
        if isinstance(c, sp.Not):
            t = self.cond(c.args[0])
            self.lines.append(f"np.logical_not({t}, out={t})")
            self.free_b.append(m)
            return t
        if isinstance(c, sp.core.relational.Relational):
            fns = {"<": "np.less", "<=": "np.less_equal", ">": "np.greater", ">=": "np.greater_equal",
                   "==": "np.equal", "!=": "np.not_equal"}
            lhs = self.emit(c.lhs, None, {})
            rhs = self.emit(c.rhs, None, {})
            self.lines.append(f"{fns[c.rel_op]}({self.s(lhs)}, {self.s(rhs)}, out={m})")
            self.release(lhs)
            self.release(rhs)
            return m
        raise NotImplementedError(f"condition {c}")

    def indicator(self, part) -> str | None:
        """A bool buffer for ``x in part`` (an Interval or a one-point set), else None."""
        m = self.bbuf()
        if isinstance(part, sp.FiniteSet) and len(part) == 1:
            self.lines.append(f"np.equal(X, {float(next(iter(part)))!r}, out={m})")
            return m
        if not isinstance(part, sp.Interval):
            self.free_b.append(m)
            return None
        return self.interval_mask(part, m)

    def interval_mask(self, interval: sp.Interval, m: str) -> str:
        """Fill the bool buffer ``m`` with ``X in interval`` (one or two comparisons)."""
        tests = []
        if interval.start != -sp.oo:
            tests.append(("np.greater" if interval.left_open else "np.greater_equal", float(interval.start)))
        if interval.end != sp.oo:
            tests.append(("np.less" if interval.right_open else "np.less_equal", float(interval.end)))
        if not tests:
            self.lines.append(f"{m}.fill(True)")
        for k, (fn, v) in enumerate(tests):
            if k == 0:
                self.lines.append(f"{fn}(X, {v!r}, out={m})")
            else:
                t = self.bbuf()
                self.lines.append(f"{fn}(X, {v!r}, out={t})")
                self.lines.append(f"np.logical_and({m}, {t}, out={m})")
                self.free_b.append(t)
        return m

    def float_indicator(self, interval: sp.Interval, t: str) -> None:
        """Fill the float buffer ``t`` with 1.0/0.0 for ``X in interval``, NaN for NaN.

        [x > a] = ceil(clip(x - a, 0, 1)): with gradual underflow x - a > 0
        exactly when x > a (and +-inf clip to 1 or 0), and clip and ceil keep
        NaN; [x >= a] = 1 - [a - x > 0]. Two passes, and no non-finite fix-up
        pass afterwards (step, relu'), where a bool comparison loses NaN.
        """
        tests = []
        if interval.start != -sp.oo:
            tests.append((float(interval.start), 1, interval.left_open))   # x > a  /  x >= a
        if interval.end != sp.oo:
            tests.append((float(interval.end), -1, interval.right_open))   # x < b  /  x <= b
        if not tests:
            self.lines.append(f"np.multiply({self.xname}, 0.0, out={t})")
            self.lines.append(f"np.add({t}, 1.0, out={t})")   # NaN stays NaN (inf: 1 via the fix-up)
            return
        for k, (a, sign, strict) in enumerate(tests):
            dst = t if k == 0 else self.fbuf()
            # strict: [sign (x - a) > 0]; else 1 - [sign (a - x) > 0]
            d = sign if strict else -sign
            if d == 1:  # x + 0.0, not x - 0.0: -0.0 becomes +0.0 and the indicator +0.0
                self.lines.append(f"np.add({self.xname}, {-a if a else 0.0!r}, out={dst})")
            else:
                self.lines.append(f"np.subtract({a!r}, {self.xname}, out={dst})")
            self.lines.append(f"np.clip({dst}, 0.0, 1.0, out={dst})")
            self.lines.append(f"np.ceil({dst}, out={dst})")
            if not strict:
                self.lines.append(f"np.subtract(1.0, {dst}, out={dst})")
            if k:
                self.lines.append(f"np.multiply({t}, {dst}, out={t})")
                self.free_f.append(dst)

    def piecewise(self, pw, target, env):
        """Piecewise without masked copies where the pieces are intervals of x.

        Each piece k is evaluated on x clipped into its own interval I_k, then
        ``out = sum_k g_k(clip_k(x)) * [x in I_k]`` -- exact, since one term is
        the value and the others are +-0 (NaN propagates through g_k(NaN) * 0).
        Constant pieces need only their indicator; pieces that are 0 vanish. If
        every piece is 0 at the boundaries it shares (elu, leaky_relu), the
        clipped pieces are 0 outside their interval and the indicators are
        dropped: ``out = sum_k g_k(clip_k(x))``. Other conditions fall back to
        masked copies.
        """
        pieces = list(pw.args)
        prior = sp.false
        parts, domains = [], []
        for e, c in pieces:
            active = sp.And(c, sp.Not(prior))
            try:
                s = active.as_set() if active.free_symbols <= {self.x} else None
            except Exception:  # pragma: no cover - nonlinear conditions
                s = None
            parts.append(s)
            domains.append((s.inf, s.sup) if s is not None and s is not sp.S.EmptySet else (-sp.oo, sp.oo))
            prior = sp.Or(prior, c)
        simple = all(s is sp.S.EmptySet or isinstance(s, sp.Interval)
                     or (isinstance(s, sp.FiniteSet) and len(s) == 1) for s in parts if s is not None)
        if self.xname != "X" or not simple or any(s is None for s in parts):
            return self.piecewise_masked(pw, target, env, domains)
        live = [k for k, s in enumerate(parts) if s is not sp.S.EmptySet]
        bounds = {float(v) for k in live for v in (parts[k].inf, parts[k].sup) if v.is_finite}
        zero_at_bounds = all(
            all(sp.simplify(rw.to_standard(pieces[k][0]).subs(self.x, b)).is_zero is True for b in bounds
                if parts[k].inf <= b <= parts[k].sup)
            for k in live) and not any(isinstance(parts[k], sp.FiniteSet) for k in live)
        res = (target, False) if target is not None else (self.fbuf(), True)
        first = True
        for k in live:
            e = pieces[k][0]
            if e.is_number and float(e) == 0.0:
                continue
            if e.is_number and isinstance(parts[k], sp.Interval):
                t = res[0] if first else self.fbuf()
                self.float_indicator(parts[k], t)
                if float(e) != 1.0:
                    self.lines.append(f"np.multiply({t}, {float(e)!r}, out={t})")
                if not first:
                    self.lines.append(f"np.add({res[0]}, {t}, out={res[0]})")
                    self.free_f.append(t)
                first = False
                continue
            if e.is_number:
                m = self.indicator(parts[k])
                if first and float(e) == 1.0:
                    self.lines.append(f"np.copyto({res[0]}, {m})")   # bool -> 0.0/1.0
                elif first:
                    self.lines.append(f"np.multiply({m}, {float(e)!r}, out={res[0]})")
                else:
                    t = self.fbuf()
                    self.lines.append(f"np.multiply({m}, {float(e)!r}, out={t})")
                    self.lines.append(f"np.add({res[0]}, {t}, out={res[0]})")
                    self.free_f.append(t)
                self.free_b.append(m)
                first = False
                continue
            # every branch on x clipped into its interval: 0 outside (zero_at_bounds), finite always
            v = self.branch(e, domains[k], res[0] if first else None, env, always_clip=True)
            if not isinstance(v, tuple):
                v = self.scalar_to(v, None)
            if not zero_at_bounds:
                m = self.indicator(parts[k])
                self.lines.append(f"np.multiply({v[0]}, {m}, out={v[0]})")
                self.free_b.append(m)
            if not first:
                self.lines.append(f"np.add({res[0]}, {v[0]}, out={res[0]})")
                self.release(v)
            first = False
        if first:
            self.lines.append(f"{res[0]}.fill(0.0)")
        return res

    def piecewise_masked(self, pw, target, env, domains):
        res = (target, False) if target is not None else (self.fbuf(), True)
        pieces = list(pw.args)
        order = list(range(len(pieces)))
        last = order[-1]
        self.branch(pieces[last][0], domains[last], res[0], env)
        for k in reversed(order[:-1]):
            e, c = pieces[k]
            m = self.cond(c)
            if e.is_number:
                self.lines.append(f"np.copyto({res[0]}, {float(e)!r}, where={m})")
            else:
                v = self.branch(e, domains[k], None, env)
                self.lines.append(f"np.copyto({res[0]}, {self.s(v)}, where={m})")
                self.release(v)
            self.free_b.append(m)
        return res

    def branch(self, e, dom, target, env, always_clip=False):
        lo, hi = dom
        if e.is_number:
            return self.scalar_to(e, target) if target is not None else self.scalar_to(e, None)
        needs_clip = (always_clip or any(isinstance(f, sp.Function) and not isinstance(f, (sp.Abs, sp.Max, sp.Min))
                                         for f in e.atoms(sp.Function))) and (lo != -sp.oo or hi != sp.oo)
        if not needs_clip:
            return self.block(e, target, env)
        xc = self.fbuf()
        lo_s = "-np.inf" if lo == -sp.oo else repr(float(lo))
        hi_s = "np.inf" if hi == sp.oo else repr(float(hi))
        self.lines.append(f"np.clip(X, {lo_s}, {hi_s}, out={xc})")
        sym = sp.Dummy("xc", real=True)
        # reuse this generator's allocator: emit with x renamed
        saved, saved_name = self.x, self.xname
        self.x, self.xname = sym, xc
        env2 = dict(env)
        env2[sym] = (xc, False)
        v = self.block(e.subs(saved, sym), target, env2)
        self.x, self.xname = saved, saved_name
        self.free_f.append(xc)
        return v


# --------------------------------------------------------------------------- compiled kernels
_NS = {"np": np, "_sc": _sc, "_exp_dd": _exp_dd, "_expit_dd": _expit_dd, "_erfc_dd": _pieces(_erfc_dd), "_erfc_plain": _erfc_plain,
       "_erfc_lin": _pieces(_erfc_lin, SUB_NO_ALLOC), "_exp_sq": _pieces(_exp_sq),
       "_dd_poly_into": _pieces(_dd_poly_into, SUB_NO_ALLOC)}


@dataclass
class _Chain:
    """A compiled straight-line chain: fn(X, OUT, *float_bufs, *bool_bufs)."""

    source: str
    fn: object
    nf: int
    nb: int

    def run(self, x, out, dtype):
        n = x.shape[0]
        fb = [np.empty(n, dtype) for _ in range(self.nf)]
        bb = [np.empty(n, np.bool_) for _ in range(self.nb)]
        self.fn(x, out, *fb, *bb)
        return out


def _has_dd_expit(expr) -> bool:
    """Whether ``expr`` has an expit of an inexact polynomial in x (gelu_tanh)."""
    return any(a.args[0].free_symbols == {X} and a.args[0].is_polynomial(X) and not _is_exact_arg(a.args[0], X)
               for a in expr.atoms(rw.expit))


def _compile_chain(expr, dd: bool, name: str, ld: bool = False, dd_expit: bool = False) -> _Chain:
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
    ns = dict(_NS)
    ns.update(gen.consts)
    exec(compile(src, f"<symact {label} {name}>", "exec"), ns)
    return src, ns[name]


def _row_bufs(n: int, first: int = 0, count: int = 4, kind: str = "v") -> list[np.ndarray]:
    """``count`` flat scratch buffers of ``n`` elements for the vector kernels'
    row blocks: thread-local up to :data:`VEC_SCRATCH_MAX` elements (a single
    huge row gets fresh arrays rather than pinning them for the thread's life)."""
    dt = np.bool_ if kind == "vb" else np.float64
    if n > VEC_SCRATCH_MAX:
        return [np.empty(n, dt) for _ in range(count)]
    return [_helper_buf(kind, dt, first + k, n) for k in range(count)]


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


def _is_rational_form(expr) -> bool:
    return not any(isinstance(f, sp.Function) and not isinstance(f, (sp.Abs, sp.Max, sp.Min))
                   for f in expr.atoms(sp.Function)) and sp.count_ops(expr) <= 8


def _float_limit(expr, at):
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


def _in_interval(x, a, b, mask, t):
    """mask = a <= x <= b in two passes: clip(x, a, b) == x (NaN compares False);
    ``t`` is a float scratch buffer like x."""
    np.clip(x, a, b, out=t)
    return np.equal(t, x, out=mask)


@dataclass
class ScalarKernel:
    """A generated scalar kernel; call it like ``kernel(x, out=None)``."""

    expr: sp.Expr           # the reference expression (act.expr or act.derivative)
    stable: sp.Expr         # the stabilized form that was lowered
    chain64: _Chain
    chain32: _Chain | None  # float32-native chain (rational forms, or measured: see _choose_float32)
    chain_ld: _Chain | None  # long double chain for measured fix-up intervals
    limits: tuple[float, float]
    fix_nonfinite: bool = True
    ld_intervals: list = field(default_factory=list)
    root_polys: list = field(default_factory=list)   # RootPoly fix-ups (simple roots)
    choices: list = field(default_factory=list)      # candidate forms, measured (see _build_scalar)
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
                    res[idx] = rp(xs, _hs(np.float64, 13, m), _hs(np.float64, 14, m), _hi(1, m))
        if "bad" in pending:
            idx = np.concatenate(pending["bad"])
            xb = xc[idx]
            res[idx] = np.where(np.isnan(xb), np.nan, np.where(xb > 0, self.limits[1], self.limits[0]))

    def __call__(self, x, out=None, axis=-1):
        xa = np.asarray(x)
        if xa.dtype == np.float32:
            rdt = np.dtype(np.float32)
            cdt = np.dtype(np.float32) if self.chain32 is not None else np.dtype(np.float64)
        else:
            rdt = cdt = np.dtype(np.float64)
        if self.stable.is_number:
            return self._constant(xa if xa.dtype.kind == "f" else xa.astype(np.float64), rdt, out)
        fresh = out is None
        if fresh:
            out = np.empty(xa.shape, rdt)
        elif out.shape != xa.shape:
            raise ValueError(f"out has shape {out.shape}, expected {xa.shape}")
        # float32 computed in float64 is widened block by block in the workers (a
        # whole-array astype was a serial pass plus 8 bytes an element of fresh pages)
        xc = np.ascontiguousarray(xa, dtype=np.float32 if xa.dtype == np.float32 else cdt).reshape(-1)
        direct = out.flags.c_contiguous and out.dtype == rdt and not np.shares_memory(out, xc)
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
        c = float(self.stable)
        if out is not None:
            if out.shape != xa.shape:
                raise ValueError(f"out has shape {out.shape}, expected {xa.shape}")
            if not (out.flags.c_contiguous and out.dtype == rdt):
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


#: Elements per work segment when a fresh output is filled by several threads.
SEGMENT = 1 << 18


def _parallel(n: int, work, fresh: np.ndarray | None = None) -> None:
    """``work(start, stop)`` over [0, n) on the thread pool when n >= THREAD_MIN.

    Without ``fresh``: one contiguous range per thread (CHUNK multiples; the
    caller's thread takes the last). With ``fresh`` (a new output, pages not yet
    mapped): two threads first-touching one array contend in the page-fault
    path -- usually 0.8 ns/element for step, but 4-9 after other code had freed
    large arrays (measured in this VM) -- so only the calling thread touches
    pages: it maps each :data:`SEGMENT` (one write per 4 KiB) and queues it; the
    workers compute queued segments meanwhile, and the caller joins them once
    every page is mapped. Faulting overlaps computing and stays single-threaded.
    """
    nt = _num_threads
    if not (n >= THREAD_MIN and nt > 1):
        if n:
            work(0, n)
        return
    pool = _get_pool()
    if fresh is None:
        per = -(-n // nt)
        per = -(-per // 4096) * 4096        # balanced ranges (CHUNK multiples left 300k elements 7:1)
        starts = list(range(0, n, per))
        futs = [pool.submit(work, s, min(s + per, n)) for s in starts[:-1]]
        work(starts[-1], n)
        for f in futs:
            f.result()
        return
    import queue
    q: queue.SimpleQueue = queue.SimpleQueue()

    def drain(block: bool):
        while True:
            try:
                item = q.get() if block else q.get_nowait()
            except queue.Empty:
                return
            if item is None:
                return
            work(*item)

    futs = [pool.submit(drain, True) for _ in range(nt - 1)]
    try:
        step = max(1, 4096 // fresh.itemsize)
        for s in range(0, n, SEGMENT):
            e = min(s + SEGMENT, n)
            fresh[s:e:step] = 0
            q.put((s, e))
        drain(False)
    finally:
        for _ in futs:
            q.put(None)
        for f in futs:
            f.result()


class _Scratch:
    """One thread's block-sized scratch buffers, shared by every kernel it runs."""

    def __init__(self, dtype):
        self.dtype = dtype
        self._f: list = []
        self._b: list = []

    def f(self, k):
        while len(self._f) < k:
            self._f.append(np.empty(CHUNK, self.dtype))
        return self._f

    def b(self, k):
        while len(self._b) < k:
            self._b.append(np.empty(CHUNK, np.bool_))
        return self._b


_tls = threading.local()


def _scratch(dtype) -> _Scratch:
    d = getattr(_tls, "scratch", None)
    if d is None:
        d = _tls.scratch = {}
    sc = d.get(dtype)
    if sc is None or sc._f and sc._f[0].shape[0] != CHUNK:
        sc = d[dtype] = _Scratch(dtype)
    return sc


def _ld_intervals(chain64: _Chain, chain_ld: _Chain) -> list[tuple[float, float]]:
    """Intervals of x where the float64 chain measurably loses to long double."""
    lin = np.linspace(-60, 60, 120001)
    tail = np.append(np.geomspace(60, 1e300, 4000), np.finfo(np.float64).max)
    xs = np.unique(np.concatenate([lin, tail, -tail, np.linspace(-760, 760, 15201)]))
    with np.errstate(all="ignore"):
        got = chain64.run(xs, np.empty_like(xs), np.float64)
        ref = chain_ld.run(xs.astype(np.longdouble), np.empty(xs.shape, np.longdouble), np.longdouble)
    ref64 = ref.astype(np.float64)
    from symact.numeric.ulp import ulp_distance
    err = ulp_distance(got, ref64)
    tiny = np.abs(got - ref64) < np.finfo(np.float64).smallest_normal
    bad = (err > 3.0) & ~tiny & np.isfinite(ref64)
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


def _selection_points() -> np.ndarray:
    xs = np.concatenate([np.linspace(-40, 40, 2001), np.geomspace(1e-300, 1e3, 300),
                         [709.0, 710.0, 745.0, 746.0, 1e5, 1e300, 1.7e308]])
    return np.unique(np.concatenate([xs, -xs]))


def _selection_reference(expr: sp.Expr) -> tuple[np.ndarray, np.ndarray]:
    """The mpmath oracle's correctly rounded values of ``expr`` on the fixed
    selection points (disk-cached: ~1 s per expression cold)."""
    from symact import cache
    from symact.numeric.oracle import oracle_reference   # the oracle with its stable-identity rewrites

    xs = _selection_points()
    ref = cache.cached("kernel-selection-ref", (sp.srepr(expr), str(xs.size)),
                       lambda: oracle_reference(expr, xs, np.float64))
    return xs, ref


def _measure(chain64: _Chain, xs: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(mean, max) ULP of a float64 chain against the oracle's values ``ref``.

    Points where the chain gives a non-finite value but the oracle does not
    count as 1e6 ULP (an exp-rational form that overflows is rejected); an
    absolute error below the smallest normal counts as 0.
    """
    with np.errstate(all="ignore"):
        got = chain64.run(xs, np.empty_like(xs), np.float64)
    err = _floor_ulp(got, ref)
    err = np.where(np.isfinite(err), np.minimum(err, 1e6), 1e6)
    return float(err.mean()), float(err.max())


def _floor_ulp(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """ULP distance of ``got`` from ``ref`` in got's dtype, 0 where the absolute
    error is below that dtype's smallest normal or both are NaN (the floor's
    measure, as :func:`symact.reports.bench.floor_errors`; kept here so kernels need no
    higher layer at build time)."""
    from symact.numeric.ulp import ulp_distance
    err = ulp_distance(got, ref)
    with np.errstate(all="ignore"):
        err[np.abs(got.astype(np.float64) - ref.astype(np.float64)) < np.finfo(got.dtype).smallest_normal] = 0.0
    err[np.isnan(got) & np.isnan(ref)] = 0.0
    return err


# --------------------------------------------------------------------------- root-factored polynomials
@dataclass(frozen=True)
class RootPoly:
    """f(x) = (x - r) q(x) on [lo, hi] around a simple root r of a smooth kernel.

    Near r the terms of f cancel and amplify their own rounding (gelu' =
    Phi(x) + x phi(x) turns scipy's 3-8 ULP of erfc into hundreds). Here the
    root is factored out: ``(x - r_hi - r_lo) q(x)`` with r = r_hi + r_lo in
    double-double (x - r_hi is exact by Sterbenz next to r, and plainly
    rounded far from it where it no longer matters) and q = f / (x - r) --
    smooth, bounded away from 0 -- piecewise polynomial: [lo, hi] is cut into
    an odd number of equal pieces (the middle one centred on r), each with a
    polynomial in (x - centre) evaluated by Horner in float64 (short pieces
    keep |x - centre| small, so Horner adds ~1 ULP; one polynomial over the
    whole interval lost up to 9 ULP at its ends to alternating terms).
    Coefficients are a table ``coeffs[k][piece]`` (highest degree first); the
    data come from mpmath at build time (:func:`root_polys`); nothing is
    written per activation.
    """

    lo: float
    hi: float
    r_hi: float
    r_lo: float
    step: float
    centers: np.ndarray   # (pieces,)
    coeffs: np.ndarray    # (degree + 1, pieces), highest degree first

    def __call__(self, x: np.ndarray, q=None, t=None, j=None) -> np.ndarray:
        q = _horner_pieces(x, self.lo, self.step, self.centers, self.coeffs, q, t, j)
        d = np.subtract(x, self.r_hi, out=t)
        d -= self.r_lo
        q *= d
        return q


def _horner_pieces(x, lo, step, centers, coeffs, q=None, t=None, j=None):
    """Piecewise polynomial: piece j = floor((x - lo) / step) (clipped to the
    table), Horner in (x - centers[j]) with ``coeffs[k][j]`` highest degree
    first. q, t (float) and j (intp): optional buffers like x."""
    t = np.subtract(x, lo, out=t)
    t *= 1.0 / step
    np.clip(t, 0, centers.shape[0] - 1, out=t)
    if j is None:
        j = t.astype(np.intp)
    else:
        np.copyto(j, t, casting="unsafe")
    q = np.take(centers, j, out=q)
    np.subtract(x, q, out=t)
    np.take(coeffs[0], j, out=q)
    c = _hs(x.dtype, 10, x.shape[0]) if x.shape[0] <= CHUNK else np.empty_like(x)
    for row in coeffs[1:]:
        q *= t
        q += np.take(row, j, out=c)
    return q


#: Fit target: max relative error of q's polynomial (float coefficients) on its interval.
ROOT_FIT_TOL = 2.0 ** -60
#: Sampled float64 ULP error above which a point near a root needs the fix-up (one below the floor).
ROOT_BAD_ULP = 3.0
#: The accuracy floor: a sample above it is inside the interval, cancelling or not.
ROOT_FLOOR_ULP = 4.0
#: The interval is this many times the farthest cancelling sample from the root.
ROOT_MARGIN = 2.0
_ROOT_CACHE: dict = {}


def _bracket_roots(chain64: _Chain) -> list[tuple[float, float]]:
    """Sign changes of the float64 chain on a grid over [-60, 60] (away from underflow)."""
    xs = np.linspace(-60, 60, 120001)
    with np.errstate(all="ignore"):
        y = chain64.run(xs, np.empty_like(xs), np.float64)
    ok = np.isfinite(y) & (np.abs(y) >= np.finfo(np.float64).smallest_normal)
    k = np.flatnonzero(ok[:-1] & ok[1:] & (np.sign(y[:-1]) * np.sign(y[1:]) < 0))
    return [(float(xs[i]), float(xs[i + 1])) for i in k]


def _cheb_fit(g, lo, hi, deg):
    """Monomial coefficients in (x - m) (highest first, mpf) of g's Chebyshev interpolant."""
    import mpmath

    n = deg + 1
    m, h = (lo + hi) / 2, (hi - lo) / 2
    ts = [mpmath.cos(mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j in range(n)]
    vals = [g(m + h * t) for t in ts]
    cheb = []
    for k in range(n):
        c = 2 * mpmath.fsum(v * mpmath.cos(k * mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j, v in enumerate(vals)) / n
        cheb.append(c / 2 if k == 0 else c)
    # T_k(t) in monomials of t, then t = (x - m) / h
    mono = [mpmath.mpf(0)] * n
    t_prev, t_cur = [mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]
    for k in range(n):
        tk = t_prev if k == 0 else t_cur if k == 1 else None
        if k >= 2:
            nxt = [mpmath.mpf(0)] + [2 * a for a in t_cur]
            for i, a in enumerate(t_prev):
                nxt[i] -= a
            t_prev, t_cur = t_cur, nxt
            tk = t_cur
        for i, a in enumerate(tk):
            mono[i] += cheb[k] * a
    return [mono[i] / h ** i for i in reversed(range(n))]


#: Longest piece of a :class:`RootPoly`.
ROOT_PIECE = 0.125


def _fit_piece(q, lo, hi, pts, want, degrees=range(5, 62, 2)):
    """Exact (mpf) monomial coefficients in (x - centre) of the lowest odd degree
    whose fit of q on [lo, hi] is within :data:`ROOT_FIT_TOL` at ``pts``; None if
    degree 61 does not reach it. Odd degrees only: an even number of Chebyshev
    nodes puts none at the centre, which may be r itself (0 / 0 there)."""
    import mpmath

    m = (lo + hi) / 2

    def worst(coeffs, idx):
        out = 0
        for i in idx:
            t = mpmath.mpf(float(pts[i])) - m
            acc = mpmath.mpf(0)
            for c in coeffs:
                acc = acc * t + c
            out = max(out, abs(acc / want[i] - 1))
        return out

    for deg in degrees:
        coeffs = _cheb_fit(q, lo, hi, deg)
        if worst(coeffs, range(0, len(pts), 10)) < ROOT_FIT_TOL / 2 and worst(coeffs, range(len(pts))) < ROOT_FIT_TOL:
            return coeffs
    return None


def _fit_root_poly(orc, r, lo, hi) -> RootPoly | None:
    """A piecewise fit of q = f / (x - r) on [lo, hi] (centred on r), or None.

    Each piece's approximation error is checked in mpmath on 201 points
    (< :data:`ROOT_FIT_TOL`); then the float64 evaluation, with the
    coefficients rounded to float, against the oracle on 2001 points (<= 2 ULP).
    """
    import mpmath

    from symact.numeric.ulp import ulp_distance

    def q(v):
        return orc.value(v) / (v - r)

    n = math.ceil((hi - lo) / ROOT_PIECE)
    n += 1 - n % 2
    step = (hi - lo) / n
    table, centers = [], []
    for k in range(n):
        # the centre is a float (Horner's x - centre must not shift the polynomial)
        c = mpmath.mpf(float(mpmath.mpf(lo) + (k + mpmath.mpf(1) / 2) * mpmath.mpf(step)))
        a, b = c - mpmath.mpf(step) / 2, c + mpmath.mpf(step) / 2
        pts = np.linspace(float(a), float(b), 201)
        want = [q(mpmath.mpf(float(v))) for v in pts]
        if k == 0:
            sign = mpmath.sign(want[0])
        if any(w == 0 or mpmath.sign(w) != sign for w in want):
            return None  # q changes sign: not a simple, isolated root
        coeffs = _fit_piece(q, a, b, pts, want)
        if coeffs is None:
            return None
        table.append([float(v) for v in coeffs])
        centers.append(float(c))
    deg = max(len(c) for c in table)
    coeffs = np.array([[0.0] * (deg - len(c)) + c for c in table]).T.copy()
    rp = RootPoly(float(lo), float(hi), float(r), float(r - float(r)), float(step), np.array(centers), coeffs)
    pts = np.linspace(lo, hi, 2001)
    exact = np.array([float(orc.value(mpmath.mpf(float(v)))) for v in pts])
    return rp if ulp_distance(rp(pts), exact).max() <= 2.0 else None


def root_polys(expr: sp.Expr, chain64: _Chain) -> list[RootPoly]:
    """Root-factored polynomials for the simple roots where the float64 chain cancels.

    Roots are bracketed by sign changes of the chain and refined with mpmath
    (50 digits) on the oracle's evaluation of ``expr``. Around each root the
    chain's ULP error is sampled against the oracle; if it exceeds
    :data:`ROOT_BAD_ULP`, the interval reaches :data:`ROOT_MARGIN` times the
    farthest such point (beyond it the error, ~K/|x - r|, is back at the
    chain's own level) and q is fitted there. Smooth expressions only; cached.
    """
    if expr.has(sp.Piecewise) or not expr.free_symbols <= {X}:
        return []
    key = (sp.srepr(expr), chain64.source)
    if key not in _ROOT_CACHE:
        from symact import cache
        _ROOT_CACHE[key] = cache.cached("root-polys", key + (_code_hash(),), lambda: _root_polys(expr, chain64))
    return _ROOT_CACHE[key]


def _code_hash() -> str:
    """Hash of the modules whose code decides fitted data (the disk cache's key)."""
    import hashlib
    from pathlib import Path
    import scipy
    h = hashlib.sha256((np.__version__ + scipy.__version__).encode())
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")) + [Path(rw.__file__)]:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _root_polys(expr, chain64):
    import mpmath

    from symact.numeric.oracle import Oracle, reference
    from symact.numeric.ulp import ulp_distance

    brackets = _bracket_roots(chain64)
    out: list[RootPoly] = []
    if len(brackets) <= 8:
        orc = Oracle(expr, X)
        roots = []
        with mpmath.workdps(50):
            for a, b in brackets:
                try:
                    roots.append(mpmath.findroot(orc.value, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson"))
                except (ValueError, ZeroDivisionError):  # pragma: no cover
                    continue
            rng = np.random.default_rng(0)
            for i, r in enumerate(roots):
                rf = float(r)
                room = min([abs(float(o) - rf) * 0.45 for j, o in enumerate(roots) if j != i] + [3.0])
                xs = np.concatenate([rf + rng.uniform(-room, room, 20000),
                                     rf + np.geomspace(1e-9, room, 400), rf - np.geomspace(1e-9, room, 400)])
                with np.errstate(all="ignore"):
                    got = chain64.run(xs, np.empty_like(xs), np.float64)
                err = ulp_distance(got, reference(expr, X, xs))
                dist = np.abs(xs - rf)
                reach = _cancelling_reach(dist, err > ROOT_BAD_ULP, room)
                if reach is None:
                    continue
                over = err > ROOT_FLOOR_ULP          # every point over the floor is covered
                if over.any():
                    reach = max(reach, float(dist[over].max()))
                w = min(ROOT_MARGIN * reach, room)
                rp = _fit_root_poly(orc, r, rf - w, rf + w)
                if rp is not None:
                    out.append(rp)
    return out


def _cancelling_reach(dist: np.ndarray, bad: np.ndarray, room: float) -> float | None:
    """How far from a root its cancellation keeps the chain above ROOT_BAD_ULP:
    the outer edge of the run of distance bins (room / 100 wide, starting at
    the root) where over 2 % of the samples are bad. Beyond it only sporadic
    points near the chain's own rounding level exceed the threshold (mish' has
    4-ULP points scattered over [-4, 2]); those are no root's doing, and
    stretching the fix-up over them made it six times as wide. None: no bad
    point near the root."""
    if not bad.any():
        return None
    width = room / 100
    b = np.minimum((dist / width).astype(int), 99)
    tot = np.bincount(b, minlength=100)
    nbad = np.bincount(b, weights=bad, minlength=100)
    dense = nbad > 0.02 * np.maximum(tot, 1)
    if not dense[0]:
        return float(dist[bad].min()) if dist[bad].min() < width else None
    k = int(np.argmin(dense)) if not dense.all() else 100
    return min(float(dist[bad & (b < k)].max()), k * width)


@dataclass(frozen=True)
class ErfcxTable:
    """erfcx(a v) = exp(a^2 v^2) erfc(a v) for 0 <= v <= hi, as a piecewise polynomial in v.

    Used by :func:`_erfc_lin` for erfc(c x) with a = |c|: fitting in v = |x|
    rather than in a x means the rounding of c x never enters (erfc amplifies
    its argument's relative error by 2 (c x)^2). erfcx is smooth and slowly
    varying (1 at 0, about 1/(sqrt(pi) a v) far out), so pieces of width
    :data:`ERFCX_PIECE` need degree ~11 for a relative fit error below
    :data:`ROOT_FIT_TOL`; Horner in float64 then adds well under an ULP
    (``max_ulp`` is measured against mpmath when the table is built). ``hi``
    is where a v reaches :data:`ERFCX_REACH`: beyond it erfc(a v) underflows
    and erfc(-a v) rounds to 2. The coefficients come from mpmath at build
    time (cached on disk); nothing is written per activation.
    """

    a: float
    hi: float
    step: float
    centers: np.ndarray   # (pieces,)
    coeffs: np.ndarray    # (degree + 1, pieces), highest degree first
    max_ulp: float

    def __call__(self, v: np.ndarray, q=None, t=None, j=None) -> np.ndarray:
        return _horner_pieces(v, 0.0, self.step, self.centers, self.coeffs, q, t, j)


#: Width (in v = |x|) of an :class:`ErfcxTable` piece (a power of two: exact centres).
ERFCX_PIECE = 0.125
#: The table reaches a v = this: erfc(27.3) underflows to 0 (and erfc(-6) rounds to 2).
ERFCX_REACH = 27.3
#: erfc(-u) rounds to 2 in float64 from u = this on (erfc(6) = 2.2e-17 < ulp(2)/2).
ERFC_TWO = 6.0
_ERFCX_CACHE: dict = {}


def erfcx_table(a: sp.Expr) -> ErfcxTable:
    """The :class:`ErfcxTable` for the exact positive constant ``a`` (memoized, disk-cached)."""
    key = sp.srepr(a)
    if key not in _ERFCX_CACHE:
        from symact import cache
        _ERFCX_CACHE[key] = cache.cached("erfcx-table", (key, _code_hash()), lambda: _fit_erfcx_table(a))
    return _ERFCX_CACHE[key]


def _fit_erfcx_table(a: sp.Expr) -> ErfcxTable:
    import mpmath

    from symact.numeric.ulp import ulp_distance

    with mpmath.workdps(40):
        am = mpmath.mpf(str(sp.N(a, 50)))

        def g(v):
            return mpmath.exp((am * v) ** 2) * mpmath.erfc(am * v)

        n = math.ceil(ERFCX_REACH / float(a) / ERFCX_PIECE)
        table, centers = [], []
        for k in range(n):
            lo, hi = mpmath.mpf(k * ERFCX_PIECE), mpmath.mpf((k + 1) * ERFCX_PIECE)
            pts = np.linspace(float(lo), float(hi), 101)
            want = [g(mpmath.mpf(float(v))) for v in pts]
            coeffs = _fit_piece(g, lo, hi, pts, want)
            if coeffs is None:  # pragma: no cover - erfcx is entire
                raise ArithmeticError(f"erfcx({a} v) did not fit on [{lo}, {hi}]")
            table.append([float(c) for c in coeffs])
            centers.append((k + 0.5) * ERFCX_PIECE)
        deg = max(len(c) for c in table)
        coeffs = np.array([[0.0] * (deg - len(c)) + c for c in table]).T.copy()
        t = ErfcxTable(float(a), n * ERFCX_PIECE, ERFCX_PIECE, np.array(centers), coeffs, 0.0)
        pts = np.linspace(0.0, t.hi, 4001)
        exact = np.array([float(g(mpmath.mpf(float(v)))) for v in pts])
    return ErfcxTable(t.a, t.hi, t.step, t.centers, t.coeffs, float(ulp_distance(t(pts), exact).max()))


#: The shared e = exp(-|x|) of exp-rational candidates (see :func:`exp_rational`).
_T = sp.Symbol("T_exp_neg_abs_x", positive=True)
_EXP_RATIONAL_OK = (rw.expit, rw.tanh_softplus, rw.sech2_softplus, rw.sech2, rw.exp_neg_abs)


def exp_rational(stable: sp.Expr) -> list[sp.Expr]:
    """Forms of ``stable`` rational in x and e = exp(-|x|), one branch per sign of x.

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
        for f in (sp.factor_terms, lambda e: sp.expand(e, deep=False)):
            try:
                c = f(stable)
            except Exception:  # pragma: no cover
                continue
            if c not in out:
                out.append(c)
    return out


def build_scalar(expr: sp.Expr, stable: sp.Expr, name: str = "kernel") -> ScalarKernel:
    """Generate, choose by measured error, and probe one scalar kernel."""
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _build_scalar(expr, stable, name)


def _build_scalar(expr, stable, name):
    stable = sp.piecewise_fold(stable)
    cands = candidates(stable) + exp_rational(stable)
    choices = []
    dd_expit = False
    if (len(cands) > 1 or _has_dd_expit(stable)) and not stable.has(*_SCIPY_FUNCS):
        # Choose by measured error against the mpmath oracle, then by cost: among
        # forms whose long-double fix-up intervals (where float64 loses > 3 ULP to
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
        stable, dd_expit = best[5], best[6]
        for t in scored:
            why = ("chosen: " if t is best else "") + (
                f"fix-up intervals {t[4]:.3g} wide (> 1)" if t[0] else f"cost {t[1]}, mean {t[2]:.3f} ULP")
            form = str(t[5]) + (" [expit argument in double-double]" if t[6] else "")
            choices.append(dict(form=form, mean_ulp=t[2], max_ulp=t[3], hot_width=t[4], cost=t[1],
                                chosen=t is best, why=why))
    chain64 = _compile_chain(stable, dd=True, name=name, dd_expit=dd_expit)
    chain32 = _compile_chain(stable, dd=False, name=name + "_f32") if _is_rational_form(stable) else None
    has_scipy = stable.has(*_SCIPY_FUNCS)
    chain_ld = None if has_scipy or _is_rational_form(stable) else _compile_chain(stable, dd=False, name=name + "_ld", ld=True)
    lims = (_float_limit(expr, -1), _float_limit(expr, 1))
    k = ScalarKernel(expr, stable, chain64, chain32, chain_ld, lims)
    k.choices = choices
    if chain_ld is not None or has_scipy:
        # around simple roots where float64 cancels: (x - r) q(x), measured against the oracle
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


#: A float32 chain replaces float64-and-round when, against the float64 kernel
#: rounded to float32, it stays within this on :func:`_float32_points`.
F32_MAX_ULP = 2.0


def _float32_points() -> np.ndarray:
    """float32 inputs for judging a float32 chain: 100,000 bit-pattern-uniform
    finite values, every 1/1024 on [-64, 64], and the edges of float32's exp range."""
    rng = np.random.default_rng(32)
    bits = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    grid = np.arange(-64 * 1024, 64 * 1024 + 1, dtype=np.float32) / np.float32(1024)
    edge = np.concatenate([np.linspace(s * 80, s * 110, 3001, dtype=np.float32) for s in (-1, 1)])
    x = np.concatenate([bits[np.isfinite(bits)], grid, edge])
    return np.unique(x)


def _choose_float32(k, stable, name, c32=None):
    """(chain, record): the float32 chain when it measures within :data:`F32_MAX_ULP`
    of the float64 kernel (itself within 3 ULP of the oracle in float64, so its
    float32 rounding is the correctly rounded value but for rare ties), else None:
    float32 input is then computed in float64 and rounded once. Only forms with no
    root polynomial or long-double interval get here (those mark cancellation);
    rational forms (chain32 already compiled) are held to the same measure."""
    if c32 is None:
        c32 = _compile_chain(stable, dd=False, name=name + "_f32")
    xs = _float32_points()
    with np.errstate(all="ignore"):
        got = c32.run(xs, np.empty_like(xs), np.float32)
        ref = k(xs.astype(np.float64)).astype(np.float32)
    err = _floor_ulp(got, ref)
    err[np.isnan(err)] = np.inf
    mx, mean = float(err.max()), float(err.mean())
    worst = float(xs[int(np.argmax(err))])
    rec = dict(max_ulp=mx, mean_ulp=mean, worst_x=worst, points=int(xs.size))
    if mx <= F32_MAX_ULP:
        return c32, dict(rec, chain="float32", why=f"float32 chain within {mx:g} ULP of the float64 kernel")
    return None, dict(rec, chain="float64", why=f"float32 chain {mx:g} ULP off at x = {worst:.9g}: "
                                                  "computed in float64, rounded once")


# --------------------------------------------------------------------------- vector kernels
#: A vector kernel's unshifted form may drop t's low part when its max error on
#: the selection rows stays within this (half the accuracy floor).
LEAN_MAX_ULP = 2.0


def _vector_selection_rows() -> np.ndarray:
    """Fixed rows (all within the unshifted form's range) for choosing a vector
    kernel's form: spreads from 0.5 to 300, rows offset to +-600 so x - m rounds,
    and near-ties, where t's low part matters most."""
    rng = np.random.default_rng(20261129)
    n = 8
    rows = [rng.normal(size=n) * s for s in (0.5, 3.0, 30.0, 300.0) for _ in range(40)]
    rows += [rng.uniform(-5, 5, n) + c for c in (-600.0, 600.0, 123.456) for _ in range(30)]
    rows += [np.concatenate([[rng.uniform(300, 650)], rng.uniform(-40, 40, n - 1)]) for _ in range(40)]
    rows += [np.full(n, rng.uniform(-50, 50)) + rng.normal(size=n) * 1e-6 for _ in range(30)]
    x = np.clip(np.array(rows), -690.0, 690.0 - math.log(n))
    return x


def _vector_selection_reference(act) -> tuple[np.ndarray, np.ndarray]:
    """The vector oracle's correctly rounded values on :func:`_vector_selection_rows`
    (disk-cached: a few seconds cold)."""
    from symact import cache
    from symact.numeric.oracle import VectorOracle

    xs = _vector_selection_rows()

    def compute():
        syms, comps = act.components(xs.shape[1])
        orc = VectorOracle(comps, syms)
        return np.array([orc.rounded(v) for v in xs])

    ref = cache.cached("kernel-vector-selection-ref", (sp.srepr(act.expr), str(xs.shape), repr(float(xs.sum()))),
                       compute)
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


class VectorKernel:
    """Softmax-like kernels from the component form, with max subtraction."""

    def __init__(self, act, derivative: bool):
        self.act = act
        self.derivative = derivative
        expr = act.derivative if derivative else act.expr
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
        syms = (T, TL, TK, TKL, SM1, D, Q)
        mods = [{"log1p": np.log1p, "expm1": np.expm1, "expit": lambda a: _expit_np(a)}, "numpy"]
        self.fn = sp.lambdify(syms, e, modules=mods)
        self.symbols = syms
        # forward: exp(t_i) (1 + t_i_lo) is the E the row sum was made of -- reuse it
        E = sp.Symbol("E_i", positive=True)
        fwd = e.subs(sp.exp(T) * (1 + TL), E)
        self.fwd = self.fwd_safe = None
        if not fwd.free_symbols - {T, TL, SM1, E}:
            self.fwd = _RowChain(fwd, (T, TL, E), (SM1,), f"{act.name}_forward")
            # rows whose exp(x_j) are all normal and whose sum cannot overflow need
            # no shift inside exp: E = exp(x_i) / exp(m), exp(x_i) with an exact argument
            EX, EM = sp.Symbol("Ex_i", positive=True), sp.Symbol("Em", positive=True)
            self._choose_safe(act, fwd.subs(E, EX / EM), (T, TL, EX), (SM1, EM), TL)
        self.fwd_uses_e = fwd.has(E)

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
        scored = []
        for chain, f in cands:
            self.fwd_safe, self.safe_uses_t, self.safe_uses_tl = chain, f.has(elems[0]) or f.has(TL), f.has(TL)
            got = np.empty_like(xs)
            with np.errstate(all="ignore"):
                left = self._forward_block(xs, got)
            assert left.size == 0, "selection rows must all take the unshifted form"
            err = _floor_ulp(got, ref)
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
        xa = np.asarray(x)
        rdt = np.dtype(np.float32) if xa.dtype == np.float32 else np.dtype(np.float64)
        if not self.derivative and self.fwd is not None and xa.ndim >= 1 and xa.size:
            # float32 rows are widened block by block in the workers
            return self._forward(xa, np.moveaxis(np.asarray(xa, dtype=rdt), axis, -1), rdt, out, axis)
        xv = np.moveaxis(np.asarray(xa, dtype=np.float64), axis, -1)
        with np.errstate(all="ignore"):
            res = self._compute(xv)
        if not self.derivative:
            res = np.moveaxis(res, -1, axis)
        elif axis not in (-1, xa.ndim - 1):
            res = np.moveaxis(res, (-2, -1), (axis if axis >= 0 else axis - 1, axis if axis >= 0 else axis - 1))
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
        R = rows.shape[0]
        direct = (out is not None and out.dtype == rdt and out.flags.c_contiguous
                  and out.shape == xa.shape and axis in (-1, xa.ndim - 1)
                  and not np.shares_memory(out, rows))
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

        nt = min(_num_threads, VECTOR_THREADS or _num_threads)
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
        the result. argmax/argmin are
        NumPy's fast reductions (max along rows measured ~4x slower).
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
        if np.isneginf(lo).any():                      # x = -inf: t = -inf, and its tl NaN
            np.putmask(tl, np.isneginf(t), 0.0)
        # exp only where its result is comfortably normal: libm's exp takes a slow
        # path near and past underflow (measured 4.4-28 ns/element against 0.6) --
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
        Dense passes over scratch, no masked gathers (their temporaries cost
        ~15 ns an element here).
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
        n = xv.shape[-1]
        m = np.max(xv, axis=-1, keepdims=True)
        finite_m = np.where(np.isfinite(m), m, 0.0)
        th = xv - finite_m
        tl = (xv - (th + finite_m))  # exact TwoSum error of x - m (|m| >= |t| region)
        bb = th - xv
        tl = (xv - (th - bb)) - (finite_m + bb)
        tl = np.where(np.isfinite(tl), tl, 0.0)
        e = np.exp(th) * (1 + tl)
        top = th == 0
        e_rest = np.where(top, 0.0, e)
        sm1 = e_rest.sum(axis=-1, keepdims=True) + (top.sum(axis=-1, keepdims=True) - 1)
        if not self.derivative:
            r = self.fn(th, tl, th, tl, sm1, 1.0, 1.0 - e)
            return np.broadcast_to(r, xv.shape).astype(np.float64)
        eye = np.eye(n)
        q = eye - e[..., None, :]
        r = self.fn(th[..., :, None], tl[..., :, None], th[..., None, :], tl[..., None, :], sm1[..., None], eye, q)
        return np.broadcast_to(r, xv.shape + (n,)).astype(np.float64)


def _expit_np(a):
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    return _expit(a, out, np.empty_like(a), np.empty(a.shape, np.bool_))


# --------------------------------------------------------------------------- entry point
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
