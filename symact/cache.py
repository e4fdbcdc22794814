"""A disk cache for symbolic work: derivatives, limits, facts and verdicts.

SymPy work is deterministic but can take seconds (limits of gelu_tanh's
derivative). Results are stored under ``$SYMACT_CACHE_DIR`` (default
``~/.cache/symact``), keyed by what defines them (the ``srepr`` of the
expression, parameter values and conventions) and by the source of the modules
that compute them, so a change to either recomputes. ``SYMACT_CACHE_DIR=off``
disables it. A missing, unreadable or corrupt entry is recomputed, never
trusted; the cached value is exactly what the computation returned.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import sympy as sp

_HERE = Path(__file__).parent
#: the modules whose code decides cached SymPy work and oracle values (the key includes their source)
_SOURCES = ("symbolic/forms.py", "analysis/facts.py", "analysis/linearity.py", "symbolic/exact.py",
            "numeric/oracle.py", "model/activation.py", "model/catalog.py")


def _code_hash() -> str:
    h = hashlib.sha256(sp.__version__.encode())
    for name in _SOURCES:
        h.update((_HERE / name).read_bytes())
    return h.hexdigest()[:16]


_CODE = _code_hash()


def _directory() -> Path | None:
    where = os.environ.get("SYMACT_CACHE_DIR", "")
    if where.lower() == "off":
        return None
    return Path(where) if where else Path.home() / ".cache" / "symact"


def activation_key(act) -> tuple[str, ...]:
    """What defines an activation: name, definition, parameter values, conventions."""
    return (act.name, sp.srepr(act.definition),
            repr(sorted((k, sp.srepr(v)) for k, v in act.param_values.items())),
            repr(sorted((sp.srepr(sp.sympify(k)), v) for k, v in act.conventions.items())))


def _path(kind: str, parts: tuple[str, ...]) -> Path | None:
    folder = _directory()
    if folder is None:
        return None
    digest = hashlib.sha256("\x00".join((kind, _CODE) + tuple(parts)).encode()).hexdigest()
    return folder / f"{kind}-{digest}.pickle"


def load(kind: str, parts: tuple[str, ...]):
    """The stored value, or None when absent, unreadable or the cache is off."""
    path = _path(kind, parts)
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None


def store(kind: str, parts: tuple[str, ...], value) -> None:
    """Store ``value`` atomically; a read-only home simply works without the cache."""
    path = _path(kind, parts)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


def cached(kind: str, parts: tuple[str, ...], compute):
    """``compute()``, memoized on disk under ``kind`` and ``parts`` (strings).

    A fresh value goes through the same pickle round trip as a stored one, so a
    cold, a warm and an uncached run return the same objects: unpickling rebuilds
    SymPy trees with evaluation (``Mul(1/2, a + b)`` distributes), which would
    otherwise print differently from the unevaluated form a simplification made.
    """
    value = load(kind, parts)
    if value is None:
        value = pickle.loads(pickle.dumps(compute(), protocol=pickle.HIGHEST_PROTOCOL))
        store(kind, parts, value)
    return value
