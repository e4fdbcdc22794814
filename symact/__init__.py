"""symact: symbolic-and-numeric verification of activation functions.

The public face: :func:`get` and :func:`names` read the catalog, :func:`kernel`
gives an activation's generated NumPy kernel, :class:`SymactError` is the one
exception type for user mistakes. :mod:`symact.testing` and
:mod:`symact.strategies` serve other projects' test suites. The layers below
(``model``, ``symbolic``, ``numeric``, ``analysis``, ``parse``, ``codegen``,
``verify``, ``notes``, ``reports``, ``cli``) are described in CONTRIBUTING.md.
"""
from symact.errors import SymactError
from symact.model.catalog import get, names

__version__ = "0.1.0"
__all__ = ["get", "names", "kernel", "SymactError", "__version__"]


def kernel(act, derivative: bool = False, **params):
    """The generated NumPy kernel of an activation, a callable ``(x, out=None, axis=-1)``.

    ``act`` is a catalog name or alias (``params`` set its parameters) or an
    :class:`~symact.model.activation.Activation`; ``derivative=True`` gives the
    derivative's kernel (the Jacobian for vector activations)::

        symact.kernel("sigmoid")(x)
        symact.kernel("leaky_relu", derivative=True, negative_slope=0.2)(x)
    """
    from symact.numeric.kernels import kernel_for

    if isinstance(act, str):
        act = get(act, **params)
    elif params:
        act = act.with_params(**params)
    return kernel_for(act, derivative=derivative)
