"""NumPy helpers for the stable primitives of :mod:`symact.symbolic.rewrite`.

Each helper computes one primitive (expit, softplus, tanh(softplus),
1 - tanh(softplus)^2, sech^2, exp(-|x|)) in place, mask-free and without
overflow: ``helper(a, out, *float_scratch, *bool_scratch)``. The lowering
(:mod:`.lowering`) calls them by name through :data:`_HELPERS`, which also says
how many scratch buffers each needs; the generated code passes buffers from its
own register allocator. Sign splits use numerators like ``max(e, [a >= 0])``
instead of masked copies, so NaN propagates and every element takes one path.
:func:`_in_interval` is the two-pass range test the fix-ups gather with.
"""
from __future__ import annotations

import numpy as np


def _expit(a, out, t, m):
    """1/(1+e^-a) sign split on e = exp(-|a|), mask-free: numerator max(e, [a >= 0])."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.add(t, 1.0, out=out)
    np.greater_equal(a, 0.0, out=m)
    np.maximum(t, m, out=t)               # 1 (a >= 0) or e (a < 0); NaN stays NaN
    np.divide(t, out, out=out)
    return out


def _softplus(a, out, t, m):
    """max(a, 0) + log1p(exp(-|a|))."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    np.clip(a, 0.0, np.inf, out=out)      # max(a, 0): clip is the fast scalar form
    np.add(out, t, out=out)
    return out


def _tanh_softplus(a, out, t, t2, m):
    """tanh(log(1+e^a)) = n/(n+2), n = e(e+2), e = exp(min(a, 40)).

    From a = 40 on the value rounds to 1 in float64 (2/(n+2) < 2^-110), so the
    clip changes nothing and e never overflows; for a -> -inf n/(n+2) -> 2e.
    """
    np.clip(a, -np.inf, 40.0, out=t)
    np.exp(t, out=t)
    np.add(t, 2.0, out=out)
    np.multiply(t, out, out=t)            # n
    np.add(t, 2.0, out=out)
    np.divide(t, out, out=out)
    return out


def _sech2_softplus(a, out, t, t2, m):
    """1 - tanh(softplus(a))^2 = 4 A w / (A + w)^2, A = (1+E)^2, E = exp(-|a|),
    w = max(E^2, [a <= 0]) (1 for a <= 0, E^2 for a > 0): mask-free, no overflow."""
    np.abs(a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)                      # E
    np.add(t, 1.0, out=t2)
    np.square(t2, out=t2)                 # A
    np.square(t, out=t)
    np.less_equal(a, 0.0, out=m)
    np.maximum(t, m, out=t)               # w
    np.add(t2, t, out=out)
    np.square(out, out=out)               # (A + w)^2
    np.multiply(t2, t, out=t2)
    np.multiply(t2, 4.0, out=t2)
    np.divide(t2, out, out=out)
    return out


def _sech2(a, out, t, m):
    """1 - tanh(a)^2 = 4e/(1+e)^2, e = exp(-2|a|)."""
    np.abs(a, out=t)
    np.multiply(t, -2.0, out=t)
    np.exp(t, out=t)
    np.add(t, 1.0, out=out)
    np.square(out, out=out)
    np.divide(t, out, out=out)
    np.multiply(out, 4.0, out=out)
    return out


def _exp_neg_abs(a, out):
    """exp(-|a|): the shared e of the exp-rational forms (never overflows)."""
    np.abs(a, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    return out


#: primitive name -> (helper, number of float scratch buffers, number of bool scratch buffers)
_HELPERS = {
    "expit": (_expit, 1, 1),
    "softplus": (_softplus, 1, 1),
    "tanh_softplus": (_tanh_softplus, 2, 1),
    "sech2_softplus": (_sech2_softplus, 2, 1),
    "sech2": (_sech2, 1, 1),
    "exp_neg_abs": (_exp_neg_abs, 0, 0),
}


def _in_interval(x, a, b, mask, t):
    """mask = a <= x <= b in two passes: clip(x, a, b) == x (NaN compares False);
    ``t`` is a float scratch buffer like x."""
    np.clip(x, a, b, out=t)
    return np.equal(t, x, out=mask)


def _expit_np(a):
    """expit on any array, allocating (for the vector kernels' lambdified reference path)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    return _expit(a, out, np.empty_like(a), np.empty(a.shape, np.bool_))
