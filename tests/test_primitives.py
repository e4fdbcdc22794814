"""The stable primitives (symact.primitives): every declaration is complete and each piece is right.

A primitive is declared once (its SymPy function, rules, NumPy kernel piece, oracle form and the
source for every codegen target); these tests iterate the registry, so a new primitive needs no
new test, and a missing piece fails naming the primitive and the target.
"""
from __future__ import annotations

import ast

import mpmath
import numpy as np
import pytest
import sympy as sp

from symact import primitives
from symact.codegen import targets
from symact.codegen.printer import CodePrinterBase
from symact.numeric.kernels.lowering import _compile_chain
from symact.numeric.oracle import reference
from symact.numeric.ulp import FLOOR_ULP, floor_errors
from symact.symbolic.forms import X

PRIMS = list(primitives.REGISTRY.values())
IDS = [p.name for p in PRIMS]
CASES = [(p, args) for p in PRIMS for args in p.samples]
CASE_IDS = [f"{p.name}{list(map(str, args)) if args else ''}" for p, args in CASES]
#: exact points where symbolic identities are checked
EXACT = [sp.Rational(-7, 2), sp.Rational(-3, 4), sp.Rational(1, 3), sp.Rational(5, 4), sp.Rational(13, 5)]


def _value(e, point):
    return sp.N(primitives.to_standard(e).subs(X, point), 40)


def _close(a, b, what):
    a, b = complex(a), complex(b)
    assert abs(a - b) <= 1e-30 * max(1.0, abs(b)), f"{what}: {a} != {b}"


# --------------------------------------------------------------------------- every piece, every target
def test_every_stable_function_class_is_registered():
    """A StableFunction subclass declared in symact.primitives without a Primitive record would be
    lowered, printed and evaluated by nothing."""
    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    declared = {c.__name__ for c in subclasses(primitives.StableFunction) if c.__module__.startswith("symact.primitives")}
    missing = declared - set(primitives.REGISTRY)
    assert not missing, f"no PRIMITIVES record for {sorted(missing)}: add Primitive(...) to its module"


@pytest.mark.parametrize("target", list(targets.TARGETS))
@pytest.mark.parametrize("prim", PRIMS, ids=IDS)
def test_primitive_has_a_piece_for_every_target(prim, target):
    """Each codegen target computes every primitive: its library function or a helper whose source
    it emits (Python-syntax sources parse and define the helper); LaTeX prints the textbook form."""
    t = targets.get(target)
    args = prim.samples[0]
    e = prim.function(X, *args)
    if not issubclass(t.printer, CodePrinterBase):        # a target that prints math, not code
        assert t.printer().doprint(e) == t.printer().doprint(primitives.to_standard(e)), (prim.name, target)
        return
    code = prim.code.get(target)
    assert code is not None, (f"primitive {prim.name} has no piece for codegen target {target}: add "
                              f"code[{target!r}] = Code(call, source) to its declaration in symact/primitives/")
    printed = t.printer().doprint(e)
    assert code.call in printed, f"primitive {prim.name}, target {target}: {printed!r} does not call {code.call}"
    if code.source is not None:
        src = t.helper_source(prim.name)
        assert f"{code.call}(" in src, f"primitive {prim.name}, target {target}: its source defines no {code.call}"
        if target != "c":
            assert f"def {code.call}(" in src and ast.parse(src), (prim.name, target)
    for need in code.needs:   # helpers this helper calls are helpers of this target too
        other = primitives.REGISTRY[need].code.get(target)
        assert other is not None and other.source is not None, (prim.name, target, need)


@pytest.mark.parametrize("prim", PRIMS, ids=IDS)
def test_primitive_has_a_kernel_piece(prim):
    k = prim.kernel
    assert k is not None, f"primitive {prim.name} has no NumPy kernel piece: add kernel=Kernel(...)"
    assert callable(k.call) or isinstance(k.call, str), (prim.name, k)


# --------------------------------------------------------------------------- NumPy against the oracle
def _points(domain):
    tiny = np.geomspace(1e-300, 1e300, 121)
    pts = np.concatenate([tiny, -tiny, np.linspace(-40, 40, 161), [0.0, 1.7976931348623157e308, -1.7976931348623157e308,
                                                                    5e-324, -5e-324, 709.5, -709.5, 745.0, -745.0]])
    lo, hi = domain
    return np.unique(pts[(pts > lo) & (pts < hi)])


@pytest.mark.parametrize("prim,args", CASES, ids=CASE_IDS)
def test_kernel_piece_matches_the_oracle(prim, args):
    """The kernels' piece of each primitive (ufunc or helper, lowered as a one-node chain) within the
    accuracy floor of the mpmath oracle on a few hundred points across the float64 range."""
    e = prim.function(X, *args)
    xs = _points(prim.domain)
    chain = _compile_chain(e, dd=False, name=f"test_{prim.name}")
    with np.errstate(all="ignore"):
        got = chain.run(xs, np.empty_like(xs), np.float64)
    ref = reference(e, X, xs)
    err = floor_errors(got, ref)
    bad = ~(err <= FLOOR_ULP)
    assert not bad.any(), (f"{prim.name}{args}: {np.nanmax(err)} ULP; at {xs[bad][:5]} got {got[bad][:5]} "
                           f"want {ref[bad][:5]} (floor {FLOOR_ULP})")


# --------------------------------------------------------------------------- symbolic pieces
RULE_CASES = [(r, ex) for r in primitives.RULES for ex in r.examples]


def test_every_rule_has_examples_and_a_unique_name():
    names = [r.name for r in primitives.RULES]
    assert len(set(names)) == len(names), names
    lacking = [r.name for r in primitives.RULES if not r.examples]
    assert not lacking, f"rules without examples: {lacking}"


@pytest.mark.parametrize("rule,example", RULE_CASES, ids=[f"{r.name}-{i}" for i, (r, _) in enumerate(RULE_CASES)])
def test_rule_rewrite_is_an_identity(rule, example):
    """Each rule fires on its examples and its rewrite is the same function (at exact points, 40 digits)."""
    new = primitives.stabilize(example, rules=(rule,))
    assert new != example, f"rule {rule.name} did not fire on its example {example}"
    for v in EXACT:
        _close(_value(new, v), _value(example, v), f"rule {rule.name}: {example} -> {new} at x = {v}")


@pytest.mark.parametrize("prim,args", CASES, ids=CASE_IDS)
def test_fdiff_matches_the_derivative_of_the_standard_form(prim, args):
    """d/du of each primitive (and d/da of its constant arguments) as its fdiff writes it, against
    SymPy's derivative of the textbook form."""
    syms = [sp.Symbol(f"a{k}", positive=True) for k in range(len(args))]
    e = prim.function(X, *syms)
    std = prim.function.standard_form(X, *syms)
    for var in (X, *syms):
        d, want = sp.diff(e, var), sp.diff(std, var)
        assert not d.has(sp.Derivative), f"{prim.name}: no fdiff for d/d{var}"
        vals = dict(zip(syms, args))
        for v in EXACT:
            if not prim.domain[0] < v < prim.domain[1] or v == 0:
                continue
            _close(_value(d.subs(vals), v), _value(want.subs(vals), v), f"{prim.name}' (d/d{var}) at x = {v}")


@pytest.mark.parametrize("prim,args", CASES, ids=CASE_IDS)
def test_oracle_and_decay_forms_are_the_function(prim, args):
    """The form the oracle evaluates, and the decay form on each side (for codegen's tails), equal
    the textbook form."""
    e = prim.function(X, *args)
    for v in EXACT:
        if prim.domain[0] < v < prim.domain[1]:
            _close(_value(prim.oracle_form(X, *args), v), _value(e, v), f"{prim.name}: oracle form at x = {v}")
    if prim.decay is None:
        return
    for s in (-1, 1):
        form = prim.decay(X, s)
        if form is None:
            continue
        for v in (sp.Rational(5, 2), sp.Rational(31, 4)):
            _close(_value(form, s * v), _value(e, s * v), f"{prim.name}: decay form for u -> {s}oo at x = {s * v}")


def test_rules_come_from_the_registry_in_rank_order():
    ranks = [r.rank for r in primitives.RULES]
    assert ranks == sorted(ranks)
    assert {r.name for p in PRIMS for r in p.rules} == {r.name for r in primitives.RULES}


# --------------------------------------------------------------------------- the new building blocks
def test_squareplus_form_is_hypot_add():
    """(x + sqrt(x^2 + 4))/2 becomes hypot_add(x/2, 1) (no x^2, no cancellation, no overflow of the sum)
    and its derivative the quotient hypot_add(x/2, 1) / (2 hypot(x/2, 1))."""
    f = (X + sp.sqrt(X**2 + 4)) / 2
    assert primitives.stabilize(f) == primitives.hypot_add(X / 2, 1)
    assert primitives.stable_derivative(f, X) == primitives.hypot_add(X / 2, 1) / (2 * primitives.hypot(X / 2, 1))


def test_hypot_add_helper_at_the_extremes():
    big = np.finfo(np.float64).max
    x = np.array([-big, -1e300, -1e154, -1e8, -1.0, -0.0, 0.0, 1e-320, 1e8, 1e300, big, np.inf, -np.inf, np.nan])
    chain = _compile_chain(primitives.hypot_add(X / 2, 1), dd=False, name="sq")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = chain.run(x, np.empty_like(x), np.float64)
    with mpmath.workprec(4000):
        want = [float(v / 2 + mpmath.sqrt((mpmath.mpf(v) / 2) ** 2 + 1)) if np.isfinite(v) else np.nan for v in x]
    want[-3:] = [np.inf, 0.0, np.nan]
    err = floor_errors(got, np.array(want))
    assert (err <= 2).all(), (x[err > 2], got[err > 2])
