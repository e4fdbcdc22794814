"""Assertions for other projects' test suites, in the style of ``numpy.testing``.

``assert_implements("sigmoid", my_sigmoid)`` runs the same differential tests
as ``symact check sigmoid --impl ...`` (:func:`symact.verify.difftest.run_tests`) and
raises :class:`AssertionError` with the worst input, expected and actual
values, the ULP error, the tolerance and how many points failed, plus the
shrunk witness. ``derivative=True`` tests ``fn`` against the derivative.
Options (``seed``, ``examples``, ``max_ulp``, ``atol``, ``dtypes``,
``kink_convention``, ``vector_error``) are those of
:func:`~symact.verify.difftest.run_tests`, with the same defaults as ``symact check``:
one accuracy policy (:mod:`symact.verify.policy`) for both. ``params`` may use the
frameworks' spellings, and the activation's parameters are passed to ``fn`` when its
signature takes them (:func:`symact.verify.impl.bind`), as ``symact check --impl`` does.

``fn`` is called in the caller's own process, unconfined: a test suite already runs
its own code. (``symact check --impl`` instead imports and calls an implementation only
in a confined child process, :class:`symact.verify.impl.ImplProcess`.)
"""
from __future__ import annotations

from symact.model import catalog
from symact.verify import difftest
from symact.model.activation import Activation
from symact.verify.results import TestResult


def _lines(res: TestResult) -> list[str]:
    d = res.details
    sev = d.get("severity")
    out = [f"{res.name}: FAILED" + (f" ({sev})" if sev else "")]
    tol = d.get("tolerance")
    if "points" in d and "failing" in d:
        unit = "rows" if "rows" in d else "points"
        total = d.get("rows", d["points"])
        out.append(f"  {d['failing']} of {total} {unit} failed"
                   + (f" (tolerance: {tol['max_ulp']:g} ULP or atol {tol['atol']:g})" if tol else ""))
    for key in ("error", "message", "note"):
        if d.get(key):
            out.append(f"  {key}: {d[key]}")
    for key in ("worst", "witness"):
        w = d.get(key)
        if w:
            out.append(f"  {key}: x = {w['x']}, expected {w['expected']}, got {w['got']}, {w['ulp']} ULP")
    for c in d.get("conventions", []):
        out.append(f"  convention: {c['text']}")
    for r in d.get("remarks", []):
        out.append(f"  remark: {r}")
    if "computes" in d and isinstance(d["computes"], dict) and d["computes"].get("text"):
        out.append(f"  computes: {d['computes']['text']}")
    if "max_ulp" in d:
        out.append(f"  max ULP {d['max_ulp']}, mean ULP {d.get('mean_ulp')}")
    for p in d.get("problems", []):
        out.append(f"  {p}")
    return out


def assert_implements(name, fn, *, derivative: bool = False, params: dict | None = None,
                      **options) -> list[TestResult]:
    """Assert that ``fn`` computes activation ``name`` (or its derivative) to tolerance.

    Returns the implementation's TestResults (one per dtype, and shape_dtype) on success.
    """
    from symact.model import spellings
    from symact.verify.impl import bind

    act = name if isinstance(name, Activation) else catalog.get(name)
    if params:
        act = act.with_params(**spellings.canonical_params(act, params))
    key = "grad_impl" if derivative else "impl"
    fn, _ = bind(fn, act, key)   # parameters reach fn as they do for symact check --impl
    results = difftest.run_tests(act, **{key: fn}, **options)
    mine = [r for r in results if r.name.startswith(key + "[")]
    shape = [r for r in results if r.name == "shape_dtype"]
    # shape_dtype also covers the kernels; only fn's own problems count here
    shape_problems = [p for r in shape for p in r.details.get("problems", []) if p.startswith(key + ":")]
    failed = [r for r in mine if not r.passed]
    if failed or shape_problems:
        what = f"{act.name}'" if derivative else act.name
        lines = [f"{getattr(fn, '__name__', repr(fn))} does not implement {what!r}:"]
        for r in failed:
            lines += _lines(r)
        if shape_problems:
            lines.append("shape_dtype: FAILED")
            lines += [f"  {p}" for p in shape_problems]
        raise AssertionError("\n".join(lines))
    return mine + shape
