"""The ``symact`` command line: the only place that prints or exits.

``main(argv) -> int`` runs in-process (tests call it directly);
:func:`entrypoint` wraps ``sys.argv`` for the console script. Each subcommand
lives in its own module of this package with ``add_parser(subparsers)`` and
``run(args, out) -> int``. One place (:func:`main`) maps library errors to a
message on stderr and an exit code: 0 all passed, 1 a test failed, 2 a usage or
input error, 3 an internal error (a bug in symact: the message says what raised;
``SYMACT_DEBUG=1`` prints the traceback). No tracebacks for users otherwise.
"""
from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import re
import sys
import warnings

from symact.errors import SymactError

#: subcommand modules, in the order ``symact --help`` lists them
COMMANDS = ["listing", "show", "check", "bench", "notes", "codegen", "prove", "build_kernels", "build_cache", "plot"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

#: environment variables that hold a whole number, checked before any work
_INT_ENV = ("SYMACT_THREADS",)


class UsageError(SymactError):
    """A command line that cannot be carried out as given."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns the exit code."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from symact import __version__

    parser = _Parser(prog="symact", description="Verify activation functions: symbolic facts, exact "
                     "linearity verdicts, and numeric tests against a high-precision oracle.")
    parser.add_argument("--version", action="version", version=f"symact {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # a command whose module is not installed
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    """Run the CLI with ``argv``; write results to ``out`` and errors to ``err``."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        # the library's own warnings (an unsafe cache directory, ...) are one line on stderr
        warnings.showwarning = lambda message, category, *rest: print(
            str(message) if str(message).startswith("symact") else f"symact: warning: {message}", file=err)
        return _main(argv, out, err)


def _main(argv, out, err) -> int:
    try:
        _check_env()
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version exit 0 through argparse
            return int(exc.code or 0)
        if not getattr(args, "_run", None):
            parser.print_help(out)
            return EXIT_USAGE
        return args._run(args, out)
    except SymactError as exc:
        print(f"symact: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("symact: interrupted", file=err)
        return 130
    except BrokenPipeError:  # `symact check --all | head`: the reader left
        return 0
    except RecursionError:
        print("symact: error: the input is nested too deeply to process", file=err)
        return EXIT_USAGE
    except MemoryError:
        print("symact: error: out of memory while processing the input", file=err)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the last guard: a bug, reported in one line
        if os.environ.get("SYMACT_DEBUG"):
            raise
        msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"symact: internal error: {type(exc).__name__}" + (f": {msg}" if msg else "")
              + " (a bug in symact; SYMACT_DEBUG=1 shows the traceback)", file=err)
        return EXIT_INTERNAL


def _check_env() -> None:
    for var in _INT_ENV:
        value = os.environ.get(var)
        if value is not None and value.strip() and not re.fullmatch(r"[0-9]{1,6}", value.strip()):
            raise UsageError(f"{var}={value!r}: expected a whole number >= 0 (0: one per CPU)")


def seed_arg(text: str) -> int:
    """argparse type of ``--seed``: a whole number in [0, 2**63)."""
    if not re.fullmatch(r"[0-9]{1,19}", text.strip()) or int(text) >= 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63-1, got {text!r}")
    return int(text)


def entrypoint() -> None:
    sys.exit(main())


def dump_json(obj, out) -> None:
    """Print one JSON document on ``out`` (the only thing ``--json`` writes there)."""
    json.dump(obj, out, indent=2, sort_keys=False, ensure_ascii=False, default=str)
    out.write("\n")


def add_policy_arguments(p, *, atol_default: str, strict_means: str, row: str) -> None:
    """The accuracy policy's options (``symact.verify.policy``), the same for every command
    that judges code (check, notes): ``--max-ulp``, ``--atol``, ``--kink-convention``,
    ``--vector-error``, with the policy's defaults."""
    from symact.verify.policy import KINK_CONVENTIONS, MAX_ULP, VECTOR_ERRORS

    p.add_argument("--max-ulp", type=float, default=MAX_ULP, help=f"ULP tolerance (default {MAX_ULP:g})")
    p.add_argument("--atol", type=float, default=None, help=f"absolute tolerance (default: {atol_default})")
    p.add_argument("--kink-convention", choices=KINK_CONVENTIONS, default=KINK_CONVENTIONS[0],
                   help="derivatives at kinks: 'between' (default) accepts any value between the one-sided "
                        f"derivatives and names the convention; 'strict' requires {strict_means}")
    p.add_argument("--vector-error", choices=VECTOR_ERRORS, default=VECTOR_ERRORS[0],
                   help="softmax/log_softmax: 'normwise' (default) measures an entry's error in ULPs of its "
                        f"{row}'s largest entry; 'componentwise' in its own ULPs")


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """``["h0=1", "alpha=0.5"]`` -> ``{"h0": "1", "alpha": "0.5"}``."""
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--param expects KEY=VALUE, got {pair!r}")
        # read now, with its exponent bounded and float64's range enforced, so that a value
        # like 1e100000000 is exit 2 before any big integer is built; passed on as text
        from symact.symbolic.budget import parse_value

        parse_value(value, key.strip())
        params[key.strip()] = value.strip()
    return params


def capture(argv: list[str]) -> tuple[int, str, str]:
    """Run :func:`main` and return (exit code, stdout, stderr): for tests."""
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()
