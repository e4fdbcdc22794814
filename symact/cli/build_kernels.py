"""``symact build-kernels [NAME ...] [--check] [--dir DIR]``: the prebuilt kernels.

Generates the kernels of catalog activations (default: all of them) and writes
the generator's decisions to symact/numeric/kernels/generated/NAME.py (see
symact.numeric.kernels.prebuilt), printing each file as it is written; with
every name, files for names no longer in the catalog are removed.
``--check`` writes nothing: it regenerates in memory and exits 1 naming each
file that is missing, stale or would change (as ``symact prove --check`` does
for ``proofs/``). Generating runs the oracle and the fits: minutes for all of
them on an empty cache. Each file is written atomically (a temporary file beside it,
renamed into place); a failed write is exit 2 naming the file and the reason.
"""
from __future__ import annotations

from pathlib import Path

from symact import fsio
from symact.errors import WriteError
from symact.model import catalog
from symact.cli import EXIT_FAILED, EXIT_OK, UsageError


def add_parser(sub):
    p = sub.add_parser("build-kernels", help="write or check the prebuilt kernels of catalog activations",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("names", nargs="*", metavar="NAME", help="catalog names or aliases (default: all)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a file is missing or regenerating would change it")
    p.add_argument("--dir", metavar="DIR",
                   help="where the files are (default: the installed package's generated kernels)")
    return p


def run(args, out) -> int:
    from symact.numeric.kernels import prebuilt

    every = not args.names
    names = catalog.names() if every else list(dict.fromkeys(catalog.canonical(n) for n in args.names))
    directory = Path(args.dir) if args.dir else prebuilt.GENERATED
    if args.check:
        if args.dir and not directory.is_dir():
            raise UsageError(f"symact build-kernels: --dir {args.dir}: no such directory")
        problems = []
        for name in names:
            problem = prebuilt.check(name, directory)
            if problem is not None:
                problems.append(problem)
                print(f"STALE {problem}", file=out, flush=True)
        if every:
            for path in prebuilt.orphans(names, directory):
                problems.append(path)
                print(f"STALE {path}: no catalog activation {path.stem}; run `{prebuilt.COMMAND}`", file=out)
        print(f"{len(names)} prebuilt kernel file(s) checked in {directory}: "
              + ("all current" if not problems else f"{len(problems)} problem(s)"), file=out)
        return EXIT_FAILED if problems else EXIT_OK
    if args.dir:
        fsio.ensure_folder(directory)   # DIR a regular file or a dangling link: exit 2, before the work
    try:
        for name in names:
            path, changed = prebuilt.write(name, directory)
            print(f"{'wrote' if changed else 'unchanged'} {path}", file=out, flush=True)
        if every:
            for path in prebuilt.orphans(names, directory):
                prebuilt.remove(path)
                print(f"removed {path}", file=out)
    except OSError as exc:   # an installed package's folder is often read-only
        where = exc.filename if isinstance(exc.filename, str) else directory
        raise WriteError(f"symact build-kernels: cannot write {where}: {exc.strerror or exc}; "
                         "give --dir DIR") from None
    return EXIT_OK
