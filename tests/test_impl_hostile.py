"""Hostile and broken implementations (`check --impl`), through the real command line.

Each runs `python -m symact check relu --impl F.py:f --json` in a subprocess with a timeout.
Whatever the implementation does (exits, crashes, loops, prints, returns garbage, writes
files, reads another process's environment) is a failed test (exit 1) naming the reason, or
exit 2 for a module that cannot be imported; symact's stdout stays one JSON document, its
stderr never shows a traceback, and the run ends in bounded time.
"""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from symact.cli import capture
from symact.model import catalog
from symact.sandbox import runner
from symact.verify import difftest
from symact.verify.impl import ImplProcess, load_impl

ROOT = Path(__file__).resolve().parents[1]
IMPLS = ROOT / "tests" / "impls"


@pytest.fixture(scope="module")
def confined():
    """Skip where this machine cannot confine an implementation (no Landlock or namespaces)."""
    proc = ImplProcess([("impl", f"{IMPLS / 'correct.py'}:sigmoid_naive")])
    try:
        proc.start()
        if proc.execution["mode"] != "confined":
            pytest.skip(f"implementations cannot be confined here: {proc.execution['detail']}")
    except Exception as exc:  # noqa: BLE001
        print(f"skipping: implementations cannot be confined here: {exc}")
        pytest.skip(f"implementations cannot be confined here: {exc}")
    finally:
        proc.close()


def write_impl(folder: Path, body: str, name: str = "impl.py") -> Path:
    path = folder / name
    path.write_text("import os, sys\nimport numpy as np\n\n" + textwrap.dedent(body))
    return path


def symact_check(*argv, cwd=None, timeout=60):
    """(exit code, stdout, stderr, seconds) of `python -m symact check ...`, run as a user would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "symact", "check", *map(str, argv)], cwd=cwd or ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - start
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr, took


def impl_results(out: str) -> list[dict]:
    doc = json.loads(out)  # stdout is exactly one JSON document
    return [t for t in doc["tests"] if t["name"].startswith(("impl[", "grad_impl["))]


FAST = ["--examples", "40", "--dtype", "float64", "--json"]


@pytest.mark.parametrize("body, reason", [
    ("def f(x):\n    sys.exit(0)\n",
     "the implementation exited with status 0 (sys.exit) during its call on float64 input of shape ("),
    ("def f(x):\n    os._exit(0)\n",
     "the implementation exited with status 0 (os._exit or a crash) during its call on float64 input"),
    ("import signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGSEGV)\n",  # not PID 1: not ignored
     "the implementation crashed: killed by SIGSEGV (memory fault) during its call on float64 input"),
    ("import ctypes\ndef f(x):\n    return ctypes.string_at(0)\n",
     "the implementation crashed: killed by SIGSEGV (memory fault)"),
    ("def f(x):\n    os.abort()\n", "the implementation crashed: killed by SIGABRT"),
    ("def f(x):\n    print('hello')\n    return np.maximum(x, 0)\n",
     "the implementation wrote 6 bytes to stdout: 'hello\\n' during its call on float64 input"),
    ("def f(x):\n    os.write(2, b'x' * 100000)\n    return np.maximum(x, 0)\n",
     "the implementation wrote 100000 bytes to stderr: 'xxxx"),
])
def test_an_ending_crashing_or_printing_implementation_is_a_failed_test(tmp_path, body, reason):
    impl = write_impl(tmp_path, body)
    code, out, err, took = symact_check("relu", "--impl", f"{impl}:f", *FAST)
    results = impl_results(out)
    assert code == 1 and results and not any(r["passed"] for r in results), out
    assert reason in results[0]["error"], results[0]
    assert len(results[0]["error"]) < 600  # the quote of what was printed is short
    assert took < 30


def test_an_endless_loop_costs_at_most_the_timeout(tmp_path):
    impl = write_impl(tmp_path, "def f(x):\n    while True:\n        pass\n")
    code, out, _, took = symact_check("relu", "--impl", f"{impl}:f", "--timeout", "3", *FAST)
    (res,) = impl_results(out)
    assert code == 1 and not res["passed"]
    assert res["error"].startswith("the implementation ran past --timeout 3 s (stopped) during its call on "
                                   "float64 input")
    assert took < 3 + 15


@pytest.mark.parametrize("body, words", [
    ("def f(x):\n    return [[1.0], [1.0, 2.0]]\n", "returned list that is not an array (ValueError"),
    ("class Bad:\n    def __array__(self, *a, **k):\n        raise RuntimeError('no array here')\n"
     "def f(x):\n    return Bad()\n", "returned Bad that is not an array (RuntimeError: no array here)"),
    ("def f(x):\n    return np.zeros(3)\n", "returned shape (3,) for input shape"),
    ("def f(x):\n    return {'a': 1}\n", "returned dict of object, not an array of floats"),
    ("def f(x):\n    return np.array(['a'] * x.size)\n", "not an array of floats"),
    ("def f(x):\n    raise KeyError('boom')\n", "KeyError: 'boom'"),
])
def test_garbage_is_a_failed_test_that_says_what_came_back(tmp_path, body, words):
    impl = write_impl(tmp_path, body)
    start = time.monotonic()  # the same command, run in this process (its child runs the code)
    code, out, err = capture(["check", "relu", "--impl", f"{impl}:f", *FAST])
    took = time.monotonic() - start
    assert "Traceback" not in err and "internal error" not in err
    (res,) = impl_results(out)
    text = json.dumps(res)
    assert code == 1 and not res["passed"] and words in text, res
    assert took < 30


@pytest.mark.parametrize("body, words", [
    ("os._exit(0)\ndef f(x):\n    return x\n", "importing {path!r} ended its process with exit status 0"),
    ("import signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "importing {path!r} crashed its process (killed by SIGKILL"),
    ("import time\ntime.sleep(1000)\n", "importing {path!r} did not finish within --timeout 3 s"),
    ("sys.exit(3)\n", "importing {path!r} raised SystemExit: 3"),
    ("raise ValueError('bad module')\n", "importing {path!r} raised ValueError: bad module"),
    ("g = 1\n", "{path!r} has no function 'f'"),
])
def test_an_import_that_exits_hangs_or_fails_is_exit_2(tmp_path, body, words):
    impl = write_impl(tmp_path, body)
    code, out, err, took = symact_check("relu", "--impl", f"{impl}:f", "--timeout", "3", *FAST)
    assert code == 2 and out == "" and words.format(path=str(impl)) in err, err
    assert err.count("\n") == 1  # one line
    assert took < 3 + 15


def test_the_implementation_cannot_write_outside_or_read_other_processes(confined, tmp_path):
    home_file = Path.home() / f".symact-hostile-impl-{os.getpid()}"
    cwd_file = tmp_path / "planted.txt"
    impl = write_impl(tmp_path, f"""
        def writes(x):
            for target in ({str(home_file)!r}, {str(cwd_file)!r}):
                try:
                    with open(target, "w") as fh:
                        fh.write("planted")
                except OSError as exc:
                    raise PermissionError("denied " + target) from exc
            return np.maximum(x, 0)

        def reads(x):
            for target in ("/proc/{os.getpid()}/environ", "/proc/1/environ", {str(Path.home())!r}):
                try:
                    open(target, "rb").read() if not os.path.isdir(target) else os.listdir(target)
                except OSError:
                    continue
                return np.maximum(x, 0) + 1  # it could read: a wrong answer
            raise PermissionError("every read denied")
        """, name=f"hostile_io_{os.getpid()}.py")
    try:
        code, out, _, _ = symact_check("relu", "--impl", f"{impl}:writes", *FAST, cwd=tmp_path)
        (res,) = impl_results(out)
        assert code == 1 and res["error"].startswith("PermissionError: denied "), res
        assert not home_file.exists() and not cwd_file.exists()
        code, out, _, _ = symact_check("relu", "--impl", f"{impl}:reads", *FAST, cwd=tmp_path)
        (res,) = impl_results(out)
        assert code == 1 and res["error"] == "PermissionError: every read denied", res
        assert json.loads(out)["execution"]["mode"] == "confined"
    finally:
        home_file.unlink(missing_ok=True)
        impl.unlink(missing_ok=True)


@pytest.mark.parametrize("act, spec, derivative", [
    ("sigmoid", "correct.py:sigmoid_naive", False),
    ("softplus", "defective.py:softplus_naive", False),
    ("relu", "defective.py:relu_grad_one_at_zero", True),
    ("step", "course.py:step_function", False),  # scalar-only code: called point by point
])
def test_correct_and_wrong_implementations_give_the_results_they_gave_in_process(act, spec, derivative):
    flag = "--grad-impl" if derivative else "--impl"
    code, out, err, took = symact_check(act, flag, f"tests/impls/{spec}", "--examples", "100", "--json")
    doc = json.loads(out)
    key = "grad_impl" if derivative else "impl"
    here = difftest.run_tests(catalog.get(act), **{key: load_impl(str(IMPLS / spec))}, examples=100)
    assert doc["tests"] == [json.loads(json.dumps(r.to_dict(), default=str)) for r in here]
    assert code == (0 if all(r.passed for r in here) else 1)
    # relu'(0) = 1 is the right derivative: a valid convention at the kink since issue 14
    assert code == (1 if spec.startswith("defective") and "relu_grad_one_at_zero" not in spec else 0)
    assert doc["execution"]["mode"] in ("confined", "unconfined")
    assert took < 60


def test_text_report_says_how_the_implementation_ran(tmp_path):
    code, out, err = capture(["check", "relu", "--impl", "tests/impls/correct.py:relu_grad", "--examples", "30",
                              "--dtype", "float64"])
    assert code == 1  # relu_grad is relu's derivative, not relu
    assert "\n  implementation ran confined: Landlock" in out or "\n  implementation ran unconfined" in out


def test_without_confinement_an_implementation_runs_only_with_trust(monkeypatch):
    spawn = runner.Sandbox._spawn

    def no_confinement(self, mode):  # a platform without Landlock, as the child would report it
        return "Landlock is not available (Function not implemented)" if mode == "confine" else spawn(self, mode)

    monkeypatch.setattr(runner.Sandbox, "_spawn", no_confinement)
    argv = ["check", "sigmoid", "--impl", "tests/impls/correct.py:sigmoid_naive", "--examples", "30", "--json"]
    code, out, err = capture(argv)
    assert code == 2 and out == "" and "no confinement available here (Landlock is not available" in err
    assert "pass --trust to run the implementation unconfined" in err
    code, out, err = capture(argv + ["--trust"])
    doc = json.loads(out)
    assert code == 0 and doc["execution"]["mode"] == "unconfined"
    assert doc["execution"]["detail"].startswith("implementation ran unconfined (--trust): no confinement here")


@pytest.mark.slow
def test_a_torch_implementation_runs_confined(confined, tmp_path):
    pytest.importorskip("torch")
    impl = write_impl(tmp_path, "import torch\ndef f(x):\n    return torch.sigmoid(torch.from_numpy(x)).numpy()\n")
    code, out, err, took = symact_check("sigmoid", "--impl", f"{impl}:f", *FAST, timeout=120)
    (res,) = impl_results(out)
    assert code == 0 and res["passed"], (res, err)
    assert took < 60
