"""Linearity and symmetry verdicts, as the textbook states them, made rigorous.

Each property is an identity that must hold for all real inputs:

==========================  ======================================
additivity                  f(x + y) = f(x) + f(y)
homogeneity                 f(k x) = k f(x)
positive_homogeneity        f(k x) = k f(x) for k > 0
shift_invariance            f(x + c) = f(x)  (c added to every entry)
odd                         f(-x) = -f(x)
even                        f(-x) = f(x)
==========================  ======================================

A verdict is ``proved`` only when :func:`symact.symbolic.forms.prove_zero` reduces
the difference of the two sides to zero; ``refuted`` only with a witness (exact
rational inputs) at which the difference has a certified non-zero sign
(:func:`symact.symbolic.exact.certified_sign`); otherwise ``undecided``. Witnesses are
searched first, simplest inputs first, since a refuted identity cannot be proved.

Vector activations are checked on vectors of length 2 (a witness there refutes
the identity for every length; a proof there is reported for that length).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from symact import cache
from symact.model.activation import Activation
from symact.symbolic.exact import certified_sign
from symact.symbolic.forms import prove_zero

PROVED, REFUTED, UNDECIDED = "proved", "refuted", "undecided"
VECTOR_LENGTH = 2

_SCALARS = [sp.Rational(v) for v in ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3", "5", "-5", "10", "-10")]
_FACTORS = [sp.Rational(v) for v in ("2", "-1", "1/2", "3", "-2", "0", "-1/2", "10", "1/10")]
_VECTORS = [[sp.Rational(a), sp.Rational(b)] for a, b in
            [(0, 0), (1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (-1, 2), (3, -2)]]


@cache.cacheable
@dataclass(frozen=True)
class Verdict:
    """The verdict on one property, with the witness that refutes it."""

    property: str
    statement: str
    verdict: str
    witness: dict | None = None
    lhs: str | None = None
    rhs: str | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "statement": self.statement,
            "witness": self.witness,
            "lhs": self.lhs,
            "rhs": self.rhs,
        }


@dataclass(frozen=True)
class _Property:
    name: str
    statement: str
    variables: tuple[str, ...]  # which are vectors for vector activations: x, y
    positive: tuple[str, ...]
    sides: callable  # (f, env) -> (lhs, rhs) as lists of expressions


def _add(u, v):
    return [a + b for a, b in zip(u, v)] if isinstance(u, list) else u + v


def _scale(k, u):
    return [k * a for a in u] if isinstance(u, list) else k * u


def _shift(u, c):
    return [a + c for a in u] if isinstance(u, list) else u + c


def _neg(u):
    return _scale(-1, u)


PROPERTIES = [
    _Property("additivity", "f(x + y) = f(x) + f(y)", ("x", "y"), (),
              lambda f, e: (f(_add(e["x"], e["y"])), _add(f(e["x"]), f(e["y"])))),
    _Property("homogeneity", "f(k x) = k f(x)", ("x", "k"), (),
              lambda f, e: (f(_scale(e["k"], e["x"])), _scale(e["k"], f(e["x"])))),
    _Property("positive_homogeneity", "f(k x) = k f(x) for all k > 0", ("x", "k"), ("k",),
              lambda f, e: (f(_scale(e["k"], e["x"])), _scale(e["k"], f(e["x"])))),
    _Property("shift_invariance", "f(x + c) = f(x)", ("x", "c"), (),
              lambda f, e: (f(_shift(e["x"], e["c"])), f(e["x"]))),
    _Property("odd", "f(-x) = -f(x)", ("x",), (),
              lambda f, e: (f(_neg(e["x"])), _neg(f(e["x"])))),
    _Property("even", "f(-x) = f(x)", ("x",), (),
              lambda f, e: (f(_neg(e["x"])), f(e["x"]))),
]
LINEARITY = ("additivity", "homogeneity", "positive_homogeneity")


def _evaluator(act: Activation):
    """f as a function of a SymPy scalar, or of a list of SymPy scalars (vectors).

    Values are remembered: the candidates of one property repeat their inputs
    (f(x) for every shift c), and the properties share theirs.
    """
    memo: dict = {}
    if not act.vector:
        def f(t):
            if t not in memo:
                memo[t] = sp.piecewise_fold(act.expr.subs(act.x, t))
            return memo[t]

        return f
    xs, comps = act.components(VECTOR_LENGTH)

    def f(vec):
        key = tuple(vec)
        if key not in memo:
            memo[key] = [sp.piecewise_fold(c.subs(dict(zip(xs, vec)), simultaneous=True)) for c in comps]
        return list(memo[key])

    return f


def _candidates(prop: _Property, vector: bool):
    pools = []
    for name in prop.variables:
        if name in ("x", "y"):
            pools.append(_VECTORS if vector else _SCALARS)
        else:
            pool = _FACTORS if name == "k" else _SCALARS[1:]
            pools.append([v for v in pool if v > 0] if name in prop.positive else pool)
    for combo in itertools.product(*pools):
        yield dict(zip(prop.variables, combo))


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _fmt(v):
    return [str(a) for a in v] if isinstance(v, list) else str(v)


def _symbols(prop: _Property, vector: bool):
    env, flat, positive = {}, [], []
    for name in prop.variables:
        if vector and name in ("x", "y"):
            syms = list(sp.symbols(f"{name}1:{VECTOR_LENGTH + 1}", real=True))
            env[name] = syms
            flat += syms
        else:
            s = sp.Symbol(name, positive=True) if name in prop.positive else sp.Symbol(name, real=True)
            env[name] = s
            flat.append(s)
            if name in prop.positive:
                positive.append(s)
    return env, flat, positive


def verdict(act: Activation, prop: _Property, max_candidates: int = 60, *, _f=None) -> Verdict:
    """The verdict on one property for one activation (see module docstring)."""
    f = _f or _evaluator(act)
    for env in itertools.islice(_candidates(prop, act.vector), max_candidates):
        lhs, rhs = (_as_list(s) for s in prop.sides(f, env))
        for a, b in zip(lhs, rhs):
            sign = certified_sign(a - b)
            if sign in (-1, 1):
                return Verdict(prop.name, prop.statement, REFUTED,
                               {k: _fmt(v) for k, v in env.items()},
                               lhs=_fmt(_simplify_list(lhs)), rhs=_fmt(_simplify_list(rhs)))
    env, flat, positive = _symbols(prop, act.vector)
    lhs, rhs = (_as_list(s) for s in prop.sides(f, env))
    if all(prove_zero(a - b, flat, positive) for a, b in zip(lhs, rhs)):
        note = f"proved for vectors of length {VECTOR_LENGTH}" if act.vector else ""
        return Verdict(prop.name, prop.statement, PROVED, note=note)
    return Verdict(prop.name, prop.statement, UNDECIDED,
                   note="no proof found and no witness among the candidates tried")


def _simplify_list(vals):
    out = [_simplified(v) for v in vals]
    return out if len(out) > 1 else out[0]


@lru_cache(maxsize=1024)
def _simplified(v):
    """How a side of a refuted identity is shown (remembered: properties share witnesses)."""
    return sp.nsimplify(v) if v.is_Rational else sp.simplify(v)


def verdicts(act: Activation) -> dict[str, Verdict]:
    """Every property's verdict, keyed by property name."""
    f = _evaluator(act)
    return {p.name: verdict(act, p, _f=f) for p in PROPERTIES}


def is_linear(vs: dict[str, Verdict]) -> str:
    """'proved', 'refuted' or 'undecided' for additivity and homogeneity together."""
    pair = (vs["additivity"].verdict, vs["homogeneity"].verdict)
    if REFUTED in pair:
        return REFUTED
    return PROVED if pair == (PROVED, PROVED) else UNDECIDED


def witness_values(witness: dict) -> dict:
    """A witness's strings read back as exact SymPy rationals (via Fraction, not sympify)."""
    def read(s):
        return [read(t) for t in s] if isinstance(s, list) else sp.Rational(Fraction(s))

    return {k: read(v) for k, v in witness.items()}
