"""``symact plot NAME [-o FILE.png|.svg] [--param KEY=VALUE]``: f and f' on one figure.

Needs the optional extra ``symact[plot]`` (matplotlib); without it the command
says so on one line and exits 2. Default output: ``NAME.png``.
"""
from __future__ import annotations

from symact.reports import plot as plot_mod
from symact.reports import report
from symact.cli import parse_params


def add_parser(sub):
    p = sub.add_parser("plot", help="plot an activation and its derivative, kinks marked (needs matplotlib)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-o", "--output", metavar="FILE", help="FILE.png, .svg or .pdf (default NAME.png)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="set a parameter")
    return p


def run(args, out) -> int:
    act = report.resolve(args.name, parse_params(args.param))
    path = plot_mod.plot(act, args.output or f"{act.name}.png")
    print(f"wrote {path}", file=out)
    return 0
