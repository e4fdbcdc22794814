"""Concurrent runs, one of them killed with ``kill -9`` (issue 13, item 8).

Two ``symact`` processes share one fresh cache (and one output folder); one is
SIGKILLed mid-run. The survivor must give exactly a clean run's output, a later
run over the same cache must too (a half-written entry is never trusted), and no
partial certificate may exist: entries and certificates are written to a
temporary file beside them and renamed into place (symact.fsio), so a kill
leaves at most a temporary file, named so it can be found.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from symact import fsio

ROOT = Path(__file__).resolve().parent.parent
NAME = "relu"        # cheap: about 2 s cold


def _env(cache: Path) -> dict:
    # the seed off: every entry is computed and written, so the kill lands among the writes
    return dict(os.environ, SYMACT_CACHE_DIR=str(cache), SYMACT_CACHE_SEED="off", PYTHONHASHSEED="0")


def _start(argv, cache):
    return subprocess.Popen([sys.executable, "-m", "symact", *argv], cwd=ROOT, env=_env(cache),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(argv, cache):
    proc = subprocess.run([sys.executable, "-m", "symact", *argv], cwd=ROOT, env=_env(cache),
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.entry")) if cache.is_dir() else []


def _kill_when_writing(victim, cache: Path, deadline_s: float = 10.0) -> None:
    """SIGKILL ``victim`` once the shared cache holds an entry (or after ``deadline_s``)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and victim.poll() is None and not _entries(cache):
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)


def _finish(proc):
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "internal error" not in err, err
    return proc.returncode, out


def _tear(cache: Path) -> None:
    """Cut the largest entry in half, as a write torn by a crash on a file system
    without atomic renames would leave it."""
    entries = _entries(cache)
    if entries:
        big = max(entries, key=lambda p: p.stat().st_size)
        data = big.read_bytes()
        big.write_bytes(data[: len(data) // 2])


def test_check_survives_a_sibling_killed_mid_run(tmp_path):
    shared = tmp_path / "shared-cache"
    clean = _start(["check", NAME], tmp_path / "clean-cache")          # its own cache, alongside
    victim, survivor = _start(["check", NAME], shared), _start(["check", NAME], shared)
    _kill_when_writing(victim, shared)
    assert victim.returncode == -signal.SIGKILL     # it was still running: the kill landed mid-run
    clean_code, want = _finish(clean)
    assert clean_code == 0 and f"{NAME}:" in want
    code, out = _finish(survivor)
    assert code == 0 and out == want
    for tmp in fsio.temp_files(shared):             # a kill may leave a temporary file; it is never read
        assert tmp.name.startswith(".") and tmp.name.endswith(fsio.TEMP_SUFFIX)
    _tear(shared)                                   # and a torn entry besides: verified, not trusted
    later = _run(["check", NAME], shared)
    assert later.returncode == 0 and later.stdout == want


def test_prove_survives_a_sibling_killed_mid_run(tmp_path):
    shared, out_dir, clean_dir = tmp_path / "shared-cache", tmp_path / "proofs", tmp_path / "clean"
    clean = _start(["prove", NAME, "--out", str(clean_dir)], tmp_path / "clean-cache")
    victim = _start(["prove", NAME, "--out", str(out_dir)], shared)
    survivor = _start(["prove", NAME, "--out", str(out_dir)], shared)
    _kill_when_writing(victim, shared)
    assert victim.returncode == -signal.SIGKILL
    assert _finish(clean)[0] == 0
    want = (clean_dir / f"{NAME}.md").read_bytes()
    code, out = _finish(survivor)
    assert code == 0 and out == f"wrote {out_dir / (NAME + '.md')}\n"
    # no partial certificate: the one file is whole, anything else is a named temporary file
    assert sorted(p.name for p in out_dir.iterdir() if not p.name.startswith(".")) == [f"{NAME}.md"]
    assert (out_dir / f"{NAME}.md").read_bytes() == want
    assert {p.name for p in out_dir.iterdir() if p.name.startswith(".")} == {p.name for p in fsio.temp_files(out_dir)}
