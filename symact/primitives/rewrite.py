r"""Stability rewrites on SymPy expressions, with the rules the primitives declare.

The catalog states each activation in its textbook form. Evaluated literally in
floating point several of those forms overflow, cancel or lose their tails.
:func:`stabilize` rewrites an expression, wherever a rule's pattern matches, into
an equal expression built from the stable primitives of :mod:`symact.primitives`;
the kernels, the oracle and every codegen target know how to evaluate each of
those from its declaration.

Rules (:data:`RULES`: every registered primitive's rules, tried on each node in
order of their ``rank``, bottom-up, until nothing changes):

=====================  ============================================  ==========================
rule                   pattern -> replacement                        why
=====================  ============================================  ==========================
softplus               log(1 + exp(u)) -> softplus(u)                exp overflows for u > 709
log1p                  log(1 + w) -> log1p(w)                        cancellation for small w
expit                  (1 + exp(u))^-k -> expit(-u)^k                overflow, and tails to 0
expit_absorb           exp(u) expit(-u)^k ->                         exp(u) overflows; the
                       expit(u) expit(-u)^(k-1)                      product does not
expm1                  c exp(u) - c -> c expm1(u)                    cancellation near u = 0
erfc                   1 + erf(u) -> erfc(-u);                       1 + erf(u) is 0 (all bits
                       1 - erf(u) -> erfc(u)                         lost) for u < -6
tanh_expit             1 + tanh(u) -> 2 expit(2u);                   cancellation in the tails
                       1 - tanh(u) -> 2 expit(-2u)
tanh_softplus          tanh(softplus(u)) -> tanh_softplus(u)         mish: e^u overflows
sech2                  1 - tanh(u)^2 -> sech2(u)                     all bits lost for |u| > 19
hypot                  sqrt(k v^2 + c) -> sqrt(k) hypot(v, sqrt(c/k))  v^2 overflows
hypot_add              k v + k hypot(v, a) ->                        cancellation for v < 0
                       2k hypot_add(v/2, a/2)
x_minus_tanh           c u - c tanh(u) -> c x_minus_tanh(u)          cancellation near u = 0
=====================  ============================================  ==========================

Choices made by measured error (float64, max ULP against the mpmath oracle; see
``tests/test_kernels.py`` and :func:`symact.reports.bench.accuracy_table`):

* sigmoid: the ``expit`` sign split against literal 1/(1+exp(-x)) (0 from
  x = -709 on where the value is a subnormal) and scipy.special.expit (same tail loss).
* sigmoid': expit(x) expit(-x) against (1 - s) s (exactly 0 from x = 37.43 on)
  and exp(x)/(1+exp(x))^2 (inf/inf = NaN).
* 1 - tanh^2: 4e/(1+e)^2 with e = exp(-2|u|) against 1/cosh(u)^2 (as accurate,
  but cosh overflows past 710 and needs a warning guard).
* gelu: erfc(-x/sqrt 2) with the argument carried in double-double and erfc
  in its tail as erfcx(w) exp(-w^2) with w^2 from an exact two-product.

The derivative of a rewritten expression is taken with the primitives' own
``fdiff`` (e.g. expit' = expit(u) expit(-u)), so derivatives inherit the stable
forms instead of being rewritten after the fact.
"""
from __future__ import annotations

import sympy as sp

from symact.primitives.base import Rule, StableFunction
from symact.primitives.registry import REGISTRY

#: every registered primitive's rules, in the order they are tried
RULES: tuple[Rule, ...] = tuple(sorted((r for p in REGISTRY.values() for r in p.rules), key=lambda r: r.rank))


def to_standard(expr: sp.Expr) -> sp.Expr:
    """Replace every primitive by its textbook form (for checks and the oracle)."""
    return expr.replace(lambda e: isinstance(e, StableFunction), lambda e: e.standard())


def _apply_once(expr: sp.Expr, rules) -> sp.Expr:
    if expr.is_Atom:
        return expr
    args = [_apply_once(a, rules) for a in expr.args]
    if isinstance(expr, sp.Piecewise):
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
