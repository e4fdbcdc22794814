"""Stated bounds on the work one user expression or parameter may cost.

symact turns a user's formula into an activation and then does expensive
things with it: SymPy derivatives, limits, simplifications and solves; an
mpmath oracle that raises its precision until values are stable; generated
kernels fitted against that oracle. A few characters can make any of these
run for hours (``e^{e^{e^{x}}}``, ``x^{-10^{4000}}``, a 500-term polynomial).
This module states the bounds, in three layers, and raises
:class:`~symact.errors.BudgetError` (exit 2) with a message naming what was too
costly and the bound:

* :func:`check_expr`: a static look at the SymPy expression before any heavy
  work (size, nesting, exponential towers, degree, digits, Piecewise rows).
  Applied where a user's expression enters (``symact.verify.formula``, the oracle);
  every catalog entry is far inside it.
* :func:`parse_value`: a parameter value (``--param negative_slope=1e5000``) is
  read from its text with its exponent bounded before any big integer is made,
  and refused outside float64's range.
* :func:`step`: a backstop on wall time for each symbolic step of a check (SymPy's
  ``limit`` or ``simplify`` on odd input): past :data:`STEP_SECONDS` the step
  stops with a BudgetError naming it.

The oracle's own bounds (precision ladder, exponent range) live in
:mod:`symact.numeric.oracle`.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import threading
import time
from fractions import Fraction

import sympy as sp

from symact.errors import BudgetError

#: nodes in the expression tree (a 100-term polynomial has about 400)
MAX_NODES = 1500
#: nesting depth of the expression tree
MAX_DEPTH = 60
#: terms of one sum
MAX_TERMS = 100
#: nested exponential growth: exp(exp(x)) is 2, exp(exp(exp(x))) is 3
MAX_TOWER = 2
#: |n| of an integer or rational power of an expression in x (the polynomial degree)
MAX_DEGREE = 32
#: decimal digits of an integer, or of a rational's numerator or denominator
MAX_DIGITS = 400
#: rows of one Piecewise (``cases``)
MAX_ROWS = 256
#: binary precision of a Float constant
MAX_FLOAT_BITS = 4096

#: wall-clock seconds one symbolic step of a check may take (:func:`step`)
STEP_SECONDS = 60.0

_GROWTH = (sp.exp, sp.sinh, sp.cosh)


def _digits(n: int) -> int:
    """Decimal digits of |n| without converting it to a string (no 4,300-digit limit)."""
    n = abs(int(n))
    return 1 if n == 0 else int(n.bit_length() * 0.30103) + 1


def check_expr(expr, what: str = "the formula", *, x=None, size: bool = True) -> None:
    """Raise :class:`BudgetError` when ``expr`` is beyond a stated bound.

    ``x`` is the variable (default: any symbol counts); ``size=False`` skips the
    node and term counts (the oracle sees derivatives, which the product rule
    makes longer than the formula the user wrote).
    """
    if not isinstance(expr, sp.Basic):
        return
    nodes = 0
    # iterative walk: (node, depth, tower) -- no recursion on a deep tree
    stack = [(expr, 1, 0)]
    while stack:
        e, depth, tower = stack.pop()
        nodes += 1
        if size and nodes > MAX_NODES:
            raise BudgetError(f"{what} is too large: more than {MAX_NODES} nodes in its expression tree "
                              f"(symact's bound for one formula)")
        if depth > MAX_DEPTH:
            raise BudgetError(f"{what} is nested too deeply: more than {MAX_DEPTH} levels "
                              f"(symact's bound for one formula)")
        if e.is_Integer:
            if _digits(e.p) > MAX_DIGITS:
                raise BudgetError(f"{what} has an integer of about {_digits(e.p)} digits; symact's bound "
                                  f"is {MAX_DIGITS} digits per number")
            continue
        if e.is_Rational:
            d = max(_digits(e.p), _digits(e.q))
            if d > MAX_DIGITS:
                raise BudgetError(f"{what} has a rational number of about {d} digits; symact's bound "
                                  f"is {MAX_DIGITS} digits per number")
            continue
        if isinstance(e, sp.Float):
            if e._prec > MAX_FLOAT_BITS:
                raise BudgetError(f"{what} has a floating-point constant of {e._prec} bits; "
                                  f"symact's bound is {MAX_FLOAT_BITS} bits")
            _, _, exp, bc = e._mpf_ if len(e._mpf_) == 4 else (0, 0, 0, 0)
            if isinstance(exp, int) and abs(exp + bc) > 4 * MAX_FLOAT_BITS:
                raise BudgetError(f"{what} has a floating-point constant of magnitude 2^{exp + bc}; "
                                  f"symact's bound is 2^{4 * MAX_FLOAT_BITS}")
            continue
        if size and isinstance(e, sp.Add) and len(e.args) > MAX_TERMS:
            raise BudgetError(f"{what} has a sum of {len(e.args)} terms; symact's bound is {MAX_TERMS} "
                              f"terms in one sum")
        if isinstance(e, sp.Piecewise) and len(e.args) > MAX_ROWS:
            raise BudgetError(f"{what} has a piecewise definition (cases) of {len(e.args)} rows; "
                              f"symact's bound is {MAX_ROWS} rows")
        grows = isinstance(e, _GROWTH)
        if isinstance(e, sp.Pow):
            varying = e.exp.free_symbols if x is None else (e.exp.has(x) and {x})
            base_varying = e.base.free_symbols if x is None else (e.base.has(x) and {x})
            if varying:
                grows = True  # 2^x, x^x: exponential growth like exp
            elif base_varying and e.exp.is_Rational and abs(e.exp) > MAX_DEGREE:
                raise BudgetError(f"{what} has a power of degree {_short(e.exp)}; symact's bound is "
                                  f"{MAX_DEGREE} (|exponent| of an expression in x)")
        if grows:
            tower += 1
            if tower > MAX_TOWER:
                raise BudgetError(f"{what} nests exponentials {tower} deep (like e^(e^(e^x))); symact's "
                                  f"bound is {MAX_TOWER}: beyond it values outgrow any number the oracle "
                                  f"can compute")
        for a in e.args:
            if isinstance(a, sp.Basic):
                stack.append((a, depth + 1, tower))


def _short(v) -> str:
    if isinstance(v, sp.Rational) and max(_digits(v.p), _digits(v.q)) > 30:
        return f"about 10^{_digits(v.p) - _digits(v.q)}"
    return str(v)


# --------------------------------------------------------------------------- parameter values
#: decimal digits a parameter value may be written with (a float64 needs at most 767)
MAX_VALUE_CHARS = 800
_FLOAT_MAX = Fraction(2**1024 - 2**971)       # float64's largest finite value
_FLOAT_TINY = Fraction(1, 2**1074)            # its smallest subnormal
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RATIO = re.compile(r"[+-]?\d+/\d+")


def parse_value(text: str, name: str = "parameter") -> Fraction:
    """The exact value of a parameter written as ``0.2``, ``-1e-2`` or ``1/3``.

    Read without ``sympify`` and with the exponent bounded before any integer is
    built, so ``1e100000000`` is refused at once; values outside float64's range
    (above about 1.8e308, or nonzero below 4.9e-324) are refused too: every
    kernel computes in float64 or float32. Raises
    :class:`~symact.errors.ParameterError` for text that is no number and
    :class:`BudgetError` for a number beyond those bounds.
    """
    from symact.errors import ParameterError

    t = text.strip() if isinstance(text, str) else ""
    label = f"{name}={text.strip() if isinstance(text, str) else text}"
    if len(t) > MAX_VALUE_CHARS:
        raise BudgetError(f"{label[:40]}...: a value of {len(t)} characters; symact's bound is "
                          f"{MAX_VALUE_CHARS}")
    if _RATIO.fullmatch(t):
        p, q = t.split("/")
        if int(q) == 0:
            raise ParameterError(f"{label}: division by zero")
        value = Fraction(int(p), int(q))
    elif _DECIMAL.fullmatch(t):
        mant, _, exp = t.lower().partition("e")
        sign = -1 if mant.startswith("-") else 1
        whole, _, frac = mant.lstrip("+-").partition(".")
        nonzero = (whole + frac).strip("0") != ""
        exp_digits = exp.lstrip("+-").lstrip("0")
        if len(exp_digits) > 6:   # |exponent| >= 10**6: beyond any float, before int() sees it
            if nonzero:
                raise BudgetError(f"{label[:60]}: outside float64's range (an exponent of "
                                  f"{len(exp_digits)} digits)")
            exp = "0"
        e = int(exp) if exp else 0
        if nonzero:
            # decimal magnitude: the value lies in [10**(m - 1), 10**m)
            m = e + len(whole.lstrip("0")) if whole.lstrip("0") else e - (len(frac) - len(frac.lstrip("0")))
            if m > 310:
                raise BudgetError(f"{label}: outside float64's range (|value| at most about 1.8e308)")
            if m < -330:
                raise BudgetError(f"{label}: below float64's smallest nonzero value (about 4.9e-324); "
                                  f"write 0 for zero")
        value = sign * Fraction(int((whole + frac) or "0"), 10 ** len(frac)) * Fraction(10) ** e if nonzero \
            else Fraction(0)
    else:
        raise ParameterError(f"parameter value {text!r} is not a number; write it like 0.2, 1/3 or 1e-2")
    check_value(value, label)
    return value


def check_value(value: Fraction, label: str = "the parameter value") -> None:
    """Refuse an exact value outside float64's range (BudgetError)."""
    if max(_digits(value.numerator), _digits(value.denominator)) > MAX_DIGITS:
        raise BudgetError(f"{label}: a number of more than {MAX_DIGITS} digits; symact's bound is "
                          f"{MAX_DIGITS}")
    if abs(value) > _FLOAT_MAX:
        raise BudgetError(f"{label}: outside float64's range (|value| at most about 1.8e308)")
    if value != 0 and abs(value) < _FLOAT_TINY:
        raise BudgetError(f"{label}: below float64's smallest nonzero value (about 4.9e-324); "
                          f"write 0 for zero")


# --------------------------------------------------------------------------- time backstop
class _Overrun(BaseException):
    """Raised by the alarm inside a step; a BaseException so that no ``except
    Exception`` in SymPy or symact swallows it. :func:`step` turns it into BudgetError."""

    def __init__(self, token):
        super().__init__(token)
        self.token = token


_STEPS: list = []   # [(deadline, what, token)], innermost last


def _arm() -> None:
    if not _STEPS:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    soonest = min(d for d, _, _ in _STEPS)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, soonest - time.monotonic()))


def _on_alarm(signum, frame):
    now = time.monotonic()
    due = [s for s in _STEPS if s[0] <= now + 0.001]
    if due:
        raise _Overrun(due[0][2])
    _arm()


def _usable() -> bool:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    if _STEPS:
        return True
    current = signal.getsignal(signal.SIGALRM)
    # someone else's alarm (a test runner's timeout, the caller's own): leave it alone
    return current in (signal.SIG_DFL, None) and signal.getitimer(signal.ITIMER_REAL)[0] == 0


def step_seconds() -> float:
    """:data:`STEP_SECONDS`, or ``SYMACT_STEP_SECONDS`` where it holds a positive number."""
    raw = os.environ.get("SYMACT_STEP_SECONDS", "")
    try:
        v = float(raw) if re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,3})?", raw.strip()) else STEP_SECONDS
    except ValueError:
        v = STEP_SECONDS
    return v if v > 0 else STEP_SECONDS


@contextlib.contextmanager
def step(what: str, seconds: float | None = None):
    """Run the body within ``seconds`` (default :func:`step_seconds`) of wall time.

    Past it, the body is interrupted and :class:`BudgetError` says "``what`` took
    more than N s". Uses SIGALRM, so only in the main thread and only where no
    other alarm is in use (elsewhere the body runs unbounded, as before). Steps
    nest: each has its own deadline.
    """
    seconds = step_seconds() if seconds is None else seconds
    if not _usable():
        yield
        return
    token = object()
    outer = not _STEPS
    if outer:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
    _STEPS.append((time.monotonic() + seconds, what, token))
    _arm()
    try:
        yield
    except _Overrun as exc:
        if exc.token is not token:
            raise
        raise BudgetError(f"{what} took more than {seconds:g} s (symact's time budget for one step; "
                          f"simplify the formula)") from None
    finally:
        _STEPS[:] = [s for s in _STEPS if s[2] is not token]
        if outer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        else:
            _arm()
