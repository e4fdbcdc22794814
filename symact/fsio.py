"""Safe file writes: every file symact writes goes through :func:`write_file`.

A file is written to a temporary file beside it (same folder, created with
``O_EXCL | O_NOFOLLOW``), flushed, ``fsync``\\ ed and renamed into place with
``os.replace``. A reader, or a later run, sees the old file or the new one,
never a mix: a full disk, a file-size limit (``EFBIG``), an exception or an
interrupt leaves the old file byte-identical and removes the temporary file.
Only ``SIGKILL`` (or a power cut) can leave a temporary file behind; they are
named ``.NAME.symact-XXXXXXXX.tmp`` (:data:`TEMP_GLOB`), so they can be found
and removed.

The target path is never followed when it is a symbolic link:

* without ``force`` a link at the target is refused (:class:`~symact.errors.WriteError`);
* with ``force`` the **link itself** is replaced by a regular file; the file it
  pointed to is neither created nor written. :func:`write_file` returns a
  one-line note saying so, for the caller to show.

(Symbolic links in the folders above the target are followed, as any path is.)

Other targets:

* absent: created, with the mode a plain ``open(path, "w")`` gives (0666 less
  the umask), unless ``mode`` is given;
* a regular file: replaced (only when ``replace``), keeping its permission
  bits unless ``mode`` is given;
* a character device (``/dev/null``, ``/dev/full``, a terminal): written in
  place, since there is nothing to rename over; ``/dev/full`` fails with
  "No space left on device";
* a folder, a FIFO, a socket or a block device: refused;
* a missing folder above it: refused, naming the folder (never created here).

Every failure is a :class:`~symact.errors.WriteError` naming the path and the
reason (``strerror``); this module imports only the standard library and
:mod:`symact.errors`.
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from symact.errors import WriteError

__all__ = ["write_file", "check_target", "ensure_folder", "temp_files", "TEMP_GLOB", "TEMP_SUFFIX"]

#: what every temporary file's name ends with, and a glob matching them in a folder
TEMP_SUFFIX = ".tmp"
TEMP_GLOB = ".*.symact-*" + TEMP_SUFFIX

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _fail(path, why: str) -> WriteError:
    return WriteError(f"cannot write {os.fspath(path)}: {why}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISCHR(mode):
        return "a character device"
    return "not a regular file"


def _folder_of(path: str) -> str:
    return os.path.dirname(path) or os.curdir


def check_target(path, *, replace: bool = True, force: bool = False, force_flag: str | None = "--force",
                 devices: bool = True) -> str:
    """What is at ``path`` now, checked as :func:`write_file` checks it before
    writing: ``"absent"``, ``"file"``, ``"symlink"`` (only with ``force``) or
    ``"device"`` (a character device). Raises :class:`WriteError` for a target
    that would be refused, so a command can fail before doing its work.

    ``replace``: whether an existing regular file (or, with ``force``, a link) may
    be replaced. ``force_flag``: the option named in messages (None: none exists).
    ``devices``: whether a character device is written in place (else refused).
    """
    p = os.fspath(path)
    if not p:
        raise WriteError("cannot write a file with an empty name")
    folder = _folder_of(p)
    try:
        fst = os.stat(folder)
    except FileNotFoundError:
        raise _fail(p, f"no folder {folder} (symact does not create it)") from None
    except OSError as exc:
        raise _fail(p, f"{folder}: {_reason(exc)}") from None
    if not stat.S_ISDIR(fst.st_mode):
        raise _fail(p, f"{folder} is not a folder")
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        raise _fail(p, _reason(exc)) from None
    if stat.S_ISLNK(st.st_mode):
        if not force:
            try:
                to = os.readlink(p)
            except OSError:
                to = "?"
            how = (f"pass {force_flag} to replace the link itself with a regular file" if force_flag
                   else "remove the link first")
            raise _fail(p, f"it is a symbolic link (to {to}), which symact never writes through; {how}")
        if not replace:
            raise _fail(p, f"it exists; pass {force_flag or '--force'} to overwrite it")
        return "symlink"
    if stat.S_ISREG(st.st_mode):
        if not replace:
            how = f"pass {force_flag} to overwrite it" if force_flag else "remove it first"
            raise _fail(p, f"it exists; {how}")
        return "file"
    if stat.S_ISCHR(st.st_mode) and devices:
        return "device"
    raise _fail(p, f"it is {_kind(st.st_mode)}; symact writes regular files only")


def ensure_folder(path, *, create: bool = True) -> Path:
    """``path`` as a folder to write files into: created (with its parents) when
    ``create`` and absent; :class:`WriteError` when it is something else (a
    regular file, a dangling link), is missing and ``create`` is false, or
    cannot be created."""
    p = Path(path)
    if p.is_dir():
        return p
    if os.path.lexists(p):
        raise WriteError(f"cannot write into {os.fspath(p)}: it is not a folder")
    if not create:
        raise WriteError(f"cannot write into {os.fspath(p)}: no such folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) and exc.filename != os.fspath(p) else None
        raise WriteError(f"cannot create the folder {os.fspath(p)}: {_reason(exc)}"
                         + (f" ({where})" if where else "")) from None
    return p


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _temp_name(path: str) -> str:
    base = os.path.basename(path)[:64]
    return os.path.join(_folder_of(path), f".{base}.symact-{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _write_device(p: str, data: bytes) -> None:
    fd = os.open(p, os.O_WRONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NOCTTY | _O_NONBLOCK)
    try:
        if not stat.S_ISCHR(os.fstat(fd).st_mode):   # replaced since it was looked at
            raise OSError(errno.EINVAL, "it changed while being written")
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
        _write_all(fd, data)
    finally:
        os.close(fd)


def write_file(path, data: bytes | str, *, replace: bool = True, force: bool = False, mode: int | None = None,
               durable: bool = True, force_flag: str | None = "--force", devices: bool = True) -> str | None:
    """Write ``data`` (``str`` is written as UTF-8, newlines untouched) to ``path``
    atomically; see the module docstring for what each kind of target gets.

    ``replace``: an existing regular file may be replaced (else :class:`WriteError`
    "exists"). ``force``: a symbolic link at ``path`` is replaced by a regular file
    (never written through). ``mode``: the new file's permission bits, exactly
    (default: an existing file's, or 0666 less the umask). ``durable``: ``fsync``
    the file before the rename and the folder after it. ``devices``: a character
    device at ``path`` is written in place (else refused).

    Returns None, or a one-line note to show the user when a link was replaced.
    Any failure: :class:`WriteError` with the path and the reason; the old file
    is untouched and no temporary file is left.
    """
    p = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    what = check_target(p, replace=replace, force=force, force_flag=force_flag, devices=devices)
    if what == "device":
        try:
            _write_device(p, data)
        except OSError as exc:
            raise _fail(p, _reason(exc)) from None
        return None
    note = None
    keep = None
    if what == "symlink":
        try:
            to = os.readlink(p)
        except OSError:
            to = "?"
        note = (f"symact: {p} was a symbolic link (to {to}); replaced the link itself with a regular file "
                f"({to} was not written)")
    elif what == "file" and mode is None:
        try:
            keep = stat.S_IMODE(os.lstat(p).st_mode) & 0o777
        except OSError:
            keep = None
    final_mode = mode if mode is not None else keep
    tmp = None
    try:
        for _ in range(16):
            name = _temp_name(p)
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC,
                             0o600 if final_mode is not None else 0o666)
            except FileExistsError:
                continue
            tmp = name
            break
        else:
            raise OSError(errno.EEXIST, "no free temporary file name")
        with os.fdopen(fd, "wb") as fh:   # closes fd whatever happens
            if final_mode is not None:
                os.fchmod(fh.fileno(), final_mode)
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, p)   # rename(2) replaces a link at p itself, never its target
        tmp = None
        if durable:
            _sync_folder(_folder_of(p))
    except OSError as exc:
        raise _fail(p, _reason(exc)) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return note


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (best effort: some file systems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_files(folder) -> list[Path]:
    """Temporary files :func:`write_file` left in ``folder`` (only a killed process leaves any)."""
    return sorted(Path(folder).glob(TEMP_GLOB))
