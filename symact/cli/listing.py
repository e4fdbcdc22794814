"""``symact list [--json]``: the catalog, one line per activation (module named to spare the builtin)."""
from __future__ import annotations

from symact.model import catalog
from symact.cli import dump_json


def add_parser(sub):
    p = sub.add_parser("list", help="list the catalog's activations")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    return p


def run(args, out) -> int:
    acts = [catalog.get(n) for n in catalog.names()]
    if args.json:
        dump_json([{"name": a.name, "aliases": list(a.aliases), "role": a.role, "vector": a.vector,
                    "params": {k: str(v) for k, v in a.param_values.items()},
                    "description": a.description} for a in acts], out)
        return 0
    width = max(len(a.name) for a in acts)
    for a in acts:
        alias = f" (alias {', '.join(a.aliases)})" if a.aliases else ""
        out.write(f"{a.name:<{width}}  {a.role:<6}  {a.description}{alias}\n")
    return 0
