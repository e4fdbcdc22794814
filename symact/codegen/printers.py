r"""SymPy printer subclasses for :mod:`symact.codegen`, one per target.

Each printer turns one *straight-line* SymPy expression (no Piecewise: the
generator splits branches itself) into an expression of its target language.
What a printer knows is data, held in class attributes:

``FUNCS``
    SymPy function class name -> target spelling (``"exp": "np.exp"``).
``HELPERS``
    stable primitive (:mod:`symact.symbolic.rewrite`) -> name of the small helper
    function the generator emits into the output; printing one records it in
    ``printer.used`` so only the helpers actually used are emitted.

Anything else raises :class:`CodegenError` through ``_print_not_supported``:
a function the target cannot spell is refused, never translated silently.

Numbers: exact rationals with small numerator and denominator are printed as
a division of the product (``x/3``, not ``0.333*x``) so that, for example,
hard_swish' = x/3 + 1/2 is exactly 0 at x = -3/2; every other constant
(``sqrt(2/pi)``, SELU's 31-digit alpha*scale) is folded to the float nearest
to its exact value by :func:`fold_constants` and printed with ``repr`` (the
shortest string that reads back to the same double).
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.c import C99CodePrinter
from sympy.printing.latex import LatexPrinter
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from symact.symbolic import rewrite as rw
from symact.errors import SymactError

_SMALL = 2**53


class CodegenError(SymactError):
    """An expression (or a name) that a target cannot express."""


class erfc_scaled(sp.Function):
    """erfc(u) * exp(c), computed without forming the (possibly subnormal) erfc(u):
    the JAX helper ``_erfc(u, c)`` evaluates exp(c - u^2) erfcx(u).  Used only in
    :mod:`symact.codegen`'s subnormal-safe tails; other printers refuse it."""

    nargs = 2


def _small_rational(c) -> bool:
    return c.is_Rational and not c.is_Integer and abs(c.p) < _SMALL and c.q < _SMALL


def fold_constants(e: sp.Expr) -> sp.Expr:
    """Numbers -> one float constant per product/sum (small rationals kept exact)."""
    if e.is_Number:
        return e if (e.is_Integer or _small_rational(e)) else sp.Float(float(sp.N(e, 40)))
    if e.is_number:  # sqrt(2)/sqrt(pi) and the like
        v = sp.N(e, 40)
        return sp.Rational(v) if v.is_Rational else sp.Float(float(v))
    if e.is_Atom:
        return e
    if isinstance(e, sp.Mul):
        nums = [a for a in e.args if a.is_number]
        rest = [fold_constants(a) for a in e.args if not a.is_number]
        c = sp.Mul(*nums)
        return fold_constants(c) * sp.Mul(*rest)
    if isinstance(e, sp.Pow) and e.exp.is_number:
        return sp.Pow(fold_constants(e.base), e.exp)
    return e.func(*[fold_constants(a) for a in e.args])


class _Common:
    """Number printing, primitive helpers and explicit gaps, shared by all code printers."""

    FUNCS: dict[str, str] = {}
    HELPERS: dict[str, str] = {}
    FLOAT_SUFFIX = ""

    def _init_common(self):
        self.used: set[str] = set()

    def _num(self, v: float) -> str:
        s = repr(float(v))
        if s in ("inf", "-inf", "nan"):
            raise CodegenError(f"constant {s} in generated code")
        return s + self.FLOAT_SUFFIX

    def _print_Float(self, e):
        return self._num(float(e))

    def _print_Rational(self, e):
        return self._num(float(sp.Rational(e)))  # float(Rational) is correctly rounded

    def _print_Integer(self, e):
        return str(int(e))

    def _print_Half(self, e):
        return self._num(0.5)

    def _print_Mul(self, e):
        c, rest = e.as_coeff_Mul()
        if _small_rational(c) and c.q & (c.q - 1):  # not a power of two: divide
            num = self._print(c.p * rest)
            return f"({num})/{self._num(c.q)}"
        return super()._print_Mul(e)

    def _print_Add(self, e, order=None):
        """``x/6 + 1/2`` prints as ``(x + 3)/6``: SymPy distributes Rational*Add on
        construction, so the common small denominator is taken out here --
        x + 3 is exact next to the kink at -3, x/6 + 1/2 cancels."""
        c, prim = e.primitive()
        if _small_rational(c) and c.p == 1 and c.q & (c.q - 1) and prim.is_Add:
            return f"({super()._print_Add(prim)})/{self._num(c.q)}"
        return super()._print_Add(e)

    def _print_Pow_common(self, e, rational=False):
        """Small integer powers as products (Python's float ** raises on overflow)."""
        b, n = e.base, e.exp
        if n == sp.S.Half:
            return f"{self.MOD}.sqrt({self._print(b)})"
        if n.is_Integer and 1 <= abs(int(n)) <= 3:
            base = self._print(b)
            prod = "*".join([f"({base})"] * abs(int(n)))
            return f"(1.0/({prod}))" if n < 0 else f"({prod})"
        return self._print_not_supported(e)

    def _print_Function(self, e):
        name = type(e).__name__
        if name in self.HELPERS:
            self.used.add(name)
            return f"{self.HELPERS[name]}({', '.join(self._print(a) for a in e.args)})"
        if name in self.FUNCS:
            return f"{self.FUNCS[name]}({', '.join(self._print(a) for a in e.args)})"
        return self._print_not_supported(e)

    def _print_not_supported(self, e):
        raise CodegenError(f"{type(self).__name__} cannot express {type(e).__name__} ({e})")


def _dispatch_functions(cls):
    """Route every SymPy function class the printer might meet to ``_print_Function``."""
    for f in ("exp", "log", "tanh", "erf", "erfc", "Abs", "sinh", "cosh", "sin", "cos", "sign", "atan",
              "Max", "Min", "Heaviside", "gamma", *rw.PRIMITIVES):
        setattr(cls, f"_print_{f}", _Common._print_Function)
    return cls


@_dispatch_functions
class MathPrinter(_Common, PythonCodePrinter):
    """Python floats with the standard library's ``math``."""

    FUNCS = {"exp": "math.exp", "log": "math.log", "tanh": "math.tanh", "Abs": "abs",
             "log1p": "math.log1p", "expm1": "math.expm1", "erfc": "math.erfc", "erf": "math.erf"}
    HELPERS = {"expit": "_expit", "softplus": "_softplus", "tanh_softplus": "_tanh_softplus",
               "sech2_softplus": "_sech2_softplus", "sech2": "_sech2", "exp_neg_abs": "_exp_neg_abs"}
    MOD = "math"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    _print_Pow = _Common._print_Pow_common


@_dispatch_functions
class NumpyCodePrinter(_Common, NumPyPrinter):
    """NumPy arrays (``import numpy as np``); erfc through the helper ``_erfc``."""

    FUNCS = {"exp": "np.exp", "log": "np.log", "tanh": "np.tanh", "Abs": "np.abs",
             "log1p": "np.log1p", "expm1": "np.expm1"}
    HELPERS = dict(MathPrinter.HELPERS, erfc="_erfc")
    MOD = "np"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    _print_Pow = MathPrinter._print_Pow


@_dispatch_functions
class TorchPrinter(_Common, PythonCodePrinter):
    """PyTorch tensors (``import torch``)."""

    FUNCS = {"exp": "torch.exp", "log": "torch.log", "tanh": "torch.tanh", "Abs": "torch.abs",
             "log1p": "torch.log1p", "expm1": "torch.expm1", "erfc": "torch.special.erfc"}
    HELPERS = MathPrinter.HELPERS
    MOD = "torch"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    _print_Pow = MathPrinter._print_Pow


@_dispatch_functions
class JaxPrinter(_Common, PythonCodePrinter):
    """JAX arrays (``import jax``, ``import jax.numpy as jnp``)."""

    FUNCS = {"exp": "jnp.exp", "log": "jnp.log", "Abs": "jnp.abs", "log1p": "jnp.log1p", "expm1": "jnp.expm1"}
    #: XLA's tanh is up to 6 ULP off near |x| = 19 and its erfc hundreds of ULP for x > 4
    #: (exp(-x*x) of a rounded square): both are small generated helpers instead
    HELPERS = dict(MathPrinter.HELPERS, tanh="_tanh", erfc="_erfc")
    MOD = "jnp"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    def _print_erfc_scaled(self, e):
        self.used.add("erfc")
        return f"_erfc({self._print(e.args[0])}, {self._num(float(e.args[1]))})"

    _print_Pow = MathPrinter._print_Pow


@_dispatch_functions
class CPrinter(_Common, C99CodePrinter):
    """C99 with ``math.h``; ``single=True`` spells the float variants (``expf``, ``1.5f``)."""

    FUNCS = {"exp": "exp", "log": "log", "tanh": "tanh", "Abs": "fabs",
             "log1p": "log1p", "expm1": "expm1", "erfc": "erfc", "erf": "erf"}
    HELPERS = {k: "symact_" + k for k in MathPrinter.HELPERS}

    def __init__(self, single: bool = False):
        super().__init__()
        self._init_common()
        self.single = single
        self.FLOAT_SUFFIX = "f" if single else ""
        if single:
            self.FUNCS = {k: v + "f" for k, v in self.FUNCS.items()}
            self.HELPERS = {k: v + "f" for k, v in self.HELPERS.items()}

    def _num(self, v: float) -> str:
        s = repr(float(v))
        if s in ("inf", "-inf", "nan"):
            raise CodegenError(f"constant {s} in generated code")
        if "e" not in s and "." not in s:
            s += ".0"
        return s + self.FLOAT_SUFFIX

    def _print_Integer(self, e):
        return self._num(int(e))

    def _print_Pow(self, e, rational=False):
        b, n = e.base, e.exp
        sq = "sqrtf" if self.single else "sqrt"
        if n == sp.S.Half:
            return f"{sq}({self._print(b)})"
        if n.is_Integer:
            base = self._print(b)
            k = abs(int(n))
            if 1 <= k <= 3:
                prod = "*".join([f"({base})"] * k)
                return f"(1{self.FLOAT_SUFFIX and '.0f' or '.0'}/({prod}))" if n < 0 else f"({prod})"
        return self._print_not_supported(e)


class LatexOut(LatexPrinter):
    """Display math in the subset :func:`symact.parse.latex.parse_latex` reads back.

    The stable primitives print as their textbook forms; a power of a function
    is ``\\left(\\tanh{...}\\right)^{2}`` (not ``\\tanh^{2}``), a disjunction in a
    cases condition is ``\\text{or}``, vector components are ``x_{i}`` and the
    Kronecker delta is ``\\delta_{ik}``.
    """

    def _print_Function(self, e, exp=None):
        if type(e).__name__ in rw.PRIMITIVES:
            return self._print(rw.to_standard(e) if exp is None else rw.to_standard(e) ** sp.sympify(exp))
        if exp is not None:
            return rf"\left({super()._print_Function(e)}\right)^{{{exp}}}"
        return super()._print_Function(e)

    def _print_Or(self, e):
        return r" \text{or} ".join(self._print(a) for a in e.args)

    def _print_Indexed(self, e):
        return f"{self._print(e.base.label)}_{{{''.join(self._print(i) for i in e.indices)}}}"

    def _print_KroneckerDelta(self, e, exp=None):
        return rf"\delta_{{{self._print(e.args[0])}{self._print(e.args[1])}}}"
