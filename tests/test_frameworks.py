"""The frameworks' table (symact.model.frameworks) against the catalog and against the
frameworks themselves.

* Consistency, always: every row names a catalog entry and its parameters; every catalog entry
  has a row per framework of FRAMEWORKS (shipped or not); the spellings derived from the table
  are unambiguous; a framework spelling never shadows a catalog name or alias.
* PyTorch and JAX, where installed (skipped with the reason otherwise): every name the table
  gives exists, its signature's defaults are the table's, its values at ordinary inputs (a grid
  in [-6, 6], the defaults and one other set of parameters; vector entries on small rows) agree
  with symact's kernel within a relative 1e-6 in float64 (the frameworks are accurate there),
  and its autograd at the kinks gives the table's f'(kink).
  That catches a catalog definition that misreads a framework.

Keras and TensorFlow are not installed here: their rows are checked against the catalog only.
"""
from __future__ import annotations

import importlib
import inspect
from fractions import Fraction

import numpy as np
import pytest

import symact
from symact.model import catalog, frameworks, spellings

try:
    import torch
    import torch.nn.functional  # noqa: F401
    TORCH_MISSING = None
except ImportError as exc:   # pragma: no cover - CI installs torch
    torch, TORCH_MISSING = None, f"PyTorch is not installed ({exc})"
try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.special  # noqa: F401
    JAX_MISSING = None
except ImportError as exc:   # pragma: no cover - CI installs JAX
    jax, JAX_MISSING = None, f"JAX is not installed ({exc})"

GRID = np.linspace(-6.0, 6.0, 241)   # step 0.05: every kink of the catalog's defaults is on it
RTOL, ATOL = 1e-6, 1e-12


def _skip_missing(fw):
    reason = {"torch": TORCH_MISSING, "jax": JAX_MISSING}[fw]
    if reason:
        print(f"skipped: {reason}")
        pytest.skip(reason)


# ====================================================================== consistency
def test_every_row_names_a_catalog_entry_and_its_parameters():
    names = set(catalog.names())
    for r in frameworks.ROWS:
        assert r.entry in names, f"{r.framework} row names no catalog entry {r.entry!r}"
        assert r.framework in frameworks.FRAMEWORKS + frameworks.EXTRA_FRAMEWORKS, r
        declared = {p.name for p in catalog.get(r.entry).params}
        assert set(r.params) <= declared, (r.entry, r.framework, set(r.params) - declared)
        for _kw, d in r.params.values():
            assert d in (None, "None") or Fraction(d) is not None
        assert all(n.count(".") >= 1 for n in r.names), r.names


def test_every_catalog_entry_has_a_row_per_framework():
    for name in catalog.names():
        for fw in frameworks.FRAMEWORKS:
            assert frameworks.rows(name, fw), f"{name} has no {fw} row (shipped or not)"


def test_spellings_come_from_the_table_and_are_unambiguous():
    assert spellings.SPELLINGS["leaky_relu"]["negative_slope"] == ("alpha", "slope", "a")
    assert spellings.SPELLINGS["hard_sigmoid"] == {"slope": ("alpha",), "offset": ("beta",)}
    assert spellings.FLAGS["gelu"] == {"approximate": {"str": "none", "bool": False}}
    assert spellings.FLAGS["gelu_tanh"] == {"approximate": {"str": "tanh", "bool": True}}
    assert spellings.SPELLINGS["hardshrink"]["lambd"] == ("threshold",)   # Keras 3 hard_shrink
    for name in catalog.names():
        act = catalog.get(name)
        seen = {}
        for p in act.params:
            for s in spellings.spellings(act, p.name):
                assert seen.setdefault(s, p.name) == p.name, f"{name}: {s!r} spells two parameters"


def test_framework_spellings_are_aliases_and_never_shadow_the_catalog():
    cases = {"torch.nn.Hardshrink": "hardshrink", "torch.nn.functional.hardshrink": "hardshrink",
             "jax.nn.hard_silu": "hard_swish", "hard_silu": "hard_swish", "hardswish": "hard_swish",
             "logsigmoid": "log_sigmoid", "swish": "silu", "hardtanh": "hard_tanh", "F.gelu": "gelu",
             "torch.nn.GELU": "gelu", "jax.nn.gelu": "gelu_tanh", "keras.activations.gelu": "gelu",
             "soft_sign": "softsign", "keras.activations.relu": "relu", "TORCH.NN.LEAKYRELU": "leaky_relu"}
    for spelled, entry in cases.items():
        if entry in catalog.names():
            assert catalog.canonical(spelled) == entry, spelled
    names, al = catalog.names(), catalog.aliases()
    for spelled, entry in frameworks.aliases(names, al).items():
        assert spelled not in names and spelled not in al, spelled
        assert catalog.canonical(spelled) == entry
    for n in names:                                  # the catalog's own names still win
        assert catalog.canonical(n) == n


def test_a_framework_spelling_binds_that_frameworks_defaults():
    assert catalog.get("keras.activations.leaky_relu").param_values["negative_slope"] == Fraction(1, 5)
    assert catalog.get("tf.nn.leaky_relu").param_values["negative_slope"] == Fraction(1, 5)
    assert catalog.get("keras.layers.LeakyReLU").param_values["negative_slope"] == Fraction(3, 10)
    assert catalog.get("tf.keras.activations.hard_sigmoid").param_values["slope"] == Fraction(1, 5)
    assert catalog.get("torch.nn.LeakyReLU").is_default
    assert catalog.get("keras.activations.leaky_relu", negative_slope="0.1").param_values["negative_slope"] \
        == Fraction(1, 10)


def test_differences_state_the_conventions_with_values():
    def diffs(entry, fw):
        act = catalog.get(entry)
        return [t for r in frameworks.rows(entry, fw) for t in frameworks.differences(r, act)]

    assert "f'(0) = 1 (symact: 1/100)" in diffs("leaky_relu", "jax")
    assert diffs("leaky_relu", "torch") == []
    assert any("negative_slope = 0.2" in t for t in diffs("leaky_relu", "keras"))
    assert "f'(1) = 1 (symact: 0)" in diffs("hard_tanh", "jax")
    assert any("approximate=False" in t for t in diffs("gelu", "jax"))
    assert any("slope = 0.2" in t for t in diffs("hard_sigmoid", "keras2"))
    assert diffs("relu", "torch") == [] and diffs("relu", "jax") == []      # relu'(0) = 0 everywhere
    assert any("threshold" in n and "20" in n for r in frameworks.rows("softplus", "torch") for n in r.notes)


# ====================================================================== the frameworks themselves
def _resolve(dotted: str):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def _tested_rows(fw):
    return [r for r in frameworks.rows(framework=fw) if r.shipped and r.entry in catalog.names()]


def _defaults(obj) -> dict:
    try:
        sig = inspect.signature(obj.__init__ if isinstance(obj, type) else obj)
    except (TypeError, ValueError):   # a builtin without a signature (torch's gelu, softplus, ...)
        return {}
    return {k: p.default for k, p in sig.parameters.items()}


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_the_names_exist_with_the_tables_defaults(fw):
    _skip_missing(fw)
    for r in _tested_rows(fw):
        for name in r.names:
            obj = _resolve(name)
            sig = _defaults(obj)
            if not sig:
                continue
            for p, (kw, d) in r.params.items():
                if kw is None:
                    continue
                assert kw in sig, f"{name} takes no {kw}"
                if d is None:
                    assert sig[kw] is inspect.Parameter.empty, f"{name}: {kw} has a default {sig[kw]}"
                elif d == "None":
                    assert sig[kw] is None, (name, kw)
                else:
                    assert float(sig[kw]) == pytest.approx(float(Fraction(d)), rel=1e-15), (name, kw)
            for kw, (_v, default) in r.select.items():
                assert sig[kw] == default, (name, kw, sig[kw])
            for kw, text in r.extra.items():
                if kw in sig and sig[kw] is not inspect.Parameter.empty:
                    assert repr(sig[kw]) == text or str(sig[kw]) == text, (name, kw, sig[kw], text)


def _param_sets(act):
    """The catalog's defaults and one other set (each default 3/2 times, or 1/4 where 0)."""
    defaults = {p.name: Fraction(int(p.default.p), int(p.default.q)) for p in act.params}
    other = {k: (v * Fraction(3, 2) if v else Fraction(1, 4)) for k, v in defaults.items()}
    return [defaults] + ([other] if other else [])


def _applicable(r, act, values):
    """The keyword arguments that make ``r``'s function compute ``act`` at ``values``, or None
    where the framework cannot express them (a parameter it fixes at another value)."""
    kwargs = {}
    for p in act.params:
        v = values[p.name]
        if p.name in r.params and r.params[p.name][0] is not None:
            kwargs[r.params[p.name][0]] = v
        else:
            fixed = r.params.get(p.name, (None, None))[1]
            fixed = Fraction(fixed) if fixed not in (None, "None") else Fraction(int(p.default.p), int(p.default.q))
            if v != fixed:
                return None
    for kw, (value, _default) in r.select.items():
        kwargs[kw] = value
    return kwargs


def _inputs(act):
    if not act.vector:
        return GRID
    rng = np.random.default_rng(16)
    rows = rng.uniform(-6, 6, size=(6, 4))
    return np.vstack([rows, [[1.0, 1.0, 1.0, 1.0], [0.5, -0.5, 2.0, 2.0], [-6.0, 6.0, 0.0, 3.0]]])


def _symact_values(act, x):
    y = np.asarray(symact.kernel(act)(x), dtype=np.float64)
    return y


def _compare(name, got, want):
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape and got.size == want.size:
        got = got.reshape(want.shape)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)


def _torch_call(name, obj, x, kwargs, vector):
    t = torch.tensor(x, dtype=torch.float64)
    kw = {k: (float(v) if isinstance(v, Fraction) else v) for k, v in kwargs.items()}
    if isinstance(obj, type):
        if vector:
            kw["dim"] = -1
        return obj(**kw).double().eval()(t).detach().numpy()
    if name == "torch.nn.functional.prelu":
        kw["weight"] = torch.tensor([kw["weight"]], dtype=torch.float64)
    if name == "torch.heaviside":
        kw["values"] = torch.tensor(kw["values"], dtype=torch.float64)
    if vector:
        kw["dim"] = -1
    return obj(t, **kw).detach().numpy()


def _jax_call(name, obj, x, kwargs, vector):
    kw = {k: (float(v) if isinstance(v, Fraction) else v) for k, v in kwargs.items()}
    if vector:
        kw["axis"] = -1
    with jax.enable_x64(True):
        if name == "jax.numpy.heaviside":   # x2 is positional-only
            return np.asarray(obj(jnp.asarray(x, dtype=jnp.float64), kw.pop("x2")))
        return np.asarray(obj(jnp.asarray(x, dtype=jnp.float64), **kw))


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_values_agree_with_the_frameworks(fw):
    _skip_missing(fw)
    call = _torch_call if fw == "torch" else _jax_call
    checked = 0
    for r in _tested_rows(fw):
        act0 = catalog.get(r.entry)
        for values in _param_sets(act0):
            kwargs = _applicable(r, act0, values)
            if kwargs is None:
                continue
            act = act0.with_params(**values) if values else act0
            x = _inputs(act)
            want = _symact_values(act, x)
            for name in r.names:
                got = call(name, _resolve(name), x, kwargs, act.vector)
                _compare(f"{name}({kwargs}) vs symact {act}", got, want)
                checked += 1
    assert checked >= 20


def _torch_grad(name, obj, x, kwargs):
    t = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    kw = {k: (float(v) if isinstance(v, Fraction) else v) for k, v in kwargs.items()}
    if isinstance(obj, type):
        y = obj(**kw).double().eval()(t.reshape(1))
    else:
        if name == "torch.nn.functional.prelu":
            kw["weight"] = torch.tensor([kw["weight"]], dtype=torch.float64)
        y = obj(t.reshape(1), **kw)
    y.sum().backward()
    return t.grad.item()


def _jax_grad(name, obj, x, kwargs):
    kw = {k: (float(v) if isinstance(v, Fraction) else v) for k, v in kwargs.items()}
    with jax.enable_x64(True):
        return float(jax.grad(lambda v: obj(v, **kw))(jnp.float64(x)))


@pytest.mark.parametrize("fw", ["torch", "jax"])
def test_the_frameworks_derivative_at_the_kinks_is_the_tables(fw):
    _skip_missing(fw)
    grad = _torch_grad if fw == "torch" else _jax_grad
    checked = 0
    for r in _tested_rows(fw):
        if not r.derivative:
            continue
        act = catalog.get(r.entry)
        values = {p.name: Fraction(int(p.default.p), int(p.default.q)) for p in act.params}
        values.update({k: v for k, v in frameworks.bound_defaults(r, act).items()})
        kwargs = _applicable(r, act, values)
        assert kwargs is not None, r
        for name in r.names:
            for point, slope in r.derivative.items():
                got = grad(name, _resolve(name), float(point), kwargs)
                assert got == pytest.approx(float(slope), rel=1e-12, abs=1e-15), (name, point, got, slope)
                checked += 1
    assert checked >= 10
