"""The parent half of :mod:`symact.sandbox`: start a confined child, talk to it, end it.

:class:`Sandbox` starts ``sys.executable -I -B child.py CONFIG`` (:mod:`symact.sandbox.child`)
with a minimal environment, in its own session and process group, stdin and stdout on
``/dev/null`` and stderr drained (only its last :data:`OUTPUT_LIMIT` bytes kept). The child
confines itself (or, in ``trust`` mode, only takes the rlimits) and loads a *service*, a file
whose ``serve(wire, cfg)`` answers the parent's requests over a pair of pipes: JSON lines of
at most :data:`ANSWER_LIMIT` bytes, each optionally followed by raw bytes (``nbytes``, for
arrays; only when the sandbox is made with ``binary=True``). Every exchange has a deadline;
past it, or when the child sends garbage, floods, closes its pipe or dies, :class:`Dead`
says why and the whole process group is killed. The notes' code
(:mod:`symact.notes.sandbox`) and users' implementations (:mod:`symact.verify.impl`) run here.

Standard library only, so every layer may use it.
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
from dataclasses import dataclass

#: Seconds the parent waits past a deadline for the child's own answer before killing it.
GRACE = 2.0
#: Seconds the child may take to start and confine itself.
START_LIMIT = 30.0
#: Address-space limit of each process of the sandbox, in bytes (default).
MEMORY_LIMIT = 1024**3
#: Largest file the code may write, in bytes.
FILE_LIMIT = 16 * 1024**2
#: Size of the sandbox's private tmpfs (all its files together), in bytes.
DISK_LIMIT = 64 * 1024**2
#: Processes (and threads) the code may have at once, the sandbox's own three (outer process,
#: the namespace's reaper, the code's) included (default).
PROCESS_LIMIT = 8
#: Largest answer (one JSON line, or its raw bytes) the parent accepts from the child, in bytes.
ANSWER_LIMIT = 8 * 1024**2
#: Bytes of the child's stderr the parent keeps (the last ones).
OUTPUT_LIMIT = 4096
#: When symact runs as root, the code runs as outside uid and gid SANDBOX_UID plus the
#: child's pid: each sandbox has ids of its own, so RLIMIT_NPROC (counted per uid) is one
#: sandbox's budget, not shared with other sandboxes running at the same time.
SANDBOX_UID = 2_000_000_000
#: Longest message (error, warning) taken from the child.
MESSAGE_LIMIT = 300
#: The child's entry point.
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")


class Unavailable(Exception):
    """The code cannot be run here (no confinement and no ``--trust``, or no child)."""


class Dead(Exception):
    """The child is gone (crashed, killed, overran, garbled its answer): the message says why.

    ``kind`` is ``timeout``, ``signal`` (``signal`` names it), ``exit`` (``status``),
    ``garbled``, ``flood``, ``closed`` or ``start``.
    """

    def __init__(self, message: str, kind: str = "start", *, status: int | None = None,
                 signal: str | None = None):
        super().__init__(message)
        self.kind, self.status, self.signal = kind, status, signal


_Dead = Dead


@dataclass
class Confinement:
    """How the code runs: ``mode`` is ``confined`` or ``unconfined``; ``detail`` says how."""

    mode: str
    detail: str

    def describe(self) -> str:
        if self.mode == "confined":
            return f"code ran confined: {self.detail}"
        return f"code ran unconfined (--trust): {self.detail}"


class Sandbox:
    """One child that confines itself and then runs ``service`` (a file path).

    Use as a context manager; :meth:`start` confines the child (or raises
    :class:`Unavailable`), :meth:`exchange` sends one request and returns the answer,
    :meth:`close` kills whatever is left. ``read``: folders (or files) the code may read
    besides the Python installation; ``settings``: more configuration for the service;
    ``budget``: seconds of CPU (the rlimit is the budget plus twice :data:`GRACE`).
    """

    #: How the messages name what runs here.
    subject = "the code"
    #: What :class:`Unavailable` suggests when confinement is impossible.
    refusal = "pass --trust to run it unconfined"

    def __init__(self, service: str, *, trust: bool = False, budget: float = 30.0,
                 memory: int | None = MEMORY_LIMIT, nproc: int = PROCESS_LIMIT, read=(),
                 settings: dict | None = None, binary: bool = False, prefix: str = "symact-sandbox-"):
        self.service, self.trust, self.budget = service, trust, float(budget)
        self.memory = None if memory is None else int(memory)
        self.nproc, self.read, self.settings = int(nproc), [str(p) for p in read], dict(settings or {})
        self.binary, self.prefix = binary, prefix
        self.confinement: Confinement | None = None
        self.stopped: str | None = None  # why no more code can run
        self._proc: subprocess.Popen | None = None
        self._tmp: str | None = None
        self._fds: dict[str, int] = {}
        self._tail = bytearray()
        self._buf = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def folder(self) -> str | None:
        """The child's private folder (its cwd, HOME and TMPDIR), while it runs."""
        return self._tmp

    # ------------------------------------------------------------------ start
    def start(self) -> Confinement:
        """Start the child and confine it; :class:`Unavailable` when that is impossible."""
        try:
            why = self._spawn("confine")
        except Dead as exc:
            self.close()
            why = str(exc)
        if why is None:
            return self.confinement
        self.close()
        if not self.trust:
            raise Unavailable(f"no confinement available here ({why}); {self.refusal}")
        try:
            self._spawn("trust")
        except Dead as exc:
            self.close()
            raise Unavailable(f"{self.subject} cannot run: {exc}") from None
        self.confinement = Confinement("unconfined", f"no confinement here ({why}); own process group, "
                                       "rlimits, minimal environment")
        return self.confinement

    def _spawn(self, mode: str) -> str | None:
        """Start a child in ``mode``; None when it is ready, else why it could not confine itself."""
        self.stopped, self._tail = None, bytearray()
        if not sys.executable:
            raise Dead("no Python interpreter to run it with")
        try:
            self._tmp = tempfile.mkdtemp(prefix=self.prefix)
            req_r, req_w = os.pipe()
            ans_r, ans_w = os.pipe()
        except OSError as exc:
            raise Dead(f"cannot make its folder or pipes: {exc.strerror}") from None
        config = {"mode": mode, "parent": os.getpid(), "tmp": self._tmp, "req": req_r, "ans": ans_w,
                  "memory": self.memory, "cpu": int(math.ceil(self.budget + 2 * GRACE)), "file": FILE_LIMIT,
                  "disk": DISK_LIMIT, "nproc": self.nproc, "service": self.service, "read": self.read,
                  **self.settings}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": self._tmp,
               "TMPDIR": self._tmp, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", CHILD, json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                cwd=self._tmp, env=env, pass_fds=(req_r, ans_w), start_new_session=True)
        except OSError as exc:
            raise Dead(f"cannot start {sys.executable}: {exc.strerror}") from None
        finally:
            os.close(req_r)
            os.close(ans_w)
        self._fds = {"req": req_w, "ans": ans_r, "err": self._proc.stderr.fileno()}
        for fd in self._fds.values():
            os.set_blocking(fd, False)
        self._buf, how = bytearray(), None
        deadline = time.monotonic() + START_LIMIT
        hello = self.exchange(None, deadline)
        if "map" in hello:  # confine mode: the child is in its new user namespace
            how = self._map_ids()
            hello = self.exchange({"mapped": how}, deadline)
        if "failed" in hello:
            return text(hello.get("failed")) or "unknown reason"
        if mode == "confine":
            self.confinement = Confinement("confined", self.describe(hello, how))
        return None

    def describe(self, hello: dict, how: str | None) -> str:
        abi = hello.get("landlock")
        scope = ", signals" if isinstance(abi, int) and abi >= 6 else ""
        net = ", TCP" if isinstance(abi, int) and abi >= 4 else ""
        who = (f"as an outside uid of its own, {SANDBOX_UID} + its pid" if how == "root" else "as the invoking user")
        mem = "no address-space limit" if self.memory is None else f"{self.memory / 1024**3:g} GiB memory"
        return (f"Landlock ABI {abi} (files{net}{scope}), user/PID/network/mount/IPC namespaces ({who}), "
                f"seccomp (no UNIX sockets), private {DISK_LIMIT // 1024**2} MiB tmpfs, rlimits (CPU, "
                f"{mem}, {FILE_LIMIT // 1024**2} MiB files, {self.nproc} processes)")

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

    # ------------------------------------------------------------------ plumbing
    def overrun(self) -> str:
        """The message when an exchange runs past its deadline."""
        return f"{self.subject} did not finish within its time budget of {self.budget:g} s and was stopped"

    def exchange(self, request: dict | None, deadline: float, payload: bytes = b"") -> dict:
        """Send ``request`` (if any, with ``payload``) and return the child's next answer, all by
        ``deadline``; an answer with raw bytes has them under ``payload``."""
        if request is not None and payload:
            request = {**request, "nbytes": len(payload)}
        out = b"" if request is None else json.dumps(request).encode() + b"\n" + bytes(payload)
        out = memoryview(out)
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
                    raise Dead(self.overrun(), "timeout")
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
                            raise self._death()
                        self._buf += chunk or b""
                        if len(self._buf) > 2 * ANSWER_LIMIT + 65536 or (
                                len(self._buf) > ANSWER_LIMIT and b"\n" not in self._buf):
                            self._kill()
                            raise Dead(f"the code sent an answer over {ANSWER_LIMIT} bytes", "flood")
                    else:
                        chunk = _read(key.fd)
                        if chunk == b"":
                            sel.unregister(key.fd)
                            self._fds["err"] = None
                        elif chunk:
                            self._tail = (self._tail + chunk)[-OUTPUT_LIMIT:]
        finally:
            sel.close()

    _exchange = exchange

    def _line(self) -> dict | None:
        """The first complete answer in the buffer, parsed; None if there is none yet."""
        end = self._buf.find(b"\n")
        if end < 0:
            return None
        if end > ANSWER_LIMIT:
            self._kill()
            raise Dead(f"the code sent an answer over {ANSWER_LIMIT} bytes", "flood")
        try:
            data = json.loads(bytes(self._buf[:end]))
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            self._kill()
            raise Dead("the code garbled the sandbox's answer", "garbled")
        n = data.pop("nbytes", None) if self.binary else None
        if n is not None:
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= ANSWER_LIMIT:
                self._kill()
                raise Dead("the code garbled the sandbox's answer", "garbled")
            if len(self._buf) - end - 1 < n:
                return None  # the bytes are still coming
            data["payload"] = bytes(self._buf[end + 1:end + 1 + n])
            del self._buf[:end + 1 + n]
            return data
        del self._buf[:end + 1]
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

    def _death(self) -> Dead:
        """Why the child is gone (it closed its answer pipe)."""
        if not self._exited(GRACE):
            self._kill()
            return Dead("the code closed the sandbox's answer pipe", "closed")
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
            return Dead(f"the code crashed: killed by {name}{why}", "signal", signal=name)
        return Dead(f"the code crashed: exit status {code}" + (f" ({text(last[0])})" if last else ""),
                    "exit", status=code)

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


def text(value, limit: int = MESSAGE_LIMIT) -> str | None:
    """A message from the child: a string, one line, at most ``limit`` characters."""
    if not isinstance(value, str):
        return None
    line = value.strip().splitlines()[0] if value.strip() else ""
    return line[:limit]
