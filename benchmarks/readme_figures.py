"""Regenerate the README's figures: the accuracy table, the bench table and the timings.

Each figure sits in README.md between ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->``
and is replaced whole, atomically, by what this script measures now:

    python benchmarks/readme_figures.py accuracy        # bench.accuracy_table(), seeded: deterministic
    python benchmarks/readme_figures.py bench           # symact bench --repeats 7 (1e7 float64)
    python benchmarks/readme_figures.py timings         # benchmarks/bench_check.py (cold and warm runs)
    python benchmarks/readme_figures.py accuracy --check   # exit 1 if the committed table is stale

Figures that time things (bench, timings) depend on the machine: the README says where they were
measured; compare ratios within one run, not absolute times across runs.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- figures:{name} -->\n)(.*?)(<!-- /figures:{name} -->)", re.S)


def splice(text: str, name: str, body: str) -> str:
    pat = block(name)
    if not pat.search(text):
        raise SystemExit(f"README.md has no <!-- figures:{name} --> block")
    return pat.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(3), text, count=1)


def current(text: str, name: str) -> str:
    m = block(name).search(text)
    return m.group(2) if m else ""


def accuracy() -> str:
    from symact.reports import bench
    return bench.markdown_accuracy(bench.accuracy_table()) + "\n"


def bench_table(repeats: int, size: int) -> str:
    from symact.reports import bench
    result = bench.run_bench(size=size, repeats=repeats)
    where = f"{platform.machine()}, {os.cpu_count()} CPUs, {result.threads} kernel threads"
    return (f"`symact bench --repeats {repeats}` ({size:.0e} float64 elements; {where}; ns/element, "
            f"time relative to symact's, [max ULP]):\n\n" + bench.markdown_bench(result) + "\n")


def timings() -> str:
    script = ROOT / "benchmarks" / "bench_check.py"
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    return res.stdout


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("figure", choices=("accuracy", "bench", "timings"))
    p.add_argument("--check", action="store_true", help="compare with README.md instead of writing")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--size", type=int, default=10**7)
    args = p.parse_args(argv)
    body = {"accuracy": accuracy, "timings": timings,
            "bench": lambda: bench_table(args.repeats, args.size)}[args.figure]()
    text = README.read_text(encoding="utf-8")
    if args.check:
        same = current(text, args.figure).strip() == body.strip()
        print(f"README {args.figure} figure is " + ("current" if same else "stale: run benchmarks/readme_figures.py "
                                                   + args.figure))
        return 0 if same else 1
    new = splice(text, args.figure, body)
    from symact import fsio
    from symact.errors import WriteError

    try:   # atomically: a temporary file beside it, renamed; a symbolic link there is refused
        fsio.write_file(README, new, force_flag=None)
    except WriteError as exc:
        sys.exit(f"readme_figures.py: {exc}")
    print(f"README.md: {args.figure} figure regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
