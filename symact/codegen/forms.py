"""The records of a codegen plan: what :mod:`symact.codegen.plan` decides and every target prints.

A :class:`Plan` holds, per activation, one :class:`ScalarForm` for the function and one
for its derivative (or, for vector activations, the max-subtraction expressions of
:class:`symact.numeric.kernels.vector.VectorKernel`). A form is a list of :class:`Branch`
pieces on intervals of x, each a straight-line SymPy expression whose inexact
polynomial arguments are double-double pairs (:class:`DD`), plus the values at
+-inf, the points past which the value rounds to its limit, and root fix-ups.
These are plain data: no target appears here, and nothing here imports a target.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass
class DD:
    """H + L = polynomial(x) in double-double; coefficients (hi, lo), highest degree first."""

    hi: sp.Symbol
    lo: sp.Symbol
    coeffs: list[tuple[float, float]]


@dataclass
class Branch:
    """One piece: taken where ``cond`` (a SymPy set of x; None = default) holds."""

    expr: sp.Expr
    cond: sp.Set | None
    domain: tuple[float, float]          # where the piece is active (clip here)
    dds: list[DD] = field(default_factory=list)


@dataclass
class ScalarForm:
    """The chosen form of one scalar function: its branches and what guards them."""

    reference: sp.Expr
    stable: sp.Expr
    branches: list[Branch]
    limits: tuple[float, float] | None   # values at -inf, +inf when a guard is needed
    tails: tuple[float | None, float | None] = (None, None)  # x <= -T0 / x >= T1 give the limit
    roots: list = field(default_factory=list)  # fitting.RootPoly: (x - r) q(x) next to cancelling roots


@dataclass
class Plan:
    """Everything a target needs for one activation, decided once for all targets."""

    act: object
    f: ScalarForm | None
    df: ScalarForm | None
    vec_f: tuple | None = None   # (expr, symbols) from VectorKernel
    vec_df: tuple | None = None


def replace_roots(form: ScalarForm, roots=()) -> ScalarForm:
    """``form`` with its root fix-ups replaced (the measured chain has none)."""
    return ScalarForm(form.reference, form.stable, form.branches, form.limits, form.tails, list(roots))
