"""``symact codegen NAME``: standalone code for an activation and its derivative.

Prints the source for one target (see :mod:`symact.codegen`) on stdout, or
writes it to ``-o FILE`` (atomically, see :mod:`symact.fsio`) -- refusing to
overwrite an existing file, or to replace a symbolic link, unless ``--force``
(which replaces the link itself, never the file it points to). A missing folder
is not created. ``--latex``/``--expr`` generate code for a formula instead of a
catalog NAME (read by symact's own parsers, never evaluated).
"""
from __future__ import annotations

import warnings

from symact import fsio
from symact.model import catalog
from symact.codegen import DTYPES, TARGETS, generate
from symact.cli import EXIT_OK, UsageError, parse_params


def add_parser(subparsers):
    p = subparsers.add_parser("codegen", help="generate standalone code for an activation and its derivative",
                              description="Generate NAME(x) and NAME_grad(x) for a target language.")
    p.add_argument("name", nargs="?", metavar="NAME", help="catalog activation (or alias)")
    p.add_argument("--target", default="numpy", help=f"one of {', '.join(TARGETS)} (default numpy)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="set a parameter (repeatable)")
    p.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    p.add_argument("--latex", metavar="FORMULA", help="a LaTeX formula instead of NAME")
    p.add_argument("--expr", metavar="TEXT", help="a plain-text formula instead of NAME")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists; a symbolic link at FILE is replaced "
                   "by a regular file (the file it points to is not written)")
    return p


def _activation(args):
    given = [a for a in (args.name, args.latex, args.expr) if a is not None]
    if len(given) != 1:
        raise UsageError("symact codegen: give exactly one of NAME, --latex FORMULA, --expr TEXT")
    params = parse_params(args.param)
    if args.name is not None:
        return catalog.get(args.name, **params)
    try:
        from symact.verify import formula
    except ModuleNotFoundError:
        raise UsageError("symact codegen: --latex/--expr need symact.verify.formula, which is not installed "
                         "in this version; use a catalog NAME") from None
    from symact.verify import claims

    # the same reading as check: chains give the first side's code; catalog names are functions;
    # --param binds the formula's symbols, a symbol with no value that is a catalog parameter
    # takes the catalog's default (said on stderr)
    parsed = formula.read_formula(latex=args.latex, expr=args.expr)
    act, remarks = claims.formula_activation(parsed, params)
    for text in remarks:
        warnings.warn(text)
    return act


def run(args, out) -> int:
    if args.target not in TARGETS:
        raise UsageError(f"symact codegen: unknown target {args.target!r}; choose one of {', '.join(TARGETS)}")
    if args.dtype not in DTYPES:
        raise UsageError(f"symact codegen: unknown dtype {args.dtype!r}; choose float64 or float32")
    if args.output is not None:   # fail before the work: a missing folder, an existing file, a link
        fsio.check_target(args.output, replace=args.force, force=args.force)
    act = _activation(args)
    code = generate(act, args.target, args.dtype)
    if args.output is not None:
        note = fsio.write_file(args.output, code.source, replace=args.force, force=args.force)
        if note:
            warnings.warn(note)
    else:
        out.write(code.source)
    return EXIT_OK
