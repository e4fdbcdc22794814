"""Linearity verdicts: proofs cross-checked with Hypothesis, witnesses re-evaluated here."""
import pytest
import sympy as sp
from hypothesis import given, strategies as st

import symact
from symact.analysis.linearity import PROPERTIES, verdicts

NAMES = symact.names()


@pytest.fixture(scope="module")
def all_verdicts():
    return {n: verdicts(symact.get(n)) for n in NAMES}


def _f(act):
    if not act.vector:
        return lambda t: sp.piecewise_fold(act.expr.subs(act.x, t))
    xs, comps = act.components(2)
    return lambda vec: [c.subs(dict(zip(xs, vec)), simultaneous=True) for c in comps]


def _sides(name, f, w):
    add = lambda u, v: [a + b for a, b in zip(u, v)] if isinstance(u, list) else u + v
    mul = lambda k, u: [k * a for a in u] if isinstance(u, list) else k * u
    shift = lambda u, c: [a + c for a in u] if isinstance(u, list) else u + c
    return {
        "additivity": lambda: (f(add(w["x"], w["y"])), add(f(w["x"]), f(w["y"]))),
        "homogeneity": lambda: (f(mul(w["k"], w["x"])), mul(w["k"], f(w["x"]))),
        "positive_homogeneity": lambda: (f(mul(w["k"], w["x"])), mul(w["k"], f(w["x"]))),
        "shift_invariance": lambda: (f(shift(w["x"], w["c"])), f(w["x"])),
        "odd": lambda: (f(mul(-1, w["x"])), mul(-1, f(w["x"]))),
        "even": lambda: (f(mul(-1, w["x"])), f(w["x"])),
    }[name]()


def _read(v):
    return [sp.Rational(t) for t in v] if isinstance(v, list) else sp.Rational(v)


@pytest.mark.parametrize("name", NAMES)
def test_every_witness_reevaluates_exactly(name, all_verdicts):
    """Each refuting witness, re-evaluated by this test: the sides differ (100 digits)."""
    act = symact.get(name)
    f = _f(act)
    for prop, v in all_verdicts[name].items():
        assert v.verdict in ("proved", "refuted", "undecided")
        if v.verdict != "refuted":
            assert v.witness is None
            continue
        w = {k: _read(val) for k, val in v.witness.items()}
        if prop == "positive_homogeneity":
            assert w["k"] > 0
        lhs, rhs = _sides(prop, f, w)
        lhs, rhs = (s if isinstance(s, list) else [s] for s in (lhs, rhs))
        gaps = [abs(sp.N(a - b, 100)) for a, b in zip(lhs, rhs)]
        assert max(gaps) > sp.Float("1e-60"), (name, prop, v.witness)


def test_course_verdicts(all_verdicts):
    ident = all_verdicts["identity"]
    assert ident["additivity"].verdict == ident["homogeneity"].verdict == "proved"
    relu = all_verdicts["relu"]
    assert relu["additivity"].verdict == "refuted" and relu["additivity"].witness == {"x": "1", "y": "-1"}
    assert relu["positive_homogeneity"].verdict == "proved"
    assert all_verdicts["sigmoid"]["positive_homogeneity"].verdict == "refuted"
    assert all_verdicts["softmax"]["shift_invariance"].verdict == "proved"
    assert all_verdicts["log_softmax"]["shift_invariance"].verdict == "proved"
    assert all_verdicts["tanh"]["odd"].verdict == "proved"
    for name in NAMES:  # identity is the only linear activation in the catalog
        v = all_verdicts[name]
        linear = v["additivity"].verdict == "proved" and v["homogeneity"].verdict == "proved"
        assert linear == (name == "identity"), name


rationals = st.fractions(min_value=-50, max_value=50, max_denominator=64).map(sp.Rational)
positive = st.fractions(min_value=0, max_value=50, max_denominator=64).filter(lambda q: q > 0).map(sp.Rational)


@given(x=rationals, y=rationals, k=rationals, kp=positive, c=rationals)
def test_proved_identities_hold_at_random_exact_points(all_verdicts, x, y, k, kp, c):
    """A proof must agree with exact evaluation everywhere Hypothesis looks."""
    for name in ("identity", "relu", "leaky_relu", "tanh", "softsign", "hard_tanh"):
        act = symact.get(name)
        f = _f(act)
        w = {"x": x, "y": y, "k": kp if True else k, "c": c}
        for prop, v in all_verdicts[name].items():
            if v.verdict != "proved":
                continue
            env = dict(w, k=kp if prop == "positive_homogeneity" else k)
            lhs, rhs = _sides(prop, f, env)
            assert sp.simplify(lhs - rhs) == 0, (name, prop, env)


def test_properties_listed_in_report_order():
    assert [p.name for p in PROPERTIES][:3] == ["additivity", "homogeneity", "positive_homogeneity"]


@pytest.mark.parametrize("name", ["relu", "softmax", "tanh"])
def test_one_property_alone_gives_the_verdict_of_the_full_run(all_verdicts, name):
    """verdicts() shares one memoizing evaluator across properties; verdict() alone builds its own."""
    from symact.analysis.linearity import verdict

    act = symact.get(name)
    for prop in PROPERTIES:
        assert verdict(act, prop) == all_verdicts[name][prop.name], (name, prop.name)
