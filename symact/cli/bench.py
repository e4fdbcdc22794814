"""``symact bench [NAME ...] [--size N] [--dtype float32|float64] [--json]``.

Times symact's kernels against sympy's lambdify, naive NumPy, scipy.special,
torch (when installed) and an ``np.copyto`` bandwidth baseline, alternating in
one run, medians reported, each peer's max ULP beside its time. Ratios, not
absolute times, are the result: machines are noisy.
"""
from __future__ import annotations

from symact.reports import bench
from symact.model import catalog
from symact.cli import UsageError, dump_json, seed_arg


def add_parser(sub):
    p = sub.add_parser("bench", help="time the kernels against their peers (ns/element, ratios, ULP)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("names", nargs="*", metavar="NAME", help="activations (default: all)")
    p.add_argument("--size", type=int, default=10**7, help="elements per array (default 1e7)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per peer (default 7)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--no-derivatives", action="store_true", help="time the activations only")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    return p


def run(args, out) -> int:
    if args.size < 100 or args.repeats < 1:
        raise UsageError("--size must be >= 100 and --repeats >= 1")
    names = [catalog.canonical(n) for n in args.names] or None
    result = bench.run_bench(names, size=args.size, dtype=args.dtype, repeats=args.repeats,
                             seed=args.seed, derivatives=not args.no_derivatives)
    if args.json:
        dump_json(result.to_dict(), out)
    else:
        out.write(bench.format_bench(result) + "\n")
    return 0
