"""What the array-library targets (numpy, torch, jax) share: :class:`ArrayTarget`.

An array target computes every branch on x *clipped into its own interval* (elu's
exp never sees x > 0) and selects with ``where`` -- so no overflow, no RuntimeWarning
and no NaN gradient through the unselected branch (the jnp.where trap). Root
fix-ups, the limits at +-inf and the saturation guards are further ``where`` layers;
where the runtime flushes subnormal intermediates (:attr:`ArrayTarget.subnormal_flusher`)
the subnormal-safe tails of :mod:`symact.codegen.tails` are one more.

Vector activations take the max-subtraction form (x_j = t_j + m, t in double-double,
Sum exp = e^m (1 + Sm1)) inside a fixed prologue, the helper ``_shift``.

The targets' own helpers' sources are written once here as templates in ``{M}``
(the array module: ``np``, ``torch``, ``jnp``); each target module instantiates them
into its own ``HELPERS`` data (:func:`array_helpers`, :func:`rootpoly_source`,
:func:`shift_source`) and adds the stable primitives' sources
(:func:`symact.codegen.printer.primitive_sources`, declared in :mod:`symact.primitives`).
"""
from __future__ import annotations

import abc

from symact.codegen.emit import (branch_body, dd_py, header_lines, helper_order, indent, interval_parts, lim,
                                 needs_clip, num_py, root_const_py, tail_guards, vector_expr)
from symact.numeric.kernels.vector import mirrored
from symact.codegen.forms import Plan, ScalarForm
from symact.codegen.tails import scale_exponent, subnormal_tails
from symact.codegen.target import Target

#: the array targets' own helper sources, ``{M}`` standing for the array module
ARRAY_HELPER_TEMPLATES = {
    "dd": '''def _dd_horner(x, coeffs):
    """(hi, lo) with hi + lo = sum c x^k to ~2^-100; coeffs (hi, lo) highest degree first."""
    split = 134217729.0 if x.dtype == {M}.float64 else 4097.0
    if x.dtype != {M}.float64:              # float32: split each coefficient again at float32
        coeffs = [(float({M}.asarray(h, dtype=x.dtype)), (h - float({M}.asarray(h, dtype=x.dtype))) + l)
                  for h, l in coeffs]
    hi = {M}.full_like(x, coeffs[0][0])
    lo = {M}.full_like(x, coeffs[0][1])
    plain = hi
    for c_hi, c_lo in coeffs[1:]:
        p = hi * x                          # Dekker: p + e == hi * x exactly
        t = split * hi
        ah = t - (t - hi)
        al = hi - ah
        t = split * x
        bh = t - (t - x)
        bl = x - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl + lo * x
        s = p + c_hi                        # TwoSum(p, c_hi)
        bb = s - p
        e = e + ((p - (s - bb)) + (c_hi - bb)) + c_lo
        hi = s + e
        lo = e - (hi - s)
        plain = plain * x + c_hi
    ok = {M}.isfinite(lo)                   # |x| so large that the split overflowed
    return {M}.where(ok, hi, plain), {M}.where(ok, lo, 0.0)''',
}


def array_helpers(M: str) -> dict[str, str]:
    """:data:`ARRAY_HELPER_TEMPLATES` spelled with the array module ``M``."""
    return {k: v.replace("{M}", M) for k, v in ARRAY_HELPER_TEMPLATES.items()}


def rootpoly_source(array: str, index: str, r1: str) -> str:
    """The ``_rootpoly`` helper: ``array`` spells a table as an array of x's dtype
    (``{a}``: the table), ``index`` the clipped piece index of ``u``, ``r1`` the line
    that takes r_hi into x's dtype."""
    return f'''def _rootpoly(x, p):
    """(x - r) q(x) next to a root r where the formula's terms cancel: p = (lo, step, centres,
    coefficient rows (highest degree first, one column per piece), r_hi, r_lo); q is one
    polynomial in x - centre per piece, fitted in mpmath when this file was generated.
    x is already clipped into [lo, hi]."""
    lo, step, centres, rows, r_hi, r_lo = p
    n = len(centres)
    u = (x - lo) * (1.0 / step)
    j = {index}
    t = x - {array.format(a="centres")}[j]
    q = 0.0 * t
    for row in rows:
        q = q * t + {array.format(a="row")}[j]
    {r1}
    r2 = (r_hi - r1) + r_lo
    return ((x - r1) - r2) * q'''


def shift_source(M: str, amax: str, total: str, cast: str) -> str:
    """The vector prologue ``_shift``: ``amax``/``total`` spell the last axis' max and sum
    of ``{a}`` (kept as an axis), ``cast`` turns the boolean ``top`` into x's dtype."""
    return f'''def _shift(x):
    """x - max(x) = t_hi + t_lo exactly; e = exp(t); Sm1 = sum(e) - 1 without the leading 1."""
    m = {amax}
    m = {M}.where({M}.isfinite(m), m, 0.0 * m)
    t = x - m
    bb = t - x
    lo = (x - (t - bb)) - (m + bb)
    lo = {M}.where({M}.isfinite(lo), lo, 0.0 * lo)
    e = {M}.exp(t) * (1.0 + lo)
    top = t == 0
    sm1 = {total.format(a=f"{M}.where(top, 0.0 * e, e)")} + ({total.format(a=cast)} - 1.0)
    return t, lo, e, sm1'''


class ArrayTarget(Target):
    """A Python array library; a subclass sets the attributes and overrides the hooks below."""

    #: the array module's name in generated code, and the lines that import it
    M: str = ""
    imports: str = ""
    #: infinity, and the identity matrix of size ``{n}`` in x's dtype
    inf: str = ""
    eye: str = ""
    #: the runtime that flushes subnormal intermediates to zero, as the generated comment names it
    #: (then the subnormal-safe tails are emitted); None where subnormals are kept
    subnormal_flusher: str | None = None
    #: what a scalar function returns (``r`` is the computed array)
    scalar_return: str = "r"

    @abc.abstractmethod
    def dtype_line(self, dtype: str) -> str:
        """The statement that turns the argument into an array of the computing dtype."""

    def notes(self, dtype: str) -> list[str]:
        """Header lines saying in which dtype the file computes."""
        return []

    def value_name(self, ident: str) -> str:
        """The name of the function that computes the value (the public name may wrap it)."""
        return f"_{ident}_value"

    def preamble(self, dtype: str) -> list[str]:
        """Module-level lines after the imports."""
        return []

    def body(self, body: list[str]) -> list[str]:
        """A function's body lines, indented into the function."""
        return indent(body, 4)

    def vector_return(self, ret: str) -> str:
        return ret

    def clip(self, var, lo, hi, num) -> str:
        """``var`` clipped into [lo, hi] (either may be infinite)."""
        if lo == float("-inf"):
            return f"{self.M}.minimum({var}, {num(hi)})"
        if hi == float("inf"):
            return f"{self.M}.maximum({var}, {num(lo)})"
        return f"{self.M}.clip({var}, {num(lo)}, {num(hi)})"

    def wrappers(self, act, ident: str) -> list[str]:
        """Lines after the functions (the public, differentiable ``NAME``)."""
        return []

    # ---- writing
    def write(self, act, p: Plan, ident, dtype):
        printer = self.printer()
        fns = []
        dtype_line = self.dtype_line(dtype)
        if act.vector:
            fns = self.vector_functions(ident, p, printer, dtype_line)
            printer.used.add("shift")
        else:
            for deriv, form in ((False, p.f), (True, p.df)):
                fname = f"{ident}_grad" if deriv else self.value_name(ident)
                doc = f"{act.name}{chr(39) if deriv else ''}(x) elementwise"
                fns.append(self.scalar_function(fname, form, printer, doc, dtype_line, self.scalar_return))
        header = header_lines(act, self.name, ident, dtype, self.notes(dtype))
        out = ['"""' + header[0], *header[1:], '"""', self.imports, ""]
        out += self.preamble(dtype)
        for h in helper_order(printer.used):
            out += ["", self.helper_source(h), ""]
        for f in fns:
            out += ["", *f, ""]
        out += self.wrappers(act, ident)
        return "\n".join(out).rstrip() + "\n"

    def scalar_function(self, fname, form: ScalarForm, printer, doc, dtype_line, ret) -> list[str]:
        """Lines defining ``fname(x)``: every branch on clipped x, then the ``where`` layers."""
        M = self.M
        lines = [f"def {fname}(x):", f'    """{doc}"""', f"    {dtype_line}"]
        body = []
        for k, b in enumerate(form.branches):
            var = "x"
            label = " and ".join(interval_parts(b.cond, "x", num_py)) if b.cond is not None else "otherwise"
            body.append(f"# branch {k}: {label}")
            if needs_clip(b):
                var = f"xc{k}"
                body.append(f"{var} = {self.clip('x', b.domain[0], b.domain[1], num_py)}  # x clipped into the branch")
            if b.dds:
                printer.used.add("dd")
            bl, res = branch_body(b, printer, lambda s, v: f"{s} = {v}", dd_py, var, tag=f"{k}_")
            body += bl
            if b.expr.is_number:
                res = f"{M}.full_like(x, {res})"
            body.append(f"b{k} = {res}")
        n = len(form.branches)
        body.append(f"r = b{n - 1}")
        for k in reversed(range(n - 1)):
            cond = " & ".join(f"({p})" for p in interval_parts(form.branches[k].cond, "x", num_py))
            body.append(f"r = {M}.where({cond}, b{k}, r)")
        for i, tail in enumerate(subnormal_tails(form) if self.subnormal_flusher else []):
            var, (lo, hi) = f"xt{i}", tail.branch.domain
            cond = f"x <= {num_py(hi)}" if tail.side < 0 else f"x >= {num_py(lo)}"
            body += [f"# {cond}: e^-{tail.order * scale_exponent(tail.order)} (atoms times e^c), so that no "
                     f"intermediate is subnormal ({self.subnormal_flusher} flushes those to zero)",
                     f"{var} = {self.clip('x', lo, hi, num_py)}"]
            if tail.branch.dds:
                printer.used.add("dd")
            bl, res = branch_body(tail.branch, printer, lambda s_, v: f"{s_} = {v}", dd_py, var, tag=f"t{i}_")
            body += bl + [f"r = {M}.where({cond}, {num_py(tail.scale)} * ({res}), r)"]
        consts = []
        for i, rp in enumerate(form.roots):
            printer.used.add("rootpoly")
            cname = f"_{fname.lstrip('_')}_root{i}"
            consts += root_const_py(cname, rp) + ["", ""]
            lo, hi = num_py(rp.lo), num_py(rp.hi)
            body.append(f"r = {M}.where((x >= {lo}) & (x <= {hi}), _rootpoly({self.clip('x', rp.lo, rp.hi, num_py)}, "
                        f"{cname}), r)  # next to a root")
        lines[:0] = consts
        if form.limits is not None:
            lo, hi = (lim(v, self.inf) for v in form.limits)
            # each where pairs one limit with the array r, so the limit takes r's dtype (torch.where
            # of two Python floats would make a float32 tensor and round a float64 limit)
            body.append(f"r = {M}.where({M}.isinf(x) & (x > 0), {hi}, {M}.where({M}.isinf(x), {lo}, r))"
                        "  # limits at +-inf")
            for t, side, v in tail_guards(form):
                body.append(f"r = {M}.where(x {side} {num_py(t)}, {lim(v, self.inf)}, r)  # rounds to the limit here")
        body.append(f"return {ret}")
        return lines + self.body(body)

    def vector_functions(self, ident, p: Plan, printer, dtype_line) -> list[list[str]]:
        """The value and the Jacobian of a vector activation along the last axis."""
        out = []
        for deriv, (expr, syms) in ((False, p.vec_f), (True, p.vec_df)):
            fname = f"{ident}_grad" if deriv else self.value_name(ident)
            used, reps, red = vector_expr(expr, syms)
            doc = "Jacobian J[..., i, k] = d y_i / d x_k along the last axis" if deriv else "along the last axis"
            lines = [f"def {fname}(x):", f'    """{p.act.name}{chr(39) if deriv else ""}: {doc}."""', f"    {dtype_line}"]
            # a mirrored plan (softmin) is the softmax-like form at -x (see VectorKernel)
            body = ["t, t_lo, e, Sm1 = _shift(-x)" if mirrored(p.act) else "t, t_lo, e, Sm1 = _shift(x)"]
            if deriv:
                body += ["t_i, t_i_lo = t[..., :, None], t_lo[..., :, None]",
                         "t_k, t_k_lo = t[..., None, :], t_lo[..., None, :]",
                         "Sm1 = Sm1[..., None]", f"delta = {self.eye.format(n='x.shape[-1]')}",
                         "q = delta - e[..., None, :]"]
            else:
                body += ["t_i, t_i_lo = t, t_lo", "delta = 1.0", "q = 1.0 - e"]
            body = [ln for ln in body if not ln.startswith(("delta =", "q =", "t_k, t_k_lo ="))
                    or ln.split(" =")[0].split(", ")[0] in used]
            body += [f"{s} = {printer.doprint(v)}" for s, v in reps]
            body.append(f"r = {printer.doprint(red)}")
            shape = "x.shape + (x.shape[-1],)" if deriv else "x.shape"
            body.append(f"return {self.vector_return(f'{self.M}.broadcast_to(r, {shape})')}")
            out.append(lines + self.body(body))
        return out
