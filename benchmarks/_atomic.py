"""The benchmark scripts' one way to write an output file (imported by its siblings)."""
from __future__ import annotations

import sys
from pathlib import Path


def write(path, text: str) -> None:
    """Write ``path`` atomically (symact.fsio: a temporary file beside it, renamed;
    a symbolic link there refused); with an older symact that has no symact.fsio
    (a checkout of another commit), a plain write. A failure: one line, exit 1."""
    try:
        from symact.errors import WriteError
        from symact.fsio import write_file
    except ImportError:
        Path(path).write_text(text, encoding="utf-8")
        return
    try:
        write_file(path, text, force_flag=None)
    except WriteError as exc:
        sys.exit(f"{Path(sys.argv[0]).name}: {exc}")
