"""The :class:`Activation` record: one symbolic definition and what it states.

An activation is declared once (see :mod:`symact.model.catalog`) by its SymPy formula
in ``x`` and its parameters. Everything else symact knows about it (derivative,
kinks, facts, verdicts, kernels, code) is derived from that declaration.
"""
from __future__ import annotations

import fractions
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Mapping

import sympy as sp

from symact import cache
from symact.symbolic import budget, forms as symbolic
from symact.errors import ParameterError

ROLES = ("hidden", "output", "both")


@dataclass(frozen=True)
class Param:
    """A named parameter of an activation with its exact default value."""

    symbol: sp.Symbol
    default: sp.Expr
    doc: str = ""

    @property
    def name(self) -> str:
        return self.symbol.name


def exact_number(value, name: str = "parameter") -> sp.Expr:
    """An exact SymPy number from an int, Fraction, float or decimal/ratio string.

    Strings are read by :func:`symact.symbolic.budget.parse_value` ("0.2", "1/3",
    "1e-2"): never ``sympify``, with the exponent bounded before any integer is
    built. Floats are taken at their exact binary value. A value outside
    float64's range (or of more than 400 digits) is a
    :class:`~symact.errors.BudgetError`; inf and NaN are no parameter values.
    """
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise ParameterError(f"parameter value {value} is not a number")
        budget.check_expr(value, f"the value of {name}")
        if value.is_Rational:
            budget.check_value(fractions.Fraction(int(value.p), int(value.q)), f"{name}={_short(value)}")
        return value
    if isinstance(value, bool):
        raise ParameterError(f"parameter value {value!r} is not a number")
    if isinstance(value, (int, fractions.Fraction)):
        budget.check_value(fractions.Fraction(value), f"{name}={_short(value)}")
        return sp.Rational(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(f"parameter value {value!r} is not a finite number")
        return sp.Rational(fractions.Fraction(value))
    if isinstance(value, str):
        return sp.Rational(budget.parse_value(value, name))
    raise ParameterError(f"parameter value {value!r} is not a number")


def _short(v) -> str:
    """A value for a message, without str() of a huge integer (Python refuses 4,300+ digits)."""
    if isinstance(v, (int, fractions.Fraction, sp.Rational)):
        num = v.numerator if not isinstance(v, sp.Rational) else v.p
        den = v.denominator if not isinstance(v, sp.Rational) else v.q
        if max(abs(int(num)), int(den)).bit_length() > 200:
            return f"(a number of about {budget._digits(max(abs(int(num)), int(den)))} digits)"
    return str(v)


@dataclass(frozen=True, eq=False)
class Activation:
    """One activation function, declared symbolically.

    Attributes:
        name: canonical catalog name.
        definition: the SymPy formula in :data:`symact.symbolic.forms.X` (vector
            activations: component ``i`` of :data:`~symact.symbolic.forms.XV`) with
            parameters as symbols.
        description: one line for people.
        latex: the definition as LaTeX (``f(x) = ...``).
        role: "hidden", "output" or "both", as the course uses it.
        params: the parameters with exact defaults.
        aliases: other names that resolve to this entry.
        reference: the paper or source that defines it.
        conventions: derivative at each kink: point -> "left" or "right".
        convention_note: where frameworks disagree, what each does.
        values: parameter values bound on this instance (see :meth:`with_params`).
    """

    name: str
    definition: sp.Expr
    description: str
    latex: str
    role: str
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    reference: str | None = None
    conventions: Mapping[sp.Expr, str] = field(default_factory=dict)
    convention_note: str = ""
    vector: bool = False
    values: Mapping[str, sp.Expr] = field(default_factory=dict)

    def __post_init__(self):
        assert self.role in ROLES, self.role
        assert all(side in ("left", "right") for side in self.conventions.values())

    # ------------------------------------------------------------------ parameters
    @property
    def param_values(self) -> dict[str, sp.Expr]:
        """Parameter name -> exact value in force (defaults unless overridden)."""
        return {p.name: self.values.get(p.name, p.default) for p in self.params}

    def with_params(self, **values) -> "Activation":
        """A copy with some parameters set, e.g. ``get("leaky_relu").with_params(negative_slope=0.2)``."""
        known = {p.name for p in self.params}
        for key in values:
            if key not in known:
                hint = f"its parameters are {', '.join(sorted(known))}" if known else "it has no parameters"
                raise ParameterError(f"{self.name} has no parameter {key!r}; {hint}")
        merged = dict(self.values)
        for key, value in values.items():
            v = exact_number(value, key)
            sym = next(p.symbol for p in self.params if p.name == key)
            if sym.is_positive and not v > 0:   # the definition assumes it (a division, a square root)
                raise ParameterError(f"{self.name}'s {key} must be positive, got {v}")
            if sym.is_nonnegative and not v >= 0:
                raise ParameterError(f"{self.name}'s {key} must be >= 0, got {v}")
            merged[key] = v
        return replace(self, values=merged)

    @property
    def is_default(self) -> bool:
        return all(self.param_values[p.name] == p.default for p in self.params)

    # ------------------------------------------------------------------ symbolic forms
    @property
    def x(self) -> sp.Symbol:
        """The variable (an ``IndexedBase`` for vector activations)."""
        return symbolic.XV if self.vector else symbolic.X

    @cached_property
    def expr(self) -> sp.Expr:
        """The definition with the parameter values substituted."""
        subs = {p.symbol: self.param_values[p.name] for p in self.params}
        return self.definition.subs(subs)

    @cached_property
    def conventions_bound(self) -> dict:
        subs = {p.symbol: self.param_values[p.name] for p in self.params}
        return {sp.sympify(k).subs(subs): v for k, v in self.conventions.items()}

    @cached_property
    def kinks(self) -> list[symbolic.Kink]:
        """Points where the function or its slope jumps (scalar activations)."""
        return [] if self.vector else symbolic.find_kinks(self.expr, self.x)

    @cached_property
    def derivative(self) -> sp.Expr:
        """f'(x) with the kink conventions; for vectors d y_i / d x_k."""
        def compute():
            if self.vector:
                d = sp.diff(self.expr, symbolic.XV[symbolic.K])
                return sp.simplify(symbolic.kronecker_sums(d))
            return symbolic.differentiate(self.expr, self.x, self.conventions_bound)

        key = (sp.srepr(self.expr), repr(sorted((sp.srepr(k), v) for k, v in self.conventions_bound.items())))
        return cache.cached("derivative", key, compute)

    def components(self, n: int):
        """Vector activations only: (symbols, component expressions) for length n."""
        assert self.vector
        return symbolic.components(self.expr, n)

    def __call__(self, value):
        """Exact value at a point (scalar activations), e.g. ``get('step')(0)``."""
        assert not self.vector
        return symbolic.value_at(self.expr, self.x, exact_number(value))

    def __repr__(self) -> str:
        vals = "".join(f", {k}={v}" for k, v in self.param_values.items())
        return f"Activation({self.name!r}{vals})"

    def _repr_latex_(self) -> str:
        """Jupyter's LaTeX display: the formula, ``$\\displaystyle ...$`` (:mod:`symact.model.display`)."""
        from symact.model import display
        return display.latex(self)

    def _repr_html_(self) -> str:
        """Jupyter's HTML display, every text escaped (:mod:`symact.model.display`)."""
        from symact.model import display
        return display.html(self)
