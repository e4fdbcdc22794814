"""Hostile and broken cache contents: never code run, never a wrong value, never a traceback.

Measured before the cache verified anything (issue 13): a pickle planted at an
entry's path ran code inside ``symact check sigmoid``; most single-bit flips of an
oracle-values entry loaded as other values; a valid entry of another expression
made sigmoid's derivative 1; corruptions raised. Each test here is bounded in time
(``_deadline``); the entries are real ones, written by symact's own code paths.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import pathlib
import pickle
import random
import signal
import stat
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symact
from symact import cache
from symact.symbolic.forms import X

ROOT = pathlib.Path(__file__).resolve().parent.parent
QUICK = 5.0   # seconds: any single load, however hostile (a loaded two-core machine included)


@pytest.fixture(autouse=True)
def _deadline():
    """Fail (rather than hang) a test that runs past two minutes."""
    def expire(signum, frame):
        raise TimeoutError("test_cache_hostile: past its time bound")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 120)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def written(monkeypatch):
    """The (kind, parts) of every entry written while the test runs."""
    keys = []
    real = cache._write

    def spy(kind, parts, body):
        keys.append((kind, parts))
        real(kind, parts, body)

    monkeypatch.setattr(cache, "_write", spy)
    return keys


def _fresh(name):
    """The catalog activation without its in-memory memos (so it reads the disk cache)."""
    return dataclasses.replace(symact.get(name))


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, sp.Basic):
        return sp.srepr(a) == sp.srepr(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(np.float64(a[k]).tobytes() == np.float64(b[k]).tobytes() for k in a)
    return a == b


def _load(kind, parts):
    t = time.perf_counter()
    value = cache.load(kind, parts)      # must not raise
    assert time.perf_counter() - t < QUICK
    return value


def _forge(kind, parts, body: bytes):
    """An entry with a valid header and checksum around ``body``: what only someone
    who can write the directory as its owner could make."""
    path = cache.entry_path(kind, parts)
    path.write_bytes(cache._entry(kind, parts, body))
    return path


_SEEDS = itertools.count(1313)


@pytest.fixture
def real_entries(cache_dir, written):
    """Two real entries: sigmoid's derivative and correctly rounded sigmoid values."""
    from symact.verify import difftest

    sig = _fresh("sigmoid")
    derivative = sig.derivative
    pts = np.random.default_rng(next(_SEEDS)).uniform(-40, 40, 300)   # points new to this process
    difftest.expected(sig.expr, X, pts, np.float64)
    keys = {kind: parts for kind, parts in written}
    assert {"derivative", "oracle-values"} <= set(keys)
    values = {kind: cache.load(kind, parts) for kind, parts in keys.items()}
    assert _same(values["derivative"], derivative) and len(values["oracle-values"]) >= 300
    return [(kind, keys[kind], cache.entry_path(kind, keys[kind]).read_bytes(), values[kind])
            for kind in ("derivative", "oracle-values")]


# --------------------------------------------------------------------------- planted code
class _Payload:
    """Unpickling this creates ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def test_a_planted_pickle_never_runs(cache_dir, tmp_path):
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe)))        # the payload is live...
    assert probe.exists()
    marker = tmp_path / "ran"
    calls = []
    first = cache.cached("unit", ("planted",), lambda: calls.append(1) or sp.exp(-X))
    cache.entry_path("unit", ("planted",)).write_bytes(pickle.dumps(_Payload(marker)))
    again = cache.cached("unit", ("planted",), lambda: calls.append(1) or sp.exp(-X))
    assert not marker.exists() and _same(first, again) and len(calls) == 2   # ...but never runs here


def test_planted_pickles_in_every_entry_of_a_check_run(tmp_path):
    """The issue's case: ``symact check sigmoid`` over a cache whose every entry is a
    pickle that would run code gives the same report, exit 0, and runs nothing."""
    folder = tmp_path / "cache"
    env = dict(os.environ, SYMACT_CACHE_DIR=str(folder))
    argv = [sys.executable, "-m", "symact", "check", "sigmoid", "--examples", "200"]
    cold = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=100)
    assert cold.returncode == 0, cold.stderr.decode()[-2000:]
    entries = sorted(folder.glob("*.entry"))
    assert len(entries) >= 5
    marker = tmp_path / "ran"
    for path in entries:
        path.write_bytes(pickle.dumps(_Payload(marker)))
    planted = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=100)
    assert planted.returncode == 0 and planted.stdout == cold.stdout and not marker.exists()
    assert all(p.read_bytes().startswith(cache.FORMAT.encode()) for p in entries)   # rewritten


# --------------------------------------------------------------------------- corruption
def test_bit_flips_of_real_entries_never_load_as_other_values(real_entries):
    rng = random.Random(13)
    for kind, parts, data, value in real_entries:
        path = cache.entry_path(kind, parts)
        loaded = 0
        for _ in range(2000):
            bad = bytearray(data)
            i = rng.randrange(len(bad))
            bad[i] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(bad))
            got = _load(kind, parts)
            assert got is None or _same(got, value), (kind, i)
            loaded += got is not None
        assert loaded == 0, kind      # every flip is caught (by the checksum, if nothing else)
        path.write_bytes(data)
        assert _same(_load(kind, parts), value)


def test_truncations_of_real_entries_are_misses(real_entries):
    rng = random.Random(7)
    for kind, parts, data, value in real_entries:
        path = cache.entry_path(kind, parts)
        for n in [0, 1, len(data) - 1] + [rng.randrange(len(data)) for _ in range(300)]:
            path.write_bytes(data[:n])
            assert _load(kind, parts) is None
        path.write_bytes(data + b" ")
        assert _load(kind, parts) is None


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(junk=st.binary(max_size=400), splice=st.integers(0, 10**6))
def test_arbitrary_bytes_are_misses(tmp_path_factory, junk, splice):
    folder = tmp_path_factory.mktemp("junk")
    os.chmod(folder, 0o700)
    old = os.environ.get("SYMACT_CACHE_DIR")
    os.environ["SYMACT_CACHE_DIR"] = str(folder)
    try:
        cache.store("unit", ("junk",), {"v": [1.5, sp.Rational(1, 3)]})
        path = cache.entry_path("unit", ("junk",))
        data = path.read_bytes()
        i = splice % (len(data) + 1)
        for content in (junk, data[:i] + junk + data[i:], data[:i] + junk, cache.FORMAT.encode() + b"\n" + junk):
            path.write_bytes(content)
            got = _load("unit", ("junk",))
            assert got is None or content == data
    finally:
        os.environ["SYMACT_CACHE_DIR"] = old if old is not None else "off"


def test_a_checksummed_but_corrupt_body_is_a_miss_or_a_value_never_an_error(real_entries):
    """The decoder on its own (a body whose checksum was recomputed): every flip
    either decodes or is refused with ValueError, quickly."""
    rng = random.Random(99)
    for kind, parts, data, value in real_entries:
        body = data.split(b"\n", 2)[2]
        for _ in range(600):
            bad = bytearray(body)
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            t = time.perf_counter()
            try:
                cache.decode(bytes(bad))
            except ValueError:
                pass
            assert time.perf_counter() - t < QUICK
            _forge(kind, parts, bytes(bad))
            _load(kind, parts)


def test_the_entry_of_another_key_is_rejected(cache_dir, written):
    """A valid entry of identity's derivative (1) copied over sigmoid's is not believed."""
    sig = _fresh("sigmoid")
    right = sig.derivative
    _fresh("identity").derivative
    keys = [parts for kind, parts in written if kind == "derivative"]
    assert len(keys) == 2
    sig_path, id_path = (cache.entry_path("derivative", p) for p in keys)
    sig_path.write_bytes(id_path.read_bytes())
    assert _load("derivative", keys[0]) is None
    again = _fresh("sigmoid").derivative
    assert _same(again, right) and again != 1
    assert _same(_load("derivative", keys[0]), right)          # recomputed and rewritten
    other_kind = cache.entry_path("limit", keys[0])            # the same parts under another kind
    other_kind.write_bytes(sig_path.read_bytes())
    assert _load("limit", keys[0]) is None


HOSTILE = {
    "a 100,000-digit Integer": b'["X",["Integer","' + b"9" * 100_000 + b'"]]',
    "a 1,000,000-digit JSON number": b"1" * 1_000_000,
    "a 5,000-digit number in a list": b'["L",' + b"7" * 5000 + b"]",
    "nested lists 100,000 deep": b'["L",' * 100_000 + b"null" + b"]" * 100_000,
    "bare brackets 1,000,000 deep": b"[" * 1_000_000 + b"]" * 1_000_000,
    "an Add 3,000 deep": b'["X",' + b'["Add",["Integer","2"],' * 3000 + b'["Symbol","x",{}]' + b"]" * 3001,
    "three million nodes": b'["L"' + b",null" * 3_000_000 + b"]",
    "a Float of a billion bits": b'["X",["Float",0,"1",0,1,1000000000]]',
    "a Float with a huge exponent": b'["X",["Float",0,"1",' + b"9" * 4000 + b',1,53]]',
    "an array claiming 10**18 elements": b'["A","<f8",[1000000000,1000000000],"C",""]',
    "an object array": b'["A","|O",[1],"C","AAAAAAAAAAA="]',
    "a huge symbol name": b'["X",["Symbol","' + b"s" * 1_000_000 + b'",{}]]',
    "an unknown assumption": b'["X",["Symbol","x",{"__class__":true}]]',
    "a class outside the allowlist": b'["X",["os.system",["Symbol","x",{}]]]',
    "an unregistered dataclass": b'["DC","subprocess.Popen","args","true"]',
    "an undefined function with a bad name": b'["X",["Function","__import__(\'os\')",["Symbol","x",{}]]]',
    "a Rational not in lowest terms": b'["X",["Rational","2","4"]]',
    "a singleton as an Integer": b'["X",["Integer","1"]]',
    "a function with too many arguments": b'["X",["exp",["Symbol","x",{}],["Symbol","y",{}]]]',
    "a Pow of a relational": b'["X",["Pow",["StrictLessThan",["Symbol","x",{}],["Zero"]],["Integer","2"]]]',
    "an unknown tag": b'["eval","1+1"]',
    "a dict with an unhashable key": b'["D",["L"],1]',
    "NaN as a JSON constant": b"NaN",
    "not UTF-8": b'["L","\xff\xfe"]',
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_hostile_checksummed_entries_are_misses_quickly(cache_dir, what):
    _forge("unit", ("hostile",), HOSTILE[what])
    assert _load("unit", ("hostile",)) is None
    with pytest.raises(ValueError):
        cache.decode(HOSTILE[what])
    calls = []
    assert cache.cached("unit", ("hostile",), lambda: calls.append(1) or 42) == 42 and calls == [1]
    assert _load("unit", ("hostile",)) == 42


def test_a_valid_but_costly_looking_value_is_not_evaluated(cache_dir):
    """A power of two 3,999-digit integers decodes unevaluated, instantly."""
    body = b'["X",["Pow",["Integer","' + b"9" * 3999 + b'"],["Integer","' + b"9" * 3999 + b'"]]]'
    _forge("unit", ("pow",), body)
    got = _load("unit", ("pow",))
    assert isinstance(got, sp.Pow) and got.base == got.exp


def test_oversized_fifo_and_symlinked_entries_are_misses(cache_dir, tmp_path):
    cache.store("unit", ("good",), [1, 2, 3])
    good = cache.entry_path("unit", ("good",))
    big = cache.entry_path("unit", ("big",))
    with open(big, "wb") as fh:                     # sparse: nothing is read beyond the size check
        fh.write(cache.FORMAT.encode() + b"\n")
        fh.truncate(cache.MAX_FILE_BYTES + 1)
    assert _load("unit", ("big",)) is None
    os.mkfifo(cache.entry_path("unit", ("fifo",)))  # opening a FIFO would block without O_NONBLOCK
    assert _load("unit", ("fifo",)) is None
    outside = tmp_path / "elsewhere.entry"
    outside.write_bytes(good.read_bytes())
    good.unlink()
    good.symlink_to(outside)
    assert _load("unit", ("good",)) is None         # entries are never followed through links
    assert cache.cached("unit", ("good",), lambda: [1, 2, 3]) == [1, 2, 3]
    assert not good.is_symlink() and outside.read_bytes().startswith(cache.FORMAT.encode())


# --------------------------------------------------------------------------- the directory
def _unused(folder, expect: str):
    """A cached() call warns once (one line naming the folder and ``expect``), computes,
    and writes nothing into ``folder``."""
    before = set(os.listdir(folder)) if folder.is_dir() else None
    calls = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert cache.cached("unit", ("dir",), lambda: calls.append(1) or 5) == 5
            assert cache.load("unit", ("dir",)) is None
    assert len(calls) == 3
    ours = [w for w in caught if issubclass(w.category, cache.CacheWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    message = str(ours[0].message)
    assert "\n" not in message and str(folder) in message and expect in message
    if before is not None:
        assert set(os.listdir(folder)) == before


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o720])
def test_a_directory_others_can_write_is_not_used(tmp_path, monkeypatch, mode):
    folder = tmp_path / f"shared{mode:o}"
    folder.mkdir()
    folder.chmod(mode)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    _unused(folder, "group or others can write")


def test_a_directory_another_user_owns_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)
    _unused(folder, "owned by uid")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_directory_chowned_to_another_user_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "nobody"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    _unused(folder, "owned by uid 65534")


def test_a_file_in_place_of_the_directory_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "a-file"
    folder.write_text("")
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    _unused(folder, "not a directory")


def test_a_symlinked_directory_is_judged_by_its_target(tmp_path, monkeypatch):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(private)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(link))
    cache.store("unit", ("via-link",), 1)
    assert cache.load("unit", ("via-link",)) == 1 and any(private.iterdir())
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    link2 = tmp_path / "link2"
    link2.symlink_to(shared)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(link2))
    _unused(link2, "group or others can write")


def test_an_unwritable_location_runs_without_the_cache(tmp_path, monkeypatch):
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o500)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(parent / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.cached("unit", ("ro",), lambda: 3) == 3
    if os.geteuid() != 0:                           # root writes anywhere
        assert not (parent / "cache").exists()


# --------------------------------------------------------------------------- concurrent writers
_WRITER = """
import os, sys, time, numpy as np
from symact import cache
if {slow}:   # write in flushed 64 KiB pieces, so that a kill lands mid-write
    real_fdopen = os.fdopen
    class Slow:
        def __init__(self, fh): self.fh = fh
        def __enter__(self): return self
        def __exit__(self, *exc): return self.fh.__exit__(*exc)
        def fileno(self): return self.fh.fileno()
        def write(self, data):
            for i in range(0, len(data), 1 << 16):
                self.fh.write(data[i:i + (1 << 16)]); self.fh.flush(); time.sleep(0.001)
    os.fdopen = lambda fd, mode: Slow(real_fdopen(fd, mode))
kind, parts = "unit", ("concurrent",)
value = np.arange({n}, dtype=np.float64) * 0.5
body = cache.encode(value)
print("ready", flush=True)
for _ in range({rounds}):
    cache._write(kind, parts, body)
"""


def _writer(folder, n, rounds, slow=False):
    env = dict(os.environ, SYMACT_CACHE_DIR=str(folder))
    return subprocess.Popen([sys.executable, "-c", _WRITER.format(n=n, rounds=rounds, slow=slow)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_processes_storing_one_key_at_once(cache_dir):
    n = 200_000
    want = np.arange(n, dtype=np.float64) * 0.5
    procs = [_writer(cache_dir, n, 40) for _ in range(2)]
    for p in procs:
        assert p.stdout.readline() == b"ready\n"
    seen = 0
    while any(p.poll() is None for p in procs):
        got = _load("unit", ("concurrent",))
        assert got is None or np.array_equal(got, want)
        seen += got is not None
    assert all(p.wait(timeout=60) == 0 for p in procs)
    assert np.array_equal(_load("unit", ("concurrent",)), want) and seen > 0


def test_a_writer_killed_mid_write_leaves_no_corrupt_entry(cache_dir):
    n = 500_000                                     # a 5.5 MB entry, written slowly (see _WRITER)
    want = np.arange(n, dtype=np.float64) * 0.5
    rng = random.Random(5)
    interrupted = 0
    for _ in range(6):
        p = _writer(cache_dir, n, 10_000, slow=True)
        assert p.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 60
        while not cache.entry_path("unit", ("concurrent",)).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        temps = [f for f in os.listdir(cache_dir) if f.endswith(".tmp")]
        interrupted += bool(temps)
        for f in temps:
            os.unlink(cache_dir / f)
        got = _load("unit", ("concurrent",))
        assert got is not None and np.array_equal(got, want)
        assert stat.S_IMODE(cache.entry_path("unit", ("concurrent",)).stat().st_mode) == 0o600
    assert interrupted > 0                          # the kills did land in the middle of writes
