r"""Notebook display of a :class:`~symact.reports.report.CheckReport`: LaTeX and HTML.

``_repr_latex_`` is the activation's formula (``$\displaystyle ...$``, as
:mod:`symact.model.display`); ``_repr_html_`` adds the facts, the linearity and symmetry
verdicts (with witnesses), the tests and the conclusion, every text escaped (a report may
carry a user's formula, note or implementation's output).
"""
from __future__ import annotations

from symact.model import display as _model

esc = _model.esc


def latex(rep) -> str:
    return _model.latex(rep.activation)


def html(rep) -> str:
    act = rep.activation
    parts = ['<div class="symact-report">', _model.html(act)]
    if rep.facts.items:
        rows = "".join(f"<tr><td>{esc(f.name.replace('_', ' '))}</td><td>{esc(f.text)}</td>"
                       f"<td>{esc('' if f.established == 'symbolic' else f.established)}</td></tr>"
                       for f in rep.facts.items)
        parts.append(f"<table><tr><th>fact</th><th></th><th></th></tr>{rows}</table>")
    rows = []
    for v in rep.verdicts.values():
        how = ""
        if v.witness:
            how = "witness " + ", ".join(f"{k} = {val}" for k, val in v.witness.items())
        elif v.note:
            how = v.note
        rows.append(f"<tr><td>{esc(v.property)}</td><td><strong>{esc(v.verdict)}</strong></td>"
                    f"<td>{esc(v.statement)}</td><td>{esc(how)}</td></tr>")
    parts.append(f"<table><tr><th>property</th><th>verdict</th><th>statement</th><th></th></tr>{''.join(rows)}</table>")
    parts.append(f"<p>{esc(rep.conclusion())}</p>")
    if rep.tests:
        rows = "".join(f"<tr><td>{'PASS' if t.passed else '<strong>FAIL</strong>'}</td><td>{esc(t.name)}</td>"
                       f"<td>{esc(_test_info(t))}</td></tr>" for t in rep.tests)
        parts.append(f"<table><tr><th></th><th>test</th><th></th></tr>{rows}</table>")
    parts.append(f"<p>ok: <strong>{'yes' if rep.ok else 'NO'}</strong></p></div>")
    return "".join(parts)


def _test_info(t) -> str:
    d = t.to_dict()
    info = [f"{k.replace('_', ' ')} {d[k]}" for k in ("verdict", "points", "failing", "max_ulp", "mean_ulp")
            if d.get(k) is not None]
    return ", ".join(info)
