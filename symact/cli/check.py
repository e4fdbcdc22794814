"""``symact check``: facts, exact linearity verdicts and numeric tests.

``symact check NAME [NAME ...] | --all`` checks catalog activations;
``--impl``/``--grad-impl`` test a user's implementation, imported and called only in a
confined child process (``--timeout`` seconds in all, default 60; ``--trust`` to run it
unconfined where it cannot be confined); ``--latex``/``--expr``
check a formula against NAME, or (without NAME) treat it as a new activation.
Exit 0 when every test passed, 1 when one failed, 2 for a usage or input error.

Several activations are printed one by one, in the order given, each as soon as
it is checked (``--json``: one list, written element by element). ``--jobs N``
uses up to N processes (default: one per CPU): several activations are checked
side by side, and one activation's numeric tests run beside its symbolic
analysis; the output is the same for every N.
"""
from __future__ import annotations

import json

from symact.model import catalog
from symact.reports import report
from symact.analysis.facts import short
from symact.cli import UsageError, add_policy_arguments, dump_json, parse_params, seed_arg

DTYPES = ("float64", "float32")


def add_parser(sub):
    p = sub.add_parser("check", help="check activations: facts, linearity verdicts, numeric tests",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("names", nargs="*", metavar="NAME", help="catalog names or aliases")
    p.add_argument("--all", action="store_true", help="check every catalog activation")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--impl", metavar="SPEC", help="your implementation: path/file.py:function or pkg.module:function")
    p.add_argument("--grad-impl", metavar="SPEC", help="your derivative implementation (same SPEC forms)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="seconds your implementation may take in all: its imports and every call, "
                        "--impl and --grad-impl together (default 60); past it the test fails")
    p.add_argument("--trust", action="store_true",
                   help="run --impl/--grad-impl code unconfined where it cannot be confined (it is always run "
                        "in a child process; confined: no network, no writes outside its own folder)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="set a parameter, e.g. h0=1")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed for every random choice (default 0)")
    p.add_argument("--examples", type=int, default=2000, help="random oracle points per test (default 2000)")
    add_policy_arguments(p, atol_default="the dtype's smallest normal number", strict_means="symact's own values",
                         row="row")
    p.add_argument("--dtype", choices=DTYPES, help="test one dtype only (default: both)")
    p.add_argument("--latex", metavar="FORMULA", help="a LaTeX formula to check against NAME, or to check alone")
    p.add_argument("--expr", metavar="TEXT", help='a plain-text formula such as "1/(1+exp(-x))"')
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="processes to use (default: one per CPU); the output is the same for every N")
    return p


def _options(args) -> dict:
    if args.examples < 0:
        raise UsageError("--examples must be >= 0")
    if args.jobs < 0:
        raise UsageError("--jobs must be >= 0 (0: one per CPU)")
    if args.max_ulp < 0 or (args.atol is not None and args.atol < 0):
        raise UsageError("--max-ulp and --atol must be >= 0")
    opts = {"seed": args.seed, "examples": args.examples, "max_ulp": args.max_ulp, "atol": args.atol,
            "dtypes": (args.dtype,) if args.dtype else DTYPES}
    if args.impl or args.grad_impl:  # the judgement of a user's implementation (symact.verify.policy)
        opts.update(kink_convention=args.kink_convention, vector_error=args.vector_error)
    if not (args.timeout > 0 and args.timeout < float("inf")):
        raise UsageError("--timeout must be a positive number of seconds")
    return opts


def _impl_process(args):
    """The child that runs --impl/--grad-impl (imported there, never here); None without them."""
    if not (args.impl or args.grad_impl):
        return None
    from symact.verify.impl import ImplProcess

    proc = ImplProcess([("impl", args.impl), ("grad_impl", args.grad_impl)], timeout=args.timeout,
                       trust=args.trust)
    try:
        proc.impl, proc.grad_impl = proc.start()
    except BaseException:
        proc.close()
        raise
    return proc


def run(args, out) -> int:
    if args.all and args.names:
        raise UsageError("give activation names or --all, not both")
    if args.latex and args.expr:
        raise UsageError("give --latex or --expr, not both")
    formula = args.latex is not None or args.expr is not None
    if not (args.all or args.names or formula):
        raise UsageError("check needs NAME, --all, --latex FORMULA or --expr TEXT")
    # a framework's spelling (keras.activations.leaky_relu) stays as given: report.resolve binds
    # that framework's defaults; canonical() only refuses an unknown name here
    names = catalog.names() if args.all else [n for n in args.names if catalog.canonical(n)]
    if len(names) > 1 and (args.impl or args.grad_impl or formula):
        raise UsageError("--impl, --grad-impl, --latex and --expr apply to one activation at a time")
    params = parse_params(args.param)
    opts = _options(args)
    proc = _impl_process(args)  # loads --impl before any work: a bad SPEC runs nothing
    try:
        if proc is not None:
            opts.update(impl=proc.impl, grad_impl=proc.grad_impl)
            args.jobs = 1  # the implementation's child answers this process only
        if formula:
            rep = _formula_report(names[0] if names else None, args, params, opts)
        elif len(names) == 1 and not args.all:
            rep = report.check(names[0], params, jobs=_jobs(args, 2), **opts)
        else:
            return _stream(names, params, opts, args, out)
    finally:
        if proc is not None:
            proc.close()
    if proc is not None:
        rep.extra["execution"] = proc.execution
    if args.json:
        dump_json(rep.to_dict(), out)
    else:
        out.write(render_report(rep))
    return 0 if rep.ok else 1


def _stream(names, params, opts, args, out) -> int:
    """Several activations: each printed as soon as it and those before it are checked.

    ``--json`` writes the list element by element, in exactly the text one
    ``dump_json`` of the whole list gives (indent 2, one element per item).
    """
    for name in names:  # a --param that some activation lacks: a usage error before any output
        report.resolve(name, params)
    rendered = report.check_many(names, params, jobs=_jobs(args, len(names)),
                                 transform=_json_item if args.json else _text_item, **opts)
    bad = []
    for i, (name, ok, text) in enumerate(rendered):
        if args.json:
            out.write(("[\n" if i == 0 else ",\n") + text)
        else:
            out.write(("\n" if i else "") + text)
        _flush(out)
        if not ok:
            bad.append(name)
    if args.json:
        out.write("\n]\n")
    else:
        out.write(f"\n{len(names) - len(bad)} of {len(names)} activations passed every test"
                  + (f"; failed: {', '.join(bad)}" if bad else "") + "\n")
    _flush(out)
    return 1 if bad else 0


def _jobs(args, most: int) -> int:
    """--jobs, or by default one per CPU (at most ``most``: one per activation, two halves of one)."""
    return args.jobs or report.default_jobs(most)


def _text_item(rep) -> tuple[str, bool, str]:
    return rep.name, rep.ok, render_report(rep)


def _json_item(rep) -> tuple[str, bool, str]:
    """The report as an element of an indent-2 JSON list (what ``dump_json`` writes for it there)."""
    text = json.dumps([rep.to_dict()], indent=2, sort_keys=False, ensure_ascii=False, default=str)
    return rep.name, rep.ok, text[2:-2]   # drop "[\n" and "\n]"


def _flush(out) -> None:
    flush = getattr(out, "flush", None)
    if flush is not None:
        flush()


#: symact's own kernel tests: information, not verdicts, for a formula checked alone
_KERNEL_TESTS = ("kernel[", "derivative_kernel[")


def _formula_report(name, args, params, opts):
    r"""``check [NAME] --latex/--expr``: every side of the formula checked (see
    :mod:`symact.verify.claims`). With NAME, or a head that names a catalog entry
    (``\\mathrm{GELU}(x) = ...``), the report is that entry's and each side is checked against
    it. Alone, the formula is recognized (within :data:`symact.verify.formula.RECOGNITION_SECONDS`);
    a formula proved equal to a catalog entry is reported as that entry (its tests use
    symact's kernel for it), any other as the formula itself, whose kernel tests are
    information: no verdict depends on the accuracy of symact's kernel for a formula as
    written."""
    from symact.model import spellings
    from symact.verify import claims, formula

    parsed = formula.read_formula(latex=args.latex, expr=args.expr)
    info = {"source": parsed.source,
            "sides": [{"relation": s.relation, "formula": s.source} for s in claims.sides(parsed)]}
    if getattr(parsed, "notes", ()):
        info["notes"] = list(parsed.notes)
    by_head = claims.head_name(parsed) if name is None else None
    if by_head is not None:
        info["named_by_head"] = by_head
    name = name if name is not None else by_head
    if name is not None:
        act = report.resolve(name, params)
        given = set(spellings.canonical_params(act, params))
        tests = claims.link_tests(act, parsed, given=given, seed=opts["seed"])  # a symbol that matches nothing: exit 2 first
        rep = report.check(act, jobs=_jobs(args, 2), **opts)
        rep.tests.extend(tests)
        rep.extra["formula"] = info
        return rep
    if claims.sides(parsed)[0].approximate:
        remarks_head = (f"{parsed.head or 'the head'} is no catalog activation: the claim that the first side "
                        f"approximates it is not checked")
        info.setdefault("notes", []).append(remarks_head)
    act, remarks = claims.formula_activation(parsed, params, kinks=False)   # kinks only if it is reported itself
    if remarks:
        info["remarks"] = remarks
    found = formula.recognize(act)
    matches = found["matches"]
    proved = next((m for m in matches if m["verdict"] == "proved"), None)
    recognized = None
    if proved is not None:
        recognized = catalog.get(proved["name"], **proved["params"])
        info["kernel"] = (f"the formula is {_shown(proved)} (proved): the tests use symact's kernel for "
                          f"{proved['name']}; the formula as written is not compiled")
    elif matches:
        recognized = catalog.get(matches[0]["name"], **matches[0]["params"])
    if proved is None:
        act = claims.formula_activation(parsed, params)[0]
    tests = claims.unnamed_link_tests(act, parsed, recognized, seed=opts["seed"], proved=proved is not None)
    rep = report.check(recognized if proved is not None else act, jobs=_jobs(args, 2), **opts)
    if proved is None:
        kept = []
        for t in rep.tests:
            (kept if not t.name.startswith(_KERNEL_TESTS) else rep.extra.setdefault("kernel_accuracy", [])).append(t)
        if "kernel_accuracy" in rep.extra:
            info["kernel"] = ("symact's kernel for the formula as written, tested as information "
                              "(not counted in ok)")
            rep.extra["kernel_accuracy"] = [t.to_dict() for t in rep.extra["kernel_accuracy"]]
        rep.tests[:] = kept
    rep.tests.extend(tests)
    rep.extra["matches"] = matches
    rep.extra["recognition"] = {k: found[k] for k in ("complete", "seconds", "budget", "note")}
    known = claims.known_approximations(act)
    if known:
        rep.extra["approximates"] = known
    rep.extra["formula"] = info
    return rep


def _shown(m) -> str:
    return m["name"] + (f"({', '.join(f'{k}={v}' for k, v in m['params'].items())})" if m.get("params") else "")


# --------------------------------------------------------------------------- text
def render_report(rep) -> str:
    """A readable report for a person."""
    act = rep.activation
    lines = [f"{act.name}: {act.description}"]
    if act.params:
        lines.append("  parameters: " + ", ".join(f"{k} = {short(v)}" for k, v in act.param_values.items()))
    lines.append(f"  role: {act.role} layers" if act.role != "both" else "  role: hidden and output layers")
    lines.append(f"  f(x) = {short(act.expr)}")
    for fact in rep.facts.items:
        how = "" if fact.established == "symbolic" else f"  [{fact.established}]"
        lines.append(f"  {fact.name.replace('_', ' ')}: {fact.text}{how}")
    if act.convention_note:
        lines.append(f"  convention: {act.convention_note}")
    lines.append("  linearity and symmetry:")
    for v in rep.verdicts.values():
        text = f"    {v.property:<21} {v.verdict:<9} {v.statement}"
        if v.witness:
            wit = ", ".join(f"{k} = {_w(val)}" for k, val in v.witness.items())
            text += f"; witness {wit}: {_w(v.lhs)} != {_w(v.rhs)}"
        elif v.note:
            text += f" ({v.note})"
        lines.append(text)
    lines.append(f"  => {rep.conclusion()}")
    execution = rep.extra.get("execution")
    if execution:
        lines.append(f"  {execution['detail']}")
    for label, call in (rep.extra.get("calls") or {}).items():   # how the code was called
        if isinstance(call, dict) and call.get("text"):
            lines.append(f"  {label}: {call['text']}")
    if rep.tests:
        lines.append("  tests:")
        for t in rep.tests:
            lines += _test_lines(t)
    matches = rep.extra.get("matches")
    if matches is not None:
        lines.append("  equals: " + (", ".join(_shown(m) + f" [{m['verdict']}]" for m in matches)
                                     if matches else "no catalog activation"))
        rec = rep.extra.get("recognition")
        if isinstance(rec, dict) and rec.get("note"):
            lines.append(f"  recognition: {rec['note']}")
        for a in rep.extra.get("approximates") or []:
            lines.append(f"  approximates: {a['text']}")
    info = rep.extra.get("formula")
    if isinstance(info, dict):
        if info.get("named_by_head"):
            lines.append(f"  formula: its head names {info['named_by_head']}; every side is checked against it")
        for key in ("notes", "remarks"):
            for text in info.get(key, []) or []:
                lines.append(f"  formula: {text}")
        if info.get("kernel"):
            lines.append(f"  kernel: {info['kernel']}")
    accuracy = rep.extra.get("kernel_accuracy")
    if accuracy:
        lines.append("  information (not counted in ok): symact's kernel for the formula as written")
        for d in accuracy:
            head = f"    {'pass' if d.get('passed') else 'fail'} {d.get('name')}"
            bits = [f"{k.replace('_', ' ')} {d[k]}" for k in ("points", "failing", "max_ulp") if d.get(k) is not None]
            sev = d.get("severity")
            lines.append(head + (f" ({sev})" if sev and not d.get("passed") else "") + (": " + ", ".join(map(str, bits)) if bits else ""))
    lines.append(f"  ok: {'yes' if rep.ok else 'NO'}")
    return "\n".join(lines) + "\n"


def _test_lines(t) -> list[str]:
    """One test: a PASS/FAIL line (the failure's class first), then everything its JSON says."""
    d = t.to_dict()
    sev = d.get("severity") if not t.passed else None
    head = f"    {'PASS' if t.passed else 'FAIL'} {t.name}" + (f" ({sev})" if sev else "")
    info = []
    rows = "rows" in d
    if d.get("verdict") is not None:
        info.append(f"verdict {d['verdict']}")
    if "points" in d:
        info.append(f"{d['rows']} rows ({d['points']} values)" if rows else f"{d['points']} points")
    if d.get("failing") is not None:
        info.append(f"failing {d['failing']}" + (" rows" if rows else ""))
    for key in ("max_ulp", "mean_ulp"):
        if d.get(key) is not None:
            info.append(f"{key.replace('_', ' ')} {d[key]}")
    if rows and d.get("normwise_max_ulp") is not None:
        info.append(f"normwise {d['normwise_max_ulp']} / componentwise {d['componentwise_max_ulp']} ULP"
                    + (f" (judged {d['vector_error']})" if d.get("vector_error") else ""))
    lines = [head + (f": {', '.join(map(str, info))}" if info else "")]
    pad = "         "
    w = d.get("worst")
    if isinstance(w, dict) and t.passed and w.get("passed_by") == "atol":
        tol = d.get("tolerance", {})
        lines.append(f"{pad}note: the worst point, x = {_w(w.get('x'))} ({w.get('ulp')} ULP), passed by the "
                     f"absolute tolerance (|got - expected| <= atol {tol.get('atol', 0):g}), not by ULPs")
    for key in ("error", "message"):
        if d.get(key):
            lines.append(f"{pad}{key}: {d[key]}")
    for p in d.get("problems", []) or []:
        lines.append(f"{pad}problem: {p}")
    if isinstance(d.get("computes"), dict) and d["computes"].get("text"):
        lines.append(f"{pad}computes: {d['computes']['text']}")
    for c in d.get("conventions", []) or []:
        how = "accepted" if c.get("accepted") else "not accepted"
        lines.append(f"{pad}convention ({how}): {c.get('text')}")
    if d.get("note"):
        lines.append(f"{pad}note: {d['note']}")
    for r in d.get("remarks", []) or []:
        lines.append(f"{pad}remark: {r}")
    if isinstance(d.get("called_with"), dict):
        lines.append(f"{pad}called with: " + (", ".join(f"{k}={_w(v)}" for k, v in d["called_with"].items())
                                              or "no parameters"))
    if not t.passed and isinstance(w, dict):
        lines.append(f"{pad}worst x = {_w(w.get('x'))}: expected {_w(w.get('expected'))}, got {_w(w.get('got'))}"
                     f" ({w.get('ulp')} ULP)")
    classes = d.get("classes")
    if not t.passed and isinstance(classes, dict) and len(classes) > 1:
        lines.append(f"{pad}classes: " + ", ".join(f"{c} {v.get('failing')}" for c, v in classes.items()))
    wit = d.get("witness")
    if wit and not t.passed:
        if isinstance(wit, dict) and "ulp" in wit and "x" in wit:
            lines.append(f"{pad}witness x = {_w(wit['x'])}: expected {_w(wit.get('expected'))}, "
                         f"got {_w(wit.get('got'))} ({wit.get('ulp')} ULP)"
                         + (f"; {wit['error']}" if wit.get("error") else "")
                         + (f"; {wit['note']}" if wit.get("note") else ""))
        else:
            text = ", ".join(f"{k} = {_w(v)}" for k, v in wit.items()) if isinstance(wit, dict) else str(wit)
            vals = (f": expected {d['expected']}, got {d['got']}"
                    if d.get("expected") is not None and d.get("got") is not None else "")
            lines.append(f"{pad}witness {text}{vals}")
    return lines


def _w(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_w(a) for a in v) + "]"
    return short(v) if not isinstance(v, str) else v
