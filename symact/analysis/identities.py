"""Identities between catalog activations, proved symbolically.

Each identity is a pair of sides built from the catalog's own expressions
(``symact.get(name).expr``, ``.definition`` with its parameter symbols,
``.derivative``), combined by substitution: no activation formula is retyped
here. ``sigmoid' = s (1 - s)`` for instance takes ``get("sigmoid").derivative``
as its left side and ``s (1 - s)`` with ``s = get("sigmoid").expr`` as its right.

A verdict follows the project's rule (see :mod:`symact.analysis.linearity`):

* ``proved``: :func:`symact.symbolic.forms.prove_zero` reduced ``lhs - rhs`` to zero,
  either by plain simplification or by its exhaustive case split on the signs
  of the variables (piecewise definitions). The method records which.
* ``refuted``: a rational input at which ``lhs - rhs`` has a certified non-zero
  sign (:func:`symact.symbolic.exact.certified_sign`): the witness re-evaluates exactly.
* ``undecided``: neither. Never reported as proved.

Vector identities (softmax, log_softmax) are proved on the components for each
length in :data:`VECTOR_LENGTHS`, and say so in their method.

Results are cached: the identities do not depend on any input, and
``symact prove --all`` asks for them once per activation.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy as sp

from symact.model import catalog
from symact.symbolic.exact import certified_sign
from symact.analysis.facts import short
from symact.symbolic.forms import X as x
from symact.symbolic.forms import prove_zero

PROVED, REFUTED, UNDECIDED = "proved", "refuted", "undecided"
VECTOR_LENGTHS = (2, 3)

_WITNESS_POINTS = [sp.Rational(v) for v in ("0", "1", "-1", "1/2", "-1/2", "2", "-2", "3", "-3", "7/2", "-7/2", "10")]


def _get(name):
    return catalog.get(name)


@dataclass(frozen=True)
class Identity:
    """One identity: its statement, the activations it involves, and its sides.

    ``build()`` returns a list of ``(lhs, rhs)`` pairs, the variables the proof
    quantifies over, and a note on how the sides were formed. Several pairs mean
    several component identities (vector activations, one per length).
    """

    key: str
    statement: str
    involves: tuple[str, ...]
    build: Callable[[], "Sides"]


@dataclass(frozen=True)
class Sides:
    pairs: list  # [(label, lhs, rhs, variables)]
    note: str = ""


@dataclass(frozen=True)
class IdentityResult:
    """The verdict on one identity, with its method and (if refuted) witness."""

    key: str
    statement: str
    involves: tuple[str, ...]
    verdict: str
    method: str
    witness: dict | None = None
    sides: tuple = ()  # ((label, lhs str, rhs str), ...)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "statement": self.statement,
            "verdict": self.verdict,
            "method": self.method,
            "witness": self.witness,
            "involves": list(self.involves),
            "sides": [{"case": c, "lhs": l, "rhs": r} for c, l, r in self.sides],
        }


# --------------------------------------------------------------------------- builders
def _scalar(lhs, rhs, note="") -> Sides:
    return Sides([("", lhs, rhs, (x,))], note)


def _at(name, arg):
    """The catalog expression of ``name`` evaluated at ``arg`` (by substitution)."""
    return _get(name).expr.subs(x, arg)


def _sigmoid_derivative():
    s = _get("sigmoid").expr
    return _scalar(_get("sigmoid").derivative, s * (1 - s))


def _tanh_derivative():
    t = _get("tanh").expr
    return _scalar(_get("tanh").derivative, 1 - t**2)


def _relu_step():
    step = _get("step")
    # the definition keeps h0 symbolic: the identity holds for every value at 0
    return _scalar(_get("relu").expr, x * step.definition, note="step with h0 symbolic")


def _selu_elu():
    selu, elu = _get("selu"), _get("elu")
    alpha, scale = (p.symbol for p in selu.params)
    elu_alpha = elu.params[0].symbol
    return Sides([
        ("symbolic alpha, scale", selu.definition, scale * elu.definition.subs(elu_alpha, alpha), (x,)),
        ("catalog values", selu.expr, selu.param_values["scale"] * elu.with_params(alpha=selu.param_values["alpha"]).expr, (x,)),
    ])


def _odd_part(name):
    def build():
        f = _get(name).expr
        return _scalar(f - f.subs(x, -x), x)
    return build


def _vector(build_component):
    def build():
        pairs = []
        for n in VECTOR_LENGTHS:
            for label, lhs, rhs, vs in build_component(n):
                pairs.append((f"n = {n}, {label}", lhs, rhs, vs))
        return Sides(pairs, note=f"components for n = {', '.join(map(str, VECTOR_LENGTHS))}")
    return build


def _softmax_shift(n):
    c = sp.Symbol("c", real=True)
    xs, comps = _get("softmax").components(n)
    shift = {v: v + c for v in xs}
    return [(f"i = {i + 1}", comp.subs(shift, simultaneous=True), comp, tuple(xs) + (c,))
            for i, comp in enumerate(comps)]


def _log_softmax_log(n):
    xs, comps = _get("softmax").components(n)
    ys, logs = _get("log_softmax").components(n)
    assert list(xs) == list(ys)
    return [(f"i = {i + 1}", lg, sp.log(comp), tuple(xs)) for i, (lg, comp) in enumerate(zip(logs, comps))]


def _softmax_sum(n):
    xs, comps = _get("softmax").components(n)
    return [("sum", sp.Add(*comps), sp.S.One, tuple(xs))]


def _softmin_softmax(n):
    xs, comps = _get("softmin").components(n)
    ys, soft = _get("softmax").components(n)
    assert list(xs) == list(ys)
    neg = {v: -v for v in xs}
    return [(f"i = {i + 1}", c, s.subs(neg, simultaneous=True), tuple(xs)) for i, (c, s) in enumerate(zip(comps, soft))]


def _softmax_two_sigmoid(n):
    xs, comps = _get("softmax").components(n)
    return [("i = 1", comps[0], _at("sigmoid", xs[0] - xs[1]), tuple(xs))] if n == 2 else []


IDENTITIES: list[Identity] = [
    Identity("sigmoid_derivative", "sigmoid'(x) = sigmoid(x) (1 - sigmoid(x))", ("sigmoid",), _sigmoid_derivative),
    Identity("sigmoid_reflection", "sigmoid(-x) = 1 - sigmoid(x)", ("sigmoid",),
             lambda: _scalar(_at("sigmoid", -x), 1 - _get("sigmoid").expr)),
    Identity("tanh_derivative", "tanh'(x) = 1 - tanh(x)^2", ("tanh",), _tanh_derivative),
    Identity("tanh_sigmoid", "tanh(x) = 2 sigmoid(2x) - 1", ("tanh", "sigmoid"),
             lambda: _scalar(_get("tanh").expr, 2 * _at("sigmoid", 2 * x) - 1)),
    Identity("softplus_derivative", "softplus'(x) = sigmoid(x)", ("softplus", "sigmoid"),
             lambda: _scalar(_get("softplus").derivative, _get("sigmoid").expr)),
    Identity("softplus_odd_part", "softplus(x) - softplus(-x) = x", ("softplus",), _odd_part("softplus")),
    Identity("log_sigmoid_softplus", "log_sigmoid(x) = -softplus(-x)", ("log_sigmoid", "softplus"),
             lambda: _scalar(_get("log_sigmoid").expr, -_at("softplus", -x))),
    Identity("log_sigmoid_derivative", "log_sigmoid'(x) = sigmoid(-x)", ("log_sigmoid", "sigmoid"),
             lambda: _scalar(_get("log_sigmoid").derivative, _at("sigmoid", -x))),
    Identity("silu_sigmoid", "silu(x) = x sigmoid(x)", ("silu", "sigmoid"),
             lambda: _scalar(_get("silu").expr, x * _get("sigmoid").expr)),
    Identity("mish_softplus", "mish(x) = x tanh(softplus(x))", ("mish", "tanh", "softplus"),
             lambda: _scalar(_get("mish").expr, x * _at("tanh", _get("softplus").expr))),
    Identity("relu_abs", "relu(x) = (x + |x|) / 2", ("relu",),
             lambda: _scalar(_get("relu").expr, (x + sp.Abs(x)) / 2)),
    Identity("relu_step", "relu(x) = x step(x), for every value h0 of step at 0", ("relu", "step"), _relu_step),
    Identity("relu_derivative_step", "relu'(x) = step(x) (relu'(0) = 0 = step(0) with h0 = 0)", ("relu", "step"),
             lambda: _scalar(_get("relu").derivative, _get("step").expr)),
    Identity("relu_odd_part", "relu(x) - relu(-x) = x", ("relu",), _odd_part("relu")),
    Identity("leaky_relu_zero_slope", "leaky_relu(x) with negative_slope = 0 is relu(x)", ("leaky_relu", "relu"),
             lambda: _scalar(_get("leaky_relu").with_params(negative_slope=0).expr, _get("relu").expr)),
    Identity("celu_elu", "celu(x) = elu(x) when alpha = 1", ("celu", "elu"),
             lambda: _scalar(_get("celu").with_params(alpha=1).expr, _get("elu").with_params(alpha=1).expr)),
    Identity("selu_elu", "selu(x) = scale elu(x; alpha)", ("selu", "elu"), _selu_elu),
    Identity("hard_sigmoid_relu6", "hard_sigmoid(x) = relu6(x + 3) / 6", ("hard_sigmoid", "relu6"),
             lambda: _scalar(_get("hard_sigmoid").expr, _at("relu6", x + 3) / 6)),
    Identity("hard_swish_hard_sigmoid", "hard_swish(x) = x hard_sigmoid(x)", ("hard_swish", "hard_sigmoid"),
             lambda: _scalar(_get("hard_swish").expr, x * _get("hard_sigmoid").expr)),
    Identity("hard_tanh_relu6", "hard_tanh(x) = relu6(3x + 3) / 3 - 1", ("hard_tanh", "relu6"),
             lambda: _scalar(_get("hard_tanh").expr, _at("relu6", 3 * x + 3) / 3 - 1)),
    Identity("gelu_odd_part", "gelu(x) - gelu(-x) = x", ("gelu",), _odd_part("gelu")),
    Identity("gelu_tanh_odd_part", "gelu_tanh(x) - gelu_tanh(-x) = x", ("gelu_tanh",), _odd_part("gelu_tanh")),
    Identity("softmax_shift", "softmax(x + c) = softmax(x) (c added to every entry)", ("softmax",),
             _vector(_softmax_shift)),
    Identity("softmax_sum", "sum_i softmax(x)_i = 1", ("softmax",), _vector(_softmax_sum)),
    Identity("softmax_sigmoid", "softmax((x1, x2))_1 = sigmoid(x1 - x2)", ("softmax", "sigmoid"),
             lambda: Sides(_softmax_two_sigmoid(2), note="n = 2")),
    Identity("log_softmax_log", "log_softmax(x) = log(softmax(x))", ("log_softmax", "softmax"),
             _vector(_log_softmax_log)),
    Identity("softmin_softmax", "softmin(x) = softmax(-x)", ("softmin", "softmax"), _vector(_softmin_softmax)),
]


# --------------------------------------------------------------------------- proving
def _witness(diff, variables):
    """Rational inputs at which ``diff`` has a certified non-zero sign, or None."""
    free = [v for v in variables if diff.has(v)]
    for combo in itertools.islice(itertools.product(_WITNESS_POINTS, repeat=len(free)), 400):
        env = dict(zip(free, combo))
        sign = certified_sign(diff.subs(env, simultaneous=True))
        if sign in (-1, 1):
            return {str(k): str(v) for k, v in env.items()}
    return None


def _prove_pair(lhs, rhs, variables) -> tuple[str, str | None, dict | None]:
    """(verdict, how, witness) for one pair of sides."""
    diff = lhs - rhs
    if prove_zero(diff):  # no variables: plain simplification only
        return PROVED, "simplify", None
    expanded = sp.expand_log(diff)  # sound: expands only logs of positive arguments
    if expanded != diff and prove_zero(expanded):
        return PROVED, "expand_log + simplify", None
    if prove_zero(diff, variables):
        return PROVED, "case split on the signs of " + ", ".join(str(v) for v in variables if diff.has(v)), None
    witness = _witness(diff, variables)
    if witness is not None:
        return REFUTED, None, witness
    return UNDECIDED, None, None


@lru_cache(maxsize=None)
def prove(key: str) -> IdentityResult:
    """The verdict on the catalog identity called ``key`` (cached)."""
    return evaluate(next(i for i in IDENTITIES if i.key == key))


def evaluate(ident: Identity) -> IdentityResult:
    """The verdict on any :class:`Identity` (not cached)."""
    sides = ident.build()
    verdict, methods, witness, shown = PROVED, [], None, []
    for label, lhs, rhs, variables in sides.pairs:
        shown.append((label, short(lhs), short(rhs)))
        v, how, w = _prove_pair(lhs, rhs, variables)
        if v != PROVED:
            verdict = v if verdict != REFUTED else verdict
            if w is not None and witness is None:
                witness = {"case": label, **w} if label else w
        elif how not in methods:
            methods.append(how)
    if verdict == PROVED:
        method = "symact.symbolic.forms.prove_zero(lhs - rhs): " + "; ".join(methods)
    elif verdict == REFUTED:
        method = "witness: lhs - rhs has a certified non-zero sign at exact rational inputs"
    else:
        method = "no proof found and no witness among the rational inputs tried"
    if sides.note:
        method += f" ({sides.note})"
    return IdentityResult(ident.key, ident.statement, ident.involves, verdict, method, witness, tuple(shown))


def identities_for(name: str) -> list[IdentityResult]:
    """Every identity that involves the activation ``name``, in catalog order."""
    return [prove(i.key) for i in IDENTITIES if name in i.involves]


def all_results() -> list[IdentityResult]:
    return [prove(i.key) for i in IDENTITIES]
