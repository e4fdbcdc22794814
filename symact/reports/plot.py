"""Plot an activation and its derivative on one figure, kinks marked.

matplotlib is an optional extra (``pip install 'symact[plot]'``); without it
:func:`plot` raises :class:`PlotUnavailable` (a :class:`~symact.errors.SymactError`,
so the CLI reports one line and exits 2). Values come from the generated
kernels (:func:`symact.numeric.kernels.kernel_for`); kinks are the derived
ones (``act.kinks``), each drawn as a dotted vertical line with the function's
value there marked, and the derivative's value at the kink (its convention)
marked as a filled dot.

The x range is [-6, 6], widened to keep every kink at least 2 inside it
(relu6's kink at 6 gives [-6, 8]). Vector activations are shown through the
first component of the 2-vector (x, 0) and the Jacobian entry d y_1 / d x_1.

Output is deterministic for the same matplotlib version: SVG with a fixed
hash salt and no date, PNG without a software/date stamp. The figure is rendered
in memory and written atomically (:func:`symact.fsio.write_file`): a failed
write leaves an old file as it was, and a symbolic link at the path is refused
unless ``force`` (which replaces the link itself).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from symact import fsio
from symact.errors import SymactError
from symact.numeric.kernels import kernel_for

FORMATS = (".png", ".svg", ".pdf")


class PlotUnavailable(SymactError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable("plotting needs matplotlib: pip install 'symact[plot]'") from None
    return matplotlib, plt


def x_range(act) -> tuple[float, float]:
    """[-6, 6] widened to keep every kink 2 inside."""
    lo, hi = -6.0, 6.0
    for k in ([] if act.vector else act.kinks):
        lo, hi = min(lo, float(k.at) - 2), max(hi, float(k.at) + 2)
    return lo, hi


def curves(act, n: int = 1201):
    """(xs, f(xs), f'(xs)) from the kernels; vectors through (x, 0)."""
    lo, hi = x_range(act)
    xs = np.linspace(lo, hi, n)
    with np.errstate(all="ignore"):
        if act.vector:
            v = np.stack([xs, np.zeros_like(xs)], axis=-1)
            if act.shape == "reduce":                   # logsumexp: one value a row, its gradient
                return xs, kernel_for(act)(v), kernel_for(act, derivative=True)(v)[:, 0]
            return xs, kernel_for(act)(v)[:, 0], kernel_for(act, derivative=True)(v)[:, 0, 0]
        return xs, kernel_for(act)(xs), kernel_for(act, derivative=True)(xs)


def plot(act, path, *, force: bool = False, notes: list | None = None) -> Path:
    """Draw ``act`` and its derivative into ``path`` (.png, .svg or .pdf).

    ``force``: a symbolic link at ``path`` is replaced by a regular file; the
    note saying so is appended to ``notes`` when given."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise SymactError(f"cannot write {path.name!r}: the file name must end in {', '.join(FORMATS)}")
    fsio.check_target(path, force=force)   # before the drawing: a missing folder, a link, a folder
    matplotlib, plt = _pyplot()
    xs, ys, ds = curves(act)
    with matplotlib.rc_context({"svg.hashsalt": "symact", "path.simplify": False}):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.plot(xs, ys, label=f"{act.name}((x, 0))_1" if act.vector else "f(x)", color="C0", lw=2)
        # break the derivative's line at each kink so a jump is not drawn as a slope
        kinks = np.array([float(k.at) for k in ([] if act.vector else act.kinks)])
        ds = np.asarray(ds, dtype=float).copy()
        for at in kinks:  # the value at the kink itself is the dot drawn below
            ds[np.abs(xs - at) < 1e-9] = np.nan
        cut = np.searchsorted(xs, kinks)
        dx, dd = np.insert(xs, cut, np.nan), np.insert(ds, cut, np.nan)
        ax.plot(dx, dd, label="d y_1 / d x_1" if act.vector else "f'(x)", color="C1", lw=1.5, ls="--")
        if not act.vector:
            for k in act.kinks:
                at = float(k.at)
                ax.axvline(at, color="0.6", ls=":", lw=1)
                with np.errstate(all="ignore"):
                    fy = float(kernel_for(act)(np.array([at]))[0])
                    fd = float(kernel_for(act, derivative=True)(np.array([at]))[0])
                ax.plot([at], [fy], "o", mfc="white", mec="C0", ms=6)
                ax.plot([at], [fd], "o", color="C1", ms=5)
                ax.annotate(f"{k.kind} at {k.at}", (at, fy), textcoords="offset points", xytext=(4, 8), fontsize=8)
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.set_xlabel("x")
        params = ", ".join(f"{k}={v}" for k, v in act.param_values.items() if len(str(v)) < 16)
        ax.set_title(act.name + (f" ({params})" if params else ""))
        ax.legend(loc="best")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        meta = {"Date": None} if path.suffix.lower() in (".svg", ".pdf") else {"Software": None}
        if path.suffix.lower() == ".pdf":
            meta = {"CreationDate": None, "ModDate": None}
        buf = io.BytesIO()
        try:
            fig.savefig(buf, format=path.suffix.lower()[1:], metadata=meta)
        finally:
            plt.close(fig)
    note = fsio.write_file(path, buf.getvalue(), force=force)
    if note and notes is not None:
        notes.append(note)
    return path
