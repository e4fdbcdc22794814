"""Running untrusted code confined, in a child process, never in symact's own.

The lowest layer that runs anyone's code: :mod:`symact.notes` runs a note's code here and
:mod:`symact.verify.impl` a user's implementation (``check --impl``). It imports nothing of
symact (standard library only), so every layer may use it.

:class:`~symact.sandbox.runner.Sandbox` (the parent's side) starts ``python -I -B``
:mod:`symact.sandbox.child` with a minimal environment in a session and process group of its
own; the child confines itself with the operating system's isolation (user, PID, network,
mount and IPC namespaces; Landlock; a seccomp filter; rlimits; no new privileges) and then
runs a *service* file that answers the parent's requests over pipes (JSON lines, optionally
followed by raw bytes). Where confinement is impossible the code runs only when the caller
trusts it (``--trust``), and :attr:`Sandbox.confinement` says which way it ran.
"""
from symact.sandbox.runner import Confinement, Dead, Sandbox, Unavailable

__all__ = ["Confinement", "Dead", "Sandbox", "Unavailable"]
