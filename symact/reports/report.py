"""The check report: facts, verdicts and tests for one activation.

:func:`check` is the library's front door (``symact.check("sigmoid")``). It
composes the lower layers (facts, linearity, numeric tests) into a
:class:`CheckReport` whose :meth:`~CheckReport.to_dict` is the JSON contract
of ``symact check --json``. It never prints.

JSON contract (later issues extend it, never break it): ``name``, ``expr`` and
``derivative`` (SymPy ``str()`` forms that ``sympy.sympify`` reads back),
``latex``, ``params``, ``linearity`` = {additivity, homogeneity,
positive_homogeneity} each {verdict, witness}, ``symmetry``, ``facts``,
``tests`` (a list of {name, passed, ...}) and ``ok``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from symact import cache
from symact.model import catalog
from symact.verify import difftest
from symact.analysis import facts as facts_mod, linearity
from symact.model.activation import Activation
from symact.verify.results import TestResult


def expr_str(expr: sp.Expr) -> str:
    """``str()`` of an expression such that plain ``sympy.sympify`` reads it back.

    Vector forms print ``x[i]`` as ``Indexed(x, i)`` (sympify cannot subscript a Symbol).
    """
    return _ReadablePrinter().doprint(expr)


class _ReadablePrinter(sp.printing.str.StrPrinter):
    printmethod = "_symact_str"  # not "_sympystr": Indexed would print itself as x[i]

    def _print_Indexed(self, e):
        return f"Indexed({self._print(e.base.label)}, {', '.join(self._print(i) for i in e.indices)})"


@dataclass
class CheckReport:
    """Everything ``symact check`` knows about one activation."""

    activation: Activation
    facts: facts_mod.Facts
    verdicts: dict[str, linearity.Verdict]
    tests: list[TestResult] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.activation.name

    @property
    def ok(self) -> bool:
        return all(t.passed for t in self.tests)

    @property
    def linear(self) -> str:
        return linearity.is_linear(self.verdicts)

    def conclusion(self) -> str:
        """What the linearity verdicts mean for a network."""
        if self.linear == linearity.PROVED:
            return ("linear: stacked layers with this activation collapse into one linear map, "
                    "so it belongs in output layers only")
        if self.linear == linearity.REFUTED:
            return "not linear: stacked layers do not collapse, so it can serve in hidden layers"
        return "linearity undecided"

    def to_dict(self) -> dict:
        act = self.activation
        out = {
            "name": act.name,
            "description": act.description,
            "role": act.role,
            "reference": act.reference,
            "vector": act.vector,
            "expr": expr_str(act.expr),
            "derivative": expr_str(act.derivative),
            "latex": act.latex,
            "params": {k: str(v) for k, v in act.param_values.items()},
            "conventions": {str(k): v for k, v in act.conventions_bound.items()},
            "convention_note": act.convention_note or None,
            "linearity": {k: self.verdicts[k].to_dict() for k in linearity.LINEARITY},
            "linear": self.linear,
            "conclusion": self.conclusion(),
            "symmetry": {k: v.to_dict() for k, v in self.verdicts.items() if k not in linearity.LINEARITY},
            "facts": self.facts.to_dict(),
            "tests": [t.to_dict() for t in self.tests],
            "ok": self.ok,
        }
        out.update(self.extra)
        return out


def analyze(act: Activation) -> CheckReport:
    """Facts and verdicts for ``act`` (the symbolic half of a check)."""
    key = cache.activation_key(act)
    facts = cache.cached("facts", key, lambda: facts_mod.derive(act))
    verdicts = cache.cached("verdicts", key, lambda: linearity.verdicts(act))
    return CheckReport(act, facts, verdicts)


def resolve(name_or_act, params: dict | None = None) -> Activation:
    act = name_or_act if isinstance(name_or_act, Activation) else catalog.get(name_or_act)
    return act.with_params(**params) if params else act


def check(name_or_act, params: dict | None = None, **test_options) -> CheckReport:
    """Check one activation: derived facts, linearity verdicts and numeric tests.

    ``test_options`` go to :func:`symact.verify.difftest.run_tests` (``impl``,
    ``grad_impl``, ``seed``, ``examples``, ``max_ulp``, ``atol``, ``dtypes``).
    """
    act = resolve(name_or_act, params)
    report = analyze(act)
    report.tests.extend(run_tests(act, **test_options))
    return report


def run_tests(act: Activation, **test_options) -> list[TestResult]:
    """The numeric tests of a check: kernels and implementations against the oracle."""
    return difftest.run_tests(act, **test_options)
