"""Loading a user's implementation from ``--impl SPEC``.

SPEC is ``path/to/file.py:function`` (a file, imported from its path with
:mod:`importlib`) or ``package.module:function`` (an importable module). The
user names the code to run, so importing it is their explicit request; symact
never evaluates a string. Everything that can go wrong raises
:class:`~symact.errors.SpecError` with one line naming what is missing.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from typing import Callable

from symact.errors import SpecError


def _describe(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _load_file(path: str, spec: str):
    if not os.path.exists(path):
        raise SpecError(f"--impl {spec!r}: no file {path!r}")
    if not os.path.isfile(path):
        raise SpecError(f"--impl {spec!r}: {path!r} is not a file")
    full = os.path.abspath(path)
    name = "symact_impl_" + hashlib.sha1(full.encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(name, full)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"--impl {spec!r}: {path!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        module_spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - a user file may raise anything, even SystemExit
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise SpecError(f"--impl {spec!r}: importing {path!r} raised {_describe(exc)}") from None
    return module


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
    obj = module
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            raise SpecError(f"--impl {spec!r}: {where!r} has no function {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(f"--impl {spec!r}: {attr!r} in {where!r} is {type(obj).__name__}, not callable")
    return obj
