"""Measure the reader on the corpus: ``python tests/corpus/measure.py [--md]``.

Prints the read rate and the refused formulas grouped by the reader's message
(the construct), most frequent first; ``--md`` writes Markdown.
"""
from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402


def cause(message: str) -> str:
    """The reader's message without its position and the specific text it quotes,
    so that one construct makes one group."""
    first = message.splitlines()[0]
    first = re.sub(r"\s*\(at (line \d+, )?column \d+\)", "", first)
    first = re.sub(r"\(at .*?\)", "", first)
    first = re.sub(r"opened at (line \d+, )?column \d+", "opened at ...", first)
    first = re.sub(r"; known functions: .*", "", first)
    first = re.sub(r"; expected .*", "; expected ...", first)
    if not first.startswith("unexpected"):
        first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
    return first.strip()


def main(argv):
    md = "--md" in argv
    entries = corpus.load()
    refused = defaultdict(list)
    other = []
    misread = []
    t0 = time.perf_counter()
    for e in entries:
        try:
            r = corpus.read(e)
        except Exception as exc:  # not a ParseError: a reader bug
            other.append((e, f"{type(exc).__name__}: {exc}"))
            continue
        if isinstance(r, Exception):
            refused[cause(str(r))].append((e, str(r)))
        elif getattr(r, "is_vector", False) and set(r.parameters) & corpus._limit_symbols(r.expr):
            misread.append((e, f"the size {sorted(set(r.parameters) & corpus._limit_symbols(r.expr))} "
                               f"of a sum's bound is reported as a parameter (sizes={r.sizes})"))
        elif e.means:
            try:
                res = corpus.compare(e, r, witness=not e.correct)
                bad = [(side, w, a) for side, w, a in res if w > a] if e.correct else \
                    ([] if any(w > 10 * a for _, w, a in res) else [("all sides", 0, 0)])
                if bad:
                    misread.append((e, "; ".join(f"side {side} differs by {float(w):.3g}" for side, w, _ in bad)
                                    if e.correct else "recorded as wrong, but read as equal"))
            except Exception as exc:
                misread.append((e, f"{type(exc).__name__}: {exc}"))
    took = time.perf_counter() - t0
    n = len(entries)
    nref = sum(len(v) for v in refused.values()) + len(other)
    rate = (n - nref) / n
    out = []
    if md:
        out.append("# Corpus: formulas the reader refuses\n")
        out.append(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
                   "tests/corpus/formulas.toml with `python tests/corpus/measure.py --md` "
                   "(the corpus helper refreshes it; the corpus keeps growing). "
                   "Groups: the reader's message, most frequent first, 3 examples each; "
                   "'Read, but not as the source means' lists formulas read without error whose "
                   "value differs from the catalog entry they define (or a symbol left unbound, "
                   "e.g. a bare word read as a product of letters).\n\n")
    out.append(f"read {n - nref} of {n} formulas ({100 * rate:.1f}%), {nref} refused; "
               f"{took:.2f} s in all\n")
    oks = [e.id for items in refused.values() for e, _ in items if e.refusal_ok]
    if oks:
        out.append(f"\n{len(oks)} of the refused are malformed as published and may stay refused "
                   f"(marked refusal_ok): {', '.join(oks)}\n")
    if misread:
        out.append(f"\n## Read, but not as the source means ({len(misread)}): compared with the catalog\n")
        for e, msg in misread:
            out.append(f"- `{e.id}` (means {e.means}): `{e.text}`\n  {msg}\n")
    if other:
        out.append(f"\n## Not a ParseError ({len(other)}): reader bugs\n")
        for e, msg in other:
            out.append(f"- `{e.id}`: `{e.text}`\n  {msg}\n")
    for c, items in sorted(refused.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        out.append(f"\n## {c} ({len(items)})\n" if md else f"\n== {c} ({len(items)})\n")
        for e, msg in (items[:3] if md else items):
            if md:
                ok = f" — refusal acceptable: {e.refusal_ok}" if e.refusal_ok else ""
                out.append(f"- `{e.id}` ({e.where}){ok}:\n\n```\n{msg}\n```\n")
            else:
                out.append(f"- {e.id}: {msg}\n")
        if md and len(items) > 3:
            out.append(f"- and {len(items) - 3} more: " + ", ".join(f"`{e.id}`" for e, _ in items[3:]) + "\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
