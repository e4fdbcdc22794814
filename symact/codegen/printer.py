r"""What every code printer of :mod:`symact.codegen` shares (SymPy's ``codeprinter.py``).

Each target module in :mod:`symact.codegen.targets` defines one printer class:
:class:`CodePrinterBase` mixed into the SymPy printer of its language. A printer
turns one *straight-line* SymPy expression (no Piecewise: the generator splits
branches itself) into an expression of its target language. What a printer
knows is data, held in class attributes:

``TARGET``
    the name of the target the printer writes for;
``FUNCS``
    SymPy function class name -> target spelling (``"exp": "np.exp"``);
``HELPERS``
    function name -> name of the small helper function the generator emits
    into the output; printing one records it in ``printer.used`` so only the
    helpers actually used are emitted (their sources are the target's
    ``helpers`` data, keyed by the same names).

Every stable primitive (:mod:`symact.primitives`) brings its own spelling for each
target (its declaration's ``code`` piece): :func:`dispatch_functions` adds it to
the printer's ``FUNCS`` (a library function) or ``HELPERS`` (a helper), and
:func:`primitive_sources` gives the targets the helpers' sources. No printer or
target lists primitives itself.

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

from symact import primitives as rw
from symact.errors import SymactError

_SMALL = 2**53



def primitive_code(target: str) -> dict:
    """Stable primitive name -> its :class:`symact.primitives.Code` for ``target`` (a primitive
    without one is left out: printing it is a :class:`CodegenError`, and
    ``tests/test_primitives.py`` names the missing piece)."""
    return {n: p.code[target] for n, p in rw.REGISTRY.items() if target in p.code}


def primitive_sources(target: str) -> dict:
    """Helper name -> source of every stable primitive that ``target`` computes with a helper."""
    return {n: c.source for n, c in primitive_code(target).items() if c.source is not None}


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
    ``TARGET``, ``FUNCS``, ``HELPERS`` and ``MOD`` (the module that spells ``sqrt``)."""

    TARGET = ""
    #: helper -> the helpers it calls (emitted with it)
    NEEDS: dict[str, tuple] = {}
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
            if abs(c.p) != 1:  # (p x)/q overflows at the largest doubles (rrelu's 11x/48), and
                # (x/q) p underflows where subnormals flush (XLA): the rounded c times x, <= 1 ULP
                return f"{self._num(float(c))}*({self._print(rest)})"
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
            self.used.update((name, *self.NEEDS.get(name, ())))
            return f"{self.HELPERS[name]}({', '.join(self._print(a) for a in e.args)})"
        if name in self.FUNCS:
            return f"{self.FUNCS[name]}({', '.join(self._print(a) for a in e.args)})"
        return self._print_not_supported(e)

    def _print_not_supported(self, e):
        raise CodegenError(f"{type(self).__name__} cannot express {type(e).__name__} ({e})")


def dispatch_functions(cls):
    """Class decorator: route every SymPy function class the printer might meet to ``_print_Function``,
    and add every stable primitive's spelling for the printer's ``TARGET`` to its ``FUNCS``
    (library functions) or ``HELPERS`` (helpers emitted into the file)."""
    code = primitive_code(cls.TARGET)
    cls.FUNCS = {**{n: c.call for n, c in code.items() if c.source is None}, **cls.FUNCS}
    cls.HELPERS = {**{n: c.call for n, c in code.items() if c.source is not None}, **cls.HELPERS}
    cls.NEEDS = {n: c.needs for n, c in code.items() if c.needs}
    for f in ("exp", "log", "tanh", "erf", "erfc", "Abs", "sinh", "cosh", "sin", "cos", "sign", "atan",
              "Max", "Min", "Heaviside", "gamma", *rw.PRIMITIVES):
        setattr(cls, f"_print_{f}", CodePrinterBase._print_Function)
    return cls
