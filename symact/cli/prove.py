"""``symact prove NAME | --all [--out DIR] [--check DIR] [--json]``: certificates.

Writes ``DIR/NAME.md`` (default ``proofs``) for one activation or all of them
(see :mod:`symact.reports.certificate` for what a certificate states and how each claim
was established). ``--check DIR`` writes nothing: it regenerates in memory and
exits 1 naming the file and the first differing claim of each section when a
committed certificate is stale, missing or no longer holds. ``--json`` prints
the certificate content (one object, or a list for ``--all``) and writes files
only when ``--out`` is given.
"""
from __future__ import annotations

import json
from pathlib import Path

from symact.model import catalog
from symact.reports import certificate
from symact.cli import EXIT_FAILED, EXIT_OK, UsageError, dump_json

DEFAULT_DIR = "proofs"


def add_parser(sub):
    p = sub.add_parser("prove", help="write or check the certificates in proofs/")
    p.add_argument("name", metavar="NAME", nargs="?", help="an activation (or use --all)")
    p.add_argument("--all", action="store_true", help="every catalog activation")
    p.add_argument("--out", metavar="DIR", help=f"where to write NAME.md (default {DEFAULT_DIR})")
    p.add_argument("--check", metavar="DIR", help="compare with the certificates in DIR instead of writing; "
                   "exit 1 if any is stale, missing or no longer holds")
    p.add_argument("--json", action="store_true", help="print the certificate content as JSON")
    return p


def _names(args) -> list[str]:
    if args.all == bool(args.name):
        raise UsageError("symact prove: give one NAME or --all")
    return catalog.names() if args.all else [catalog.canonical(args.name)]


def run(args, out) -> int:
    names = _names(args)
    if args.check is not None:
        if args.out is not None:
            raise UsageError("symact prove: --check writes nothing; drop --out")
        directory = Path(args.check)
        if not directory.is_dir():
            raise UsageError(f"symact prove: --check {args.check}: no such directory")
        problems = certificate.check_directory(directory, names)
        if args.json:
            dump_json({"ok": not problems, "checked": names,
                       "problems": [{"file": p.file, "claim": p.claim, "message": p.message} for p in problems]}, out)
        else:
            for p in problems:
                print(f"STALE {p}", file=out)
            print(f"{len(names)} certificate(s) checked in {directory}: "
                  + ("all current" if not problems else f"{len(problems)} problem(s)"), file=out)
        return EXIT_FAILED if problems else EXIT_OK

    directory = Path(args.out if args.out is not None else DEFAULT_DIR)
    write = args.out is not None or not args.json
    for i, name in enumerate(names):
        cert = certificate.build(name)
        if write:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{name}.md"
            path.write_text(cert.markdown(), encoding="utf-8", newline="\n")
            if not args.json:
                print(f"wrote {path}", file=out)
        if args.json and not args.all:
            dump_json(cert.to_dict(), out)
        elif args.json:  # the list element by element, as dump_json writes it whole
            text = json.dumps([cert.to_dict()], indent=2, sort_keys=False, ensure_ascii=False, default=str)
            out.write(("[\n" if i == 0 else ",\n") + text[2:-2])
        _flush(out)   # each line as soon as its certificate is written
    if args.json and args.all:
        out.write("\n]\n")
        _flush(out)
    return EXIT_OK


def _flush(out) -> None:
    flush = getattr(out, "flush", None)
    if flush is not None:
        flush()
