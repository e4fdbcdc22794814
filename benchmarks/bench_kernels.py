"""Benchmark symact's generated kernels against their peers and print the tables.

    python benchmarks/bench_kernels.py [--size 10000000] [--repeats 7] [--dtype float64]
        [--names sigmoid relu ...] [--json out.json] [--accuracy]
"""
from __future__ import annotations

import argparse
import json
import sys

from symact import fsio
from symact.errors import WriteError
from symact.reports import bench


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=10**7)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--names", nargs="*")
    ap.add_argument("--json")
    ap.add_argument("--no-derivatives", action="store_true")
    ap.add_argument("--accuracy", action="store_true", help="also print the kernels' accuracy table")
    args = ap.parse_args(argv)
    res = bench.run_bench(args.names, args.size, args.dtype, args.repeats, derivatives=not args.no_derivatives)
    print(bench.format_bench(res))
    if args.json:
        try:   # atomically; a symbolic link there is refused
            fsio.write_file(args.json, json.dumps(res.to_dict(), indent=1), force_flag=None)
        except WriteError as exc:
            sys.exit(f"bench_kernels.py: {exc}")
    if args.accuracy:
        print()
        print(bench.format_accuracy(bench.accuracy_table(args.names)))


if __name__ == "__main__":
    main()
