"""Run a research note's Python code confined, in a child process, never in symact's own.

``symact notes`` runs a note's code because the user asked for it, and a note can
be hostile. :class:`NoteRunner` starts one child per note (``sys.executable -I -B``
running this very file, a minimal environment, its own session and process group,
stdin and stdout on ``/dev/null``) that runs each code block once, in one namespace,
and answers the parent's evaluation requests over a pipe. Before the child runs a
line of the note it confines itself with the operating system's own isolation:

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

import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

#: Seconds one code block, or the evaluation of one function, may take.
STEP_LIMIT = 10.0
#: Seconds all of a note's code may take together (blocks and evaluations).
BUDGET = 30.0
#: Seconds the parent waits past a deadline for the child's own answer before killing it.
GRACE = 2.0
#: Seconds the child may take to start and confine itself.
START_LIMIT = 30.0
#: Address-space limit of each process of the note, in bytes.
MEMORY_LIMIT = 1024**3
#: Largest file the note's code may write, in bytes.
FILE_LIMIT = 16 * 1024**2
#: Size of the note's private tmpfs (all its files together), in bytes.
DISK_LIMIT = 64 * 1024**2
#: Processes (and threads) the note's code may have at once, the sandbox's own two included.
PROCESS_LIMIT = 8
#: Largest answer (one JSON line) the parent accepts from the child, in bytes.
ANSWER_LIMIT = 8 * 1024**2
#: Bytes of the child's stderr the parent keeps (the last ones).
OUTPUT_LIMIT = 4096
#: When symact runs as root, the note's code runs as outside uid and gid SANDBOX_UID plus
#: the child's pid: each sandbox has ids of its own, so RLIMIT_NPROC (counted per uid)
#: is one note's budget, not shared with other notes running at the same time.
SANDBOX_UID = 2_000_000_000
#: Longest message (error, warning) taken from the child.
MESSAGE_LIMIT = 300


class Unavailable(Exception):
    """The note's code cannot be run here (no confinement and no ``--trust``, or no child)."""


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


@dataclass
class Confinement:
    """How the note's code runs: ``mode`` is ``confined`` or ``unconfined``; ``detail`` says how."""

    mode: str
    detail: str

    def describe(self) -> str:
        if self.mode == "confined":
            return f"code ran confined: {self.detail}"
        return f"code ran unconfined (--trust): {self.detail}"


class _Dead(Exception):
    """The child is gone (crashed, killed, overran): the message says why."""


# ============================================================================ the parent
class NoteRunner:
    """One child that runs a note's blocks, each once, under one time budget.

    Use as a context manager; :meth:`start` confines the child (or raises
    :class:`Unavailable`), :meth:`run_block` runs a block and evaluates functions,
    :meth:`close` kills whatever is left.
    """

    def __init__(self, *, trust: bool = False, step: float = STEP_LIMIT, budget: float = BUDGET,
                 memory: int = MEMORY_LIMIT):
        self.trust, self.step, self.budget, self.memory = trust, float(step), float(budget), int(memory)
        self.remaining = self.budget
        self.confinement: Confinement | None = None
        self.stopped: str | None = None  # why no more code can run
        self._proc: subprocess.Popen | None = None
        self._tmp: str | None = None
        self._fds: dict[str, int] = {}
        self._tail = bytearray()

    def __enter__(self) -> NoteRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ start
    def start(self) -> Confinement:
        """Start the child and confine it; :class:`Unavailable` when that is impossible."""
        try:
            why = self._spawn("confine")
        except _Dead as exc:
            self.close()
            why = str(exc)
        if why is None:
            return self.confinement
        self.close()
        if not self.trust:
            raise Unavailable(f"no confinement available here ({why}); pass --trust to run the note's "
                              "code unconfined, or --no-exec to check its formulas only")
        try:
            self._spawn("trust")
        except _Dead as exc:
            self.close()
            raise Unavailable(f"the note's code cannot run: {exc}") from None
        self.confinement = Confinement("unconfined", f"no confinement here ({why}); own process group, "
                                       "rlimits, minimal environment")
        return self.confinement

    def _spawn(self, mode: str) -> str | None:
        """Start a child in ``mode``; None when it is ready, else why it could not confine itself."""
        self.stopped, self._tail = None, bytearray()
        if not sys.executable:
            raise _Dead("no Python interpreter to run it with")
        try:
            self._tmp = tempfile.mkdtemp(prefix="symact-note-")
            req_r, req_w = os.pipe()
            ans_r, ans_w = os.pipe()
        except OSError as exc:
            raise _Dead(f"cannot make its folder or pipes: {exc.strerror}") from None
        config = {"mode": mode, "parent": os.getpid(), "tmp": self._tmp, "req": req_r, "ans": ans_w,
                  "memory": self.memory, "cpu": int(math.ceil(self.budget + 2 * GRACE)), "file": FILE_LIMIT,
                  "disk": DISK_LIMIT, "nproc": PROCESS_LIMIT}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": self._tmp,
               "TMPDIR": self._tmp, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", os.path.abspath(__file__), json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                cwd=self._tmp, env=env, pass_fds=(req_r, ans_w), start_new_session=True)
        except OSError as exc:
            raise _Dead(f"cannot start {sys.executable}: {exc.strerror}") from None
        finally:
            os.close(req_r)
            os.close(ans_w)
        self._fds = {"req": req_w, "ans": ans_r, "err": self._proc.stderr.fileno()}
        for fd in self._fds.values():
            os.set_blocking(fd, False)
        self._buf, how = bytearray(), None
        deadline = time.monotonic() + START_LIMIT
        hello = self._exchange(None, deadline)
        if "map" in hello:  # confine mode: the child is in its new user namespace
            how = self._map_ids()
            hello = self._exchange({"mapped": how}, deadline)
        if "failed" in hello:
            return _text(hello.get("failed")) or "unknown reason"
        if mode == "confine":
            self.confinement = Confinement("confined", _describe(hello, how, self.memory))
        return None

    def _map_ids(self) -> str:
        """Write the child's uid and gid maps: root maps the code to SANDBOX_UID + the child's pid,
        others to themselves."""
        pid = self._proc.pid
        if os.geteuid() == 0:
            try:
                for kind in ("uid", "gid"):
                    with open(f"/proc/{pid}/{kind}_map", "w") as fh:
                        fh.write(f"0 {SANDBOX_UID + pid} 1\n1 0 1\n")
                return "root"
            except OSError:
                pass  # SANDBOX_UID is not mapped here (a container): map our own ids
        try:
            with open(f"/proc/{pid}/setgroups", "w") as fh:
                fh.write("deny")
            for kind, own in (("uid", os.geteuid()), ("gid", os.getegid())):
                with open(f"/proc/{pid}/{kind}_map", "w") as fh:
                    fh.write(f"0 {own} 1\n")
        except OSError as exc:
            return f"failed: {exc.strerror}"
        return "user"

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
        except _Dead as exc:
            self.stopped = f"the code was stopped earlier ({exc})"
            self._kill()
            return BlockResult(fatal=str(exc))
        finally:
            self.remaining -= time.monotonic() - start
        return _block_result(answer, functions, len(points), [len(v) for v in vectors])

    # ------------------------------------------------------------------ plumbing
    def _exchange(self, request: dict | None, deadline: float) -> dict:
        """Send ``request`` (if any) and return the child's next answer, all by ``deadline``."""
        out = b"" if request is None else json.dumps(request).encode() + b"\n"
        sel = selectors.DefaultSelector()
        try:
            if out:
                sel.register(self._fds["req"], selectors.EVENT_WRITE, "req")
            sel.register(self._fds["ans"], selectors.EVENT_READ, "ans")
            if self._fds.get("err") is not None:
                sel.register(self._fds["err"], selectors.EVENT_READ, "err")
            while True:
                line = self._line()
                if line is not None:
                    return line
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    raise _Dead(f"the code did not finish within the note's time budget of {self.budget:g} s "
                                "and was stopped")
                for key, _ in sel.select(min(left, 1.0)):
                    if key.data == "req":
                        try:
                            n = os.write(key.fd, out)
                        except BlockingIOError:
                            continue
                        except OSError:  # BrokenPipeError: the child is gone
                            sel.unregister(key.fd)
                            continue
                        out = out[n:]
                        if not out:
                            sel.unregister(key.fd)
                    elif key.data == "ans":
                        chunk = _read(key.fd)
                        if chunk == b"":
                            raise _Dead(self._death())
                        self._buf += chunk or b""
                        if len(self._buf) > ANSWER_LIMIT and b"\n" not in self._buf:
                            self._kill()
                            raise _Dead(f"the code sent an answer over {ANSWER_LIMIT} bytes")
                    else:
                        chunk = _read(key.fd)
                        if chunk == b"":
                            sel.unregister(key.fd)
                            self._fds["err"] = None
                        elif chunk:
                            self._tail = (self._tail + chunk)[-OUTPUT_LIMIT:]
        finally:
            sel.close()

    def _line(self) -> dict | None:
        """The first complete answer line in the buffer, parsed; None if there is none yet."""
        end = self._buf.find(b"\n")
        if end < 0:
            return None
        raw = bytes(self._buf[:end])
        del self._buf[:end + 1]
        if end > ANSWER_LIMIT:
            self._kill()
            raise _Dead(f"the code sent an answer over {ANSWER_LIMIT} bytes")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            self._kill()
            raise _Dead("the code garbled the sandbox's answer")
        return data

    def _exited(self, timeout: float) -> bool:
        """Whether the child has exited within ``timeout`` s, without reaping it: while it is a
        zombie its pid stays reserved, so killing its process group cannot hit anyone else's."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
            except ChildProcessError:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def _death(self) -> str:
        """Why the child is gone (it closed its answer pipe)."""
        if not self._exited(GRACE):
            self._kill()
            return "the code closed the sandbox's answer pipe"
        self._kill()  # whatever else is left in its group
        code = self._proc.wait()
        err = self._fds.get("err")
        for _ in range(16):  # what it wrote last, at most 1 MiB of it
            chunk = _read(err) if err is not None else b""
            if not chunk:
                break
            self._tail = (self._tail + chunk)[-OUTPUT_LIMIT:]
        last = [ln for ln in self._tail.decode("utf-8", "replace").splitlines() if ln.strip()][-1:]
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = {"SIGKILL": " (killed: time, memory or a kill)", "SIGXCPU": " (CPU time limit)",
                   "SIGXFSZ": " (file size limit)", "SIGSEGV": " (memory fault)"}.get(name, "")
            return f"the code crashed: killed by {name}{why}"
        return f"the code crashed: exit status {code}" + (f" ({_text(last[0])})" if last else "")

    def _kill(self) -> None:
        """SIGKILL the child's process group (and the child): only while the child is not reaped."""
        if self._proc is None or self._proc.returncode is not None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except OSError:
            pass  # the group is gone already
        try:
            self._proc.kill()
        except OSError:
            pass

    def close(self) -> None:
        """End the child and every process in its group, and remove its folder."""
        proc, self._proc = self._proc, None
        if proc is not None:
            req = self._fds.get("req")
            if req is not None:
                try:
                    os.close(req)  # end of requests: a well-behaved child exits now
                except OSError:
                    pass
            self._proc = proc
            self._exited(0.5)
            self._kill()
            self._proc = None
            proc.wait()
            for name in ("ans",):
                try:
                    os.close(self._fds[name])
                except (OSError, KeyError):
                    pass
            if proc.stderr:
                proc.stderr.close()
            self._fds = {}
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _text(value, limit: int = MESSAGE_LIMIT) -> str | None:
    """A message from the child: a string, one line, at most ``limit`` characters."""
    if not isinstance(value, str):
        return None
    line = value.strip().splitlines()[0] if value.strip() else ""
    return line[:limit]


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
    return [t for t in (_text(v) for v in value[:limit]) if t]


def _block_result(answer: dict, functions: list[str], n_points: int, sizes: list[int]) -> BlockResult:
    """Check every field of the child's answer; anything malformed becomes an error."""
    out = BlockResult(error=_text(answer.get("error")))
    calls = answer.get("calls") if isinstance(answer.get("calls"), dict) else {}
    for name in functions:
        c = calls.get(name)
        if not isinstance(c, dict):
            out.calls[name] = Call(scalar_error="the sandbox gave no answer for it")
            continue
        vecs_raw = c.get("vectors") if isinstance(c.get("vectors"), list) else []
        errs_raw = c.get("vector_errors") if isinstance(c.get("vector_errors"), list) else []
        vectors = [_floats(vecs_raw[i], k) if i < len(vecs_raw) else None for i, k in enumerate(sizes)]
        errors = [(_text(errs_raw[i]) if i < len(errs_raw) else None) for i in range(len(sizes))]
        errors = [e if (e or v is not None) else "the sandbox gave no value" for v, e in zip(vectors, errors)]
        scalar = _floats(c.get("scalar"), n_points)
        error = _text(c.get("scalar_error"))
        if scalar is None and c.get("scalar") is not None and not error:
            error = "the sandbox gave malformed values"
        mode = c.get("scalar_mode") if c.get("scalar_mode") in ("array", "elementwise") else ""
        out.calls[name] = Call(scalar=scalar, scalar_mode=mode, scalar_error=error, vectors=vectors,
                               vector_errors=errors, warnings=_texts(c.get("warnings")),
                               vector_warnings=_texts(c.get("vector_warnings")))
    return out


def _describe(hello: dict, how: str, memory: int) -> str:
    abi = hello.get("landlock")
    scope = ", signals" if isinstance(abi, int) and abi >= 6 else ""
    net = ", TCP" if isinstance(abi, int) and abi >= 4 else ""
    who = (f"as an outside uid of its own, {SANDBOX_UID} + its pid" if how == "root" else "as the invoking user")
    return (f"Landlock ABI {abi} (files{net}{scope}), user/PID/network/mount/IPC namespaces ({who}), "
            f"seccomp (no UNIX sockets), private {DISK_LIMIT // 1024**2} MiB tmpfs, rlimits (CPU, "
            f"{memory / 1024**3:g} GiB memory, {FILE_LIMIT // 1024**2} MiB files, {PROCESS_LIMIT} processes)")


# ============================================================================ the child
# Everything below runs in the child only. Until _serve() starts, no line of the note has run.
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_PR_SET_PDEATHSIG, _PR_SET_SECCOMP, _PR_SET_NO_NEW_PRIVS, _SECCOMP_MODE_FILTER = 1, 22, 38, 2
_CAP_DAC_READ_SEARCH = 2
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
# filesystem rights: execute, write_file, read_file, read_dir, remove_dir, remove_file, make_char,
# make_dir, make_reg, make_sock, make_fifo, make_block, make_sym (ABI 1); refer (2); truncate (3);
# ioctl_dev (5)
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_TRUNCATE = 1 << 14
_FS_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | (1 << 15)
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2


def _libc():
    import ctypes
    return ctypes, ctypes.CDLL(None, use_errno=True)


def _errno_text(ctypes) -> str:
    return os.strerror(ctypes.get_errno())


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers; 0 when it has none (or is not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    ctypes, libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def _landlock(abi: int, tmp: str) -> None:
    """Restrict this process (and all it starts) to the reads and writes the note needs."""
    import sysconfig

    ctypes, libc = _libc()
    libc.syscall.restype = ctypes.c_long

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                    ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    fs = (1 << 13) - 1
    if abi >= 2:
        fs |= 1 << 13
    if abi >= 3:
        fs |= _FS_TRUNCATE
    if abi >= 5:
        fs |= 1 << 15
    attr = RulesetAttr(fs, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                       (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    ruleset = libc.syscall(ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), ctypes.byref(attr),
                           ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), f"landlock_create_ruleset: {_errno_text(ctypes)}")
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    rules: dict[str, int] = {}
    import numpy
    roots = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(numpy.__path__[0])}
    roots |= {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    for path in roots | {"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/etc/ld.so.cache",
                         "/etc/localtime", "/dev/urandom", "/dev/random", "/dev/zero"}:
        if path and os.path.realpath(path) != "/":
            rules[path] = read
    rules["/dev/null"] = _FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE
    rules[tmp] = fs
    try:
        for path, access in rules.items():
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # not on this system
            try:
                if not os.path.isdir(path):
                    access &= _FS_FILE_RIGHTS
                rule = PathBeneath(access & fs, fd)
                if libc.syscall(ctypes.c_long(_SYS_LANDLOCK_ADD_RULE), ctypes.c_int(ruleset),
                                ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                                ctypes.c_uint32(0)) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}: {_errno_text(ctypes)}")
            finally:
                os.close(fd)
        if libc.syscall(ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset),
                        ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), f"landlock_restrict_self: {_errno_text(ctypes)}")
    finally:
        os.close(ruleset)


#: seccomp's view of this machine: (AUDIT_ARCH, socket, io_uring_setup, x32 syscalls to refuse)
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41, 425, True), "aarch64": (0xC00000B7, 198, 425, False),
                 "riscv64": (0xC00000F3, 198, 425, False)}


def _socket_filter() -> None:
    """A seccomp filter: sockets only of the TCP/IP families (useless in an empty network
    namespace, and TCP denied by Landlock), so no UNIX socket: a pathname socket is reached
    through the filesystem, not the network namespace, and Landlock ABI 7 does not cover it.
    Also no io_uring (it creates sockets without socket(2)), and no foreign-ABI system calls
    (x32, i386), which would get past the numbers checked here."""
    import ctypes

    machine = os.uname().machine
    if machine not in _SECCOMP_ARCH:
        raise OSError(0, f"no socket filter for this architecture ({machine})")
    arch, nr_socket, nr_io_uring, x32 = _SECCOMP_ARCH[machine]
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JGE|K, BPF_RET|K
    kill, allow, eacces, enosys = 0x80000000, 0x7FFF0000, 0x00050000 | 13, 0x00050000 | 38
    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld_abs, 0, 0, 0)]
    if x32:
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, kill)]
    prog += [(jeq, 0, 1, nr_io_uring), (ret, 0, 0, enosys),
             (jeq, 0, 4, nr_socket), (ld_abs, 0, 0, 16),  # args[0], low half (little-endian)
             (jeq, 2, 0, 2), (jeq, 1, 0, 10),  # AF_INET, AF_INET6
             (ret, 0, 0, eacces), (ret, 0, 0, allow)]

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]

    insns = (SockFilter * len(prog))(*[SockFilter(*i) for i in prog])
    _, libc = _libc()
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(SockFprog(len(prog), insns)), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"seccomp: {os.strerror(ctypes.get_errno())}")


def _keep_only_dac_read_search() -> None:
    """Drop every capability (in the new user namespace) but reading files the maps cover."""
    ctypes, libc = _libc()

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), f"capset: {_errno_text(ctypes)}")


def _rlimits(cfg: dict) -> None:
    import resource

    for res, value in ((resource.RLIMIT_CPU, cfg["cpu"]), (resource.RLIMIT_AS, cfg["memory"]),
                       (resource.RLIMIT_FSIZE, cfg["file"]), (resource.RLIMIT_NPROC, cfg["nproc"]),
                       (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 256)):
        soft, hard = resource.getrlimit(res)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(res, (cap, cap))


def _no_new_privs() -> None:
    ctypes, libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"no_new_privs: {_errno_text(ctypes)}")


class _Wire:
    """The child's end of the pipes: JSON lines in, JSON lines out."""

    def __init__(self, cfg: dict):
        self.rd = os.fdopen(cfg["req"], "rb", closefd=True)
        self.wfd = cfg["ans"]

    def send(self, obj: dict) -> None:
        data = json.dumps(obj).encode() + b"\n"
        while data:
            data = data[os.write(self.wfd, data):]

    def recv(self) -> dict | None:
        line = self.rd.readline()
        return json.loads(line) if line else None


def _confine(cfg: dict, wire: _Wire) -> dict:
    """Confine this process (namespaces, ids, tmpfs, capabilities, rlimits, Landlock); say how."""
    ctypes, libc = _libc()
    abi = landlock_abi()
    if abi < 1:
        raise OSError(0, f"Landlock is not available ({_errno_text(ctypes)})")
    flags = _CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), f"user namespaces: {_errno_text(ctypes)}")
    wire.send({"map": True})
    how = (wire.recv() or {}).get("mapped")
    if how not in ("root", "user"):
        raise OSError(0, f"uid map: {how}")
    os.setresgid(0, 0, 0)
    if how == "root":
        os.setgroups([])
    os.setresuid(0, 0, 0)
    opts = f"size={cfg['disk']},nr_inodes=4096,mode=0700".encode()
    if libc.mount(b"tmpfs", cfg["tmp"].encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, opts) != 0:
        raise OSError(ctypes.get_errno(), f"tmpfs: {_errno_text(ctypes)}")
    os.chdir(cfg["tmp"])
    import numpy  # noqa: F401 - loaded before the rules, like everything the child needs
    _keep_only_dac_read_search()
    _rlimits(cfg)
    _no_new_privs()
    _landlock(abi, cfg["tmp"])
    _socket_filter()
    return {"landlock": abi}


def _init(pid: int) -> None:  # pragma: no cover - runs in the child
    """The outer process: wait for the note's init (PID 1 of the namespace) and die as it did."""
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when symact dies (set after the last change of credentials, which clears it)."""
    ctypes, libc = _libc()
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # symact died before that
        os._exit(1)


def _main(cfg: dict) -> None:  # pragma: no cover - the child's entry point
    wire = _Wire(cfg)
    if cfg["mode"] == "confine":
        try:
            hello = _confine(cfg, wire)
        except OSError as exc:
            wire.send({"failed": exc.strerror or str(exc)})
            os._exit(0)
        _die_with_parent(cfg["parent"])
        pid = os.fork()  # the first process of the new PID namespace runs the note
        if pid:
            os.close(cfg["ans"])
            wire.rd.close()
            _init(pid)
        ctypes, libc = _libc()
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the outer process died: so does the note
        os.setsid()  # a group of its own: kill(0, ...) in the note cannot reach the outer process
    else:
        _die_with_parent(cfg["parent"])
        import numpy  # noqa: F401
        _rlimits(cfg)
        _no_new_privs()
        hello = {"trust": True}
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too big a file: an error, not a death
    wire.send(hello)
    _serve(wire)
    os._exit(0)


def _stub_module(name: str):
    import types

    class _Ignore:
        def __getattr__(self, _):
            return self

        def __call__(self, *a, **k):
            return self

        def __iter__(self):
            return iter((self, self))

        def __getitem__(self, _):
            return self

    mod = types.ModuleType(name)
    mod.__getattr__ = lambda attr: _Ignore()
    return mod


class _Overrun(BaseException):
    """A step ran past its time: raised into the note's code by SIGALRM."""


def _serve(wire: _Wire) -> None:  # pragma: no cover - runs in the child
    import builtins
    import traceback
    import warnings

    import numpy as np

    mpl, pyplot = _stub_module("matplotlib"), _stub_module("matplotlib.pyplot")
    mpl.pyplot = pyplot
    sys.modules["matplotlib"], sys.modules["matplotlib.pyplot"] = mpl, pyplot
    ns = {"__name__": "__note__", "__builtins__": builtins, "np": np, "numpy": np, "math": math,
          "plt": pyplot, "matplotlib": mpl}
    limit = {"s": 0.0}

    def on_alarm(*_):
        raise _Overrun()

    def describe(exc: BaseException) -> str:
        if isinstance(exc, _Overrun):
            return f"the code did not finish within {limit['s']:g} s (stopped)"
        return (f"{type(exc).__name__}: {exc}".strip().splitlines() or [""])[0][:MESSAGE_LIMIT]

    def timed(deadline: float, step: float, fn):
        """Run ``fn()`` with a SIGALRM at min(step, deadline); re-raise what it raises."""
        left = min(step, deadline - time.monotonic())
        if left <= 0:
            limit["s"] = 0.0
            raise _Overrun()
        limit["s"] = round(left, 1)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, left)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def as_floats(value, shape):
        arr = np.asarray(value)
        if arr.dtype == object or arr.shape != shape:
            raise ValueError("wrong shape")
        return [float(v) for v in arr.astype(np.float64).ravel()]

    def evaluate(fn, points, vectors, call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn"):
                try:
                    call["scalar"] = as_floats(fn(points.copy()), points.shape)
                    call["scalar_mode"] = "array"
                except _Overrun:
                    raise
                except BaseException:  # noqa: BLE001 - note code may raise anything
                    caught.clear()
                    vals, first = [], None
                    for p in points:
                        try:
                            v = np.asarray(fn(np.float64(p)))
                            vals.append(float(v.astype(np.float64).ravel()[0]) if v.size == 1 else math.nan)
                        except _Overrun:
                            raise
                        except BaseException as exc:  # noqa: BLE001
                            first = first or f"x = {float(p)!r}: {describe(exc)}"
                            vals.append(math.nan)
                    call["scalar"], call["scalar_mode"] = vals, "elementwise"
                    call["scalar_error"] = first
                rw = lambda: sorted({str(w.message) for w in caught  # noqa: E731
                                     if issubclass(w.category, RuntimeWarning)})
                call["warnings"] = rw()
                caught.clear()
                vecs, errs = [], []
                for v in vectors:
                    arr = np.array(v, dtype=np.float64)
                    try:
                        vecs.append(as_floats(fn(arr.copy()), arr.shape))
                        errs.append(None)
                    except _Overrun:
                        raise
                    except BaseException as exc:  # noqa: BLE001
                        vecs.append(None)
                        errs.append(describe(exc))
                call["vectors"], call["vector_errors"] = vecs, errs
            call["vector_warnings"] = rw()

    while True:
        req = wire.recv()
        if req is None:
            return
        deadline = time.monotonic() + float(req["budget"])
        step = float(req["step"])
        result: dict = {"error": None, "calls": {}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timed(deadline, step, lambda: exec(compile(req["block"], "<note>", "exec"), ns))
        except BaseException as exc:  # noqa: BLE001 - note code may raise anything
            tb = traceback.extract_tb(exc.__traceback__)
            line = next((f.lineno for f in reversed(tb) if f.filename == "<note>"), None)
            result["error"] = describe(exc) + (f" (line {line} of the block)" if line else "")
        points = np.array(req["points"], dtype=np.float64)
        for name in req["functions"]:
            fn = ns.get(name)
            call: dict = {"warnings": []}
            result["calls"][name] = call
            if not callable(fn):
                call["scalar_error"] = f"{name} is not defined"
                continue
            try:
                timed(deadline, step, lambda: evaluate(fn, points, req["vectors"], call))
            except BaseException as exc:  # noqa: BLE001
                call.clear()
                call["scalar_error"] = describe(exc) if isinstance(exc, _Overrun) else (
                    f"evaluating it failed: {describe(exc)}")
        wire.send(result)


if __name__ == "__main__":  # pragma: no cover - the child's entry point
    _main(json.loads(sys.argv[1]))
