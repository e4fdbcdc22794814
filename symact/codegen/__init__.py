r"""Standalone derivative code for an activation: NumPy, Python, C, PyTorch, JAX, LaTeX.

``generate(act, target, dtype="float64", name=None) -> GeneratedCode`` writes one
self-contained source file that defines ``NAME(x)`` and ``NAME_grad(x)``.
Nothing is written per activation; every file comes out of one pipeline, laid
out like SymPy's ``printing`` package (shared machinery, then one module per target):

* :mod:`symact.codegen.plan` -- the target-neutral plan (:class:`~symact.codegen.forms.Plan`):
  stable forms, branches on intervals of x, double-double arguments, the choice
  among candidate forms and the root fix-ups, the values at +-inf and past
  saturation. Its records are in :mod:`symact.codegen.forms`.
* :mod:`symact.codegen.measure` -- candidate forms run as generated NumPy code
  and scored against the mpmath oracle.
* :mod:`symact.codegen.tails` -- subnormal-safe tails, for targets whose runtime
  flushes subnormal intermediates (XLA on CPU).
* :mod:`symact.codegen.printer` -- what every printer shares: number spelling,
  stable primitives as calls of small helpers emitted only when used, explicit
  gaps (:class:`CodegenError`), constant folding.
* :mod:`symact.codegen.emit` -- source pieces several targets share: the header,
  one branch's body through ``sympy.cse`` (intermediates ``t0, t1, ...``),
  interval conditions, root tables.
* :mod:`symact.codegen.target` -- the :class:`~symact.codegen.target.Target`
  base class; :mod:`symact.codegen.targets` -- one module per target (its printer,
  its helper sources keyed by primitive name, its differences as attributes and
  methods) and the registry from which :data:`TARGETS` comes.

C and Python test the branches in an if/else chain; NumPy, PyTorch and JAX compute
every branch on x clipped into its own interval and select with ``where``. Vector
activations (softmax, log_softmax) take the max-subtraction form; their
``NAME_grad`` returns the Jacobian ``J[..., i, k]``.

Targets and their dtypes: NumPy computes in float64 and rounds once to the
requested dtype; C emits ``double`` functions and, with ``float32``, also
``NAMEf``/``NAME_gradf`` in float with the f-suffixed libm functions; PyTorch
and JAX compute in the input's dtype; Python uses floats (float64 only); LaTeX
is the same for both.
"""
from __future__ import annotations

from dataclasses import dataclass

from symact.codegen import targets
from symact.codegen.forms import Plan, ScalarForm
from symact.codegen.plan import plan
from symact.codegen.printer import CodegenError
from symact.codegen.target import DTYPES, Target
from symact.codegen.targets import TARGETS

__all__ = ["CodegenError", "DTYPES", "GeneratedCode", "Plan", "ScalarForm", "TARGETS", "Target", "generate",
           "identifier", "plan", "targets"]


@dataclass
class GeneratedCode:
    target: str
    name: str            # identifier of the function in the output
    source: str
    mapping: dict        # catalog name -> identifier (shown in the header)


def identifier(name: str, target: str) -> str:
    """``name`` made a valid identifier of ``target`` (``-`` -> ``_``; clashes get ``_act``)."""
    return targets.get(target).identifier(name)


def generate(act, target: str = "numpy", dtype: str = "float64", name: str | None = None) -> GeneratedCode:
    """The source of one target for ``act`` (see the module docstring)."""
    tgt = targets.get(target)
    if dtype not in DTYPES:
        raise CodegenError(f"unknown dtype {dtype!r}; choose float64 or float32")
    tgt.check_dtype(dtype)
    ident = tgt.identifier(name or act.name)
    if getattr(act, "shaped", False) and tgt.planned:  # code targets: hand-written; LaTeX: the printer
        from symact.codegen import shaped
        return GeneratedCode(tgt.name, ident, shaped.source(act, tgt.name, ident, dtype), {act.name: ident})
    src = tgt.write(act, plan(act) if tgt.planned else None, ident, dtype)
    return GeneratedCode(tgt.name, ident, src, {act.name: ident})
