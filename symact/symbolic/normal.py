"""Normal forms of piecewise expressions: Max, Min, Abs, Heaviside and sign rewritten as
Piecewise, folded to one level. The lowest symbolic layer: :mod:`symact.symbolic.exact`
(certified signs) and :mod:`symact.symbolic.forms` both build on it.
"""
from __future__ import annotations

import sympy as sp

#: normal forms and flatness already found (pure functions of an immutable expression): the
#: one-sided limits at each of a cases' m boundaries normalize the same expression m times,
#: and each walk is as long as the rows
_NORMAL: dict = {}
_FLAT: dict = {}
_MEMO_MAX = 4096


def _memo(table: dict, key, compute):
    try:
        return table[key]
    except KeyError:
        pass
    except TypeError:  # unhashable: not remembered
        return compute()
    value = compute()
    if len(table) >= _MEMO_MAX:
        table.clear()
    table[key] = value
    return value


def normalize(expr: sp.Expr) -> sp.Expr:
    """Rewrite Max, Min, Abs, Heaviside and sign as Piecewise, folded to one level."""
    return _memo(_NORMAL, expr, lambda: _normalize(expr))


def _normalize(expr: sp.Expr) -> sp.Expr:
    rewritten = expr
    for cls in (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign):
        if rewritten.has(cls):
            rewritten = rewritten.replace(
                lambda e, c=cls: isinstance(e, c), lambda e: _as_piecewise(e)
            )
    if flat_piecewise(rewritten):
        # already one level: piecewise_fold would only rebuild it through Piecewise.eval,
        # whose cost grows with the square of the rows or worse (a 30-row cases took minutes)
        return rewritten
    return sp.piecewise_fold(rewritten)


def flat_piecewise(expr) -> bool:
    """Whether ``expr`` is a Piecewise none of whose pieces or conditions holds another."""
    return isinstance(expr, sp.Piecewise) and _memo(_FLAT, expr, lambda: not any(
        e.has(sp.Piecewise) or c.has(sp.Piecewise) for e, c in expr.args))


def _as_piecewise(e: sp.Expr) -> sp.Expr:
    if isinstance(e, sp.Heaviside):
        arg, h0 = e.args[0], (e.args[1] if len(e.args) > 1 else sp.S.Half)
        return sp.Piecewise((0, arg < 0), (h0, sp.Eq(arg, 0)), (1, True))
    if isinstance(e, sp.sign):
        arg = e.args[0]
        return sp.Piecewise((-1, arg < 0), (0, sp.Eq(arg, 0)), (1, True))
    if isinstance(e, (sp.Max, sp.Min)):
        args = [_as_piecewise(a) if a.has(sp.Max, sp.Min) else a for a in e.args]
        out = args[0]
        for a in args[1:]:
            out = (
                sp.Piecewise((a, out <= a), (out, True))
                if isinstance(e, sp.Max)
                else sp.Piecewise((out, out <= a), (a, True))
            )
        return out
    return e.rewrite(sp.Piecewise)
