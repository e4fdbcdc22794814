"""The ``numpy`` target: NumPy arrays, computed in float64 and rounded once to the dtype.

Holds :class:`NumpyCodePrinter` and the target object :data:`TARGET`, with the
helper sources it emits (:data:`HELPERS`). Every branch is computed on clipped x
inside ``np.errstate(all="ignore")`` (see :mod:`symact.codegen.targets._array`);
NumPy has no erfc, so the erfc primitive's ``_erfc`` calls the C library's
through ``np.frompyfunc``.
This target is also how :mod:`symact.codegen.measure` runs candidate forms.
"""
from __future__ import annotations

from sympy.printing.numpy import NumPyPrinter

from symact.codegen.emit import indent
from symact.codegen.printer import CodePrinterBase, dispatch_functions, primitive_sources
from symact.codegen.targets._array import ArrayTarget, array_helpers, rootpoly_source, shift_source


@dispatch_functions
class NumpyCodePrinter(CodePrinterBase, NumPyPrinter):
    """NumPy arrays (``import numpy as np``); erfc through the helper ``_erfc``."""

    TARGET = "numpy"
    FUNCS = {"exp": "np.exp", "log": "np.log", "tanh": "np.tanh", "Abs": "np.abs"}
    MOD = "np"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    _print_Pow = CodePrinterBase._print_Pow_common


#: helper sources keyed by name (see :attr:`symact.codegen.target.Target.helpers`)
HELPERS = {
    **primitive_sources("numpy"),
    **array_helpers("np"),
    "rootpoly": rootpoly_source("np.asarray({a})", "np.clip(np.nan_to_num(u), 0, n - 1).astype(np.intp)",
                                "r1 = r_hi                            # float64: r = r_hi + r_lo as given"),
    "shift": shift_source("np", "np.amax(x, axis=-1, keepdims=True)", "np.sum({a}, axis=-1, keepdims=True)",
                          "top.astype(x.dtype)"),
}


class NumpyTarget(ArrayTarget):
    name = "numpy"
    order = 10
    M = "np"
    imports = "import math\nimport numpy as np"
    printer = NumpyCodePrinter
    inf = "np.inf"
    eye = "np.eye({n})"
    helpers = HELPERS
    scalar_return = "r.astype(DTYPE)"

    def dtype_line(self, dtype):
        return "x = np.asarray(x, dtype=np.float64)"

    def notes(self, dtype):
        return [f"computes in float64, returns {dtype}"]

    def value_name(self, ident):
        return ident

    def preamble(self, dtype):
        return [f"DTYPE = np.{dtype}", ""]

    def body(self, body):
        return ['    with np.errstate(all="ignore"):'] + indent(body, 8)

    def vector_return(self, ret):
        return f"np.array({ret}, dtype=DTYPE)"


TARGET = NumpyTarget()
