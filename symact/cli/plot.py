"""``symact plot NAME [-o FILE.png|.svg] [--param KEY=VALUE]``: f and f' on one figure.

Needs the optional extra ``symact[plot]`` (matplotlib); without it the command
says so on one line and exits 2. Default output: ``NAME.png``, written
atomically (:mod:`symact.fsio`); a symbolic link there is refused unless
``--force``, which replaces the link itself with a regular file.
"""
from __future__ import annotations

import warnings

from symact.reports import plot as plot_mod
from symact.reports import report
from symact.cli import parse_params


def add_parser(sub):
    p = sub.add_parser("plot", help="plot an activation and its derivative, kinks marked (needs matplotlib)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-o", "--output", metavar="FILE", help="FILE.png, .svg or .pdf (default NAME.png)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="set a parameter")
    p.add_argument("--force", action="store_true", help="replace a symbolic link at FILE by a regular file "
                   "(the file it points to is not written)")
    return p


def run(args, out) -> int:
    act = report.resolve(args.name, parse_params(args.param))
    notes: list[str] = []
    path = plot_mod.plot(act, args.output or f"{act.name}.png", force=args.force, notes=notes)
    for note in notes:
        warnings.warn(note)
    print(f"wrote {path}", file=out)
    return 0
