"""The command line: JSON contract, exit codes, errors without tracebacks."""
import json
import subprocess
import sys

import pytest
import sympy as sp

import symact
from symact.cli import capture


def test_list_json_names_every_activation():
    code, out, err = capture(["list", "--json"])
    assert code == 0 and err == ""
    assert [e["name"] for e in json.loads(out)] == symact.names()


def test_check_json_contract_for_one_name():
    code, out, _ = capture(["check", "relu", "--json", "--examples", "50"])
    doc = json.loads(out)
    assert isinstance(doc, dict)
    for key in ("name", "expr", "derivative", "latex", "linearity", "tests", "ok"):
        assert key in doc
    assert set(doc["linearity"]) >= {"additivity", "homogeneity", "positive_homogeneity"}
    assert doc["linearity"]["additivity"] == {**doc["linearity"]["additivity"], "verdict": "refuted",
                                              "witness": {"x": "1", "y": "-1"}}
    assert code == (0 if doc["ok"] else 1)


def test_check_json_for_several_names_is_a_list():
    code, out, _ = capture(["check", "identity", "step", "--json", "--examples", "50"])
    doc = json.loads(out)
    assert isinstance(doc, list) and [d["name"] for d in doc] == ["identity", "step"]


@pytest.mark.parametrize("name", symact.names())
def test_expr_and_derivative_read_back_with_sympify(name):
    act = symact.get(name)
    from symact.reports.report import expr_str

    for expr in (act.expr, act.derivative):
        back = sp.sympify(expr_str(expr))
        # plain sympify gives assumption-free symbols: map them back by name
        mapping = {s: t for s in back.free_symbols for t in expr.free_symbols if s.name == t.name}
        back = back.xreplace(mapping)
        if not act.vector:
            assert sp.simplify(back - expr) == 0, (name, expr, back)
        else:
            assert sp.srepr(back).replace("integer=True, ", "").count("Indexed") == sp.srepr(expr).count("Indexed")


def test_unknown_name_exits_2_with_suggestion():
    code, out, err = capture(["check", "sigmod"])
    assert code == 2 and out == ""
    assert "did you mean 'sigmoid'" in err and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv", [["check"], ["check", "relu", "--all"], ["check", "relu", "--param", "x"],
                                  ["check", "elu", "--param", "beta=1"], ["show"], ["frobnicate"],
                                  ["check", "relu", "--examples", "-3"]])
def test_usage_errors_exit_2(argv):
    code, _, err = capture(argv)
    assert code == 2 and "Traceback" not in err and err.strip()


def test_show_text_names_the_course_facts():
    code, out, _ = capture(["show", "sigmoid"])
    assert code == 0
    assert "sup |f'| = 1/4" in out and "(0, 1)" in out and "not linear" in out
    code, out, _ = capture(["show", "identity"])
    assert "collapse" in out and "output layers" in out


def test_step_param_changes_the_value_at_zero():
    code, out, _ = capture(["show", "step", "--param", "h0=1", "--json"])
    assert json.loads(out)["params"] == {"h0": "1"}


def test_console_entry_point_and_module_run():
    for cmd in ([sys.executable, "-m", "symact", "list"],):
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and "sigmoid" in res.stdout


def test_impl_spec_failures_are_usage_errors(tmp_path):
    for spec, words in [("tests/impls/nothere.py:f", "no file"), ("tests/impls/correct.py", ":function"),
                        ("tests/impls/correct.py:nothere", "nothere"), ("no_such_module_xyz:f", "no_such_module_xyz")]:
        code, out, err = capture(["check", "sigmoid", "--impl", spec])
        assert code == 2 and out == "" and "Traceback" not in err, spec
        assert words in err.lower() or words in err, (spec, err)


def test_impl_defect_exits_1_with_witness_and_correct_impl_exits_0():
    code, out, _ = capture(["check", "sigmoid", "--grad-impl", "tests/impls/defective.py:sigmoid_grad_one_minus",
                            "--json", "--examples", "200", "--dtype", "float64"])
    doc = json.loads(out)
    grad = next(t for t in doc["tests"] if t["name"].startswith("grad_impl"))
    assert code == 1 and not grad["passed"] and float(grad["worst"]["x"]) > 36
    code, out, _ = capture(["check", "sigmoid", "--impl", "tests/impls/correct.py:sigmoid_expit",
                            "--examples", "200", "--dtype", "float64", "--json"])
    impl = next(t for t in json.loads(out)["tests"] if t["name"].startswith("impl"))
    # expit's subnormal tail is 1e15 ULP off, but within the default atol (smallest normal)
    assert code == 0 and impl["passed"] and impl["max_ulp"] > 1e12


def test_same_seed_gives_identical_json():
    argv = ["check", "softplus", "--impl", "tests/impls/defective.py:softplus_naive", "--json",
            "--examples", "100", "--seed", "3"]
    assert capture(argv)[1] == capture(argv)[1]


def test_formula_check_finds_the_course_step_at_zero():
    code, out, _ = capture(["check", "step", "--latex",
                            r"h(x) = \begin{cases} 1 & (x \geq 0) \\ 0 & (x < 0) \end{cases}",
                            "--json", "--examples", "50"])
    formula = next(t for t in json.loads(out)["tests"] if t["name"] == "formula")
    assert code == 1 and formula["verdict"] == "refuted" and formula["witness"] == {"x": "0"}
    code, out, _ = capture(["check", "step", "--param", "h0=1", "--examples", "50", "--latex",
                            r"h(x) = \begin{cases} 1 & (x \geq 0) \\ 0 & (x < 0) \end{cases}"])
    assert code == 0


def test_hostile_formulas_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    code, out, err = capture(["check", "--expr", f"__import__('os').system('touch {marker}')"])
    assert code == 2 and not marker.exists() and "Traceback" not in err
    code, _, err = capture(["check", "--latex", r"\input{/etc/passwd}"])
    assert code == 2 and "Traceback" not in err


def test_show_kernels_records_the_choice():
    """`show --kernels`: the lowered form, every candidate measured against the
    oracle with exactly one chosen, and the fix-ups (silu' has a root polynomial)."""
    code, out, _ = capture(["show", "silu", "--kernels", "--json"])
    assert code == 0
    k = json.loads(out)["kernels"]
    df = k["df"]
    assert sum(c["chosen"] for c in df["candidates"]) == 1
    chosen = next(c for c in df["candidates"] if c["chosen"])
    assert chosen["form"] == df["form"] and chosen["why"].startswith("chosen")
    assert any(rp["lo"] < -1.2784645 < rp["hi"] for rp in df["root_polys"])
    code, text, _ = capture(["show", "silu", "--kernels"])
    assert code == 0 and "kernels:" in text and "root polynomial" in text


def test_bench_json_small_run():
    """A tiny seeded bench: every peer row present, ratios relative to symact,
    symact's accuracy measured, floors computed against the same run."""
    code, out, _ = capture(["bench", "sigmoid", "identity", "--size", "2000", "--repeats", "1", "--json"])
    assert code == 0
    doc = json.loads(out)
    rows = {(r["name"], r["derivative"]): {p["peer"]: p for p in r["peers"]} for r in doc["rows"]}
    sig = rows[("sigmoid", False)]
    assert {"symact", "symact_out", "lambdify", "naive", "scipy", "copy"} <= set(sig)
    assert sig["symact"]["ratio_to_symact"] == 1.0 and sig["symact"]["max_ulp"] <= 4
    assert rows[("sigmoid", True)]["naive"]["max_ulp"] > 1e4   # (1 - s) s is 0 from x = 37.43 on
    assert rows[("identity", False)]["lambdify"]["note"]   # returns its input: not comparable
    code, text, _ = capture(["bench", "relu", "--size", "2000", "--repeats", "1", "--no-derivatives"])
    assert code == 0 and "floors:" in text and "symact_out" in text


# --------------------------------------------------------------------------- several names: streaming
def test_check_many_yields_each_report_before_computing_the_next(monkeypatch):
    """The library generator checks lazily: the first report is out before the second is begun."""
    from symact.reports import report

    calls = []
    real = report.check

    def counting(name, *a, **k):
        calls.append(name)
        return real(name, *a, **k)

    monkeypatch.setattr(report, "check", counting)
    gen = report.check_many(["identity", "step", "relu"], examples=20, jobs=1)
    first = next(gen)
    assert first.name == "identity" and calls == ["identity"]
    assert [r.name for r in gen] == ["step", "relu"] and calls == ["identity", "step", "relu"]


def _released_when_marked(marker):
    """A transform that holds 'step' back until ``marker`` exists (60 s at most)."""
    import os
    import time

    def transform(rep):
        if rep.name == "step":
            deadline = time.monotonic() + 60
            while not os.path.exists(marker):
                if time.monotonic() > deadline:
                    return rep.name, "timed out: the first result was not delivered while this one ran"
                time.sleep(0.05)
        return rep.name, "done"

    return transform


def test_check_many_in_child_processes_delivers_in_order_as_ready(tmp_path):
    """jobs=2: 'identity' reaches the caller while 'step' is still being checked in its child."""
    from symact.reports import report

    marker = tmp_path / "first-delivered"
    gen = report.check_many(["identity", "step"], examples=20, jobs=2,
                            transform=_released_when_marked(str(marker)))
    assert next(gen) == ("identity", "done")
    marker.write_text("")
    assert next(gen) == ("step", "done")
    assert list(gen) == []


def test_check_several_prints_each_report_as_soon_as_it_is_checked(monkeypatch):
    """The CLI writes (and flushes) a report before the next activation is checked."""
    from symact.reports import report

    calls = []
    real = report.check

    def counting(name, *a, **k):
        calls.append(name)
        return real(name, *a, **k)

    class Out:
        def __init__(self):
            self.writes, self.flushes = [], 0

        def write(self, text):
            self.writes.append((text, len(calls)))

        def flush(self):
            self.flushes += 1

    monkeypatch.setattr(report, "check", counting)
    from symact.cli import main

    for argv in (["check", "identity", "step", "relu"], ["check", "identity", "step", "relu", "--json"]):
        calls.clear()
        out = Out()
        assert main(argv + ["--examples", "20", "--jobs", "1"], out, sys.stderr) == 0
        first = next(i for i, (text, _) in enumerate(out.writes) if '"identity"' in text or "identity:" in text)
        assert out.writes[first][1] == 1, "the first report was written only after later checks ran"
        assert out.flushes >= 3


def test_streamed_json_is_one_document_equal_to_the_single_reports():
    """check A B C --json is exactly dump_json of the list of the single-name documents."""
    names = ["identity", "step", "relu"]
    singles = []
    for n in names:
        code, out, _ = capture(["check", n, "--json", "--examples", "30"])
        assert code == 0
        singles.append(json.loads(out))
    expected = json.dumps(singles, indent=2, ensure_ascii=False) + "\n"
    outs = set()
    for jobs in ("1", "2"):
        code, out, err = capture(["check", *names, "--json", "--examples", "30", "--jobs", jobs])
        assert code == 0 and err == ""
        assert json.loads(out) == singles
        outs.add(out)
    assert outs == {expected}


def test_check_several_text_is_the_same_for_any_jobs():
    argv = ["check", "identity", "step", "leaky_relu", "--examples", "30"]
    code1, out1, _ = capture(argv + ["--jobs", "1"])
    code2, out2, _ = capture(argv + ["--jobs", "3"])
    assert (code1, out1) == (code2, out2)
    assert out1.endswith("\n3 of 3 activations passed every test\n")
    assert out1.count("  ok: yes\n") == 3 and "\n\nstep: " in out1


def test_one_name_gives_the_same_report_with_its_tests_in_a_child_process():
    """--jobs 2 runs one activation's numeric tests beside its symbolic analysis: same document."""
    for argv in (["check", "leaky_relu", "--json", "--examples", "40"],
                 ["check", "softplus", "--impl", "tests/impls/defective.py:softplus_naive", "--json",
                  "--examples", "60", "--seed", "3"]):
        one, two = capture(argv + ["--jobs", "1"]), capture(argv + ["--jobs", "2"])
        assert one == two and one[1].startswith("{")


# --------------------------------------------------------------------------- formulas as published
def test_a_formula_symbol_without_a_value_is_exit_2_naming_it_and_param_binds_it():
    code, _, err = capture(["check", "--jobs", "1", "--latex", r"\beta x + \gamma"])
    assert code == 2 and "beta, gamma have no value" in err and "--param" in err
    assert "internal error" not in err and "Traceback" not in err
    code, out, err = capture(["codegen", "--param", "beta=2", "--param", "gamma=1/2", "--latex",
                              r"f(x) = \beta x + \gamma = \gamma + \beta x"])
    assert code == 0 and "def formula(x)" in out, err


@pytest.mark.slow
def test_a_correct_formula_ends_ok_whatever_the_as_written_kernel():
    """tanh written with exp(-2x): proved tanh, ok (the as-written kernel lost ULPs: exit 1 before)."""
    code, out, err = capture(["check", "--jobs", "1", "--examples", "50", "--latex",
                              r"(1 - \exp(-2x))/(1 + \exp(-2x))"])
    assert code == 0, (out, err)
    assert "equals: tanh [proved]" in out and "PASS formula: verdict proved" in out and "ok: yes" in out
    assert "recognition: searched all" in out


@pytest.mark.slow
def test_chain_links_and_approximations_in_the_cli():
    code, out, err = capture(["check", "--jobs", "1", "--examples", "50", "--json", "--latex",
                              r"\mathrm{GELU}(x) = \frac{x}{2} \mathrm{erfc}\left(\frac{-x}{\sqrt{2}}\right)"
                              r" \approx x\sigma(1.702x)"])
    assert code == 0, err
    rep = json.loads(out)
    tests = {t["name"]: t for t in rep["tests"]}
    assert rep["name"] == "gelu" and rep["formula"]["named_by_head"] == "gelu"
    assert tests["formula[1]"]["verdict"] == "proved"
    assert tests["approximation[2]"]["verdict"] == "located" and tests["approximation[2]"]["passed"]
    code, out, _ = capture(["check", "--jobs", "1", "--examples", "50", "--latex", r"\mathrm{ReLU}(x) \approx x"])
    assert code == 1 and "FAIL approximation (inaccurate approximation)" in out


@pytest.mark.slow
def test_param_without_name_binds_the_formula_symbol():
    code, out, err = capture(["check", "--jobs", "1", "--examples", "50", "--param", "alpha=2", "--latex",
                              r"\max(0,x) + \min(0, \alpha (\exp(x/\alpha) - 1))"])
    assert code == 0, err
    assert "celu(alpha=2) [proved]" in out and "give it as a parameter" not in out + err
