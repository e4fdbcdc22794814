"""The registry of codegen targets: one module per target language, collected here.

Every public module of this package (``numpy``, ``python``, ``c``, ``torch``,
``jax``, ``latex``) defines ``TARGET``, a :class:`symact.codegen.target.Target`
whose ``name`` is the module's name; :data:`REGISTRY` maps names to them in the
order of their ``order`` attribute, and :data:`symact.codegen.TARGETS` is its keys.
Adding a target is adding one module here (and its tests); nothing else lists
targets. Modules starting with ``_`` hold what several targets share.
"""
from __future__ import annotations

import importlib
import pkgutil

from symact.codegen.printer import CodegenError
from symact.codegen.target import Target


def _discover() -> dict[str, Target]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        target = importlib.import_module(f"{__name__}.{info.name}").TARGET
        assert target.name == info.name, (info.name, target.name)
        found.append(target)
    return {t.name: t for t in sorted(found, key=lambda t: (t.order, t.name))}


#: target name -> target, in listing order
REGISTRY: dict[str, Target] = _discover()
TARGETS = tuple(REGISTRY)


def get(name: str) -> Target:
    """The target called ``name``; an unknown name is a :class:`CodegenError` that lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise CodegenError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None
