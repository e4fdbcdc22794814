"""symact installs every way: from a built wheel, with ``pip install .`` and ``pip install -e .``.

Each way installs into its own fresh virtual environment (``--system-site-packages``, so the
runtime dependencies come from the running interpreter and nothing is downloaded; ``--no-deps``,
``--no-build-isolation``), from a copy of the checkout in a temporary folder, so building leaves no
``build/`` or ``*.egg-info`` in the tree. Then, from a folder outside the checkout, the ``symact``
console script and ``python -m symact`` must work, and ``symact`` must be imported from the
installation (or, for ``-e``, from the copy), never from the checkout.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP = [sys.executable, "-m", "pip"]
QUIET = ["--quiet", "--disable-pip-version-check", "--no-cache-dir", "--no-input"]
#: the package data that must travel with the code
GRAMMARS = ("symact/parse/_grammar/expr.lark", "symact/parse/_grammar/latex.lark")

pytestmark = pytest.mark.skipif(
    subprocess.run(PIP + ["--version"], capture_output=True).returncode != 0, reason="pip is not available")


def _run(cmd, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, **kw)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _copy_tree(dst: Path) -> None:
    """The checkout's files (tracked, and untracked but not ignored) as they are now, into ``dst``."""
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "build", "dist", "*.egg-info", ".hypothesis", ".pytest_cache", ".venv"))
        return
    for rel in listed.decode().split("\0"):
        src = ROOT / rel
        if rel and src.is_file():              # skip entries deleted from the working tree
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    dst = tmp_path_factory.mktemp("source") / "symact-src"
    _copy_tree(dst)
    return dst


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory):
    debris = ("build", "dist", "symact.egg-info")
    before = {d for d in debris if (ROOT / d).exists()}
    out = tmp_path_factory.mktemp("wheel")
    _run(PIP + ["wheel", *QUIET, "--no-deps", "--no-build-isolation", "-w", out, "."], cwd=source)
    assert {d for d in debris if (ROOT / d).exists()} <= before, "building wrote into the checkout"
    (whl,) = out.glob("symact-*.whl")
    return whl


def test_wheel_holds_every_module_grammar_and_the_script(wheel, source):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(source).as_posix() for p in (source / "symact").rglob("*.py")}
    assert modules - names == set(), "modules missing from the wheel"
    assert set(GRAMMARS) <= names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "symact = symact.cli:entrypoint" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.parametrize("how", ["wheel", "pip install .", "pip install -e ."])
def test_installed_symact_runs_outside_the_checkout(how, wheel, source, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    target = {"wheel": [wheel], "pip install .": [source], "pip install -e .": ["-e", source]}[how]
    # pip from this interpreter, installing into the venv (a venv --without-pip is created in 1 s)
    _run(PIP + ["--python", python, "install", *QUIET, "--no-deps", "--no-build-isolation", *target],
         cwd=source)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([python, "-c", "import symact, symact.parse._grammar as g; g.load('expr'); g.load('latex');"
                  " print(symact.__file__)"], cwd=elsewhere).strip()
    home = source if how == "pip install -e ." else venv
    assert Path(where).resolve().is_relative_to(home.resolve()), f"symact imported from {where}"
    assert not Path(where).resolve().is_relative_to(ROOT)

    listing = _run([venv / "bin" / "symact", "list"], cwd=elsewhere)
    assert "sigmoid" in listing and "relu" in listing
    check = _run([python, "-m", "symact", "check", "sigmoid"], cwd=elsewhere)
    assert check.rstrip().endswith("ok: yes") and "FAIL" not in check


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Set up on a fresh machine"):]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
    command = next(b for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci, f".ci/run does not run the README's test command: {command}"
    peers = next(b for b in blocks if "torch==" in b)
    peers = re.findall(r'"([^"]+)"', peers)
    assert all(f'"{p}"' in "\n".join(ci) for p in peers), "README and .ci/run install different peers"
