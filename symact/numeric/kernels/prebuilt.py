"""Kernels built ahead of time: the generator's decisions for the catalog, as committed files.

``symact build-kernels`` runs the generator (the rest of this package: stabilize,
choose a form by measurement against the oracle, lower, fit, probe) for each
catalog activation at its declared parameter values and writes what it decided
into ``generated/<name>.py`` (:func:`render`, :func:`write`). For f and f' a file
holds:

* each chain's generated source -- float64, float32 and long double -- with the
  constants it runs with and its scratch-buffer counts;
* the limits at +-inf, whether non-finite inputs need the fix-up, the
  long-double intervals, the root polynomials and the erfcx tables (``TABLES``;
  every float written as its ``repr``, which reads back to the same bits);
* the chosen form as SymPy prints it, every measured candidate and the float32
  record (what ``symact show NAME --kernels`` prints);
* for softmax-like kernels, the forward row chains, the source SymPy's printer
  made of the lambdified form (and of the hoisted row expressions), the flags
  saying what the chains read, and the measured candidates.

:func:`load` assembles a kernel from such a file with no SymPy or mpmath work:
it compiles the stored sources in the namespace generated chains run in
(:func:`.lowering._exec_source`). Each file carries a ``KEY`` (:func:`key`): a
digest of the declaration (definition, parameter values, kink conventions) and
of the source of the code that decides a kernel (:func:`code_digest`). A file
whose KEY is not the activation's current one is stale: :func:`load` returns
None and the kernel is generated at run time, as it is for formulas users give
and for other parameter values; :func:`stale` names such files. The text is
byte-reproducible: nothing in it depends on the hash seed or the order of
generation.
"""
from __future__ import annotations

import builtins
import functools
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from symact.numeric.fitting import ErfcxTable, RootPoly
from symact.numeric.kernels.lowering import _NS, _Chain, _exec_source, _RowChain
from symact.numeric.kernels.scalar import ScalarKernel
from symact.numeric.kernels.vector import LAMBDA_FUNCS, ShapedKernel, VectorKernel

#: Where the generated modules live (a package: ``symact.numeric.kernels.generated``).
GENERATED = Path(__file__).resolve().with_name("generated")
#: The command that writes them, named in each file's header.
COMMAND = "symact build-kernels"
#: Version of the file layout (part of every KEY).
FORMAT = 1
#: Folders and files of the ``symact`` package whose source decides a kernel: the
#: numeric code (generator, oracle, fitting, ULP measure, point sets), the symbolic
#: rewrites and derivatives, the primitives, and the Activation record.
DIGEST_DIRS = ("numeric", "symbolic", "primitives")
DIGEST_FILES = ("model/activation.py",)

_PACKAGE = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@functools.cache
def code_digest() -> str:
    """SHA-256 (hex, 16 digits) of the source of every module that decides a kernel
    (:data:`DIGEST_DIRS`, :data:`DIGEST_FILES`; the generated files aside). Read
    once per process: a few hundred kilobytes."""
    files = set()
    for sub in DIGEST_DIRS:
        folder = _PACKAGE / sub
        if folder.is_dir():
            files.update(p for p in folder.rglob("*.py") if GENERATED not in p.parents)
    files.update(_PACKAGE / f for f in DIGEST_FILES)
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(_PACKAGE).as_posix()):
        h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def key(act) -> str:
    """The KEY of ``act``'s kernels: a digest of its declaration (name, definition,
    parameter values, kink conventions) and of :func:`code_digest`. Cheap: no
    derivative, no simplification."""
    decl = [FORMAT, act.name, bool(act.vector), sp.srepr(act.definition),
            sorted((k, sp.srepr(v)) for k, v in act.param_values.items()),
            sorted((sp.srepr(sp.sympify(k)), v) for k, v in act.conventions.items()),
            code_digest()]
    if getattr(act, "shaped", False):
        decl += [act.shape, None if act.jacobian is None else sp.srepr(act.jacobian)]
    return hashlib.sha256(json.dumps(decl).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- encoding
def _ns_name(v) -> str | None:
    """The name under which the chains' namespace (:data:`.lowering._NS`) holds ``v``."""
    return next((k for k, a in _NS.items() if a is v), None)


def _lambda_names(code) -> set[str]:
    """Global names a compiled function (and any code nested in it) looks up."""
    names = set(code.co_names)
    for c in code.co_consts:
        if inspect.iscode(c):
            names |= _lambda_names(c)
    return names


def _lambda_global(name: str):
    """What a name in SymPy's printed (lambdified) source means: one of
    :data:`.vector.LAMBDA_FUNCS`, NumPy itself or one of its names, or a builtin."""
    if name in LAMBDA_FUNCS:
        return LAMBDA_FUNCS[name]
    if name == "numpy":
        return np
    if hasattr(np, name):
        return getattr(np, name)
    if hasattr(builtins, name):
        return getattr(builtins, name)
    raise KeyError(name)


def _plain(v):
    """Record data (choices, float32 record) as plain Python values."""
    if isinstance(v, dict):
        return {str(k): _plain(a) for k, a in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(a) for a in v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if v is None or isinstance(v, str):
        return v
    raise TypeError(f"cannot write {type(v).__name__} into a generated kernel file")


class _Encoder:
    """A built kernel as plain data; erfcx tables are collected once in ``tables``."""

    def __init__(self):
        self.tables: dict[str, dict] = {}
        self._table_names: dict[int, str] = {}

    def const(self, v):
        """A chain constant; :func:`_decode_const` gives back the same value and type."""
        t = type(v)
        if v is None or t in (bool, int, float, str):
            return v
        if t in (tuple, list):
            return t(self.const(a) for a in v)
        if t is np.longdouble:
            s = str(v)
            if np.longdouble(s) != v:  # pragma: no cover - NumPy prints the shortest round-tripping digits
                raise ValueError(f"long double {s} does not read back exactly")
            return {"longdouble": s}
        if t is np.float64:
            return {"float64": float(v)}
        if t is np.ndarray:
            return {"array": str(v.dtype), "values": v.tolist()}
        if t is ErfcxTable:
            return {"erfcx_table": self.table(v)}
        if _ns_name(v) is not None:
            return {"ns": _ns_name(v)}
        raise TypeError(f"cannot write a chain constant of type {t.__name__}")

    def table(self, t: ErfcxTable) -> str:
        if id(t) not in self._table_names:
            d = dict(a=t.a, hi=t.hi, step=t.step, centers=t.centers.tolist(), coeffs=t.coeffs.tolist(),
                     max_ulp=t.max_ulp)
            name = next((n for n, e in self.tables.items() if e == d), None) or f"T{len(self.tables)}"
            self.tables[name] = d
            self._table_names[id(t)] = name
        return self._table_names[id(t)]

    def chain(self, chain):
        if chain is None:
            return None
        fn = chain.fn
        consts = {k: self.const(v) for k, v in fn.__globals__.items()
                  if k not in _NS and k not in ("__builtins__", fn.__name__)}
        return dict(name=fn.__name__, nf=chain.nf, nb=chain.nb, consts=consts, source=chain.source)

    @staticmethod
    def lambdified(fn) -> str:
        """The source SymPy's printer made for ``fn`` (checked to mean the same
        when compiled with :func:`_lambda_global`)."""
        src = inspect.getsource(fn)
        for name in sorted(_lambda_names(fn.__code__)):
            want = fn.__globals__[name] if name in fn.__globals__ else getattr(builtins, name)
            if _lambda_global(name) is not want:
                raise ValueError(f"lambdified name {name!r} would not read back as the same object")
        return src

    def row_chain(self, rc):
        if rc is None:
            return None
        d = self.chain(_Chain(rc.source, rc.fn, rc.nf, rc.nb))
        d["row_fns"] = [self.lambdified(f) for f in rc.row_fns]
        return d

    def kernel(self, k) -> dict:
        if isinstance(k, ShapedKernel):      # hand-written (glu, logsumexp, crelu, sparsemax): nothing generated
            return dict(kind="shaped", name=k.name, shape=k.kind)
        if isinstance(k, VectorKernel):
            return dict(kind="vector", form=k.form, choices=_plain(k.choices),
                        fn=self.lambdified(k.fn), fwd=self.row_chain(k.fwd), fwd_safe=self.row_chain(k.fwd_safe),
                        safe_uses_t=_plain(getattr(k, "safe_uses_t", None)),
                        safe_uses_tl=_plain(getattr(k, "safe_uses_tl", None)), fwd_uses_e=bool(k.fwd_uses_e))
        return dict(kind="scalar", form=k.form, constant=_plain(k.constant), limits=_plain(tuple(k.limits)),
                    fix_nonfinite=bool(k.fix_nonfinite), ld_intervals=[_plain(tuple(iv)) for iv in k.ld_intervals],
                    root_polys=[dict(lo=float(rp.lo), hi=float(rp.hi), r_hi=float(rp.r_hi), r_lo=float(rp.r_lo),
                                     step=float(rp.step), centers=rp.centers.tolist(), coeffs=rp.coeffs.tolist())
                                for rp in k.root_polys],
                    choices=_plain(k.choices), float32=_plain(k.float32),
                    chain64=self.chain(k.chain64), chain32=self.chain(k.chain32), chain_ld=self.chain(k.chain_ld))


# --------------------------------------------------------------------------- the file's text
def _float(v: float) -> str:
    if v != v:
        return "nan"
    if v in (np.inf, -np.inf):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def _lit(v, indent: int = 0) -> str:
    """``v`` (plain data) as a Python literal, laid out for reading: dicts one key
    a line, long lists wrapped, multi-line sources as triple-quoted blocks."""
    pad, inner = " " * indent, " " * (indent + 4)
    if v is None or isinstance(v, bool) or type(v) is int:
        return repr(v)
    if type(v) is float:
        return _float(v)
    if type(v) is str:
        if "\n" in v and v.endswith("\n") and '"""' not in v and "\\" not in v:
            return '"""\\\n' + v + '"""'
        return repr(v)
    if type(v) is dict:
        one = ", ".join(f"{k!r}: {_lit(a, indent + 4)}" for k, a in v.items())
        if "\n" not in one and len(one) + indent < 60:
            return "{" + one + "}"
        return "{\n" + "".join(f"{inner}{k!r}: {_lit(a, indent + 4)},\n" for k, a in v.items()) + pad + "}"
    if type(v) in (list, tuple):
        close = "]" if type(v) is list else ")"
        opn = "[" if type(v) is list else "("
        if not v:
            return "[]" if type(v) is list else "()"
        one = ", ".join(_lit(a, indent + 4) for a in v) + ("," if type(v) is tuple and len(v) == 1 else "")
        if "\n" not in one and len(one) + indent < 100:
            return opn + one + close
        if all(type(a) is float for a in v):
            items = [_float(a) for a in v]
            rows = [", ".join(items[i:i + 4]) for i in range(0, len(items), 4)]
            return opn + "\n" + "".join(f"{inner}{r},\n" for r in rows) + pad + close
        return opn + "\n" + "".join(f"{inner}{_lit(a, indent + 4)},\n" for a in v) + pad + close
    raise TypeError(f"cannot write {type(v).__name__}")


def _text(name: str, k: str, f: dict, df: dict, tables: dict) -> str:
    """The module: header, KEY, the two kernels' data and the shared tables."""
    body = (f"KEY = {k!r}\n\n"
            f"#: f(x): the kernel of {name}\n"
            f"F = {_lit(f)}\n\n"
            f"#: f'(x): the kernel of its derivative\n"
            f"DF = {_lit(df)}\n\n"
            f"#: erfcx tables the chains above name (fields of symact.numeric.fitting.ErfcxTable)\n"
            f"TABLES = {_lit(tables)}\n")
    used = sorted(_nonfinite([f, df, tables]))
    head = (f'"""Generated by `{COMMAND}` from the catalog declaration of {name}; do not edit.\n\n'
            f"What the kernel generator decided for {name} at its declared parameter values, loaded by\n"
            f"symact.numeric.kernels.prebuilt.load without SymPy or mpmath work while KEY matches the\n"
            f"declaration and the generator's code (otherwise the kernels are generated at run time).\n"
            f'"""\n')
    return head + (f"from math import {', '.join(used)}\n" if used else "") + "\n" + body


def _nonfinite(v) -> set[str]:
    """The names (inf, nan) the literal of ``v`` uses."""
    if type(v) is float:
        return set() if np.isfinite(v) else {"nan" if v != v else "inf"}
    if type(v) is dict:
        v = list(v.values())
    if type(v) in (list, tuple):
        return set().union(*(_nonfinite(a) for a in v)) if v else set()
    return set()


def render(name: str, build=None) -> str:
    """The generated file for catalog activation ``name``: both kernels generated
    now, at run time (``build(act, derivative)``, default
    :func:`symact.numeric.kernels.build_kernel`), and written out. Seconds to
    minutes an activation; the oracle's values and the fitted data come from the
    disk cache when there."""
    from symact.model import catalog
    from symact.numeric.kernels import build_kernel

    build = build or build_kernel
    act = catalog.get(name)
    enc = _Encoder()
    f = enc.kernel(build(act, False))
    df = enc.kernel(build(act, True))
    return _text(act.name, key(act), f, df, enc.tables)


def path_for(name: str, directory: Path | str | None = None) -> Path:
    return Path(directory if directory is not None else GENERATED) / f"{name}.py"


def write(name: str, directory: Path | str | None = None) -> tuple[Path, bool]:
    """Regenerate ``name``'s file (atomically: a temporary file beside it, then
    ``os.replace``); (path, whether its text changed)."""
    text = render(name)
    path = path_for(name, directory)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())     # mkstemp made it private; a source file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _forget(name)
    return path, True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def orphans(names, directory: Path | str | None = None) -> list[Path]:
    """Generated files in ``directory`` for no name in ``names``."""
    folder = Path(directory if directory is not None else GENERATED)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py" and p.stem not in set(names))


def remove(path: Path) -> None:
    """Delete an orphaned generated file."""
    path.unlink()
    _forget(path.stem)


@dataclass(frozen=True)
class Problem:
    """A generated file that regenerating would change."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


def check(name: str, directory: Path | str | None = None, build=None) -> Problem | None:
    """Regenerate ``name``'s file in memory (``build`` as for :func:`render`); a
    :class:`Problem` when the file on disk is missing or differs (stale KEY, or
    the same KEY and other text)."""
    path = path_for(name, directory)
    want = render(name, build)
    if not path.is_file():
        return Problem(str(path), f"missing: run `{COMMAND} {name}`")
    have = path.read_text(encoding="utf-8")
    if have == want:
        return None
    hk, wk = _key_line(have), _key_line(want)
    if hk != wk:
        return Problem(str(path), f"stale: its KEY is {hk or 'absent'}, the declaration and code now give "
                                  f"{wk}; run `{COMMAND} {name}`")
    line = next(i for i, (a, b) in enumerate(zip(have.splitlines() + [""], want.splitlines() + [""]), 1) if a != b)
    return Problem(str(path), f"same KEY, other text from line {line} on (regenerating is not reproducible "
                              f"here); run `{COMMAND} {name}` and review the diff")


def _key_line(text: str) -> str | None:
    m = re.search(r"^KEY = '([0-9a-f]+)'$", text, re.M)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- loading
_MODULES: dict[str, object] = {}


def _forget(name: str) -> None:
    _MODULES.pop(name, None)
    sys.modules.pop(f"{__package__}.generated.{name}", None)
    importlib.invalidate_caches()


def _module(name: str):
    """The generated module for ``name``, or None when there is none."""
    if name not in _MODULES:
        mod = None
        if _NAME.fullmatch(name) and (GENERATED / f"{name}.py").is_file():
            mod = importlib.import_module(f"{__package__}.generated.{name}")
        _MODULES[name] = mod
    return _MODULES[name]


def current(act) -> bool:
    """Whether ``act`` has a generated file whose KEY is its current one."""
    mod = _module(act.name)
    return mod is not None and getattr(mod, "KEY", None) == key(act)


def load(act, derivative: bool = False):
    """``act``'s kernel (f, or f' with ``derivative``) from its generated file, or
    None when it has none or the file's KEY is not :func:`key` of ``act`` (other
    parameter values, another definition, changed code). Compiles the stored
    sources; no SymPy or mpmath work."""
    if not current(act):
        return None
    mod = _module(act.name)
    data = mod.DF if derivative else mod.F
    tables = _tables(mod)
    if data["kind"] == "shaped":
        return ShapedKernel(data["name"], derivative)
    if data["kind"] == "vector":
        return VectorKernel.from_parts(
            act, derivative, data["form"], _lambda(data["fn"], act.name), _row_chain(data["fwd"], tables),
            _row_chain(data["fwd_safe"], tables), data["safe_uses_t"], data["safe_uses_tl"], data["fwd_uses_e"],
            [dict(c) for c in data["choices"]])
    return ScalarKernel(
        data["form"], data["constant"], _chain(data["chain64"], tables), _chain(data["chain32"], tables),
        _chain(data["chain_ld"], tables), tuple(data["limits"]), data["fix_nonfinite"],
        [tuple(iv) for iv in data["ld_intervals"]],
        [RootPoly(rp["lo"], rp["hi"], rp["r_hi"], rp["r_lo"], rp["step"], np.array(rp["centers"], np.float64),
                  np.array(rp["coeffs"], np.float64)) for rp in data["root_polys"]],
        [dict(c) for c in data["choices"]], dict(data["float32"]))


def _tables(mod) -> dict:
    if not hasattr(mod, "_decoded_tables"):
        mod._decoded_tables = {
            n: ErfcxTable(t["a"], t["hi"], t["step"], np.array(t["centers"], np.float64),
                          np.array(t["coeffs"], np.float64), t["max_ulp"]) for n, t in mod.TABLES.items()}
    return mod._decoded_tables


def _decode_const(v, tables):
    if type(v) in (tuple, list):
        return type(v)(_decode_const(a, tables) for a in v)
    if type(v) is not dict:
        return v
    if "longdouble" in v:
        return np.longdouble(v["longdouble"])
    if "float64" in v:
        return np.float64(v["float64"])
    if "array" in v:
        return np.array(v["values"], dtype=np.dtype(v["array"]))
    if "erfcx_table" in v:
        return tables[v["erfcx_table"]]
    if "ns" in v:
        return _NS[v["ns"]]
    raise ValueError(f"unknown constant {v!r}")


def _chain(d, tables, label="kernel"):
    if d is None:
        return None
    consts = {k: _decode_const(v, tables) for k, v in d["consts"].items()}
    return _Chain(d["source"], _exec_source(d["source"], d["name"], label, consts), d["nf"], d["nb"])


def _lambda(src: str, name: str):
    """The function a stored lambdified source defines, its names read as
    :func:`_lambda_global` reads them (as :meth:`_Encoder.lambdified` checked)."""
    fname = re.match(r"def (\w+)\(", src).group(1)
    code = compile(src, f"<symact lambdified {name}>", "exec")
    ns = {n: _lambda_global(n) for n in _lambda_names(code) - {fname}}
    exec(code, ns)
    return ns[fname]


def _row_chain(d, tables):
    if d is None:
        return None
    c = _chain(d, tables, "row kernel")
    rc = _RowChain.__new__(_RowChain)
    rc.source, rc.fn, rc.nf, rc.nb = c.source, c.fn, c.nf, c.nb
    rc.row_fns = [_lambda(s, d["name"]) for s in d["row_fns"]]
    return rc
