"""The registry: every module of :mod:`symact.primitives` that declares ``PRIMITIVES``.

Each primitive module ends with ``PRIMITIVES = (Primitive(...), ...)`` (the
:data:`MACHINERY` modules declare none); :data:`REGISTRY`
maps names to those records in the order of their ``order`` attribute (the order in
which generated files emit their helpers). Adding a primitive is adding one module
here; ``tests/test_primitives.py`` names every piece it lacks.
"""
from __future__ import annotations

import importlib
import pkgutil

import sympy as sp

from symact import cache
from symact.primitives.base import Primitive, StableFunction

#: the package's modules that declare no primitive (the machinery)
MACHINERY = frozenset({"base", "chebyshev", "registry", "rewrite"})


def _discover() -> dict[str, Primitive]:
    import symact.primitives as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in MACHINERY:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found += list(getattr(module, "PRIMITIVES", ()))
    names = [p.name for p in found]
    assert len(set(names)) == len(names), names
    return {p.name: p for p in sorted(found, key=lambda p: (p.order, p.name))}


#: primitive name -> its declaration, in ``order``
REGISTRY: dict[str, Primitive] = _discover()
#: primitive name -> its SymPy function class (each registered with the disk cache, so that
#: cached stable forms can name it: :func:`symact.cache.cacheable`)
PRIMITIVES: dict[str, type] = {n: cache.cacheable(p.function) for n, p in REGISTRY.items()}
_BY_CLASS = {p.function: p for p in REGISTRY.values()}


def primitive_of(e: sp.Basic) -> Primitive | None:
    """The declaration of ``e``'s function when ``e`` is a stable primitive, else None."""
    return _BY_CLASS.get(type(e)) if isinstance(e, StableFunction) else None
