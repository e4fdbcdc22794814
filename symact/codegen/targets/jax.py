"""The ``jax`` target: JAX arrays, computed in the array's dtype.

Holds :class:`JaxPrinter` and the target object :data:`TARGET`, with the helper
sources it emits (:data:`HELPERS`). The public ``NAME`` carries a
``jax.custom_jvp`` whose tangent is the derived derivative ``NAME_grad``.

XLA's tanh and erfc are replaced by generated helpers: an expm1-based tanh (here), and
erfc = exp(-u^2) erfcx(u) with u^2 formed exactly and erfcx fitted per octave in
mpmath when a file first needs it (the erfc primitive's JAX piece,
:func:`symact.primitives.erfc.jax_source`). XLA on CPU also flushes
subnormal intermediates to zero, so this target asks for the subnormal-safe tails
of :mod:`symact.codegen.tails` (``subnormal_flusher``).
"""
from __future__ import annotations

from sympy.printing.pycode import PythonCodePrinter

from symact.codegen.printer import CodePrinterBase, dispatch_functions, primitive_sources
from symact.codegen.targets._array import ArrayTarget, array_helpers, rootpoly_source, shift_source


@dispatch_functions
class JaxPrinter(CodePrinterBase, PythonCodePrinter):
    """JAX arrays (``import jax``, ``import jax.numpy as jnp``)."""

    TARGET = "jax"
    FUNCS = {"exp": "jnp.exp", "log": "jnp.log", "Abs": "jnp.abs"}
    #: XLA's tanh misses the accuracy floor: a small generated helper instead (so does its
    #: erfc, which takes exp(-x*x) of a rounded square: the erfc primitive's JAX piece)
    HELPERS = {"tanh": "_tanh"}
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


#: helper sources keyed by name (see :attr:`symact.codegen.target.Target.helpers`)
HELPERS = {
    **primitive_sources("jax"),
    **array_helpers("jnp"),
    "tanh": TANH,
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
