"""The packaged cache seed (symact/_seed/, written by ``symact build-cache --seed``).

The seed holds the symbolic entries a cold ``symact check NAME`` computes for every
catalog activation; symact.cache reads it behind the user's cache, with the same
checks. Regenerating all of it takes about a minute on two cores, so the fast set
checks that every committed file is keyed by the current code and that
regenerating three names gives byte-identical files; ``-m slow`` (and ``symact
build-cache --seed --check``) regenerates all of it.
"""
import json
import shutil

import pytest

from symact import cache
from symact.cli import build_cache, capture
from symact.model import catalog
import symact.reports.report  # noqa: F401 - registers the classes entries hold (Facts, Verdict...)

SEED_FILES = sorted(p for p in cache.SEED.iterdir() if p.suffix == ".entry") if cache.SEED.is_dir() else []
STALE = f"the seed is stale: run `{build_cache.COMMAND}` and commit symact/_seed/"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    monkeypatch.delenv("SYMACT_CACHE_SEED", raising=False)
    return folder


def _header(data: bytes) -> dict:
    first, header, _ = data.split(b"\n", 2)
    assert first + b"\n" == cache._MAGIC
    return json.loads(header)


def test_every_seed_file_is_keyed_by_the_current_code():
    assert SEED_FILES, STALE
    for path in SEED_FILES:
        data = path.read_bytes()
        header = _header(data)
        fmt, kind, code, parts = json.loads(header["key"])
        assert (fmt, code) == (cache.FORMAT, cache._CODE), f"{path.name}: {STALE}"
        assert kind in cache.SEED_KINDS and header["kind"] == kind
        key = cache._key_bytes(kind, tuple(parts))
        assert path.name == cache._path(cache.SEED, kind, key).name
        cache._verify(data, kind, key)          # checksum and decoding


def test_every_catalog_name_has_its_facts_and_verdicts_in_the_seed():
    for name in catalog.names():
        for kind in ("facts", "verdicts"):
            key = cache._key_bytes(kind, cache.activation_key(catalog.get(name)))
            assert cache._path(cache.SEED, kind, key).is_file(), f"{name} {kind}: {STALE}"


def test_regenerating_three_names_is_byte_identical():
    names = ["relu", "softmax", "gelu_tanh"]
    fresh = build_cache.generate_all(names, jobs=2)
    committed = build_cache.current(cache.SEED)
    assert fresh
    for fname, data in fresh.items():
        assert committed.get(fname) == data, f"{fname}: {STALE}"


@pytest.mark.slow
def test_regenerating_all_is_byte_identical():
    assert build_cache.generate_all(catalog.names(), jobs=2) == build_cache.current(cache.SEED), STALE


def test_a_cold_check_reads_the_seed(empty_cache, monkeypatch):
    from symact.analysis import facts, linearity

    def refuse(*a, **k):
        raise AssertionError("computed, not read from the seed")

    monkeypatch.setattr(facts, "derive", refuse)
    monkeypatch.setattr(linearity, "verdicts", refuse)
    before = cache.stats["seed"]
    code, out, err = capture(["check", "gelu_tanh", "--jobs", "1"])
    assert code == 0, err
    assert "linearity and symmetry" in out
    assert cache.stats["seed"] - before >= 2
    # what was read is copied, byte for byte, into the user's cache
    key = cache.activation_key(catalog.get("gelu_tanh"))
    for kind in ("facts", "verdicts"):
        path = cache.entry_path(kind, key)
        assert path.read_bytes() == cache._path(cache.SEED, kind, cache._key_bytes(kind, key)).read_bytes()


def test_a_bad_user_entry_is_recomputed_not_replaced_from_the_seed(empty_cache):
    key = cache.activation_key(catalog.get("relu"))
    assert cache.load("facts", key) is not None           # from the seed, copied
    path = cache.entry_path("facts", key)
    path.write_bytes(path.read_bytes()[:-5])
    assert cache.load("facts", key) is None
    assert cache.cached("facts", key, lambda: "recomputed") == "recomputed"


def _seed_copy(tmp_path, monkeypatch):
    copy = tmp_path / "seed"
    shutil.copytree(cache.SEED, copy)
    monkeypatch.setattr(cache, "SEED", copy)
    return copy


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "directory", "other-key", "symlink"])
def test_a_damaged_seed_entry_is_a_miss(tmp_path, monkeypatch, empty_cache, damage):
    seed = _seed_copy(tmp_path, monkeypatch)
    key = cache.activation_key(catalog.get("gelu_tanh"))
    path = cache._path(seed, "facts", cache._key_bytes("facts", key))
    data = path.read_bytes()
    other = cache._path(seed, "verdicts", cache._key_bytes("verdicts", key))
    path.unlink()
    if damage == "flip":
        path.write_bytes(data[:-20] + bytes([data[-20] ^ 1]) + data[-19:])
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "directory":
        path.mkdir()
    elif damage == "other-key":
        path.write_bytes(other.read_bytes())
    else:
        path.symlink_to(other)
    assert cache.load("facts", key) is None
    assert cache.cached("facts", key, lambda: "recomputed") == "recomputed"
    assert cache.load("facts", key) == "recomputed"        # now from the user's cache
    assert not path.is_file() or path.read_bytes() != data  # nothing written into the seed


def test_off_disables_the_seed(empty_cache, monkeypatch):
    key = cache.activation_key(catalog.get("relu"))
    monkeypatch.setenv("SYMACT_CACHE_SEED", "off")
    assert cache.load("facts", key) is None                 # the seed alone off
    monkeypatch.delenv("SYMACT_CACHE_SEED")
    monkeypatch.setenv("SYMACT_CACHE_DIR", "off")
    assert cache.load("facts", key) is None                 # the whole cache off
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(empty_cache))
    assert cache.load("facts", key) is not None


@pytest.mark.parametrize("name", ["relu", "gelu_tanh"])
def test_output_with_the_seed_is_identical_to_output_without(name, empty_cache, monkeypatch):
    code, seeded, err = capture(["check", name, "--jobs", "1"])
    assert code == 0, err
    monkeypatch.setenv("SYMACT_CACHE_DIR", "off")
    code, computed, err = capture(["check", name, "--jobs", "1"])
    assert code == 0, err
    assert seeded == computed
