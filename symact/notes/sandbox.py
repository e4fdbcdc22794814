"""Run a research note's Python code confined, in a child process, never in symact's own.

``symact notes`` runs a note's code because the user asked for it, and a note can
be hostile. :class:`NoteRunner` starts one child per note through
:class:`symact.sandbox.Sandbox` (``sys.executable -I -B`` running
:mod:`symact.sandbox.child`, a minimal environment, its own session and process group,
stdin and stdout on ``/dev/null``); the child serves :mod:`symact.notes._child`, which
runs each code block once, in one namespace, and answers the parent's evaluation
requests over a pipe. Before the child runs a line of the note it confines itself with
the operating system's own isolation (the machinery lives in :mod:`symact.sandbox`,
shared with users' implementations, :mod:`symact.verify.impl`):

* **namespaces** (``unshare(2)``): a new user namespace, in which the code runs as
  root of the namespace but, when symact runs as root, as the unprivileged outside
  uid :data:`SANDBOX_UID` (so ``RLIMIT_NPROC`` binds: root is exempt from it), and
  with only ``CAP_DAC_READ_SEARCH`` left; a network namespace (no network at all,
  not even loopback to the host); a PID namespace whose init runs the note, so
  that every process the code starts dies with it; a mount namespace in which a
  private tmpfs of :data:`DISK_LIMIT` bytes is the code's working and temporary
  folder; and an IPC namespace;
* **Landlock** (``landlock_create_ruleset(2)`` and friends): reading only the
  Python installation (and NumPy's site-packages), ``/usr``, ``/lib*``, a few
  ``/etc`` files and ``/dev/{null,urandom,random,zero}``; writing only in its
  tmpfs; no TCP bind or connect (ABI >= 4); no signals to, and no abstract UNIX
  sockets of, processes outside the sandbox (ABI >= 6). ``/proc``, ``/sys``,
  homes and symact's cache are unreadable;
* **seccomp**: sockets of the TCP/IP families only, so no UNIX sockets (a
  pathname socket is reached through the filesystem, past the network namespace,
  and Landlock ABI 7 does not cover it), no io_uring, no foreign-ABI calls;
* **rlimits**: CPU seconds (the time budget), address space
  (:data:`MEMORY_LIMIT`), file size (:data:`FILE_LIMIT`), processes
  (:data:`PROCESS_LIMIT`), no core files; ``PR_SET_NO_NEW_PRIVS``; and the whole
  sandbox gets SIGKILL when symact dies (``PR_SET_PDEATHSIG``).

Landlock is reached through ``ctypes`` (the standard library has no binding; the three system
calls are 444-446 on every Linux architecture but alpha) and so are ``unshare``,
``mount``, ``capset`` and ``prctl`` (Python 3.11 has no ``os.unshare``); the
seccomp filter is a dozen BPF instructions for x86_64, aarch64 and riscv64. Where
the platform lacks any of these the child says why and exits; the note's code then
runs only if the user passed ``--trust``, unconfined but still in its own process
group with the rlimits, a minimal environment and a private folder, and the
review says which way it ran (:attr:`NoteRunner.confinement`).

The parent bounds everything it takes from the child: answers are JSON lines of
at most :data:`ANSWER_LIMIT` bytes whose every field is checked; stderr is
drained and only its last :data:`OUTPUT_LIMIT` bytes are kept; each block and
each function's evaluation may take :data:`STEP_LIMIT` seconds and all of a
note's code :data:`BUDGET` seconds (the child stops an overrunning step itself;
past the budget plus :data:`GRACE` the parent kills the whole child). When the
note is done, or the child crashes or overruns, the parent kills the process
group; the PID namespace takes every other process of the note with it.

The child gives note code what notes assume: ``np``, ``numpy`` and ``math``
without imports, and ``plt``/``matplotlib`` as a stub that accepts and ignores
every call (so top-level plotting is harmless and no window opens). Functions are
called on the whole array of points; if that raises or returns the wrong shape
(scalar-only code such as ``if x > 0:``) they are called element by element
with ``numpy.float64`` arguments. NumPy ``RuntimeWarning``s (overflow, invalid
value) are recorded, not printed.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from symact.sandbox.runner import (  # noqa: F401 - re-exported: the notes' limits and types
    ANSWER_LIMIT, DISK_LIMIT, FILE_LIMIT, GRACE, MEMORY_LIMIT, MESSAGE_LIMIT, OUTPUT_LIMIT, PROCESS_LIMIT,
    SANDBOX_UID, START_LIMIT, Confinement, Dead, Sandbox, Unavailable, text)

#: Seconds one code block, or the evaluation of one function, may take.
STEP_LIMIT = 10.0
#: Seconds all of a note's code may take together (blocks and evaluations).
BUDGET = 30.0
#: The service the note's child runs.
SERVICE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_child.py")

_Dead = Dead
_text = text


@dataclass
class Call:
    """What one function gave: on the scalar points and on each test vector."""

    scalar: list[float] | None = None
    scalar_mode: str = ""
    scalar_error: str | None = None
    vectors: list[list[float] | None] = field(default_factory=list)
    vector_errors: list[str | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vector_warnings: list[str] = field(default_factory=list)


@dataclass
class BlockResult:
    """The outcome of one code block.

    ``error``: the block raised (its functions were still evaluated); ``fatal``: the
    block did not run or the sandbox died or was stopped while it ran (no calls).
    """

    error: str | None = None
    fatal: str | None = None
    calls: dict[str, Call] = field(default_factory=dict)


# ============================================================================ the parent
class NoteRunner(Sandbox):
    """One child that runs a note's blocks, each once, under one time budget.

    Use as a context manager; :meth:`start` confines the child (or raises
    :class:`Unavailable`), :meth:`run_block` runs a block and evaluates functions,
    :meth:`close` kills whatever is left.
    """

    subject = "the note's code"
    refusal = "pass --trust to run the note's code unconfined, or --no-exec to check its formulas only"

    def __init__(self, *, trust: bool = False, step: float = STEP_LIMIT, budget: float = BUDGET,
                 memory: int = MEMORY_LIMIT):
        super().__init__(SERVICE, trust=trust, budget=budget, memory=memory, nproc=PROCESS_LIMIT,
                         prefix="symact-note-")
        self.step = float(step)
        self.remaining = self.budget

    def __enter__(self) -> NoteRunner:
        return self

    def overrun(self) -> str:
        return f"the code did not finish within the note's time budget of {self.budget:g} s and was stopped"

    # ------------------------------------------------------------------ blocks
    def run_block(self, code: str, functions: list[str], points: list[float],
                  vectors: list[list[float]]) -> BlockResult:
        """Run one block (once) in the note's namespace, then evaluate ``functions``."""
        if self.stopped:
            return BlockResult(fatal=f"not run: {self.stopped}")
        if self._proc is None:
            return BlockResult(fatal="not run: the note's code was not started")
        if self.remaining <= 0:
            self.stopped = f"the note's code used up its time budget of {self.budget:g} s"
            return BlockResult(fatal=f"not run: {self.stopped}")
        request = {"block": code, "functions": functions, "points": points, "vectors": vectors,
                   "step": self.step, "budget": self.remaining}
        start = time.monotonic()
        try:
            answer = self._exchange(request, start + self.remaining + GRACE)
        except Dead as exc:
            self.stopped = f"the code was stopped earlier ({exc})"
            self._kill()
            return BlockResult(fatal=str(exc))
        finally:
            self.remaining -= time.monotonic() - start
        return _block_result(answer, functions, len(points), [len(v) for v in vectors])


def _floats(value, n: int) -> list[float] | None:
    """``value`` if it is a list of ``n`` numbers (as floats), else None."""
    if not isinstance(value, list) or len(value) != n:
        return None
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        out.append(float(v))
    return out


def _texts(value, limit: int = 10) -> list[str]:
    if not isinstance(value, list):
        return []
    return [t for t in (text(v) for v in value[:limit]) if t]


def _block_result(answer: dict, functions: list[str], n_points: int, sizes: list[int]) -> BlockResult:
    """Check every field of the child's answer; anything malformed becomes an error."""
    out = BlockResult(error=text(answer.get("error")))
    calls = answer.get("calls") if isinstance(answer.get("calls"), dict) else {}
    for name in functions:
        c = calls.get(name)
        if not isinstance(c, dict):
            out.calls[name] = Call(scalar_error="the sandbox gave no answer for it")
            continue
        vecs_raw = c.get("vectors") if isinstance(c.get("vectors"), list) else []
        errs_raw = c.get("vector_errors") if isinstance(c.get("vector_errors"), list) else []
        vectors = [_floats(vecs_raw[i], k) if i < len(vecs_raw) else None for i, k in enumerate(sizes)]
        errors = [(text(errs_raw[i]) if i < len(errs_raw) else None) for i in range(len(sizes))]
        errors = [e if (e or v is not None) else "the sandbox gave no value" for v, e in zip(vectors, errors)]
        scalar = _floats(c.get("scalar"), n_points)
        error = text(c.get("scalar_error"))
        if scalar is None and c.get("scalar") is not None and not error:
            error = "the sandbox gave malformed values"
        mode = c.get("scalar_mode") if c.get("scalar_mode") in ("array", "elementwise") else ""
        out.calls[name] = Call(scalar=scalar, scalar_mode=mode, scalar_error=error, vectors=vectors,
                               vector_errors=errors, warnings=_texts(c.get("warnings")),
                               vector_warnings=_texts(c.get("vector_warnings")))
    return out
