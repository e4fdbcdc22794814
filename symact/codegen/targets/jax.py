"""The ``jax`` target: JAX arrays, computed in the array's dtype.

Holds :class:`JaxPrinter` and the target object :data:`TARGET`, with the helper
sources it emits (:data:`HELPERS`). The public ``NAME`` carries a
``jax.custom_jvp`` whose tangent is the derived derivative ``NAME_grad``.

XLA's tanh and erfc are replaced by generated helpers: an expm1-based tanh, and
erfc = exp(-u^2) erfcx(u) with u^2 formed exactly and erfcx fitted per octave in
mpmath when a file first needs it (:func:`erfcx_octaves`). XLA on CPU also flushes
subnormal intermediates to zero, so this target asks for the subnormal-safe tails
of :mod:`symact.codegen.tails` (``subnormal_flusher``).
"""
from __future__ import annotations

import functools

import numpy as np
from sympy.printing.pycode import PythonCodePrinter

from symact.codegen.emit import num_py
from symact.codegen.printer import PRIMITIVE_HELPERS, CodegenError, CodePrinterBase, dispatch_functions
from symact.codegen.targets._array import ArrayTarget, array_helpers, rootpoly_source, shift_source
from symact.numeric.fitting import cheb_fit


@dispatch_functions
class JaxPrinter(CodePrinterBase, PythonCodePrinter):
    """JAX arrays (``import jax``, ``import jax.numpy as jnp``)."""

    FUNCS = {"exp": "jnp.exp", "log": "jnp.log", "Abs": "jnp.abs", "log1p": "jnp.log1p", "expm1": "jnp.expm1"}
    #: XLA's tanh and erfc miss the accuracy floor (its erfc takes exp(-x*x) of a rounded
    #: square): both are small generated helpers instead
    HELPERS = dict(PRIMITIVE_HELPERS, tanh="_tanh", erfc="_erfc")
    MOD = "jnp"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    def _print_erfc_scaled(self, e):
        self.used.add("erfc")
        return f"_erfc({self._print(e.args[0])}, {self._num(float(e.args[1]))})"

    _print_Pow = CodePrinterBase._print_Pow_common


TANH = '''def _tanh(u):
    """tanh(u) = -expm1(-2|u|) / (2 + expm1(-2|u|)) with u's sign (jnp.tanh is up to 6 ULP off)."""
    e = jnp.expm1(-2.0 * jnp.abs(u))
    return jnp.copysign(-e / (2.0 + e), u)'''


@functools.lru_cache(maxsize=None)
def erfcx_octaves() -> tuple:
    """(centres, rows): erfcx(u) = exp(u^2) erfc(u) as one polynomial in u - centre on each
    octave [0.5, 1), [1, 2), ..., [16, 32]; rows highest degree first, one column per octave.
    Chebyshev interpolants in mpmath (:func:`symact.numeric.fitting.cheb_fit`) of the lowest odd
    degree within 2^-58 relative on 200 points of the octave."""
    import mpmath

    def g(u):
        return mpmath.exp(u * u) * mpmath.erfc(u)

    table, centres = [], []
    with mpmath.workdps(40):
        for k in range(-1, 5):
            lo, hi = mpmath.mpf(2) ** k, mpmath.mpf(2) ** (k + 1)
            m = (lo + hi) / 2
            pts = [mpmath.mpf(float(v)) for v in np.linspace(float(lo), float(hi), 200)]
            for deg in range(9, 41, 2):
                c = cheb_fit(g, lo, hi, deg)
                worst = max(abs(_horner_mp(c, v - m) / g(v) - 1) for v in pts)
                if worst < mpmath.mpf(2) ** -58:
                    break
            else:  # pragma: no cover
                raise CodegenError("erfcx octave fit did not converge")
            table.append([float(v) for v in c])
            centres.append(float(m))
    deg = max(len(c) for c in table)
    rows = [[([0.0] * (deg - len(c)) + c)[i] for c in table] for i in range(deg)]
    return tuple(centres), tuple(tuple(r) for r in rows)


def _horner_mp(coeffs, t):
    acc = 0
    for c in coeffs:
        acc = acc * t + c
    return acc


@functools.lru_cache(maxsize=None)
def erfc_source() -> str:
    """The ``_erfc(u, scale)`` helper with its fitted :func:`erfcx_octaves` table."""
    centres, rows = erfcx_octaves()
    f = num_py
    table = "\n".join([f"    ({', '.join(f(c) for c in centres)},),", "    ("]
                      + [f"        ({', '.join(f(c) for c in row)},)," for row in rows] + ["    ))"])
    return f'''#: erfcx(u) = exp(u^2) erfc(u): (centres, rows) of one polynomial in u - centre per octave
#: [0.5, 1), [1, 2), ..., [16, 32] (highest degree first), fitted in mpmath when this file was generated
_ERFCX_OCTAVES = (
{table}


def _erfc(u, scale=0.0):
    """erfc(u) exp(scale): jax.scipy.special.erfc for u < 0.5; above, exp(scale - u^2) erfcx(u)
    with u^2 = p + e formed exactly (XLA's own exp(-u*u) rounds the square: hundreds of ULP at
    u = 25); scale > 0 keeps exp(scale - u^2) normal where erfc(u) alone would be subnormal."""
    centres, rows = _ERFCX_OCTAVES
    a = jnp.clip(u, 0.5, 27.5)
    j = sum((a >= 2.0 ** k).astype(jnp.int32) for k in range(5))
    t = a - jnp.asarray(centres, dtype=a.dtype)[j]
    q = 0.0 * t
    for row in rows:
        q = q * t + jnp.asarray(row, dtype=a.dtype)[j]
    p = a * a                                   # Dekker: a * a = p + e exactly
    s = (134217729.0 if a.dtype == jnp.float64 else 4097.0) * a
    ah = s - (s - a)
    al = a - ah
    e = ((ah * ah - p) + 2.0 * ah * al) + al * al
    big = jnp.exp(scale - p) * q * (1.0 - e)
    small = jax.scipy.special.erfc(u) * jnp.exp(scale + 0.0 * u)
    return jnp.where(u < 0.5, small, jnp.where(u > 27.5, 0.0 * u, big))'''



#: helper sources keyed by name (see :attr:`symact.codegen.target.Target.helpers`)
HELPERS = {
    **array_helpers("jnp"),
    "tanh": TANH,
    "erfc": erfc_source,
    "rootpoly": rootpoly_source("jnp.asarray({a}, dtype=x.dtype)",
                                "jnp.clip(jnp.nan_to_num(u), 0, n - 1).astype(jnp.int32)",
                                "r1 = float(jnp.asarray(r_hi, dtype=x.dtype))  # r_hi in x's dtype; r2 the rest"),
    "shift": shift_source("jnp", "jnp.max(x, axis=-1, keepdims=True)", "jnp.sum({a}, axis=-1, keepdims=True)",
                          "top.astype(x.dtype)"),
}


class JaxTarget(ArrayTarget):
    name = "jax"
    order = 50
    M = "jnp"
    imports = "import jax\nimport jax.numpy as jnp"
    printer = JaxPrinter
    inf = "jnp.inf"
    eye = "jnp.eye({n}, dtype=x.dtype)"
    helpers = HELPERS
    subnormal_flusher = "XLA"

    def dtype_line(self, dtype):
        return ("x = jnp.asarray(x, dtype=x.dtype if hasattr(x, 'dtype') and jnp.issubdtype(x.dtype, jnp.floating) "
                "else None)")

    def notes(self, dtype):
        return ["computes in the array's dtype (float64 needs jax.config.update('jax_enable_x64', True));"
                " NAME carries a jax.custom_jvp"]

    def wrappers(self, act, ident):
        tan = ("jnp.einsum('...ik,...k->...i', {i}_grad(x), t)" if act.vector else "{i}_grad(x) * t").format(i=ident)
        return ["", "@jax.custom_jvp", f"def {ident}(x):",
                f'    """{act.name}(x); its JVP uses the derived derivative."""', f"    return _{ident}_value(x)", "",
                "", f"@{ident}.defjvp", f"def _{ident}_jvp(primals, tangents):", "    (x,), (t,) = primals, tangents",
                f"    return {ident}(x), {tan}"]


TARGET = JaxTarget()
