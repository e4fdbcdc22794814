"""Safe writes (issue 13, item 5): every file symact writes goes through symact.fsio.

A temporary file beside the target, renamed into place: a failed write (a full
disk, a file-size limit) leaves the old file byte-identical and no litter; a
symbolic link at the target is never written through (``--force`` replaces the
link itself); a missing folder, a folder, a FIFO or a device that cannot take the
bytes is exit 2 naming the path and the reason -- never a traceback.
"""
from __future__ import annotations

import io
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from symact import fsio
from symact.cli import main
from symact.errors import WriteError

ROOT = Path(__file__).resolve().parent.parent


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    err_text = err.getvalue()
    assert "Traceback" not in err_text and "internal error" not in err_text, err_text
    return code, out.getvalue(), err_text


def no_litter(folder) -> None:
    assert fsio.temp_files(folder) == [], os.listdir(folder)


# --------------------------------------------------------------------------- codegen -o
def test_codegen_into_a_missing_folder(tmp_path):
    target = tmp_path / "no" / "such" / "relu.py"
    code, out, err = run_cli(["codegen", "relu", "-o", str(target)])
    assert code == 2 and err.count("\n") == 1
    assert str(target) in err and f"no folder {tmp_path / 'no' / 'such'}" in err
    assert not (tmp_path / "no").exists()           # not created silently


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_codegen_onto_dev_full():
    code, _, err = run_cli(["codegen", "relu", "-o", "/dev/full"])
    assert code == 2 and "/dev/full" in err and "No space left on device" in err


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_codegen_onto_dev_null_is_written_in_place():
    code, out, err = run_cli(["codegen", "relu", "-o", "/dev/null"])
    assert code == 0 and out == "" and err == ""
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)   # still the device, not a file renamed over it


def test_codegen_onto_a_dangling_symlink(tmp_path):
    target = tmp_path / "elsewhere.py"
    link = tmp_path / "out.py"
    link.symlink_to(target)
    code, _, err = run_cli(["codegen", "relu", "-o", str(link)])
    assert code == 2 and str(link) in err and "symbolic link" in err and "--force" in err
    assert not target.exists() and link.is_symlink()
    # --force: the link itself becomes a regular file; its target is never created
    code, out, err = run_cli(["codegen", "relu", "-o", str(link), "--force"])
    assert code == 0 and out == ""
    assert "replaced the link itself" in err and f"{target} was not written" in err and err.count("\n") == 1
    assert not link.is_symlink() and link.is_file() and "def relu(x)" in link.read_text()
    assert not target.exists()
    no_litter(tmp_path)


def test_codegen_onto_a_symlink_to_an_existing_file(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    link = tmp_path / "out.py"
    link.symlink_to(target)
    code, _, err = run_cli(["codegen", "relu", "-o", str(link)])
    assert code == 2 and "symbolic link" in err and target.read_text() == "precious\n" and link.is_symlink()
    code, _, err = run_cli(["codegen", "relu", "-o", str(link), "--force"])
    assert code == 0 and "replaced the link itself" in err
    assert target.read_text() == "precious\n"         # not written through
    assert not link.is_symlink() and "def relu(x)" in link.read_text()


def test_codegen_onto_a_folder_and_a_fifo(tmp_path):
    for force in ([], ["--force"]):
        code, _, err = run_cli(["codegen", "relu", "-o", str(tmp_path), *force])
        assert code == 2 and str(tmp_path) in err and "folder" in err
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = run_cli(["codegen", "relu", "-o", str(fifo), "--force"])   # would block: refused
    assert code == 2 and "FIFO" in err and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    (tmp_path / "f.py").write_text("")
    code, _, err = run_cli(["codegen", "relu", "-o", str(tmp_path / "f.py" / "x.py")])
    assert code == 2 and "not a folder" in err


def test_codegen_replace_keeps_the_mode_and_is_atomic(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("old\n")
    path.chmod(0o640)
    code, _, err = run_cli(["codegen", "relu", "-o", str(path)])
    assert code == 2 and "exists" in err and path.read_text() == "old\n"
    code, _, _ = run_cli(["codegen", "relu", "-o", str(path), "--force"])
    assert code == 0 and "def relu(x)" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    no_litter(tmp_path)


# --------------------------------------------------------------------------- prove --out
def test_prove_out_onto_a_regular_file(tmp_path):
    f = tmp_path / "proofs"
    f.write_text("not a folder\n")
    code, out, err = run_cli(["prove", "relu", "--out", str(f)])
    assert code == 2 and str(f) in err and "not a folder" in err and out == ""
    assert f.read_text() == "not a folder\n"


def test_prove_out_with_a_symlinked_certificate(tmp_path):
    d = tmp_path / "proofs"
    d.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    (d / "relu.md").symlink_to(secret)
    code, out, err = run_cli(["prove", "relu", "--out", str(d)])
    assert code == 2 and str(d / "relu.md") in err and "symbolic link" in err and out == ""
    assert secret.read_text() == "secret\n" and (d / "relu.md").is_symlink()
    code, out, err = run_cli(["prove", "relu", "--out", str(d), "--force"])
    assert code == 0 and "replaced the link itself" in err and f"wrote {d / 'relu.md'}" in out
    assert secret.read_text() == "secret\n" and not (d / "relu.md").is_symlink()
    assert (d / "relu.md").read_text().startswith("# ")
    no_litter(d)


_FSIZE = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
from symact.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_does_not_truncate_a_certificate(tmp_path):
    d = tmp_path / "proofs"
    d.mkdir()
    good = ("# relu: a good certificate from an earlier run\n" + "claim | proved\n" * 300).encode()
    (d / "relu.md").write_bytes(good)
    (d / "relu.md").chmod(0o644)
    before = os.stat(d / "relu.md")
    proc = subprocess.run([sys.executable, "-c", _FSIZE, "prove", "relu", "--out", str(d)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert str(d / "relu.md") in proc.stderr and "File too large" in proc.stderr
    assert (d / "relu.md").read_bytes() == good                      # byte-identical
    assert os.stat(d / "relu.md").st_ino == before.st_ino            # the very same file
    assert sorted(os.listdir(d)) == ["relu.md"]                      # no temporary file left


def test_codegen_under_a_file_size_limit(tmp_path):
    target = tmp_path / "big.c"
    target.write_text("old\n")

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = subprocess.run([sys.executable, "-m", "symact", "codegen", "relu", "--target", "c",
                           "-o", str(target), "--force"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, preexec_fn=limit)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert str(target) in proc.stderr and "File too large" in proc.stderr
    assert target.read_text() == "old\n" and sorted(os.listdir(tmp_path)) == ["big.c"]


# --------------------------------------------------------------------------- plot
def test_plot_refuses_a_symlink_and_a_missing_folder(tmp_path):
    target = tmp_path / "kept.png"
    target.write_bytes(b"kept")
    link = tmp_path / "relu.png"
    link.symlink_to(target)
    code, _, err = run_cli(["plot", "relu", "-o", str(link)])
    assert code == 2 and "symbolic link" in err and target.read_bytes() == b"kept"
    code, _, err = run_cli(["plot", "relu", "-o", str(tmp_path / "none" / "r.png")])
    assert code == 2 and "no folder" in err


def test_plot_force_replaces_the_link(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (symact[plot]) is not installed")
    target = tmp_path / "kept.svg"
    target.write_bytes(b"kept")
    link = tmp_path / "relu.svg"
    link.symlink_to(target)
    code, out, err = run_cli(["plot", "relu", "-o", str(link), "--force"])
    assert code == 0 and "replaced the link itself" in err and target.read_bytes() == b"kept"
    assert not link.is_symlink() and link.read_bytes().lstrip().startswith(b"<?xml")
    no_litter(tmp_path)


# --------------------------------------------------------------------------- build-cache / build-kernels
def test_build_dirs_that_are_files(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    from symact.cli import build_cache

    with pytest.raises(WriteError, match="not a folder"):
        build_cache.write({"derivative-" + "0" * 64 + ".entry": b"x"}, f, remove_others=False)
    code, _, err = run_cli(["build-kernels", "relu", "--dir", str(f)])
    assert code == 2 and str(f) in err and "not a folder" in err


def test_build_cache_write_is_atomic_and_refuses_links(tmp_path):
    from symact.cli import build_cache

    name = "derivative-" + "0" * 64 + ".entry"
    assert build_cache.write({name: b"one"}, tmp_path, remove_others=False) == (1, 0)
    assert (tmp_path / name).read_bytes() == b"one" and stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    other = tmp_path / "other"
    other.write_bytes(b"other")
    (tmp_path / name).unlink()
    (tmp_path / name).symlink_to(other)
    with pytest.raises(WriteError, match="symbolic link"):
        build_cache.write({name: b"two"}, tmp_path, remove_others=False)
    assert other.read_bytes() == b"other"
    no_litter(tmp_path)


# --------------------------------------------------------------------------- the library
def test_write_file_modes(tmp_path):
    new = tmp_path / "new"
    old_mask = os.umask(0o027)
    try:
        assert fsio.write_file(new, "x") is None
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640               # 0666 less the umask, as open() gives
    fsio.write_file(new, "y", mode=0o600)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600 and new.read_text() == "y"
    with pytest.raises(WriteError, match="exists"):
        fsio.write_file(new, "z", replace=False)
    with pytest.raises(WriteError, match="empty name"):
        fsio.write_file("", "z")


def test_write_file_failure_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    path.write_text("old")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(WriteError, match="No space left on device") as info:
        fsio.write_file(path, "new" * 1000)
    assert str(path) in str(info.value)
    monkeypatch.undo()
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["f.txt"]

    def interrupted(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsio.write_file(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["f.txt"]


def test_the_cache_replaces_a_planted_link_without_following_it(tmp_path, monkeypatch):
    from symact import cache

    folder = tmp_path / "c"
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    cache.store("unit", ("writes",), 5)                    # creates the private folder
    path = cache.entry_path("unit", ("writes",))
    victim = tmp_path / "victim"
    victim.write_text("victim")
    path.unlink()
    path.symlink_to(victim)
    cache.store("unit", ("writes",), 6)
    assert victim.read_text() == "victim" and not path.is_symlink()
    assert cache.load("unit", ("writes",)) == 6 and stat.S_IMODE(path.stat().st_mode) == 0o600
    no_litter(folder)
