"""The disk cache returns exactly what the computation returns, and never trusts junk.

The format's round trip is exact for every value symact stores: the catalog's
expressions, derivatives and kernel stable forms (srepr identical), and plain data
(floats with their bits, NumPy arrays, registered dataclasses). Hostile and
corrupt entries are tested in test_cache_hostile.py.
"""
import dataclasses
import json
import math
import os
import pickle
import stat
import struct

import numpy as np
import pytest
import sympy as sp

import symact
from symact import cache
from symact.cli import capture
from symact import primitives as rewrite


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    return folder


def _entries(folder):
    return sorted(p for p in folder.iterdir() if p.suffix == ".entry")


def same(a, b) -> bool:
    """Equal, of the same types all the way down, floats bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, sp.Basic):
        return sp.srepr(a) == sp.srepr(b) and a == b and hash(a) == hash(b)
    if isinstance(a, np.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
                and a.flags.f_contiguous == b.flags.f_contiguous and b.flags.writeable)
    if isinstance(a, np.generic):
        return a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b


# --------------------------------------------------------------------------- the CLI
def test_cached_check_is_identical_to_uncached(tmp_path, monkeypatch):
    argv = ["check", "tanh", "--json", "--examples", "60"]
    monkeypatch.setenv("SYMACT_CACHE_DIR", "off")
    off = capture(argv)[1]
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path))
    cold, warm = capture(argv)[1], capture(argv)[1]
    assert off == cold == warm and json.loads(off)["name"] == "tanh"
    assert _entries(tmp_path)


def test_key_depends_on_the_definition(cache_dir):
    a = cache.activation_key(symact.get("leaky_relu"))
    b = cache.activation_key(symact.get("leaky_relu", negative_slope="0.2"))
    assert a != b


# --------------------------------------------------------------------------- exact round trips
@pytest.fixture(scope="module")
def primitives():
    """symact's own function classes (symact.primitives registers them; registering again is harmless)."""
    for cls in rewrite.PRIMITIVES.values():
        cache.cacheable(cls)


def _registry_expressions():
    from symact.numeric.kernels import stable_expr

    for name in symact.names():
        act = symact.get(name)
        yield name, "expr", act.expr
        yield name, "derivative", act.derivative
        if not act.vector:
            yield name, "stable", stable_expr(act, False)
            yield name, "stable derivative", stable_expr(act, True)


def test_every_catalog_expression_round_trips_exactly(primitives):
    seen = set()
    for name, what, e in _registry_expressions():
        back = cache.decode(cache.encode(e))
        assert same(e, back), (name, what, sp.srepr(e))
        assert {s: s.assumptions0 for s in e.free_symbols} == {s: s.assumptions0 for s in back.free_symbols}
        seen.update(type(n) for n in sp.preorder_traversal(e))
    # the catalog really exercises the vector, piecewise and stable-primitive forms
    assert {sp.Piecewise, sp.Sum, sp.Indexed, sp.KroneckerDelta, rewrite.expit} <= seen


x, y = sp.symbols("x y", real=True)
k = sp.Symbol("k", integer=True)
XV = sp.IndexedBase("x", real=True)
UNUSUAL = {
    "unevaluated Mul": sp.Mul(sp.S.Half, x + y, evaluate=False),
    "unevaluated Add with 0": sp.Add(x, 0, x, evaluate=False),
    "unevaluated Pow": sp.Pow(x, 1, evaluate=False),
    "Float with precision": sp.Float("3.14159265358979323846264338327950288419716939937510582097", 200),
    "tiny Float": sp.Float(-1.5e-300) * x,
    "Float zero": sp.Float(0) + x,
    "big Integer": sp.Integer(7) ** 900 + x,
    "Rational": sp.Rational(-7, 3) * x,
    "Dummy": sp.Dummy("d", positive=True) + 1,
    "undefined functions": sp.Function("log1p")(x) + sp.Function("erfc_")(x),
    "sets": sp.Tuple(sp.Interval(0, 1, True, False), sp.Union(sp.Interval(0, 1), sp.Interval(2, 3)),
                     sp.FiniteSet(1, 2, x), sp.S.Reals, sp.S.EmptySet),
    "logic": sp.And(sp.Le(x, 1), sp.Gt(x, 0)) | sp.Not(sp.Eq(y, 0), evaluate=False),
    "Piecewise with a False branch": sp.Piecewise((0, sp.false), (x, True), evaluate=False),
    "Max Min Abs": sp.Max(0, sp.Min(x, 6)) + sp.Abs(y) + sp.Heaviside(x, 1),
    "vector": sp.Sum(sp.exp(XV[k]) * sp.KroneckerDelta(k, sp.Idx("i")), (k, 0, sp.Symbol("n") - 1)),
    "constants": sp.Tuple(sp.pi, sp.E, sp.I, sp.oo, -sp.oo, sp.zoo, sp.nan, sp.true, sp.false),
    "noncommutative": sp.Symbol("A", commutative=False) * sp.Symbol("B", commutative=False),
}


@pytest.mark.parametrize("what", sorted(UNUSUAL))
def test_unusual_expressions_round_trip_exactly(what):
    e = UNUSUAL[what]
    back = cache.decode(cache.encode(e))
    assert same(e, back)
    assert [n.is_commutative for n in _walk(e)] == [n.is_commutative for n in _walk(back)]


def _walk(e):
    """Every node in ``args`` order (preorder_traversal walks And/Or/Max/Min in their
    argument set's iteration order, which depends on how the set was built)."""
    yield e
    for a in e.args:
        yield from _walk(a)


@cache.cacheable
@dataclasses.dataclass(frozen=True)
class _Table:
    lo: float
    data: np.ndarray
    expr: sp.Expr
    note: str = ""


@dataclasses.dataclass
class _Unregistered:
    v: int


DATA = {
    "floats": [0.0, -0.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.nan,
               struct.unpack("<d", bytes.fromhex("0100000000f8ffff"))[0]],   # a NaN with a payload
    "ints and strings": (0, -1, 2**62, 10**1000, True, False, None, "", "é\u2028\x00"),
    "containers": {"a": [1, (2, 3)], 4: {5: 6}, (7, "8"): frozenset({9}), "s": {1.5}},
    "oracle values": {int(np.float64(v).view(np.int64)): float(np.exp(-v)) for v in np.linspace(-5, 5, 101)},
    "arrays": [np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(6.0).reshape(2, 3)),
               np.array(3.5), np.zeros((0, 4), dtype=np.float32), np.array([1, -2], dtype=">i4"),
               np.array([True, False]), np.array([1 + 2j], dtype=np.complex64)],
    "scalars": [np.float64(0.1), np.float32(-0.0), np.int64(-7), np.bool_(True)],
    "dataclass": _Table(0.5, np.linspace(0, 1, 5), sp.exp(-x), "fit"),
    "empty": [[], (), {}],
}


@pytest.mark.parametrize("what", sorted(DATA))
def test_plain_data_round_trips_exactly(what):
    v = DATA[what]
    assert same(v, cache.decode(cache.encode(v)))


def test_what_the_format_cannot_hold_is_not_cached(cache_dir):
    for value in (_Unregistered(1), np.array([object()]), lambda: 1, sp.Wild("w"), 10**5000):
        with pytest.raises(TypeError):
            cache.encode(value)
    calls = []
    for _ in range(2):
        got = cache.cached("unit", ("unregistered",), lambda: calls.append(1) or _Unregistered(3))
        assert got == _Unregistered(3)
    assert len(calls) == 2 and not (cache_dir.exists() and _entries(cache_dir))


def test_cacheable_takes_dataclasses_and_functions_only():
    with pytest.raises(TypeError):
        cache.cacheable(int)
    assert cache.cacheable(rewrite.expit) is rewrite.expit


# --------------------------------------------------------------------------- cached()
def test_cold_warm_and_uncached_values_are_the_same(cache_dir, monkeypatch):
    """A fresh value is rebuilt as the pickle cache rebuilt it (SymPy nodes
    re-evaluated), so cold, warm and off return identical trees."""
    a, b = sp.symbols("a b", positive=True)

    def compute():
        return {"expr": sp.Mul(sp.S.Half, a + b, evaluate=False), "pts": np.arange(3.0)}

    cold = cache.cached("unit", ("canonical",), compute)
    warm = cache.cached("unit", ("canonical",), compute)
    monkeypatch.setenv("SYMACT_CACHE_DIR", "off")
    off = cache.cached("unit", ("canonical",), compute)
    assert same(cold, warm) and same(cold, off)
    assert same(cold["expr"], pickle.loads(pickle.dumps(compute()["expr"])))   # what the pickle cache gave
    assert isinstance(cold["expr"], sp.Add)


def test_corrupt_entries_are_recomputed(cache_dir):
    calls = []
    value = cache.cached("unit", ("a",), lambda: calls.append(1) or {"v": 1})
    for path in _entries(cache_dir):
        path.write_bytes(b"not a cache entry")
    again = cache.cached("unit", ("a",), lambda: calls.append(1) or {"v": 1})
    assert value == again == {"v": 1} and len(calls) == 2
    assert cache.cached("unit", ("a",), lambda: calls.append(1) or {"v": 1}) == {"v": 1} and len(calls) == 2


def test_none_is_a_value(cache_dir):
    calls = []
    for _ in range(3):
        assert cache.cached("unit", ("none",), lambda: calls.append(1)) is None
    assert len(calls) == 1


def test_load_and_store(cache_dir):
    assert cache.load("unit", ("ls",)) is None
    cache.store("unit", ("ls",), {1: 0.5})
    assert cache.load("unit", ("ls",)) == {1: 0.5}
    assert cache.entry_path("unit", ("ls",)).exists()


def test_off_disables_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMACT_CACHE_DIR", "OFF")
    calls = []
    for _ in range(2):
        cache.cached("unit", ("off",), lambda: calls.append(1) or 1)
    cache.store("unit", ("off",), 1)
    assert len(calls) == 2 and cache.load("unit", ("off",)) is None and cache.entry_path("unit", ("x",)) is None
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- files and directories
@pytest.mark.parametrize("umask", [0o022, 0o000, 0o277])
def test_directories_are_created_0700_and_entries_0600(tmp_path, monkeypatch, umask):
    folder = tmp_path / "a" / "b" / "c"
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    old = os.umask(umask)
    try:
        cache.store("unit", ("mode",), [1, 2])
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    entries = _entries(folder)
    assert len(entries) == 1 and stat.S_IMODE(entries[0].stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [entries[0].name]    # no temporary file left behind
    assert cache.load("unit", ("mode",)) == [1, 2]


def test_an_existing_private_directory_is_left_as_it_is(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(folder))
    cache.store("unit", ("x",), 1)
    assert cache.load("unit", ("x",)) == 1 and stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_an_entry_holds_its_key_and_checksum(cache_dir):
    cache.store("unit", ("k1", "k2"), {"v": [1.5]})
    (path,) = _entries(cache_dir)
    magic, header, body = path.read_bytes().split(b"\n", 2)
    assert magic == cache.FORMAT.encode()
    header = json.loads(header)
    assert header["kind"] == "unit" and json.loads(header["key"])[-1] == ["k1", "k2"]
    assert len(header["sha256"]) == 64 and json.loads(body) == ["D", "v", ["L", 1.5]]


def test_symact_classes_are_registered_where_they_are_defined():
    """Facts, verdicts and fitted tables are cached only when their modules register
    their classes (``@cache.cacheable``); a fresh process sees what the modules do."""
    import subprocess
    import sys

    code = ("import symact.analysis.facts, symact.analysis.linearity, symact.numeric.fitting, "
            "symact.primitives, json\nfrom symact import cache\n"
            "print(json.dumps([sorted(cache._DATACLASSES), sorted(cache._FUNCTIONS)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    dataclasses_, functions = json.loads(out.stdout)
    assert {"symact.analysis.facts.Fact", "symact.analysis.facts.Facts", "symact.analysis.linearity.Verdict",
            "symact.numeric.fitting.RootPoly", "symact.numeric.fitting.ErfcxTable"} <= set(dataclasses_)
    assert {f"{c.__module__}.{c.__qualname__}" for c in rewrite.PRIMITIVES.values()} <= set(functions)
