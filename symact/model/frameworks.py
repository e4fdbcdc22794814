r"""How the frameworks ship each catalog activation: names, parameters, defaults, conventions.

One :class:`Spelling` row per catalog entry and framework (several where a framework ships the
same function under names with different defaults, e.g. ``keras.activations.leaky_relu``
(0.2) and ``keras.layers.LeakyReLU`` (0.3)); a row with no names records that the framework
does not ship the function. :data:`FRAMEWORKS` are the frameworks every entry has a row for;
:data:`EXTRA_FRAMEWORKS` (Keras 2 / tf.keras, TensorFlow's ``tf.nn``) have rows only where
they ship something or differ.

Each row says, under the framework's spelling:

* ``names``: the full dotted names (a module class and a function where both exist);
* ``params``: catalog parameter -> (the framework's keyword, its default as an exact decimal
  or ratio string; default ``None`` where the framework requires the argument, ``"None"``
  where its default is None (Keras's ``max_value``: no cap, another entry), keyword
  ``None`` where the framework fixes the value and takes no argument);
* ``extra``: the framework's other keywords and their defaults (not parameters of the
  function: ``threshold=20`` of PyTorch's softplus, ``dim``/``axis``);
* ``select``: keywords that select this entry among relatives (gelu's ``approximate``):
  keyword -> (the value that selects it, the framework's default);
* ``derivative``: the framework's f'(point) at the kinks, at the default parameters (what
  its autograd returns: PyTorch 2.13 ``backward``, JAX 0.10 ``jax.grad``);
* ``alias``: False where the name is another entry's at the framework's defaults
  (``keras.activations.relu`` is relu; with a max_value it is relu_keras_capped);
* ``notes``: the other conventions that differ from symact's, with values.

Sources, each checked: PyTorch 2.13 and JAX 0.10 by introspection of the installed packages
(the functions exist, their signatures' defaults, their autograd at the kinks:
``tests/test_frameworks.py``); Keras 3 from ``keras/src/activations/activations.py``
(keras-team/keras, e.g. ``relu(x, negative_slope=0.0, max_value=None, threshold=0.0)``,
``leaky_relu(x, negative_slope=0.2)``, ``gelu(x, approximate=False)``, ``hard_sigmoid``
``x/6 + 0.5``) and the keras.io / tensorflow.org API pages for Keras 3.15
(``hard_shrink(x, threshold=0.5)``, ``soft_shrink(x, threshold=0.5)``, ``threshold(x,
threshold, default_value)``, ``squareplus(x, b=4)``, ``sparsemax(x, axis=-1)``,
``celu(x, alpha=1.0)``, ``glu(x, axis=-1)``); Keras 2 / tf.keras (TensorFlow up to 2.15)
from tensorflow.org (``relu(x, alpha=0.0, max_value=None, threshold=0)``, ``hard_sigmoid``
``0.2 x + 0.5``, ``LeakyReLU(alpha=0.3)``); TensorFlow from tensorflow.org (``tf.nn.leaky_relu(
features, alpha=0.2)``, ``tf.nn.silu(features, beta=1.0)``, ``tf.nn.gelu(features,
approximate=False)``, ``tf.nn.crelu(features, axis=-1)``). Keras and TensorFlow are not
installed here: their rows are not tested against the code.

:mod:`symact.model.spellings` (``--param`` names, an implementation's keywords) is derived from
this table and :data:`EXTRA_SPELLINGS`: one source.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

#: frameworks every catalog entry has a row for (shipped or not)
FRAMEWORKS = ("torch", "jax", "keras")
#: frameworks with rows only where they ship the function or differ
EXTRA_FRAMEWORKS = ("keras2", "tensorflow")
TITLES = {"torch": "PyTorch", "jax": "JAX", "keras": "Keras 3", "keras2": "Keras 2 / tf.keras",
          "tensorflow": "TensorFlow"}
#: the import each framework's names assume
MODULES = {"torch": "torch", "jax": "jax", "keras": "keras", "keras2": "tensorflow", "tensorflow": "tensorflow"}

#: short forms accepted for a dotted name's first part (``F.gelu`` is
#: ``torch.nn.functional.gelu``, as ``import torch.nn.functional as F`` spells it)
PREFIXES = {"f.": "torch.nn.functional."}

#: spellings of catalog parameters outside the frameworks of the table (textbooks, ONNX, Chainer,
#: MindSpore): entry -> {parameter: spellings}
EXTRA_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    # Chainer F.leaky_relu(x, slope=0.2); the catalog's own LaTeX and textbooks: a
    "leaky_relu": {"negative_slope": ("slope", "a")},
    # ONNX HardSigmoid(alpha=0.2, beta=0.5)
    "hard_sigmoid": {"slope": ("alpha",), "offset": ("beta",)},
}

#: bare names never taken as aliases (``exp`` is a builtin function of the formula readers)
NOT_ALIASES = frozenset({"exp", "heaviside"})


@dataclass(frozen=True)
class Spelling:
    """One framework's spelling of one catalog entry (see the module docstring)."""

    entry: str
    framework: str
    names: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    select: dict = field(default_factory=dict)
    derivative: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    alias: bool = True

    @property
    def shipped(self) -> bool:
        return bool(self.names)

    @property
    def by_default(self) -> bool:
        """Whether the framework's defaults select this entry (gelu's ``approximate``)."""
        return self.alias and all(v == d for v, d in self.select.values())

    def framework_defaults(self) -> dict[str, Fraction | None]:
        """Catalog parameter -> the framework's default, exact (None: required)."""
        return {p: (None if d in (None, "None") else Fraction(d)) for p, (_kw, d) in self.params.items()}

    def to_dict(self) -> dict:
        return {
            "entry": self.entry, "framework": self.framework, "shipped": self.shipped,
            "names": list(self.names),
            "params": {p: {"keyword": kw, "default": d} for p, (kw, d) in self.params.items()},
            "extra": dict(self.extra),
            "select": {k: {"value": v, "default": d} for k, (v, d) in self.select.items()},
            "derivative": {str(k): str(v) for k, v in self.derivative.items()},
            "notes": list(self.notes),
        }


ROWS: list[Spelling] = []


def _row(entry, framework, names=(), **fields) -> None:
    names = (names,) if isinstance(names, str) else tuple(names)
    fields = {k: (tuple(v) if k == "notes" else v) for k, v in fields.items()}
    if "derivative" in fields:   # exact: point -> value, both Fractions
        fields["derivative"] = {Fraction(p): Fraction(v) for p, v in fields["derivative"].items()}
    ROWS.append(Spelling(entry, framework, names, **fields))


def _none(entry, *frameworks, note=None) -> None:
    for fw in frameworks:
        _row(entry, fw, (), notes=(note,) if note else ())


T, TF = "torch.nn.", "torch.nn.functional."
J, K, K2, TFN = "jax.nn.", "keras.activations.", "tf.keras.activations.", "tf.nn."
_SELU_D0 = "1.75809934084737685994021752081231934206024580891220830977098282"   # scale * alpha, exact

# ------------------------------------------------------------------ the course's five
_row("step", "torch", "torch.heaviside", params={"h0": ("values", None)},
     notes=("a tensor function, not in torch.nn; its autograd has no derivative (backward raises)",))
_row("step", "jax", "jax.numpy.heaviside", params={"h0": ("x2", None)},
     notes=("a jax.numpy function, not in jax.nn",))
_none("step", "keras")
_row("identity", "torch", T + "Identity")
_row("identity", "jax", J + "identity")
_row("identity", "keras", K + "linear")
_row("sigmoid", "torch", (T + "Sigmoid", TF + "sigmoid", "torch.sigmoid"))
_row("sigmoid", "jax", J + "sigmoid")
_row("sigmoid", "keras", K + "sigmoid")
_row("sigmoid", "tensorflow", (TFN + "sigmoid", "tf.math.sigmoid"))
_row("relu", "torch", (T + "ReLU", TF + "relu", "torch.relu"), derivative={0: 0})
_row("relu", "jax", J + "relu", derivative={0: 0})
_row("relu", "keras", (K + "relu", "keras.layers.ReLU"),
     notes=("keras.activations.relu also takes negative_slope=0.0, max_value=None, threshold=0.0 "
            "(at those defaults it is relu; see relu_keras)",))
_row("relu", "keras2", K2 + "relu",
     notes=("tf.keras.activations.relu(x, alpha=0.0, max_value=None, threshold=0): relu at those defaults",))
_row("relu", "tensorflow", TFN + "relu")
_row("softmax", "torch", (T + "Softmax", TF + "softmax", "torch.softmax"), extra={"dim": "None"},
     notes=("dim has no default in effect: dim=None picks an axis implicitly (deprecated); symact uses the last axis",))
_row("softmax", "jax", J + "softmax", extra={"axis": "-1"})
_row("softmax", "keras", K + "softmax", extra={"axis": "-1"})
_row("softmax", "tensorflow", TFN + "softmax", extra={"axis": "-1"})

# ------------------------------------------------------------------ the frameworks' set
_row("tanh", "torch", (T + "Tanh", TF + "tanh", "torch.tanh"))
_row("tanh", "jax", J + "tanh")
_row("tanh", "keras", K + "tanh")
_row("tanh", "tensorflow", (TFN + "tanh", "tf.math.tanh"))
_row("leaky_relu", "torch", (T + "LeakyReLU", TF + "leaky_relu"),
     params={"negative_slope": ("negative_slope", "0.01")}, derivative={0: Fraction(1, 100)})
_row("leaky_relu", "jax", J + "leaky_relu", params={"negative_slope": ("negative_slope", "0.01")},
     derivative={0: 1})
_row("leaky_relu", "keras", K + "leaky_relu", params={"negative_slope": ("negative_slope", "0.2")})
_row("leaky_relu", "keras", "keras.layers.LeakyReLU", params={"negative_slope": ("negative_slope", "0.3")},
     notes=("the layer's default slope (0.3) is not the function's (0.2)",))
_row("leaky_relu", "keras2", "tf.keras.layers.LeakyReLU", params={"negative_slope": ("alpha", "0.3")})
_row("leaky_relu", "tensorflow", TFN + "leaky_relu", params={"negative_slope": ("alpha", "0.2")})
_row("elu", "torch", (T + "ELU", TF + "elu"), params={"alpha": ("alpha", "1")}, derivative={0: 1})
_row("elu", "jax", J + "elu", params={"alpha": ("alpha", "1")}, derivative={0: 1})
_row("elu", "keras", K + "elu", params={"alpha": ("alpha", "1")})
_row("elu", "tensorflow", TFN + "elu", notes=("tf.nn.elu has no alpha: alpha = 1",))
_row("selu", "torch", (T + "SELU", TF + "selu"),
     derivative={0: _SELU_D0})
_row("selu", "jax", J + "selu", derivative={0: _SELU_D0})
_row("selu", "keras", K + "selu")
_row("selu", "tensorflow", TFN + "selu")
_row("celu", "torch", (T + "CELU", TF + "celu"), params={"alpha": ("alpha", "1")}, derivative={0: 1})
_row("celu", "jax", J + "celu", params={"alpha": ("alpha", "1")}, derivative={0: 1})
_row("celu", "keras", K + "celu", params={"alpha": ("alpha", "1")})
_row("gelu", "torch", (T + "GELU", TF + "gelu"), select={"approximate": ("none", "none")})
_row("gelu", "jax", J + "gelu", select={"approximate": (False, True)})
_row("gelu", "keras", K + "gelu", select={"approximate": (False, False)})
_row("gelu", "keras2", K2 + "gelu", select={"approximate": (False, False)})
_row("gelu", "tensorflow", TFN + "gelu", select={"approximate": (False, False)})
_row("gelu_tanh", "torch", (T + "GELU", TF + "gelu"), select={"approximate": ("tanh", "none")})
_row("gelu_tanh", "jax", J + "gelu", select={"approximate": (True, True)})
_row("gelu_tanh", "keras", K + "gelu", select={"approximate": (True, False)})
_row("gelu_tanh", "tensorflow", TFN + "gelu", select={"approximate": (True, False)})
_row("silu", "torch", (T + "SiLU", TF + "silu"))
_row("silu", "jax", (J + "silu", J + "swish"))
_row("silu", "keras", (K + "silu", K + "swish"))
_row("silu", "tensorflow", (TFN + "silu", TFN + "swish"), params={},
     notes=("tf.nn.silu also takes beta=1.0 (see swish_beta)",))
_SOFTPLUS_T = ("PyTorch returns x itself where beta * x > threshold (default 20): there it deviates from "
               "log(1 + e^(beta x)) / beta by log(1 + e^-20) ~ 2.1e-9, a relative 1.0e-10 at x = 20")
_row("softplus", "torch", (T + "Softplus", TF + "softplus"), extra={"beta": "1.0", "threshold": "20.0"},
     notes=(_SOFTPLUS_T,))
_row("softplus", "jax", J + "softplus")
_row("softplus", "keras", K + "softplus")
_row("softplus", "tensorflow", (TFN + "softplus", "tf.math.softplus"))
_row("softsign", "torch", (T + "Softsign", TF + "softsign"), derivative={0: 1})
_row("softsign", "jax", J + "soft_sign", derivative={0: 1})
_row("softsign", "keras", K + "softsign")
_row("softsign", "tensorflow", (TFN + "softsign", "tf.math.softsign"))
_row("mish", "torch", (T + "Mish", TF + "mish"))
_row("mish", "jax", J + "mish")
_row("mish", "keras", K + "mish")
_row("hard_sigmoid", "torch", (T + "Hardsigmoid", TF + "hardsigmoid"),
     notes=("no parameters: slope 1/6, offset 1/2 (x/6 + 1/2 clipped)",), derivative={-3: 0, 3: 0})
_row("hard_sigmoid", "jax", J + "hard_sigmoid", notes=("no parameters: relu6(x + 3)/6",), derivative={-3: 0, 3: 0})
_row("hard_sigmoid", "keras", K + "hard_sigmoid", notes=("no parameters: x/6 + 0.5 clipped (Keras 3)",))
_row("hard_sigmoid", "keras2", K2 + "hard_sigmoid", params={"slope": (None, "0.2"), "offset": (None, "0.5")},
     notes=("Keras 2 / tf.keras before TensorFlow 2.16: 0.2 x + 0.5 clipped, no parameters: "
            "--param slope=1/5",))
_row("hard_swish", "torch", (T + "Hardswish", TF + "hardswish"), derivative={-3: 0, 3: 1})
_row("hard_swish", "jax", (J + "hard_swish", J + "hard_silu"), derivative={-3: 0, 3: 1})
_row("hard_swish", "keras", (K + "hard_silu", K + "hard_swish"))
_row("hard_tanh", "torch", (T + "Hardtanh", TF + "hardtanh"), extra={"min_val": "-1.0", "max_val": "1.0"},
     derivative={-1: 0, 1: 0})
_row("hard_tanh", "jax", J + "hard_tanh", derivative={-1: 1, 1: 1})
_row("hard_tanh", "keras", K + "hard_tanh")
_row("relu6", "torch", (T + "ReLU6", TF + "relu6"), derivative={0: 0, 6: 0})
_row("relu6", "jax", J + "relu6", derivative={0: 0, 6: 0})
_row("relu6", "keras", K + "relu6")
_row("relu6", "tensorflow", TFN + "relu6")
_row("log_sigmoid", "torch", (T + "LogSigmoid", TF + "logsigmoid"))
_row("log_sigmoid", "jax", J + "log_sigmoid")
_row("log_sigmoid", "keras", K + "log_sigmoid")
_row("log_sigmoid", "tensorflow", "tf.math.log_sigmoid")
_row("log_softmax", "torch", (T + "LogSoftmax", TF + "log_softmax", "torch.log_softmax"), extra={"dim": "None"},
     notes=("dim=None picks an axis implicitly (deprecated); symact uses the last axis",))
_row("log_softmax", "jax", J + "log_softmax", extra={"axis": "-1"})
_row("log_softmax", "keras", K + "log_softmax", extra={"axis": "-1"})
_row("log_softmax", "tensorflow", TFN + "log_softmax", extra={"axis": "-1"})
_none("squareplus", "torch")
_row("squareplus", "jax", J + "squareplus", params={"b": ("b", "4")})
_row("squareplus", "keras", K + "squareplus", params={"b": ("b", "4")})

# ------------------------------------------------------------------ issue 16: scalar
_row("hardshrink", "torch", (T + "Hardshrink", TF + "hardshrink"), params={"lambd": ("lambd", "0.5")},
     derivative={Fraction(-1, 2): 0, Fraction(1, 2): 0})
_none("hardshrink", "jax")
_row("hardshrink", "keras", K + "hard_shrink", params={"lambd": ("threshold", "0.5")})
_row("softshrink", "torch", (T + "Softshrink", TF + "softshrink"), params={"lambd": ("lambd", "0.5")},
     derivative={Fraction(-1, 2): 0, Fraction(1, 2): 0})
_none("softshrink", "jax")
_row("softshrink", "keras", K + "soft_shrink", params={"lambd": ("threshold", "0.5")})
_row("tanhshrink", "torch", (T + "Tanhshrink", TF + "tanhshrink"))
_none("tanhshrink", "jax")
_row("tanhshrink", "keras", K + "tanh_shrink")
_row("threshold", "torch", (T + "Threshold", TF + "threshold"),
     params={"threshold": ("threshold", None), "value": ("value", None)}, derivative={0: 0},
     notes=("both arguments are required (no defaults)",))
_none("threshold", "jax")
_row("threshold", "keras", K + "threshold",
     params={"threshold": ("threshold", None), "value": ("default_value", None)},
     notes=("both arguments are required (no defaults)",))
_row("prelu", "torch", T + "PReLU", params={"weight": ("init", "0.25")}, extra={"num_parameters": "1"},
     derivative={0: Fraction(1, 4)}, notes=("the slope is learned; init is its initial value",))
_row("prelu", "torch", TF + "prelu", params={"weight": ("weight", None)}, derivative={0: Fraction(1, 4)},
     notes=("weight is a tensor argument (no default)",))
_none("prelu", "jax")
_row("prelu", "keras", "keras.layers.PReLU", params={"weight": ("alpha", "0")},
     notes=("a layer, not in keras.activations: the slope alpha is learned from alpha_initializer='zeros' "
            "(initially 0, relu; PyTorch's init is 0.25)",))
_row("rrelu", "torch", (T + "RReLU", TF + "rrelu"), params={"lower": ("lower", "1/8"), "upper": ("upper", "1/3")},
     extra={"training": "False"}, derivative={0: Fraction(11, 48)},
     notes=("in training mode the slope is drawn uniformly from [lower, upper] per element; symact is "
            "evaluation mode, slope (lower + upper)/2",))
_none("rrelu", "jax")
_none("rrelu", "keras")
_none("sparse_plus", "torch")
_row("sparse_plus", "jax", J + "sparse_plus", derivative={-1: 0, 1: 1})
_row("sparse_plus", "keras", K + "sparse_plus")
_none("sparse_sigmoid", "torch")
_row("sparse_sigmoid", "jax", J + "sparse_sigmoid", derivative={-1: Fraction(1, 4), 1: Fraction(1, 4)},
     notes=("jax.grad gives 1/4 at x = -1 and x = 1 (jnp.clip splits the slope 1/2 between its bounds)",))
_row("sparse_sigmoid", "keras", K + "sparse_sigmoid")
_row("exponential", "torch", "torch.exp", notes=("the math function; torch.nn has no exponential activation",))
_row("exponential", "jax", "jax.numpy.exp", notes=("the math function; jax.nn has no exponential activation",))
_row("exponential", "keras", K + "exponential")
_none("swish_beta", "torch")
_none("swish_beta", "jax")
_none("swish_beta", "keras", note="keras.activations.silu has no beta")
_row("swish_beta", "tensorflow", TFN + "silu", params={"beta": ("beta", "1")})
_row("softplus_beta", "torch", (T + "Softplus", TF + "softplus"), params={"beta": ("beta", "1")},
     extra={"threshold": "20.0"}, notes=(_SOFTPLUS_T,))
_none("softplus_beta", "jax")
_none("softplus_beta", "keras")
_none("relu_keras", "torch")
_none("relu_keras", "jax")
_row("relu_keras", "keras", (K + "relu", "keras.layers.ReLU"),
     params={"negative_slope": ("negative_slope", "0"), "threshold": ("threshold", "0")},
     extra={"max_value": "None"},
     notes=("at its defaults keras.activations.relu is relu (that name resolves to relu); "
            "a max_value is relu_keras_capped",))
_row("relu_keras", "keras2", K2 + "relu",
     params={"negative_slope": ("alpha", "0"), "threshold": ("threshold", "0")}, extra={"max_value": "None"},
     notes=("Keras 2 spells negative_slope alpha",))
_none("relu_keras_capped", "torch")
_none("relu_keras_capped", "jax")
_row("relu_keras_capped", "keras", (K + "relu", "keras.layers.ReLU"), alias=False,
     params={"negative_slope": ("negative_slope", "0"), "max_value": ("max_value", "None"),
             "threshold": ("threshold", "0")},
     notes=("max_value defaults to None, no cap (relu_keras)",))
_row("relu_keras_capped", "keras2", K2 + "relu", alias=False,
     params={"negative_slope": ("alpha", "0"), "max_value": ("max_value", "None"), "threshold": ("threshold", "0")},
     notes=("max_value defaults to None, no cap (relu_keras)",))

# ------------------------------------------------------------------ issue 16: vector
_row("glu", "torch", (T + "GLU", TF + "glu"), extra={"dim": "-1"})
_row("glu", "jax", J + "glu", extra={"axis": "-1"})
_row("glu", "keras", K + "glu", extra={"axis": "-1"})
_row("softmin", "torch", (T + "Softmin", TF + "softmin"), extra={"dim": "None"},
     notes=("dim=None picks an axis implicitly (deprecated); symact uses the last axis",))
_none("softmin", "jax")
_none("softmin", "keras")
_row("logsumexp", "torch", "torch.logsumexp", extra={"dim": "(required)", "keepdim": "False"},
     notes=("a tensor function, not in torch.nn",))
_row("logsumexp", "jax", (J + "logsumexp", "jax.scipy.special.logsumexp"), extra={"axis": "None"},
     notes=("axis=None reduces over every axis; symact reduces the last axis (axis=-1)",))
_row("logsumexp", "keras", "keras.ops.logsumexp", extra={"axis": "None"},
     notes=("an op, not in keras.activations; axis=None reduces over every axis",))
_row("logsumexp", "tensorflow", "tf.math.reduce_logsumexp", extra={"axis": "None"})
# Keras 3 also ships sparsemax(x, axis=-1): not in the catalog yet (its kernel and exact
# threshold exist, symact.numeric.kernels.vector.ShapedKernel("sparsemax") and
# symact.symbolic.simplex; its declaration awaits a declared Jacobian and faster components).
_none("crelu", "torch")
_none("crelu", "jax")
_none("crelu", "keras")
_row("crelu", "tensorflow", TFN + "crelu", extra={"axis": "-1"})


# ------------------------------------------------------------------ queries
def rows(entry: str | None = None, framework: str | None = None) -> list[Spelling]:
    """The rows, optionally of one entry and/or one framework, in table order."""
    return [r for r in ROWS if (entry is None or r.entry == entry) and (framework is None or r.framework == framework)]


def entries() -> list[str]:
    """Every entry the table names, in table order."""
    return list(dict.fromkeys(r.entry for r in ROWS))


def spellings_of(entry: str) -> dict[str, tuple[str, ...]]:
    """Catalog parameter -> the other spellings of it (frameworks in table order, then
    :data:`EXTRA_SPELLINGS`), without the catalog's own name."""
    out: dict[str, list[str]] = {}
    order = {fw: i for i, fw in enumerate(FRAMEWORKS + EXTRA_FRAMEWORKS)}
    for r in sorted(rows(entry), key=lambda r: order[r.framework]):
        for p, (kw, _d) in r.params.items():
            lst = out.setdefault(p, [])
            if kw is not None and kw != p and kw not in lst:
                lst.append(kw)
    for p, extra in EXTRA_SPELLINGS.get(entry, {}).items():
        lst = out.setdefault(p, [])
        lst += [s for s in extra if s != p and s not in lst]
    return {p: tuple(v) for p, v in out.items() if v}


def flags_of(entry: str) -> dict[str, dict[str, object]]:
    """Keyword -> {type name of the framework's default: the value selecting ``entry``} (gelu's
    ``approximate``: ``{"str": "none", "bool": False}``)."""
    out: dict[str, dict[str, object]] = {}
    for r in rows(entry):
        for kw, (value, _default) in r.select.items():
            out.setdefault(kw, {}).setdefault(type(value).__name__, value)
    return out


def _expand(name: str) -> str:
    key = name.strip().lower()
    for short, full in PREFIXES.items():
        if key.startswith(short):
            return full + key[len(short):]
    return key


def _alias_table(catalog_names, catalog_aliases) -> dict[str, tuple[str, Spelling]]:
    """Lower-case framework name -> (entry, row): every full dotted name of a row that the
    framework's defaults select, and every bare name (the last dotted part) that names no
    catalog entry or alias and no two entries."""
    taken = set(catalog_names) | set(catalog_aliases)
    full: dict[str, tuple[str, Spelling]] = {}
    bare: dict[str, set] = {}
    first_row: dict[tuple[str, str], Spelling] = {}
    for r in ROWS:
        if r.entry not in catalog_names or not r.by_default:
            continue
        for n in r.names:
            key = n.lower()
            full.setdefault(key, (r.entry, r))
            tail = key.rsplit(".", 1)[-1]
            bare.setdefault(tail, set()).add(r.entry)
            first_row.setdefault((tail, r.entry), r)
    out = dict(full)
    for tail, ents in bare.items():
        if len(ents) == 1 and tail not in taken and tail not in NOT_ALIASES and tail not in out:
            (entry,) = ents
            out[tail] = (entry, first_row[(tail, entry)])
    return out


_ALIAS_CACHE: dict = {}


def lookup(name: str, catalog_names, catalog_aliases) -> tuple[str, Spelling] | None:
    """The catalog entry a framework spelling names and its row, or None (see :func:`_alias_table`)."""
    key = (tuple(catalog_names), tuple(sorted(catalog_aliases)))
    table = _ALIAS_CACHE.get(key)
    if table is None:
        _ALIAS_CACHE.clear()
        table = _ALIAS_CACHE[key] = _alias_table(catalog_names, catalog_aliases)
    return table.get(_expand(name))


def aliases(catalog_names, catalog_aliases) -> dict[str, str]:
    """Every framework spelling accepted as a name -> its entry."""
    lookup("", catalog_names, catalog_aliases)
    table = next(iter(_ALIAS_CACHE.values()))
    return {k: e for k, (e, _r) in table.items()}


def bound_defaults(row: Spelling, act) -> dict[str, Fraction]:
    """The framework's defaults of ``row`` that differ from the catalog's (``act`` unbound):
    what ``catalog.get(framework_name)`` binds (keras.activations.leaky_relu: negative_slope=1/5)."""
    import sympy as sp

    out = {}
    declared = {p.name: p.default for p in act.params}
    for p, d in row.framework_defaults().items():
        if d is None or p not in declared:
            continue
        if sp.Rational(d.numerator, d.denominator) != declared[p]:
            out[p] = d
    return out


# ------------------------------------------------------------------ for people
def _num(v) -> str:
    """A default as the framework writes it: 0.01, 0.2, 1/3 (as the table states it)."""
    return "None" if v is None else str(v)


def call_text(row: Spelling) -> str:
    """``torch.nn.LeakyReLU, torch.nn.functional.leaky_relu (negative_slope=0.01)``."""
    if not row.shipped:
        return f"not shipped by {TITLES[row.framework]}"
    args = [f"{kw} (required)" if d is None else f"{kw} (a number; default None)" if d == "None"
            else f"{kw}={_num(d)}" for kw, d in row.params.values() if kw is not None]
    args += [f"{kw}={v!r}" for kw, (v, _d) in row.select.items()]
    args += [f"{kw}={v}" for kw, v in row.extra.items()]
    return ", ".join(row.names) + (f" ({', '.join(args)})" if args else "")


def differences(row: Spelling, act) -> list[str]:
    """Where ``row``'s framework differs from symact's ``act`` (the catalog entry, unbound),
    with values: the defaults, the derivative at the kinks, the selecting keywords (the row's
    ``notes`` say the rest)."""
    import sympy as sp

    out = []
    if not row.shipped:
        return out
    declared = {p.name: p.default for p in act.params}
    for p, (kw, d) in row.params.items():
        if p not in declared:
            continue
        spelled = p if kw in (None, p) else f"{kw} (symact's {p})"
        if d in (None, "None"):
            continue
        if sp.Rational(Fraction(d).numerator, Fraction(d).denominator) != declared[p]:
            fixed = "fixed" if kw is None else "default"
            out.append(f"{fixed} {spelled} = {_num(d)} (symact: {declared[p]})")
    for kw, (value, default) in row.select.items():
        if value != default:
            out.append(f"needs {kw}={value!r} (the default {kw}={default!r} is another entry)")
    if row.derivative:
        bound = act.with_params(**bound_defaults(row, act)) if act.params else act
        for point, value in row.derivative.items():
            mine = _derivative_at(bound, point)
            if mine is None or mine != sp.Rational(value.numerator, value.denominator):
                out.append(f"f'({_num(point)}) = {_num(value)} (symact: {mine if mine is not None else 'undefined'})")
    return out


def _derivative_at(act, point):
    """symact's exact f'(point), or None where it cannot be evaluated."""
    import sympy as sp
    from symact.symbolic import forms

    try:
        v = forms.value_at(act.derivative, act.x, sp.Rational(point.numerator, point.denominator))
    except Exception:   # an undefined value (a jump): reported as such
        return None
    return v if v is not None and v.is_number and v.is_finite else None


def describe(act) -> list[dict]:
    """Every row of ``act``'s entry for people and JSON: the row's :meth:`Spelling.to_dict`
    (``notes`` among it) with ``title``, ``call`` (:func:`call_text`) and ``differences``
    (:func:`differences`)."""
    order = {fw: i for i, fw in enumerate(FRAMEWORKS + EXTRA_FRAMEWORKS)}
    base = act
    if act.values:
        from dataclasses import replace
        base = replace(act, values={})
    out = []
    for r in sorted(rows(act.name), key=lambda r: order[r.framework]):
        d = r.to_dict()
        d.update(title=TITLES[r.framework], call=call_text(r), differences=differences(r, base))
        out.append(d)
    return out
