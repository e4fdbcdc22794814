"""The ``torch`` target: PyTorch tensors, computed in the tensor's dtype.

Holds :class:`TorchPrinter` and the target object :data:`TARGET`, with the helper
sources it emits (:data:`HELPERS`). The public ``NAME`` is a
``torch.autograd.Function`` whose backward is the derived derivative ``NAME_grad``
(the Jacobian-vector product for vector activations), so autograd never
differentiates through the stable forms' branches.
"""
from __future__ import annotations

from sympy.printing.pycode import PythonCodePrinter

from symact.codegen.printer import CodePrinterBase, dispatch_functions, primitive_sources
from symact.codegen.targets._array import ArrayTarget, array_helpers, rootpoly_source, shift_source


@dispatch_functions
class TorchPrinter(CodePrinterBase, PythonCodePrinter):
    """PyTorch tensors (``import torch``)."""

    TARGET = "torch"
    FUNCS = {"exp": "torch.exp", "log": "torch.log", "tanh": "torch.tanh", "Abs": "torch.abs"}
    MOD = "torch"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_common()

    _print_Pow = CodePrinterBase._print_Pow_common


#: helper sources keyed by name (see :attr:`symact.codegen.target.Target.helpers`)
HELPERS = {
    **primitive_sources("torch"),
    **array_helpers("torch"),
    "rootpoly": rootpoly_source("torch.tensor({a}, dtype=x.dtype)", "torch.clamp(torch.nan_to_num(u), 0, n - 1).long()",
                                "r1 = float(torch.tensor(r_hi, dtype=x.dtype))  # r_hi in x's dtype; r2 the rest"),
    "shift": shift_source("torch", "torch.amax(x, dim=-1, keepdim=True)", "torch.sum({a}, dim=-1, keepdim=True)",
                          "top.to(x.dtype)"),
}


class TorchTarget(ArrayTarget):
    name = "torch"
    order = 40
    M = "torch"
    imports = "import torch"
    printer = TorchPrinter
    inf = "float('inf')"
    eye = "torch.eye({n}, dtype=x.dtype)"
    helpers = HELPERS

    def dtype_line(self, dtype):
        return (f"x = torch.as_tensor(x, dtype=x.dtype if torch.is_tensor(x) and x.is_floating_point() "
                f"else torch.{dtype})")

    def notes(self, dtype):
        return ["computes in the tensor's dtype; NAME is differentiable through a torch.autograd.Function"]

    def clip(self, var, lo, hi, num):
        args = ([f"min={num(lo)}"] if lo != float("-inf") else []) + ([f"max={num(hi)}"] if hi != float("inf") else [])
        return f"torch.clamp({var}, {', '.join(args)})"

    def wrappers(self, act, ident):
        bwd = ("torch.einsum('...i,...ik->...k', g, {i}_grad(x))" if act.vector else "g * {i}_grad(x)").format(i=ident)
        return ["", f"class _{ident}_fn(torch.autograd.Function):",
                f'    """{act.name} whose backward is the derived derivative."""', "",
                "    @staticmethod", "    def forward(ctx, x):", "        ctx.save_for_backward(x)",
                f"        return _{ident}_value(x)", "", "    @staticmethod", "    def backward(ctx, g):",
                "        (x,) = ctx.saved_tensors", f"        return {bwd}", "", "",
                f"def {ident}(x):", f'    """{act.name}(x), differentiable with the derived derivative."""',
                f"    return _{ident}_fn.apply(torch.as_tensor(x))"]


TARGET = TorchTarget()
