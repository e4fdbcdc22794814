"""``symact list --framework`` and ``symact show``'s frameworks section; framework spellings as
names on the command line."""
from __future__ import annotations

import json

import pytest

from symact.cli import capture
from symact.model import catalog, frameworks


@pytest.mark.parametrize("fw", frameworks.FRAMEWORKS)
def test_list_framework_names_every_entry_and_what_is_not_shipped(fw):
    code, out, err = capture(["list", "--framework", fw, "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["framework"] == fw
    assert [a["name"] for a in doc["activations"]] == catalog.names()
    for a in doc["activations"]:
        rows = frameworks.rows(a["name"], fw)
        assert a["shipped"] == any(r.shipped for r in rows)
        assert a["names"] == [n for r in rows for n in r.names]
    code, text, _ = capture(["list", "--framework", fw])
    assert code == 0
    lines = text.splitlines()
    assert len(lines) == len(catalog.names()) + 1
    title = frameworks.TITLES[fw]
    for line, a in zip(lines, doc["activations"]):
        assert line.split()[0] == a["name"]
        assert (f"not in {title}" in line) == (not a["shipped"])


def test_list_framework_text_examples():
    _, torch_text, _ = capture(["list", "--framework", "torch"])
    assert "torch.nn.LeakyReLU, torch.nn.functional.leaky_relu (negative_slope=0.01)" in torch_text
    assert any(line.startswith("squareplus") and "not in PyTorch" in line for line in torch_text.splitlines())
    _, jax_text, _ = capture(["list", "--framework", "jax"])
    assert "jax.nn.hard_swish, jax.nn.hard_silu" in jax_text
    _, keras_text, _ = capture(["list", "--framework", "keras"])
    assert "keras.activations.leaky_relu (negative_slope=0.2)" in keras_text
    code, _, err = capture(["list", "--framework", "caffe"])
    assert code == 2 and "invalid choice" in err


def test_show_lists_each_frameworks_name_defaults_and_differences():
    code, out, err = capture(["show", "leaky_relu"])
    assert code == 0, err
    assert "  frameworks:\n" in out
    assert "PyTorch: torch.nn.LeakyReLU, torch.nn.functional.leaky_relu (negative_slope=0.01)" in out
    assert "differs: f'(0) = 1 (symact: 1/100)" in out                       # JAX
    assert "differs: default negative_slope = 0.2 (symact: 1/100)" in out    # Keras 3
    code, out, _ = capture(["show", "hard_sigmoid"])
    assert "differs: fixed slope = 0.2 (symact: 1/6)" in out                 # Keras 2
    code, out, _ = capture(["show", "gelu"])
    assert "needs approximate=False (the default approximate=True is another entry)" in out
    code, out, _ = capture(["show", "softplus"])
    assert "beta * x > threshold (default 20)" in out


def test_show_json_has_the_frameworks():
    code, out, _ = capture(["show", "hard_tanh", "--json"])
    doc = json.loads(out)
    by_fw = {d["framework"]: d for d in doc["frameworks"]}
    assert set(frameworks.FRAMEWORKS) <= set(by_fw)
    assert by_fw["jax"]["derivative"] == {"-1": "1", "1": "1"}
    assert "f'(1) = 1 (symact: 0)" in by_fw["jax"]["differences"]
    assert by_fw["torch"]["differences"] == []
    assert "spelling" not in doc


@pytest.mark.parametrize("spelled, entry", [
    ("torch.nn.Hardshrink", "hardshrink"), ("torch.nn.functional.hardshrink", "hardshrink"),
    ("jax.nn.hard_silu", "hard_swish"), ("hard_silu", "hard_swish"), ("F.gelu", "gelu"),
    ("logsigmoid", "log_sigmoid"), ("hardtanh", "hard_tanh"),
])
def test_show_accepts_framework_spellings(spelled, entry):
    code, out, err = capture(["show", spelled, "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["name"] == entry
    if spelled.lower() not in (entry, *catalog.get(entry).aliases):
        assert doc["spelling"]["name"] == spelled


def test_show_binds_the_spelled_frameworks_defaults():
    code, out, _ = capture(["show", "keras.activations.leaky_relu"])
    assert code == 0
    assert "as keras.activations.leaky_relu (Keras 3): its defaults negative_slope = 1/5" in out
    assert "parameters: negative_slope = 1/5" in out
    code, out, _ = capture(["show", "keras.activations.leaky_relu", "--param", "negative_slope=0.1", "--json"])
    assert json.loads(out)["params"]["negative_slope"] == "1/10"


def test_check_accepts_a_framework_spelling():
    code, out, err = capture(["check", "jax.nn.hard_silu", "--json", "--examples", "200"])
    assert code == 0, err
    assert json.loads(out)["name"] == "hard_swish"


def test_unknown_dotted_name_suggests_framework_spellings():
    code, _, err = capture(["show", "torch.nn.Hardshrnk"])
    assert code == 2
    assert "torch.nn.hardshrink" in err
