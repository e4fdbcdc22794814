"""`symact.check(name, impl=None, grad_impl=None, **options)`: the command line's check as a
Python call. Its report's to_dict() is the document `symact check ... --json` prints."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symact
from symact.cli import capture
from symact.errors import SymactError

ROOT = Path(__file__).resolve().parents[1]
STYLES = ROOT / "tests" / "impls" / "params_styles.py"


def as_json(rep) -> dict:
    """The report as --json writes it (dump_json's default=str), read back."""
    return json.loads(json.dumps(rep.to_dict(), default=str))


def cli_json(*argv) -> tuple[int, dict]:
    code, out, err = capture(["check", *argv, "--json"])
    assert "Traceback" not in err and "internal error" not in err, err
    return code, json.loads(out)


def test_import_symact_stays_light():
    code = ("import sys, symact; assert callable(symact.check); "
            "print(sorted(m for m in sys.modules if m.startswith(('symact.reports', 'symact.verify', "
            "'symact.sandbox', 'symact.analysis'))))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stderr


def test_without_an_implementation_it_is_the_cli_check():
    rep = symact.check("relu", examples=60, seed=5)
    code, doc = cli_json("relu", "--examples", "60", "--seed", "5")
    assert as_json(rep) == doc and rep.ok and code == 0


def test_a_spec_string_runs_confined_and_gives_the_clis_document():
    spec = f"{STYLES}:leaky_relu_keras"
    opts = dict(params={"alpha": "0.1"}, seed=3, examples=80, dtypes="float64", trust=True)
    rep = symact.check("leaky_relu", impl=spec, **opts)
    code, doc = cli_json("leaky_relu", "--impl", spec, "--param", "alpha=0.1", "--seed", "3", "--examples", "80",
                         "--dtype", "float64", "--trust")
    assert as_json(rep) == doc and code == 0 and rep.ok
    assert doc["execution"]["mode"] in ("confined", "unconfined")
    assert doc["calls"]["impl"]["called_with"] == {"alpha": "0.1"}


def test_a_failing_spec_gives_the_same_failure_as_the_cli():
    spec = f"{STYLES}:leaky_relu_fixed"
    rep = symact.check("leaky_relu", impl=spec, params={"negative_slope": 0.25}, examples=60, dtypes=["float64"],
                       trust=True)
    code, doc = cli_json("leaky_relu", "--impl", spec, "--param", "negative_slope=0.25", "--examples", "60",
                         "--dtype", "float64", "--trust")
    assert code == 1 and not rep.ok and as_json(rep) == doc


def test_a_callable_is_called_in_this_process_with_the_parameters():
    seen = []

    def leaky(x, alpha=0.3):
        seen.append(alpha)
        return np.where(x >= 0, x, alpha * x)

    rep = symact.check("leaky_relu", impl=leaky, params={"negative_slope": "1/5"}, examples=60, dtypes="float64")
    d = rep.to_dict()
    assert rep.ok and set(seen) == {0.2}                 # the catalog's spelling reached `alpha`
    assert d["execution"]["mode"] == "in-process" and d["calls"]["impl"]["called_with"] == {"alpha": "0.2"}
    assert [t["called_with"] for t in d["tests"] if t["name"] == "impl[float64]"] == [{"alpha": "0.2"}]

    bad = symact.check("sigmoid", impl=np.tanh, examples=60, dtypes="float64")
    assert not bad.ok and [t.passed for t in bad.tests if t.name == "impl[float64]"] == [False]


def test_a_class_and_a_grad_callable():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("params_styles_for_api", STYLES)
    mod = module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep = symact.check("leaky_relu", impl=mod.LeakyReLU, grad_impl=mod.leaky_relu_grad_keras,
                       params={"alpha": 0.125}, examples=60, dtypes="float64")
    calls = rep.to_dict()["calls"]
    assert rep.ok, [t.to_dict() for t in rep.tests if not t.passed]
    assert calls["impl"]["text"] == "called as LeakyReLU(negative_slope=0.125)(x)"
    assert calls["grad_impl"]["called_with"] == {"alpha": "0.125"}


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(bogus=1, examples=10), TypeError, "unknown option bogus; it takes params, timeout"),
    (dict(negative_slope=0.1), TypeError, "unknown option negative_slope"),   # parameters go in params=
    (dict(impl=42), TypeError, "impl must be a callable or a SPEC string"),
    (dict(params=[("alpha", 1)]), TypeError, "params must be a dict"),
    (dict(jobs=0), TypeError, "jobs must be a whole number"),
    (dict(examples=0), SymactError, "--examples must be at least 1"),
    (dict(params={"leak": 1}), SymactError, "has no parameter 'leak'"),
    (dict(params={"alpha": 1, "negative_slope": 2}), SymactError, "both set"),
    (dict(impl="no/such/file.py:f"), SymactError, "no file"),
    (dict(impl=f"{STYLES}:Scaled", trust=True), SymactError, "Scaled() needs argument scale"),
    (dict(impl=f"{STYLES}:Sigmoid.forward", trust=True), SymactError, "unbound method"),
])
def test_bad_options(kwargs, error, words):
    with pytest.raises(error) as info:
        symact.check("leaky_relu", **kwargs)
    assert words in str(info.value)


def test_an_unknown_activation_is_a_symact_error():
    with pytest.raises(SymactError, match="sigmod"):
        symact.check("sigmod", impl=f"{STYLES}:Sigmoid")
