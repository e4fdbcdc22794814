"""Constants derived from their defining equations, never copied.

Two families of constants appear in the catalog; here each is re-derived from
what it is *supposed* to satisfy, and compared with the catalog's value.

SELU (Klambauer et al. 2017). For a standard normal input z, the
self-normalizing fixed point asks ``E[selu(z)] = 0`` and ``E[selu(z)^2] = 1``.
The two moments are integrated in closed form by SymPy from the catalog's own
definition (alpha and scale kept as symbols, split at the kink x = 0), which
gives expressions in ``erf`` and ``exp``. mpmath's ``findroot`` then solves the
two equations for (alpha, scale) at 60 digits, and, independently,
``mpmath.quad`` re-integrates both moments numerically at the solution as a
cross-check. The mean equation is linear in alpha, so SymPy also gives alpha
(and then scale) in closed form, which is shown and evaluated too.

GELU's tanh approximation ``Phi(x) ~ (1 + tanh(a x + b x^3)) / 2``. The
tanh argument of the catalog's ``gelu_tanh`` is replaced by ``a x + b x^3``
and the Taylor series at 0 is matched with the catalog's ``gelu``: the x^1 term
forces ``a = sqrt(2/pi)`` (the slope of Phi at 0, 1/sqrt(2 pi)), exactly the
catalog's factor. The x^3 term gives ``b / a = (4 - pi) / (6 pi) = 0.04554``,
*not* the catalog's 0.044715: that constant was fitted (Hendrycks & Gimpel),
not derived; the certificate reports both and their difference. Likewise the
slope-matching constant of ``x sigmoid(k x)``, ``k = 4 / sqrt(2 pi) = 1.5958``,
against the fitted 1.702.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import mpmath
import sympy as sp

from symact.model import catalog
from symact.symbolic.forms import X as x
from symact.symbolic.forms import resolve_near

DIGITS = 50  #: significant digits reported for derived constants
_WORK_DPS = 70


@dataclass(frozen=True)
class Constant:
    """One derived constant and how it compares with the catalog."""

    name: str  # e.g. "selu.alpha"
    value: str  # decimal string, DIGITS significant digits
    equation: str  # the defining equation
    method: str
    closed_form: str | None = None
    catalog_value: str | None = None
    agreement: str = ""  # e.g. "agrees to all 32 digits given"
    established: str = "derived"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "equation": self.equation, "method": self.method,
                "closed_form": self.closed_form, "catalog_value": self.catalog_value,
                "agreement": self.agreement, "established": self.established, **self.extra}


def _mp(e, dps=None) -> mpmath.mpf:
    """An exact SymPy constant as an mpf at the working precision."""
    return mpmath.mpf(sp.Float(sp.N(e, dps or _WORK_DPS), dps or _WORK_DPS)._mpf_)


def _digits(v, n=DIGITS) -> str:
    return mpmath.nstr(v, n, min_fixed=-5, max_fixed=5, strip_zeros=False)


def _given_digits(r: sp.Rational) -> int:
    """Significant digits of an exact decimal rational (the catalog's 32-digit constants)."""
    s = str(sp.Float(r, 60)).rstrip("0")
    return len(s.replace("-", "").replace(".", "").lstrip("0"))


def agreement(derived: mpmath.mpf, given: sp.Rational) -> str:
    """How ``given`` (exact decimal) compares with the derived value."""
    n = _given_digits(given)
    with mpmath.workdps(_WORK_DPS):
        g = mpmath.mpf(int(given.p)) / int(given.q)
        rounded = mpmath.mpf(mpmath.nstr(derived, n, strip_zeros=False))
        if rounded == g:
            return f"agrees to all {n} digits given"
        rel = abs(derived - g) / abs(derived)
        good = int(mpmath.floor(-mpmath.log10(rel))) if rel else n
    return f"differs: agrees to {good} significant digits of the {n} given"


# --------------------------------------------------------------------------- SELU
@lru_cache(maxsize=None)
def selu_constants() -> tuple[Constant, Constant]:
    """SELU's alpha and scale from the self-normalizing fixed point."""
    act = catalog.get("selu")
    alpha, scale = (p.symbol for p in act.params)
    f = act.definition
    phi = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    neg, pos = resolve_near(f, x, 0, "-"), resolve_near(f, x, 0, "+")

    def moment(k):
        return (sp.integrate(sp.expand(neg**k * phi), (x, -sp.oo, 0))
                + sp.integrate(sp.expand(pos**k * phi), (x, 0, sp.oo)))

    m1, m2 = sp.simplify(moment(1)), sp.expand(moment(2))

    def ev(e, a, s):
        sub = e.subs({alpha: sp.Float(a, _WORK_DPS), scale: sp.Float(s, _WORK_DPS)})
        return mpmath.mpf(sp.N(sub, _WORK_DPS)._mpf_)

    with mpmath.workdps(_WORK_DPS):
        a, s = mpmath.findroot(lambda a, s: (ev(m1, a, s), ev(m2, a, s) - 1),
                               (mpmath.mpf("1.5"), mpmath.mpf("1.0")))
        # independent cross-check: the moments by numerical quadrature at the solution
        fa = lambda z: (s * z if z >= 0 else s * a * (mpmath.exp(z) - 1))  # noqa: E731
        gauss = lambda z: mpmath.exp(-z**2 / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        q1 = mpmath.quad(lambda z: fa(z) * gauss(z), [-mpmath.inf, 0, mpmath.inf])
        q2 = mpmath.quad(lambda z: fa(z) ** 2 * gauss(z), [-mpmath.inf, 0, mpmath.inf])
        resid = max(abs(q1), abs(q2 - 1))
        quad_digits = int(mpmath.floor(-mpmath.log10(resid))) if resid else _WORK_DPS

    # closed forms: the mean equation is linear in alpha; then scale from the second
    alpha_cf = sp.simplify(sp.solve(m1 / scale, alpha)[0])
    scale_in_alpha = 1 / sp.sqrt(sp.expand(m2 / scale**2))  # from E[selu(z)^2] = 1, alpha as above
    scale_cf = scale_in_alpha.subs(alpha, alpha_cf)
    with mpmath.workdps(_WORK_DPS):
        a_cf = _mp(alpha_cf)
        s_cf = _mp(scale_cf)
        cf_ok = abs(a_cf - a) < mpmath.mpf(10) ** -(DIGITS + 5) and abs(s_cf - s) < mpmath.mpf(10) ** -(DIGITS + 5)
    method = ("E[selu(z)] and E[selu(z)^2] integrated in closed form by SymPy from the catalog definition; "
              f"(alpha, scale) solved by mpmath.findroot at {_WORK_DPS} digits; mpmath.quad re-integration at the "
              f"solution gives the moments 0 and 1 to {min(quad_digits, _WORK_DPS)}+ digits"
              + ("; equals the SymPy closed form" if cf_ok else "; DISAGREES with the SymPy closed form"))
    eq = "E[selu(z)] = 0 and E[selu(z)^2] = 1 for z ~ N(0, 1)"
    given = act.param_values
    return (
        Constant("selu.alpha", _digits(a), eq, method, sp.sstr(alpha_cf), str(sp.Float(given["alpha"], 32)),
                 agreement(a, given["alpha"]), extra={"first_moment": sp.sstr(m1)}),
        Constant("selu.scale", _digits(s), eq, method, sp.sstr(scale_in_alpha) + " with alpha as above", str(sp.Float(given["scale"], 32)),
                 agreement(s, given["scale"]), extra={"second_moment": sp.sstr(m2)}),
    )


# --------------------------------------------------------------------------- GELU
@lru_cache(maxsize=None)
def gelu_constants() -> tuple[Constant, ...]:
    """sqrt(2/pi) and the cubic coefficient of gelu_tanh by series matching with gelu."""
    a, b = sp.symbols("a b", real=True)
    approx = catalog.get("gelu_tanh").expr
    exact = catalog.get("gelu").expr
    (t,) = approx.atoms(sp.tanh)
    template = approx.xreplace({t: sp.tanh(a * x + b * x**3)})
    # gelu_tanh's own tanh argument: coefficients of x and x^3
    arg = sp.Poly(sp.expand(t.args[0]), x)
    cat_a, cat_b = arg.coeff_monomial(x), arg.coeff_monomial(x**3)
    cat_c = sp.nsimplify(cat_b / cat_a)
    series = sp.expand(sp.series(template - exact, x, 0, 5).removeO())
    sol_a = sp.solve(series.coeff(x, 2), a)
    sol_a = [s for s in sol_a if s.is_positive][0]
    sol_b = sp.solve(series.coeff(x, 4).subs(a, sol_a), b)[0]
    c = sp.simplify(sol_b / sol_a)
    a_same = sp.simplify(sol_a - cat_a) == 0
    with mpmath.workdps(_WORK_DPS):
        a_val = _mp(sol_a)
        c_val = _mp(c)
        c_cat = mpmath.mpf(int(cat_c.p)) / int(cat_c.q)
        rel = (c_cat - c_val) / c_val
    # x sigmoid(k x) ~ gelu: match the x^2 term (slope of Phi at 0)
    k = sp.Symbol("k", positive=True)
    sig = catalog.get("sigmoid").expr
    sk = sp.solve(sp.series(x * sig.subs(x, k * x) - exact, x, 0, 3).removeO().coeff(x, 2), k)[0]
    with mpmath.workdps(_WORK_DPS):   # not at mpmath's global precision, which callers may change
        sk_val = _mp(sk)
    return (
        Constant("gelu_tanh.sqrt_2_over_pi", _digits(a_val),
                 "coefficient a of x in tanh(a x + b x^3) so that (1 + tanh(...)) / 2 matches Phi(x) to O(x^2): "
                 "a / 2 = Phi'(0) = 1 / sqrt(2 pi)",
                 "SymPy series of gelu_tanh (tanh argument replaced by a x + b x^3) minus gelu at x = 0",
                 sp.sstr(sol_a), sp.sstr(cat_a),
                 "equal: the catalog's factor is exactly the derived value (proved by simplify)" if a_same
                 else "DIFFERS from the catalog's factor"),
        Constant("gelu_tanh.cubic_series", _digits(c_val),
                 "b / a with the x^3 terms of the series also matched (Phi to O(x^4))",
                 "SymPy series matching, as above", sp.sstr(c), mpmath.nstr(c_cat, 15),
                 f"the catalog's {mpmath.nstr(c_cat, 15)} is a least-squares fit (Hendrycks & Gimpel 2016), not this series value: "
                 f"it is {mpmath.nstr(abs(100 * rel), 4)}% {'below' if rel < 0 else 'above'} the series value",
                 established="derived (catalog value is fitted)"),
        Constant("gelu_sigmoid.slope_match", _digits(sk_val),
                 "k in x sigmoid(k x) ~ gelu(x) with matching x^2 terms: k / 4 = 1 / sqrt(2 pi)",
                 "SymPy series matching", sp.sstr(sk), "1.702",
                 "the commonly used 1.702 is fitted, not this slope-matching value",
                 established="derived (usual value is fitted)"),
    )


def constants_for(name: str) -> list[Constant]:
    """The derived constants a certificate of ``name`` shows."""
    table = {"selu": selu_constants, "gelu_tanh": gelu_constants}
    return list(table[name]()) if name in table else []
