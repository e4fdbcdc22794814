"""``symact notes FILE.md``: review a research note's formulas against its code.

Text output reads like a reviewer's comments, section by section, after a line
that says how the note's code ran (confined, unconfined with ``--trust``, or not
run); ``--json`` prints ``{"findings": [...], "ok": bool, "execution": {"mode",
"detail"}, "policy": {...}, "summary": {"formulas", "formulas_read", "formulas_checked",
"functions", "functions_run", "blocks_run", "text"}}`` (see :mod:`symact.notes.review`). Exit 0 when nothing is
wrong, 1 on any mismatch, inaccurate or error finding, 2 when the note cannot be read
(not a regular file, too big, not UTF-8), its code cannot be run here (no confinement
and no ``--trust``) or an option is out of range.

The note's code is judged by the accuracy policy of ``symact check --impl``
(:mod:`symact.verify.policy`), with the same options and defaults: ``--max-ulp``,
``--atol``, ``--kink-convention``, ``--vector-error``. Each finding that failed carries its
severity class (wrong, unstable, inaccurate, convention), printed first after its mark:
``MISMATCH (convention)``.
"""
from __future__ import annotations

import argparse
import math

from symact.cli import EXIT_FAILED, EXIT_OK, add_policy_arguments, dump_json, seed_arg

_MARK = {"consistent": "ok", "mismatch": "MISMATCH", "inaccurate": "INACCURATE",
         "unrecognized": "note", "error": "ERROR", "not run": "not run"}


def add_parser(subparsers):
    p = subparsers.add_parser("notes", help="check a Markdown note's formulas against its Python code",
                              description="Review a research note: read its formulas (```math, $$...$$, \\[...\\], and "
                              "inline $...$ or \\(...\\) definitions) and "
                              "Python functions, section by section, and say where they disagree. The note's "
                              "code runs confined (Landlock, namespaces, rlimits) in a separate process, each "
                              "block once, under one time budget; where it cannot be confined it runs only with "
                              "--trust.")
    p.add_argument("file", metavar="FILE.md", help="the note (Markdown, UTF-8)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--no-exec", action="store_true", help="check the formulas only; do not run the note's code")
    p.add_argument("--trust", action="store_true",
                   help="run the note's code even where it cannot be confined (unconfined: only for notes "
                   "you trust); where confinement is available it is used all the same")
    p.add_argument("--time-budget", type=_seconds, default=None, metavar="SECONDS",
                   help="seconds for all of the note's code together (default 30; one block or one "
                   "function's evaluation gets at most 10 of them)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the random test points (default 0)")
    add_policy_arguments(p, atol_default="float64's smallest normal number, 2.2e-308",
                         strict_means="the value the formula gives", row="vector")
    return p


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value <= 3600):
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, got {text!r}")
    return value


def run(args, out) -> int:
    from symact.notes import sandbox
    from symact.notes.review import review

    budget = args.time_budget if args.time_budget is not None else sandbox.BUDGET
    result = review(args.file, execute=not args.no_exec, seed=args.seed, trust=args.trust, budget=budget,
                    max_ulp=args.max_ulp, atol=args.atol, kink_convention=args.kink_convention,
                    vector_error=args.vector_error)
    if args.json:
        dump_json(result.to_dict(), out)
    else:
        write_review(result, out)
    return EXIT_OK if result.ok else EXIT_FAILED


def write_review(result, out) -> None:
    print(f"Review of {result.path}" + ("" if result.executed else " (formulas only; code not run)"), file=out)
    if result.executed:
        print(f"  {result.execution['detail']}", file=out)
        print(f"  {describe_policy(result.policy)}", file=out)
    if not result.findings:
        print("  nothing to check: no formulas or Python functions found", file=out)
    section = None
    for f in result.findings:
        if f.section != section:
            section = f.section
            print(f"\n## {section}", file=out)
        what = " and ".join(w for w in (f"formula $${f.formula}$$" if f.formula else "",
                                        f"code {f.code}()" if f.code else "") if w)
        recognized = f" [{f.activation}]" if f.activation else ""
        severity = f" ({f.severity})" if f.severity else ""
        print(f"  line {f.line}: {_MARK[f.verdict]}{severity}: {what}{recognized}", file=out)
        print(f"    {f.message}", file=out)
    bad = [f for f in result.findings if f.verdict in ("mismatch", "inaccurate", "error")]
    if result.summary:
        print(f"\n{result.summary['text']}.", file=out)
    print(f"\n{len(result.findings)} finding(s); "
          + (f"{len(bad)} need attention." if bad else "formulas and code agree."), file=out)


def describe_policy(rules: dict) -> str:
    """One line: the accuracy policy the code was judged by."""
    return (f"judged as check --impl judges: within {rules['max_ulp']:g} ULP or {rules['atol']:g} (atol); "
            f"kinks: {rules['kink_convention']}; vectors: {rules['vector_error']}")
