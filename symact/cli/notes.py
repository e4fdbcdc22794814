"""``symact notes FILE.md``: review a research note's formulas against its code.

Text output reads like a reviewer's comments, section by section; ``--json``
prints ``{"findings": [...], "ok": bool}`` (see :mod:`symact.notes.review`). Exit 0
when nothing is wrong, 1 on any mismatch, inaccurate or error finding, 2 when
the note cannot be read.
"""
from __future__ import annotations

from symact.cli import EXIT_FAILED, EXIT_OK, dump_json

_MARK = {"consistent": "ok", "mismatch": "MISMATCH", "inaccurate": "INACCURATE",
         "unrecognized": "note", "error": "ERROR"}


def add_parser(subparsers):
    p = subparsers.add_parser("notes", help="check a Markdown note's formulas against its Python code",
                              description="Review a research note: read its formulas (```math, $$...$$) and "
                              "Python functions, section by section, and say where they disagree. The note's "
                              "code runs in a separate, time-limited process.")
    p.add_argument("file", metavar="FILE.md", help="the note (Markdown, UTF-8)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--no-exec", action="store_true", help="check the formulas only; do not run the note's code")
    p.add_argument("--seed", type=int, default=0, help="seed of the random test points (default 0)")
    return p


def run(args, out) -> int:
    from symact.notes.review import review

    result = review(args.file, execute=not args.no_exec, seed=args.seed)
    if args.json:
        dump_json(result.to_dict(), out)
    else:
        write_review(result, out)
    return EXIT_OK if result.ok else EXIT_FAILED


def write_review(result, out) -> None:
    print(f"Review of {result.path}" + ("" if result.executed else " (formulas only; code not run)"), file=out)
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
        print(f"  line {f.line}: {_MARK[f.verdict]}: {what}{recognized}", file=out)
        print(f"    {f.message}", file=out)
    bad = [f for f in result.findings if f.verdict in ("mismatch", "inaccurate", "error")]
    print(f"\n{len(result.findings)} finding(s); "
          + (f"{len(bad)} need attention." if bad else "formulas and code agree."), file=out)
