"""``symact build-cache --seed [NAME ...] [--check] [--dir DIR]``: the packaged cache seed.

Runs ``symact check NAME`` (declared parameters, default options) for catalog
activations (default: all of them), each in a fresh process on an empty
temporary cache with the seed off, and copies the symbolic entries it wrote
(derivative, limits, facts, verdicts: symact.cache.SEED_KINDS) into the read-only
seed symact/_seed/ that symact.cache reads behind the user's cache, printing each
name as it goes; with every name, files no run wrote are removed. ``--check``
writes nothing: it regenerates in a temporary directory and exits 1 naming each
file that is missing, stale or extra. The entries are keyed by the code hash, so
any edit to a keyed module makes them stale: regenerate and commit.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from symact import fsio
from symact.cli import EXIT_FAILED, EXIT_OK, UsageError
from symact.errors import WriteError
from symact.model import catalog

COMMAND = "symact build-cache --seed"
_ENTRY = re.compile(r"([a-z0-9][a-z0-9-]{0,63})-[0-9a-f]{64}\.entry")


def add_parser(sub):
    p = sub.add_parser("build-cache", help="write or check the packaged cache seed of catalog activations",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("names", nargs="*", metavar="NAME", help="catalog names or aliases (default: all)")
    p.add_argument("--seed", action="store_true", help="the seed of symbolic entries (the only target)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a file is missing, stale or extra")
    p.add_argument("--dir", metavar="DIR", help="the seed directory (default: the installed package's)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="names generated at once (default 2)")
    return p


def _seed_kind(filename: str) -> bool:
    from symact import cache

    m = _ENTRY.fullmatch(filename)
    return m is not None and m.group(1) in cache.SEED_KINDS


def generate(name: str) -> dict[str, bytes]:
    """The seed entries a cold ``symact check NAME`` writes: {file name: bytes}.

    A fresh process (no in-memory caches, SymPy's dummy counter from zero), hash
    seed 0, one job, the seed off: the bytes do not depend on the caller."""
    with tempfile.TemporaryDirectory(prefix="symact-seed-") as tmp:
        env = dict(os.environ, SYMACT_CACHE_DIR=str(Path(tmp) / "cache"), SYMACT_CACHE_SEED="off",
                   PYTHONHASHSEED="0")
        proc = subprocess.run([sys.executable, "-m", "symact", "check", name, "--jobs", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode not in (0, 1):   # 1: a test failed, the entries are still right
            raise UsageError(f"symact build-cache: `symact check {name}` failed: "
                             f"{proc.stderr.strip()[-500:]}")
        folder = Path(tmp) / "cache"
        if not folder.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if _seed_kind(p.name)}


def generate_all(names: list[str], jobs: int, out=None) -> dict[str, bytes]:
    """The union of :func:`generate` over ``names`` (the same file from two names must agree)."""
    merged: dict[str, bytes] = {}
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for name, files in zip(names, pool.map(generate, names)):
            for fname, data in files.items():
                if merged.setdefault(fname, data) != data:
                    raise UsageError(f"symact build-cache: {fname} differs between two runs (not deterministic)")
            if out is not None:
                print(f"{name}: {len(files)} entries", file=out, flush=True)
    return dict(sorted(merged.items()))


def current(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if _seed_kind(p.name)}


def write(files: dict[str, bytes], directory: Path, remove_others: bool) -> tuple[int, int]:
    """Each file written atomically (:func:`symact.fsio.write_file`: a temporary
    file beside it, renamed; a symbolic link there is refused, never written
    through); with ``remove_others``, seed files not in ``files`` removed.
    (written, removed). A failed write: :class:`~symact.errors.WriteError`."""
    fsio.ensure_folder(directory)
    old = current(directory)
    written = removed = 0
    for fname, data in files.items():
        if old.get(fname) == data:
            continue
        fsio.write_file(directory / fname, data, mode=0o644, force_flag=None)
        written += 1
    if remove_others:
        for fname in old:
            if fname not in files:
                (directory / fname).unlink()
                removed += 1
    return written, removed


def run(args, out) -> int:
    from symact import cache

    if not args.seed:
        raise UsageError("symact build-cache: say what to build: --seed")
    if args.jobs < 1:
        raise UsageError("--jobs must be >= 1")
    every = not args.names
    names = catalog.names() if every else list(dict.fromkeys(catalog.canonical(n) for n in args.names))
    directory = Path(args.dir) if args.dir else cache.SEED
    if args.check and args.dir and not directory.is_dir():
        raise UsageError(f"symact build-cache: --dir {args.dir}: no such directory")
    fresh = generate_all(names, args.jobs, out)
    if args.check:
        have = current(directory)
        problems = []
        for fname, data in fresh.items():
            if fname not in have:
                problems.append(f"MISSING {directory / fname}")
            elif have[fname] != data:
                problems.append(f"STALE {directory / fname}")
        if every:
            problems += [f"EXTRA {directory / f}" for f in have if f not in fresh]
        for line in problems:
            print(f"{line}; run `{COMMAND}`", file=out)
        print(f"{len(fresh)} seed entries of {len(names)} name(s) checked in {directory}: "
              + ("all current" if not problems else f"{len(problems)} problem(s)"), file=out)
        return EXIT_FAILED if problems else EXIT_OK
    try:
        written, removed = write(fresh, directory, remove_others=every)
    except OSError as exc:   # removing a file no run wrote (writes raise WriteError)
        where = exc.filename if isinstance(exc.filename, str) else directory
        raise WriteError(f"symact build-cache: cannot write {where}: {exc.strerror or exc}; "
                         "give --dir DIR") from None
    size = sum(len(d) for d in fresh.values())
    print(f"{len(fresh)} seed entries ({size / 1e6:.2f} MB) in {directory}: {written} written, "
          f"{removed} removed", file=out)
    return EXIT_OK
