"""Time ``symact check`` as a user runs it: cold (empty cache) and warm, per name and ``--all``.

Usage::

    python benchmarks/bench_check.py                  # every catalog name, then --all
    python benchmarks/bench_check.py gelu_tanh mish   # some names (add --all for check --all too)
    python benchmarks/bench_check.py --all-only       # only check --all
    python benchmarks/bench_check.py --repeat 3       # the median of 3 runs of each

Each run is ``python -m symact check ...`` in a fresh interpreter, so the
numbers include the interpreter start and the imports. *Cold* runs get an empty
``SYMACT_CACHE_DIR`` of their own; *warm* runs repeat the command on the cache
the cold run filled. *wall* is elapsed time, *CPU* the user + system time of
the command and its child processes (``check`` uses one per CPU by default:
on an idle machine wall < CPU; on a busy one CPU is the steadier number). The
*kernels* column is the CPU time of a cold run spent inside kernel generation
(``symact.numeric.kernels.kernel_for``), measured in a separate cold run with
``--jobs 1`` (the timer does not see into child processes) that wraps it with
a timer; *rest* is that run's CPU time less the kernels. ``check --all`` also
reports when the first report reached the output (the command prints each
activation as soon as it is ready).

The table is Markdown; ``--json FILE`` also writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _atomic  # benchmarks/_atomic.py, beside this script

ROOT = Path(__file__).resolve().parent.parent

#: run in the child for the kernels column: the CLI with kernel_for timed (CPU of all threads)
_SPLIT = """
import json, sys, time
import symact.verify.difftest as difftest
inner, spent = difftest.kernel_for, [0.0]
def timed(*a, **k):
    t = time.process_time()
    try:
        return inner(*a, **k)
    finally:
        spent[0] += time.process_time() - t
difftest.kernel_for = timed
from symact.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"kernels": spent[0]}), file=sys.stderr)
sys.exit(code)
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _env(cache: Path | str) -> dict:
    env = dict(os.environ)
    env["SYMACT_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run(argv: list[str], cache, first_marker: str | None = None, split: bool = False) -> dict:
    """One run of ``symact argv``: wall, CPU, exit code (and when the first report appeared)."""
    cmd = [sys.executable, "-c", _SPLIT] if split else [sys.executable, "-m", "symact"]
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.Popen(cmd + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(cache), cwd=ROOT)
    first = None
    for line in proc.stdout:
        if first is None and first_marker is not None and line.startswith(first_marker):
            first = time.perf_counter() - t0
    err = proc.stderr.read()
    code = proc.wait()
    out = {"wall": time.perf_counter() - t0, "cpu": _children_cpu() - cpu0, "exit": code}
    if first is not None:
        out["first"] = first
    if split:
        try:
            out["kernels"] = json.loads(err.strip().splitlines()[-1])["kernels"]
        except (ValueError, IndexError, KeyError):
            out["kernels"] = None
    return out


def _has_jobs() -> bool:
    """Whether this symact's check has --jobs (the benchmark also times older trees)."""
    out = subprocess.run([sys.executable, "-m", "symact", "check", "--help"], capture_output=True, text=True,
                         env=_env("off"), cwd=ROOT).stdout
    return "--jobs" in out


def _median(runs: list[dict], key: str):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def measure(argv: list[str], repeat: int, warm: bool, split: bool, first_marker=None, split_argv=None) -> dict:
    cold, hot, parts = [], [], []
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="symact-bench-"))
        try:
            cold.append(run(argv, cache, first_marker))
            if warm:
                hot.append(run(argv, cache, first_marker))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if split:
            cache = Path(tempfile.mkdtemp(prefix="symact-bench-"))
            try:
                parts.append(run(split_argv or argv, cache, split=True))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
    res = {"cold_wall": _median(cold, "wall"), "cold_cpu": _median(cold, "cpu"),
           "exit": cold[0]["exit"], "first": _median(cold, "first")}
    if warm:
        res.update(warm_wall=_median(hot, "wall"), warm_cpu=_median(hot, "cpu"), warm_first=_median(hot, "first"))
    if split:
        res["kernels"] = _median(parts, "kernels")
        res["split_cpu"] = _median(parts, "cpu")
        if res["kernels"] is not None and res["split_cpu"] is not None:
            res["rest"] = res["split_cpu"] - res["kernels"]
    return res


def _f(v) -> str:
    return "" if v is None else f"{v:.1f}"


def table(rows: dict, all_row: dict | None, jobs) -> str:
    lines = ["| command | cold wall s | cold CPU s | kernels CPU s | rest CPU s | warm wall s | warm CPU s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in rows.items():
        lines.append(f"| check {name} | {_f(r['cold_wall'])} | {_f(r['cold_cpu'])} | {_f(r.get('kernels'))} | "
                     f"{_f(r.get('rest'))} | {_f(r.get('warm_wall'))} | {_f(r.get('warm_cpu'))} |")
    if rows:
        tot = {k: sum(r[k] for r in rows.values() if r.get(k) is not None)
               for k in ("cold_wall", "cold_cpu", "kernels", "rest", "warm_wall", "warm_cpu")}
        worst = max(rows, key=lambda n: rows[n]["cold_wall"])
        lines.append(f"| sum of the {len(rows)} above | {_f(tot['cold_wall'])} | {_f(tot['cold_cpu'])} | "
                     f"{_f(tot['kernels'])} | {_f(tot['rest'])} | {_f(tot['warm_wall'])} | {_f(tot['warm_cpu'])} |")
    if all_row is not None:
        r = all_row
        lines.append(f"| check --all (jobs {jobs}) | {_f(r['cold_wall'])} | {_f(r['cold_cpu'])} | "
                     f"{_f(r.get('kernels'))} | {_f(r.get('rest'))} | {_f(r.get('warm_wall'))} | {_f(r.get('warm_cpu'))} |")
    out = "\n".join(lines) + "\n"
    if rows:
        out += f"\nslowest single check, cold: {worst} ({_f(rows[worst]['cold_wall'])} s wall)\n"
    if all_row is not None and all_row.get("first") is not None:
        out += (f"check --all, cold: first report after {_f(all_row['first'])} s of "
                f"{_f(all_row['cold_wall'])} s" + (f"; warm: after {_f(all_row['warm_first'])} s"
                                                   if all_row.get("warm_first") is not None else "") + "\n")
    return out


_write = _atomic.write


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    import symact

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="catalog names (default: all of them, then --all)")
    ap.add_argument("--all", action="store_true", help="also time check --all after the NAMEs given")
    ap.add_argument("--all-only", action="store_true", help="time check --all only")
    ap.add_argument("--no-all", action="store_true", help="do not time check --all")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; the median is shown")
    ap.add_argument("--no-warm", action="store_true", help="cold runs only")
    ap.add_argument("--no-split", action="store_true", help="skip the runs that time kernel generation")
    ap.add_argument("--jobs", type=int, default=0, help="check --jobs N (default 0: one per CPU)")
    ap.add_argument("--examples", type=int, default=None, help="pass --examples N to check")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = ap.parse_args(argv)
    extra = ["--examples", str(args.examples)] if args.examples is not None else []
    names = [] if args.all_only else (args.names or symact.names())
    # the kernels are timed in one process: --jobs 1 for those runs (a symact without --jobs: as it is)
    jobs = (lambda n: ["--jobs", str(n)] if n else []) if _has_jobs() else (lambda n: [])
    rows = {}
    for name in names:
        rows[name] = measure(["check", name] + jobs(args.jobs) + extra, args.repeat, not args.no_warm,
                             not args.no_split, split_argv=["check", name] + jobs(1) + extra)
        print(f"  {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in rows[name].items()
                                         if isinstance(v, float)), file=sys.stderr, flush=True)
    all_row = None
    if args.all_only or args.all or not (args.names or args.no_all):
        first_name = symact.names()[0]
        all_row = measure(["check", "--all"] + jobs(args.jobs) + extra, args.repeat, not args.no_warm,
                          not args.no_split, first_marker=f"{first_name}:",
                          split_argv=["check", "--all"] + jobs(1) + extra)
        if not _has_jobs():
            args.jobs = "n/a"
    import platform

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at the end; median of {args.repeat} run(s) each\n")
    print(table(rows, all_row, args.jobs or "auto"))
    if args.json:
        _write(args.json, json.dumps({"names": rows, "all": all_row, "repeat": args.repeat,
                                      "jobs": args.jobs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
