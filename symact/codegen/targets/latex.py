r"""The ``latex`` target: the function and its derivative as display math, no code.

Holds :class:`LatexOut` and the target object :data:`TARGET`. The output is two
``\[ ... \]`` blocks in the subset :func:`symact.parse.latex.parse_latex` reads
back, under the usual header as ``%`` comments; it prints the definition itself
(``act.expr``, ``act.derivative``), so it needs no plan and is the same for every dtype.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from symact.codegen.emit import header_lines
from symact.codegen.target import Target
from symact import primitives as rw


class LatexOut(LatexPrinter):
    """Display math in the subset :func:`symact.parse.latex.parse_latex` reads back.

    The stable primitives print as their textbook forms; a power of a function
    is ``\\left(\\tanh{...}\\right)^{2}`` (not ``\\tanh^{2}``), a disjunction in a
    cases condition is ``\\text{or}``, vector components are ``x_{i}`` and the
    Kronecker delta is ``\\delta_{ik}``.
    """

    def _print_Function(self, e, exp=None):
        if isinstance(e, rw.StableFunction):
            return self._print(rw.to_standard(e) if exp is None else rw.to_standard(e) ** sp.sympify(exp))
        if exp is not None:
            return rf"\left({super()._print_Function(e)}\right)^{{{exp}}}"
        return super()._print_Function(e)

    def _print_Or(self, e):
        return r" \text{or} ".join(self._print(a) for a in e.args)

    def _print_Indexed(self, e):
        return f"{self._print(e.base.label)}_{{{''.join(self._print(i) for i in e.indices)}}}"

    def _print_KroneckerDelta(self, e, exp=None):
        return rf"\delta_{{{self._print(e.args[0])}{self._print(e.args[1])}}}"


class LatexTarget(Target):
    name = "latex"
    order = 60
    planned = False
    printer = LatexOut

    def write(self, act, plan, ident, dtype):
        p = self.printer()
        head = [f"% {ln}" for ln in header_lines(act, self.name, act.name, "float64", [])]
        if act.vector:
            f_l, d_l = "y_i", r"\frac{\partial y_i}{\partial x_k}"
        else:
            f_l, d_l = "f(x)", "f'(x)"
        return "\n".join(head + ["\\[", f"{f_l} = {p.doprint(act.expr)}", "\\]", "\\[",
                                 f"{d_l} = {p.doprint(act.derivative)}", "\\]", ""])


TARGET = LatexTarget()
