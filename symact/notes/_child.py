"""The service a note's sandbox runs (:mod:`symact.notes.sandbox`): each block once, in one
namespace, then the evaluation of the functions asked for.

Loaded by path in the child (:mod:`symact.sandbox.child`) before it is confined, so it
imports nothing of symact: standard library and NumPy only.
"""
from __future__ import annotations

import math
import signal
import sys
import time

#: Longest message (error, warning) sent to the parent (it cuts them too).
MESSAGE_LIMIT = 300


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


class _Overrun(BaseException):
    """A step ran past its time: raised into the note's code by SIGALRM."""


def serve(wire, cfg: dict) -> None:  # pragma: no cover - runs in the child
    import builtins
    import traceback
    import warnings

    import numpy as np

    mpl, pyplot = _stub_module("matplotlib"), _stub_module("matplotlib.pyplot")
    mpl.pyplot = pyplot
    sys.modules["matplotlib"], sys.modules["matplotlib.pyplot"] = mpl, pyplot
    ns = {"__name__": "__note__", "__builtins__": builtins, "np": np, "numpy": np, "math": math,
          "plt": pyplot, "matplotlib": mpl}
    limit = {"s": 0.0}

    def on_alarm(*_):
        raise _Overrun()

    def describe(exc: BaseException) -> str:
        if isinstance(exc, _Overrun):
            return f"the code did not finish within {limit['s']:g} s (stopped)"
        return (f"{type(exc).__name__}: {exc}".strip().splitlines() or [""])[0][:MESSAGE_LIMIT]

    def timed(deadline: float, step: float, fn):
        """Run ``fn()`` with a SIGALRM at min(step, deadline); re-raise what it raises."""
        left = min(step, deadline - time.monotonic())
        if left <= 0:
            limit["s"] = 0.0
            raise _Overrun()
        limit["s"] = round(left, 1)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, left)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def as_floats(value, shape):
        arr = np.asarray(value)
        if arr.dtype == object or arr.shape != shape:
            raise ValueError("wrong shape")
        return [float(v) for v in arr.astype(np.float64).ravel()]

    def evaluate(fn, points, vectors, call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn"):
                try:
                    call["scalar"] = as_floats(fn(points.copy()), points.shape)
                    call["scalar_mode"] = "array"
                except _Overrun:
                    raise
                except BaseException:  # noqa: BLE001 - note code may raise anything
                    caught.clear()
                    vals, first = [], None
                    for p in points:
                        try:
                            v = np.asarray(fn(np.float64(p)))
                            vals.append(float(v.astype(np.float64).ravel()[0]) if v.size == 1 else math.nan)
                        except _Overrun:
                            raise
                        except BaseException as exc:  # noqa: BLE001
                            first = first or f"x = {float(p)!r}: {describe(exc)}"
                            vals.append(math.nan)
                    call["scalar"], call["scalar_mode"] = vals, "elementwise"
                    call["scalar_error"] = first
                rw = lambda: sorted({str(w.message) for w in caught  # noqa: E731
                                     if issubclass(w.category, RuntimeWarning)})
                call["warnings"] = rw()
                caught.clear()
                vecs, errs = [], []
                for v in vectors:
                    arr = np.array(v, dtype=np.float64)
                    try:
                        vecs.append(as_floats(fn(arr.copy()), arr.shape))
                        errs.append(None)
                    except _Overrun:
                        raise
                    except BaseException as exc:  # noqa: BLE001
                        vecs.append(None)
                        errs.append(describe(exc))
                call["vectors"], call["vector_errors"] = vecs, errs
            call["vector_warnings"] = rw()

    while True:
        req = wire.recv()
        if req is None:
            return
        deadline = time.monotonic() + float(req["budget"])
        step = float(req["step"])
        result: dict = {"error": None, "calls": {}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timed(deadline, step, lambda: exec(compile(req["block"], "<note>", "exec"), ns))
        except BaseException as exc:  # noqa: BLE001 - note code may raise anything
            tb = traceback.extract_tb(exc.__traceback__)
            line = next((f.lineno for f in reversed(tb) if f.filename == "<note>"), None)
            result["error"] = describe(exc) + (f" (line {line} of the block)" if line else "")
        points = np.array(req["points"], dtype=np.float64)
        for name in req["functions"]:
            fn = ns.get(name)
            call: dict = {"warnings": []}
            result["calls"][name] = call
            if not callable(fn):
                call["scalar_error"] = f"{name} is not defined"
                continue
            try:
                timed(deadline, step, lambda: evaluate(fn, points, req["vectors"], call))
            except BaseException as exc:  # noqa: BLE001
                call.clear()
                call["scalar_error"] = describe(exc) if isinstance(exc, _Overrun) else (
                    f"evaluating it failed: {describe(exc)}")
        wire.send(result)

