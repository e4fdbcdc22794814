"""The exceptions symact raises for user mistakes.

Every user-facing mistake (an unknown activation name, a bad parameter, a formula
that cannot be read, an implementation spec that cannot be loaded) raises a
subclass of :class:`SymactError` whose message says what was wrong and what to do.
Internal invariants are plain ``assert`` statements. The CLI maps ``SymactError``
to exit status 2 and a one-line message; the library never prints or exits.
"""
from __future__ import annotations

import difflib


class SymactError(Exception):
    """A user mistake: the message says what was wrong and what to do."""


class UnknownActivationError(SymactError, KeyError):
    """An activation name that is not in the catalog."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.suggestions = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.5)
        hint = (
            f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else "; run `symact list` to see the catalog"
        )
        super().__init__(f"unknown activation {name!r}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class ParameterError(SymactError):
    """A parameter name or value that the activation does not accept."""


class ParseError(SymactError):
    """A formula that cannot be read; the message names the position."""

    def __init__(self, message: str, text: str = "", position: int | None = None):
        super().__init__(message)
        self.text = text
        self.position = position


class SpecError(SymactError):
    """An ``--impl`` specification that cannot be loaded."""


class BudgetError(SymactError):
    """An input whose processing would exceed a stated bound of time or memory.

    The message names what was too costly (the nesting, the digits, the
    oracle's precision, ...) and the bound, so the user can simplify the input.
    """


class WriteError(SymactError):
    """A file symact was asked to write that could not be written; names the path and the reason."""
