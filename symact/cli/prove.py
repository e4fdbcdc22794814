"""``symact prove NAME | --all [--out DIR] [--check DIR] [--json]``: certificates.

Writes ``DIR/NAME.md`` (default ``proofs``) for one activation or all of them
(see :mod:`symact.reports.certificate` for what a certificate states and how each claim
was established). ``--check DIR`` writes nothing: it regenerates in memory and
exits 1 naming the file and the first differing claim of each section when a
committed certificate is stale, missing or no longer holds. ``--json`` prints
the certificate content (one object, or a list for ``--all``) and writes files
only when ``--out`` is given.

Each certificate is written atomically (:mod:`symact.fsio`): a failed write (a
full disk, a read-only folder) leaves the old file as it was and exits 2. DIR is
created when absent; DIR that is not a folder is exit 2. A symbolic link at
``DIR/NAME.md`` is refused unless ``--force``, which replaces the link itself
with a regular file (the file it points to is never written).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from symact import fsio
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
    p.add_argument("--force", action="store_true", help="replace a symbolic link at DIR/NAME.md by a regular "
                   "file (the file it points to is not written)")
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
    if write:   # fail before the work: DIR a regular file, a link at NAME.md, ...
        fsio.ensure_folder(directory)
        for name in names:
            fsio.check_target(directory / f"{name}.md", force=args.force)
    for i, name in enumerate(names):
        cert = certificate.build(name)
        if write:
            fsio.ensure_folder(directory)
            path = directory / f"{name}.md"
            note = fsio.write_file(path, cert.markdown(), force=args.force)
            if note:
                warnings.warn(note)
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
