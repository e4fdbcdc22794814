"""Parameters reach the implementation; a SPEC may name a class; an unbound method is refused.

`symact check NAME --impl SPEC` passes every parameter of the activation (its value in force:
the catalog's default unless `--param` sets it) to the implementation when the signature takes
it, under the catalog's name or a framework's spelling (symact/model/spellings.py), so the code
is judged at the parameters the reference uses. The implementations are in
tests/impls/params_styles.py, written as Keras, Chainer, PyTorch and JAX code writes them.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from symact.cli import capture
from symact.errors import SpecError
from symact.model import catalog, spellings
from symact.verify import impl as impl_mod
from symact.verify.impl import load_impl

ROOT = Path(__file__).resolve().parents[1]
STYLES = ROOT / "tests" / "impls" / "params_styles.py"
FAST = ["--examples", "100", "--dtype", "float64", "--json", "--trust"]


def check(name, fn, *extra):
    """(exit code, the JSON document or None, stderr) of `symact check NAME --impl STYLES:fn`."""
    code, out, err = capture(["check", name, "--impl", f"{STYLES}:{fn}", *FAST, *extra])
    assert "Traceback" not in err and "internal error" not in err, err
    return code, (json.loads(out) if out.strip() else None), err


def impl_tests(doc):
    return [t for t in doc["tests"] if t["name"].startswith("impl[")]


# ------------------------------------------------------------------ parameters reach the code
@pytest.mark.parametrize("param", ["alpha=0.1", "negative_slope=0.1", "slope=1/10"])
def test_keras_leaky_relu_is_judged_at_the_param_given(param):
    code, doc, _ = check("leaky_relu", "leaky_relu_keras", "--param", param)
    assert code == 0
    assert doc["params"] == {"negative_slope": "1/10"}          # the reference, under the catalog's name
    assert [t["called_with"] for t in impl_tests(doc)] == [{"alpha": "0.1"}]
    assert doc["calls"]["impl"]["text"] == \
        "called as leaky_relu_keras(x, alpha=0.1) (alpha is leaky_relu's negative_slope)"


def test_an_own_default_is_overridden_by_the_catalogs():
    # def leaky_relu_keras(x, alpha=0.3): without --param it is called with the catalog's 0.01,
    # so it is judged at the parameters the report states, not at its own default
    code, doc, _ = check("leaky_relu", "leaky_relu_keras")
    assert code == 0 and doc["params"] == {"negative_slope": "1/100"}
    assert impl_tests(doc)[0]["called_with"] == {"alpha": "0.01"}


@pytest.mark.parametrize("fn, called", [("leaky_relu_chainer", {"slope": "0.25"}),
                                        ("leaky_relu_kwonly", {"negative_slope": "0.25"})])
def test_other_spellings_reach_the_code(fn, called):
    code, doc, _ = check("leaky_relu", fn, "--param", "a=0.25")
    assert code == 0 and impl_tests(doc)[0]["called_with"] == called


def test_grad_impl_gets_the_parameters_too():
    code, out, err = capture(["check", "leaky_relu", "--grad-impl", f"{STYLES}:leaky_relu_grad_keras",
                              "--param", "alpha=0.2", *FAST])
    doc = json.loads(out)
    grads = [t for t in doc["tests"] if t["name"].startswith("grad_impl[")]
    assert grads[0]["called_with"] == {"alpha": "0.2"} and "grad_impl" in doc["calls"]
    assert code == 0, [t for t in grads if not t["passed"]]


def test_code_that_takes_no_parameter_is_reported_as_called_without_it():
    code, doc, _ = check("leaky_relu", "leaky_relu_fixed", "--param", "alpha=0.1")
    assert code == 1 and not impl_tests(doc)[0]["passed"]      # its slope is 0.01, the reference's 0.1
    assert "called_with" not in impl_tests(doc)[0]
    text = doc["calls"]["impl"]["text"]
    assert text.startswith("called as leaky_relu_fixed(x); negative_slope = 1/10 not passed")
    assert "takes none of negative_slope, alpha, slope, a" in text and "its own value" in text


def test_a_flag_selects_the_function():
    # approximate=True (JAX's default) is gelu_tanh; judged as gelu the code is called with False,
    # as gelu_tanh with True; the PyTorch spelling takes the strings 'none' and 'tanh'. In the
    # child (as the CLI calls it) and in this process.
    import symact
    from symact.verify.impl import ImplProcess

    xs = np.linspace(-5, 5, 101)
    with ImplProcess([("impl", f"{STYLES}:gelu_flag"), ("grad_impl", f"{STYLES}:gelu_torch_flag")],
                     trust=True) as proc:
        remote = proc.start()
        for name, i, flag in [("gelu", 0, "False"), ("gelu_tanh", 0, "True"),
                              ("gelu", 1, "'none'"), ("gelu_tanh", 1, "'tanh'")]:
            for fn in (remote[i], load_impl(f"{STYLES}:{['gelu_flag', 'gelu_torch_flag'][i]}")):
                bound, info = impl_mod.bind(fn, catalog.get(name))
                assert info["called_with"] == {"approximate": flag}, (name, fn)
                np.testing.assert_allclose(bound(xs), symact.kernel(name)(xs), rtol=1e-12, atol=1e-300)
    assert np.max(np.abs(symact.kernel("gelu")(xs) - symact.kernel("gelu_tanh")(xs))) > 1e-4


@pytest.mark.parametrize("argv, words", [
    (["--param", "alpha=0.1", "--param", "negative_slope=0.2"], "'alpha' and 'negative_slope' both set"),
    (["--param", "leak=0.1"], "has no parameter 'leak'; its parameters are negative_slope (also spelled alpha"),
])
def test_param_spelling_errors_are_usage_errors(argv, words):
    code, doc, err = check("leaky_relu", "leaky_relu_keras", *argv)
    assert code == 2 and words in err and doc is None


def test_every_spelling_names_a_real_parameter_and_collides_with_none():
    for name, table in spellings.SPELLINGS.items():
        act = catalog.get(name)
        own = {p.name for p in act.params}
        assert set(table) <= own, name
        seen = set()
        for p in act.params:
            for s in spellings.spellings(act, p.name):
                assert s.isidentifier() and s not in seen, (name, s)
                seen.add(s)
    for name in spellings.FLAGS:
        catalog.get(name)


# ------------------------------------------------------------------ classes and methods
@pytest.mark.parametrize("fn, call", [("Sigmoid", "called as Sigmoid()(x)"),
                                      ("SigmoidForward", "called as SigmoidForward().forward(x)")])
def test_a_class_with_a_no_argument_constructor_is_instantiated(fn, call):
    code, doc, _ = check("sigmoid", fn)
    assert code == 0 and doc["calls"]["impl"]["text"] == call


@pytest.mark.parametrize("fn, param, called, call", [
    ("LeakyReLU", "alpha=0.2", {"negative_slope": "0.2"}, "called as LeakyReLU(negative_slope=0.2)(x)"),
    ("LeakyReLUKeras2", "negative_slope=0.2", {"alpha": "0.2"}, "called as LeakyReLUKeras2(alpha=0.2)(x)"),
])
def test_a_layer_class_gets_the_parameters_in_its_constructor(fn, param, called, call):
    # nn.LeakyReLU(negative_slope=...) and tf.keras.layers.LeakyReLU(alpha=...): a required
    # constructor argument that is one of the activation's parameters is given
    code, doc, _ = check("leaky_relu", fn, "--param", param)
    assert code == 0 and impl_tests(doc)[0]["called_with"] == called
    assert doc["calls"]["impl"]["text"].startswith(call)


@pytest.mark.parametrize("fn, words", [
    ("Scaled", "--impl '{spec}': Scaled() needs argument scale; give a function or a class whose "
               "constructor takes none"),
    ("Broken", "--impl '{spec}': Broken() raised RuntimeError: no weights file"),
    ("Sigmoid.forward", "--impl '{spec}' is an unbound method: Sigmoid.forward needs an instance of Sigmoid"),
    ("forward", "--impl '{spec}' is an unbound method: Sigmoid.forward takes self first"),
])
def test_classes_that_cannot_be_called_and_unbound_methods_are_usage_errors(fn, words):
    code, doc, err = check("sigmoid", fn)
    assert code == 2 and doc is None
    assert words.format(spec=f"{STYLES}:{fn}") in err


def test_a_constructor_that_prints_or_hangs(tmp_path):
    f = tmp_path / "layers.py"
    f.write_text("import time\nimport numpy as np\n"
                 "class Loud:\n    def __init__(self):\n        print('building')\n"
                 "    def __call__(self, x):\n        return np.maximum(x, 0)\n"
                 "class Slow:\n    def __init__(self):\n        time.sleep(60)\n"
                 "    def __call__(self, x):\n        return x\n")
    code, out, err = capture(["check", "relu", "--impl", f"{f}:Loud", *FAST])
    doc = json.loads(out)
    assert code == 1 and "wrote 9 bytes to stdout: 'building\\n' while being instantiated" in \
        impl_tests(doc)[0]["error"]
    code, out, err = capture(["check", "relu", "--impl", f"{f}:Slow", "--timeout", "2", *FAST])
    assert code == 2 and "preparing Slow did not finish within --timeout 2 s" in err


# ------------------------------------------------------------------ in this process
def test_load_impl_instantiates_classes_and_refuses_unbound_methods():
    sig = load_impl(f"{STYLES}:Sigmoid")
    assert type(sig).__name__ == "Sigmoid" and float(sig(np.float64(0.0))) == 0.5
    assert load_impl(f"{STYLES}:SigmoidForward").__name__ == "forward"
    for fn, words in [("Scaled", "Scaled() needs argument scale"), ("Sigmoid.forward", "is an unbound method"),
                      ("forward", "is an unbound method"), ("Broken", "Broken() raised RuntimeError")]:
        with pytest.raises(SpecError, match=words.replace("(", r"\(").replace(")", r"\)")):
            load_impl(f"{STYLES}:{fn}")


def test_bind_in_process():
    act = catalog.get("leaky_relu").with_params(negative_slope="0.1")
    keras = load_impl(f"{STYLES}:leaky_relu_keras")
    fn, info = impl_mod.bind(keras, act)
    assert fn(np.array([-1.0]))[0] == -0.1 and info["called_with"] == {"alpha": "0.1"}
    # a plain function of an activation without parameters is returned as it is
    assert impl_mod.bind(np.tanh, catalog.get("tanh")) == (np.tanh, None)

    class NoSignature:
        __signature__ = "not a signature"

        def __call__(self, x, negative_slope=0.5):
            return np.where(x >= 0, x, negative_slope * x)

    fn, info = impl_mod.bind(NoSignature(), act)
    assert "its signature cannot be inspected" in info["text"] and info["called_with"] == {}
    from symact.verify import _impl_child

    class Layer:
        def forward(self, x):
            return x

    with pytest.raises(SpecError, match="unbound method"):
        impl_mod.bind(Layer.forward, act)
    assert _impl_child.unbound(Layer().forward) == ""
