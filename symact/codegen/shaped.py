"""Hand-written code for the vector activations whose output changes the axis' length
(glu: n -> n/2, logsumexp: n -> one value, crelu: n -> 2 n), one source per target.

Their kernels are hand-written too (:class:`symact.numeric.kernels.vector.ShapedKernel`):
the generated files follow the same algorithms -- glu from a sign-split sigmoid and its
derivative e/(1 + e)^2 with e = exp(-|b|); logsumexp as m + log1p(Sm1) with x - m in
double-double (TwoSum) and Sm1 summed without one maximal element, its gradient
softmax(x) = e / (1 + Sm1); crelu exactly. Signatures along the last axis:

* NumPy, PyTorch, JAX: ``NAME(x)`` has the declared output shape (glu ``x.shape[:-1] + (n/2,)``,
  logsumexp ``x.shape[:-1]``, crelu ``x.shape[:-1] + (2n,)``); ``NAME_grad(x)`` the Jacobian
  ``J[..., i, k] = d y_i / d x_k`` (m, n) -- logsumexp: its gradient, x's shape.
* Python: lists in, lists out (the Jacobian a list of rows; logsumexp a float and a list).
* C: ``void NAME(const T *x, T *y, size_t n)`` writes the m outputs (logsumexp one value),
  ``void NAME_grad(const T *x, T *y, size_t n)`` the m x n Jacobian row-major (logsumexp n
  values); computed in double, rounded once to T; glu of an odd n writes NaN.
"""
from __future__ import annotations

from symact.codegen.printer import CodegenError

NAMES = ("glu", "logsumexp", "crelu")

_ARRAY = {
    "numpy": dict(M="np", imports="import numpy as np", kw="axis=-1, keepdims=True", cat="np.concatenate",
                  catkw="axis", eye="np.eye({n})", amax="np.max"),
    "torch": dict(M="torch", imports="import torch", kw="dim=-1, keepdim=True", cat="torch.cat", catkw="dim",
                  eye="torch.eye({n}, dtype=x.dtype)", amax="torch.amax"),
    "jax": dict(M="jnp", imports="import jax\nimport jax.numpy as jnp", kw="axis=-1, keepdims=True",
                cat="jnp.concatenate", catkw="axis", eye="jnp.eye({n}, dtype=x.dtype)", amax="jnp.max"),
}


def _array_bodies(name: str, s: dict) -> tuple[list[str], list[str]]:
    M, kw, cat, ck, amax = s["M"], s["kw"], s["cat"], s["catkw"], s["amax"]
    if name == "glu":
        head = ["h = x.shape[-1] // 2",
                "if x.shape[-1] % 2:",
                "    raise ValueError(f'glu splits the last axis in half: its length must be even, got {x.shape[-1]}')",
                "a, b = x[..., :h], x[..., h:]",
                f"e = {M}.exp(-{M}.abs(b))",
                f"s = {M}.where(b >= 0, 1 / (1 + e), e / (1 + e))     # sigmoid(b), no cancellation"]
        f = head + ["return a * s"]
        df = head + ["ds = e / ((1 + e) * (1 + e))                     # sigmoid'(b)",
                     f"eye = {s['eye'].format(n='h')}",
                     f"return {cat}([s[..., :, None] * eye, (a * ds)[..., :, None] * eye], {ck}=-1)"]
        return f, df
    if name == "crelu":
        f = [f"return {cat}([{M}.where(x > 0, x, 0 * x), {M}.where(x < 0, -x, 0 * x)], {ck}=-1)"]
        df = [f"pos = {M}.where(x > 0, 1 + 0 * x, 0 * x)",
              f"neg = {M}.where(x < 0, 1 + 0 * x, 0 * x)",
              f"eye = {s['eye'].format(n='x.shape[-1]')}",
              f"return {cat}([pos[..., :, None] * eye, -(neg[..., :, None] * eye)], {ck}=-2)"]
        return f, df
    if name == "logsumexp":
        head = [f"m = {amax}(x, {kw})",
                f"fin = {M}.isfinite(m)",
                f"mf = {M}.where(fin, m, 0 * m)",
                "t = x - mf                                      # TwoSum: t + tl = x - m exactly",
                "bb = t - x",
                "tl = (x - (t - bb)) - (mf + bb)",
                f"tl = {M}.where({M}.isfinite(tl) & (t >= -2.0 ** 50), tl, 0 * tl)",
                f"e = {M}.exp(t) * (1 + tl)",
                "top = t == 0",
                f"sm1 = {M}.where(top, 0 * e, e).sum({kw}) + ((1 + 0 * e) * top).sum({kw}) - 1"]
        f = head + [f"return {M}.where(fin, mf + {M}.log1p(sm1), m)[..., 0]"]
        df = head + ["return e / (1 + sm1)"]
        return f, df
    raise CodegenError(f"no hand-written code for {name}")


def _array_source(act, target: str, ident: str, dtype: str, header: list[str]) -> str:
    s = _ARRAY[target]
    f, df = _array_bodies(act.name, s)
    if target == "numpy":
        prep = ["x = np.asarray(x, dtype=np.float64)", "with np.errstate(all='ignore'):"]
        wrap = lambda body: prep + ["    " + ln for ln in body[:-1]] + [   # noqa: E731
            "    " + body[-1].replace("return ", "r = "), f"return np.asarray(r).astype(np.{dtype})"]
    elif target == "torch":
        wrap = lambda body: [f"x = torch.as_tensor(x, dtype=x.dtype if torch.is_tensor(x) and x.is_floating_point() "  # noqa: E731
                             f"else torch.{dtype})"] + body
    else:
        wrap = lambda body: ["x = jnp.asarray(x, dtype=x.dtype if hasattr(x, 'dtype') and "  # noqa: E731
                             "jnp.issubdtype(x.dtype, jnp.floating) else None)"] + body
    value = ident if target == "numpy" else f"_{ident}_value"
    what = {"glu": "y = a * sigmoid(b) for x = [a, b] split in half along the last axis",
            "logsumexp": "log sum_j exp(x_j) along the last axis (the axis removed)",
            "crelu": "[relu(x), relu(-x)] along the last axis (its length doubled)"}[act.name]
    out = ['"""' + header[0], *header[1:], '"""', s["imports"], "", "",
           f"def {value}(x):", f'    """{act.name}: {what}."""', *("    " + ln for ln in wrap(f)), "", "",
           f"def {ident}_grad(x):",
           f'    """{act.name}\': ' + ("its gradient softmax(x), x's shape" if act.name == "logsumexp"
                                      else "Jacobian J[..., i, k] = d y_i / d x_k") + '."""',
           *("    " + ln for ln in wrap(df))]
    if target == "torch":
        bwd = (f"g[..., None] * {ident}_grad(x)" if act.name == "logsumexp"
               else f"torch.einsum('...i,...ik->...k', g, {ident}_grad(x))")
        out += ["", "", f"class _{ident}_fn(torch.autograd.Function):",
                f'    """{act.name} whose backward is the hand-written Jacobian."""', "",
                "    @staticmethod", "    def forward(ctx, x):", "        ctx.save_for_backward(x)",
                f"        return _{ident}_value(x)", "", "    @staticmethod", "    def backward(ctx, g):",
                "        (x,) = ctx.saved_tensors", f"        return {bwd}", "", "",
                f"def {ident}(x):", f'    """{act.name}(x), differentiable with the hand-written Jacobian."""',
                f"    return _{ident}_fn.apply(torch.as_tensor(x))"]
    elif target == "jax":
        tan = (f"({ident}_grad(x) * t).sum(axis=-1)" if act.name == "logsumexp"
               else f"jnp.einsum('...ik,...k->...i', {ident}_grad(x), t)")
        out += ["", "", "@jax.custom_jvp", f"def {ident}(x):",
                f'    """{act.name}(x); its JVP uses the hand-written Jacobian."""', f"    return _{ident}_value(x)",
                "", "", f"@{ident}.defjvp", f"def _{ident}_jvp(primals, tangents):", "    (x,), (t,) = primals, tangents",
                f"    return {ident}(x), {tan}"]
    return "\n".join(out).rstrip() + "\n"


_PY = {
    "glu": ('''def _sig(b):
    e = math.exp(-abs(b))
    return 1.0 / (1.0 + e) if b >= 0 else e / (1.0 + e)


def _dsig(b):
    e = math.exp(-abs(b))
    return e / ((1.0 + e) * (1.0 + e))


def _half(x):
    if len(x) % 2:
        raise ValueError(f"glu splits the row in half: its length must be even, got {len(x)}")
    return len(x) // 2


def {i}(x):
    """glu: a * sigmoid(b) for the row x = [a, b] split in half (a list of n/2 floats)."""
    x = [float(v) for v in x]
    h = _half(x)
    return [x[j] * _sig(x[h + j]) for j in range(h)]


def {i}_grad(x):
    """glu': the Jacobian as n/2 rows of n floats."""
    x = [float(v) for v in x]
    h = _half(x)
    rows = []
    for j in range(h):
        r = [0.0] * (2 * h)
        r[j] = _sig(x[h + j])
        r[h + j] = x[j] * _dsig(x[h + j])
        rows.append(r)
    return rows
'''),
    "crelu": ('''def _relu(v):
    return v if v > 0 or v != v else 0.0


def {i}(x):
    """crelu: [relu(x), relu(-x)] for the row x (a list of 2 n floats)."""
    x = [float(v) for v in x]
    return [_relu(v) for v in x] + [_relu(-v) for v in x]


def {i}_grad(x):
    """crelu': the Jacobian as 2 n rows of n floats (relu'(0) = 0)."""
    x = [float(v) for v in x]
    n = len(x)
    rows = [[0.0] * n for _ in range(2 * n)]
    for j, v in enumerate(x):
        rows[j][j] = 1.0 if v > 0 else 0.0
        rows[n + j][j] = -1.0 if v < 0 else 0.0
    return rows
'''),
    "logsumexp": ('''def _parts(x):
    """(m, t, tl, Sm1) with t + tl = x - m exactly (TwoSum) and Sm1 the sum of exp(x - m) without one maximum."""
    m = max(x)
    t, tl = [], []
    for v in x:
        th = v - m
        bb = th - v
        lo = (v - (th - bb)) - (m + bb)
        t.append(th)
        tl.append(lo if math.isfinite(lo) and th >= -2.0 ** 50 else 0.0)
    e = [math.exp(a) * (1.0 + b) for a, b in zip(t, tl)]
    top = [a == 0 for a in t]
    sm1 = math.fsum([v for v, k in zip(e, top) if not k]) + (sum(top) - 1)
    return m, e, sm1


def {i}(x):
    """logsumexp: log sum_j exp(x_j) of the row x (a float)."""
    x = [float(v) for v in x]
    if not x:
        return -math.inf
    if any(v != v for v in x):
        return math.nan
    m = max(x)
    if not math.isfinite(m):
        return m
    m, e, sm1 = _parts(x)
    return m + math.log1p(sm1)


def {i}_grad(x):
    """logsumexp': its gradient softmax(x) (a list of n floats)."""
    x = [float(v) for v in x]
    if any(v != v for v in x) or not x or not math.isfinite(max(x)):
        return [math.nan] * len(x)
    m, e, sm1 = _parts(x)
    return [v / (1.0 + sm1) for v in e]
'''),
}


def _python_source(act, ident, header) -> str:
    return "\n".join(['"""' + header[0], *header[1:], '"""', "import math", "", ""]) + _PY[act.name].replace(
        "{i}", ident)


_C = {
    "glu": '''static double {i}_sig{s}(double b) { double e = exp(-fabs(b)); return b >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e); }
static double {i}_dsig{s}(double b) { double e = exp(-fabs(b)); return e / ((1.0 + e) * (1.0 + e)); }

/* glu: y[j] = x[j] * sigmoid(x[n/2 + j]), j < n/2 (an odd n: NaN) */
void {i}{s}(const {T} *x, {T} *y, size_t n) {
    size_t h = n / 2, j;
    for (j = 0; j < h; j++) y[j] = ({T})(n % 2 ? NAN : (double)x[j] * {i}_sig{s}((double)x[h + j]));
}

/* glu': the n/2 x n Jacobian, row-major */
void {i}_grad{s}(const {T} *x, {T} *y, size_t n) {
    size_t h = n / 2, j, k;
    for (j = 0; j < h; j++) {
        for (k = 0; k < n; k++) y[j * n + k] = 0;
        y[j * n + j] = ({T})(n % 2 ? NAN : {i}_sig{s}((double)x[h + j]));
        y[j * n + h + j] = ({T})(n % 2 ? NAN : (double)x[j] * {i}_dsig{s}((double)x[h + j]));
    }
}
''',
    "crelu": '''/* crelu: y = [relu(x), relu(-x)], 2 n values */
void {i}{s}(const {T} *x, {T} *y, size_t n) {
    size_t j;
    for (j = 0; j < n; j++) {
        y[j] = x[j] > 0 || x[j] != x[j] ? x[j] : 0;
        y[n + j] = -x[j] > 0 || x[j] != x[j] ? -x[j] : 0;
    }
}

/* crelu': the 2 n x n Jacobian, row-major (relu'(0) = 0) */
void {i}_grad{s}(const {T} *x, {T} *y, size_t n) {
    size_t j, k;
    for (j = 0; j < 2 * n; j++) for (k = 0; k < n; k++) y[j * n + k] = 0;
    for (j = 0; j < n; j++) {
        y[j * n + j] = x[j] > 0 ? 1 : 0;
        y[(n + j) * n + j] = x[j] < 0 ? -1 : 0;
    }
}
''',
    "logsumexp": '''/* m = max x, e[j] = exp(x[j] - m) with x - m in double-double, Sm1 = sum of e without one maximum;
   returns Sm1 and writes e[j] when e is not NULL */
static double {i}_parts{s}(const {T} *x, size_t n, double m, {T} *e) {
    double sm1 = -1.0, t, bb, tl, ej;
    size_t j;
    for (j = 0; j < n; j++) {
        t = (double)x[j] - m;
        bb = t - (double)x[j];
        tl = ((double)x[j] - (t - bb)) - (m + bb);
        if (!isfinite(tl) || t < -1125899906842624.0) tl = 0;
        ej = exp(t) * (1 + tl);
        sm1 += t == 0 ? 1.0 : ej;
        if (e) e[j] = ({T})ej;
    }
    return sm1;
}

static double {i}_max{s}(const {T} *x, size_t n) {
    double m = -INFINITY;
    size_t j;
    for (j = 0; j < n; j++) { if (x[j] != x[j]) return NAN; if (x[j] > m) m = x[j]; }
    return m;
}

/* logsumexp: one value, log sum_j exp(x[j]) */
void {i}{s}(const {T} *x, {T} *y, size_t n) {
    double m = {i}_max{s}(x, n);
    y[0] = ({T})(isfinite(m) ? m + log1p({i}_parts{s}(x, n, m, 0)) : m);
}

/* logsumexp': its gradient softmax(x), n values */
void {i}_grad{s}(const {T} *x, {T} *y, size_t n) {
    double m = {i}_max{s}(x, n), sm1, t, bb, tl;
    size_t j;
    if (!isfinite(m)) { for (j = 0; j < n; j++) y[j] = ({T})NAN; return; }
    sm1 = {i}_parts{s}(x, n, m, 0);
    for (j = 0; j < n; j++) {
        t = (double)x[j] - m;
        bb = t - (double)x[j];
        tl = ((double)x[j] - (t - bb)) - (m + bb);
        if (!isfinite(tl) || t < -1125899906842624.0) tl = 0;
        y[j] = ({T})(exp(t) * (1 + tl) / (1 + sm1));
    }
}
''',
}


def _c_source(act, ident, dtype, header) -> str:
    out = ["/* " + header[0], *(" * " + h if h else " *" for h in header[1:]), " */",
           "#include <math.h>", "#include <stddef.h>", ""]
    body = _C[act.name].replace("{i}", ident)
    out.append(body.replace("{s}", "").replace("{T}", "double"))
    if dtype == "float32":
        out.append(body.replace("{s}", "f").replace("{T}", "float"))
    return "\n".join(out).rstrip() + "\n"


def source(act, target: str, ident: str, dtype: str) -> str:
    """The hand-written source of ``target`` for one of :data:`NAMES`."""
    from symact.codegen.emit import header_lines

    if act.name not in NAMES:
        raise CodegenError(f"no hand-written code for {act.name}")
    notes = ["hand-written for this vector activation (its output changes the axis' length): "
             "symact.codegen.shaped"]
    header = header_lines(act, target, ident, dtype, notes)
    if target in _ARRAY:
        return _array_source(act, target, ident, dtype, header)
    if target == "python":
        return _python_source(act, ident, header)
    if target == "c":
        return _c_source(act, ident, dtype, header)
    raise CodegenError(f"no hand-written {target} code for {act.name}")
