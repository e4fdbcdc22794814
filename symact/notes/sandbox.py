"""Run a research note's Python code in a child process, never in symact's own.

``symact notes`` executes the code of a note because the user asked for it, but
only here, and only in a child: ``sys.executable -I`` (isolated: no user site,
no PYTHON* variables, the script's folder not on sys.path) running this very
file as a script, with a wall-clock limit (:data:`TIMEOUT`), CPU-time and
address-space limits (``resource.setrlimit`` in ``preexec_fn`` where the
platform has it), stdout/stdin closed off, and a private temporary folder for
the exchange. The parent writes ``request.json`` (the code blocks, which
functions to call, the points); the child writes ``result.json``. An endless
loop, a crash, a ``sys.exit`` or a memory bomb in a note costs one child, not
symact: the result for that block says what went wrong.

The child gives note code what notes assume: ``np``, ``numpy`` and ``math``
without imports, and ``plt``/``matplotlib`` as a stub that accepts and ignores
every call (so top-level plotting is harmless and no window opens). Each code
block runs in a fresh child that first replays the earlier blocks of the note
which ran cleanly (helpers defined earlier stay available; a block that timed
out is not replayed). Functions are called on the whole array of points; if that
raises or returns the wrong shape (scalar-only code such as ``if x > 0:``) they
are called element by element with ``numpy.float64`` arguments. NumPy
``RuntimeWarning``s (overflow, invalid value) are recorded, not printed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

#: Seconds a child may run (each code block gets its own child).
TIMEOUT = 10.0
#: Address-space limit of a child, in bytes.
MEMORY_LIMIT = 2 * 1024**3


@dataclass
class Call:
    """What one function gave: on the scalar points and on each test vector."""

    scalar: list[float] | None = None
    scalar_mode: str = ""
    scalar_error: str | None = None
    vectors: list[list[float] | None] = field(default_factory=list)
    vector_errors: list[str | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vector_warnings: list[str] = field(default_factory=list)


@dataclass
class BlockResult:
    """The outcome of one code block: an error (if its child failed) and its functions' calls."""

    error: str | None = None
    calls: dict[str, Call] = field(default_factory=dict)


def _limits(timeout: float, memory: int):
    def apply():  # runs in the child between fork and exec
        try:
            import resource
        except ImportError:  # pragma: no cover - not on POSIX
            return
        for res, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, int(timeout) + 2)):
            try:
                soft, hard = resource.getrlimit(res)
                cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(res, (cap, hard))
            except (ValueError, OSError):
                pass
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass
    return apply if os.name == "posix" else None


def run_block(blocks: list[str], index: int, functions: list[str], points: list[float],
              vectors: list[list[float]], *, replay: list[int] | None = None,
              timeout: float = TIMEOUT, memory: int = MEMORY_LIMIT) -> BlockResult:
    """Run ``blocks[index]`` (after replaying ``replay``) in a child and call ``functions``."""
    request = {"replay": [blocks[i] for i in (replay or [])], "block": blocks[index],
               "functions": functions, "points": points, "vectors": vectors}
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="symact-note-") as tmp:
        req, res = os.path.join(tmp, "request.json"), os.path.join(tmp, "result.json")
        with open(req, "w", encoding="utf-8") as fh:
            json.dump(request, fh)
        try:
            proc = subprocess.run(
                [sys.executable, "-I", os.path.abspath(__file__), req, res],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                cwd=tmp, env=env, timeout=timeout, preexec_fn=_limits(timeout, memory),
            )
        except subprocess.TimeoutExpired:
            return BlockResult(error=f"the code did not finish within {timeout:g} s (stopped)")
        if not os.path.exists(res):
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if proc.stderr else []
            why = tail[0] if tail else f"exit status {proc.returncode}"
            if proc.returncode and proc.returncode < 0:
                why = f"killed by signal {-proc.returncode} (time or memory limit)"
            return BlockResult(error=f"the code crashed: {why}")
        with open(res, encoding="utf-8") as fh:
            data = json.load(fh)
    out = BlockResult(error=data.get("error"))
    for name, c in data.get("calls", {}).items():
        out.calls[name] = Call(scalar=c.get("scalar"), scalar_mode=c.get("scalar_mode", ""),
                               scalar_error=c.get("scalar_error"), vectors=c.get("vectors", []),
                               vector_errors=c.get("vector_errors", []), warnings=c.get("warnings", []),
                               vector_warnings=c.get("vector_warnings", []))
    return out


# ============================================================================ the child
def _stub_module(name: str):
    import types

    class _Ignore:
        def __getattr__(self, _):
            return self

        def __call__(self, *a, **k):
            return self

        def __iter__(self):
            return iter((self, self))

        def __getitem__(self, _):
            return self

    mod = types.ModuleType(name)
    mod.__getattr__ = lambda attr: _Ignore()
    return mod


def _child(req_path: str, res_path: str) -> None:  # pragma: no cover - runs in the child
    import builtins
    import io
    import math
    import traceback
    import warnings

    import numpy as np

    sys.stdout = io.StringIO()
    mpl, pyplot = _stub_module("matplotlib"), _stub_module("matplotlib.pyplot")
    mpl.pyplot = pyplot
    sys.modules["matplotlib"], sys.modules["matplotlib.pyplot"] = mpl, pyplot
    with open(req_path, encoding="utf-8") as fh:
        req = json.load(fh)
    ns = {"__name__": "__note__", "__builtins__": builtins, "np": np, "numpy": np, "math": math,
          "plt": pyplot, "matplotlib": mpl}
    result: dict = {"error": None, "calls": {}}

    def describe(exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]

    for code in req["replay"]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(code, "<note>", "exec"), ns)
        except BaseException:  # noqa: BLE001 - note code may raise anything
            pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(req["block"], "<note>", "exec"), ns)
    except BaseException as exc:  # noqa: BLE001
        tb = traceback.extract_tb(exc.__traceback__)
        line = next((f.lineno for f in reversed(tb) if f.filename == "<note>"), None)
        result["error"] = describe(exc) + (f" (line {line} of the block)" if line else "")

    points = np.array(req["points"], dtype=np.float64)

    def as_floats(value, shape):
        arr = np.asarray(value)
        if arr.dtype == object or arr.shape != shape:
            raise ValueError("wrong shape")
        return [float(v) for v in arr.astype(np.float64).ravel()]

    for name in req["functions"]:
        fn = ns.get(name)
        call: dict = {"warnings": []}
        result["calls"][name] = call
        if not callable(fn):
            call["scalar_error"] = f"{name} is not defined"
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn"):
                try:
                    call["scalar"] = as_floats(fn(points.copy()), points.shape)
                    call["scalar_mode"] = "array"
                except BaseException:  # noqa: BLE001
                    caught.clear()
                    vals, first = [], None
                    for p in points:
                        try:
                            v = np.asarray(fn(np.float64(p)))
                            vals.append(float(v.astype(np.float64).ravel()[0]) if v.size == 1 else math.nan)
                        except BaseException as exc:  # noqa: BLE001
                            first = first or f"x = {float(p)!r}: {describe(exc)}"
                            vals.append(math.nan)
                    call["scalar"], call["scalar_mode"] = vals, "elementwise"
                    call["scalar_error"] = first
                rw = lambda: sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})  # noqa: E731
                call["warnings"] = rw()
                caught.clear()
                vecs, errs = [], []
                for v in req["vectors"]:
                    arr = np.array(v, dtype=np.float64)
                    try:
                        vecs.append(as_floats(fn(arr.copy()), arr.shape))
                        errs.append(None)
                    except BaseException as exc:  # noqa: BLE001
                        vecs.append(None)
                        errs.append(describe(exc))
                call["vectors"], call["vector_errors"] = vecs, errs
            call["vector_warnings"] = rw()
    with open(res_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":  # pragma: no cover - the child's entry point
    _child(sys.argv[1], sys.argv[2])
