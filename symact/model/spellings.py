"""How other code spells an activation's parameters: the names ``--param`` accepts and the
keyword arguments an implementation is called with.

The catalog (:mod:`symact.model.catalog`) names each parameter once; frameworks and
textbooks name some of them differently. This table declares, per activation, the other
spellings of a parameter (``--param alpha=0.1`` on leaky_relu sets negative_slope, and an
implementation ``def leaky_relu(x, alpha=0.3)`` is called with ``alpha=``) and the *flags*
that select the function itself (``approximate`` chooses between gelu and gelu_tanh).

Spellings, each checked in the frameworks' documentation:

* leaky_relu ``negative_slope``: PyTorch (``F.leaky_relu``, ``nn.LeakyReLU``), JAX and Flax
  (``jax.nn.leaky_relu(x, negative_slope=0.01)``), Keras 3 (``keras.activations.leaky_relu``,
  ``keras.layers.LeakyReLU``); ``alpha``: TensorFlow (``tf.nn.leaky_relu(features,
  alpha=0.2)``), Keras 2 / tf.keras (``LeakyReLU(alpha=0.3)``), MindSpore
  (``nn.LeakyReLU(alpha=0.2)``); ``slope``: Chainer (``F.leaky_relu(x, slope=0.2)``); ``a``:
  the catalog's own LaTeX and textbooks.
* elu and celu ``alpha``, squareplus ``b``, step ``h0``, selu ``alpha``/``scale``: the catalog's
  names are the frameworks' (PyTorch, JAX, Keras); selu has none in the frameworks.
* hard_sigmoid ``slope`` and ``offset``: ``alpha`` and ``beta`` in ONNX (``HardSigmoid``,
  defaults 0.2 and 0.5, as Keras 2 / tf.keras up to TensorFlow 2.15); PyTorch, JAX and
  Keras 3 have no parameters (slope 1/6, offset 1/2).
* gelu's ``approximate`` flag is no parameter of gelu: it selects gelu (PyTorch
  ``approximate='none'``, JAX/Keras/TensorFlow ``approximate=False``) or gelu_tanh
  (``'tanh'``, ``True``). An implementation whose signature has ``approximate`` with a
  string default is called with the string, with a bool default the bool; JAX's and
  ``keras.ops.gelu``'s default is ``True``, the tanh form.

Later issues extend this table for every framework activation: one entry per activation.
"""
from __future__ import annotations

from symact.errors import ParameterError

#: activation -> {catalog parameter name: (other spellings, in order of preference)}
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "leaky_relu": {"negative_slope": ("alpha", "slope", "a")},
    "hard_sigmoid": {"slope": ("alpha",), "offset": ("beta",)},
}

#: activation -> {keyword: {type name of the keyword's default: the value that selects this activation}}
FLAGS: dict[str, dict[str, dict[str, object]]] = {
    "gelu": {"approximate": {"str": "none", "bool": False}},
    "gelu_tanh": {"approximate": {"str": "tanh", "bool": True}},
}


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
