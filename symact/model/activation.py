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
#: What a vector activation does to its axis: keep its length, halve it (glu), remove it
#: (logsumexp: one value per row) or double it (crelu).
SHAPES = ("same", "half", "reduce", "double")


def output_length(shape: str, n: int) -> int:
    """The number of output components for rows of length ``n`` (1 for "reduce")."""
    if shape == "half":
        if n % 2:
            raise ValueError(f"this activation splits the axis in half: its length must be even, got {n}")
        return n // 2
    return 1 if shape == "reduce" else 2 * n if shape == "double" else n


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
        shape: vector activations: what the row axis becomes (:data:`SHAPES`): "same"
            (softmax), "half" (glu: component i of n/2), "reduce" (logsumexp: one value,
            the axis removed; its derivative is the gradient, x's shape), "double" (crelu).
        jacobian: a declared d y_i / d x_k (in ``XV``, ``I``, ``K``, ``N``) where SymPy's
            diff cannot take it (sparsemax's threshold hides x) or would pick no kink
            convention (crelu: relu'(0) = 0).
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
    shape: str = "same"
    jacobian: sp.Expr | None = None

    def __post_init__(self):
        assert self.role in ROLES, self.role
        assert self.shape in SHAPES and (self.vector or self.shape == "same"), self.shape
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
            if self.vector and self.jacobian is not None:
                return self.jacobian
            if self.vector:
                d = sp.diff(self.expr, symbolic.XV[symbolic.K])
                return sp.simplify(symbolic.kronecker_sums(d))
            return symbolic.differentiate(self.expr, self.x, self.conventions_bound)

        key = (sp.srepr(self.expr), repr(sorted((sp.srepr(k), v) for k, v in self.conventions_bound.items())))
        if self.jacobian is not None:
            key += (sp.srepr(self.jacobian),)
        return cache.cached("derivative", key, compute)

    @property
    def shaped(self) -> bool:
        """A vector activation whose output does not keep its input's shape (or whose
        Jacobian is declared): glu, logsumexp, crelu, sparsemax."""
        return self.vector and (self.shape != "same" or self.jacobian is not None)

    def output_length(self, n: int) -> int:
        """Vector activations: the number of output components for rows of length ``n``."""
        return output_length(self.shape, n)

    def components(self, n: int):
        """Vector activations only: (symbols x1..xn, the output's component expressions)
        for rows of length n (:meth:`output_length` components)."""
        assert self.vector
        return symbolic.components(self.expr, n, self.output_length(n))

    def jacobian_components(self, n: int):
        """Vector activations only: (symbols, rows) with rows[i][k] = d y_i / d x_k for rows
        of length n, from the declared :attr:`jacobian` or SymPy's diff of the components."""
        assert self.vector
        if self.jacobian is None:
            xs, comps = self.components(n)
            return xs, [[sp.diff(c, xk) for xk in xs] for c in comps]
        m = self.output_length(n)
        jac = self.jacobian.subs(symbolic.N, n)
        xs = list(sp.symbols(f"x1:{n + 1}", real=True))
        rows = []
        for i in range(1, m + 1):
            row = []
            for k in range(1, n + 1):
                e = jac.subs({symbolic.I: i, symbolic.K: k}).doit()
                row.append(e.replace(lambda t: isinstance(t, sp.Indexed), lambda t: xs[int(t.indices[0]) - 1]))
            rows.append(row)
        return xs, rows

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
