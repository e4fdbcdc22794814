r"""Stability rewrites on SymPy expressions.

The catalog states each activation in its textbook form. Evaluated literally in
floating point several of those forms overflow, cancel or lose their tails.
:func:`stabilize` rewrites an expression, wherever a rule's pattern matches, into
an equal expression built from a few *stable primitives* (small SymPy
``Function`` classes below). Code generators (:mod:`symact.numeric.kernels` for NumPy;
later C/PyTorch/JAX/Python) only have to know how to evaluate each primitive.

Primitives (value; how a target should evaluate it)::

    log1p(u)          log(1 + u)
    expm1(u)          exp(u) - 1
    expit(u)          1/(1 + e^-u)     sign split on e = exp(-|u|): 1/(1+e) or e/(1+e)
    softplus(u)       log(1 + e^u)     max(u, 0) + log1p(exp(-|u|))   (logaddexp(0, u))
    tanh_softplus(u)  tanh(softplus(u)) = n/(n+2), n = e^u (e^u + 2); for u > 0 with
                      s = e^-u: (1+2s)/(1+2s+2s^2) -- no overflow
    sech2_softplus(u) 1 - tanh(softplus(u))^2 = 4(n+1)/(n+2)^2, same sign split
    sech2(u)          1 - tanh(u)^2 = 4e/(1+e)^2, e = exp(-2|u|)
    exp_neg_abs(u)    exp(-|u|)
    erfcx(u)          exp(u^2) erfc(u) (used by targets to evaluate erfc in its tail)

Rules (:data:`RULES`, applied bottom-up until nothing changes, in this order):

=====================  =====================================  ==========================
rule                   pattern -> replacement                 why
=====================  =====================================  ==========================
softplus               log(1 + exp(u)) -> softplus(u)         exp overflows for u > 709
log1p                  log(1 + w) -> log1p(w)                 cancellation for small w
expit                  (1 + exp(u))^-k -> expit(-u)^k          overflow, and tails to 0
expit_absorb           exp(u) expit(-u)^k ->                  exp(u) overflows; the
                       expit(u) expit(-u)^(k-1)               product does not
expm1                  c exp(u) - c -> c expm1(u)              cancellation near u = 0
erfc                   1 + erf(u) -> erfc(-u);                 1 + erf(u) is 0 (all bits
                       1 - erf(u) -> erfc(u)                   lost) for u < -6
tanh_expit             1 + tanh(u) -> 2 expit(2u);             cancellation in the tails
                       1 - tanh(u) -> 2 expit(-2u)
tanh_softplus          tanh(softplus(u)) -> tanh_softplus(u)   mish: e^u overflows
sech2                  1 - tanh(u)^2 -> sech2(u)               all bits lost for |u| > 19
=====================  =====================================  ==========================

Choices made by measured error (float64, max ULP against the mpmath oracle on
[-60, 60] plus tails; see ``tests/test_kernels.py`` and
:func:`symact.reports.bench.accuracy_table`):

* sigmoid: ``expit`` sign split (<= 1 ULP) against literal 1/(1+exp(-x)) (0 from
  x = -709 on where the value is a subnormal; NaN-free but 1 ULP) and
  scipy.special.expit (same tail loss).
* sigmoid': expit(x) expit(-x) (<= 2 ULP everywhere) against (1 - s) s (which
  is exactly 0 from x = 37.43 on) and exp(x)/(1+exp(x))^2 (inf/inf = NaN).
* 1 - tanh^2: 4e/(1+e)^2 with e = exp(-2|u|) (<= 3 ULP) against 1/cosh(u)^2
  (<= 3 ULP too, but cosh overflows past 710 and needs a warning guard).
* gelu: erfc(-x/sqrt 2) with the argument carried in double-double and erfc
  in its tail as erfcx(w) exp(-w^2) with w^2 from an exact two-product (the
  issue measured 33 ULP at x = -4 and 1176 at x = -35 for the literal form;
  scipy's erfc is itself 80+ ULP off past w = 20).

The derivative of a rewritten expression is taken with the primitives' own
``fdiff`` (e.g. expit' = expit(u) expit(-u)), so derivatives inherit the stable
forms instead of being rewritten after the fact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp


# --------------------------------------------------------------------------- primitives
class _Prim(sp.Function):
    """A stable primitive; ``standard()`` gives the textbook form."""

    nargs = 1
    is_real = True

    @classmethod
    def standard_form(cls, u):  # pragma: no cover - overridden
        raise NotImplementedError

    def standard(self):
        return self.standard_form(self.args[0])

    def _eval_evalf(self, prec):
        return self.standard()._eval_evalf(prec)


class log1p(_Prim):
    @classmethod
    def standard_form(cls, u):
        return sp.log(1 + u)

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0])


class expm1(_Prim):
    @classmethod
    def standard_form(cls, u):
        return sp.exp(u) - 1

    def fdiff(self, argindex=1):
        return sp.exp(self.args[0])


class expit(_Prim):
    @classmethod
    def standard_form(cls, u):
        return 1 / (1 + sp.exp(-u))

    def fdiff(self, argindex=1):
        u = self.args[0]
        return expit(u) * expit(-u)


class softplus(_Prim):
    @classmethod
    def standard_form(cls, u):
        return sp.log(1 + sp.exp(u))

    def fdiff(self, argindex=1):
        return expit(self.args[0])


class tanh_softplus(_Prim):
    @classmethod
    def standard_form(cls, u):
        return sp.tanh(sp.log(1 + sp.exp(u)))

    def fdiff(self, argindex=1):
        u = self.args[0]
        return sech2_softplus(u) * expit(u)


class sech2_softplus(_Prim):
    @classmethod
    def standard_form(cls, u):
        return 1 - sp.tanh(sp.log(1 + sp.exp(u))) ** 2

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -2 * tanh_softplus(u) * sech2_softplus(u) * expit(u)


class sech2(_Prim):
    @classmethod
    def standard_form(cls, u):
        return 1 - sp.tanh(u) ** 2

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -2 * sp.tanh(u) * sech2(u)


class exp_neg_abs(_Prim):
    @classmethod
    def standard_form(cls, u):
        return sp.exp(-sp.Abs(u))


class erfc(_Prim):
    """erfc(u), kept unevaluated (SymPy's own turns erfc(-u) into 2 - erfc(u))."""

    @classmethod
    def standard_form(cls, u):
        return sp.erfc(u)

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -2 / sp.sqrt(sp.pi) * sp.exp(-u**2)


class erfcx(_Prim):
    @classmethod
    def standard_form(cls, u):
        return sp.exp(u**2) * sp.erfc(u)

    def fdiff(self, argindex=1):
        u = self.args[0]
        return 2 * u * erfcx(u) - 2 / sp.sqrt(sp.pi)


PRIMITIVES = {c.__name__: c for c in (log1p, expm1, expit, softplus, tanh_softplus,
                                       sech2_softplus, sech2, exp_neg_abs, erfc, erfcx)}


def to_standard(expr: sp.Expr) -> sp.Expr:
    """Replace every primitive by its textbook form (for checks and the oracle)."""
    return expr.replace(lambda e: isinstance(e, _Prim), lambda e: e.standard())


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """One rewrite: ``apply(expr)`` returns the replacement or ``None``."""

    name: str
    pattern: str
    apply: Callable[[sp.Expr], sp.Expr | None]
    why: str


def _one_plus(e: sp.Expr):
    """``w`` when ``e`` is ``1 + w``, else None."""
    if isinstance(e, sp.Add) and sp.S.One in e.args:
        return e - 1
    return None


def _r_softplus(e):
    if isinstance(e, sp.log):
        w = _one_plus(e.args[0])
        if isinstance(w, sp.exp):
            return softplus(w.args[0])
    return None


def _r_log1p(e):
    if isinstance(e, sp.log):
        w = _one_plus(e.args[0])
        if w is not None:
            return log1p(w)
    return None


def _r_expit(e):
    if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp < 0:
        w = _one_plus(e.base)
        if isinstance(w, sp.exp):
            return expit(-w.args[0]) ** (-e.exp)
    return None


def _r_expit_absorb(e):
    if not isinstance(e, sp.Mul):
        return None
    factors = list(e.args)
    for i, f in enumerate(factors):
        if isinstance(f, sp.exp):
            u = f.args[0]
            for j, g in enumerate(factors):
                base, k = (g.base, g.exp) if isinstance(g, sp.Pow) else (g, sp.S.One)
                if isinstance(base, expit) and k.is_Integer and k >= 1 and sp.simplify(base.args[0] + u) == 0:
                    rest = [h for t, h in enumerate(factors) if t not in (i, j)]
                    return sp.Mul(*rest) * expit(u) * expit(-u) ** (k - 1)
    return None


def _r_expm1(e):
    if not isinstance(e, sp.Add):
        return None
    const = sum((a for a in e.args if a.is_number), sp.S.Zero)
    if const == 0:
        return None
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.exp) and sp.simplify(c + const) == 0:
            others = [b for b in e.args if b is not a and not b.is_number]
            return sp.Add(*others) + c * expm1(rest.args[0])
    return None


def _r_erfc(e):
    if not isinstance(e, sp.Add):
        return None
    const = sum((a for a in e.args if a.is_number), sp.S.Zero)
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.erf) and const != 0 and abs(c) == abs(const):
            others = [b for b in e.args if b is not a and not b.is_number]
            u = rest.args[0]
            # const + c erf(u) = const (1 + (c/const) erf(u))
            return sp.Add(*others) + const * erfc(-u if c == const else u)
    return None


def _r_tanh_expit(e):
    if not isinstance(e, sp.Add):
        return None
    const = sum((a for a in e.args if a.is_number), sp.S.Zero)
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.tanh) and const != 0 and abs(c) == abs(const):
            others = [b for b in e.args if b is not a and not b.is_number]
            u = rest.args[0]
            return sp.Add(*others) + 2 * const * expit(2 * u if c == const else -2 * u)
    return None


def _r_tanh_softplus(e):
    if isinstance(e, sp.tanh) and isinstance(e.args[0], softplus):
        return tanh_softplus(e.args[0].args[0])
    return None


def _r_sech2(e):
    if not isinstance(e, sp.Add):
        return None
    const = sum((a for a in e.args if a.is_number), sp.S.Zero)
    for a in e.args:
        c, rest = a.as_coeff_Mul()
        if isinstance(rest, sp.Pow) and rest.exp == 2 and c == -const and const != 0:
            b = rest.base
            others = [t for t in e.args if t is not a and not t.is_number]
            if isinstance(b, sp.tanh):
                return sp.Add(*others) + const * sech2(b.args[0])
            if isinstance(b, tanh_softplus):
                return sp.Add(*others) + const * sech2_softplus(b.args[0])
    return None


RULES: tuple[Rule, ...] = (
    Rule("softplus", "log(1 + exp(u)) -> softplus(u)", _r_softplus, "exp overflows for u > 709"),
    Rule("log1p", "log(1 + w) -> log1p(w)", _r_log1p, "cancellation for small w"),
    Rule("expit", "(1 + exp(u))^-k -> expit(-u)^k", _r_expit, "overflow; tails that underflow too early"),
    Rule("expit_absorb", "exp(u) expit(-u)^k -> expit(u) expit(-u)^(k-1)", _r_expit_absorb,
         "exp(u) overflows, the product does not"),
    Rule("expm1", "c exp(u) - c -> c expm1(u)", _r_expm1, "cancellation near u = 0"),
    Rule("erfc", "1 +- erf(u) -> erfc(-+u)", _r_erfc, "1 + erf(u) loses every bit for u < -6"),
    Rule("tanh_expit", "1 +- tanh(u) -> 2 expit(+-2u)", _r_tanh_expit, "cancellation in the tails"),
    Rule("tanh_softplus", "tanh(softplus(u)) -> tanh_softplus(u)", _r_tanh_softplus,
         "mish: e^u overflows"),
    Rule("sech2", "1 - tanh(u)^2 -> sech2(u)", _r_sech2, "all bits lost for |u| > 19"),
)


def _apply_once(expr: sp.Expr, rules) -> sp.Expr:
    if expr.is_Atom:
        return expr
    args = [_apply_once(a, rules) for a in expr.args]
    if isinstance(expr, sp.Piecewise):
        node = sp.Piecewise(*[(args[k], expr.args[k].cond) for k in range(len(args))], evaluate=False)
        args = [(_apply_once(e, rules), c) for e, c in expr.args]
        return sp.Piecewise(*args)
    node = expr.func(*args) if args != list(expr.args) else expr
    for rule in rules:
        new = rule.apply(node)
        if new is not None and new != node:
            return new
    return node


def stabilize(expr: sp.Expr, rules=RULES, max_passes: int = 12) -> sp.Expr:
    """Apply :data:`RULES` wherever they match, until a fixed point."""
    expr = sp.sympify(expr)
    for _ in range(max_passes):
        new = _apply_once(expr, rules)
        if new == expr:
            return expr
        expr = new
    return expr


def stable_derivative(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """d/dx of ``stabilize(expr)``, using the primitives' stable derivatives."""
    return stabilize(sp.diff(stabilize(expr), x))
