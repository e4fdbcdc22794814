"""Test-session set-up: nothing the suite does writes into the checkout or the user's home.

At import, before any test module imports symact, every cache goes to one per-run temporary
directory, exported through ``os.environ`` so the child processes the tests start inherit it:

- ``SYMACT_CACHE_DIR``: symact's disk cache (SymPy work, oracle values), cold on every run;
- ``HYPOTHESIS_STORAGE_DIRECTORY``: Hypothesis's own files (its constants and Unicode caches would
  otherwise appear as ``.hypothesis/`` in the working directory); no example database at all;
- ``MPLCONFIGDIR`` and ``XDG_CACHE_HOME``: matplotlib's font cache, pip's and other libraries'.

The directory is removed when the session ends. At the end the session also compares the
checkout's ``git status`` (untracked and ignored files included) with the one taken at its start;
anything new is listed, and under CI (``CI`` set, a fresh clone nobody else writes into) it fails
the run. Elsewhere, where people may be editing the tree while the tests run, it is a warning.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import configuration, settings

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(tempfile.mkdtemp(prefix="symact-tests-"))

os.environ["SYMACT_CACHE_DIR"] = str(RUN_DIR / "symact-cache")
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(RUN_DIR / "hypothesis")
os.environ["MPLCONFIGDIR"] = str(RUN_DIR / "matplotlib")
os.environ["XDG_CACHE_HOME"] = str(RUN_DIR / "xdg-cache")
configuration.set_hypothesis_home_dir(RUN_DIR / "hypothesis")

# CI: deterministic Hypothesis runs; neither profile keeps an example database
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", database=None, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

#: what a test run must never leave in the checkout; empty folders are invisible to git status
_DEBRIS = (".hypothesis", ".benchmarks", ".pytest_cache", "build", "dist", "symact.egg-info")


def _tree_state() -> tuple[set[str], set[str]] | None:
    """``git status`` entries of the checkout (``__pycache__`` aside) and which debris exists."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain=v1", "-z", "--untracked-files=all",
             "--ignored=matching"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None                            # not a git checkout (an unpacked sdist): nothing to compare
    entries = {e for e in out.split("\0") if e and "__pycache__" not in e}
    return entries, {d for d in _DEBRIS if (ROOT / d).exists()}


_START: tuple[set[str], set[str]] | None = None
_NEW: list[str] = []


def pytest_sessionstart(session):
    global _START
    _START = _tree_state()


def pytest_sessionfinish(session, exitstatus):
    end = _tree_state() if _START is not None else None
    if end is not None:
        _NEW[:] = sorted((end[0] - _START[0]) | {d + " (exists now)" for d in end[1] - _START[1]})
    if _NEW and os.environ.get("CI"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _NEW:
        verdict = "FAILED" if os.environ.get("CI") else "warning"
        terminalreporter.section(f"{verdict}: the checkout changed during the test run", red=True)
        for entry in _NEW:
            terminalreporter.write_line(f"  {entry}")


def pytest_unconfigure(config):
    shutil.rmtree(RUN_DIR, ignore_errors=True)
