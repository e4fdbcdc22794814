r"""What a stable primitive declares: the :class:`Primitive` record and its pieces.

A *stable primitive* is a small building block that floating point gets wrong
when it is written literally (``log(1 + exp(u))`` overflows, ``u + sqrt(u^2 + c)``
cancels) and right when it is computed its own way. Each one is declared once,
in its own module of :mod:`symact.primitives`, as one :class:`Primitive`:

``function``
    the SymPy function class (a :class:`StableFunction`): its textbook form
    (``standard_form``) and its derivative (``fdiff``, itself in stable primitives);
``rules``
    the rewrites (:class:`Rule`) that put it into an expression, each with
    example expressions it fires on;
``kernel``
    how the generated NumPy kernels compute it (:class:`Kernel`): a ufunc, or a
    helper function computing in place;
``code``
    how every code generator target computes it (:class:`Code`, keyed by the
    target's name): a library function it calls, or the source of a small helper
    emitted into the generated file; LaTeX prints the textbook form instead;
``oracle``
    the SymPy form the mpmath oracle evaluates, where not the textbook form;
``decay``
    its form at an argument going to +-oo, in e^-|u| (codegen's subnormal-safe tails).

Nothing else in symact keeps a per-primitive table: the rewrite engine
(:mod:`symact.primitives.rewrite`), the kernels' lowering, the oracle and every
codegen target read these records from the registry (:data:`symact.primitives.REGISTRY`),
and ``tests/test_primitives.py`` names any primitive that lacks a piece for a target.
This module imports only SymPy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import sympy as sp


class StableFunction(sp.Function):
    """A stable primitive's SymPy function; ``standard()`` gives the textbook form.

    Subclasses define ``standard_form(cls, *args)`` and ``fdiff``. Extra arguments
    after the first are constants (``hypot(u, a)``'s a)."""

    nargs = 1
    is_real = True

    @classmethod
    def standard_form(cls, *args):  # pragma: no cover - every primitive overrides it
        raise NotImplementedError(f"{cls.__name__} has no standard form")

    def standard(self):
        return self.standard_form(*self.args)

    def _eval_evalf(self, prec):
        return self.standard()._eval_evalf(prec)


@dataclass(frozen=True)
class Rule:
    """One rewrite: ``apply(expr)`` returns the replacement, or None where it does not match.

    Rules are tried in order of ``rank`` (lowest first) on every node, bottom up
    (:func:`symact.primitives.rewrite.stabilize`); ``examples`` are expressions in x it
    fires on (the tests check that each rewrite is an identity there)."""

    name: str
    pattern: str
    apply: Callable[[sp.Expr], sp.Expr | None]
    why: str
    rank: int
    examples: tuple = ()


@dataclass(frozen=True)
class Kernel:
    """How the generated NumPy kernels compute a primitive.

    ``call`` is either the name of a ufunc-like function in the kernels' namespace
    (``"np.log1p"``, ``"np.hypot"``; called ``call(u, *consts, out=...)``) or a helper
    function ``call(u, *consts, out, *float_scratch, *bool_scratch)`` that computes in
    place, needing ``floats`` and ``bools`` scratch buffers like ``u``. ``scipy``: it
    is evaluated through SciPy in float64 (no long-double or float32 chain then)."""

    call: str | Callable
    floats: int = 0
    bools: int = 0
    scipy: bool = False


@dataclass(frozen=True)
class Code:
    """How one code generator target computes a primitive: ``call`` is the function the
    generated code calls; ``source`` is None for a library function (``math.log1p``),
    else the helper's source emitted into the file (a callable gives a source whose
    tables are fitted when first asked for). C sources are templates in ``T`` (the C
    type) with ``F``-suffixed libm names (``expF``), instantiated per precision. ``needs``
    names the primitives whose helpers this helper calls (emitted with it)."""

    call: str
    source: str | Callable[[], str] | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Primitive:
    """One stable primitive, declared once (see the module docstring)."""

    function: type
    kernel: Kernel
    code: Mapping[str, Code]
    rules: tuple[Rule, ...] = ()
    #: the SymPy form the oracle evaluates, ``oracle(*args)``; None: the textbook form
    oracle: Callable[..., sp.Expr] | None = None
    #: ``decay(u, s)``: the value where u -> s*oo (s = +-1) as a function of E = exp(-s u)
    #: (or None to keep the primitive there); None: the primitive has no such form
    decay: Callable[[sp.Expr, int], sp.Expr | None] | None = None
    #: constant extra arguments to test it with (one tuple per case)
    samples: tuple[tuple, ...] = ((),)
    #: the open interval of u where it is real (log1p: u > -1)
    domain: tuple[float, float] = (float("-inf"), float("inf"))
    #: position among helpers emitted into generated files (and in the registry)
    order: int = 100
    why: str = ""
    #: built on exp of its argument alone (the kernels' exp-rational forms may rewrite it)
    built_on_exp: bool = False

    @property
    def name(self) -> str:
        return self.function.__name__

    def oracle_form(self, *args) -> sp.Expr:
        """The SymPy form the oracle evaluates at ``args``."""
        return self.oracle(*args) if self.oracle is not None else self.function.standard_form(*args)


#: the array module of each array-library target, as its generated code spells it
ARRAY_MODULES = {"numpy": "np", "torch": "torch", "jax": "jnp"}


def array_code(call: str, template: str, **override: Code) -> dict[str, Code]:
    """The helper ``call`` for every array-library target, from one source ``template``
    in ``{M}`` (the array module: ``np``, ``torch``, ``jnp``); ``override`` replaces a
    target's piece where its library differs."""
    out = {t: Code(call, template.replace("{M}", m)) for t, m in ARRAY_MODULES.items()}
    out.update(override)
    return out


def library_code(**calls: str) -> dict[str, Code]:
    """Library functions, one per target: ``library_code(numpy="np.log1p", c="log1p")``."""
    return {t: Code(c) for t, c in calls.items()}


# --------------------------------------------------------------------------- pattern helpers for rules
def one_plus(e: sp.Expr):
    """``w`` when ``e`` is ``1 + w``, else None."""
    if isinstance(e, sp.Add) and sp.S.One in e.args:
        return e - 1
    return None


def const_part(e: sp.Add) -> sp.Expr:
    """The sum of the number terms of ``e``."""
    return sum((a for a in e.args if a.is_number), sp.S.Zero)


def other_terms(e: sp.Add, *skip) -> sp.Expr:
    """The sum of the non-number terms of ``e`` other than ``skip``."""
    return sp.Add(*[b for b in e.args if not b.is_number and not any(b is s for s in skip)])
