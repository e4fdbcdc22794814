"""Where kernels run: block sizes, the thread pool, and per-thread scratch buffers.

A scalar kernel runs over its flattened input in blocks of :data:`CHUNK`
elements, so every pass of a chain stays in cache. Arrays of at least
:data:`THREAD_MIN` elements are split into one contiguous range per thread
(NumPy ufuncs release the GIL; the calling thread takes the last range). The
number of threads is ``os.cpu_count()``, overridable with :func:`set_num_threads`
or the ``SYMACT_THREADS`` environment variable. When threads fill a fresh
output, only the calling thread maps its pages, a segment at a time, while the
others compute (:func:`_parallel`).

Chains and helpers never allocate block-sized temporaries: glibc serves large
blocks with fresh ``mmap`` pages, which fault on every call. Instead they write
into buffers that live with the thread: :func:`_scratch` (one set per dtype,
shared by every kernel the thread runs), :func:`_helper_buf` (the double-double
and erfc helpers, :mod:`.ddouble`) and :func:`_row_bufs` (the vector kernels'
row blocks). Nothing here knows about expressions; :mod:`.scalar` and
:mod:`.vector` drive it.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Elements per block. Each block costs a few Python-level NumPy calls that hold
#: the GIL, so blocks must be long enough for threads not to serialize on them;
#: 2^17 (1 MB of float64 per buffer, spilling from L2 to L3) beat 2^15 for the
#: short chains (the README has the measurements).
CHUNK = 1 << 17
#: Arrays at least this long are split over threads.
THREAD_MIN = 1 << 18
#: Elements per work segment when a fresh output is filled by several threads.
SEGMENT = 1 << 18
#: Helpers that allocate temporaries work in pieces of this many elements:
#: glibc serves blocks of 128 KiB and more with mmap, so larger temporaries
#: page-fault on every call.
SUB = 1 << 15
#: Pieces of the helpers that allocate nothing (thread-local scratch, gathers by
#: index): larger, so that the per-piece Python overhead stops mattering.
SUB_NO_ALLOC = 1 << 16
#: Row blocks up to this many elements use thread-local scratch buffers.
VEC_SCRATCH_MAX = 1 << 20

def _threads_from_env() -> int:
    """``SYMACT_THREADS`` (0 or unset: one per CPU); a value that is not a whole number warns."""
    value = os.environ.get("SYMACT_THREADS", "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 6:
        return int(value) or (os.cpu_count() or 1)
    if value:
        import warnings

        warnings.warn(f"symact: SYMACT_THREADS={value!r} is not a whole number >= 0; using one thread per CPU",
                      stacklevel=2)
    return os.cpu_count() or 1


_num_threads = _threads_from_env()
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
    """Threads the kernels split large arrays over (see :func:`set_num_threads`)."""
    return _num_threads


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_num_threads, thread_name_prefix="symact")
        return _pool


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


_hls = threading.local()


def _helper_buf(kind, dtype, k, n) -> np.ndarray:
    """Thread-local scratch buffer ``k`` of ``dtype`` for the helpers, viewed as [:n].

    Helpers run on blocks of up to CHUNK elements; allocating their temporaries
    instead costs erratic page faults (glibc serves blocks over its mmap
    threshold with fresh pages), so they write into buffers that live with the
    thread."""
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


def _row_bufs(n: int, first: int = 0, count: int = 4, kind: str = "v") -> list[np.ndarray]:
    """``count`` flat scratch buffers of ``n`` elements for the vector kernels'
    row blocks: thread-local up to :data:`VEC_SCRATCH_MAX` elements (a single
    huge row gets fresh arrays rather than pinning them for the thread's life)."""
    dt = np.bool_ if kind == "vb" else np.float64
    if n > VEC_SCRATCH_MAX:
        return [np.empty(n, dt) for _ in range(count)]
    return [_helper_buf(kind, dt, first + k, n) for k in range(count)]


def _parallel(n: int, work, fresh: np.ndarray | None = None) -> None:
    """``work(start, stop)`` over [0, n) on the thread pool when n >= THREAD_MIN.

    Without ``fresh``: one contiguous range per thread (CHUNK multiples; the
    caller's thread takes the last). With ``fresh`` (a new output, pages not yet
    mapped): two threads first-touching one array contend in the page-fault
    path (worse after other code has freed large arrays), so only the calling
    thread touches pages: it maps each :data:`SEGMENT` (one write per 4 KiB) and queues it; the
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


def real_input(x, out=None, result_dtype=None) -> np.ndarray:
    """``x`` as an array a kernel computes on, checked as NumPy's ufuncs check theirs.

    Real floating-point, integer and boolean input is accepted (integers and booleans
    compute in float64); anything else (complex, strings, None, objects, datetimes)
    raises TypeError rather than being coerced, and so do masked arrays (the kernels
    would read the masked entries: a softmax row would be normalized over them) and
    floating point wider than float64 (its extra precision would be dropped). An
    object whose conversion to an array fails with anything but ValueError (ragged
    lists) or TypeError raises TypeError, the cause chained. Non-native byte order
    becomes native. An ``out=`` that is not an ndarray, is read-only (ValueError, as
    NumPy's), or that the result cannot be cast to under NumPy's ``same_kind`` rule
    (float64 into an int64 array) raises too, before any work."""
    if type(x) is np.ndarray:
        xa = x
    elif isinstance(x, np.ma.MaskedArray):
        raise TypeError("symact kernels do not take masked arrays (they would compute on the masked "
                        "entries); pass x.filled(value) or the unmasked part")
    else:
        try:
            xa = np.asarray(x)
        except (TypeError, ValueError, MemoryError, RecursionError):
            raise
        except Exception as exc:
            raise TypeError(f"symact kernels take real floating-point input; converting the "
                            f"{type(x).__name__} input to an array raised {type(exc).__name__}: {exc}") from exc
    if xa.dtype.kind not in "fiub":
        raise TypeError(f"symact kernels take real floating-point input, not {xa.dtype} "
                        f"({type(x).__name__}); convert it first")
    if xa.dtype.kind == "f" and xa.dtype.itemsize > 8:
        raise TypeError(f"symact kernels take real floating-point input of at most 64 bits, not {xa.dtype} "
                        "(it would be rounded to float64 silently); convert it first")
    if not xa.dtype.isnative:
        xa = xa.astype(xa.dtype.newbyteorder("="))
    if out is not None:
        if not isinstance(out, np.ndarray) or isinstance(out, np.ma.MaskedArray):
            raise TypeError(f"out must be a NumPy array, not {type(out).__name__}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
        rdt = np.dtype(result_dtype) if result_dtype is not None else result_dtype_of(xa)
        if not np.can_cast(rdt, out.dtype, casting="same_kind"):
            raise TypeError(f"cannot write the {rdt} result into out of dtype {out.dtype} "
                            "(NumPy's same_kind casting rule)")
    return xa


def result_dtype_of(xa: np.ndarray) -> np.dtype:
    """A kernel's result dtype for input ``xa`` (after :func:`real_input`): float32 and
    float16 stay (as NumPy's ufuncs keep them), anything else is float64."""
    if xa.dtype == np.float32 or xa.dtype == np.float16:
        return xa.dtype
    return np.dtype(np.float64)


def half_via_float64(kernel, xa: np.ndarray, out, **kw) -> np.ndarray:
    """A float16 input: computed in float64, rounded once to float16 (into ``out``,
    whose shape must be the result's)."""
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float16's range rounds to +-inf
        res = kernel(xa.astype(np.float64), **kw).astype(np.float16)
    if out is None:
        return res
    if out.shape != res.shape:
        raise ValueError(f"out has shape {out.shape}, expected {res.shape}")
    np.copyto(out, res, casting="unsafe")
    return out
