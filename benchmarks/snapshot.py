"""A digest of symact's observable behaviour, to show a refactor changed nothing.

Writes one JSON object (to stdout, or ``--out FILE``) with SHA-256 digests of:

- ``check``: ``symact check --all --json`` (seed 0);
- ``prove``: every certificate ``symact prove --all`` writes;
- ``codegen``: every catalog activation's code for every target and dtype;
- ``kernels``: the bits of every kernel and derivative kernel on the bench input
  (``symact.reports.bench.bench_input``; 10^6 elements, float64 and float32).

Run it on two commits and compare: ``python benchmarks/snapshot.py --out a.json``,
then ``python benchmarks/snapshot.py --compare a.json`` on the other commit.
It uses only the CLI and the public API, so it runs on either side of a move.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import _atomic  # benchmarks/_atomic.py, beside this script

import numpy as np


def _sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _cli(argv):
    from symact.cli import main
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue()


def _kernel(act, derivative):
    try:
        from symact.numeric.kernels import kernel_for
    except ImportError:  # the flat layout before the house move
        from symact.numeric.kernels import kernel_for
    return kernel_for(act, derivative=derivative)


def _bench_input(size, dtype):
    try:
        from symact.reports.bench import bench_input
    except ImportError:
        from symact.reports.bench import bench_input
    return bench_input(size, dtype)


def _targets():
    try:
        from symact.codegen import DTYPES, TARGETS, generate
    except ImportError:
        raise
    return TARGETS, DTYPES, generate


def snapshot(parts, size=10**6) -> dict:
    import symact
    result = {}
    if "check" in parts:
        code, text = _cli(["check", "--all", "--json", "--seed", "0"])
        result["check"] = {"exit": code, "sha": _sha(text)}
    if "prove" in parts:
        with tempfile.TemporaryDirectory() as d:
            code, _ = _cli(["prove", "--all", "--out", d])
            result["prove"] = {"exit": code, **{p.name: _sha(p.read_bytes()) for p in sorted(Path(d).glob("*.md"))}}
    if "codegen" in parts:
        TARGETS, DTYPES, generate = _targets()
        cg = {}
        for name in symact.names():
            act = symact.get(name)
            for target in TARGETS:
                for dtype in DTYPES:
                    try:
                        cg[f"{name}/{target}/{dtype}"] = _sha(generate(act, target, dtype).source)
                    except Exception as exc:  # a refused combination is part of the behaviour
                        cg[f"{name}/{target}/{dtype}"] = f"error: {type(exc).__name__}: {exc}"
        result["codegen"] = cg
    if "kernels" in parts:
        ks = {}
        for dtype in ("float64", "float32"):
            x = _bench_input(size, dtype)
            for name in symact.names():
                act = symact.get(name)
                if act.vector:
                    xin = x[: size - size % 100].reshape(-1, 100)
                else:
                    xin = x
                for derivative in (False, True):
                    if act.vector and derivative:
                        xin = xin[:1000]
                    y = _kernel(act, derivative)(xin)
                    ks[f"{name}{chr(39) if derivative else ''}/{dtype}"] = _sha(np.ascontiguousarray(y).tobytes())
        result["kernels"] = ks
    return result


_write = _atomic.write


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="write the snapshot here (default stdout)")
    p.add_argument("--compare", metavar="FILE", help="compare with a snapshot; exit 1 listing differences")
    p.add_argument("--parts", default="check,prove,codegen,kernels")
    args = p.parse_args(argv)
    snap = snapshot(args.parts.split(","))
    if args.out:
        _write(args.out, json.dumps(snap, indent=1, sort_keys=True))
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        diffs = []
        for part, vals in snap.items():
            before = old.get(part, {})
            for key in sorted(set(vals) | set(before)):
                if vals.get(key) != before.get(key):
                    diffs.append(f"{part} {key}: {before.get(key)} -> {vals.get(key)}")
        print("\n".join(diffs) if diffs else "identical")
        return 1 if diffs else 0
    if not args.out:
        json.dump(snap, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
