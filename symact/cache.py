"""A disk cache for symbolic work and oracle values that verifies what it reads.

SymPy work is deterministic but can take seconds (limits of gelu_tanh's
derivative), and oracle values take mpmath time. Results are stored under
``$SYMACT_CACHE_DIR`` (default ``~/.cache/symact``; ``off`` disables it), keyed
by what defines them (the ``srepr`` of the expression, parameter values and
conventions) and by the source of the modules that compute them, so a change to
either recomputes.

A cache file is untrusted input, so nothing in it can run code or be believed
unchecked:

* **The format is data, not code.** An entry is UTF-8 JSON: a value tree of
  tagged lists (lists, tuples, dicts, sets, floats with their bits, NumPy
  arrays as dtype + shape + base64 bytes, dataclasses by registered name) and
  SymPy expressions as explicit ``[class name, *args]`` trees rebuilt, without
  evaluation, from an allowlist of SymPy classes (plus the classes symact's
  own modules register with :func:`cacheable`). Integers, rationals and
  floats are rebuilt exactly (a Float keeps its precision); symbols keep their
  assumptions. Nothing is ever unpickled, ``eval``\\ ed or ``sympify``\\ ed.
* **Every entry is checked.** Its header names the format, the kind and the
  key, and carries a SHA-256 over the key and the content; decoding is bounded
  (file size, nesting depth, number of nodes, digits of an integer). Anything
  that fails to read, verify or decode is a miss: the value is recomputed and
  the entry rewritten, never a traceback and never a wrong value.
* **The directory is private.** It is created 0700; it is not used (one
  :class:`CacheWarning`) when another user owns it or group or others can
  write to it. Entries are written 0600 to a temporary file beside them and
  renamed into place, so a reader sees a whole entry or none.

A fresh value goes through the same transformations as a stored one, so a
cold, a warm and an uncached run return equal objects (see :func:`cached`).

**The seed.** Where the user's directory holds no file for a key, :func:`load`
and :func:`cached` look in a read-only seed packaged with symact
(``symact/_seed/``, :data:`SEED`): the symbolic entries (:data:`SEED_KINDS`) that
a cold ``symact check NAME`` computes for every catalog activation at its
declared parameters, written by ``symact build-cache --seed``
(:mod:`symact.cli.build_cache`). Seed entries are the same format and pass the
same checks (a bad one is a miss); one that is read is copied into the user's
directory. They are keyed by the code hash like any entry, so after an edit to a
keyed module they are simply not found. Nothing is ever written there, and a
user's entry that fails to verify is recomputed, not replaced from the seed. ``SYMACT_CACHE_DIR=off`` disables the seed too
(every value is computed); ``SYMACT_CACHE_SEED=off`` disables the seed alone.
"""
from __future__ import annotations

import base64
import collections
import copy
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import stat
import struct
import warnings
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.core.assumptions import _assume_defined
from sympy.core.function import AppliedUndef, Application, FunctionClass
from sympy.core.operations import LatticeOp

from symact import fsio
from symact.errors import WriteError

__all__ = ["cached", "load", "store", "activation_key", "cacheable", "encode", "decode",
           "entry_path", "CacheWarning", "stats", "SEED", "SEED_KINDS", "seed_directory"]

log = logging.getLogger("symact.cache")

#: The entry format; part of every entry's key, so a new format never reads an old one.
FORMAT = "symact-cache 1"
_MAGIC = FORMAT.encode() + b"\n"

#: Bounds on what a decoder accepts (an entry over them is a miss, quickly).
MAX_FILE_BYTES = 64 << 20
MAX_DEPTH = 200
MAX_NODES = 2_000_000
MAX_DIGITS = 4000          # Python refuses int <-> str conversions over 4,300 digits
MAX_NAME = 256             # a symbol's or an undefined function's name
MAX_FLOAT_BITS = 1 << 17   # a Float's precision and mantissa
MAX_FLOAT_EXP = 1 << 40    # |exponent| of a Float's binary exponent

#: hits, misses, the reasons entries were rejected, stores: for a debug message.
stats: collections.Counter = collections.Counter()


class CacheWarning(UserWarning):
    """The cache directory is not safe to use (another owner, or writable by others);
    symact runs without the cache. The message is one line."""


# =========================================================================== keys
_HERE = Path(__file__).parent
#: the modules whose code decides cached SymPy work and oracle values (the key includes their source)
_SOURCES = ("symbolic/forms.py", "symbolic/normal.py", "analysis/facts.py", "analysis/linearity.py", "symbolic/exact.py",
            "numeric/oracle.py", "model/activation.py", "model/catalog.py")


def _code_hash() -> str:
    h = hashlib.sha256((FORMAT + "\x00" + sp.__version__ + "\x00" + np.__version__).encode())
    for name in _SOURCES:
        h.update((_HERE / name).read_bytes())
    return h.hexdigest()[:16]


_CODE = _code_hash()
_KIND = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def activation_key(act) -> tuple[str, ...]:
    """What defines an activation: name, definition, parameter values, conventions."""
    return (act.name, sp.srepr(act.definition),
            repr(sorted((k, sp.srepr(v)) for k, v in act.param_values.items())),
            repr(sorted((sp.srepr(sp.sympify(k)), v) for k, v in act.conventions.items())))


def _key_bytes(kind: str, parts: tuple[str, ...]) -> bytes:
    assert _KIND.fullmatch(kind), kind
    assert all(isinstance(p, str) for p in parts), "cache key parts are strings"
    return json.dumps([FORMAT, kind, _CODE, list(parts)], ensure_ascii=True,
                      separators=(",", ":")).encode()


def _checksum(key: bytes, body: bytes) -> str:
    h = hashlib.sha256(key)
    h.update(b"\x00")
    h.update(body)
    return h.hexdigest()


# =========================================================================== the directory
_WARNED: set = set()

#: The packaged, read-only seed of entries for catalog activations (``symact build-cache``).
SEED = _HERE / "_seed"
#: The kinds of entry the seed holds: the symbolic work (oracle values are left out: size).
SEED_KINDS = ("derivative", "facts", "verdicts", "limit")


def seed_directory() -> Path | None:
    """The seed directory, or None when the cache or the seed is off."""
    if os.environ.get("SYMACT_CACHE_DIR", "").lower() == "off":
        return None
    if os.environ.get("SYMACT_CACHE_SEED", "").lower() == "off":
        return None
    return SEED


def _directory() -> Path | None:
    where = os.environ.get("SYMACT_CACHE_DIR", "")
    if where.lower() == "off":
        return None
    if where:
        return Path(where)
    try:
        return Path.home() / ".cache" / "symact"
    except RuntimeError:  # no home directory to be found: no cache
        return None


def _make_private(folder: Path) -> None:
    """Create ``folder`` and every missing parent 0700 (chmod after mkdir: the umask
    can only take bits away, but it could also take the owner's)."""
    missing = []
    p = folder
    while not os.path.lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:  # another process made it first: checked below like any other
            continue
        os.chmod(d, 0o700)


def _warn_once(folder: Path, why: str) -> None:
    if (str(folder), why) in _WARNED:
        return
    _WARNED.add((str(folder), why))
    warnings.warn(f"symact: not using the cache {folder}: {why} (set SYMACT_CACHE_DIR to a private "
                  f"directory, or to off)", CacheWarning, stacklevel=2)


def _usable(create: bool) -> Path | None:
    """The cache directory when it is safe to use, else None (with one warning when it
    exists but another user owns it or group or others can write to it). A symlink
    is followed: the directory it leads to is what is checked."""
    folder = _directory()
    if folder is None:
        return None
    try:
        if create:
            _make_private(folder)
        st = os.stat(folder)
    except OSError as exc:  # absent (a load), or not creatable (a read-only home): no cache
        log.debug("cache directory %s unusable: %s", folder, exc)
        return None
    uid = os.getuid() if hasattr(os, "getuid") else None
    if not stat.S_ISDIR(st.st_mode):
        _warn_once(folder, "it is not a directory")
    elif uid is not None and st.st_uid != uid:
        _warn_once(folder, f"it is owned by uid {st.st_uid}, not by you (uid {uid})")
    elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _warn_once(folder, f"group or others can write to it (mode {stat.S_IMODE(st.st_mode):o})")
    else:
        return folder
    return None


def _path(folder: Path, kind: str, key: bytes) -> Path:
    return folder / f"{kind}-{hashlib.sha256(key).hexdigest()}.entry"


# =========================================================================== the value format
class _Reject(Exception):
    """An entry (or a value being decoded) that is not accepted: a cache miss."""


class _Unencodable(Exception):
    """A value holding something the format cannot store exactly: not cached."""


def _classes(*names, module=sp):
    return {n: getattr(module, n) for n in names}


#: The SymPy classes an entry may name, besides Integer, Rational, Float, Symbol,
#: Dummy and undefined functions (which have their own forms).
_SYMPY: dict[str, type] = {
    **_classes("Add", "Mul", "Pow", "Tuple", "Interval", "Union", "Intersection", "FiniteSet",
               "Complement", "Eq", "Ne", "Le", "Lt", "Ge", "Gt", "And", "Or", "Not", "Xor", "ITE",
               "Piecewise", "Max", "Min", "Abs", "sign", "Heaviside", "floor", "ceiling", "re", "im",
               "exp", "log", "LambertW", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos",
               "atan", "atan2", "sinh", "cosh", "tanh", "coth", "sech", "csch", "asinh", "acosh",
               "atanh", "erf", "erfc", "erfinv", "erfcinv", "erf2", "gamma", "loggamma", "factorial",
               "Indexed", "IndexedBase", "Idx", "Sum", "Product", "KroneckerDelta", "DiracDelta",
               "AccumBounds"),
    "ExprCondPair": sp.functions.elementary.piecewise.ExprCondPair,
}
_SYMPY = {cls.__name__: cls for cls in _SYMPY.values()}   # Eq -> Equality, Le -> LessThan, ...
#: Singletons, by class name (rebuilt as ``S.<name>``).
_SINGLETONS: dict[str, sp.Basic] = {type(s).__name__: s for s in (
    sp.S.Zero, sp.S.One, sp.S.NegativeOne, sp.S.Half, sp.S.Infinity, sp.S.NegativeInfinity,
    sp.S.ComplexInfinity, sp.S.NaN, sp.S.Pi, sp.S.Exp1, sp.S.ImaginaryUnit, sp.S.EulerGamma,
    sp.S.Catalan, sp.S.GoldenRatio, sp.S.true, sp.S.false, sp.S.EmptySet, sp.S.Reals,
    sp.S.Integers, sp.S.Naturals, sp.S.Naturals0, sp.S.UniversalSet, sp.S.Complexes)}
#: Classes registered by symact's own modules (:func:`cacheable`), by qualified name.
_FUNCTIONS: dict[str, type] = {}
_DATACLASSES: dict[str, type] = {}
_NAMES: dict[type, str] = {}


def _rebuild_names() -> None:
    _NAMES.clear()
    _NAMES.update({cls: n for n, cls in _SYMPY.items()})
    _NAMES.update({cls: n for n, cls in _FUNCTIONS.items()})


_rebuild_names()


def cacheable(cls):
    """Let instances of ``cls`` be stored in cache entries; returns ``cls`` (a decorator).

    ``cls`` is a dataclass (stored as its fields, rebuilt without calling
    ``__init__``, as a pickle would) or a SymPy function class (stored as its
    arguments). Only registered classes can be named by an entry: that is what
    keeps a hostile entry from reaching any other class. Registering again
    (a reloaded module) replaces the earlier class of that name.
    """
    name = f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(cls, FunctionClass) and issubclass(cls, sp.Function) and not issubclass(cls, AppliedUndef):
        _FUNCTIONS[name] = cls
        _rebuild_names()
    elif isinstance(cls, type) and dataclasses.is_dataclass(cls) and "__slots__" not in cls.__dict__:
        _DATACLASSES[name] = cls
    else:
        raise TypeError(f"cache.cacheable takes a dataclass (without __slots__) or a sympy "
                        f"Function subclass, not {cls!r}")
    return cls


# --------------------------------------------------------------------------- encoding
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128")}
_DTYPES.update({dt.newbyteorder(">").str: dt.newbyteorder(">") for dt in list(_DTYPES.values())})
_MAX_INT_BITS = int(MAX_DIGITS * math.log2(10)) - 8


def encode(value) -> bytes:
    """The value as the cache's JSON bytes; raises ``TypeError`` for what it cannot
    store exactly (an unregistered class, an object dtype, a huge integer...)."""
    try:
        tree = _Encoder().value(value, 0)
        return json.dumps(tree, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
    except (_Unencodable, RecursionError, ValueError) as exc:
        raise TypeError(f"cannot cache this value: {exc}") from None


class _Encoder:
    def __init__(self):
        self.nodes = 0

    def _count(self, depth: int) -> None:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise _Unencodable("too deep or too large")

    def value(self, v, depth: int):
        self._count(depth)
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            if v.bit_length() > _MAX_INT_BITS:
                raise _Unencodable("an integer with too many digits")
            return v
        if t is float:
            return v if math.isfinite(v) else ["f", struct.pack("<d", v).hex()]
        if t is list or t is tuple:
            return ["L" if t is list else "T"] + [self.value(a, depth + 1) for a in v]
        if t is dict:
            packed = self._float_dict(v)
            if packed is not None:
                return packed
            out = ["D"]
            for k, a in v.items():
                out += [self.value(k, depth + 1), self.value(a, depth + 1)]
            return out
        if t is set or t is frozenset:
            return ["S" if t is set else "FS"] + [self.value(a, depth + 1) for a in v]
        if t is np.ndarray:
            if v.dtype.str not in _DTYPES:
                raise _Unencodable(f"an array of dtype {v.dtype}")
            order = "F" if v.flags.f_contiguous and not v.flags.c_contiguous else "C"
            return ["A", v.dtype.str, list(v.shape), order,
                    base64.b64encode(v.tobytes(order=order)).decode()]
        if isinstance(v, np.generic) and not isinstance(v, np.ndarray):
            if v.dtype.str not in _DTYPES:
                raise _Unencodable(f"a scalar of dtype {v.dtype}")
            return ["N", v.dtype.str, base64.b64encode(v.tobytes()).decode()]
        if isinstance(v, sp.Basic):
            return ["X", self.basic(v, depth + 1)]
        name = f"{t.__module__}.{t.__qualname__}"
        if _DATACLASSES.get(name) is t:
            state = vars(v)
            fields = [f.name for f in dataclasses.fields(t)]
            if sorted(state) != sorted(fields):
                raise _Unencodable(f"{name} holds attributes besides its fields")
            out = ["DC", name]
            for f in fields:
                out += [f, self.value(state[f], depth + 1)]
            return out
        raise _Unencodable(f"a {name} (not a registered class: see cache.cacheable)")

    @staticmethod
    def _float_dict(v: dict):
        """{int: float} (the oracle's rounded values) as two packed arrays."""
        if not v or not all(type(k) is int for k in v) or not all(type(a) is float for a in v.values()):
            return None
        try:
            keys = np.array(list(v), dtype="<i8")
        except OverflowError:
            return None
        vals = np.array(list(v.values()), dtype="<f8")
        return ["DIF", base64.b64encode(keys.tobytes()).decode(), base64.b64encode(vals.tobytes()).decode()]

    def basic(self, e: sp.Basic, depth: int):
        self._count(depth)
        cls = type(e)
        name = cls.__name__
        if _SINGLETONS.get(name) is e:
            return [name]
        if cls is sp.Integer:
            if e.p.bit_length() > _MAX_INT_BITS:
                raise _Unencodable("an Integer with too many digits")
            return ["Integer", str(e.p)]
        if cls is sp.Rational:
            if max(e.p.bit_length(), e.q.bit_length()) > _MAX_INT_BITS:
                raise _Unencodable("a Rational with too many digits")
            return ["Rational", str(e.p), str(e.q)]
        if cls is sp.Float:
            sign, man, exp, bc = e._mpf_
            if bc > MAX_FLOAT_BITS or e._prec > MAX_FLOAT_BITS or abs(exp) > MAX_FLOAT_EXP:
                raise _Unencodable("a Float too large")
            return ["Float", int(sign), format(int(man), "x"), int(exp), int(bc), int(e._prec)]
        if cls is sp.Symbol or cls is sp.Dummy:
            assumptions = dict(e._assumptions_orig)
            if len(e.name) > MAX_NAME or not all(type(a) is bool for a in assumptions.values()):
                raise _Unencodable(f"the symbol {e.name!r}")
            if cls is sp.Symbol:
                return ["Symbol", e.name, assumptions]
            return ["Dummy", e.name, int(e.dummy_index), assumptions]
        args = [self.basic(a, depth + 1) for a in e.args]
        if isinstance(e, AppliedUndef):
            if not _UNDEF_NAME.fullmatch(name) or cls != sp.Function(name):
                raise _Unencodable(f"the undefined function {name!r} (with options)")
            return ["Function", name] + args
        tag = _NAMES.get(cls)
        if tag is None:
            raise _Unencodable(f"the SymPy class {cls.__module__}.{cls.__qualname__} "
                               f"(not on the cache's list: see cache.cacheable)")
        if cls is sp.IndexedBase and (e.offset != 0 or e.strides is not None):
            raise _Unencodable("an IndexedBase with offset or strides")
        return [tag] + args


_UNDEF_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,%d}" % (MAX_NAME - 1))
_DIGITS = re.compile(r"-?[0-9]{1,%d}" % MAX_DIGITS)
_HEX = re.compile(r"[0-9a-f]{1,%d}" % (MAX_FLOAT_BITS // 4 + 1))


# --------------------------------------------------------------------------- decoding
def _json_int(s: str) -> int:
    if len(s) > MAX_DIGITS:
        raise _Reject("an integer with too many digits")
    return int(s)


def _json_constant(s: str):
    raise _Reject(f"{s} in an entry")


def decode(data: bytes):
    """The value :func:`encode` wrote; raises ``ValueError`` for anything else
    (malformed, an unknown class, over a size bound), quickly."""
    try:
        if len(data) > MAX_FILE_BYTES:
            raise _Reject("too large")
        tree = json.loads(data.decode("utf-8"), parse_int=_json_int, parse_constant=_json_constant)
        return _Decoder().value(tree, 0)
    except Exception as exc:  # noqa: BLE001 - SymPy's constructors raise many types; any is a miss
        raise ValueError(f"not a valid cache value: {type(exc).__name__}: {exc}"[:300]) from None


def _need(ok: bool, what: str = "malformed") -> None:
    if not ok:
        raise _Reject(what)


def _int(s) -> int:
    _need(type(s) is str and _DIGITS.fullmatch(s) is not None, "a bad integer")
    return int(s)


def _small_int(v, bound: int) -> int:
    _need(type(v) is int and abs(v) <= bound, "a bad integer")
    return v


def _b64(s) -> bytes:
    _need(type(s) is str and len(s) <= MAX_FILE_BYTES * 2, "bad base64")
    return base64.b64decode(s.encode("ascii"), validate=True)


def _assumptions(d) -> dict:
    _need(type(d) is dict and all(k in _assume_defined and type(a) is bool for k, a in d.items()),
          "bad assumptions")
    return d


class _Decoder:
    def __init__(self):
        self.nodes = 0

    def _count(self, depth: int) -> None:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise _Reject("nested too deeply")
        if self.nodes > MAX_NODES:
            raise _Reject("too many nodes")

    def value(self, v, depth: int):
        self._count(depth)
        t = type(v)
        if v is None or t is bool or t is str or t is int or t is float:
            return v
        _need(t is list and len(v) >= 1 and type(v[0]) is str)
        tag, rest = v[0], v[1:]
        if tag == "L":
            return [self.value(a, depth + 1) for a in rest]
        if tag == "T":
            return tuple(self.value(a, depth + 1) for a in rest)
        if tag == "D":
            _need(len(rest) % 2 == 0)
            items = [self.value(a, depth + 1) for a in rest]
            return dict(zip(items[::2], items[1::2]))
        if tag == "S" or tag == "FS":
            items = [self.value(a, depth + 1) for a in rest]
            return set(items) if tag == "S" else frozenset(items)
        if tag == "f":
            _need(len(rest) == 1 and type(rest[0]) is str and re.fullmatch(r"[0-9a-f]{16}", rest[0]) is not None)
            return struct.unpack("<d", bytes.fromhex(rest[0]))[0]
        if tag == "DIF":
            _need(len(rest) == 2)
            keys, vals = (np.frombuffer(_b64(s), dtype=d) for s, d in zip(rest, ("<i8", "<f8")))
            _need(keys.size == vals.size and keys.size > 0)
            return dict(zip(keys.tolist(), vals.tolist()))
        if tag == "A":
            _need(len(rest) == 4 and rest[0] in _DTYPES and type(rest[1]) is list and len(rest[1]) <= 32
                  and rest[2] in ("C", "F"))
            dt = _DTYPES[rest[0]]
            shape = tuple(_small_int(n, MAX_FILE_BYTES) for n in rest[1])
            _need(all(n >= 0 for n in shape))
            raw = _b64(rest[3])
            _need(len(raw) == math.prod(shape) * dt.itemsize, "array size mismatch")
            return np.frombuffer(raw, dtype=dt).reshape(shape, order=rest[2]).copy(order="K")
        if tag == "N":
            _need(len(rest) == 2 and rest[0] in _DTYPES)
            dt = _DTYPES[rest[0]]
            raw = _b64(rest[1])
            _need(len(raw) == dt.itemsize)
            return np.frombuffer(raw, dtype=dt)[0]
        if tag == "X":
            _need(len(rest) == 1)
            return self.basic(rest[0], depth + 1)
        if tag == "DC":
            _need(len(rest) >= 1 and type(rest[0]) is str)
            cls = _DATACLASSES.get(rest[0])
            _need(cls is not None, f"an unregistered class {rest[0][:80]!r}")
            fields = [f.name for f in dataclasses.fields(cls)]
            _need(rest[1::2] == fields, "fields do not match the class")
            obj = object.__new__(cls)
            obj.__dict__.update({f: self.value(a, depth + 1) for f, a in zip(fields, rest[2::2])})
            return obj
        raise _Reject(f"an unknown tag {tag[:20]!r}")

    def basic(self, node, depth: int) -> sp.Basic:
        self._count(depth)
        _need(type(node) is list and len(node) >= 1 and type(node[0]) is str)
        name, rest = node[0], node[1:]
        single = _SINGLETONS.get(name)
        if single is not None:
            _need(not rest)
            return single
        if name == "Integer":
            _need(len(rest) == 1)
            obj = sp.Integer(_int(rest[0]))
            _need(type(obj) is sp.Integer, "a singleton written as an Integer")
            return obj
        if name == "Rational":
            _need(len(rest) == 2)
            p, q = _int(rest[0]), _int(rest[1])
            _need(q > 1 and math.gcd(p, q) == 1, "a Rational not in lowest terms")
            obj = sp.Rational(p, q)
            _need(type(obj) is sp.Rational)
            return obj
        if name == "Float":
            _need(len(rest) == 5 and type(rest[0]) is int and rest[0] in (0, 1)
                  and type(rest[1]) is str and _HEX.fullmatch(rest[1]) is not None)
            man = int(rest[1], 16)
            exp = _small_int(rest[2], MAX_FLOAT_EXP)
            bc = _small_int(rest[3], MAX_FLOAT_BITS)
            prec = _small_int(rest[4], MAX_FLOAT_BITS)
            _need(prec >= 1 and bc == man.bit_length() and (man % 2 == 1 or (man == 0 and exp == 0 and rest[0] == 0)),
                  "a Float that is not normalized")
            mpf = (rest[0], man, exp, bc)
            obj = sp.Float._new(mpf, prec, zero=False)
            _need(type(obj) is sp.Float and obj._mpf_ == mpf and obj._prec == prec, "a Float that does not rebuild")
            return obj
        if name == "Symbol" or name == "Dummy":
            _need(len(rest) == (2 if name == "Symbol" else 3))
            label = rest[0]
            _need(type(label) is str and len(label) <= MAX_NAME, "a bad symbol name")
            if name == "Symbol":
                return sp.Symbol(label, **_assumptions(rest[1]))
            return sp.Dummy(label, dummy_index=_small_int(rest[1], 1 << 62), **_assumptions(rest[2]))
        if name == "Function":
            _need(len(rest) >= 1 and type(rest[0]) is str and _UNDEF_NAME.fullmatch(rest[0]) is not None)
            args = [self.basic(a, depth + 1) for a in rest[1:]]
            obj = sp.Function(rest[0])(*args)
            _need(obj.args == tuple(args))
            return obj
        cls = _SYMPY.get(name) or _FUNCTIONS.get(name)
        _need(cls is not None, f"an unknown class {name[:80]!r}")
        args = tuple(self.basic(a, depth + 1) for a in rest)
        obj = _build(cls, args)
        _need(type(obj) is cls and obj.args == args, f"a {name} that does not rebuild as written")
        return obj


def _build(cls, args: tuple) -> sp.Basic:
    """``cls`` with exactly ``args``, without evaluation (each class as its own
    ``__new__`` builds it once evaluation is done)."""
    if issubclass(cls, LatticeOp):                      # And, Or, Max, Min, Union, Intersection
        obj = sp.Basic.__new__(cls, *args)
        obj._argset = frozenset(args)
        return obj
    if cls is sp.Add or cls is sp.Mul:
        _need(len(args) >= 2)
        return cls._from_args(args)
    if cls is sp.Pow:
        _need(len(args) == 2 and all(isinstance(a, sp.Expr) for a in args))
        return sp.Pow(*args, evaluate=False)
    if cls in (sp.Sum, sp.Product):
        _need(len(args) >= 2 and all(isinstance(a, sp.Tuple) and len(a) == 3 for a in args[1:]))
        obj = sp.Basic.__new__(cls, *args)
        obj.is_commutative = args[0].is_commutative
        return obj
    if cls is sp.FiniteSet:
        obj = sp.Basic.__new__(cls, *args)
        obj._args_set = set(args)
        return obj
    if cls in (sp.Indexed, sp.IndexedBase, sp.Idx):      # their __new__ sets assumptions and shape
        return cls(*args)
    if cls is sp.Piecewise or not issubclass(cls, Application):
        return sp.Basic.__new__(cls, *args)             # Piecewise, ExprCondPair, Tuple, relationals, sets
    return cls(*args, evaluate=False)                   # functions: also checks the number of arguments


# =========================================================================== entries
def _read(kind: str, parts: tuple[str, ...]):
    """(True, value) for a verified entry, else (False, None).

    The user's directory first. Only where it holds no file for the key (or there
    is none to use) is the packaged seed read; an entry there is verified as any
    other and copied into the user's directory, which then holds every entry a
    run used. A user's entry that fails to verify is a miss, as it always was:
    recomputed and rewritten."""
    folder = _usable(create=False)
    key = _key_bytes(kind, parts)
    if folder is not None:
        state, value, _ = _read_file(_path(folder, kind, key), kind, key)
        if state == "ok":
            return True, value
        if state == "bad":
            stats["miss"] += 1
            return False, None
    if kind in SEED_KINDS:
        seed = seed_directory()
        if seed is not None:
            state, value, body = _read_file(_path(seed, kind, key), kind, key)
            if state == "ok":
                stats["seed"] += 1
                _write(kind, tuple(parts), body)   # creates the user's directory if need be
                return True, value
    stats["miss"] += 1
    return False, None


def _read_file(path: Path, kind: str, key: bytes):
    """("ok", value, body) for the verified entry at ``path``; ("absent", None, None)
    when there is no file; ("bad", None, None) for anything else there."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return "absent", None, None
    except OSError as exc:   # a symlink (O_NOFOLLOW), no permission, ...
        stats["rejected"] += 1
        log.debug("cache entry %s unreadable (recomputing): %s", path.name, exc)
        return "bad", None, None
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            _need(stat.S_ISREG(st.st_mode), "not a regular file")
            _need(st.st_size <= MAX_FILE_BYTES, "too large")
            data = fh.read(MAX_FILE_BYTES + 1)
        value, body = _verify(data, kind, key)
    except (_Reject, OSError, ValueError) as exc:
        stats["rejected"] += 1
        log.debug("cache entry %s rejected (recomputing): %s", path.name, exc)
        return "bad", None, None
    stats["hit"] += 1
    return "ok", value, body


def _verify(data: bytes, kind: str, key: bytes):
    _need(len(data) <= MAX_FILE_BYTES and data.startswith(_MAGIC), "not a symact cache entry")
    end = data.find(b"\n", len(_MAGIC))
    _need(end > 0, "no header")
    try:
        header = json.loads(data[len(_MAGIC):end].decode("ascii"), parse_int=_json_int,
                            parse_constant=_json_constant)
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise _Reject(f"a bad header: {exc}") from None
    _need(type(header) is dict and set(header) == {"kind", "key", "sha256"}, "a bad header")
    _need(header["kind"] == kind and header["key"] == key.decode(), "the entry of another key")
    body = data[end + 1:]
    _need(header["sha256"] == _checksum(key, body), "checksum mismatch")
    return decode(body), body


def _entry(kind: str, parts: tuple[str, ...], body: bytes) -> bytes:
    """The bytes of an entry: the format line, the header (kind, key, SHA-256 over
    key and body) on one line, then the body."""
    key = _key_bytes(kind, parts)
    header = json.dumps({"kind": kind, "key": key.decode(), "sha256": _checksum(key, body)},
                        ensure_ascii=True, separators=(",", ":")).encode()
    return _MAGIC + header + b"\n" + body


def entry_path(kind: str, parts: tuple[str, ...]) -> Path | None:
    """Where the entry for ``kind`` and ``parts`` lives (None when the cache is off)."""
    folder = _directory()
    return None if folder is None else _path(folder, kind, _key_bytes(kind, parts))


def _write(kind: str, parts: tuple[str, ...], body: bytes) -> None:
    folder = _usable(create=True)
    if folder is None:
        return
    data = _entry(kind, parts, body)
    path = _path(folder, kind, _key_bytes(kind, parts))
    try:
        # a temporary file beside it (O_EXCL, 0600 exactly), renamed into place; a link
        # planted at the path is replaced, never written through. No fsync: a torn
        # entry fails its checksum and is a miss.
        fsio.write_file(path, data, mode=0o600, force=True, durable=False, devices=False)
        stats["stored"] += 1
    except WriteError as exc:  # a full disk or a read-only directory: run without the cache
        log.debug("cache entry %s not written: %s", path.name, exc)


def load(kind: str, parts: tuple[str, ...]):
    """The stored value, or None when absent, not verified or the cache is off."""
    return _read(kind, parts)[1]


def store(kind: str, parts: tuple[str, ...], value) -> None:
    """Store ``value`` atomically; a value the format cannot hold, or a cache that
    cannot be written, simply goes uncached."""
    try:
        body = encode(value)
    except TypeError as exc:
        stats["unencodable"] += 1
        log.debug("not caching a %s value: %s", kind, exc)
        return
    _write(kind, parts, body)


def cached(kind: str, parts: tuple[str, ...], compute):
    """``compute()``, memoized on disk under ``kind`` and ``parts`` (strings).

    A fresh value is rebuilt as a pickle round trip would rebuild it (``copy.deepcopy``:
    SymPy nodes are reconstructed with evaluation, so ``Mul(1/2, a + b)`` from a
    simplification distributes, as it did when the cache held pickles), then
    encoded and decoded: what a cold run returns is exactly what a warm run reads
    back, and what an uncached run returns too.
    """
    found, value = _read(kind, parts)
    if found:
        return value
    fresh = copy.deepcopy(compute())
    try:
        body = encode(fresh)
        value = decode(body)
    except (TypeError, ValueError) as exc:
        stats["unencodable"] += 1
        log.debug("not caching a %s value: %s", kind, exc)
        return fresh
    _write(kind, parts, body)
    return value
