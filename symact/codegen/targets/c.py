"""The ``c`` target: C99 with ``<math.h>`` only; ``double`` functions, plus ``float`` ones for float32.

Holds :class:`CPrinter` and the target object :data:`TARGET`, with the helper
sources it emits (:data:`HELPERS`). Branches are an if/else chain on x; root
fix-ups and the guards at +-inf and past saturation come first. With float32 the
file also defines ``NAMEf``/``NAME_gradf`` in float with the f-suffixed libm
functions: each helper source is written once as a template in ``T`` (the C type)
with ``F``-suffixed names (``expF``, ``symact_expitF``) and instantiated per
precision (:meth:`CTarget.helper_source`). Vector activations take
``(const T *x, T *y, size_t n)``; the Jacobian is written row-major into ``jac``.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.c import C99CodePrinter

from symact.codegen.emit import (branch_body, coeff_split, header_lines, helper_order, indent, interval_parts, lim,
                                 num_py, root_tuple, tail_guards, vector_expr)
from symact.numeric.kernels.vector import mirrored
from symact.codegen.forms import Plan
from symact.codegen.printer import CodegenError, CodePrinterBase, dispatch_functions, primitive_sources
from symact.codegen.target import Target

#: C keywords and the <math.h> names a generated identifier must not take
RESERVED = frozenset({
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Imaginary", "main", "fma", "fmax", "fmin", "fabs",
    "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "pow", "sqrt", "cbrt", "hypot", "sin", "cos",
    "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf",
    "erfc", "tgamma", "lgamma", "ceil", "floor", "round", "trunc", "isinf", "isnan", "isfinite",
    "nan", "copysign", "ldexp", "frexp", "modf", "fmod", "remainder", "signbit",
})


@dispatch_functions
class CPrinter(CodePrinterBase, C99CodePrinter):
    """C99 with ``math.h``; ``single=True`` spells the float variants (``expf``, ``1.5f``)."""

    TARGET = "c"
    FUNCS = {"exp": "exp", "log": "log", "tanh": "tanh", "Abs": "fabs", "erf": "erf"}

    def __init__(self, single: bool = False):
        super().__init__()
        self._init_common()
        self.single = single
        self.FLOAT_SUFFIX = "f" if single else ""
        if single:
            self.FUNCS = {k: v + "f" for k, v in self.FUNCS.items()}
            self.HELPERS = {k: v + "f" for k, v in self.HELPERS.items()}

    def _num(self, v: float) -> str:
        s = repr(float(v))
        if s in ("inf", "-inf", "nan"):
            raise CodegenError(f"constant {s} in generated code")
        if "e" not in s and "." not in s:
            s += ".0"
        return s + self.FLOAT_SUFFIX

    def _print_Integer(self, e):
        return self._num(int(e))

    def _print_Pow(self, e, rational=False):
        b, n = e.base, e.exp
        sq = "sqrtf" if self.single else "sqrt"
        if n == sp.S.Half:
            return f"{sq}({self._print(b)})"
        if n.is_Integer:
            base = self._print(b)
            k = abs(int(n))
            if 1 <= k <= 3:
                prod = "*".join([f"({base})"] * k)
                return f"(1{self.FLOAT_SUFFIX and '.0f' or '.0'}/({prod}))" if n < 0 else f"({prod})"
        return self._print_not_supported(e)


#: helper source templates keyed by name: ``T`` the C type, ``F`` the libm suffix (see the module docstring)
HELPERS = {
    **primitive_sources("c"),
    "rootpoly": '''static T symact_rootpolyF(T x, T lo, T step, int n, int rows, const T *centres, const T *coeffs,
                          T r_hi, T r_lo)
{
    /* (x - r) q(x) next to a root r = r_hi + r_lo where the formula's terms cancel: q is one
       polynomial in x - centre per piece of [lo, lo + n step] (coefficients coeffs[k n + j],
       highest degree first), fitted in mpmath when this file was generated */
    const T u = (x - lo) * (1 / step);
    const int j = u < 1 ? 0 : u >= n - 1 ? n - 1 : (int)u;
    const T t = x - centres[j];
    T q = 0;
    int k;
    for (k = 0; k < rows; k++)
        q = q * t + coeffs[k * n + j];
    return ((x - r_hi) - r_lo) * q;
}''',
    "dd": '''static void symact_dd_hornerF(T x, const T *c_hi, const T *c_lo, int n, T *hi, T *lo)
{
    /* hi + lo = sum c x^k to about twice the working precision (fma products) */
    T h = c_hi[0], l = c_lo[0], plain = c_hi[0];
    int k;
    for (k = 1; k < n; k++) {
        const T p = h * x;
        T e = fmaF(h, x, -p) + l * x;
        const T s = p + c_hi[k];
        const T bb = s - p;
        e += ((p - (s - bb)) + (c_hi[k] - bb)) + c_lo[k];
        h = s + e;
        l = e - (h - s);
        plain = plain * x + c_hi[k];
    }
    if (!isfinite(l)) {
        h = plain;
        l = 0;
    }
    *hi = h;
    *lo = l;
}''',
    "shift": '''static void symact_shiftF(T x, T m, T *t, T *lo, T *e)
{
    /* t + lo = x - m exactly; e = exp(t + lo) */
    const T bb = (*t = x - m) - x;
    *lo = (x - (*t - bb)) - (m + bb);
    if (!isfinite(*lo))
        *lo = 0;
    *e = expF(*t) * (1 + *lo);
}''',
}


class CTarget(Target):
    name = "c"
    order = 30
    reserved = RESERVED
    printer = CPrinter
    helpers = HELPERS

    def helper_source(self, name: str, single: bool = False) -> str:
        """Helper ``name`` in double, or in float with ``single``: every ``F``-suffixed name
        (``expF``, ``symact_expitF``) takes the precision's suffix, ``T`` its type."""
        T, F = ("float", "f") if single else ("double", "")
        src = re.sub(r"\b(\w+)F\b", lambda m: m.group(1) + F, super().helper_source(name))
        return re.sub(r"\bT\b", T, src)

    def write(self, act, p: Plan, ident, dtype):
        variants = [False] + ([True] if dtype == "float32" else [])
        used_all: dict[bool, set] = {}
        fns = []
        for single in variants:
            T, F = ("float", "f") if single else ("double", "")
            printer = self.printer(single=single)
            if act.vector:
                fns += self._vector_functions(p, ident, printer, T, F)
                printer.used.add("shift")
            else:
                for deriv, form in ((False, p.f), (True, p.df)):
                    fns.append(self._scalar_function(ident, deriv, form, printer, single))
            used_all[single] = set(printer.used)
        header = header_lines(act, self.name, ident, dtype, ["C99; needs only <math.h>"
                                                             + (" and <stddef.h> (size_t)" if act.vector else "")
                                                             + "; link with -lm"])
        out = ["/* " + header[0], *[" * " + h for h in header[1:]], " */", "#include <math.h>"]
        if act.vector:
            out.append("#include <stddef.h>")
        out.append("")
        for single in variants:
            for h in helper_order(used_all[single]):
                out += ["", self.helper_source(h, single), ""]
        for f in fns:
            out += ["", *f, ""]
        return "\n".join(out).rstrip() + "\n"

    def _scalar_function(self, ident, deriv, form, printer, single) -> list[str]:
        T, F = ("float", "f") if single else ("double", "")
        num = printer._num
        inf = "INFINITY"
        lines = [f"{T} {ident}{'_grad' if deriv else ''}{F}({T} x)", "{"]
        if form.limits is not None:
            lo, hi = (lim(v, inf).replace("float('nan')", "NAN") if v == v else "NAN" for v in form.limits)
            lo, hi = (s if s in ("INFINITY", "-INFINITY", "NAN") else num(float(s)) for s in (lo, hi))
            lines.append(f"    if (isinf(x)) return x > 0 ? {hi} : {lo};")
            for t, side, v in tail_guards(form):
                lines.append(f"    if (x {side} {num(t)}) return {num(v)};  /* rounds to the limit here */")
        for i, rp in enumerate(form.roots):
            printer.used.add("rootpoly")
            cname = f"{ident}{'_grad' if deriv else ''}{F}_root{i}"
            lo_, step, cs, rows, r_hi, r_lo = root_tuple(rp, single)
            lines[:0] = [f"/* near the root x = {num_py(rp.r_hi)}: (x - r) q(x) on [{num_py(rp.lo)}, "
                         f"{num_py(rp.hi)}], {len(cs)} pieces of degree {len(rows) - 1} */",
                         f"static const {T} {cname}_centres[{len(cs)}] = {{{', '.join(num(c) for c in cs)}}};",
                         f"static const {T} {cname}_coeffs[{len(rows) * len(cs)}] = {{",
                         *[f"    {', '.join(num(c) for c in row)}," for row in rows], "};", ""]
            lines += [f"    if (x >= {num(rp.lo)} && x <= {num(rp.hi)})  /* next to a root */",
                      f"        return symact_rootpoly{F}(x, {num(lo_)}, {num(step)}, {len(cs)}, {len(rows)}, "
                      f"{cname}_centres, {cname}_coeffs, {num(r_hi)}, {num(r_lo)});"]

        def dd_line(d, var, single_):
            cs = [coeff_split(c, single) for c in d.coeffs]
            his = ", ".join(num(h) for h, _ in cs)
            los = ", ".join(num(lo_) for _, lo_ in cs)
            return (f"static const {T} {d.hi}_c[] = {{{his}}}, {d.lo}_c[] = {{{los}}};\n"
                    f"{T} {d.hi}, {d.lo};\nsymact_dd_horner{F}({var}, {d.hi}_c, {d.lo}_c, {len(cs)}, "
                    f"&{d.hi}, &{d.lo});")
        for k, b in enumerate(form.branches):
            if b.dds:
                printer.used.add("dd")
            bl, res = branch_body(b, printer, lambda s, v: f"const {T} {s} = {v};", dd_line, "x", tag=f"{k}_",
                                  single=single)
            bl = [ln for chunk in bl for ln in chunk.split("\n")]
            if b.cond is not None:
                cond = " && ".join(f"{c}" for c in interval_parts(b.cond, "x", num))
                lines += [f"    if ({cond}) {{"] + indent(bl + [f"return {res};"], 8) + ["    }"]
            else:
                lines += indent(bl + [f"return {res};"], 4)
        lines.append("}")
        return lines

    def _vector_functions(self, p: Plan, ident, printer, T, F) -> list[list[str]]:
        fns = []
        for deriv, (expr, syms) in ((False, p.vec_f), (True, p.vec_df)):
            used, reps, red = vector_expr(expr, syms)
            inner = [f"const {T} {s} = {printer.doprint(v)};" for s, v in reps]
            xi, xk = ("-x[i]", "-x[k]") if mirrored(p.act) else ("x[i]", "x[k]")   # softmin: at -x
            lines = [f"void {ident}{'_grad' if deriv else ''}{F}(const {T} *x, {T} *{'jac' if deriv else 'y'}, size_t n)", "{",
                     f"    {T} m = -INFINITY, rest = 0, top = 0, Sm1;", "    size_t i;" if not deriv else "    size_t i, k;",
                     "    for (i = 0; i < n; i++)", f"        if ({xi} > m)", f"            m = {xi};",
                     "    if (!isfinite(m))", "        m = 0;", "    for (i = 0; i < n; i++) {",
                     f"        {T} t, lo, e;", f"        symact_shift{F}({xi}, m, &t, &lo, &e);",
                     "        if (t == 0)", "            top += 1;", "        else", "            rest += e;", "    }",
                     "    Sm1 = rest + (top - 1);", "    for (i = 0; i < n; i++) {",
                     f"        {T} t_i, t_i_lo, e_i;", f"        symact_shift{F}({xi}, m, &t_i, &t_i_lo, &e_i);"]
            if deriv:
                lines += ["        for (k = 0; k < n; k++) {", f"            {T} t_k, t_k_lo, e_k;",
                          f"            symact_shift{F}({xk}, m, &t_k, &t_k_lo, &e_k);"]
                pre = ([f"const {T} delta = i == k ? 1 : 0;"] if ("delta" in used or "q" in used) else [])
                pre += [f"const {T} q = delta - e_k;"] if "q" in used else []
                lines += indent(pre + inner + [f"jac[i * n + k] = {printer.doprint(red)};"], 12) + ["        }"]
            else:
                pre = ([f"const {T} delta = 1;"] if "delta" in used else []) + ([f"const {T} q = 1 - e_i;"] if "q" in used else [])
                lines += indent(pre + inner + [f"y[i] = {printer.doprint(red)};"], 8)
            lines += ["    }", "}"]
            fns.append(lines)
        return fns


TARGET = CTarget()
