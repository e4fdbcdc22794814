r"""The catalog: one declaration per activation, all in this file.

Adding an activation is one ``declare(...)`` call below. Every command, test and
certificate iterates :func:`names`, so a new declaration is covered everywhere.

Derivative conventions at kinks follow PyTorch and JAX where they agree
(relu'(0) = 0, relu6'(0) = relu6'(6) = 0, hard_tanh'(±1) = 0,
hard_sigmoid'(±3) = 0, hard_swish'(-3) = 0, hard_swish'(3) = 1). A convention
names the one-sided slope used at the kink ("left" or "right"); where frameworks
differ, ``convention_note`` says how.
"""
from __future__ import annotations

import sympy as sp
from sympy import Eq, KroneckerDelta, Max, Min, Piecewise, Rational, Sum, exp, erf, log, pi, sqrt, tanh

from symact.model.activation import Activation, Param
from symact.errors import UnknownActivationError
from symact.symbolic.forms import XV, I, J, K, N
from symact.symbolic.forms import X as x

_CATALOG: dict[str, Activation] = {}
_ALIASES: dict[str, str] = {}


def declare(name: str, expr, **fields) -> Activation:
    """Register one activation (see :class:`~symact.model.activation.Activation` for fields)."""
    act = Activation(name=name, definition=sp.sympify(expr), **fields)
    assert name not in _CATALOG and name not in _ALIASES, name
    _CATALOG[name] = act
    for alias in act.aliases:
        assert alias not in _CATALOG and alias not in _ALIASES, alias
        _ALIASES[alias] = name
    return act


h0 = sp.Symbol("h0", real=True)
alpha = sp.Symbol("alpha", positive=True)
scale = sp.Symbol("scale", positive=True)
negative_slope = sp.Symbol("negative_slope", real=True)
b = sp.Symbol("b", positive=True)

# The exact SELU constants as published (Klambauer et al. 2017); proofs/ derives them.
SELU_ALPHA = Rational("1.6732632423543772848170429916717")
SELU_SCALE = Rational("1.0507009873554804934193349852946")

# ------------------------------------------------------------------ the course's five
declare(
    "step", Piecewise((0, x < 0), (h0, Eq(x, 0)), (1, True)),
    params=(Param(h0, sp.S.Zero, "value at x = 0"),),
    aliases=("heaviside", "step_function"),
    description="Heaviside step: 1 for x > 0, 0 for x < 0, h0 at 0 (default 0, as in Deep Learning from Scratch).",
    latex=r"f(x) = \begin{cases} 0 & x < 0 \\ h_0 & x = 0 \\ 1 & x > 0 \end{cases}",
    reference="Heaviside; Saitoh, Deep Learning from Scratch (2016), ch. 3",
    role="hidden",
    conventions={0: "left"},
    convention_note="The jump at 0 has no derivative; frameworks use 0 there, as symact does.",
)
declare(
    "identity", x,
    aliases=("linear",),
    description="Identity: f(x) = x; linear, so stacked layers collapse into one.",
    latex=r"f(x) = x",
    role="output",
)
declare(
    "sigmoid", 1 / (1 + exp(-x)),
    aliases=("logistic",),
    description="Logistic sigmoid 1/(1 + e^-x), squashing into (0, 1).",
    latex=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    reference="Rumelhart, Hinton & Williams (1986)",
    role="both",
)
declare(
    "relu", Max(0, x),
    aliases=("rectifier",),
    description="Rectified linear unit max(0, x).",
    latex=r"f(x) = \max(0, x)",
    reference="Nair & Hinton (2010); Glorot, Bordes & Bengio (2011)",
    role="hidden",
    conventions={0: "left"},
)
declare(
    "softmax", exp(XV[I]) / Sum(exp(XV[J]), (J, 1, N)),
    vector=True,
    description="Softmax along an axis: exp(x_i) / sum_j exp(x_j), a probability vector.",
    latex=r"y_i = \frac{e^{x_i}}{\sum_{j=1}^{n} e^{x_j}}",
    reference="Bridle (1990)",
    role="output",
)

# ------------------------------------------------------------------ the frameworks' set
declare(
    "tanh", tanh(x),
    description="Hyperbolic tangent, squashing into (-1, 1).",
    latex=r"f(x) = \tanh(x)",
    role="hidden",
)
declare(
    "leaky_relu", Piecewise((negative_slope * x, x < 0), (x, True)),
    params=(Param(negative_slope, Rational(1, 100), "slope for x < 0"),),
    aliases=("leakyrelu",),
    description="Leaky ReLU: x for x >= 0, negative_slope * x below.",
    latex=r"f(x) = \begin{cases} x & x \geq 0 \\ a x & x < 0 \end{cases}",
    reference="Maas, Hannun & Ng (2013)",
    role="hidden",
    conventions={0: "left"},
    convention_note="PyTorch uses negative_slope at 0 (as symact); JAX's where(x >= 0, ...) gives 1.",
)
declare(
    "elu", Piecewise((alpha * (exp(x) - 1), x < 0), (x, True)),
    params=(Param(alpha, sp.S.One, "saturation value -alpha for x -> -inf"),),
    description="Exponential linear unit: x for x >= 0, alpha (e^x - 1) below.",
    latex=r"f(x) = \begin{cases} x & x \geq 0 \\ \alpha (e^{x} - 1) & x < 0 \end{cases}",
    reference="Clevert, Unterthiner & Hochreiter (2015), arXiv:1511.07289",
    role="hidden",
    conventions={0: "left"},
)
declare(
    "selu", scale * Piecewise((alpha * (exp(x) - 1), x < 0), (x, True)),
    params=(
        Param(alpha, SELU_ALPHA, "self-normalizing alpha"),
        Param(scale, SELU_SCALE, "self-normalizing scale (lambda)"),
    ),
    description="Scaled ELU with the self-normalizing constants.",
    latex=r"f(x) = \lambda \begin{cases} x & x \geq 0 \\ \alpha (e^{x} - 1) & x < 0 \end{cases}",
    reference="Klambauer, Unterthiner, Mayr & Hochreiter (2017), arXiv:1706.02515",
    role="hidden",
    conventions={0: "left"},
)
declare(
    "celu", Piecewise((alpha * (exp(x / alpha) - 1), x < 0), (x, True)),
    params=(Param(alpha, sp.S.One, "saturation value -alpha"),),
    description="Continuously differentiable ELU: x for x >= 0, alpha (e^(x/alpha) - 1) below.",
    latex=r"f(x) = \begin{cases} x & x \geq 0 \\ \alpha (e^{x / \alpha} - 1) & x < 0 \end{cases}",
    reference="Barron (2017), arXiv:1704.07483",
    role="hidden",
    conventions={0: "left"},
)
declare(
    "gelu", x / 2 * (1 + erf(x / sqrt(2))),
    description="Gaussian error linear unit x * Phi(x), exact erf form.",
    latex=r"f(x) = \frac{x}{2} \left(1 + \operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)",
    reference="Hendrycks & Gimpel (2016), arXiv:1606.08415",
    role="hidden",
)
declare(
    "gelu_tanh", x / 2 * (1 + tanh(sqrt(2 / pi) * (x + Rational("0.044715") * x**3))),
    aliases=("gelu_approx",),
    description="GELU's tanh approximation with 0.044715 and sqrt(2/pi).",
    latex=(r"f(x) = \frac{x}{2} \left(1 + \tanh\left(\sqrt{\frac{2}{\pi}}"
           r" \left(x + 0.044715 x^{3}\right)\right)\right)"),
    reference="Hendrycks & Gimpel (2016), arXiv:1606.08415",
    role="hidden",
)
declare(
    "silu", x / (1 + exp(-x)),
    aliases=("swish",),
    description="Sigmoid linear unit x * sigmoid(x) (swish with beta = 1).",
    latex=r"f(x) = \frac{x}{1 + e^{-x}}",
    reference="Elfwing, Uchibe & Doya (2017), arXiv:1702.03118; Ramachandran et al. (2017)",
    role="hidden",
)
declare(
    "softplus", log(1 + exp(x)),
    description="Softplus log(1 + e^x), a smooth ReLU.",
    latex=r"f(x) = \ln\left(1 + e^{x}\right)",
    reference="Dugas et al. (2001)",
    role="hidden",
)
declare(
    "softsign", x / (1 + sp.Abs(x)),
    description="Softsign x / (1 + |x|).",
    latex=r"f(x) = \frac{x}{1 + |x|}",
    reference="Bergstra et al. (2009); Glorot & Bengio (2010)",
    role="hidden",
)
declare(
    "mish", x * tanh(log(1 + exp(x))),
    description="Mish x * tanh(softplus(x)).",
    latex=r"f(x) = x \tanh\left(\ln\left(1 + e^{x}\right)\right)",
    reference="Misra (2019), arXiv:1908.08681",
    role="hidden",
)
# slope x + offset clipped to [0, 1], written as slope * min(max(0, x + offset/slope), 1/slope):
# at the defaults this is exactly Min(Max(0, x + 3), 6)/6 (x + 3 is exact near the kink at -3,
# where slope x + offset would cancel). ONNX HardSigmoid calls them alpha and beta.
slope = sp.Symbol("slope", positive=True)
offset = sp.Symbol("offset", real=True)
declare(
    "hard_sigmoid", slope * Min(Max(0, x + offset / slope), 1 / slope),
    params=(Param(slope, Rational(1, 6), "a: slope of the linear part (PyTorch, JAX, Keras 3: 1/6; Keras 2: 1/5)"),
            Param(offset, Rational(1, 2), "b: value at x = 0")),
    aliases=("hardsigmoid",),
    description=("Hard sigmoid: slope x + offset clipped to [0, 1]; by default relu6(x + 3) / 6 as in PyTorch, "
                 "JAX and Keras 3 (Keras 2 and tf.keras before TensorFlow 2.16: slope 1/5)."),
    latex=r"f(x) = a \min\left(\max\left(0, x + \frac{b}{a}\right), \frac{1}{a}\right)",
    reference="Courbariaux, Bengio & David (2015); PyTorch Hardsigmoid; Keras 2 hard_sigmoid (slope 1/5)",
    role="hidden",
    conventions={-offset / slope: "left", (1 - offset) / slope: "right"},
    convention_note=("Keras 2's hard_sigmoid (tf.keras before TensorFlow 2.16) is 0.2 x + 0.5 clipped: "
                     "--param slope=1/5."),
)
declare(
    "hard_swish", x * Min(Max(0, x + 3), 6) / 6,
    aliases=("hardswish",),
    description="Hard swish x * relu6(x + 3) / 6 (MobileNetV3).",
    latex=r"f(x) = \frac{x \min(\max(0, x + 3), 6)}{6}",
    reference="Howard et al. (2019), arXiv:1905.02244",
    role="hidden",
    conventions={-3: "left", 3: "right"},
)
declare(
    "hard_tanh", Min(Max(-1, x), 1),
    aliases=("hardtanh",),
    description="Hard tanh: x clipped to [-1, 1].",
    latex=r"f(x) = \max(-1, \min(1, x))",
    reference="Collobert (2004)",
    role="hidden",
    conventions={-1: "left", 1: "right"},
    convention_note="PyTorch uses 0 at x = +-1 (as symact); JAX's nested where gives 1 there.",
)
declare(
    "relu6", Min(Max(0, x), 6),
    description="ReLU capped at 6: min(max(0, x), 6).",
    latex=r"f(x) = \min(\max(0, x), 6)",
    reference="Krizhevsky (2010)",
    role="hidden",
    conventions={0: "left", 6: "right"},
)
declare(
    "log_sigmoid", -log(1 + exp(-x)),
    aliases=("logsigmoid",),
    description="Log of the sigmoid, -softplus(-x); used for log-likelihoods.",
    latex=r"f(x) = -\ln\left(1 + e^{-x}\right)",
    role="output",
)
declare(
    "log_softmax", XV[I] - log(Sum(exp(XV[J]), (J, 1, N))),
    vector=True,
    aliases=("logsoftmax",),
    description="Log of softmax along an axis: x_i - log sum_j exp(x_j).",
    latex=r"y_i = x_i - \ln \sum_{j=1}^{n} e^{x_j}",
    role="output",
)
declare(
    "softmin", exp(-XV[I]) / Sum(exp(-XV[J]), (J, 1, N)),
    vector=True,
    description="Softmin along an axis: softmax(-x), exp(-x_i) / sum_j exp(-x_j).",
    latex=r"y_i = \frac{e^{-x_i}}{\sum_{j=1}^{n} e^{-x_j}}",
    reference="PyTorch torch.nn.Softmin",
    role="output",
)

# vector activations whose output does not keep the input's shape (ShapedKernel)
declare(
    "glu", XV[I] / (1 + exp(-XV[I + N / 2])),
    vector=True, shape="half",
    description="Gated linear unit along an axis: x = [a, b] split in half, a * sigmoid(b) (an even length).",
    latex=r"y_i = \frac{x_i}{1 + e^{-x_{i + n/2}}}, \quad i = 1, \ldots, n/2",
    reference="Dauphin, Fan, Auli & Grangier (2017), arXiv:1612.08083; torch.nn.GLU",
    role="hidden",
)
declare(
    "logsumexp", log(Sum(exp(XV[J]), (J, 1, N))),
    vector=True, shape="reduce",
    description="log sum_j exp(x_j) along an axis, the axis removed; its derivative is the gradient softmax(x).",
    latex=r"y = \ln \sum_{j=1}^{n} e^{x_j}",
    reference="jax.nn.logsumexp; torch.logsumexp",
    role="output",
)
declare(
    "crelu", Piecewise((Max(0, XV[I]), I <= N), (Max(0, -XV[I - N]), True)),
    vector=True, shape="double",
    jacobian=Piecewise((KroneckerDelta(I, K) * Piecewise((1, XV[I] > 0), (0, True)), I <= N),
                       (-KroneckerDelta(I - N, K) * Piecewise((1, XV[I - N] < 0), (0, True)), True)),
    description="Concatenated ReLU along an axis: [relu(x), relu(-x)], the length doubled; relu'(0) = 0.",
    latex=r"y = \left[\max(0, x), \max(0, -x)\right]",
    reference="Shang, Sohn, Almeida & Lee (2016), arXiv:1603.05201; tf.nn.crelu",
    role="hidden",
)


# ------------------------------------------------------------------ algebraic rectifiers
declare(
    "squareplus", (x + sqrt(x**2 + b)) / 2,
    params=(Param(b, sp.Integer(4), "smoothness parameter, f(0) = sqrt(b)/2 (JAX and Keras: 4)"),),
    description="Squareplus (x + sqrt(x^2 + b))/2: a softplus-like rectifier from one square root, no exp.",
    latex=r"f(x) = \frac{x + \sqrt{x^{2} + b}}{2}",
    reference="Barron (2021), arXiv:2112.11687; jax.nn.squareplus",
    role="hidden",
)


# ------------------------------------------------------------------ the frameworks' other scalars (issue 16)
# Derivative conventions at kinks follow PyTorch's backward formulas (hardshrink,
# softshrink: 0 at +-lambd; threshold: 0 at the jump; prelu, rrelu: the slope below 0).
lambd = sp.Symbol("lambd", positive=True)
declare(
    "hardshrink", Piecewise((x, x < -lambd), (0, x <= lambd), (x, True)),
    params=(Param(lambd, Rational(1, 2), "half-width of the zeroed band (PyTorch lambd, Keras threshold: 0.5)"),),
    aliases=("hard_shrink",),
    description=("Hard shrinkage: x for |x| > lambd, 0 for |x| <= lambd (so f(+-lambd) = 0); "
                 "f'(+-lambd) = 0, as PyTorch's backward."),
    latex=r"f(x) = \begin{cases} x & |x| > \lambda \\ 0 & |x| \leq \lambda \end{cases}",
    reference="Donoho & Johnstone (1994); PyTorch Hardshrink; Keras 3 hard_shrink",
    role="hidden",
    conventions={-lambd: "right", lambd: "left"},
    convention_note="f(+-lambd) = 0 and f'(+-lambd) = 0 in PyTorch and Keras 3 (|x| > lambd keeps x), as in symact.",
)
declare(
    "softshrink", Piecewise((x - lambd, x > lambd), (x + lambd, x < -lambd), (0, True)),
    params=(Param(lambd, Rational(1, 2), "half-width of the zeroed band (PyTorch lambd, Keras threshold: 0.5)"),),
    aliases=("soft_shrink",),
    description=("Soft shrinkage (soft thresholding): x - lambd above lambd, x + lambd below -lambd, 0 between; "
                 "f'(+-lambd) = 0, as PyTorch's backward."),
    latex=(r"f(x) = \begin{cases} x - \lambda & x > \lambda \\ x + \lambda & x < -\lambda \\ "
           r"0 & |x| \leq \lambda \end{cases}"),
    reference="Donoho (1995); PyTorch Softshrink; Keras 3 soft_shrink",
    role="hidden",
    conventions={-lambd: "right", lambd: "left"},
    convention_note="f'(+-lambd) = 0 in PyTorch and Keras 3 (the band |x| <= lambd is closed), as in symact.",
)
declare(
    "tanhshrink", x - tanh(x),
    aliases=("tanh_shrink",),
    description="Tanhshrink x - tanh(x): about x^3/3 near 0, x -+ 1 in the tails.",
    latex=r"f(x) = x - \tanh(x)",
    reference="PyTorch Tanhshrink; Keras 3 tanh_shrink",
    role="hidden",
)
threshold = sp.Symbol("threshold", real=True)
value = sp.Symbol("value", real=True)
declare(
    "threshold", Piecewise((x, x > threshold), (value, True)),
    params=(Param(threshold, sp.S.Zero, "x above it passes (PyTorch threshold, Keras threshold)"),
            Param(value, sp.S.Zero, "the value at and below the threshold (PyTorch value, Keras default_value)")),
    description=("Threshold: x for x > threshold, value for x <= threshold (so f(threshold) = value); "
                 "a jump unless value = threshold; f'(threshold) = 0, as PyTorch's backward."),
    latex=r"f(x) = \begin{cases} x & x > t \\ v & x \leq t \end{cases}",
    reference="PyTorch Threshold; Keras 3 threshold (default_value)",
    role="hidden",
    conventions={threshold: "left"},
    convention_note=("PyTorch requires both arguments (no defaults; 0, 0 here make it relu); "
                     "f(threshold) = value and f'(threshold) = 0 in PyTorch and Keras 3, as in symact."),
)
weight = sp.Symbol("weight", real=True)
declare(
    "prelu", Piecewise((weight * x, x < 0), (x, True)),
    params=(Param(weight, Rational(1, 4), "the learned slope for x < 0 (PyTorch's initial value 0.25)"),),
    description="Parametric ReLU: x for x >= 0, weight * x below; its learned slope is a parameter here.",
    latex=r"f(x) = \begin{cases} x & x \geq 0 \\ a x & x < 0 \end{cases}",
    reference="He, Zhang, Ren & Sun (2015), arXiv:1502.01852; PyTorch PReLU",
    role="hidden",
    conventions={0: "left"},
    convention_note="PyTorch's backward uses weight at 0 (x > 0 ? 1 : weight), as symact.",
)
lower = sp.Symbol("lower", real=True)
upper = sp.Symbol("upper", real=True)
declare(
    "rrelu", Piecewise(((lower + upper) / 2 * x, x < 0), (x, True)),
    params=(Param(lower, Rational(1, 8), "lower bound of the random slope (PyTorch: 1/8)"),
            Param(upper, Rational(1, 3), "upper bound of the random slope (PyTorch: 1/3)")),
    description=("Randomized leaky ReLU in evaluation mode: x for x >= 0, (lower + upper)/2 * x below "
                 "(training mode draws the slope at random: not a function)."),
    latex=r"f(x) = \begin{cases} x & x \geq 0 \\ \frac{l + u}{2} x & x < 0 \end{cases}",
    reference="Xu, Wang, Chen & Li (2015), arXiv:1505.00853; PyTorch RReLU (eval)",
    role="hidden",
    conventions={0: "left"},
    convention_note="PyTorch (eval) is leaky_relu with slope (lower + upper)/2, and uses that slope at 0, as symact.",
)
declare(
    "sparse_plus", Piecewise((0, x <= -1), ((x + 1) ** 2 / 4, x < 1), (x, True)),
    description="Sparse plus: 0 for x <= -1, (x + 1)^2/4 between, x for x >= 1; continuously differentiable.",
    latex=r"f(x) = \begin{cases} 0 & x \leq -1 \\ \frac{(x + 1)^{2}}{4} & -1 < x < 1 \\ x & x \geq 1 \end{cases}",
    reference="Martins & Astudillo (2016), arXiv:1602.02068; jax.nn.sparse_plus; Keras 3 sparse_plus",
    role="hidden",
    conventions={-1: "left", 1: "right"},
    convention_note="f' is continuous (0 at -1, 1 at 1): every framework agrees.",
)
declare(
    "sparse_sigmoid", Piecewise((0, x <= -1), ((x + 1) / 2, x < 1), (1, True)),
    description=("Sparse sigmoid: (x + 1)/2 clipped to [0, 1] (the derivative of sparse_plus); "
                 "f'(+-1) = 0, as Keras 3."),
    latex=r"f(x) = \begin{cases} 0 & x \leq -1 \\ \frac{x + 1}{2} & -1 < x < 1 \\ 1 & x \geq 1 \end{cases}",
    reference="Martins & Astudillo (2016), arXiv:1602.02068; jax.nn.sparse_sigmoid; Keras 3 sparse_sigmoid",
    role="hidden",
    conventions={-1: "left", 1: "right"},
    convention_note=("Keras 3's nested where gives f'(+-1) = 0, as symact; jax.nn.sparse_sigmoid is "
                     "0.5 clip(x + 1, 0, 2), whose derivative at the clip bounds is JAX's tie rule for "
                     "max/min (1/4 at +-1)."),
)
declare(
    "exponential", exp(x),
    description="Exponential activation e^x (Keras exponential), positive and unbounded.",
    latex=r"f(x) = e^{x}",
    reference="Keras exponential",
    role="hidden",
)
beta = sp.Symbol("beta", real=True)
declare(
    "swish_beta", x / (1 + exp(-beta * x)),
    params=(Param(beta, sp.S.One, "slope inside the sigmoid (1: silu; TensorFlow tf.nn.silu beta)"),),
    description="Swish with a parameter: x * sigmoid(beta x); beta = 1 is silu, beta -> inf relu.",
    latex=r"f(x) = \frac{x}{1 + e^{-\beta x}}",
    reference="Ramachandran, Zoph & Le (2017), arXiv:1710.05941; TensorFlow tf.nn.silu(x, beta)",
    role="hidden",
)
beta_pos = sp.Symbol("beta", positive=True)
declare(
    "softplus_beta", log(1 + exp(beta_pos * x)) / beta_pos,
    params=(Param(beta_pos, sp.S.One, "sharpness (PyTorch beta: 1)"),),
    description=("Softplus with a sharpness: log(1 + e^(beta x))/beta, the mathematical function "
                 "(PyTorch's threshold=20 switch to x is a framework deviation, not part of it)."),
    latex=r"f(x) = \frac{1}{\beta} \ln\left(1 + e^{\beta x}\right)",
    reference="Dugas et al. (2001); PyTorch Softplus(beta, threshold)",
    role="hidden",
    convention_note=("PyTorch's softplus returns x itself where beta x > threshold (default 20): "
                     "off by up to log1p(e^-20)/beta ~ 2e-9/beta there (relative 1e-10 at x = 20)."),
)
# Keras 3 keras.activations.relu(x, negative_slope=0, max_value=None, threshold=0): what its
# code computes, x * (x > threshold) clipped to [0, max_value], minus negative_slope *
# relu(threshold - x). No cap (max_value=None) and a cap are two entries, as there is no
# exact "infinite" parameter value.
t_k = sp.Symbol("threshold", real=True)
t_kc = sp.Symbol("threshold", nonnegative=True)
max_value = sp.Symbol("max_value", positive=True)
declare(
    "relu_keras", Piecewise((x, x > t_k), (negative_slope * (x - t_k), True)),
    params=(Param(negative_slope, sp.S.Zero, "slope below the threshold (Keras: 0)"),
            Param(t_k, sp.S.Zero, "x above it passes; a jump of size threshold there (Keras: 0)")),
    description=("Keras 3's relu without a cap (max_value=None): x for x > threshold, "
                 "negative_slope (x - threshold) at and below it; f'(threshold) = negative_slope."),
    latex=r"f(x) = \begin{cases} x & x > t \\ a (x - t) & x \leq t \end{cases}",
    reference="Keras 3 keras.activations.relu (max_value=None)",
    role="hidden",
    conventions={t_k: "left"},
    convention_note=("f(threshold) = 0 (x * (x > threshold)). At the kink symact uses the slope below, "
                     "negative_slope; Keras's backends differ: threshold = 0 runs leaky_relu (TensorFlow "
                     "and PyTorch: negative_slope, JAX: 1), a threshold != 0 gives 0."),
)
declare(
    "relu_keras_capped", Piecewise((negative_slope * (x - t_kc), x <= t_kc), (x, x < max_value), (max_value, True)),
    params=(Param(negative_slope, sp.S.Zero, "slope below the threshold (Keras: 0)"),
            Param(max_value, sp.Integer(6), "the cap (Keras max_value; 6: relu6)"),
            Param(t_kc, sp.S.Zero, "x above it passes, >= 0 here (Keras: 0)")),
    description=("Keras 3's relu with max_value: min(x, max_value) for x > threshold, "
                 "negative_slope (x - threshold) at and below it; f'(threshold) = negative_slope, "
                 "f'(max_value) = 0."),
    latex=(r"f(x) = \begin{cases} a (x - t) & x \leq t \\ x & t < x < m \\ m & x \geq m \end{cases}"),
    reference="Keras 3 keras.activations.relu (max_value given)",
    role="hidden",
    conventions={t_kc: "left", max_value: "right"},
    convention_note=("f'(max_value) = 0 as relu6 (TensorFlow's relu6, which Keras uses for max_value = 6 and "
                     "threshold = 0); for other caps Keras clips, whose derivative at the cap is 1 in "
                     "TensorFlow and PyTorch and 1/2 in JAX. A negative threshold is not represented here."),
)


# ------------------------------------------------------------------ lookup
def names() -> list[str]:
    """Canonical names of every catalog activation, in declaration order."""
    return list(_CATALOG)


def aliases() -> dict[str, str]:
    """Alias -> canonical name."""
    return dict(_ALIASES)


def canonical(name: str) -> str:
    """The canonical name for ``name``, an alias or a framework's spelling (case and '-'
    insensitive): ``torch.nn.Hardshrink``, ``F.gelu``, ``jax.nn.hard_silu``, ``hard_silu``
    (see :func:`symact.model.frameworks.lookup`)."""
    key = name.strip().lower().replace("-", "_")
    if key in _CATALOG:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    found = _framework_spelling(name)
    if found is not None:
        return found[0]
    known = list(_CATALOG) + list(_ALIASES)
    if "." in name:
        from symact.model import frameworks
        known += [n for n in frameworks.aliases(_CATALOG, _ALIASES) if "." in n]
    raise UnknownActivationError(name, known)


def _framework_spelling(name: str):
    """(entry, row) for a framework's spelling of an entry, or None."""
    from symact.model import frameworks

    if len(name) > 200:
        return None
    return frameworks.lookup(name, _CATALOG, _ALIASES)


def get(name: str, **params) -> Activation:
    """The activation called ``name`` (or an alias), with ``params`` bound. A framework's
    spelling binds that framework's defaults where they differ from the catalog's
    (``get("keras.activations.leaky_relu")`` has negative_slope = 1/5); ``params`` override them."""
    act = _CATALOG[canonical(name)]
    key = name.strip().lower().replace("-", "_")
    if key not in _CATALOG and key not in _ALIASES:
        from symact.model import frameworks
        found = _framework_spelling(name)
        if found is not None:
            fw_defaults = frameworks.bound_defaults(found[1], act)
            if fw_defaults:
                act = act.with_params(**fw_defaults)
    return act.with_params(**params) if params else act
