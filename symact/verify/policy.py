"""The accuracy policy: one statement of what "implements the activation" means.

``symact check --impl/--grad-impl``, :func:`symact.testing.assert_implements`
(and, through them, every caller of :func:`symact.verify.difftest.run_tests`)
judge a value by these rules and these defaults only:

*Tolerance.* A point passes when the result is within :data:`MAX_ULP` (4) units in
the last place of the correctly rounded value in the tested dtype, or within the
absolute tolerance :func:`atol_for` (the dtype's smallest normal number, so that
results that underflow pass). NaN must give NaN (a user's function may give a number
for NaN input: noted, not failed); at ±inf the reference is the symbolic limit.

*Kinks* (:data:`KINK_CONVENTIONS`). Where f is continuous but not differentiable, any
value between the one-sided derivatives (inclusive, each end with the tolerance
above) is a derivative, and passes under ``"between"`` (the default); the report
names the convention the code follows (left, right, midpoint or another value
between) and the frameworks that share it (:data:`FRAMEWORK_KINKS`, measured).
``"strict"`` requires symact's own convention; a mismatch at a kink is then a
``convention`` failure. At a jump, f's value is a parameter (step's ``h0``): a value
between the one-sided limits that is not the parameter in force is a ``convention``
failure naming the ``--param`` it matches.

*Vectors* (:data:`VECTOR_ERRORS`). softmax and its Jacobian are judged normwise by
default: an entry's error in ULPs of the largest-magnitude entry of its row (of the
row's Jacobian for derivatives); log_softmax's in ULPs of the largest magnitude
among its row's outputs and inputs (x_i - logsumexp(x) subtracts numbers of the
inputs' size, so that is the scale its rounding errors have). ``"componentwise"``
judges each entry in its own ULPs. symact's own kernels are always held
componentwise.

*Severity* (:data:`SEVERITIES`, most severe first) of each failing point, in this
order of rules:

``convention``
    at a kink or jump of f, as above (only for a user's implementation).
``wrong``
    an *ordinary* input (``2**-10 <= |x| <= 8``: no exp overflows, underflows or
    saturates there, even in float32; for a vector row, every entry ``|x_i| <= 8``)
    where the result is off by more than :data:`WRONG_REL` (2**-12) relative to
    ``max(|expected|, 2**-10)`` (normwise: to the row's scale), or not a number:
    the code computes another function.
``unstable``
    a catastrophic error anywhere else: inf or NaN where the value is finite (or a
    finite value where it is infinite), or an error at least the size of the value
    itself (0, the wrong sign, orders of magnitude): overflow, underflow, cancellation.
``inaccurate``
    any other failure: a bounded loss of accuracy beyond the tolerance.

A test's class is the most severe class among its failing points; its ``worst`` and
``witness`` are points of that class.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: ULP tolerance (``--max-ulp``) by default
MAX_ULP = 4.0
#: What --kink-convention accepts; the first is the default.
KINK_CONVENTIONS = ("between", "strict")
#: What --vector-error accepts; the first is the default.
VECTOR_ERRORS = ("normwise", "componentwise")
#: Failure classes, most severe first.
SEVERITIES = ("wrong", "unstable", "inaccurate", "convention")
#: Ordinary inputs: 2**-10 <= |x| <= 8.
ORDINARY = (2.0 ** -10, 8.0)
#: Relative error beyond which a result at an ordinary input is another function's.
WRONG_REL = 2.0 ** -12
#: Floor of the scale that relative error is measured against at ordinary inputs.
WRONG_FLOOR = 2.0 ** -10


def atol_for(dtype) -> float:
    """The absolute tolerance by default: the smallest normal number of ``dtype``."""
    return float(np.finfo(np.dtype(dtype)).smallest_normal)


@dataclass(frozen=True)
class Policy:
    """The rules one run applies (the defaults above unless an option changes one)."""

    max_ulp: float = MAX_ULP
    atol: float | None = None            # None: atol_for(dtype)
    kink_convention: str = KINK_CONVENTIONS[0]
    vector_error: str = VECTOR_ERRORS[0]

    def atol_in(self, dtype) -> float:
        return atol_for(dtype) if self.atol is None else float(self.atol)


def most_severe(classes) -> str | None:
    """The most severe of ``classes`` (an iterable of SEVERITIES names), None if empty."""
    present = set(classes)
    for c in SEVERITIES:
        if c in present:
            return c
    return None


def ordinary(x) -> np.ndarray:
    """Elementwise: is ``x`` an ordinary input (``2**-10 <= |x| <= 8``)?"""
    a = np.abs(np.asarray(x, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return (a >= ORDINARY[0]) & (a <= ORDINARY[1])


def classify(x, got, exp, *, scale=None, is_ordinary=None) -> np.ndarray:
    """Severity (``wrong``/``unstable``/``inaccurate``) of failing points, elementwise.

    ``x``, ``got``, ``exp``: inputs, results and correctly rounded values (the caller
    passes only failing points; ``convention`` is decided before, where kinks are known).
    ``scale``: what errors are relative to (default ``|exp|``; a vector row's scale for
    normwise judgement); ``is_ordinary`` overrides :func:`ordinary` (rows).
    """
    got = np.asarray(got, dtype=np.float64)
    exp = np.asarray(exp, dtype=np.float64)
    out = np.full(got.shape, "inaccurate", dtype=object)
    if got.size == 0:
        return out
    with np.errstate(all="ignore"):
        err = np.abs(got - exp)
        ref = np.abs(exp) if scale is None else np.broadcast_to(np.asarray(scale, dtype=np.float64), got.shape)
        same = (got == exp) | (np.isnan(got) & np.isnan(exp))
        nonfinite = ~same & (~np.isfinite(got) | ~np.isfinite(exp))
        catastrophic = nonfinite | (~same & (err >= ref)) | (np.isnan(err) & ~same)
        ordin = ordinary(x) if is_ordinary is None else np.broadcast_to(np.asarray(is_ordinary), got.shape)
        wrong = ordin & ~same & (~(err <= WRONG_REL * np.maximum(ref, WRONG_FLOOR)))
    out[catastrophic] = "unstable"
    out[wrong] = "wrong"
    return out


# --------------------------------------------------------------------------- kink conventions
#: What frameworks give at the catalog's kinks (activation -> kink -> framework -> side),
#: measured in float64: PyTorch 2.13 (autograd) and JAX 0.10 (jax.grad) here, TensorFlow
#: from its gradient kernels (tensorflow/core/kernels/relu_op_functor.h: ReluGrad uses
#: features > 0, Relu6Grad 0 < features < 6, LeakyReluGrad features > 0, SeluGrad
#: activations < 0). "left"/"right": the one-sided derivative on that side.
FRAMEWORK_KINKS: dict[str, dict[float, dict[str, str]]] = {
    "relu": {0.0: {"PyTorch": "left", "JAX": "left", "TensorFlow": "left"}},
    "leaky_relu": {0.0: {"PyTorch": "left", "JAX": "right", "TensorFlow": "left"}},
    "elu": {0.0: {"PyTorch": "left", "JAX": "left"}},
    "selu": {0.0: {"PyTorch": "left", "JAX": "left", "TensorFlow": "right"}},
    "hard_tanh": {-1.0: {"PyTorch": "left", "JAX": "right"}, 1.0: {"PyTorch": "right", "JAX": "left"}},
    "hard_sigmoid": {-3.0: {"PyTorch": "left", "JAX": "left"}, 3.0: {"PyTorch": "right", "JAX": "right"}},
    "hard_swish": {-3.0: {"PyTorch": "left", "JAX": "left"}, 3.0: {"PyTorch": "right", "JAX": "right"}},
    "relu6": {0.0: {"PyTorch": "left", "JAX": "left", "TensorFlow": "left"},
              6.0: {"PyTorch": "right", "JAX": "right", "TensorFlow": "right"}},
}


def convention_text(name: str, at: float, value: float, left: float, right: float, *,
                    symact_value: float | None = None, close=None) -> tuple[str, str]:
    """(side, sentence) naming the derivative convention ``value`` at the kink ``at``.

    side: "left", "right", "midpoint" or "between"; ``close(a, b)`` says whether two
    values agree within the tolerance (default: equal).
    """
    close = close or (lambda a, b: a == b)
    if close(value, left) and close(value, right):
        side = "left"  # one-sided slopes equal: no kink in the derivative's value
    elif close(value, left):
        side = "left"
    elif close(value, right):
        side = "right"
    elif close(value, (left + right) / 2):
        side = "midpoint"
    else:
        side = "between"
    words = {"left": "the left derivative", "right": "the right derivative",
             "midpoint": "the midpoint of the one-sided derivatives",
             "between": "a value between the one-sided derivatives"}[side]
    table = FRAMEWORK_KINKS.get(name, {}).get(float(at), {})
    who = [fw for fw, s in table.items() if s == side]
    if symact_value is not None and close(value, symact_value):
        who = ["symact"] + who
    tail = f", as in {', '.join(who)}" if who else ""
    others = {}
    for fw, s in table.items():
        if s != side:
            others.setdefault(s, []).append(fw)
    if symact_value is not None and not close(value, symact_value):
        tail += f"; symact uses {_g(symact_value)}"
    for s, fws in others.items():
        tail += f"; {', '.join(fws)} {'use' if len(fws) > 1 else 'uses'} {_g(left if s == 'left' else right)} ({s})"
    return side, f"{name}'({_g(at)}) = {_g(value)}: {words} ({_g(left)} left, {_g(right)} right){tail}"


def _g(v: float) -> str:
    v = float(v)
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)
