"""The service an implementation's sandbox runs (:mod:`symact.verify.impl`): import the
user's modules, then call their functions on the arrays the parent sends.

Loaded by path in the child (:mod:`symact.sandbox.child`) before it is confined, so it
imports nothing of symact: standard library and NumPy only. Requests and answers are JSON
lines; arrays travel as raw bytes after the line (``nbytes``), with their dtype and shape.

Whatever the user's code does is turned into an answer: an exception is its type name and
first line; ``sys.exit`` is ``exit``; a return value is converted with ``numpy.asarray``
(inside a ``try``) and sent as bytes when it is numeric, else described (``none``, ``str``,
``odd``: a dtype that is not a number, ``error``: converting it raised). Warnings are
recorded and sent back. stdout and stderr go to files in the private folder; what the code
wrote to them during a call (or its import) is counted and its first bytes sent back.
"""
from __future__ import annotations

import os
import sys

#: Longest message taken from the user's code.
MESSAGE_LIMIT = 300
#: Bytes of printed output quoted back.
QUOTE = 200
#: Largest array answer, in bytes (the parent's limit on one answer).
ARRAY_LIMIT = 8 * 1024**2


def _first_line(exc: BaseException) -> str:
    try:
        msg = str(exc).strip()
    except BaseException:  # noqa: BLE001 - a hostile __str__
        msg = ""
    return (msg.splitlines()[0] if msg else "")[:MESSAGE_LIMIT]


def _describe(exc: BaseException) -> str:
    msg = _first_line(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _short_repr(obj) -> str:
    try:
        s = repr(obj)
    except BaseException:  # noqa: BLE001
        return f"<{type(obj).__name__}>"
    return s if len(s) <= 60 else s[:57] + "..."


class _Output:
    """One of stdout/stderr, sent to a file in the private folder; what was added since."""

    def __init__(self, fd: int, path: str):
        self.fd = fd
        wfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(wfd, fd)
        os.close(wfd)
        self.rd = os.open(path, os.O_RDONLY)
        self.seen = 0

    def news(self):
        """(bytes written since the last look, the first of them), or None."""
        try:
            size = os.fstat(self.rd).st_size
            if size <= self.seen:
                self.seen = min(self.seen, size)
                return None
            head = os.pread(self.rd, QUOTE, self.seen)
        except OSError:
            return None
        n, self.seen = size - self.seen, size
        return [n, head.decode("utf-8", "replace")]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the code may have replaced or closed them
            pass


def import_file(full: str):
    """Import the Python file at absolute path ``full`` as a module of its own (registered in
    ``sys.modules``, as dataclasses and pickling need); whatever its code raises propagates
    (the module is unregistered first). ImportError(name="symact_impl"): not importable."""
    import hashlib
    import importlib.util

    name = "symact_impl_" + hashlib.sha1(full.encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(name, full)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{full!r} cannot be imported as Python", name="symact_impl")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _load(item: dict):
    """(the callable, None) or (None, the one-line message the parent raises as SpecError)."""
    import importlib

    spec, flag, where, attr = item["spec"], item["flag"], item["where"], item["attr"]
    try:
        if item["kind"] == "file":
            try:
                module = import_file(item["full"])
            except ImportError as exc:
                if exc.name == "symact_impl":
                    return None, f"{flag} {spec!r}: {where!r} cannot be imported as Python"
                return None, f"{flag} {spec!r}: importing {where!r} raised {_describe(exc)}"
            except BaseException as exc:  # noqa: BLE001 - a user file may raise anything, even SystemExit
                return None, f"{flag} {spec!r}: importing {where!r} raised {_describe(exc)}"
        else:
            try:
                module = importlib.import_module(where)
            except ModuleNotFoundError as exc:
                return None, f"{flag} {spec!r}: no module named {(exc.name or where)!r}"
            except BaseException as exc:  # noqa: BLE001
                return None, f"{flag} {spec!r}: importing {where!r} raised {_describe(exc)}"
        return find(module, item)
    except BaseException as exc:  # noqa: BLE001 - a hostile __getattr__, a property that raises
        return None, f"{flag} {spec!r}: loading {where!r} raised {_describe(exc)}"


def find(module, item: dict):
    """(the object ``item["attr"]`` names in ``module``, None) or (None, the message): the object
    must be callable and not an unbound method (a function reached through its class whose first
    parameter is the instance). A class is returned as it is: :func:`plan` instantiates it."""
    import inspect

    spec, flag, where, attr = item["spec"], item["flag"], item["where"], item["attr"]
    obj, parent = module, None
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            return None, f"{flag} {spec!r}: {where!r} has no function {attr!r}"
        parent, obj = obj, getattr(obj, part)
    if not callable(obj):
        return None, f"{flag} {spec!r}: {attr!r} in {where!r} is {type(obj).__name__}, not callable"
    if isinstance(parent, type) and inspect.isfunction(obj) and not isinstance(
            inspect.getattr_static(parent, attr.rpartition(".")[2], None), staticmethod):
        cls = parent.__name__
        return None, (f"{flag} {spec!r} is an unbound method: {attr} needs an instance of {cls} as its first "
                      f"argument; name the class ('{where}:{attr.rpartition('.')[0]}', instantiated with no "
                      "arguments) or a function")
    why = unbound(obj)
    if why:
        return None, f"{flag} {spec!r} is an unbound method: {why}; name its class or a function"
    return obj, None


def unbound(fn) -> str:
    """Why ``fn`` is a method taken from its class (its first parameter is ``self`` and it is
    defined in a class), or ''. Such a function called with x alone cannot work."""
    import inspect

    try:
        if not inspect.isfunction(fn):
            return ""
        qual = getattr(fn, "__qualname__", "") or ""
        owner = qual.rpartition(".")[0]
        if not owner or owner.endswith("<locals>"):
            return ""
        first = next(iter(inspect.signature(fn).parameters.values()), None)
    except BaseException:  # noqa: BLE001 - a hostile object: not our question
        return ""
    if first is None or first.name != "self":
        return ""
    return f"{qual} takes self first (a method of {owner.rpartition('.')[2]}, taken from the class)"


# --------------------------------------------------------------------------- parameters
class PlanError(Exception):
    """The implementation cannot be called as asked (a class whose constructor needs arguments,
    a constructor that raised): the message is the usage error."""


def _keywords(sig, skip_first: bool) -> dict:
    """The parameters of ``sig`` that can be passed by keyword (after the first positional one,
    which receives x, when ``skip_first``)."""
    import inspect

    out, skipped = {}, not skip_first
    for p in sig.parameters.values():
        if not skipped and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            skipped = True
            continue
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            out[p.name] = p
    return out


def _choose(accepts: dict, params: list, flags: dict, done: set):
    """Keyword arguments for the parameters ``accepts`` takes: each activation parameter under its
    first spelling found (not those in ``done``), each flag as the type of the keyword's default."""
    kwargs, names = {}, {}
    for prm in params:
        if prm["name"] in done:
            continue
        for s in prm["spellings"]:
            if s in accepts and s not in kwargs:
                kwargs[s], names[s] = prm["value"], prm["name"]
                break
    for kw, choices in flags.items():
        p = accepts.get(kw)
        if p is None or kw in kwargs or kw in done:
            continue
        default = p.default
        kind = "bool" if isinstance(default, bool) else "str" if isinstance(default, str) else None
        if kind in choices:
            kwargs[kw], names[kw] = choices[kind], None
    return kwargs, names


def _signature(obj):
    import inspect

    try:
        return inspect.signature(obj)
    except BaseException:  # noqa: BLE001 - builtins without one, hostile objects
        return None


def plan(obj, params: list, flags: dict):
    """(the callable to call with x, the keyword arguments to pass it, what was done).

    ``params``: [{"name": catalog name, "spellings": [names, catalog's first], "value": float}];
    ``flags``: {keyword: {"bool": value, "str": value}}. A class is instantiated, with the
    parameters its constructor takes; its instance is called (``__call__``, else ``forward``)
    with those it takes in turn. Raises :class:`PlanError` when it cannot be.
    """
    import inspect

    info = {"kwargs": {}, "names": {}, "cls": None, "init": {}, "method": None, "inspected": True}
    fn = obj
    if isinstance(obj, type):
        name = getattr(obj, "__name__", "class")
        sig = _signature(obj)
        init = {}
        if sig is not None:
            init, names = _choose(_keywords(sig, skip_first=False), params, flags, set())
            info["names"].update(names)
            missing = [p.name for p in sig.parameters.values() if p.default is p.empty and p.name not in init
                       and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            if missing:
                raise PlanError(f"{name}() needs argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                                "give a function or a class whose constructor takes none"
                                + (" (or only the activation's parameters)" if params else ""))
        try:
            inst = obj(**init)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - user code: anything, SystemExit included
            shown = ", ".join(f"{k}={v!r}" for k, v in init.items())
            raise PlanError(f"{name}({shown}) raised {_describe(exc)}") from None
        info["cls"], info["init"] = name, init
        try:
            if callable(inst):
                fn = inst
            elif callable(getattr(inst, "forward", None)):
                fn, info["method"] = inst.forward, "forward"
            else:
                raise PlanError(f"{name} instances are not callable: it has neither __call__ nor forward")
        except PlanError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a hostile __getattr__
            raise PlanError(f"looking up {name}'s forward raised {_describe(exc)}") from None
    sig = _signature(fn)
    kwargs = {}
    if sig is None:
        info["inspected"] = False
    else:
        kwargs, names = _choose(_keywords(sig, skip_first=True), params, flags,
                                {info["names"][k] or k for k in info["init"]})
        info["names"].update(names)
    info["kwargs"] = kwargs
    return fn, kwargs, info


def _value(out, np) -> tuple[dict, bytes]:
    """The answer describing what a call returned, and its raw bytes."""
    kind = type(out).__name__
    if out is None:
        return {"value": "none"}, b""
    if isinstance(out, str):
        return {"value": "str", "text": out[:64]}, b""
    if isinstance(out, bytes):
        return {"value": "str", "text": out[:64].decode("latin-1"), "bytes": True}, b""
    try:
        arr = np.asarray(out)
        shape = [int(n) for n in arr.shape]
        if arr.dtype.kind == "O" and arr.size <= ARRAY_LIMIT // 8:
            real = _real_objects(arr, np)   # np.frompyfunc's output: judged by its values
            if real is not None:
                return {"value": "array", "type": kind, "how": "object", "dtype": "<f8", "shape": shape,
                        "repr": ""}, real.tobytes()
        if arr.dtype.kind not in "fiubc":
            return {"value": "odd", "type": kind, "dtype": arr.dtype.str, "shape": shape,
                    "repr": _short_repr(out)}, b""
        if arr.nbytes > ARRAY_LIMIT:
            raise ValueError(f"an array of {arr.nbytes} bytes is too large to return")
        data = np.ascontiguousarray(arr).tobytes()
    except BaseException as exc:  # noqa: BLE001 - ragged lists, __array__ that raises, anything
        return {"value": "error", "type": kind, "exception": type(exc).__name__, "message": _first_line(exc),
                "repr": _short_repr(out)}, b""
    if isinstance(out, np.ndarray):
        how = "ndarray"
    elif isinstance(out, np.generic):
        how = "generic"
    elif type(out) in (float, int, bool, complex):
        how = "python"
    else:
        how = "other"
    return {"value": "array", "type": kind, "how": how, "dtype": arr.dtype.str, "shape": shape,
            "repr": _short_repr(out) if how == "other" else ""}, data


def _real_objects(arr, np):
    """An object array whose every element is a real number float64 holds exactly, as
    float64 (C order); else None. The parent rebuilds it as an object array."""
    import numbers

    out = np.empty(arr.shape, dtype=np.float64)
    flat_out = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1)):
        if isinstance(v, (bool, np.bool_)):
            f = float(v)
        elif isinstance(v, numbers.Real):
            f = float(v)                     # OverflowError: not sent as numbers
            if isinstance(v, numbers.Integral) and f != v:
                return None                  # an integer float64 cannot hold
        else:
            return None
        flat_out[i] = f
    return out


def _bind(entry: list, params: list, flags: dict) -> dict:
    """Plan the calls of one loaded object (instantiating a class): the answer to "bind"."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn, kwargs, info = plan(entry[0], params, flags)
        except PlanError as exc:
            return {"bound": False, "error": str(exc)[:MESSAGE_LIMIT]}
        except BaseException as exc:  # noqa: BLE001 - anything else user code raised while planning
            return {"bound": False, "error": f"inspecting it raised {_describe(exc)}"}
    entry[1], entry[2] = fn, kwargs
    return {"bound": True, "info": info}


def serve(wire, cfg: dict) -> None:  # pragma: no cover - runs in the child
    import warnings

    import numpy as np

    outputs = {"stdout": _Output(1, os.path.join(cfg["tmp"], ".stdout")),
               "stderr": _Output(2, os.path.join(cfg["tmp"], ".stderr"))}
    sys.path[:] = [p for p in cfg.get("syspath", []) if isinstance(p, str)]
    functions: list = []

    def printed() -> dict:
        _flush()
        return {name: n for name, o in outputs.items() if (n := o.news()) is not None}

    while True:
        req = wire.recv()
        if req is None:
            return
        if "load" in req:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj, error = _load(req["load"])
            # a function is called as it is until "bind" says otherwise; a class waits for "bind"
            functions.append([obj, None if isinstance(obj, type) else obj, {}])
            wire.send({"loaded": error is None, "error": error, "printed": printed()})
            continue
        if "bind" in req:
            entry = functions[int(req["bind"])]
            answer = _bind(entry, req.get("params") or [], req.get("flags") or {})
            answer["printed"] = printed()
            wire.send(answer)
            continue
        entry = functions[int(req["call"])]
        unusable = None
        if entry[1] is None:  # a class never bound: instantiated with no arguments now
            unusable = _bind(entry, [], {}).get("error")
        fn, kwargs = entry[1], entry[2]
        data = req.get("payload", b"")
        x = np.frombuffer(data, dtype=np.dtype(req["dtype"])).reshape(req["shape"]).copy()
        arg = x[()] if req.get("scalar") else x
        answer, payload = {}, b""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if fn is None:
                    raise TypeError(unusable or "the implementation could not be instantiated")
                out = fn(arg, **kwargs)
            except SystemExit as exc:
                code = exc.code
                answer = {"exit": code if isinstance(code, int) and not isinstance(code, bool) else
                          (0 if code is None else 1), "text": "" if code is None else _short_repr(code)}
            except BaseException as exc:  # noqa: BLE001 - user code may raise anything
                answer = {"raised": type(exc).__name__, "message": _first_line(exc)}
            else:
                try:
                    answer, payload = _value(out, np)
                except SystemExit as exc:  # a __repr__ or __array__ that exits
                    answer = {"exit": exc.code if isinstance(exc.code, int) else 1, "text": ""}
            seen = []
            for w in caught:
                try:
                    item = [w.category.__name__, str(w.message)[:MESSAGE_LIMIT],
                            w.category.__module__ == "builtins"]
                except BaseException:  # noqa: BLE001
                    continue
                if item not in seen:
                    seen.append(item)
                if len(seen) >= 10:
                    break
        answer["warnings"] = seen
        answer["printed"] = printed()
        wire.send(answer, payload)
