"""The ``python`` target: Python floats and the standard library's ``math`` (float64 only).

Holds :class:`MathPrinter` and the target object :data:`TARGET`, with the helper
sources it emits (:data:`HELPERS`). Branches are an if/else chain on x, root
fix-ups and the guards at +-inf and past saturation come first; vector activations
take lists of floats and return lists (the Jacobian as a list of rows).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from symact.codegen.emit import (branch_body, dd_py, header_lines, helper_order, indent, interval_parts, lim,
                                 num_py, root_const_py, tail_guards, vector_expr)
from symact.numeric.kernels.vector import mirrored
from symact.codegen.forms import Plan
from symact.codegen.printer import CodePrinterBase, dispatch_functions, primitive_sources
from symact.codegen.target import Target
from symact.numeric.oracle import oracle_for
from symact.symbolic.forms import X


@dispatch_functions
class MathPrinter(CodePrinterBase, PythonCodePrinter):
    """Python floats with the standard library's ``math``."""

    TARGET = "python"
    FUNCS = {"exp": "math.exp", "log": "math.log", "tanh": "math.tanh", "Abs": "abs", "erf": "math.erf"}
    MOD = "math"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    _print_Pow = CodePrinterBase._print_Pow_common


#: helper sources keyed by name (see :attr:`symact.codegen.target.Target.helpers`)
HELPERS = {
    **primitive_sources("python"),
    "dd": '''def _dd_horner(x, coeffs):
    """(hi, lo) with hi + lo = sum c x^k to ~2^-100; coeffs (hi, lo) highest degree first."""
    hi, lo = coeffs[0]
    plain = hi
    for c_hi, c_lo in coeffs[1:]:
        p = hi * x                          # Dekker: p + e == hi * x exactly
        t = 134217729.0 * hi
        ah = t - (t - hi)
        al = hi - ah
        t = 134217729.0 * x
        bh = t - (t - x)
        bl = x - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl + lo * x
        s = p + c_hi                        # TwoSum(p, c_hi)
        bb = s - p
        e = e + ((p - (s - bb)) + (c_hi - bb)) + c_lo
        hi = s + e
        lo = e - (hi - s)
        plain = plain * x + c_hi
    if not math.isfinite(lo):               # |x| so large that the split overflowed
        return plain, 0.0
    return hi, lo''',
    "rootpoly": '''def _rootpoly(x, p):
    """(x - r) q(x) next to a root r where the formula's terms cancel: p = (lo, step, centres,
    coefficient rows (highest degree first, one column per piece), r_hi, r_lo); q is one
    polynomial in x - centre per piece, fitted in mpmath when this file was generated."""
    lo, step, centres, rows, r_hi, r_lo = p
    j = min(max(int((x - lo) * (1.0 / step)), 0), len(centres) - 1)
    t = x - centres[j]
    q = 0.0
    for row in rows:
        q = q * t + row[j]
    return ((x - r_hi) - r_lo) * q''',
    "shift": '''def _shift(x):
    """(t_hi, t_lo, e = exp(t)) per element with t = x - max(x) exact; Sm1 = sum(e) - 1."""
    m = max(x) if x else 0.0
    if not math.isfinite(m):
        m = 0.0
    sh = []
    for v in x:
        t = v - m
        bb = t - v
        lo = (v - (t - bb)) - (m + bb)
        if not math.isfinite(lo):
            lo = 0.0
        sh.append((t, lo, math.exp(t) * (1.0 + lo)))
    rest = math.fsum(e for t, lo, e in sh if t != 0)
    return sh, rest + (sum(1 for t, lo, e in sh if t == 0) - 1.0)''',
}


def overflow_guards(form) -> list[tuple[float, str, float]]:
    """(threshold, comparison, +-inf) for each side where the value itself overflows at a
    finite x (exponential past x = 709.78): Python's math.exp raises OverflowError there,
    where every other target returns inf. The threshold is the first double whose value
    the oracle rounds to +-inf, found by bisection over the doubles (the value is
    monotone that far out)."""
    out = []
    if form.limits is None or not any(b.expr.has(sp.exp, sp.cosh, sp.sinh) for b in form.branches):
        return out   # no math.exp in the body: Python's float arithmetic overflows to inf itself
    orc = None

    def overflows(v: float) -> bool:
        try:
            return not math.isfinite(orc.rounded(v))
        except OverflowError:   # a value past the largest double
            return True

    for sign, v in ((1, form.limits[1]), (-1, form.limits[0])):
        if math.isfinite(v):
            continue
        orc = orc or oracle_for(form.reference, X)
        big = float(np.finfo(np.float64).max)
        if not overflows(sign * big):
            continue
        lo, hi = 0, int(np.float64(big).view(np.int64))   # bit patterns: lo finite, hi overflows
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if not overflows(sign * float(np.int64(mid).view(np.float64))):
                lo = mid
            else:
                hi = mid
        t = float(np.int64(hi).view(np.float64))
        out.append((sign * t, ">=" if sign > 0 else "<=", v))
    return out


class PythonTarget(Target):
    name = "python"
    order = 20
    dtypes = ("float64",)
    dtype_reason = "computes with Python floats"
    printer = MathPrinter
    helpers = HELPERS

    def write(self, act, p: Plan, ident, dtype):
        printer = self.printer()
        if act.vector:
            fns = self._vector_functions(act, p, ident, printer)
            printer.used.add("shift")
        else:
            fns = [self._scalar_function(act, ident, deriv, form, printer)
                   for deriv, form in ((False, p.f), (True, p.df))]
        header = header_lines(act, self.name, ident, dtype, ["Python floats, standard library math only"])
        out = ['"""' + header[0], *header[1:], '"""', "import math", ""]
        for h in helper_order(printer.used):
            out += ["", self.helper_source(h), ""]
        for f in fns:
            out += ["", *f, ""]
        return "\n".join(out).rstrip() + "\n"

    def _scalar_function(self, act, ident, deriv, form, printer) -> list[str]:
        lines = [f"def {ident}{'_grad' if deriv else ''}(x):",
                 f'    """{act.name}{chr(39) if deriv else ""}(x) of a float."""', "    x = float(x)"]
        if form.limits is not None:
            lo, hi = (lim(v, "math.inf") for v in form.limits)
            lines += ["    if math.isinf(x):", f"        return {hi} if x > 0 else {lo}"]
            for t, side, v in tail_guards(form):
                lines += [f"    if x {side} {num_py(t)}:  # rounds to the limit here", f"        return {lim(v, 'math.inf')}"]
            for t, side, v in overflow_guards(form):
                lines += [f"    if x {side} {num_py(t)}:  # overflows here (math.exp would raise)",
                          f"        return {lim(v, 'math.inf')}"]
        for i, rp in enumerate(form.roots):
            printer.used.add("rootpoly")
            cname = f"_{ident}{'_grad' if deriv else ''}_root{i}"
            lines[:0] = root_const_py(cname, rp) + ["", ""]
            lines += [f"    if {num_py(rp.lo)} <= x <= {num_py(rp.hi)}:  # next to a root",
                      f"        return _rootpoly(x, {cname})"]
        for k, b in enumerate(form.branches):
            if b.dds:
                printer.used.add("dd")
            bl, res = branch_body(b, printer, lambda s, v: f"{s} = {v}", dd_py, "x", tag=f"{k}_")
            if b.expr.is_number:
                res = num_py(float(b.expr))
            if b.cond is not None:
                lines.append(f"    if {' and '.join(interval_parts(b.cond, 'x', num_py))}:")
                lines += indent(bl + [f"return {res}"], 8)
            else:
                lines += indent(bl + [f"return {res}"], 4)
        return lines

    def _vector_functions(self, act, p: Plan, ident, printer) -> list[list[str]]:
        fns = []
        for deriv, (expr, syms) in ((False, p.vec_f), (True, p.vec_df)):
            used, reps, red = vector_expr(expr, syms)
            inner = [f"{s} = {printer.doprint(v)}" for s, v in reps] + [f"row.append({printer.doprint(red)})" if deriv
                                                                        else f"out.append({printer.doprint(red)})"]
            lines = [f"def {ident}{'_grad' if deriv else ''}(x):",
                     f'    """{act.name}{chr(39) + " Jacobian J[i][k] = d y_i / d x_k" if deriv else ""} of a list of floats."""',
                     "    sh, Sm1 = _shift([-float(v) for v in x])" if mirrored(act)   # softmin: at -x
                     else "    sh, Sm1 = _shift([float(v) for v in x])", "    out = []", "    for i, (t_i, t_i_lo, e_i) in enumerate(sh):"]
            if deriv:
                lines += ["        row = []", "        for k, (t_k, t_k_lo, e_k) in enumerate(sh):"]
                pre = ["delta = 1.0 if i == k else 0.0"] if ("delta" in used or "q" in used) else []
                pre += ["q = delta - e_k"] if "q" in used else []
                lines += indent(pre + inner, 12) + ["        out.append(row)"]
            else:
                pre = (["delta = 1.0"] if "delta" in used else []) + (["q = 1.0 - e_i"] if "q" in used else [])
                lines += indent(pre + inner, 8)
            lines.append("    return out")
            fns.append(lines)
        return fns


TARGET = PythonTarget()
