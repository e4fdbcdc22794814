r"""What every code printer of :mod:`symact.codegen` shares (SymPy's ``codeprinter.py``).

Each target module in :mod:`symact.codegen.targets` defines one printer class:
:class:`CodePrinterBase` mixed into the SymPy printer of its language. A printer
turns one *straight-line* SymPy expression (no Piecewise: the generator splits
branches itself) into an expression of its target language. What a printer
knows is data, held in class attributes:

``FUNCS``
    SymPy function class name -> target spelling (``"exp": "np.exp"``).
``HELPERS``
    stable primitive (:mod:`symact.symbolic.rewrite`) -> name of the small helper
    function the generator emits into the output; printing one records it in
    ``printer.used`` so only the helpers actually used are emitted (their
    sources are the target's ``HELPERS`` data, keyed by the same names).

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

from symact.errors import SymactError
from symact.symbolic import rewrite as rw

_SMALL = 2**53

#: stable primitive -> the helper function that computes it in Python-syntax targets
#: (C prefixes ``symact_`` instead of ``_``)
PRIMITIVE_HELPERS = {"expit": "_expit", "softplus": "_softplus", "tanh_softplus": "_tanh_softplus",
                     "sech2_softplus": "_sech2_softplus", "sech2": "_sech2", "exp_neg_abs": "_exp_neg_abs"}


class CodegenError(SymactError):
    """An expression (or a name) that a target cannot express."""


class erfc_scaled(sp.Function):
    """erfc(u) * exp(c), computed without forming the (possibly subnormal) erfc(u):
    the JAX helper ``_erfc(u, c)`` evaluates exp(c - u^2) erfcx(u).  Used only in
    the subnormal-safe tails (:mod:`symact.codegen.tails`); other printers refuse it."""

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


class CodePrinterBase:
    """Number printing, primitive helpers and explicit gaps, shared by all code printers.

    Mixed in before the SymPy printer of the target's language; a subclass sets
    ``FUNCS``, ``HELPERS`` and ``MOD`` (the module that spells ``sqrt``)."""

    FUNCS: dict[str, str] = {}
    HELPERS: dict[str, str] = {}
    FLOAT_SUFFIX = ""
    MOD = ""

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


def dispatch_functions(cls):
    """Class decorator: route every SymPy function class the printer might meet to ``_print_Function``."""
    for f in ("exp", "log", "tanh", "erf", "erfc", "Abs", "sinh", "cosh", "sin", "cos", "sign", "atan",
              "Max", "Min", "Heaviside", "gamma", *rw.PRIMITIVES):
        setattr(cls, f"_print_{f}", CodePrinterBase._print_Function)
    return cls
