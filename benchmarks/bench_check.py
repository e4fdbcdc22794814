"""Time ``symact check``: in-process through report.check, as a subprocess, and ``--all``.

Usage: python benchmarks/bench_check.py [NAME ...] [--examples N] [--all]

The subprocess timing goes through ``python -m symact check NAME --json`` when
the check command exists (symact/cli/check.py); otherwise it times the same
work in a fresh interpreter (imports + report.check), and says so.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time


def _inprocess(name: str, examples: int) -> float:
    from symact.reports import report

    t = time.perf_counter()
    report.check(name, examples=examples)
    return time.perf_counter() - t


def _oracle_only(name: str, examples: int) -> float:
    import symact
    from symact.verify import difftest

    t = time.perf_counter()
    difftest.run_tests(symact.get(name), examples=examples)
    return time.perf_counter() - t


def _subprocess(name: str, examples: int) -> tuple[float, str]:
    if importlib.util.find_spec("symact.cli.check") is not None:
        cmd = [sys.executable, "-m", "symact", "check", name, "--json", "--examples", str(examples)]
        how = "python -m symact check"
    else:
        cmd = [sys.executable, "-c", f"from symact import report; report.check({name!r}, examples={examples})"]
        how = "fresh interpreter, report.check (no symact/cli/check.py yet)"
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - t, how


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=["sigmoid"])
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--all", action="store_true", help="also time every catalog activation")
    args = ap.parse_args()
    import symact

    from symact.reports import report

    wired = bool(report.run_tests(symact.get("relu"), examples=5))
    for name in args.names:
        diff_cold = _oracle_only(name, args.examples)
        diff_warm = _oracle_only(name, args.examples)
        cold = _inprocess(name, args.examples)
        sub, how = _subprocess(name, args.examples)
        print(f"{name}: difftest.run_tests cold {diff_cold:.2f}s, warm (oracle cache) {diff_warm:.2f}s; "
              f"report.check {cold:.2f}s{'' if wired else ' (report.run_tests not wired to difftest yet)'}; "
              f"subprocess {sub:.2f}s [{how}]")
    if args.all:
        total = 0.0
        for name in symact.names():
            dt = _oracle_only(name, args.examples)
            total += dt
            print(f"  difftest {name:14s} {dt:6.2f}s")
        print(f"--all: {total:.1f}s for {len(symact.names())} activations")


if __name__ == "__main__":
    main()
