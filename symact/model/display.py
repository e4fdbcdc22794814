r"""Notebook display of an :class:`~symact.model.activation.Activation`: LaTeX and HTML.

Jupyter shows an object by its ``_repr_latex_`` / ``_repr_html_``; :class:`Activation` defines
both through :func:`latex` and :func:`html`. The LaTeX is the entry's formula as the catalog
declares it, ``$\displaystyle f(x) = \max(0, x)$``, followed by the parameter values in force.
The HTML escapes every text (names, descriptions, references: a formula's activation may carry
a user's text) and shows the formula for MathJax between ``\(`` and ``\)``, escaped too.
"""
from __future__ import annotations

import html as _html

import sympy as sp


def _tex_name(name: str) -> str:
    return r"\mathrm{" + name.replace("\\", "").replace("{", "").replace("}", "").replace("_", r"\_") + "}"


def formula(act) -> str:
    """The formula's LaTeX (without delimiters), with the parameter values in force."""
    tex = (act.latex or sp.latex(act.expr)).replace("$", r"\$")
    if act.params:
        vals = ", ".join(f"{_tex_name(k)} = {sp.latex(v)}" for k, v in act.param_values.items())
        tex += r" \qquad (" + vals + ")"
    return tex


def latex(act) -> str:
    r"""``$\displaystyle ...$``: the entry's formula (see :func:`formula`)."""
    return r"$\displaystyle " + formula(act) + "$"


def esc(text) -> str:
    return _html.escape(str(text), quote=True)


def html(act) -> str:
    """A small HTML card: name, description, formula, parameters, aliases, reference."""
    parts = [f'<div class="symact-activation"><p><strong>{esc(act.name)}</strong>: {esc(act.description)}</p>',
             f"<p>\\({esc(formula(act))}\\)</p>"]
    if act.params:
        rows = "".join(f"<tr><td><code>{esc(p.name)}</code></td><td>{esc(act.param_values[p.name])}</td>"
                       f"<td>{esc(p.doc)}</td></tr>" for p in act.params)
        parts.append(f"<table><tr><th>parameter</th><th>value</th><th></th></tr>{rows}</table>")
    if act.aliases:
        parts.append(f"<p>aliases: {esc(', '.join(act.aliases))}</p>")
    if act.reference:
        parts.append(f"<p>reference: {esc(act.reference)}</p>")
    parts.append("</div>")
    return "".join(parts)
