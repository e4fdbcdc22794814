"""How much of a note was read, checked and run: "12 of 19 formulas read, 5 checked; 5 of 5
functions run" (and with ``--no-exec``: "5 functions not run (--no-exec)")."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counts:
    formulas: int = 0     # formulas found (math fences, display math, inline definitions)
    read: int = 0         # of them, read
    checked: int = 0      # of them, compared with something (catalog, label, derivative, code)
    functions: int = 0    # functions defined in the note's Python code
    run: int = 0          # of them, run and judged (or found unjudgeable)
    blocks_run: int = 0   # code blocks that ran

    def as_dict(self, *, executed: bool, no_exec: bool) -> dict:
        d = {"formulas": self.formulas, "formulas_read": self.read, "formulas_checked": self.checked,
             "functions": self.functions, "functions_run": self.run, "blocks_run": self.blocks_run}
        d["text"] = describe(d, no_exec=no_exec)
        return d


def describe(d: dict, *, no_exec: bool = False) -> str:
    """One line for a person."""
    s = lambda n, word: f"{n} {word}" + ("" if n == 1 else "s")  # noqa: E731
    text = f"{d['formulas_read']} of {s(d['formulas'], 'formula')} read, {d['formulas_checked']} checked"
    if no_exec:
        return text + (f"; {s(d['functions'], 'function')} not run (--no-exec)" if d["functions"]
                       else "; no functions defined; code not run (--no-exec)")
    if not d["functions"]:
        return text + f"; no functions defined ({s(d['blocks_run'], 'code block')} ran)"
    return text + f"; {d['functions_run']} of {s(d['functions'], 'function')} run"
