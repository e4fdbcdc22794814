"""``symact show NAME [--param K=V] [--json]``: an activation's facts and verdicts."""
from __future__ import annotations

from .. import report
from . import dump_json, parse_params
from .check import render_report


def add_parser(sub):
    p = sub.add_parser("show", help="show an activation's derived facts and linearity verdicts")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="set a parameter")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    return p


def run(args, out) -> int:
    rep = report.analyze(report.resolve(args.name, parse_params(args.param)))
    if args.json:
        dump_json(rep.to_dict(), out)
    else:
        out.write(render_report(rep))
    return 0
