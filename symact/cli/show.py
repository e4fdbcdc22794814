"""``symact show NAME [--param K=V] [--json]``: an activation's facts and verdicts, and how each
framework ships it (names, default parameters, conventions that differ from symact's, with
values: :mod:`symact.model.frameworks`). NAME may be a framework's spelling
(``torch.nn.Hardshrink``, ``F.gelu``, ``jax.nn.hard_silu``); that framework's defaults are bound."""
from __future__ import annotations

from symact.model import frameworks
from symact.reports import report
from symact.cli import dump_json, parse_params
from symact.cli.check import render_report


def add_parser(sub):
    p = sub.add_parser("show", help="show an activation's derived facts and linearity verdicts")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="set a parameter")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--kernels", action="store_true",
                   help="also show the generated NumPy kernels' forms and why they were chosen")
    return p


def run(args, out) -> int:
    act = report.resolve(args.name, parse_params(args.param))
    rep = report.analyze(act)
    fws = frameworks.describe(act)
    spelled = _spelled(args.name, act)
    kinfo = None
    if args.kernels:
        from symact.numeric import kernels
        kinfo = {"f": kernels.describe(act, False), "df": kernels.describe(act, True)}
    if args.json:
        doc = rep.to_dict()
        doc["frameworks"] = fws
        if spelled is not None:
            doc["spelling"] = spelled
        if kinfo is not None:
            doc["kernels"] = kinfo
        dump_json(doc, out)
    else:
        text = render_report(rep)
        if spelled is not None:   # after the first line, which names the entry
            head, _, rest = text.partition("\n")
            text = f"{head}\n  {spelled['text']}\n{rest}"
        out.write(text)
        out.write(render_frameworks(fws))
        if kinfo is not None:
            out.write(render_kernels(kinfo))
    return 0


def _spelled(name: str, act):
    """When NAME is a framework's spelling: which, and the defaults it bound (None otherwise)."""
    from symact.model import catalog

    key = name.strip().lower().replace("-", "_")
    if key in catalog.names() or key in catalog.aliases():
        return None
    found = frameworks.lookup(name, catalog.names(), catalog.aliases())
    if found is None:
        return None
    row = found[1]
    bound = {k: str(v) for k, v in frameworks.bound_defaults(row, catalog.get(row.entry)).items()}
    text = f"as {name.strip()} ({frameworks.TITLES[row.framework]})"
    if bound:
        text += ": its defaults " + ", ".join(f"{k} = {v}" for k, v in bound.items())
    return {"name": name.strip(), "framework": row.framework, "entry": row.entry, "bound": bound, "text": text}


def render_frameworks(fws: list[dict]) -> str:
    """Each framework's names and defaults, then what differs from symact and the notes."""
    if not fws:
        return ""
    lines = ["  frameworks:"]
    for d in fws:
        lines.append(f"    {d['title']}: {d['call']}")
        lines += [f"      differs: {t}" for t in d["differences"]]
        lines += [f"      note: {t}" for t in d["notes"]]
    return "\n".join(lines) + "\n"


def render_kernels(kinfo) -> str:
    lines = ["  kernels:"]
    for key, d in kinfo.items():
        lines.append(f"    {key}: {d['form']}")
        for c in d["candidates"]:
            mark = "*" if c["chosen"] else " "
            lines.append(f"      {mark} max {c['max_ulp']:.0f} / mean {c['mean_ulp']:.3f} ULP vs oracle, "
                         f"cost {c['cost']}: {c['why']}")
            lines.append(f"          {c['form']}")
        for a, b in d["long_double"]:
            lines.append(f"      long-double fix-up on [{a:.6g}, {b:.6g}]")
        for rp in d["root_polys"]:
            lines.append(f"      root polynomial on [{rp['lo']:.6g}, {rp['hi']:.6g}] around x = {rp['root']:.12g} "
                         f"({rp['pieces']} pieces, degree {rp['degree']})")
        f32 = d.get("float32") or {}
        if f32:
            lines.append(f"      float32 input: {f32['chain']} chain ({f32['why']})")
    return "\n".join(lines) + "\n"
