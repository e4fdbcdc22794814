"""The catalog: every declaration evaluated against independent mpmath references."""
import mpmath
import pytest
import sympy as sp

import symact
from symact.errors import ParameterError, UnknownActivationError

SCALARS = [n for n in symact.names() if not symact.get(n).vector]
VECTORS = [n for n in symact.names() if symact.get(n).vector]
POINTS = ["-7.25", "-3", "-1.5", "-0.125", "0.375", "1", "2.5", "6", "11"]


def test_catalog_has_at_least_the_issue_names():
    required = {"step", "identity", "sigmoid", "relu", "softmax", "tanh", "leaky_relu", "elu", "selu",
                "celu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "mish", "hard_sigmoid",
                "hard_swish", "hard_tanh", "relu6", "log_sigmoid", "log_softmax"}
    assert required <= set(symact.names())
    assert len(symact.names()) >= 22


@pytest.mark.parametrize("alias,name", [("linear", "identity"), ("logistic", "sigmoid"), ("swish", "silu"),
                                        ("Leaky-ReLU", "leaky_relu"), ("SIGMOID", "sigmoid")])
def test_aliases_resolve_to_the_same_entry(alias, name):
    assert symact.get(alias) is symact.get(name)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownActivationError) as info:
        symact.get("sigmod")
    assert "sigmoid" in str(info.value)


def test_bad_parameters_are_user_errors():
    with pytest.raises(ParameterError, match="no parameter 'beta'"):
        symact.get("elu", beta=1)
    with pytest.raises(ParameterError, match="not a number"):
        symact.get("elu", alpha="__import__('os')")


@pytest.mark.parametrize("name", symact.names())
def test_declaration_is_complete(name):
    act = symact.get(name)
    assert act.description and act.latex and act.role in ("hidden", "output", "both")
    assert act.expr.free_symbols <= ({act.x} if not act.vector else act.expr.free_symbols)
    for kink in act.kinks:  # every kink has a stated convention
        assert act.conventions_bound.get(kink.at) in ("left", "right"), (name, kink)


# Independent references, written from the textbook definitions with mpmath alone.
MP = {
    "step": lambda x: mpmath.mpf(0) if x <= 0 else mpmath.mpf(1),
    "identity": lambda x: x,
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "relu": lambda x: max(mpmath.mpf(0), x),
    "tanh": mpmath.tanh,
    "leaky_relu": lambda x: x if x >= 0 else x / 100,
    "elu": lambda x: x if x >= 0 else mpmath.expm1(x),
    "selu": lambda x: mpmath.mpf("1.0507009873554804934193349852946") * (
        x if x >= 0 else mpmath.mpf("1.6732632423543772848170429916717") * mpmath.expm1(x)),
    "celu": lambda x: x if x >= 0 else mpmath.expm1(x),
    "gelu": lambda x: x * mpmath.ncdf(x),
    "gelu_tanh": lambda x: x / 2 * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x**3))),
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
    "softsign": lambda x: x / (1 + abs(x)),
    "mish": lambda x: x * mpmath.tanh(mpmath.log1p(mpmath.exp(x))),
    "hard_sigmoid": lambda x: min(max(mpmath.mpf(0), x + 3), mpmath.mpf(6)) / 6,
    "hard_swish": lambda x: x * min(max(mpmath.mpf(0), x + 3), mpmath.mpf(6)) / 6,
    "hard_tanh": lambda x: min(max(mpmath.mpf(-1), x), mpmath.mpf(1)),
    "relu6": lambda x: min(max(mpmath.mpf(0), x), mpmath.mpf(6)),
    "log_sigmoid": lambda x: -mpmath.log1p(mpmath.exp(-x)),
    "squareplus": lambda x: (x + mpmath.sqrt(x**2 + 4)) / 2,
    # issue 16: the frameworks' other scalars, at their default parameters
    "hardshrink": lambda x: x if abs(x) > mpmath.mpf(1) / 2 else mpmath.mpf(0),
    "softshrink": lambda x: x - mpmath.mpf(1) / 2 if x > 0.5 else x + mpmath.mpf(1) / 2 if x < -0.5 else mpmath.mpf(0),
    "tanhshrink": lambda x: x - mpmath.tanh(x),
    "threshold": lambda x: x if x > 0 else mpmath.mpf(0),
    "prelu": lambda x: x if x >= 0 else x / 4,
    "rrelu": lambda x: x if x >= 0 else x * (mpmath.mpf(1) / 8 + mpmath.mpf(1) / 3) / 2,
    "sparse_plus": lambda x: mpmath.mpf(0) if x <= -1 else (x + 1) ** 2 / 4 if x < 1 else x,
    "sparse_sigmoid": lambda x: mpmath.mpf(0) if x <= -1 else (x + 1) / 2 if x < 1 else mpmath.mpf(1),
    "exponential": mpmath.exp,
    "swish_beta": lambda x: x * mpmath.mpf(1) / (1 + mpmath.exp(-x)),
    "softplus_beta": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "relu_keras": lambda x: max(mpmath.mpf(0), x),
    "relu_keras_capped": lambda x: min(max(mpmath.mpf(0), x), mpmath.mpf(6)),
}


def _exact(act, expr, point):
    return sp.N(sp.piecewise_fold(expr.subs(act.x, sp.Rational(point))), 60)


@pytest.mark.parametrize("name", SCALARS)
def test_definition_matches_independent_reference_at_60_digits(name):
    act = symact.get(name)
    if name not in MP:
        pytest.fail(f"add an independent mpmath reference for {name} to MP")
    with mpmath.workdps(60):
        for p in POINTS:
            ref = MP[name](mpmath.mpf(p))
            got = mpmath.mpf(str(_exact(act, act.expr, p)))
            assert abs(got - ref) <= mpmath.mpf(10) ** -50 * max(1, abs(ref)), (name, p)


@pytest.mark.parametrize("name", SCALARS)
def test_derivative_matches_numerical_differentiation(name):
    """f' from SymPy against mpmath's numerical derivative of the independent reference."""
    act = symact.get(name)
    kinks = {float(k.at) for k in act.kinks}
    with mpmath.workdps(60):
        for p in POINTS:
            if any(abs(float(p) - k) < 0.01 for k in kinks):
                continue
            ref = mpmath.diff(MP[name], mpmath.mpf(p))
            got = mpmath.mpf(str(_exact(act, act.derivative, p)))
            assert abs(got - ref) <= mpmath.mpf(10) ** -40 * max(1, abs(ref)), (name, p, got, ref)


# ------------------------------------------------------------------ conventions, pinned
@pytest.mark.parametrize("name,at,value", [
    ("relu", 0, 0), ("relu6", 0, 0), ("relu6", 6, 0), ("hard_tanh", -1, 0), ("hard_tanh", 1, 0),
    ("hard_sigmoid", -3, 0), ("hard_sigmoid", 3, 0), ("hard_swish", -3, 0), ("hard_swish", 3, 1),
    ("leaky_relu", 0, sp.Rational(1, 100)), ("step", 0, 0), ("elu", 0, 1), ("celu", 0, 1),
    ("hardshrink", sp.Rational(-1, 2), 0), ("hardshrink", sp.Rational(1, 2), 0),
    ("softshrink", sp.Rational(-1, 2), 0), ("softshrink", sp.Rational(1, 2), 0), ("threshold", 0, 0),
    ("prelu", 0, sp.Rational(1, 4)), ("rrelu", 0, sp.Rational(11, 48)), ("sparse_plus", -1, 0),
    ("sparse_plus", 1, 1), ("sparse_sigmoid", -1, 0), ("sparse_sigmoid", 1, 0), ("relu_keras", 0, 0),
    ("relu_keras_capped", 0, 0), ("relu_keras_capped", 6, 0),
])
def test_derivative_convention_at_kinks(name, at, value):
    act = symact.get(name)
    assert act.derivative.subs(act.x, at) == value


def test_step_value_at_zero_follows_h0():
    assert symact.get("step")(0) == 0  # Deep Learning from Scratch's choice
    assert symact.get("step", h0=1)(0) == 1
    assert symact.get("step", h0="1/2")(0) == sp.Rational(1, 2)
    assert symact.get("step")(-1) == 0 and symact.get("step")(1) == 1


def test_selu_constants_are_exact_numbers():
    act = symact.get("selu")
    assert act.param_values["alpha"] == sp.Rational("1.6732632423543772848170429916717")
    assert act.param_values["scale"] == sp.Rational("1.0507009873554804934193349852946")


def test_leaky_relu_parameter_binds():
    act = symact.get("leaky_relu", negative_slope="0.2")
    assert act(-5) == -1
    assert act.derivative.subs(act.x, -1) == sp.Rational(1, 5)


def _mp_shaped(name, mv):
    """Independent mpmath references of the vector entries that change the axis' length."""
    if name == "glu":                     # x = [a, b], a * sigmoid(b)
        h = len(mv) // 2
        return [mv[i] / (1 + mpmath.exp(-mv[h + i])) for i in range(h)]
    if name == "logsumexp":
        return [mpmath.log(mpmath.fsum(mpmath.exp(v) for v in mv))]
    if name == "crelu":                   # [relu(x), relu(-x)]
        return [max(v, 0) for v in mv] + [max(-v, 0) for v in mv]
    raise KeyError(name)


def _mp_shaped_jacobian(name, mv):
    n = len(mv)
    if name == "glu":
        h = n // 2
        jac = [[mpmath.mpf(0)] * n for _ in range(h)]
        for i in range(h):
            s = 1 / (1 + mpmath.exp(-mv[h + i]))
            jac[i][i], jac[i][h + i] = s, mv[i] * s * (1 - s)
        return jac
    if name == "logsumexp":               # the gradient: softmax(x)
        d = mpmath.fsum(mpmath.exp(v) for v in mv)
        return [[mpmath.exp(v) / d for v in mv]]
    if name == "crelu":                   # relu'(0) = 0
        jac = [[mpmath.mpf(0)] * n for _ in range(2 * n)]
        for i, v in enumerate(mv):
            jac[i][i] = mpmath.mpf(1 if v > 0 else 0)
            jac[n + i][i] = mpmath.mpf(-1 if v < 0 else 0)
        return jac
    raise KeyError(name)


@pytest.mark.parametrize("name", [n for n in VECTORS if symact.get(n).shape != "same"])
def test_shaped_vector_components_and_jacobians_match_mpmath(name):
    """glu, logsumexp, crelu: components and declared or derived Jacobians for n = 2, 4 (glu: even n)
    against mpmath written here, at points with a zero (crelu's kink: relu'(0) = 0)."""
    act = symact.get(name)
    for vals in ([sp.Rational(1, 2), sp.Integer(-2)], [sp.Rational(1, 2), sp.Integer(-2), sp.Integer(0), sp.Integer(3)]):
        n = len(vals)
        xs, comps = act.components(n)
        _, jac = act.jacobian_components(n)
        env = dict(zip(xs, vals))
        with mpmath.workdps(50):
            mv = [mpmath.mpf(v.p) / v.q for v in vals]
            ref, rjac = _mp_shaped(name, mv), _mp_shaped_jacobian(name, mv)
            assert len(comps) == len(ref) == act.output_length(n) and len(jac) == len(rjac)
            for c, r in zip(comps, ref):
                assert abs(mpmath.mpf(str(sp.N(c.subs(env), 50))) - r) < mpmath.mpf(10) ** -45, (name, c)
            for row, rrow in zip(jac, rjac):
                assert len(row) == n
                for c, r in zip(row, rrow):
                    assert abs(mpmath.mpf(str(sp.N(c.subs(env), 50))) - r) < mpmath.mpf(10) ** -45, (name, c, r)
    if act.shape == "half":
        with pytest.raises(ValueError, match="even"):
            act.components(3)


@pytest.mark.parametrize("name", [n for n in VECTORS if symact.get(n).shape == "same"])
def test_vector_components_match_reference(name):
    act = symact.get(name)
    xs, comps = act.components(3)
    vals = [sp.Rational(1, 2), sp.Integer(-2), sp.Integer(3)]
    with mpmath.workdps(50):
        mv = [mpmath.mpf(v.p) / v.q for v in vals]
        denom = mpmath.fsum(mpmath.exp(v) for v in mv)
        for i, c in enumerate(comps):
            got = mpmath.mpf(str(sp.N(c.subs(dict(zip(xs, vals))), 50)))
            if name == "softmin":         # softmax(-x)
                ref = mpmath.exp(-mv[i]) / mpmath.fsum(mpmath.exp(-v) for v in mv)
            else:
                ref = mpmath.exp(mv[i]) / denom if name == "softmax" else mv[i] - mpmath.log(denom)
            assert abs(got - ref) < mpmath.mpf(10) ** -45
