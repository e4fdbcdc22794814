"""The child half of :mod:`symact.sandbox`: confine this process, then serve requests.

Run as ``python -I -B child.py CONFIG`` by :class:`symact.sandbox.runner.Sandbox`, never
imported by symact itself. It uses the standard library only (and NumPy, loaded before
the rules so that the code under test finds it), because under ``-I`` symact itself may
not be importable. ``CONFIG`` (JSON) names the service module (``service``: a file whose
``serve(wire, cfg)`` answers the parent's requests; loaded by path before anything is
confined), the mode (``confine`` or ``trust``), the pipes, the private folder, the limits
and the extra folders the code may read (``read``).

``confine``: namespaces (user, PID, network, mount with a private tmpfs, IPC, UTS), only
``CAP_DAC_READ_SEARCH`` kept, rlimits, ``PR_SET_NO_NEW_PRIVS``, Landlock (read the Python
installation and ``read``, write the tmpfs; no TCP; no signals or abstract sockets outside
at ABI >= 6) and a seccomp filter (no UNIX sockets, no io_uring, no foreign ABIs). Where
any of it fails the child says why (``{"failed": ...}``) and exits. ``trust``: rlimits and
no new privileges only. The service runs in the second process of the new PID namespace
(``confine``; the first reaps orphans and reports how it ended), in a session of its own;
every process it starts dies with it.
"""
from __future__ import annotations

import json
import os
import signal
import sys

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


def _landlock(abi: int, tmp: str, extra: list) -> None:
    """Restrict this process (and all it starts) to the reads and writes the code needs:
    read the Python installation and ``extra``, write only ``tmp``."""
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
                         "/etc/localtime", "/dev/urandom", "/dev/random", "/dev/zero"} | set(extra):
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
        if value is None:  # no limit asked for
            continue
        soft, hard = resource.getrlimit(res)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(res, (cap, cap))


def _no_new_privs() -> None:
    ctypes, libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"no_new_privs: {_errno_text(ctypes)}")


class _Wire:
    """The child's end of the pipes: JSON lines in, JSON lines out; a line whose ``nbytes``
    is set is followed by that many raw bytes (its ``payload``)."""

    def __init__(self, cfg: dict):
        self.rd = os.fdopen(cfg["req"], "rb", closefd=True)
        self.wfd = cfg["ans"]

    def send(self, obj: dict, payload: bytes = b"") -> None:
        if payload:
            obj = {**obj, "nbytes": len(payload)}
        data = json.dumps(obj).encode() + b"\n" + bytes(payload)
        view = memoryview(data)
        while view:
            view = view[os.write(self.wfd, view):]

    def recv(self) -> dict | None:
        line = self.rd.readline()
        if not line:
            return None
        obj = json.loads(line)
        n = obj.get("nbytes") if isinstance(obj, dict) else None
        if isinstance(n, int) and n > 0:
            obj["payload"] = self.rd.read(n)
        return obj


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
    _landlock(abi, cfg["tmp"], [p for p in cfg.get("read", []) if isinstance(p, str)])
    _socket_filter()
    return {"landlock": abi}


def _close_std() -> None:  # pragma: no cover - runs in the child
    """Close stdin, stdout and stderr: the processes around the code write nothing."""
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass


def _init(pid: int, status_fd: int) -> None:  # pragma: no cover - runs in the child
    """The outer process: wait for the namespace's init (PID 1) and die as the code (PID 2) did,
    whose wait status the init sends on ``status_fd`` (else as the init did)."""
    _close_std()
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
    try:
        data = os.read(status_fd, 4)
    except OSError:
        data = b""
    if len(data) == 4:
        status = int.from_bytes(data, "little")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _reaper(pid: int, status_fd: int) -> None:  # pragma: no cover - runs in the child
    """PID 1 of the namespace: reap every orphan until the code (``pid``) ends, send its wait
    status to the outer process, and exit (which kills whatever is left in the namespace).
    The code is not PID 1 itself because the kernel ignores the signals an init sends itself
    (``os.kill(os.getpid(), SIGSEGV)`` or ``abort()`` would do nothing, or something else)."""
    _close_std()
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if done == pid:
            break
    try:
        os.write(status_fd, status.to_bytes(4, "little"))
    except OSError:
        pass
    os._exit(0)


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when symact dies (set after the last change of credentials, which clears it)."""
    ctypes, libc = _libc()
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # symact died before that
        os._exit(1)


def _load_service(path: str):
    """The module that serves requests (loaded by path, before any confinement: it is symact's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("symact_sandbox_service", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _main(cfg: dict) -> None:  # pragma: no cover - the child's entry point
    wire = _Wire(cfg)
    service = _load_service(cfg["service"])
    if cfg["mode"] == "confine":
        try:
            hello = _confine(cfg, wire)
        except OSError as exc:
            wire.send({"failed": exc.strerror or str(exc)})
            os._exit(0)
        _die_with_parent(cfg["parent"])
        status_r, status_w = os.pipe()
        pid = os.fork()  # the first process of the new PID namespace: its init
        if pid:
            os.close(cfg["ans"])
            wire.rd.close()
            os.close(status_w)
            _init(pid, status_r)
        os.close(status_r)
        ctypes, libc = _libc()
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the outer process died: so does the init
        pid = os.fork()  # the second runs the code
        if pid:
            os.close(cfg["ans"])
            wire.rd.close()
            _reaper(pid, status_w)
        os.close(status_w)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the init died: so does the code
        os.setsid()  # a group of its own: kill(0, ...) in the code cannot reach the outer process
    else:
        _die_with_parent(cfg["parent"])
        import numpy  # noqa: F401
        _rlimits(cfg)
        _no_new_privs()
        hello = {"trust": True}
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too big a file: an error, not a death
    wire.send(hello)
    service.serve(wire, cfg)
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover - the child's entry point
    _main(json.loads(sys.argv[1]))
