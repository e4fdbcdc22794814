"""``symact list [--framework NAME] [--json]``: the catalog, one line per activation (module
named to spare the builtin); with ``--framework``, each entry's name in that framework and what
the framework does not ship (:mod:`symact.model.frameworks`)."""
from __future__ import annotations

from symact.model import catalog, frameworks
from symact.cli import dump_json


def add_parser(sub):
    p = sub.add_parser("list", help="list the catalog's activations")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--framework", choices=frameworks.FRAMEWORKS + frameworks.EXTRA_FRAMEWORKS,
                   help="show each activation's name in this framework (torch, jax, keras: Keras 3; "
                        "keras2: Keras 2 / tf.keras; tensorflow: tf.nn), and what it does not ship")
    return p


def run(args, out) -> int:
    acts = [catalog.get(n) for n in catalog.names()]
    if args.framework:
        return _run_framework(acts, args.framework, args.json, out)
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


def _run_framework(acts, fw: str, as_json: bool, out) -> int:
    title = frameworks.TITLES[fw]
    table = []
    for a in acts:
        rows = frameworks.rows(a.name, fw)
        shipped = [r for r in rows if r.shipped]
        table.append({"name": a.name, "shipped": bool(shipped), "recorded": bool(rows),
                      "names": [n for r in shipped for n in r.names],
                      "calls": [frameworks.call_text(r) for r in shipped],
                      "differences": [d for r in shipped for d in frameworks.differences(r, a)],
                      "notes": [n for r in rows for n in r.notes]})
    if as_json:
        dump_json({"framework": fw, "title": title, "activations": table}, out)
        return 0
    width = max(len(a.name) for a in acts)
    for row in table:
        if row["shipped"]:
            text = "; ".join(row["calls"])
        elif row["recorded"]:
            text = f"-- not in {title}" + (f" ({'; '.join(row['notes'])})" if row["notes"] else "")
        else:
            text = f"-- not in {title}, or as in Keras 3" if fw == "keras2" else f"-- not in {title}"
        out.write(f"{row['name']:<{width}}  {text}\n")
    missing = sum(not r["shipped"] for r in table)
    out.write(f"{len(table) - missing} of {len(table)} activations in {title}; {missing} not shipped\n")
    return 0
