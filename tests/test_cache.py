"""The disk cache returns exactly what the computation returns, and never trusts junk."""
import json

import symact
from symact import cache
from symact.cli import capture


def test_cached_check_is_identical_to_uncached(tmp_path, monkeypatch):
    argv = ["check", "tanh", "--json", "--examples", "60"]
    monkeypatch.setenv("SYMACT_CACHE_DIR", "off")
    off = capture(argv)[1]
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path))
    cold, warm = capture(argv)[1], capture(argv)[1]
    assert off == cold == warm and json.loads(off)["name"] == "tanh"
    assert any(tmp_path.iterdir())


def test_corrupt_entries_are_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path))
    calls = []
    value = cache.cached("unit", ("a",), lambda: calls.append(1) or {"v": 1})
    for path in tmp_path.iterdir():
        path.write_bytes(b"not a pickle")
    again = cache.cached("unit", ("a",), lambda: calls.append(1) or {"v": 1})
    assert value == again == {"v": 1} and len(calls) == 2


def test_key_depends_on_the_definition(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path))
    a = cache.activation_key(symact.get("leaky_relu"))
    b = cache.activation_key(symact.get("leaky_relu", negative_slope="0.2"))
    assert a != b
