"""Lowering of Piecewise expressions and conditions, without masked copies.

A masked copy (``np.copyto(out, v, where=m)``) is slow on random masks, so an
interval Piecewise is lowered as ``sum_k g_k(clip_k(x)) [x in I_k]``: each
branch is evaluated on x clipped into its own interval (exp never overflows,
no warning) and blended by 0/1 indicators. That is exact -- one term is the
value, the others are +-0 -- and NaN propagates. Pieces that vanish at their
shared boundaries (elu, leaky_relu) need no indicator at all; constant pieces
only a float indicator ``ceil(clip(x - a, 0, 1))``, which keeps NaN. Max/Min
with constant bounds become one ``np.clip`` (in :mod:`.lowering`). Only
conditions that are not intervals of x fall back to masked copies.

The methods here are a mixin of :class:`.lowering._Gen`: they emit lines into
the same generator, with its buffer allocator and its ``emit``/``block``.
"""
from __future__ import annotations

import sympy as sp

from symact import primitives as rw
from symact.symbolic.forms import _branch_table, _NotTabled


def _active_sets(pw: sp.Piecewise, x) -> list:
    """Where each row of ``pw`` is the active one (its condition, and no earlier
    row's), as SymPy sets of x; None for a row whose set is unknown (a condition
    in other symbols, or one SymPy cannot solve).

    Linear in the rows: linear conditions are read from the branch table of
    :mod:`symact.symbolic.forms` (bit masks over the cells between boundary
    points); otherwise each condition is solved once (``c.as_set()``) and the
    part earlier rows cover is kept as a running union. (Solving
    ``And(c, Not(c_1 | ... | c_(k-1)))`` for every row cost as much as all rows
    before it: a 20-row cases took minutes.)
    """
    table = _branch_table(pw, x)
    if table is not None:
        return table.row_sets()
    parts: list = []
    covered = sp.S.EmptySet
    for _, c in pw.args:
        if covered is None:
            parts.append(None)
            continue
        try:
            if c in (sp.true, True):
                s = sp.S.Reals
            elif c in (sp.false, False):
                s = sp.S.EmptySet
            elif c.free_symbols <= {x}:
                s = c.as_set()
            else:
                s = None
            active = None if s is None else sp.Complement(s, covered)
            covered = None if s is None else sp.Union(covered, s)
        except Exception:  # noqa: BLE001 - a condition SymPy cannot solve: masked copies
            active = covered = None
        parts.append(active)
    return parts


def _finite_at_ends(e, part, x) -> bool:
    """Is the branch ``e`` well inside float64's range at the finite ends of its
    interval ``part`` (where :meth:`_PiecewiseLowering.piecewise` clips the x
    outside it)? A value over 2^900, not real, or not computable counts as no.
    Branches in other symbols too (the shared e = exp(-|x|) of exp-rational forms,
    finite by construction) count as yes, as before."""
    ends = [v for v in (part.inf, part.sup) if v.is_finite] if isinstance(part, sp.Interval) else []
    std = rw.to_standard(e)
    if std.free_symbols - {x}:
        return True
    for v in ends:
        try:
            val = sp.N(std.subs(x, v), 20)
            if not (val.is_number and val.is_real and val.is_finite) or abs(val) > sp.Integer(2) ** 900:
                return False
        except Exception:  # noqa: BLE001 - not computable here: the masked copy is always right
            return False
    return True


def _common_denominator(e, x):
    """A linear branch c (x - t) that SymPy distributed into c x - c t (relu_keras's
    negative_slope (x - threshold)) as (x - t) times c again: x - t is exact next to the
    kink at t, c x - c t cancels there (1e-17 instead of 0 at x = t)."""
    if e.is_number or not isinstance(e, sp.Add) or not e.is_polynomial(x) or sp.degree(e, x) != 1:
        return e
    c, prim = e.primitive()
    if c == 1 or not prim.is_Add:
        return e
    return sp.Mul(c, prim, evaluate=False)


class _PiecewiseLowering:
    """Conditions and Piecewise expressions for :class:`.lowering._Gen` (a mixin:
    it uses the generator's buffers, ``emit`` and ``block``)."""

    def cond(self, c, s=None) -> str:
        """A bool buffer holding the condition ``c`` (intervals, And/Or/Not, relations);
        ``s``: where c holds, when the caller knows it (from the branch table)."""
        if s is not None and self.xname == "X":
            m = self.set_mask(s)
            if m is not None:
                return m
        m = self.bbuf()
        s = c.as_set() if c.free_symbols == {self.x} else None
        if isinstance(s, sp.Interval):
            return self.interval_mask(s, m)
        if isinstance(c, (sp.And, sp.Or)):
            fn = "np.logical_and" if isinstance(c, sp.And) else "np.logical_or"
            first = self.cond(c.args[0])
            for a in c.args[1:]:
                t = self.cond(a)
                self.lines.append(f"{fn}({first}, {t}, out={first})")
                self.free_b.append(t)
            self.free_b.append(m)
            return first
        if isinstance(c, sp.Not):
            t = self.cond(c.args[0])
            self.lines.append(f"np.logical_not({t}, out={t})")
            self.free_b.append(m)
            return t
        if isinstance(c, sp.core.relational.Relational):
            fns = {"<": "np.less", "<=": "np.less_equal", ">": "np.greater", ">=": "np.greater_equal",
                   "==": "np.equal", "!=": "np.not_equal"}
            lhs = self.emit(c.lhs, None, {})
            rhs = self.emit(c.rhs, None, {})
            self.lines.append(f"{fns[c.rel_op]}({self.s(lhs)}, {self.s(rhs)}, out={m})")
            self.release(lhs)
            self.release(rhs)
            return m
        raise NotImplementedError(f"condition {c}")

    def set_mask(self, s) -> str | None:
        """A bool buffer for ``X in s`` (an Interval, a point, EmptySet, or a Union of
        them), else None."""
        if s is sp.S.EmptySet:
            m = self.bbuf()
            self.lines.append(f"{m}.fill(False)")
            return m
        if isinstance(s, sp.Union):
            if not all(isinstance(a, sp.Interval) or (isinstance(a, sp.FiniteSet) and len(a) == 1) for a in s.args):
                return None
            first = None
            for a in s.args:
                t = self.indicator(a)
                if first is None:
                    first = t
                else:
                    self.lines.append(f"np.logical_or({first}, {t}, out={first})")
                    self.free_b.append(t)
            return first
        if isinstance(s, sp.Interval) or (isinstance(s, sp.FiniteSet) and len(s) == 1):
            return self.indicator(s)
        return None

    def indicator(self, part) -> str | None:
        """A bool buffer for ``x in part`` (an Interval or a one-point set), else None."""
        m = self.bbuf()
        if isinstance(part, sp.FiniteSet) and len(part) == 1:
            self.lines.append(f"np.equal(X, {float(next(iter(part)))!r}, out={m})")
            return m
        if not isinstance(part, sp.Interval):
            self.free_b.append(m)
            return None
        return self.interval_mask(part, m)

    def interval_mask(self, interval: sp.Interval, m: str) -> str:
        """Fill the bool buffer ``m`` with ``X in interval`` (one or two comparisons)."""
        tests = []
        if interval.start != -sp.oo:
            tests.append(("np.greater" if interval.left_open else "np.greater_equal", float(interval.start)))
        if interval.end != sp.oo:
            tests.append(("np.less" if interval.right_open else "np.less_equal", float(interval.end)))
        if not tests:
            self.lines.append(f"{m}.fill(True)")
        for k, (fn, v) in enumerate(tests):
            if k == 0:
                self.lines.append(f"{fn}(X, {v!r}, out={m})")
            else:
                t = self.bbuf()
                self.lines.append(f"{fn}(X, {v!r}, out={t})")
                self.lines.append(f"np.logical_and({m}, {t}, out={m})")
                self.free_b.append(t)
        return m

    def float_indicator(self, interval: sp.Interval, t: str) -> None:
        """Fill the float buffer ``t`` with 1.0/0.0 for ``X in interval``, NaN for NaN.

        [x > a] = ceil(clip(x - a, 0, 1)): with gradual underflow x - a > 0
        exactly when x > a (and +-inf clip to 1 or 0), and clip and ceil keep
        NaN; [x >= a] = 1 - [a - x > 0]. Two passes, and no non-finite fix-up
        pass afterwards (step, relu'), where a bool comparison loses NaN.
        """
        tests = []
        if interval.start != -sp.oo:
            tests.append((float(interval.start), 1, interval.left_open))   # x > a  /  x >= a
        if interval.end != sp.oo:
            tests.append((float(interval.end), -1, interval.right_open))   # x < b  /  x <= b
        if not tests:
            self.lines.append(f"np.multiply({self.xname}, 0.0, out={t})")
            self.lines.append(f"np.add({t}, 1.0, out={t})")   # NaN stays NaN (inf: 1 via the fix-up)
            return
        for k, (a, sign, strict) in enumerate(tests):
            dst = t if k == 0 else self.fbuf()
            # strict: [sign (x - a) > 0]; else 1 - [sign (a - x) > 0]
            d = sign if strict else -sign
            if d == 1:  # x + 0.0, not x - 0.0: -0.0 becomes +0.0 and the indicator +0.0
                self.lines.append(f"np.add({self.xname}, {-a if a else 0.0!r}, out={dst})")
            else:
                self.lines.append(f"np.subtract({a!r}, {self.xname}, out={dst})")
            self.lines.append(f"np.clip({dst}, 0.0, 1.0, out={dst})")
            self.lines.append(f"np.ceil({dst}, out={dst})")
            if not strict:
                self.lines.append(f"np.subtract(1.0, {dst}, out={dst})")
            if k:
                self.lines.append(f"np.multiply({t}, {dst}, out={t})")
                self.free_f.append(dst)

    def piecewise(self, pw, target, env):
        """Piecewise without masked copies where the pieces are intervals of x.

        Each piece k is evaluated on x clipped into its own interval I_k, then
        ``out = sum_k g_k(clip_k(x)) * [x in I_k]`` -- exact, since one term is
        the value and the others are +-0 (NaN propagates through g_k(NaN) * 0).
        Constant pieces need only their indicator; pieces that are 0 vanish. If
        every piece is 0 at the boundaries it shares (elu, leaky_relu), the
        clipped pieces are 0 outside their interval and the indicators are
        dropped: ``out = sum_k g_k(clip_k(x))``. Other conditions fall back to
        masked copies.
        """
        pieces = list(pw.args)
        parts = _active_sets(pw, self.x)
        domains = [(s.inf, s.sup) if s is not None and s is not sp.S.EmptySet else (-sp.oo, sp.oo) for s in parts]
        simple = all(s is sp.S.EmptySet or isinstance(s, sp.Interval)
                     or (isinstance(s, sp.FiniteSet) and len(s) == 1) for s in parts if s is not None)
        if self.xname != "X" or not simple or any(s is None for s in parts):
            return self.piecewise_masked(pw, target, env, domains)
        live = [k for k, s in enumerate(parts) if s is not sp.S.EmptySet]
        bounds = {float(v) for k in live for v in (parts[k].inf, parts[k].sup) if v.is_finite}
        zero_at_bounds = all(
            all(sp.simplify(rw.to_standard(pieces[k][0]).subs(self.x, b)).is_zero is True for b in bounds
                if parts[k].inf <= b <= parts[k].sup)
            for k in live) and not any(isinstance(parts[k], sp.FiniteSet) for k in live)
        res = (target, False) if target is not None else (self.fbuf(), True)
        first = True
        for k in live:
            e = pieces[k][0]
            if e.is_number and float(e) == 0.0:
                continue
            if e.is_number and isinstance(parts[k], sp.Interval):
                t = res[0] if first else self.fbuf()
                self.float_indicator(parts[k], t)
                if float(e) != 1.0:
                    self.lines.append(f"np.multiply({t}, {float(e)!r}, out={t})")
                if not first:
                    self.lines.append(f"np.add({res[0]}, {t}, out={res[0]})")
                    self.free_f.append(t)
                first = False
                continue
            if e.is_number:
                m = self.indicator(parts[k])
                if first and float(e) == 1.0:
                    self.lines.append(f"np.copyto({res[0]}, {m})")   # bool -> 0.0/1.0
                elif first:
                    self.lines.append(f"np.multiply({m}, {float(e)!r}, out={res[0]})")
                else:
                    t = self.fbuf()
                    self.lines.append(f"np.multiply({m}, {float(e)!r}, out={t})")
                    self.lines.append(f"np.add({res[0]}, {t}, out={res[0]})")
                    self.free_f.append(t)
                self.free_b.append(m)
                first = False
                continue
            # every branch on x clipped into its interval: 0 outside (zero_at_bounds), finite always
            # -- unless it is not finite at an end of its interval, where x outside it is
            # clipped to: inf * [x in I_k] = inf * 0 is NaN, so that branch is copied under its mask
            masked = not zero_at_bounds and not _finite_at_ends(pieces[k][0], parts[k], self.x)
            v = self.branch(e, domains[k], res[0] if first and not masked else None, env, always_clip=True)
            if not isinstance(v, tuple):
                v = self.scalar_to(v, None)
            if masked:
                m = self.indicator(parts[k])
                if first:   # 0, and NaN for NaN (+-inf: NaN too, then the kernel's non-finite fix-up)
                    self.lines.append(f"np.multiply(X, 0.0, out={res[0]})")
                self.lines.append(f"np.copyto({res[0]}, {v[0]}, where={m})")
                self.free_b.append(m)
                self.release(v)
                first = False
                continue
            if not zero_at_bounds:
                m = self.indicator(parts[k])
                self.lines.append(f"np.multiply({v[0]}, {m}, out={v[0]})")
                self.free_b.append(m)
            if not first:
                self.lines.append(f"np.add({res[0]}, {v[0]}, out={res[0]})")
                self.release(v)
            first = False
        if first:
            self.lines.append(f"{res[0]}.fill(0.0)")
        return res

    def piecewise_masked(self, pw, target, env, domains):
        res = (target, False) if target is not None else (self.fbuf(), True)
        pieces = list(pw.args)
        order = list(range(len(pieces)))
        last = order[-1]
        table = _branch_table(pw, self.x)
        self.branch(pieces[last][0], domains[last], res[0], env)
        for k in reversed(order[:-1]):
            e, c = pieces[k]
            try:
                where = table.condition_set(c) if table is not None else None
            except _NotTabled:
                where = None
            m = self.cond(c, where)
            if e.is_number:
                self.lines.append(f"np.copyto({res[0]}, {float(e)!r}, where={m})")
            else:
                v = self.branch(e, domains[k], None, env)
                self.lines.append(f"np.copyto({res[0]}, {self.s(v)}, where={m})")
                self.release(v)
            self.free_b.append(m)
        return res

    def branch(self, e, dom, target, env, always_clip=False):
        lo, hi = dom
        if e.is_number:
            return self.scalar_to(e, target) if target is not None else self.scalar_to(e, None)
        needs_clip = (always_clip or any(isinstance(f, sp.Function) and not isinstance(f, (sp.Abs, sp.Max, sp.Min))
                                         for f in e.atoms(sp.Function))) and (lo != -sp.oo or hi != sp.oo)
        if not needs_clip:
            return self.block(_common_denominator(e, self.x), target, env)
        xc = self.fbuf()
        lo_s = "-np.inf" if lo == -sp.oo else repr(float(lo))
        hi_s = "np.inf" if hi == sp.oo else repr(float(hi))
        self.lines.append(f"np.clip(X, {lo_s}, {hi_s}, out={xc})")
        sym = sp.Dummy("xc", real=True)
        # reuse this generator's allocator: emit with x renamed
        saved, saved_name = self.x, self.xname
        self.x, self.xname = sym, xc
        env2 = dict(env)
        env2[sym] = (xc, False)
        v = self.block(_common_denominator(e.subs(saved, sym), sym), target, env2)
        self.x, self.xname = saved, saved_name
        self.free_f.append(xc)
        return v

