"""Certified signs of exact numeric SymPy expressions.

A witness that refutes an identity must re-evaluate *exactly*: both sides are
SymPy expressions at rational inputs, and their difference is either a rational
(decided exactly) or a transcendental number whose sign is certified by
interval arithmetic (:mod:`mpmath.iv`, outward rounding). Functions that
``mpmath.iv`` lacks but that are monotone (tanh, atan, asinh) are enclosed
from their endpoint values, each computed with 64 guard bits and widened by a
relative 2**-(prec - 8) before use.
"""
from __future__ import annotations

import contextlib

import mpmath
import sympy as sp

from symact.symbolic.normal import normalize

_PREC = 320
_IV = {
    sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.sqrt: "sqrt",
}
# monotone functions enclosed from their endpoints: (function, increasing?)
_MONOTONE = {
    sp.tanh: (mpmath.tanh, True), sp.atan: (mpmath.atan, True), sp.asinh: (mpmath.asinh, True),
    sp.erf: (mpmath.erf, True), sp.erfc: (mpmath.erfc, False),
}


@contextlib.contextmanager
def _iv_prec(bits: int):
    """Scoped precision for mpmath.iv (it has no workprec of its own)."""
    saved = mpmath.iv.prec
    mpmath.iv.prec = bits
    try:
        yield
    finally:
        mpmath.iv.prec = saved


class NotCertified(Exception):
    """The interval contains zero or an operation has no enclosure."""


def _enclose(expr: sp.Expr):
    iv = mpmath.iv
    if expr.is_Rational:
        return iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    if expr == sp.pi:
        return iv.pi
    if expr == sp.E:
        return iv.e
    if isinstance(expr, sp.Add):
        out = iv.mpf(0)
        for a in expr.args:
            out += _enclose(a)
        return out
    if isinstance(expr, sp.Mul):
        out = iv.mpf(1)
        for a in expr.args:
            out *= _enclose(a)
        return out
    if isinstance(expr, sp.Pow):
        base = _enclose(expr.base)
        if expr.exp.is_Integer:
            n = int(expr.exp)
            if n < 0:
                return iv.mpf(1) / (base ** (-n))
            return base ** n
        if expr.exp == sp.S.Half:
            return iv.sqrt(base)
        return iv.exp(_enclose(expr.exp) * iv.log(base))
    if isinstance(expr, sp.Abs):
        return abs(_enclose(expr.args[0]))
    if type(expr) in _IV:
        return getattr(iv, _IV[type(expr)])(_enclose(expr.args[0]))
    if type(expr) in _MONOTONE:
        arg = _enclose(expr.args[0])
        fn, increasing = _MONOTONE[type(expr)]
        with mpmath.workprec(_PREC + 64):
            lo, hi = fn(mpmath.mpf(arg.a)), fn(mpmath.mpf(arg.b))
        if not increasing:
            lo, hi = hi, lo
        slack = mpmath.mpf(2) ** -(_PREC - 8)
        return iv.mpf([lo - abs(lo) * slack - slack**4, hi + abs(hi) * slack + slack**4])
    if isinstance(expr, (sp.Float,)):
        raise NotCertified("floating-point constants are not exact")
    raise NotCertified(f"no enclosure for {type(expr).__name__}")


def certified_sign(expr: sp.Expr) -> int | None:
    """The sign (-1, 0, 1) of a constant expression, or None when not certified.

    0 is returned only when SymPy's own evaluation says the expression is zero.
    """
    expr = sp.piecewise_fold(normalize(sp.sympify(expr)))
    if expr.free_symbols:
        return None
    if expr.is_Rational:
        return int(sp.sign(expr))
    if expr.has(sp.Piecewise, sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    with _iv_prec(_PREC):
        try:
            box = _enclose(expr)
        except (NotCertified, ZeroDivisionError, ValueError, mpmath.libmp.NoConvergence):
            return None
        if box.a > 0:
            return 1
        if box.b < 0:
            return -1
    return 0 if expr.is_zero else None


def enclosure(expr: sp.Expr) -> tuple[str, str] | None:
    """A certified interval [lo, hi] (as decimal strings) containing ``expr``."""
    expr = sp.piecewise_fold(normalize(sp.sympify(expr)))
    with _iv_prec(_PREC):
        try:
            box = _enclose(expr)
        except (NotCertified, ZeroDivisionError, ValueError, mpmath.libmp.NoConvergence):
            return None
        return mpmath.nstr(mpmath.mpf(box.a), 20), mpmath.nstr(mpmath.mpf(box.b), 20)
