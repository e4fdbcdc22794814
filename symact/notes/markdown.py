"""Reading a note: the file itself (a bounded read of a regular file), its sections, and in each
section its formulas, code blocks and the values its prose gives to symbols.

Nothing here evaluates anything: formulas are kept as text (:mod:`symact.notes.formulas` reads
them), code as text (:mod:`symact.notes.review` parses it with :mod:`ast` and runs it only
through :mod:`symact.notes.sandbox`).
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

import sympy as sp

from symact.errors import SymactError
from symact.parse.common import GREEK, MAX_DECIMAL_EXPONENT, MAX_NUMBER_DIGITS, number, unicode_greek

#: Largest note read, in bytes.
MAX_NOTE_BYTES = 2 * 1024**2
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


class NoteError(SymactError):
    """A note that cannot be read."""


# --------------------------------------------------------------------------- reading
@dataclass
class _Formula:
    text: str
    line: int
    inline: bool = False  # $...$ or \\(...\\) in a sentence


@dataclass
class _Code:
    text: str
    line: int
    index: int  # position among the note's code blocks
    magics: int = 0  # IPython lines (%matplotlib, !pip) left out


@dataclass(frozen=True)
class Definition:
    """A value the prose gives a symbol: "where α = 1.6733", "with $\\lambda \\approx 1.0507$"."""

    key: str          # the symbol, normalized (:func:`symbol_key`)
    value: sp.Rational
    text: str         # as written
    line: int


@dataclass
class Section:
    title: str
    line: int
    formulas: list[_Formula] = field(default_factory=list)
    code: list[_Code] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    prose: list[tuple[int, str]] = field(default_factory=list)  # (line, text) outside code and math fences


def read_note(path) -> str:
    """The note's text: a regular file of at most :data:`MAX_NOTE_BYTES` bytes, in UTF-8.

    Opened without blocking (a FIFO cannot stall it) and checked with ``fstat`` before a
    byte is read: a directory, device (``/dev/zero``), FIFO or socket is refused, and so
    is a file that is, or grows while read, over the limit.
    """
    name = str(path)

    def regular(st) -> None:
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "no regular file")
            raise NoteError(f"cannot read the note {name!r}: it is {kind}, not a regular file")

    try:
        regular(os.stat(name))  # a socket cannot even be opened: say what it is
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise NoteError(f"cannot read the note {name!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        regular(st)  # what was opened, which may have been swapped in since the stat
        too_big = NoteError(f"cannot read the note {name!r}: it is over {MAX_NOTE_BYTES // 1024**2} MiB "
                            f"(the largest note symact reads)")
        if st.st_size > MAX_NOTE_BYTES:
            raise too_big
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, MAX_NOTE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_NOTE_BYTES:
                raise too_big
    except OSError as exc:
        raise NoteError(f"cannot read the note {name!r}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError(f"cannot read the note {name!r}: {exc}") from None




# --------------------------------------------------------------------------- fences
#: The spellings of a Python fence: ```python, ```py, ```python3, ```{python}, ```{.python .input},
#: ```python title="x.py", ```ipython3 (the language is the first word, or the first class in braces).
PYTHON = frozenset({"python", "py", "python3", "py3", "ipython", "ipython3", "python2"})
MATH = frozenset({"math", "latex-math"})
_FENCE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})\s*(.*)$")
_LANG = re.compile(r"[.]?([A-Za-z][\w+-]*)")
#: IPython lines (magics and shell escapes) that are not Python: left out of the code run.
_MAGIC = re.compile(r"^\s*(%|!)")


def fence_language(info: str) -> str:
    """The language of a fence from its info string, lower-cased ('' when none)."""
    info = info.strip()
    if info.startswith("{"):
        info = info[1:].rstrip("}")
    m = _LANG.match(info.strip())
    return m.group(1).lower() if m else ""


def _strip_magics(body: str) -> tuple[str, int]:
    """IPython magics (``%matplotlib inline``) and shell escapes (``!pip``) commented out, line
    numbers kept; how many there were."""
    out, n = [], 0
    for line in body.split("\n"):
        if _MAGIC.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # {line.strip()}")
            n += 1
        else:
            out.append(line)
    return "\n".join(out), n


# --------------------------------------------------------------------------- math in prose
_RELATION = re.compile(r"(?<![<>!\\])=|\\approx\b|\\simeq\b|≈")
#: A left-hand side that names a function of a variable: f(x), \sigma(z), \text{GELU}(x),
#: f'(x), \tanh^2? no: g^{\prime}(z), \frac{d}{dx} f(x), y, y_k, h.
_HEAD_APPLIED = re.compile(
    r"^\s*(?:\\(?:text|mathrm|operatorname|mathit|textrm|mbox)\s*\{[^{}]{1,40}\}|\\?[A-Za-z][\w\\]{0,30}(?:\\_\w+)*)"
    r"\s*(?:\^\s*\{?\s*\\prime\s*\}?|'{1,2}|’)?\s*(?:\\left\s*)?[(]\s*\\?[A-Za-z](?:_\{?\w{1,5}\}?)?\s*(?:\\right\s*)?[)]"
    r"(?:_\{?\w{1,5}\}?)?\s*$")
_HEAD_DERIVATIVE = re.compile(r"^\s*\\[dt]?frac\s*\{\s*(?:d|\\partial)[^{}]*\}\s*\{\s*(?:d|\\partial)\s*[A-Za-z]\s*\}")
_HEAD_LETTER = re.compile(r"^\s*[A-Za-z](?:_\{?\w{1,5}\}?)?\s*$")
_HEAD_PRIME_OF = re.compile(r"^\s*[A-Za-z]\s*\^\s*\{\s*\\prime\s*\(\s*[A-Za-z]\s*\)\s*\}\s*$")


def looks_like_definition(text: str, display: bool) -> bool:
    """Is this math a formula defining a function (``f(x) = ...``, ``\\sigma'(x) = ...``,
    ``\\frac{d}{dx} f(x) = ...``; in display math also ``y = ...`` and a bare expression)?
    Inline math in a sentence (``$x > 0$``, ``$\\sigma(0) = 0.5$``, ``$\\alpha = 0.1$``) is not."""
    m = _RELATION.search(text)
    if m is None:
        return display and not re.search(r"[<>]|\\[lg]eq?\b|\\[lg]t\b|\\in\b|\\to\b|\\forall", text) \
            and re.search(r"\bx\b", text) is not None
    lhs = re.sub(r"\s+", " ", text[: m.start()])  # one space per run: the patterns below stay linear
    if lhs.count("{") != lhs.count("}"):
        return False
    if _HEAD_APPLIED.match(lhs) or _HEAD_DERIVATIVE.match(lhs) or _HEAD_PRIME_OF.match(lhs):
        return True
    return display and bool(_HEAD_LETTER.match(lhs)) and not _is_constant(text[m.end():])


def _is_constant(rhs: str) -> bool:
    return re.fullmatch(r"\s*[-+]?\d+(?:\.\d+)?\s*[.,;]?\s*", rhs) is not None


#: Longest math read from prose: inline math within a sentence, display math within a formula's
#: own bound (:data:`symact.parse.common.MAX_LENGTH`). Longer stretches are text.
MAX_INLINE = 2_000
MAX_DISPLAY = 10_000
_DELIMITERS = (("$$", "$$", True, False), ("\\\\[", "\\\\]", True, True), ("\\[", "\\]", True, False),
               ("\\\\(", "\\\\)", False, True), ("\\(", "\\)", False, False), ("$", "$", False, False))


_CANDIDATE = re.compile(r"[$\\`]")


def _positions(text: str, token: str) -> list[int]:
    out, i = [], text.find(token)
    while i != -1:
        out.append(i)
        i = text.find(token, i + 1)
    return out


def _math_spans(text: str):
    """(start, end, body, display) of the math in a stretch of prose: ``$$...$$``, ``\\[...\\]``,
    ``$...$``, ``\\(...\\)`` and kramdown's ``\\\\(...\\\\)``/``\\\\[...\\\\]``; code spans skipped.
    Inline math stays within a paragraph and :data:`MAX_INLINE` characters, display math within
    :data:`MAX_DISPLAY`; an unclosed delimiter is text. Linear in the text's length: each
    delimiter's positions are found once, and each closer is looked up by bisection."""
    from bisect import bisect_left

    closers = {c: _positions(text, c) for _, c, _, _ in _DELIMITERS}
    ticks = _positions(text, "`")
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "`":
            run = len(text[i:i + 100]) - len(text[i:i + 100].lstrip("`"))
            k = bisect_left(ticks, i + run)
            close = next((t for t in ticks[k:k + 200] if text.startswith("`" * run, t)), -1)
            i = (close + run) if close != -1 else i + run
            continue
        if c not in "$\\":
            m = _CANDIDATE.search(text, i)
            i = m.start() if m else n
            continue
        for opener, closer, display, kramdown in _DELIMITERS:
            if not text.startswith(opener, i):
                continue
            if opener == "$" and i > 0 and text[i - 1] == "\\":
                break
            pos = closers[closer]
            k = bisect_left(pos, i + len(opener))
            j = pos[k] if k < len(pos) else -1
            if j == -1 or j - i > (MAX_DISPLAY if display else MAX_INLINE):
                break
            body = text[i + len(opener):j]
            if (not display and "\n\n" in body) or (opener == "$" and not body.strip()):
                break
            if kramdown:  # Markdown escapes inside kramdown math: \_ is _, \* is *
                body = re.sub(r"\\([_*{}|])", r"\1", body)
            yield i, j + len(closer), body, display
            i = j + len(closer) - 1
            break
        i += 1


# --------------------------------------------------------------------------- definitions in prose
_NUMBER = r"[-+−]?\d{1,%d}(?:[.,]\d{1,%d})?(?:[eE][-+]?\d{1,3})?" % (MAX_NUMBER_DIGITS, MAX_NUMBER_DIGITS)
_DEFINITION = re.compile(
    r"(?<![\w\\])(?P<sym>\\(?:text|mathrm|operatorname|mathit)\s*\{[A-Za-z_\\ ]{1,40}\}|\\[A-Za-z]{2,20}"
    r"|[\u0370-\u03ff\U0001d6a8-\U0001d7c9]|`[A-Za-z_][A-Za-z0-9_]{0,30}`|[A-Za-z_][A-Za-z0-9_]{1,30})"
    r"\s*(?:\$\s*)?(?:=|:=|≈|\\approx|\\simeq|≃)\s*(?:\$\s*)?`?(?P<num>" + _NUMBER + r")(?![\d\w])")
#: Words that name a parameter when written in plain letters ("where alpha = 1.67", "scale = 1.05").
_PARAMETER_WORDS = frozenset({"alpha", "beta", "gamma", "lambda", "lamda", "lmbda", "lamb", "scale", "slope",
                              "negativeslope", "epsilon", "eps", "theta", "threshold", "offset", "h0", "kappa",
                              "tau", "temperature", "mu", "delta", "eta"})


def symbol_key(name: str) -> str:
    """A symbol's name with its spelling normalized: ``\\alpha``, ``α``, ``alpha`` -> ``alpha``;
    ``\\varepsilon`` -> ``epsilon``; ``\\text{negative\\_slope}`` and ``negative_slope`` ->
    ``negativeslope``."""
    name = name.strip().strip("`")
    m = re.fullmatch(r"\\(?:text|mathrm|operatorname|mathit)\s*\{(.*)\}", name)
    if m:
        name = m.group(1)
    if len(name) == 1 and unicode_greek(name):
        name = unicode_greek(name)
    name = name.replace("\\_", "_").lstrip("\\").lower()
    name = re.sub(r"[\s_\\]", "", name)
    if name.startswith("var") and name[3:] in GREEK:
        name = name[3:]
    return {"lamda": "lambda", "lmbda": "lambda", "lamb": "lambda", "eps": "epsilon"}.get(name, name)


def definitions_in(text: str, line: int) -> list[Definition]:
    """The values this stretch of prose (starting at ``line``) gives symbols. A symbol is a Greek
    letter (``α``, ``\\alpha``), a named constant (``\\text{scale}``, `` `alpha` ``) or a
    parameter word (``alpha``, ``scale``); single Latin letters are not (``x = 0`` is a point).
    The number is read exactly (:func:`symact.parse.common.number`, at most
    :data:`~symact.parse.common.MAX_NUMBER_DIGITS` digits, exponent within
    :data:`~symact.parse.common.MAX_DECIMAL_EXPONENT`)."""
    out = []
    for m in _DEFINITION.finditer(text):
        sym, num = m.group("sym"), m.group("num")
        key = symbol_key(sym)
        plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sym) is not None
        if key in ("", "x") or (sym.startswith("\\") and not sym.startswith(("\\text", "\\mathrm", "\\operatorname",
                                                                                 "\\mathit")) and key not in GREEK):
            continue
        if plain and key not in _PARAMETER_WORDS:
            continue
        num = num.replace("−", "-").replace(",", ".")
        mant, _, exp = num.lower().partition("e")
        if exp and abs(int(exp)) > MAX_DECIMAL_EXPONENT:
            continue
        value = number(mant) * (sp.Integer(10) ** int(exp) if exp else 1)
        out.append(Definition(key, value, m.group(0).strip(), line + text.count("\n", 0, m.start())))
    return out


#: "σ denotes tanh", "where \sigma is the hyperbolic tangent", "σ désigne la fonction tanh".
_SIGMA_IS = re.compile(
    r"(?:σ|\\sigma)\s*(?:\$\s*)?(?:\\?\)\s*)?(?:denotes|stands\s+for|is|désigne|est|représente)\s+"
    r"(?:the\s+|la\s+|le\s+|une?\s+)?(?:function\s+|fonction\s+)?\$?\\?(?:operatorname\{|mathrm\{|text\{)?"
    r"(?P<name>[A-Za-z][A-Za-z0-9_ -]{1,30}?)\}?\$?(?=[\s.,;:)]|$)")
_HYPERBOLIC = {"hyperbolic tangent": "tanh", "tangente hyperbolique": "tanh"}


def sigma_meaning(text: str) -> str | None:
    """The catalog name σ denotes in this prose ("σ denotes tanh"), or None (σ is the sigmoid)."""
    from symact.parse.common import catalog_name

    low = text.lower()
    for words, name in _HYPERBOLIC.items():
        if re.search(r"(?:σ|\\sigma)\s*(?:\$\s*)?(?:denotes|stands for|is|désigne|est)\s+(?:the\s+|la\s+)?" + words, low):
            return name
    for m in _SIGMA_IS.finditer(text):
        name = catalog_name(m.group("name").strip())
        if name is not None:
            return name
    return None


# --------------------------------------------------------------------------- sections
def split_sections(text: str) -> list[Section]:
    """Sections (by heading) with their formulas, code blocks and prose definitions, in order.

    Formulas: ```` ```math ```` fences, display math (``$$...$$``, ``\\[...\\]``) that defines a
    function or is an expression of x, and inline math (``$...$``, ``\\(...\\)``) that defines a
    function (:func:`looks_like_definition`). Code: Python fences of any spelling
    (:data:`PYTHON`), IPython magics commented out.
    """
    sections = [Section("(top)", 1)]
    lines = text.splitlines()
    i, n_code = 0, 0
    prose: list[tuple[int, str]] = []

    def flush():
        if prose:
            _read_prose(sections[-1], prose[0][0], "\n".join(t for _, t in prose))
            prose.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            marker, lang = fence.group(2), fence_language(fence.group(3))
            j = i + 1
            while j < len(lines) and not (lines[j].strip().startswith(marker[0] * len(marker))
                                          and not lines[j].strip().strip(marker[0])):
                j += 1
            body = "\n".join(lines[i + 1:j])
            flush()
            if lang in MATH:
                sections[-1].formulas.append(_Formula(body.strip(), i + 2))
            elif lang in PYTHON:
                code, magics = _strip_magics(body)
                sections[-1].code.append(_Code(code, i + 2, n_code, magics))
                n_code += 1
            i = j + 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            sections.append(Section(heading.group(2), i + 1))
            i += 1
            continue
        prose.append((i + 1, line))
        i += 1
    flush()
    return [s for s in sections if s.formulas or s.code or s.definitions or s.prose]


def _read_prose(sec: Section, line: int, text: str) -> None:
    sec.prose.append((line, text))
    sec.definitions += definitions_in(text, line)
    for start, _end, body, display in _math_spans(text):
        body = body.strip()
        if body and looks_like_definition(body, display):
            sec.formulas.append(_Formula(body, line + text.count("\n", 0, start), inline=not display))


def functions_in(code: str) -> list[str]:
    """The names of the functions a block defines at its top level (:mod:`ast`; nothing runs)."""
    import ast

    tree = ast.parse(code)
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
