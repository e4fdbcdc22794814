"""The :class:`Target` base class: what :func:`symact.codegen.generate` asks of every target.

A target is one object, defined in its own module of :mod:`symact.codegen.targets`
(the registry there collects them). It says which dtypes it writes, how a name
becomes one of its identifiers, and writes the whole file from a
:class:`symact.codegen.forms.Plan`. Everything in which targets differ is an
attribute or a method of the target; nothing outside a target's module asks for
its name.
"""
from __future__ import annotations

import abc
import keyword
import re

from symact.codegen.printer import CodegenError

DTYPES = ("float64", "float32")

#: names a generated Python-syntax identifier must not take: keywords, the modules the
#: generated files import, the builtins they call (one set for every Python-syntax target,
#: so that a name maps alike in each of them)
PYTHON_RESERVED = frozenset(set(keyword.kwlist) | {"math", "np", "numpy", "torch", "jax", "jnp", "abs", "max", "min",
                                                   "float", "sum", "len", "range", "list", "zip"})


class Target(abc.ABC):
    """One output language; subclasses set the attributes and implement :meth:`write`."""

    #: the name users pass (``symact codegen --target NAME``); the module in targets/ has it too
    name: str = ""
    #: position in :data:`symact.codegen.TARGETS` (listings, the CLI help)
    order: int = 0
    #: the dtypes it writes, and why it writes no others
    dtypes: tuple[str, ...] = DTYPES
    dtype_reason: str = ""
    #: identifiers a generated name must avoid (with its ``_grad``/``f``/``_gradf`` variants)
    reserved: frozenset = PYTHON_RESERVED
    #: whether :meth:`write` needs the plan (the forms measured against the oracle)
    planned: bool = True
    #: the printer class (SymPy's printer of the language, with the target's tables as data)
    printer: type
    #: helper name (a stable primitive, ``dd``, ``rootpoly``, ``shift``) -> its source in this
    #: target; a callable gives a source whose tables are fitted when first asked for
    helpers: dict = {}

    def check_dtype(self, dtype: str) -> None:
        """Refuse (:class:`CodegenError`) a dtype of :data:`DTYPES` that this target does not write."""
        if dtype not in self.dtypes:
            raise CodegenError(f"the {self.name} target {self.dtype_reason}: {' or '.join(self.dtypes)} only")

    def identifier(self, name: str) -> str:
        """``name`` made a valid identifier here (``-`` -> ``_``; clashes get ``_act``)."""
        ident = re.sub(r"\W", "_", name)
        if not ident or ident[0].isdigit():
            ident = "f_" + ident
        stems = {ident, ident + "_grad", ident + "f", ident + "_gradf"}
        if stems & self.reserved or ident.startswith(("_", "symact_")):
            ident += "_act"
        return ident

    def helper_source(self, name: str) -> str:
        """The source of helper ``name`` as emitted into a file (see :attr:`helpers`)."""
        src = self.helpers[name]
        return src() if callable(src) else src

    @abc.abstractmethod
    def write(self, act, plan, ident: str, dtype: str) -> str:
        """The whole source file for ``act`` (``plan`` is None unless :attr:`planned`)."""

    def __repr__(self) -> str:
        return f"<codegen target {self.name}>"
