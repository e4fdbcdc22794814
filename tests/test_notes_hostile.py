"""`symact notes` on hostile notes: every attack is contained, reported, and symact survives.

The attacks are the ones measured on the unconfined version (issue 13): writing anywhere (and a
256 MB file), reading the parent's environment through /proc and files in the home directory,
connecting to 127.0.0.1, leaving processes behind, killing symact, flooding stderr, planting a
pickle in the cache, endless loops, os._exit, and replaying every block of a long note. Each
runs through the real command line (`python -m symact notes`) in a subprocess with a timeout;
symact must exit 1 (error findings) or 2 (a note it refuses), never with a traceback, and
nothing may leak out. These tests need the confinement (Landlock and user namespaces); where the
platform lacks it they are skipped with the reason, except those for notes symact refuses to
read and for the --trust switch.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from symact.notes import review as notes, sandbox

HERE = Path(__file__).parent / "notes" / "hostile"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def confinement():
    with sandbox.NoteRunner() as runner:
        try:
            return runner.start()
        except sandbox.Unavailable as exc:
            print(f"skipping: the note's code cannot be confined here: {exc}")
            pytest.skip(f"the note's code cannot be confined here: {exc}")


def symact_notes(*argv, env=None, timeout=120):
    """Run `python -m symact notes ARGV` as a user would: (exit code, stdout, stderr, its peak RSS in bytes)."""
    proc = subprocess.Popen([sys.executable, "-m", "symact", "notes", *map(str, argv)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or dict(os.environ))
    got = {}
    readers = [threading.Thread(target=lambda k, f: got.__setitem__(k, f.read()), args=(k, f))
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    # its peak RSS: VmHWM of its own image, read until it exits (wait4's ru_maxrss would start
    # from the forking test process's peak, which the whole suite makes large)
    peak = [0]
    watcher = threading.Thread(target=_watch_peak_rss, args=(proc.pid, peak))
    watcher.start()
    _, status, _ = os.wait4(proc.pid, 0)
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    expired = not timer.is_alive()
    timer.cancel()
    for r in readers:
        r.join()
    assert not expired, f"symact notes {argv} did not finish within {timeout} s"
    text_err = got["err"].decode("utf-8", "replace")
    assert "Traceback" not in text_err, text_err
    return proc.returncode, got["out"].decode("utf-8", "replace"), text_err, peak[0]


def _watch_peak_rss(pid: int, peak: list) -> None:
    """Keep in peak[0] the largest VmHWM (bytes) of process ``pid`` seen until it exits."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        if "\nState:\tZ" in text:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak[0] = max(peak[0], int(line.split()[1]) * 1024)
        time.sleep(0.05)


def by_section(data):
    out = {}
    for f in data["findings"]:
        out.setdefault(f["section"], []).append(f)
    return out


def processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def attacked(confinement, tmp_path_factory):
    """The attack note, reviewed once by `symact notes --json`; the traps it was set."""
    tmp = tmp_path_factory.mktemp("attacks")
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    cache = tmp / "cache"
    cache.mkdir()
    secret = f"secret-{uuid.uuid4().hex}"
    marker = str(900000 + os.getpid() % 99999)
    env = dict(os.environ, HOME=str(home), SYMACT_CACHE_DIR=str(cache), SYMACT_TEST_SECRET=secret)
    victim = subprocess.Popen(["sleep", "600"], env=env)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    note = tmp / "attacks.md"
    text = (HERE / "attacks.md").read_text(encoding="utf-8")
    for key, value in dict(outside=tmp / "outside.txt", home_secret=home / ".ssh" / "id_rsa", victim=victim.pid,
                           secret=secret, port=server.getsockname()[1], cache=cache, marker=marker).items():
        text = text.replace("{{%s}}" % key, str(value))
    assert "{{" not in text
    note.write_text(text, encoding="utf-8")
    try:
        start = time.monotonic()
        code, out, err, _ = symact_notes(note, "--json", env=env)
        elapsed = time.monotonic() - start
        try:
            conn, _ = server.accept()
            conn.close()
            connected = True
        except OSError:
            connected = False
        yield {"code": code, "out": out, "err": err, "data": json.loads(out), "tmp": tmp, "cache": cache,
               "secret": secret, "marker": marker, "victim": victim, "connected": connected,
               "elapsed": elapsed}
    finally:
        server.close()
        victim.kill()
        victim.wait()


def errors_in(attacked, section):
    found = by_section(attacked["data"]).get(section, [])
    assert found and all(f["verdict"] == "error" for f in found), found
    return " ".join(f["message"] for f in found)


def test_symact_survives_and_reports_confinement(attacked):
    assert attacked["code"] == 1 and attacked["err"] == ""
    assert attacked["data"]["execution"]["mode"] == "confined"
    assert attacked["data"]["execution"]["detail"].startswith("code ran confined: Landlock ABI")
    still = by_section(attacked["data"])["Still reviewed"]
    assert [(f["code"], f["activation"], f["verdict"]) for f in still] == [("relu", "relu", "consistent")]
    assert attacked["elapsed"] < 60


def test_writes_outside_its_folder_are_denied(attacked):
    assert "PermissionError" in errors_in(attacked, "Write outside")
    assert not (attacked["tmp"] / "outside.txt").exists()


def test_home_directory_is_unreadable(attacked):
    assert "PermissionError" in errors_in(attacked, "Read a file in the home directory")
    # HOME is the sandbox's own folder: ~ does not lead to the user's home
    assert "FileNotFoundError" in errors_in(attacked, "Read the home directory by name")


def test_no_environment_of_other_processes(attacked):
    assert "PermissionError" in errors_in(attacked, "Read another process's environment")
    # in its PID namespace the note's parent is pid 0: there is no /proc/0 (and /proc is denied)
    parents = errors_in(attacked, "Read the parent's environment")
    assert "PermissionError" in parents or "FileNotFoundError" in parents
    own = by_section(attacked["data"])["Own environment"]
    assert [(f["code"], f["verdict"]) for f in own] == [("leak", "consistent")]  # no secret in its env
    assert attacked["secret"] not in attacked["out"]


def test_no_network(attacked):
    message = errors_in(attacked, "Network")
    assert "PermissionError" in message or "Network is unreachable" in message
    assert not attacked["connected"]


def test_cache_is_out_of_reach(attacked):
    assert "PermissionError" in errors_in(attacked, "Plant a pickle in the cache")
    assert list(attacked["cache"].iterdir()) == []


def test_file_size_and_disk_are_bounded(attacked):
    assert "File too large" in errors_in(attacked, "A big file")
    assert "No space left on device" in errors_in(attacked, "Fill the disk")


def test_processes_are_bounded_and_none_outlives_the_note(attacked):
    assert "Resource temporarily unavailable" in errors_in(attacked, "Sleepers")
    assert processes_with(f"sleep\0{attacked['marker']}") == []


def test_signals_reach_nothing_outside(attacked):
    assert "Kill the parent" not in by_section(attacked["data"])  # kill(0, ...): its own group only
    assert "ProcessLookupError" in errors_in(attacked, "Kill another process")
    assert attacked["victim"].poll() is None


def test_no_unix_sockets(confinement, tmp_path_factory):
    """A pathname socket is reached through the filesystem (not the network namespace): a
    world-writable one, such as a desktop's session bus, is refused by the socket filter."""
    folder = Path(tmp_path_factory.getbasetemp()).parent / f"symact-sock-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    name, abstract = folder / "bus", f"symact-test-{uuid.uuid4().hex}"
    servers = [socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)]
    try:
        servers[0].bind(str(name))
        name.chmod(0o777)
        servers[1].bind("\0" + abstract)
        for srv in servers:
            srv.listen(1)
            srv.settimeout(0.2)
        with sandbox.NoteRunner() as runner:
            runner.start()
            path = runner.run_block(f"import socket\nsocket.socket(socket.AF_UNIX).connect({str(name)!r})",
                                    [], [0.0], [])
            abst = runner.run_block(f"import socket\nsocket.socket(socket.AF_UNIX).connect('\\0{abstract}')",
                                    [], [0.0], [])
            pair = runner.run_block("import socket\na, b = socket.socketpair()\na.send(b'x')\n"
                                    "assert b.recv(1) == b'x'", [], [0.0], [])
        assert "PermissionError" in path.error and "PermissionError" in abst.error
        assert pair.error is None  # an unnamed pair inside the sandbox is harmless
        for srv in servers:
            with pytest.raises(OSError):
                srv.accept()
    finally:
        for srv in servers:
            srv.close()
        name.unlink(missing_ok=True)
        folder.rmdir()


def write_note(path: Path, *blocks: str, tail: bool = True) -> Path:
    body = "".join(f"## Block {i}\n\n```python\n{b}\n```\n\n" for i, b in enumerate(blocks, 1))
    if tail:
        body += "## Tail\n\n$$ f(x) = \\max(0, x) $$\n\n```python\ndef relu(x):\n    return np.maximum(x, 0)\n```\n"
    path.write_text(f"# Note\n\n{body}", encoding="utf-8")
    return path


def test_stderr_flood_is_drained_not_kept(confinement, tmp_path):
    note = write_note(tmp_path / "flood.md", "import os\nwhile True:\n    os.write(2, b'x' * 65536)")
    code, out, err, rss = symact_notes(note, "--json", "--time-budget", "3", timeout=60)
    data = by_section(json.loads(out))
    assert code == 1 and err == ""
    assert "did not finish within 3 s" in data["Block 1"][0]["message"]
    tail = [f for f in data["Tail"] if f["code"]]
    assert tail[0]["message"] == "not run: the note's code used up its time budget of 3 s"
    assert rss < 600 * 1024**2  # the unconfined version grew to 2 GB


def test_endless_loop_is_stopped(confinement, tmp_path):
    note = write_note(tmp_path / "loop.md", "while True:\n    pass",
                      "def hang(x):\n    while True:\n        pass", tail=False)
    start = time.monotonic()
    with sandbox.NoteRunner(step=2, budget=6) as runner:
        runner.start()
        top = runner.run_block("while True:\n    pass", [], [0.0], [])
        call = runner.run_block("def hang(x):\n    while True:\n        pass", ["hang"], [0.0], [])
        # a loop that swallows the stop and ignores SIGALRM: the parent kills it at the budget
        stubborn = runner.run_block("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                    "while True:\n    pass", [], [0.0], [])
    assert "did not finish within 2 s" in top.error
    assert "did not finish within 2 s" in call.calls["hang"].scalar_error
    assert "time budget of 6 s and was stopped" in stubborn.fatal
    assert time.monotonic() - start < 6 + 2 * sandbox.GRACE + 5
    code, out, _, _ = symact_notes(note, "--json", "--time-budget", "4", timeout=60)
    findings = json.loads(out)["findings"]
    assert code == 1 and all(f["verdict"] == "error" for f in findings)


def test_os_exit_is_a_crash_and_later_blocks_are_not_run(confinement, tmp_path):
    note = write_note(tmp_path / "exit.md", "import os\nos._exit(7)")
    code, out, err, _ = symact_notes(note, "--json", timeout=60)
    data = by_section(json.loads(out))
    assert code == 1 and err == ""
    assert data["Block 1"][0]["message"] == "the code crashed: exit status 7"
    tail = [f for f in data["Tail"] if f["code"]]
    assert tail[0]["verdict"] == "error"
    assert tail[0]["message"] == "not run: the code was stopped earlier (the code crashed: exit status 7)"


def test_forged_answers_are_refused(confinement):
    forge = ("import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'{\"calls\": 1, \"error\": [')\n"
             "        os.write(fd, b'garbage\\n')\n    except OSError:\n        pass\n")
    with sandbox.NoteRunner() as runner:
        runner.start()
        forged = runner.run_block(forge, [], [0.0], [])
    assert forged.fatal == "the code garbled the sandbox's answer"
    flood = ("import os\nfor fd in range(3, 64):\n    try:\n        while True:\n"
             "            os.write(fd, b'[' * 65536)\n    except OSError:\n        pass\n")
    with sandbox.NoteRunner(budget=20) as runner:
        runner.start()
        huge = runner.run_block(flood, [], [0.0], [])
    assert huge.fatal and ("over" in huge.fatal or "did not finish" in huge.fatal)


def test_twelve_blocks_run_once_within_one_budget(confinement, tmp_path):
    blocks = ["with open('runs.txt', 'a') as fh:\n    fh.write('x')"] * 11 + [
        "def runs(x):\n    return x * 0 + len(open('runs.txt').read())"]
    with sandbox.NoteRunner() as runner:
        runner.start()
        results = [runner.run_block(b, ["runs"] if "def" in b else [], [1.0], []) for b in blocks]
    assert [r.error for r in results] == [None] * 12
    assert results[-1].calls["runs"].scalar == [11.0]  # each block ran once: no replays
    slow = write_note(tmp_path / "slow.md", *["import time\ntime.sleep(2)"] * 12)
    start = time.monotonic()
    code, out, _, _ = symact_notes(slow, "--json", "--time-budget", "5", timeout=90)
    elapsed = time.monotonic() - start
    data = by_section(json.loads(out))
    assert code == 1 and elapsed < 5 + 20  # the unconfined version: 123 s for twelve blocks
    assert "Block 1" not in data and "Block 2" not in data  # ran, defined nothing, raised nothing
    assert "did not finish within" in data["Block 3"][0]["message"]  # stopped when the budget ran out
    not_run = [f for i in range(4, 13) for f in data[f"Block {i}"]] + [f for f in data["Tail"] if f["code"]]
    assert len(not_run) == 10 and all(
        f["message"] == "not run: the note's code used up its time budget of 5 s" for f in not_run)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "too-big", "socket"])
def test_notes_refuses_anything_but_a_small_regular_file(kind, tmp_path):
    if kind == "dev-zero":
        target, what = Path("/dev/zero"), "a device"
    elif kind == "fifo":
        target, what = tmp_path / "note.md", "a FIFO"
        os.mkfifo(target)
    elif kind == "directory":
        target, what = tmp_path, "a directory"
    elif kind == "socket":
        target, what = tmp_path / "s.md", "a socket"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    else:
        target, what = tmp_path / "big.md", "over 2 MiB"
        target.write_bytes(b"# x\n" * (notes.MAX_NOTE_BYTES // 4 + 1))
    start = time.monotonic()
    code, out, err, _ = symact_notes(target, timeout=30)
    assert code == 2 and out == "" and what in err and "cannot read the note" in err
    assert time.monotonic() - start < 20
    if kind == "socket":
        sock.close()


def test_a_fifo_does_not_block_the_library(tmp_path):
    fifo = tmp_path / "note.md"
    os.mkfifo(fifo)
    with pytest.raises(notes.NoteError, match="a FIFO, not a regular file"):
        notes.read_note(fifo)


def test_without_confinement_code_runs_only_with_trust(tmp_path, monkeypatch):
    spawn = sandbox.NoteRunner._spawn

    def no_confinement(self, mode):  # a platform without Landlock, as the child would report it
        return "Landlock is not available (Function not implemented)" if mode == "confine" else spawn(self, mode)

    monkeypatch.setattr(sandbox.NoteRunner, "_spawn", no_confinement)
    note = write_note(tmp_path / "n.md", "x = 1")
    with pytest.raises(notes.NoteError, match="no confinement available here .*pass --trust"):
        notes.review(note)
    trusted = notes.review(note, trust=True)
    assert trusted.execution["mode"] == "unconfined"
    assert trusted.execution["detail"].startswith("code ran unconfined (--trust): no confinement here "
                                                  "(Landlock is not available")
    assert [(f.code, f.verdict) for f in trusted.findings] == [("relu", "consistent")]
    formulas_only = notes.review(note, execute=False)  # --no-exec needs no confinement
    assert formulas_only.execution == {"mode": "not run", "detail": "--no-exec"}


def test_nothing_outlives_a_killed_symact(confinement, tmp_path):
    marker = str(700000 + os.getpid() % 99999)
    note = write_note(tmp_path / "sleep.md", f"import subprocess, time\nsubprocess.Popen(['sleep', '{marker}'])\n"
                      "time.sleep(60)", tail=False)
    proc = subprocess.Popen([sys.executable, "-m", "symact", "notes", str(note)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not processes_with(f"sleep\0{marker}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with(f"sleep\0{marker}"), "the note's code did not start"
    finally:
        proc.kill()
        proc.wait()
    ours = f'"parent": {proc.pid},'
    deadline = time.monotonic() + 5
    while (processes_with(f"sleep\0{marker}") or processes_with(ours)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(f"sleep\0{marker}") == [] and processes_with(ours) == []


def test_unconfined_children_die_with_the_note(tmp_path):
    marker = str(800000 + os.getpid() % 99999)
    with sandbox.NoteRunner(trust=True) as runner:
        runner.start()
        res = runner.run_block(f"import subprocess\np = subprocess.Popen(['sleep', '{marker}'])", [], [0.0], [])
        assert res.error is None and res.fatal is None, (res.error, res.fatal)
        started = time.monotonic() + 10   # a loaded machine may take a moment to show it in /proc
        while not processes_with(f"sleep\0{marker}") and time.monotonic() < started:
            time.sleep(0.05)
        assert processes_with(f"sleep\0{marker}")
    deadline = time.monotonic() + 5
    while processes_with(f"sleep\0{marker}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(f"sleep\0{marker}") == []
