"""``symact show NAME [--param K=V] [--json]``: an activation's facts and verdicts."""
from __future__ import annotations

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
    kinfo = None
    if args.kernels:
        from symact.numeric import kernels
        kinfo = {"f": kernels.describe(act, False), "df": kernels.describe(act, True)}
    if args.json:
        doc = rep.to_dict()
        if kinfo is not None:
            doc["kernels"] = kinfo
        dump_json(doc, out)
    else:
        out.write(render_report(rep))
        if kinfo is not None:
            out.write(render_kernels(kinfo))
    return 0


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
