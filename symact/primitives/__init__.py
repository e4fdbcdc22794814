"""Stable primitives, each declared once: SymPy function, rewrite rules, NumPy kernel piece,
oracle form and the source for every codegen target.

One module per primitive (two where a pair's derivatives are written in each other):

=================  =======================================  ===============================
module             primitive                                instead of
=================  =======================================  ===============================
:mod:`.log1p`      log1p(u)                                 log(1 + u)
:mod:`.expm1`      expm1(u)                                 exp(u) - 1
:mod:`.expit`      expit(u), sign split                     1/(1 + exp(-u))
:mod:`.softplus`   softplus(u) = max(u, 0) + log1p(e^-|u|)  log(1 + exp(u))
:mod:`.tanh_softplus`  tanh_softplus(u), sech2_softplus(u)  tanh(softplus(u)), 1 - its square
:mod:`.sech2`      sech2(u) = 4e/(1 + e)^2                  1 - tanh(u)^2
:mod:`.exp_neg_abs`  exp(-|u|)                              (the e of exp-rational forms)
:mod:`.erfc`       erfc(u), erfcx-based tail                1 +- erf(u)
:mod:`.hypot`      hypot(u, a)                              sqrt(u^2 + a^2)
:mod:`.hypot_add`  hypot_add(u, a), sign split              u + sqrt(u^2 + a^2)
:mod:`.x_minus_tanh`  x_minus_tanh(u), fitted near 0        u - tanh(u)
:mod:`.tanh2`      tanh2(u), 1 - sech^2 in JAX              tanh(u)^2 (x_minus_tanh')
=================  =======================================  ===============================

:mod:`.base` defines the record (:class:`Primitive`), :mod:`.registry` collects the
modules (:data:`REGISTRY`), :mod:`.rewrite` applies their rules (:func:`stabilize`).
Layering: this package imports only SymPy, NumPy, mpmath and :mod:`symact.cache` (its
function classes are registered there, so cached stable forms can name them); the
kernels, the oracle and the code generators import it.
"""
from __future__ import annotations

from symact.primitives.base import Code, Kernel, Primitive, Rule, StableFunction
from symact.primitives.erfc import erfc
from symact.primitives.exp_neg_abs import exp_neg_abs
from symact.primitives.expit import expit
from symact.primitives.expm1 import expm1
from symact.primitives.hypot import hypot
from symact.primitives.hypot_add import hypot_add
from symact.primitives.log1p import log1p
from symact.primitives.registry import PRIMITIVES, REGISTRY, primitive_of
from symact.primitives.rewrite import RULES, stabilize, stable_derivative, to_standard
from symact.primitives.sech2 import sech2
from symact.primitives.softplus import softplus
from symact.primitives.tanh2 import tanh2
from symact.primitives.tanh_softplus import sech2_softplus, tanh_softplus
from symact.primitives.x_minus_tanh import x_minus_tanh

__all__ = ["Code", "Kernel", "PRIMITIVES", "Primitive", "REGISTRY", "RULES", "Rule", "StableFunction", "erfc",
           "exp_neg_abs", "expit", "expm1", "hypot", "hypot_add", "log1p", "primitive_of", "sech2",
           "sech2_softplus", "softplus", "stabilize", "stable_derivative", "tanh2", "tanh_softplus",
           "to_standard", "x_minus_tanh"]
