"""Subnormal-safe tails: a form's value where it decays to 0, with no subnormal intermediate.

For targets whose runtime flushes subnormal intermediates to zero (XLA on CPU: its
attribute ``subnormal_flusher``), where f -> 0 and a factor of f (e^x, erfc) is
subnormal while f is not (silu at x = -710, tanh' in float32 at 44), the generated
code switches past a point ``at`` to e^-c R: R the branch's leading Taylor
coefficient in its decaying atoms, each spelled a e^c (:func:`subnormal_tails`).
Derived symbolically from a :class:`symact.codegen.forms.ScalarForm`; nothing per
activation and nothing per target here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from symact.codegen.forms import Branch, ScalarForm
from symact.codegen.printer import erfc_scaled, fold_constants
from symact import primitives as rw
from symact.symbolic.forms import X

#: a tail starts where every decaying atom is below this: the terms it drops are that much smaller
TAIL_ATOM = 2.0 ** -60


@dataclass
class Tail:
    """``value = scale * R`` for x <= -at (side -1) or x >= at (side +1), for targets that flush
    subnormal intermediates to zero (XLA on CPU).  R is the branch's leading coefficient in its
    decaying atoms, each atom a spelled a * e^c (normal wherever the value is), scale = e^(-m c)."""

    side: int
    at: float
    branch: Branch
    scale: float
    order: int


def _dd_poly(e: sp.Expr, dds) -> sp.Expr:
    """``e`` with each double-double pair H, L replaced by its exact polynomial and 0."""
    rep = {}
    for d in dds:
        rep[d.hi] = sum(c * X**k for k, c in enumerate(reversed(d.coeffs)))
        rep[d.lo] = sp.S.Zero
    return e.xreplace(rep)


def _direction(u: sp.Expr, side: int, dds) -> int:
    """+1 / -1 where u -> +oo / -oo as x -> side*oo, 0 otherwise."""
    v = sp.limit(_dd_poly(u, dds), X, side * sp.oo)
    return 1 if v == sp.oo else -1 if v == -sp.oo else 0


def _side_form(name: str, u: sp.Expr, s: int):
    """Function ``name`` at an argument u -> s*oo as a function of E = e^-|u| (or None: keep):
    a stable primitive's ``decay`` piece (SymPy's erfc takes the erfc primitive's), or tanh's."""
    if name == "tanh":
        E2 = sp.exp(-2 * s * u)
        return s * (1 - E2) / (1 + E2)
    prim = rw.REGISTRY.get(name)
    return prim.decay(u, s) if prim is not None and prim.decay is not None else None


def scale_exponent(order: int) -> int:
    """The integer c in [8, 40] whose e^(-order c) rounds best in both float64 and float32.

    c >= 8: e^c exceeds every polynomial factor R/a of a tail where the value is still
    normal (|x| < 800), so the scaled atoms stay normal there; c <= 40 < -log(TAIL_ATOM):
    g + c (g <= log(TAIL_ATOM) the atom's exponent) is exact in floating point."""
    import mpmath

    def err(c):
        with mpmath.workdps(40):
            v = mpmath.exp(-order * c)
            e64 = abs(mpmath.mpf(float(v)) - v) / float(np.spacing(float(v)))
            f32 = np.float32(float(v))
            e32 = abs(mpmath.mpf(float(f32)) - v) / float(np.spacing(f32))
        return float(max(e64, e32))

    return min(range(8, 41), key=err)


def _tail_candidates():
    return sorted(m * 2.0**k for k in range(0, 11) for m in (1.0, 1.25, 1.5, 1.75))


def subnormal_tails(form: ScalarForm) -> list[Tail]:
    """Tails of ``form`` that need no subnormal intermediate (for targets that flush them).

    Where f -> 0 at -oo or +oo, the branch there is a function of decaying atoms a_i
    (exp of an argument -> -oo, erfc of one -> +oo) once the stable primitives are
    written on that side (:func:`_side_form`).  With every a_i = K A_i, K = e^-c, the
    value is K^m R(A, x) + O(a) relatively, R the leading Taylor coefficient in K
    (taken symbolically).  Past the point ``at`` where every a_i < 2^-60 the dropped
    terms are below rounding, A_i = a_i e^c is normal wherever the value is, and
    ``K^m * R`` never forms a subnormal: silu's x e^x becomes e^-c (x e^(x+c)), where
    XLA would flush e^x at x = -710 although x e^x is a normal number.
    """
    if form.limits is None:
        return []
    K = sp.Dummy("K", positive=True)
    out = []
    for side, lim in ((-1, form.limits[0]), (1, form.limits[1])):
        if lim != 0.0:
            continue
        branch = next((b for b in form.branches
                       if b.cond is None or (b.cond.inf == -sp.oo if side < 0 else b.cond.sup == sp.oo)), None)
        if branch is None or branch.expr.is_polynomial(X) and not branch.dds:
            continue
        tail = _tail(branch, side, K)
        if tail is not None:
            out.append(tail)
    return out


def _tail(branch: Branch, side: int, K) -> Tail | None:
    dds = branch.dds

    def rewrite(e):
        name = type(e).__name__
        s = _direction(e.args[0], side, dds)
        new = _side_form(name, e.args[0], s) if s else None
        return e if new is None else new

    prims = tuple(rw.PRIMITIVES.values()) + (sp.tanh, sp.erfc)
    expr = branch.expr.replace(lambda e: isinstance(e, prims), rewrite)
    atoms = [a for a in expr.atoms(sp.exp) if _direction(a.args[0], side, dds) < 0]
    atoms += [a for a in expr.atoms(rw.erfc, sp.erfc) if _direction(a.args[0], side, dds) > 0]
    if not atoms:
        return None
    for t in _tail_candidates():
        values = [abs(sp.N(_dd_poly(a, dds).subs(X, side * t), 20)) for a in atoms]
        if max(values) <= TAIL_ATOM:
            break
    else:
        return None
    at = t
    marks = {a: sp.Dummy(f"a{i}", positive=True) for i, a in enumerate(atoms)}
    inv = {m: a for a, m in marks.items()}
    scaled = expr.xreplace({a: K * m for a, m in marks.items()})
    if sp.simplify(scaled.subs(K, 0)) != 0:
        return None
    for order in (1, 2, 3):
        lead = sp.diff(scaled, K, order).subs(K, 0) / sp.factorial(order)
        if sp.cancel(lead) != 0:
            break
    else:
        return None
    c = scale_exponent(order)
    spelled = {}
    for m, a in inv.items():
        u = a.args[0]
        spelled[m] = sp.exp(u + c) if isinstance(a, sp.exp) else erfc_scaled(u, c)
    if not lead.has(sp.Float):
        lead = sp.factor(lead)  # silu' x A + A -> (x + 1) A
    ratio = sp.cancel(lead / sp.Mul(*[m for m in inv if lead.has(m)]))
    if ratio.is_number and abs(ratio) <= 1:
        return None  # the value is at most the atom: subnormal exactly where the atom is
    lead = fold_constants(lead.xreplace(spelled))
    used = [d for d in dds if lead.has(d.hi) or lead.has(d.lo)]
    dom = (float("-inf"), -at) if side < 0 else (at, float("inf"))
    return Tail(side, at, Branch(lead, None, dom, used), float(sp.exp(-order * c).evalf(30)), order)

