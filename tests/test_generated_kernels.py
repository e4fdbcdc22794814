"""The prebuilt kernels (symact/numeric/kernels/generated/, written by ``symact build-kernels``).

- the committed files are current: regenerating in memory gives the same text for every catalog
  activation (as tests/test_proofs.py does for proofs/);
- a kernel loaded from its file gives the bits of the kernel generated at run time (f and f',
  float64 and float32, on the bench input and edge values);
- loading does no SymPy or mpmath work;
- a stale KEY, other parameter values or a user's formula generate at run time;
- the generated text does not depend on PYTHONHASHSEED; the command writes and checks files.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symact.cli import capture
from symact.model import catalog
from symact.numeric import kernels
from symact.numeric.kernels import prebuilt
from symact.numeric.points import bench_input, sample_points

NAMES = catalog.names()
ROOT = Path(__file__).resolve().parent.parent
REGENERATE = f"run `{prebuilt.COMMAND}` and review the diff"


@functools.cache
def _built(name: str, derivative: bool):
    """The kernel generated at run time (shared by the tests below: generating is the cost)."""
    return kernels.build_kernel(catalog.get(name), derivative)


def _fresh(act):
    """A copy of ``act`` with nothing computed yet (no cached derivative)."""
    return dataclasses.replace(act)


def _loaded(name: str, derivative: bool):
    k = prebuilt.load(catalog.get(name), derivative)
    assert k is not None, f"{prebuilt.path_for(name)} is missing or stale: {REGENERATE}"
    return k


def test_every_catalog_activation_has_a_current_file():
    """Cheap: every KEY matches (the declaration and the generator's code are those the files were
    made from), and no file is left for a name the catalog no longer has."""
    stale = [name for name in NAMES if not prebuilt.current(catalog.get(name))]
    assert not stale, f"missing or stale prebuilt kernels: {', '.join(stale)}; {REGENERATE}"
    assert not prebuilt.orphans(NAMES), REGENERATE


@pytest.mark.parametrize("name", NAMES)
def test_committed_file_is_what_regenerating_writes(name):
    """Byte for byte, like `symact build-kernels --check`."""
    problem = prebuilt.check(name, build=lambda act, d: _built(act.name, d))
    assert problem is None, f"{problem}"


def _inputs(act, dtype):
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, 1.7e308, -1.7e308, 709.78, -745.2,
             88.7, -103.9, 1e-40, -1e-40]
    with np.errstate(over="ignore"):
        x = np.concatenate([np.array(edges).astype(dtype), bench_input(300_007, dtype)]
                           + ([] if act.vector else [sample_points(act, dtype)]))
    if act.vector:
        n = x.size - x.size % 50
        return x[:n].reshape(-1, 50)
    return x


@pytest.mark.parametrize("name", NAMES)
def test_loaded_kernel_gives_the_generated_bits(name):
    act = catalog.get(name)
    for derivative in (False, True):
        built, loaded = _built(name, derivative), _loaded(name, derivative)
        for dtype in (np.float64, np.float32):
            x = _inputs(act, dtype)
            if act.vector and derivative:
                x = x[:200]
            want, got = built(x), loaded(x)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(want.view(np.uint8), got.view(np.uint8)), (name, derivative, dtype)
            out = np.empty_like(want)
            assert loaded(x, out=out) is out and np.array_equal(out.view(np.uint8), want.view(np.uint8))
        assert kernels.describe_kernel(loaded) == kernels.describe_kernel(built)


def test_loaded_vector_kernel_derives_its_sympy_form_when_asked():
    """codegen reads VectorKernel.stable and .symbols; a loaded kernel derives them on first use."""
    loaded, built = _loaded("softmax", True), _built("softmax", True)
    assert "stable" not in vars(loaded)
    assert loaded.stable == built.stable and loaded.symbols == built.symbols and str(loaded.stable) == loaded.form
    with pytest.raises(AttributeError):
        loaded.no_such_attribute


def _forbid(monkeypatch):
    """Make every step of run-time generation raise."""
    from symact.numeric import fitting, oracle
    from symact.numeric.kernels import lowering, scalar, selection, vector

    def boom(*args, **kwargs):
        raise AssertionError("SymPy or mpmath work while loading a prebuilt kernel")

    for mod, attr in [(kernels, "build_kernel"), (kernels, "stable_expr"), (scalar, "_build_scalar"),
                      (scalar, "choose_form"), (scalar, "root_polys"), (selection, "choose_form"),
                      (lowering, "_compile_chain"), (lowering, "erfcx_table"), (fitting, "_root_polys"),
                      (fitting, "_fit_erfcx_table"), (fitting, "erfcx_table"), (kernels.rw, "stabilize"),
                      (oracle, "Oracle"), (oracle, "oracle_reference"), (sp, "lambdify"), (sp, "simplify"),
                      (sp, "cse"), (vector.VectorKernel, "__init__"), (lowering._RowChain, "__init__"),
                      (lowering._Gen, "__init__")]:
        monkeypatch.setattr(mod, attr, boom)
    import mpmath
    monkeypatch.setattr(mpmath, "findroot", boom)


def test_loading_does_no_sympy_or_mpmath_work(monkeypatch):
    monkeypatch.setattr(kernels, "_CACHE", {})
    monkeypatch.setattr(prebuilt, "_MODULES", {})
    _forbid(monkeypatch)
    for name in NAMES:
        act = _fresh(catalog.get(name))
        for derivative in (False, True):
            k = kernels.kernel_for(act, derivative)
            assert np.isfinite(k(np.linspace(-3, 3, 42 if act.shape == "half" else 41))).all()   # glu: even
        assert "derivative" not in act.__dict__     # the cached_property was never computed
        kernels.describe(act, True)


def test_stale_key_other_parameters_and_formulas_generate_at_run_time(monkeypatch):
    calls = []
    real = kernels.build_kernel

    def counting(act, derivative=False):
        calls.append((act.name, derivative))
        return real(act, derivative)

    monkeypatch.setattr(kernels, "build_kernel", counting)
    monkeypatch.setattr(kernels, "_CACHE", {})
    sig = catalog.get("sigmoid")
    assert prebuilt.current(sig)
    kernels.kernel_for(sig)
    assert calls == []
    # other parameter values: another KEY, no file for them
    leaky = catalog.get("leaky_relu").with_params(negative_slope="1/5")
    assert not prebuilt.current(leaky) and prebuilt.load(leaky) is None
    x = np.array([-2.0, -0.5, 0.0, 3.0])
    assert kernels.kernel_for(leaky)(x).tolist() == [-0.4, -0.1, 0.0, 3.0]
    # a formula under a catalog name: its definition is not the declaration
    swish = dataclasses.replace(sig, definition=sig.definition * 2)
    assert prebuilt.load(swish) is None
    # a stale KEY (the code or the declaration changed since the file was written)
    monkeypatch.setattr(kernels, "_CACHE", {})
    monkeypatch.setattr(prebuilt, "key", lambda act: "0" * 32)
    assert not prebuilt.current(sig) and prebuilt.load(sig) is None
    k = kernels.kernel_for(sig, True)
    assert calls[-1] == ("sigmoid", True)
    assert np.array_equal(k(x), _built("sigmoid", True)(x))
    assert ("leaky_relu", False) in calls


def test_key_is_cheap_and_names_the_declaration():
    act = catalog.get("elu")
    k = prebuilt.key(act)
    assert k == prebuilt.key(_fresh(act)) and len(k) == 32
    assert prebuilt.key(act.with_params(alpha=2)) != k
    assert prebuilt.key(act.with_params(alpha=1)) == k          # the default, given explicitly
    assert "derivative" not in _fresh(act).__dict__


def test_regenerating_does_not_depend_on_the_hash_seed():
    """Scratch-register names once followed set order; two processes with different seeds
    (and another generation order) write the same text."""
    script = ("import sys; from symact.numeric.kernels import prebuilt\n"
              "for n in sys.argv[1:]: sys.stdout.write(prebuilt.render(n))\n")
    texts = []
    for seed, names in (("1", ["mish", "silu"]), ("12345", ["silu", "mish"])):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        texts.append(subprocess.run([sys.executable, "-c", script, *names], env=env, cwd=ROOT,
                                    capture_output=True, text=True, check=True, timeout=600).stdout)
    first = texts[0].split('"""Generated')
    second = texts[1].split('"""Generated')
    assert sorted(first) == sorted(second) and len(first) == 3


def test_build_kernels_command_writes_and_checks(tmp_path):
    code, out, _ = capture(["build-kernels", "--check", "--dir", str(tmp_path), "step"])
    assert code == 1 and f"STALE {tmp_path / 'step.py'}: missing" in out
    code, out, _ = capture(["build-kernels", "heaviside", "identity", "--dir", str(tmp_path)])
    assert code == 0 and out.splitlines() == [f"wrote {tmp_path / 'step.py'}", f"wrote {tmp_path / 'identity.py'}"]
    assert (tmp_path / "step.py").read_text() == prebuilt.path_for("step").read_text()
    assert (tmp_path / "step.py").read_text().splitlines()[0] == (
        '"""Generated by `symact build-kernels` from the catalog declaration of step; do not edit.')
    assert capture(["build-kernels", "--check", "--dir", str(tmp_path), "step", "identity"])[0] == 0
    text = (tmp_path / "step.py").read_text()
    (tmp_path / "step.py").write_text(text.replace(f"KEY = '{prebuilt.key(catalog.get('step'))}'", "KEY = '0'"))
    code, out, _ = capture(["build-kernels", "--check", "--dir", str(tmp_path), "step"])
    assert code == 1 and "stale: its KEY is 0" in out
    code, out, _ = capture(["build-kernels", "step", "--dir", str(tmp_path)])
    assert code == 0 and (tmp_path / "step.py").read_text() == text
    assert capture(["build-kernels", "identity", "--dir", str(tmp_path)])[1].startswith("unchanged")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary file left
