"""The check report: facts, verdicts and tests for one activation.

:func:`check` is the library's front door (``symact.check("sigmoid")``). It
composes the lower layers (facts, linearity, numeric tests) into a
:class:`CheckReport` whose :meth:`~CheckReport.to_dict` is the JSON contract
of ``symact check --json``. It never prints.

JSON contract (later issues extend it, never break it): ``name``, ``expr`` and
``derivative`` (SymPy ``str()`` forms that ``sympy.sympify`` reads back),
``latex``, ``params``, ``linearity`` = {additivity, homogeneity,
positive_homogeneity} each {verdict, witness}, ``symmetry``, ``facts``,
``tests`` (a list of {name, passed, ...}) and ``ok``. With an implementation of an
activation that has parameters (or a class, or a selecting flag), ``calls`` = {impl,
grad_impl: {called_with, text}} says how the code was called, and each implementation test
that was passed keyword arguments carries ``called_with`` ({keyword: value}).

:func:`check_many` checks several activations and yields each report as soon as
it (and every one before it) is ready, so a caller can show the first before the
last is computed; with ``jobs`` > 1 the activations are checked side by side in
forked child processes, each starting from the same state, and come back in order.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import sympy as sp

from symact import cache
from symact.model import catalog
from symact.verify import difftest
from symact.analysis import facts as facts_mod, linearity
from symact.model.activation import Activation
from symact.errors import BudgetError
from symact.symbolic import budget
from symact.symbolic.forms import NoBranch, one_sided_limit, undefined_error
from symact.verify.results import TestResult


def expr_str(expr: sp.Expr) -> str:
    """``str()`` of an expression such that plain ``sympy.sympify`` reads it back.

    Vector forms print ``x[i]`` as ``Indexed(x, i)`` (sympify cannot subscript a Symbol).
    """
    return _ReadablePrinter().doprint(expr)


class _ReadablePrinter(sp.printing.str.StrPrinter):
    printmethod = "_symact_str"  # not "_sympystr": Indexed would print itself as x[i]

    def _print_Indexed(self, e):
        return f"Indexed({self._print(e.base.label)}, {', '.join(self._print(i) for i in e.indices)})"


@dataclass
class CheckReport:
    """Everything ``symact check`` knows about one activation."""

    activation: Activation
    facts: facts_mod.Facts
    verdicts: dict[str, linearity.Verdict]
    tests: list[TestResult] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.activation.name

    @property
    def ok(self) -> bool:
        return all(t.passed for t in self.tests)

    @property
    def linear(self) -> str:
        return linearity.is_linear(self.verdicts)

    def conclusion(self) -> str:
        """What the linearity verdicts mean for a network."""
        if self.linear == linearity.PROVED:
            return ("linear: stacked layers with this activation collapse into one linear map, "
                    "so it belongs in output layers only")
        if self.linear == linearity.REFUTED:
            return "not linear: stacked layers do not collapse, so it can serve in hidden layers"
        return "linearity undecided"

    def to_dict(self) -> dict:
        act = self.activation
        out = {
            "name": act.name,
            "description": act.description,
            "role": act.role,
            "reference": act.reference,
            "vector": act.vector,
            "expr": expr_str(act.expr),
            "derivative": expr_str(act.derivative),
            "latex": act.latex,
            "params": {k: str(v) for k, v in act.param_values.items()},
            "conventions": {str(k): v for k, v in act.conventions_bound.items()},
            "convention_note": act.convention_note or None,
            "linearity": {k: self.verdicts[k].to_dict() for k in linearity.LINEARITY},
            "linear": self.linear,
            "conclusion": self.conclusion(),
            "symmetry": {k: v.to_dict() for k, v in self.verdicts.items() if k not in linearity.LINEARITY},
            "facts": self.facts.to_dict(),
            "tests": [t.to_dict() for t in self.tests],
            "ok": self.ok,
        }
        out.update(self.extra)
        return out

    def _repr_latex_(self) -> str:
        """Jupyter's LaTeX display: the activation's formula (:mod:`symact.reports.display`)."""
        from symact.reports import display
        return display.latex(self)

    def _repr_html_(self) -> str:
        """Jupyter's HTML display: facts, verdicts, tests, every text escaped (:mod:`symact.reports.display`)."""
        from symact.reports import display
        return display.html(self)


def analyze(act: Activation) -> CheckReport:
    """Facts and verdicts for ``act`` (the symbolic half of a check)."""
    key = cache.activation_key(act)
    with budget.step(f"differentiating {act.name}"):
        act.derivative
    with budget.step(f"deriving the facts of {act.name}"):
        facts = cache.cached("facts", key, lambda: facts_mod.derive(act))
    with budget.step(f"deciding the linearity of {act.name}"):
        verdicts = cache.cached("verdicts", key, lambda: linearity.verdicts(act))
    return CheckReport(act, facts, verdicts)


def resolve(name_or_act, params: dict | None = None) -> Activation:
    """The activation with ``params`` set; a parameter may be named as frameworks spell it
    (``alpha`` for leaky_relu's negative_slope, see :mod:`symact.model.spellings`)."""
    from symact.errors import ParameterError
    from symact.model import spellings

    act = name_or_act if isinstance(name_or_act, Activation) else catalog.get(name_or_act)
    if not params:
        return act
    try:
        return act.with_params(**spellings.canonical_params(act, params))
    except ParameterError as exc:
        other = [s for p in act.params for s in spellings.spellings(act, p.name)[1:]]
        if other and "has no parameter" in str(exc):
            raise ParameterError(f"{exc} (also spelled {', '.join(other)})") from None
        raise


def _bind_impls(act: Activation, test_options: dict) -> dict:
    """Pass ``act``'s parameters to ``impl``/``grad_impl`` where their signatures take them
    (:func:`symact.verify.impl.bind`); what was done, by label."""
    from symact.verify import impl as impl_mod

    calls = {}
    for label in ("impl", "grad_impl"):
        fn = test_options.get(label)
        if fn is not None and callable(fn):
            test_options[label], summary = impl_mod.bind(fn, act, label)
            if summary is not None:
                calls[label] = summary
    return calls


def _note_calls(rep: "CheckReport", calls: dict) -> None:
    """The report says how the code was called (``calls``: label -> {called_with, text}), and
    each implementation test that was passed keyword arguments says which (``called_with``)."""
    if not calls:
        return
    for t in rep.tests:
        label = t.name.partition("[")[0]
        if label in calls and t.name.endswith("]") and calls[label]["called_with"]:
            t.details["called_with"] = dict(calls[label]["called_with"])
    rep.extra["calls"] = calls


def check(name_or_act, params: dict | None = None, *, jobs: int = 1, **test_options) -> CheckReport:
    """Check one activation: derived facts, linearity verdicts and numeric tests.

    ``test_options`` go to :func:`symact.verify.difftest.run_tests` (``impl``,
    ``grad_impl``, ``seed``, ``examples``, ``max_ulp``, ``atol``, ``dtypes``, ...).
    ``params`` may use the frameworks' spellings; ``impl``/``grad_impl`` are given the
    activation's parameters their signatures take (:func:`symact.verify.impl.bind`).
    :func:`symact.check` is the public face of this function.
    With ``jobs`` > 1 (where processes can be forked) the numeric tests run in a
    child process while this one derives the facts and verdicts; the report is
    the same.
    """
    act = resolve(name_or_act, params)
    test_options = dict(test_options)
    calls = _bind_impls(act, test_options)   # a class that cannot be instantiated: an error before any work
    child = None
    try:
        if jobs > 1 and _can_fork():
            _before_fork(act)
            child = _Child(_run_tests, act, test_options).start()
        try:
            report = analyze(act)
            report.tests.extend(child.result() if child is not None else run_tests(act, **test_options))
        finally:
            if child is not None:
                child.close()
    except NoBranch as exc:   # a cases with no row somewhere: the formula is undefined there
        raise undefined_error(exc, act.name if act.name != "formula" else "f") from None
    _note_calls(report, calls)
    return report


def _before_fork(act: Activation) -> None:
    """The SymPy work both halves of a check need, done once: f', and the limits of
    f and f' at -oo and oo (facts state them; the oracle's values at ±inf are them)."""
    with budget.step(f"differentiating {act.name}"):
        act.derivative
    if act.vector:
        return
    for expr in (act.expr, act.derivative):
        for point, side in ((-sp.oo, "-oo"), (sp.oo, "oo")):
            try:
                # through the disk cache under the oracle's own key (Oracle.limit), so a cached or
                # seeded limit is read, not derived again; remembered in memory for both processes
                with budget.step(f"deriving the limit of {act.name}{chr(39) if expr is not act.expr else ''}"
                                 f" at {'+' if point > 0 else '-'}inf"):
                    cache.cached("limit", (sp.srepr(expr), side),
                                 lambda: one_sided_limit(expr, act.x, point, "-" if point > 0 else "+"))
            except (BudgetError, NoBranch):
                raise
            except Exception:  # noqa: BLE001 - the half that needs this limit meets the error itself
                pass


def _run_tests(act, test_options):
    return run_tests(act, **test_options)


def run_tests(act: Activation, **test_options) -> list[TestResult]:
    """The numeric tests of a check: kernels and implementations against the oracle."""
    with budget.step(f"testing {act.name}'s kernels against the oracle", 4 * budget.step_seconds()):
        return difftest.run_tests(act, **test_options)


def check_many(names: Iterable, params: dict | None = None, *, jobs: int = 1,
               transform: Callable | None = None, **test_options) -> Iterator:
    """Check each of ``names`` (names or activations) and yield the results in order.

    Each result is ``transform(report)`` (the :class:`CheckReport` itself by
    default), yielded as soon as it and all before it are done. With ``jobs`` > 1
    (and where processes can be forked: Linux, no other threads running) up to
    ``jobs`` activations are checked at once, each in a child process forked from
    this one, so every check starts from the same state and the results do not
    depend on ``jobs`` or on timing; ``transform`` runs in the child and its
    result crosses back pickled (give one that returns plain data, such as the
    rendered text). Otherwise the checks run here, one after another.
    """
    items = list(names)
    fn = _CheckOne(params, transform, test_options)
    if jobs > 1 and len(items) > 1 and _can_fork():
        yield from _forked_map(fn, items, jobs)
    else:
        for item in items:
            yield fn(item)


def default_jobs(count: int) -> int:
    """How many checks to run at once: the CPUs this process may use, at most ``count``."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, count))


class _CheckOne:
    """check() then transform(): one activation's work, as a picklable callable."""

    def __init__(self, params, transform, test_options):
        self.params, self.transform, self.test_options = params, transform, test_options

    def __call__(self, item):
        rep = check(item, self.params, **self.test_options)
        return rep if self.transform is None else self.transform(rep)


def _can_fork() -> bool:
    # fork copies only the calling thread: with other threads alive (a kernel
    # thread pool, a caller's threads) a lock they hold would stay held in the child
    # JAX's runtime threads are not Python threads (threading does not count them): with JAX
    # loaded a fork may deadlock, as JAX itself warns, so the work stays in this process
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
            and "jax" not in sys.modules)


class _Child:
    """``fn(*args)`` computed in a forked child process; :meth:`result` collects it.

    The child starts from this process's state at :meth:`start` and sends back
    the pickled outcome (a value or an exception). Where nothing usable comes
    back (the child was killed, the value does not pickle) :meth:`result`
    computes ``fn(*args)`` here instead, so a result is never lost.
    """

    def __init__(self, fn: Callable, *args):
        self.fn, self.args = fn, args
        self.proc = self.reader = None

    def start(self) -> "_Child":
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.reader, writer = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child_main, args=(self.fn, self.args, writer), daemon=True)
        self.proc.start()
        writer.close()
        return self

    def result(self):
        import pickle

        try:
            status, payload = pickle.loads(self.reader.recv_bytes())
        except Exception:  # noqa: BLE001 - nothing came (EOFError) or it does not unpickle
            status, payload = "lost", None
        self.close(stop=False)
        if status == "lost":
            return self.fn(*self.args)
        if status == "raised":
            raise payload
        return payload

    def close(self, stop: bool = True) -> None:
        """Wait for the child to end; ``stop``: end it first (its result is not wanted)."""
        if self.proc is not None:
            if stop:
                self.proc.terminate()
            self.proc.join()
            self.reader.close()
            self.proc = None


def _forked_map(fn: Callable, items: list, jobs: int) -> Iterator:
    """fn(item) for each item, each in its own forked child, at most ``jobs`` at a time, in order."""
    import multiprocessing.connection

    running: dict = {}   # index -> _Child
    done: dict = {}
    start = emit = 0
    try:
        while emit < len(items):
            while start < len(items) and len(running) < jobs:
                running[start] = _Child(fn, items[start]).start()
                start += 1
            ready = multiprocessing.connection.wait([c.reader for c in running.values()])
            for index in [i for i, c in running.items() if c.reader in ready]:
                done[index] = running.pop(index)
            while emit in done:
                child = done.pop(emit)
                emit += 1
                yield child.result()
    finally:
        for child in list(running.values()) + list(done.values()):
            child.close()


def _child_main(fn, args, writer) -> None:
    """In the child: run fn(*args), send the outcome, leave at once.

    ``os._exit`` skips the exit handlers and the flushing of stdout buffers
    copied from the parent (which would print the parent's pending output twice).
    """
    import pickle

    code = 0
    try:
        try:
            outcome = ("ok", fn(*args))
        except Exception as exc:  # noqa: BLE001 - the parent re-raises it in order
            outcome = ("raised", exc)
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an unpicklable result: the parent redoes the item
            data, code = None, 1
        if data is not None:
            writer.send_bytes(data)
    except BaseException:  # noqa: BLE001 - KeyboardInterrupt, a closed pipe: the parent handles it
        code = 1
    finally:
        os._exit(code)
