"""symact: symbolic-and-numeric verification of activation functions.

The public face: :func:`get` and :func:`names` read the catalog, :func:`kernel`
gives an activation's generated NumPy kernel, :func:`check` checks an activation
(and your implementation of it) as ``symact check`` does, :class:`SymactError` is
the one exception type for user mistakes. :mod:`symact.testing` and
:mod:`symact.strategies` serve other projects' test suites. The layers below
(``model``, ``symbolic``, ``numeric``, ``analysis``, ``parse``, ``codegen``,
``verify``, ``notes``, ``reports``, ``cli``) are described in CONTRIBUTING.md.
"""
from symact.errors import SymactError
from symact.model.catalog import get, names

__version__ = "0.1.0"
__all__ = ["get", "names", "kernel", "check", "SymactError", "__version__"]


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


#: options of :func:`check` that are not numeric-test options
_CHECK_OPTIONS = ("params", "timeout", "trust", "jobs")


def check(name, impl=None, grad_impl=None, **options):
    """Check activation ``name`` as ``symact check NAME [--impl ...] --json`` does; the report.

    Returns a :class:`~symact.reports.report.CheckReport`: its ``to_dict()`` is exactly the
    document ``--json`` prints for the same options and seed (``ok``, ``tests``, ``facts``,
    ``linearity``, ...), and ``report.ok`` says whether every test passed.

    ``name``: a catalog name or alias, or an :class:`~symact.model.activation.Activation`.
    ``impl`` / ``grad_impl``: your implementation of the activation / of its derivative:

    * a SPEC string (``"path/to/file.py:function"``, ``"package.module:function"``, a class
      ``"file.py:Class"``): imported and called only in a confined child process, exactly as
      the command line does (``timeout``: seconds for all of its work, default 60;
      ``trust=True``: unconfined where it cannot be confined);
    * a callable (a function, an instance, a class): called in this process, unconfined,
      as :func:`symact.testing.assert_implements` does: a test suite already runs its own code.

    Either way the activation's parameters reach the code when its signature takes them,
    under the catalog's name or a framework's (``alpha`` for leaky_relu's negative_slope):
    the report's ``calls`` and each implementation test's ``called_with`` say how it was called.

    Options, as on the command line: ``params`` (a dict, e.g. ``{"negative_slope": 0.1}`` or
    ``{"alpha": "1/10"}``: ``--param``), ``seed`` (default 0), ``examples`` (2000),
    ``max_ulp`` (4), ``atol`` (the dtype's smallest normal), ``dtypes`` (``("float64",
    "float32")`` or one of them), ``jobs`` (1) and the numeric tests' other options
    (:func:`symact.verify.difftest.run_tests`, e.g. ``kink_convention``, ``vector_error``
    where it has them). An unknown option is a TypeError naming it; a bad value (an unknown
    activation or parameter, ``examples=0``, a SPEC that cannot be loaded) a
    :class:`SymactError`::

        rep = symact.check("leaky_relu", impl="mine.py:leaky_relu", params={"alpha": 0.1}, seed=1)
        assert rep.ok, rep.to_dict()["tests"]
    """
    import inspect

    from symact.reports import report
    from symact.verify import difftest

    takes = [k for k in inspect.signature(difftest.run_tests).parameters if k not in ("act", "impl", "grad_impl")]
    unknown = sorted(k for k in options if k not in takes and k not in _CHECK_OPTIONS)
    if unknown:
        raise TypeError(f"symact.check() got unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                        f"it takes {', '.join(list(_CHECK_OPTIONS) + takes)}")
    params = options.pop("params", None)
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"symact.check(): params must be a dict such as {{'negative_slope': 0.1}}, "
                        f"not {type(params).__name__}")
    timeout, trust = options.pop("timeout", 60.0), bool(options.pop("trust", False))
    jobs = options.pop("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise TypeError(f"symact.check(): jobs must be a whole number >= 1, not {jobs!r}")
    for label, fn in (("impl", impl), ("grad_impl", grad_impl)):
        if fn is not None and not isinstance(fn, str) and not callable(fn):
            raise TypeError(f"symact.check(): {label} must be a callable or a SPEC string "
                            f"('file.py:function'), not {type(fn).__name__}")
    specs = [(label, fn) for label, fn in (("impl", impl), ("grad_impl", grad_impl)) if isinstance(fn, str)]
    proc = None
    if specs:
        from symact.verify.impl import ImplProcess

        report.resolve(name, params)  # an unknown activation or parameter: an error before any import
        proc = ImplProcess([(label, fn if isinstance(fn, str) else None)
                            for label, fn in (("impl", impl), ("grad_impl", grad_impl))],
                           timeout=timeout, trust=trust)
        try:
            remote = dict(zip(("impl", "grad_impl"), proc.start()))
        except BaseException:
            proc.close()
            raise
        impl = remote["impl"] if isinstance(impl, str) else impl
        grad_impl = remote["grad_impl"] if isinstance(grad_impl, str) else grad_impl
        jobs = 1  # the child answers this process only
    try:
        rep = report.check(name, params, jobs=jobs, impl=impl, grad_impl=grad_impl, **options)
    finally:
        if proc is not None:
            proc.close()
    if proc is not None:
        rep.extra["execution"] = proc.execution
    elif impl is not None or grad_impl is not None:
        rep.extra["execution"] = {"mode": "in-process",
                                  "detail": "implementation ran in this process, unconfined (a callable "
                                            "given to symact.check)"}
    return rep
