"""The record of one test in a report (numeric, formula or implementation test)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TestResult:
    """One test: its name, whether it passed, and details for the JSON report.

    ``details`` holds JSON-ready values only, e.g. ``worst`` = {x, expected, got,
    ulp}, ``failing`` (count), ``points`` (count), ``max_ulp``, ``mean_ulp``,
    ``tolerance``, ``error`` (exception type and message), ``note``.
    """

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, **self.details}
