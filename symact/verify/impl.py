"""A user's implementation from ``--impl SPEC``: loaded in a confined child (the CLI), or here.

SPEC is ``path/to/file.py:function`` (a file, imported from its path with
:mod:`importlib`) or ``package.module:function`` (an importable module). The
user names the code to run, so importing it is their explicit request; symact
never evaluates a string. Everything that can go wrong while loading raises
:class:`~symact.errors.SpecError` with one line naming what is missing.

SPEC may name a class (``file.py:Sigmoid``): it is instantiated, its constructor given the
activation's parameters it takes and nothing else, and its instance is called (``__call__``,
else ``forward``); a constructor that needs any other argument, or raises, is a SpecError
that says so. An unbound method (``file.py:Sigmoid.forward``, or a function taken from a class
whose first parameter is ``self``) is a SpecError too: it cannot be called with x alone.

:func:`bind` passes the activation's parameters to the code when its signature takes them, under
the catalog's name or another spelling (:mod:`symact.model.spellings`: ``alpha`` for leaky_relu's
negative_slope), so the code is judged at the values the reference uses; :func:`describe_call`
says how it was called. The signature is inspected where the code runs (in the child for
:class:`ImplProcess`).

:class:`ImplProcess` (what ``symact check --impl/--grad-impl`` uses) imports the
modules and calls the functions only in a child process, confined by
:mod:`symact.sandbox` (or, with ``trust``, unconfined where confinement is
impossible). Its :meth:`ImplProcess.start` returns one :class:`RemoteFunction` per
SPEC: a callable that sends its argument's bytes to the child and rebuilds what the
function returned, so :func:`symact.verify.difftest.run_tests` treats it like the
function itself (same values, exceptions by type name and message, warnings). When
the child exits (``sys.exit``, ``os._exit``), crashes or is killed by a signal, runs
past the time budget, or writes to stdout or stderr, the call raises :class:`Stopped`
naming the reason, and so does every later call: the implementation's tests fail with
it and symact's own output and exit code are untouched. The child may read the
implementation's file and folder (or its module's), the Python installation and
``sys.path``; it writes only in its private tmpfs and has no network.

:func:`load_impl` imports in this process: for library callers (and
:func:`symact.testing.assert_implements`, which runs in the user's own test process).
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
import time
import warnings
from typing import Callable

from symact.errors import SpecError
from symact.verify import _impl_child as _child

#: Seconds the implementation may take in all (its imports and every call), by default.
TIMEOUT = 60.0
#: Address-space limit of the implementation's processes. Measured (sigmoid, 200 points):
#: torch 2.13 CPU works within 1 GiB, JAX 0.10 needs 2 GiB (at 1 GiB: MemoryError or SIGSEGV);
#: 8 GiB leaves room for larger frameworks while a runaway allocation still fails.
IMPL_MEMORY = 8 * 1024**3
#: Processes and threads the implementation may have at once (JAX starts a thread pool).
IMPL_PROCESSES = 64
#: What the machine is, readable by implementations: torch's cpuinfo reads these (without
#: them it prints an error at its first call). No process's files, no /sys beyond the CPUs.
SYSTEM_READ = ("/proc/cpuinfo", "/sys/devices/system/cpu")
#: The service the child runs.
SERVICE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_impl_child.py")


def _describe(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _load_file(path: str, spec: str):
    if not os.path.exists(path):
        raise SpecError(f"--impl {spec!r}: no file {path!r}")
    if not os.path.isfile(path):
        raise SpecError(f"--impl {spec!r}: {path!r} is not a file")
    try:
        return _child.import_file(os.path.abspath(path))
    except ImportError as exc:
        if exc.name == "symact_impl":
            raise SpecError(f"--impl {spec!r}: {path!r} cannot be imported as Python") from None
        raise SpecError(f"--impl {spec!r}: importing {path!r} raised {_describe(exc)}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a user file may raise anything, even SystemExit
        raise SpecError(f"--impl {spec!r}: importing {path!r} raised {_describe(exc)}") from None


def _load_module(modname: str, spec: str):
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        missing = exc.name or modname
        raise SpecError(f"--impl {spec!r}: no module named {missing!r}") from None
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise SpecError(f"--impl {spec!r}: importing {modname!r} raised {_describe(exc)}") from None


def load_impl(spec: str) -> Callable:
    """The callable named by ``path/to/file.py:function`` or ``package.module:function``."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("--impl needs FILE.py:FUNCTION or MODULE:FUNCTION")
    spec = spec.strip()
    where, sep, attr = spec.rpartition(":")
    if not sep or not where:
        raise SpecError(f"--impl {spec!r}: missing ':FUNCTION' (write FILE.py:FUNCTION or MODULE:FUNCTION)")
    if not attr:
        raise SpecError(f"--impl {spec!r}: no function name after ':'")
    looks_like_file = where.endswith(".py") or os.sep in where or "/" in where
    module = _load_file(where, spec) if looks_like_file else _load_module(where, spec)
    try:
        obj, error = _child.find(module, {"spec": spec, "flag": "--impl", "where": where, "attr": attr})
    except Exception as exc:  # noqa: BLE001 - a hostile __getattr__, a property that raises
        raise SpecError(f"--impl {spec!r}: loading {where!r} raised {_describe(exc)}") from None
    if error:
        raise SpecError(error)
    if isinstance(obj, type):  # a class: its instance, made with no arguments
        try:
            obj = _child.plan(obj, [], {})[0]
        except _child.PlanError as exc:
            raise SpecError(f"--impl {spec!r}: {exc}") from None
    return obj


# =========================================================================== parameters
def call_parameters(act) -> tuple[list, dict]:
    """What an implementation of ``act`` may be passed: its parameters (catalog name, every
    spelling of :mod:`symact.model.spellings`, value as a float) and its selecting flags."""
    from symact.model import spellings

    params = [{"name": p.name, "spellings": list(spellings.spellings(act, p.name)),
               "value": float(act.param_values[p.name])} for p in act.params]
    return params, spellings.flags(act)


def _literal(v) -> str:
    return repr(v) if isinstance(v, (str, bool)) else repr(float(v))


def describe_call(act, info: dict, name: str) -> dict:
    """What :func:`bind` did, for the report: ``called_with`` ({keyword: value as Python writes
    it}) and ``text`` (one line: the call, the names it used, the parameters it did not get)."""
    from symact.model import spellings

    init, kwargs, names = info["init"], info["kwargs"], info["names"]
    args = lambda d: ", ".join(f"{k}={_literal(v)}" for k, v in d.items())  # noqa: E731
    if info["cls"]:
        call = f"{info['cls']}({args(init)})" + (f".{info['method']}" if info["method"] else "")
    else:
        call = name
    call += f"(x{', ' + args(kwargs) if kwargs else ''})"
    text = f"called as {call}"
    renamed = [f"{s} is {act.name}'s {n}" for s, n in names.items() if n and s != n]
    if renamed:
        text += f" ({'; '.join(renamed)})"
    passed = {n or s for s, n in names.items()}
    missing = [p for p in act.params if p.name not in passed]
    if missing:
        which = ", ".join(f"{p.name} = {act.param_values[p.name]}" for p in missing)
        if not info["inspected"]:
            why = "its signature cannot be inspected"
        else:
            took = ", ".join(s for p in missing for s in spellings.spellings(act, p.name))
            why = f"its signature takes none of {took}"
        text += f"; {which} not passed ({why}): the code used its own value"
    return {"called_with": {k: _literal(v) for k, v in {**init, **kwargs}.items()}, "text": text}


def _info(raw) -> dict:
    """The plan the child describes, checked field by field (the child runs untrusted code)."""
    def value(v):
        if isinstance(v, bool) or (isinstance(v, float) and math.isfinite(v)):
            return v
        if isinstance(v, int) and abs(v) < 2**53:
            return float(v)
        if isinstance(v, str) and len(v) <= 40:
            return v
        raise ValueError(v)

    def name(v, none=False):
        if (v is None and none) or (isinstance(v, str) and v.isidentifier() and len(v) <= 80):
            return v
        raise ValueError(v)

    if not isinstance(raw, dict):
        raise ValueError(raw)
    out = {"inspected": raw.get("inspected") is not False, "cls": name(raw.get("cls"), True),
           "method": name(raw.get("method"), True)}
    for key in ("kwargs", "init", "names"):
        got = raw.get(key) or {}
        if not isinstance(got, dict) or len(got) > 32:
            raise ValueError(key)
        out[key] = {name(k): (name(v, True) if key == "names" else value(v)) for k, v in got.items()}
    return out


class _Bound:
    """``fn(x, **kwargs)`` as a one-argument callable, named like ``fn``."""

    def __init__(self, fn, kwargs: dict):
        self.fn, self.kwargs = fn, dict(kwargs)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__wrapped__ = fn

    def __call__(self, x):
        return self.fn(x, **self.kwargs)

    def __repr__(self) -> str:
        return f"<{self.__name__} with {self.kwargs}>"


def bind(fn, act, label: str = "impl"):
    """``fn`` ready to be judged as ``act``: (the callable to call with x, what was done or None).

    Every parameter of ``act`` (its value in force: the catalog's default unless set) that
    ``fn``'s signature takes, under the catalog's name or another spelling
    (:mod:`symact.model.spellings`), is passed as a keyword argument, so the code is judged at
    the parameters the reference uses; so are flags that select ``act`` (gelu's
    ``approximate``). A class is instantiated (with the parameters its constructor takes) and
    its instance called. ``fn`` is a :class:`RemoteFunction` (planned in its child) or a
    callable called here. The second value is :func:`describe_call`'s dict, or None when
    there is nothing to say (no parameters, no flags, a plain function). Raises
    :class:`~symact.errors.SpecError` when ``fn`` cannot be called that way.
    """
    params, flags = call_parameters(act)
    if isinstance(fn, RemoteFunction):
        info = fn.process.bind(fn, params, flags)
        out = fn
        name = fn.__name__
    else:
        if not isinstance(fn, type):
            why = _child.unbound(fn)
            if why:
                raise SpecError(f"{label} is an unbound method: {why}; give an instance's method, the class "
                                "or a function")
        try:
            target, kwargs, info = _child.plan(fn, params, flags)
        except _child.PlanError as exc:
            raise SpecError(f"{label}: {exc}") from None
        name = getattr(fn, "__name__", None) or type(fn).__name__
        out = fn if (target is fn and not kwargs) else _Bound(target, kwargs)
    if not (params or flags or info["cls"] or info["kwargs"]):
        return out, None
    summary = describe_call(act, info, name)
    if isinstance(fn, RemoteFunction):
        fn.call_info = summary
    return out, summary


# =========================================================================== in a child
class Stopped(Exception):
    """The implementation cannot be called any more: its process exited, crashed, ran past the
    time budget or printed. The message says why; the implementation's tests fail with it."""


def _parse(spec, flag: str) -> dict:
    """What SPEC names, checked without running anything: kind, where, attr (and the file)."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"{flag} needs FILE.py:FUNCTION or MODULE:FUNCTION")
    spec = spec.strip()
    where, sep, attr = spec.rpartition(":")
    if not sep or not where:
        raise SpecError(f"{flag} {spec!r}: missing ':FUNCTION' (write FILE.py:FUNCTION or MODULE:FUNCTION)")
    if not attr:
        raise SpecError(f"{flag} {spec!r}: no function name after ':'")
    item = {"spec": spec, "flag": flag, "where": where, "attr": attr}
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not os.path.exists(where):
            raise SpecError(f"{flag} {spec!r}: no file {where!r}")
        if not os.path.isfile(where):
            raise SpecError(f"{flag} {spec!r}: {where!r} is not a file")
        full = os.path.realpath(where)
        return {**item, "kind": "file", "full": full, "read": [os.path.dirname(full)], "path": []}
    top = where.split(".")[0]
    try:
        found = importlib.util.find_spec(top)  # a top-level name: finders only, no module code runs
    except (ImportError, ValueError):
        found = None
    if not top.isidentifier() or found is None:
        raise SpecError(f"{flag} {spec!r}: no module named {top!r}")
    read = [os.path.realpath(p) for p in (found.submodule_search_locations or [])]
    if found.origin and os.path.isfile(found.origin) and not read:
        read = [os.path.dirname(os.path.realpath(found.origin))]
    path = [os.path.dirname(p) for p in read] if found.submodule_search_locations else read
    return {**item, "kind": "module", "read": read, "path": path}


def _python_paths() -> list[str]:
    """This interpreter's import path, without the current folder: the child reads these."""
    cwd = os.path.realpath(os.getcwd())
    out = []
    for p in sys.path:
        if not p or not os.path.isabs(p) or not os.path.exists(p):
            continue
        real = os.path.realpath(p)
        if real in (cwd, "/") or real in out:
            continue
        out.append(real)
    return out


def _exception(name: str, message: str) -> Exception:
    """An exception that reads like the implementation's own (type name and message)."""
    name = name if isinstance(name, str) and name.isidentifier() and len(name) <= 80 else "Exception"
    cls = _EXCEPTIONS.get(name)
    if cls is None:
        cls = _EXCEPTIONS[name] = type(name, (ImplError,), {"__module__": "implementation"})
    return cls(message) if message else cls()


class ImplError(Exception):
    """Base of the exceptions rebuilt from the child (their class names are the originals')."""


_EXCEPTIONS: dict[str, type] = {}
_RETURNED: dict[str, type] = {}


class _Returned:
    """Stands for an object the implementation returned that is not an array: numpy.asarray
    gives what it gave in the child, or raises what it raised."""

    def __init__(self, array=None, error: Exception | None = None, text: str = ""):
        self._array, self._error, self._text = array, error, text

    def __array__(self, dtype=None, copy=None):
        if self._error is not None:
            raise self._error
        return self._array if dtype is None else self._array.astype(dtype)

    def __repr__(self) -> str:
        return self._text


def _returned(type_name: str, **kw) -> _Returned:
    name = type_name if isinstance(type_name, str) and type_name.isidentifier() and len(type_name) <= 80 \
        else "object"
    cls = _RETURNED.get(name)
    if cls is None:
        cls = _RETURNED[name] = type(name, (_Returned,), {"__module__": "implementation"})
    return cls(**kw)


def _dtype(text) -> "np.dtype":
    import re

    import numpy as np

    if not isinstance(text, str) or not re.fullmatch(r"[<>|=]?[A-Za-z][0-9]{0,3}", text):
        raise ValueError(text)
    return np.dtype(text)


def _shape(value) -> tuple:
    if (not isinstance(value, list) or len(value) > 32
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in value)):
        raise ValueError(value)
    return tuple(value)


class RemoteFunction:
    """One implementation, called in its :class:`ImplProcess`: ``f(x)`` like the function itself."""

    def __init__(self, process: "ImplProcess", index: int, label: str, spec: str):
        self.process, self.index, self.label, self.spec = process, index, label, spec
        self.flag = "--" + label.replace("_", "-")
        self.__name__ = spec.rpartition(":")[2] or label
        #: how :func:`bind` made it call the code: {"called_with", "text"}, or None (with x alone)
        self.call_info: dict | None = None

    def __call__(self, x):
        return self.process.call(self.index, x)

    def __repr__(self) -> str:
        return f"<{self.label} {self.spec} in a child process>"


class ImplProcess:
    """The child that imports users' implementations and runs every call of them.

    ``specs``: (label, SPEC) pairs, e.g. ``[("impl", "f.py:f"), ("grad_impl", None)]``;
    ``timeout``: seconds for everything the implementation does (imports and calls);
    ``trust``: run unconfined where confinement is impossible (else :meth:`start` raises
    SpecError saying why). :attr:`execution` says which way it ran.
    """

    def __init__(self, specs, *, timeout: float = TIMEOUT, trust: bool = False,
                 memory: int | None = IMPL_MEMORY):
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise SpecError(f"--timeout must be a positive number of seconds, not {timeout!r}")
        self.specs = [(label, spec) for label, spec in specs]
        self.timeout, self.trust, self.memory = float(timeout), trust, memory
        self.remaining = self.timeout
        self.stopped: str | None = None
        self.execution: dict | None = None
        self._sandbox = None

    def __enter__(self) -> "ImplProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> list:
        """Start the child and import every SPEC; a RemoteFunction per SPEC (None where none)."""
        from symact.sandbox.runner import Sandbox, Unavailable

        items = [None if spec is None else _parse(spec, "--" + label.replace("_", "-"))
                 for label, spec in self.specs]
        given = [it for it in items if it is not None]
        read, path = [], []
        for it in given:
            read += [p for p in it["read"] if p not in read]
            path += [p for p in it["path"] if p not in path]
        python = _python_paths()
        read += [p for p in python + list(SYSTEM_READ) if p not in read]
        path += [p for p in python if p not in path]

        class _ImplSandbox(Sandbox):
            subject = "the implementation"
            refusal = "pass --trust to run the implementation unconfined"

        self._sandbox = _ImplSandbox(SERVICE, trust=self.trust, budget=self.timeout, memory=self.memory,
                                     nproc=IMPL_PROCESSES, read=read, settings={"syspath": path},
                                     binary=True, prefix="symact-impl-")
        flags = " and ".join(it["flag"] for it in given) or "--impl"
        try:
            how = self._sandbox.start()
        except Unavailable as exc:
            self.close()
            raise SpecError(f"{flags}: {exc}") from None
        self.execution = {"mode": how.mode, "detail": how.describe().replace("code ran", "implementation ran", 1)}
        out = []
        for index, it in enumerate(items):
            if it is None:
                out.append(None)
                continue
            answer = self._load(index, it)
            out.append(RemoteFunction(self, len([o for o in out if o is not None]), it["flag"][2:].replace(
                "-", "_"), it["spec"]))
            if self.stopped is None and answer.get("printed"):
                self.stopped = self._printed(answer["printed"], "while being imported")
        return out

    def _load(self, index: int, item: dict) -> dict:
        from symact.sandbox.runner import text

        answer = self._setup({"load": {k: item[k] for k in ("spec", "flag", "where", "attr", "kind")}
                              | ({"full": item["full"]} if "full" in item else {})},
                             f"{item['flag']} {item['spec']!r}: importing {item['where']!r}")
        if answer.get("loaded") is not True:
            self.close()
            raise SpecError(text(answer.get("error"), 500) or f"{item['flag']} {item['spec']!r}: cannot be loaded")
        return answer

    def _setup(self, request: dict, doing: str) -> dict:
        """One setup exchange (loading, binding) within the time left; a child that dies or
        overruns is a SpecError: ``doing`` and how it ended."""
        from symact.sandbox.runner import Dead

        start = time.monotonic()
        try:
            return self._sandbox.exchange(request, start + self.remaining)
        except Dead as exc:
            self.close()
            raise SpecError(f"{doing} {self._death(exc, load=True)}") from None
        finally:
            self.remaining -= time.monotonic() - start

    def bind(self, fn: "RemoteFunction", params: list, flags: dict) -> dict:
        """Plan ``fn``'s calls in the child (see :func:`bind`): the plan, checked."""
        from symact.sandbox.runner import text

        if self.stopped:
            raise SpecError(f"{fn.flag} {fn.spec!r}: {self.stopped}")
        if self._sandbox is None:
            raise SpecError(f"{fn.flag} {fn.spec!r}: the implementation's process is not running")
        answer = self._setup({"bind": fn.index, "params": params, "flags": flags},
                             f"{fn.flag} {fn.spec!r}: preparing {fn.__name__}")
        if answer.get("bound") is not True:
            self.close()
            raise SpecError(f"{fn.flag} {fn.spec!r}: "
                            + (text(answer.get("error"), 500) or "cannot be called with x alone"))
        try:
            info = _info(answer.get("info"))
        except (ValueError, TypeError):
            self.close()
            raise SpecError(f"{fn.flag} {fn.spec!r}: the implementation's process sent a malformed answer") from None
        if self.stopped is None and answer.get("printed"):
            self.stopped = self._printed(answer["printed"], "while being instantiated")
        return info

    # ------------------------------------------------------------------ calls
    def call(self, index: int, x):
        """``f(x)`` computed in the child (``index``: which function)."""
        import numpy as np

        from symact.sandbox.runner import Dead

        if self.stopped:
            raise Stopped(self.stopped)
        if self._sandbox is None:
            raise Stopped("the implementation's process is not running")
        scalar = isinstance(x, np.generic)
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"cannot send {arr.dtype} input to the implementation")
        where = f"during its call on {arr.dtype.name} input" + (f" of shape {arr.shape}" if arr.ndim else "")
        if self.remaining <= 0:
            self._stop(f"ran past --timeout {self.timeout:g} s (stopped) {where}")
        start = time.monotonic()
        try:
            answer = self._sandbox.exchange(
                {"call": index, "dtype": arr.dtype.str, "shape": list(arr.shape), "scalar": scalar},
                start + self.remaining, np.ascontiguousarray(arr).tobytes())
        except Dead as exc:
            self._stop(f"{self._death(exc)} {where}")
        finally:
            self.remaining -= time.monotonic() - start
        return self._result(answer, where)

    def _result(self, answer: dict, where: str):
        import numpy as np

        from symact.sandbox.runner import text

        if answer.get("printed"):
            self._stop(self._printed(answer["printed"], where))
        self._warn(answer.get("warnings"))
        if "exit" in answer:
            status = answer["exit"] if isinstance(answer["exit"], int) else 1
            said = text(answer.get("text"), 60)
            self._stop(f"the implementation exited with status {status} "
                       f"(sys.exit{'(' + said + ')' if said and said != str(status) else ''}) {where}")
        if "raised" in answer:
            raise _exception(answer["raised"], text(answer.get("message")) or "")
        kind = answer.get("value")
        try:
            if kind == "none":
                return None
            if kind == "str":
                t = text(answer.get("text"), 64) or ""
                return t.encode("latin-1", "replace") if answer.get("bytes") else t
            if kind == "error":
                return _returned(answer.get("type"), text=text(answer.get("repr"), 80) or "",
                                 error=_exception(answer.get("exception"), text(answer.get("message")) or ""))
            if kind == "odd":
                dt, shape = _dtype(answer.get("dtype")), _shape(answer.get("shape"))
                if math.prod(shape) > 10**6:
                    raise ValueError(shape)
                return _returned(answer.get("type"), array=np.empty(shape, dtype=dt),
                                 text=text(answer.get("repr"), 80) or "")
            if kind == "array":
                dt, shape = _dtype(answer.get("dtype")), _shape(answer.get("shape"))
                payload = answer.get("payload", b"")
                if dt.kind not in "fiubc" or len(payload) != math.prod(shape) * dt.itemsize:
                    raise ValueError("size")
                arr = np.frombuffer(payload, dtype=dt).reshape(shape).copy()
                how = answer.get("how")
                if how == "ndarray":
                    return arr
                if how == "generic":
                    return arr[()]
                if how == "python":
                    return arr.item()
                if how == "object":   # an object array of real numbers, sent as float64
                    if dt != np.dtype("<f8"):
                        raise ValueError("object")
                    return arr.astype(object)
                return _returned(answer.get("type"), array=arr, text=text(answer.get("repr"), 80) or "")
        except (ValueError, TypeError, OverflowError):
            pass
        self._stop(f"the implementation's process sent a malformed answer {where}")

    def _warn(self, items) -> None:
        import builtins

        from symact.sandbox.runner import text

        for item in (items if isinstance(items, list) else [])[:10]:
            if not (isinstance(item, list) and len(item) == 3):
                continue
            name, message = text(item[0], 80), text(item[1]) or ""
            if not name or not name.isidentifier():
                continue
            cat = getattr(builtins, name, None) if item[2] is True else None
            if not (isinstance(cat, type) and issubclass(cat, Warning)):
                cat = _WARNINGS.get(name) or _WARNINGS.setdefault(
                    name, type(name, (UserWarning,), {"__module__": "implementation"}))
            warnings.warn(message, cat, stacklevel=2)

    def _printed(self, printed, where: str) -> str:
        from symact.sandbox.runner import text

        parts = []
        for stream in ("stdout", "stderr"):
            got = printed.get(stream) if isinstance(printed, dict) else None
            if isinstance(got, list) and len(got) == 2 and isinstance(got[0], int):
                quote = (got[1] if isinstance(got[1], str) else "")[:200]
                parts.append(f"wrote {got[0]} bytes to {stream}: {quote!r}")
        return f"the implementation {' and '.join(parts) or 'wrote output'} {where} (an implementation must " \
               "not print: its output would mix with symact's)"

    def _death(self, exc, load: bool = False) -> str:
        kind = getattr(exc, "kind", "")
        if kind == "timeout":
            return (f"did not finish within --timeout {self.timeout:g} s" if load
                    else f"ran past --timeout {self.timeout:g} s (stopped)")
        who = "ended its process" if load else "the implementation"
        if kind == "exit":
            return f"{who} with exit status {exc.status} (os._exit or a crash)" if load else \
                f"the implementation exited with status {exc.status} (os._exit or a crash)"
        if kind == "signal":
            why = str(exc).replace("the code crashed: ", "")
            return f"crashed its process ({why})" if load else f"the implementation crashed: {why}"
        return (f"broke its process ({exc})" if load else
                f"the implementation broke its process ({str(exc).replace('the code ', '')})")

    def _stop(self, reason: str):
        if not reason.startswith("the implementation"):
            reason = "the implementation " + reason
        self.stopped = reason
        if self._sandbox is not None:
            self._sandbox._kill()
        raise Stopped(reason)

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None


_WARNINGS: dict[str, type] = {}
