"""How other code spells an activation's parameters: the names ``--param`` accepts and the
keyword arguments an implementation is called with.

The catalog (:mod:`symact.model.catalog`) names each parameter once; frameworks and
textbooks name some of them differently. The spellings come from one source, the frameworks'
table :mod:`symact.model.frameworks` (each framework's keyword for each parameter) and its
:data:`~symact.model.frameworks.EXTRA_SPELLINGS` (textbooks, ONNX, Chainer): ``--param
alpha=0.1`` on leaky_relu sets negative_slope (TensorFlow's and Keras 2's spelling), an
implementation ``def leaky_relu(x, alpha=0.3)`` is called with ``alpha=``, one ``def
hard_shrink(x, threshold=0.5)`` with ``threshold=`` (Keras 3's spelling of hardshrink's lambd).
The *flags* that select the function itself come from the table's ``select`` (gelu's
``approximate`` chooses between gelu and gelu_tanh: PyTorch ``'none'``/``'tanh'``, JAX,
Keras and TensorFlow ``False``/``True``; an implementation whose signature has
``approximate`` with a string default is called with the string, with a bool default the
bool; JAX's default is ``True``, the tanh form).
"""
from __future__ import annotations

from symact.errors import ParameterError
from symact.model import frameworks as _fw

#: activation -> {catalog parameter name: (other spellings, in order of preference)}
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    e: s for e in dict.fromkeys(_fw.entries() + list(_fw.EXTRA_SPELLINGS)) if (s := _fw.spellings_of(e))}

#: activation -> {keyword: {type name of the keyword's default: the value that selects this activation}}
FLAGS: dict[str, dict[str, dict[str, object]]] = {e: f for e in _fw.entries() if (f := _fw.flags_of(e))}


def spellings(act, param: str) -> tuple[str, ...]:
    """Every accepted name of ``act``'s parameter ``param``: the catalog's first."""
    return (param,) + SPELLINGS.get(act.name, {}).get(param, ())


def flags(act) -> dict[str, dict[str, object]]:
    """The keywords that select ``act`` itself among its relatives (see :data:`FLAGS`)."""
    return dict(FLAGS.get(act.name, {}))


def canonical_params(act, params: dict | None) -> dict:
    """``params`` with every key under the catalog's name (``alpha`` -> ``negative_slope`` for
    leaky_relu). A key that names no parameter is left as it is (``with_params`` rejects it);
    two keys naming one parameter are a :class:`~symact.errors.ParameterError`."""
    if not params:
        return dict(params or {})
    names = {}
    for p in act.params:
        for s in spellings(act, p.name):
            names.setdefault(s, p.name)
    out: dict = {}
    given: dict = {}
    for key, value in params.items():
        name = names.get(key, key)
        if name in out:
            raise ParameterError(f"{given[name]!r} and {key!r} both set {act.name}'s {name}; give one")
        out[name], given[name] = value, key
    return out


def describe(act) -> str:
    """``negative_slope (also alpha, slope, a)``, for messages."""
    parts = []
    for p in act.params:
        other = spellings(act, p.name)[1:]
        parts.append(p.name + (f" (also {', '.join(other)})" if other else ""))
    return ", ".join(parts)
