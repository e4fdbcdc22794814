r"""The TeX tokenizer of the LaTeX reader (:mod:`symact.parse.latex`).

:func:`_tokenize` turns formula text into Lark tokens for the grammar
``_grammar/latex.lark``, by hand rather than with a context-free lexer,
because it resolves what such a lexer cannot: the single-token arguments of
``^ _ \frac \sqrt`` (TeX's rule: ``x^23`` is x²3, so it is refused), which
``|`` opens and which closes an absolute value, ``\left``/``\right`` sizing,
``\text{...}`` keywords (``if``, ``otherwise``, ``and``...), environments
(``cases``, ``array``), spacing and ``%`` comments (dropped), Unicode
operators and Greek letters (:data:`~symact.parse.common.UNICODE_OPERATORS`,
``π ∞ ∑ ∈ ℝ``, mathematical italic letters such as ``𝑥``), superscript and
subscript digits (``x²`` is ``x^{2}``, ``x⁻¹`` is ``x^{-1}``, ``x₂`` is ``x_{2}``;
any other non-ASCII digit or letter is refused, named with its code point),
and ``$..$``/``\[..\]`` delimiters.  Every
command must be on a fixed whitelist: TeX commands such as ``\input``,
``\def`` or ``\newcommand`` are refused with a
:class:`~symact.errors.ParseError` and nothing runs.  Groups deeper than
:data:`~symact.parse.common.MAX_DEPTH` are refused here too.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from lark import Token

from symact.errors import ParseError
from symact.parse.common import (
    DIGITS,
    FUNCTIONS,
    GREEK,
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    SUBSCRIPTS,
    SUPERSCRIPTS,
    UNICODE_OPERATORS,
    _line_col,
    budget_error,
    catalog_name,
    math_letter,
    parse_error,
    suggest,
    unexpected_char,
    unicode_greek,
    user_function,
)

_MAX_NUMBER_DIGITS = MAX_NUMBER_DIGITS


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------
_FUNC_COMMANDS = frozenset(
    "exp ln log tanh sinh cosh sin cos tan arctan max min sgn erf erfc coth sech csch "
    "arcsinh arctanh".split()
)
_IGNORED_COMMANDS = frozenset(
    [",", ";", ":", "!", " ", ">", "quad", "qquad", "displaystyle", "textstyle",
     "scriptstyle", "limits", "nolimits"]
)
_REL_COMMANDS = {
    "geq": ">=", "ge": ">=", "geqslant": ">=", "leq": "<=", "le": "<=",
    "leqslant": "<=", "lt": "<", "gt": ">", "neq": "!=", "ne": "!=",
}
_SIZE_COMMANDS = {
    "left": "l", "right": "r", "bigl": "l", "bigr": "r", "Bigl": "l",
    "Bigr": "r", "biggl": "l", "biggr": "r", "Biggl": "l", "Biggr": "r",
    "big": None, "Big": None, "bigg": None, "Bigg": None,
}
_NAME_COMMANDS = frozenset(
    "operatorname mathrm text textrm mathit mathsf textit textnormal mbox".split()
)
_TEXT_COMMANDS = frozenset("text textrm textit textnormal mbox".split())
_BOLD_COMMANDS = frozenset("mathbf boldsymbol bm vec".split())
_TEXT_KEYWORDS = {
    "if": "_IF", "for": "_IF", "when": "_IF", "otherwise": "_OTHERWISE",
    "else": "_OTHERWISE", "and": "_AND", "or": "_OR",
    # the same words in the other languages of published notes (French, German,
    # Spanish, Chinese): prose that says how the condition reads
    "si": "_IF", "pour": "_IF", "quand": "_IF", "lorsque": "_IF", "sinon": "_OTHERWISE",
    "autrement": "_OTHERWISE", "et": "_AND", "ou": "_OR", "falls": "_IF", "wenn": "_IF",
    "sonst": "_OTHERWISE", "für": "_IF", "und": "_AND", "oder": "_OR", "cuando": "_IF",
    "para": "_IF", "en otro caso": "_OTHERWISE", "de lo contrario": "_OTHERWISE",
    "si no": "_OTHERWISE", "y": "_AND", "o": "_OR",
    "else if": "_IF", "otherwise if": "_IF", "if and only if": "_IF", "for all": "_IF",
    "如果": "_IF", "若": "_IF", "当": "_IF", "其他": "_OTHERWISE", "其它": "_OTHERWISE",
    "否则": "_OTHERWISE", "其他情况": "_OTHERWISE", "且": "_AND", "或": "_OR",
}
#: Words that start trailing prose at the top level (``, \text{where } ...``): the rest
#: of the formula is dropped and recorded in the notes.
_PROSE_STARTS = ("where", "with", "here", "and where", "où", "avec", "其中", "wobei", "donde")
#: Environments read as if they were not there (a Sphinx ``split``, Wikipedia's
#: ``aligned`` around one formula): their ``&`` and ``\\`` are dropped.
_TRANSPARENT_ENVS = frozenset(
    "split aligned align align* equation equation* gather gather* gathered displaymath "
    "math multline multline*".split())
#: Environments read as piecewise rows after ``\left\{`` (like ``array``).
_ROW_ENVS = frozenset("array matrix smallmatrix".split())
_HOSTILE = frozenset(
    "input include def edef gdef xdef newcommand renewcommand providecommand "
    "let write immediate openin openout read catcode csname usepackage "
    "documentclass special loop expandafter newenvironment renewenvironment "
    "includegraphics url href".split()
)
_SIMPLE_COMMANDS = {
    "cdot": ("MUL", "*"), "times": ("MUL", "*"), "ast": ("MUL", "*"),
    "div": ("DIV", "/"), "prime": ("PRIME", "'"), "in": ("_IN", "in"),
    "sum": ("SUM", "sum"), "infty": ("CONST", "oo"), "pi": ("CONST", "pi"),
    "approx": ("APPROX", "approx"), "simeq": ("APPROX", "approx"),
}
_TEXT_MATH_RE = re.compile(r"\s*\{([^{}$\\]*)\$")
_TEXT_MATH_END_RE = re.compile(r"[^{}$\\]*\}")
#: What may follow a bare function name written without parentheses (exp x, log 2x).
_OPERAND_FOLLOWS_RE = re.compile(
    r"\s*(?:[A-Za-z0-9.{|]|\\(?!over(?![A-Za-z])|right(?![A-Za-z])|end(?![A-Za-z])|cdot"
    r"(?![A-Za-z])|times(?![A-Za-z])|approx(?![A-Za-z])|\\)[A-Za-z{|])")
#: What ends a name in the head: \over, }, =, \approx.
_HEAD_WORD_END_RE = re.compile(r"\s*(?:\\over(?![A-Za-z])|\}|=|\\approx(?![A-Za-z]))")
_HEAD_EQUAL_RE = re.compile(r"\s*(?:=|\\approx(?![A-Za-z])|\u2248)")
_ROW_SKIP_RE = re.compile(r"\s*\[\s*-?[0-9.]+\s*(?:ex|em|pt|mm|cm|in|mu|bp)\s*\]")
_FONT_SWITCHES = frozenset("rm it bf sf tt mit cal".split())
_FRAC_COMMANDS = frozenset(["frac", "dfrac", "tfrac", "cfrac"])
_KNOWN_COMMANDS = sorted(
    set(GREEK) | _FONT_SWITCHES | {"over", "approx", "simeq", "cr", "mathbf", "partial"} | _FUNC_COMMANDS | set(_REL_COMMANDS) | set(_SIZE_COMMANDS)
    | _NAME_COMMANDS | _BOLD_COMMANDS | set(_SIMPLE_COMMANDS) | _FRAC_COMMANDS
    | {"sqrt", "begin", "end", "mathbb", "lvert", "rvert", "vert", "lbrace",
       "rbrace", "lbrack", "rbrack", "quad", "qquad", "displaystyle", "limits"}
)
_KNOWN_SHOWN = ["\\" + c for c in _KNOWN_COMMANDS]
_CHAR_TOKENS = {
    "+": ("ADD", "+"), "-": ("SUB", "-"), "*": ("MUL", "*"), "/": ("DIV", "/"),
    "=": ("EQUAL", "="), ",": ("_COMMA", ","), "&": ("_AMP", "&"),
    "'": ("PRIME", "'"),
}
_ASCII_TOKENS = {"-": ("SUB", "-"), "*": ("MUL", "*"), "/": ("DIV", "/"), "<=": ("REL", "<="),
                 ">=": ("REL", ">="), "!=": ("REL", "!=")}
_UNICODE_TOKENS = {c: _ASCII_TOKENS[v] for c, v in UNICODE_OPERATORS.items()}
_UNICODE_TOKENS.update({
    "\u221e": ("CONST", "oo"), "\u03c0": ("CONST", "pi"), "\u2211": ("SUM", "sum"),
    "\u2208": ("_IN", "in"), "\u211d": ("_SET", "R"),
    "\u2248": ("APPROX", "approx"), "\u2243": ("APPROX", "approx"),
    "\u2019": ("PRIME", "'"), "\u2032": ("PRIME", "'"),
})
_OPENERS = {"(": "_LPAR", "[": "_LBRACK", "{": "_LBRACE"}
_CLOSERS = {")": ("(", "_RPAR"), "]": ("[", "_RBRACK"), "}": ("{", "_RBRACE")}
_ENDS_OPERAND = frozenset(
    ["NUMBER", "LETTER", "GREEK", "CONST", "PRIME", "_RPAR", "_RBRACK",
     "_RBRACE", "_RBRACELIT", "_RVERT", "_END_CASES", "_END_ARRAY"]
)
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_COMMAND_RE = re.compile(r"\\([A-Za-z]+|.)", re.S)
_BRACED_RE = re.compile(r"\s*\{([^{}\\$]*)\}")
_ENV_RE = re.compile(r"\s*\{\s*([A-Za-z]+\*?)\s*\}")
_COLSPEC_RE = re.compile(r"\s*\{[A-Za-z|@.\s]*\}")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_BRACED_ANY_RE = re.compile(r"\s*\{(?:[^{}$]|\{[^{}$]*\})*\}")
#: The content of \text{..}, \mathrm{..}, \operatorname{..}: no groups; \_ and
#: spacing commands are the only commands allowed inside.
_NAME_BRACED_RE = re.compile(r"\s*\{((?:[^{}\\$]|\\[_ ,;:!~]|\\text\{-\})*)\}")
#: A run of ASCII letters (a bare word such as exp, GELU, alpha), with trailing digits
#: (ReLU6) or a digit group inside (log1p, expm1).
_DOT_PRODUCT_RE = re.compile(r" +[A-Za-z0-9(]")
_WORD_RE = re.compile(r"[A-Za-z]+(?:[0-9]+[A-Za-z]*)?")
_LETTERS_RE = re.compile(r"[A-Za-z]+")
#: What follows a name applied to an argument: a group, a prime, a power.
_APPLIED_RE = re.compile(
    r"\s*(?:\\[,;!: ]\s*)*(?:[(\['^]|\u2019|\\left(?![A-Za-z])|\\[bB]igg?[lr]?(?![A-Za-z])"
    r"|\\\{|\\lbrace(?![A-Za-z]))")


def _is_word_name(word: str) -> bool:
    """Whether a bare run of letters is one name (``scale``, ``input``, ``weight``) rather
    than a product of letters (``xy``, ``xxxx``): four to 24 letters, at least three
    different ones, a vowel among them."""
    return (4 <= len(word) <= 24 and len(set(word)) >= 3
            and any(v in word.lower() for v in "aeiou"))


@dataclass
class _Frame:
    """Arguments still owed to ^, _, \\frac or \\sqrt at a nesting depth."""

    cmd: str
    pos: int
    depth: int
    remaining: int
    optional_done: bool = True


def _strip_math_delimiters(text: str) -> tuple[int, int]:
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    for left, right in (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)")):
        if (end - start >= len(left) + len(right) and text.startswith(left, start)
                and text.endswith(right, 0, end)):
            return start + len(left), end - len(right)
    return start, end


class _Tokenizer:
    def __init__(self, text: str, start: int, end: int, functions=None):
        self.text = text
        self.functions = functions
        self.notes: list[str] = []
        self.seen_equal = False          # a top-level = or \approx was emitted
        self.arg_braces: set[int] = set()  # positions of '{' that are ^ _ \frac \sqrt arguments
        self.brace_index: dict[int, int] = {}  # position of an open '{' -> its token index
        self.rows: list[dict] = []       # per open piecewise environment: the current row
        self.text_math = False           # inside the $...$ of \text{if $x > 0$}
        self.head_words: set[str] = set()  # bare names read in the head (Sig in dSig/dx)
        self.word_head = False           # the head is a bare word (dst = ...): short words are names
        self.i = start
        self.end = end
        self.toks: list[Token] = []
        self.stack: list[tuple[str, int]] = []
        self.frames: list[_Frame] = []
        self.last_number_free = False
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    # -- helpers -----------------------------------------------------------
    def error(self, message: str, pos: int) -> ParseError:
        return parse_error(message, self.text, pos)

    def emit(self, type_: str, value: str, start: int, stop: int) -> None:
        if type_ in ("EQUAL", "APPROX") and not self.stack:
            self.seen_equal = True
        line = bisect.bisect_left(self._newlines, start) + 1
        col = start - (self._newlines[line - 2] + 1 if line > 1 else 0) + 1
        self.toks.append(Token(type_, value, start, line, col, line, col + stop - start, stop))

    def last_type(self) -> str | None:
        return self.toks[-1].type if self.toks else None

    def push(self, kind: str, pos: int) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise budget_error(f"the formula is nested more than {MAX_DEPTH} levels deep "
                               f"(groups and environments); symact reads at most {MAX_DEPTH}",
                               self.text, pos)
        self.stack.append((kind, pos))

    def pop(self, kind: str, pos: int, shown: str) -> None:
        if not self.stack:
            raise self.error(f"'{shown}' closes nothing: no group is open here", pos)
        top, opened = self.stack[-1]
        if top != kind:
            what = {"(": "(", "[": "[", "{": "{", "\\{": "\\{", "|": "|"}.get(top, f"\\begin{{{top[4:]}}}")
            line, col = _line_col(self.text, opened)
            raise self.error(
                f"'{shown}' does not match the '{what}' opened at line {line}, column {col}", pos)
        self.stack.pop()

    def arg_slot(self) -> _Frame | None:
        depth = len(self.stack)
        frames = self.frames
        while frames and (frames[-1].depth > depth
                          or (frames[-1].depth == depth and frames[-1].remaining == 0)):
            frames.pop()
        if frames and frames[-1].depth == depth:
            return frames[-1]
        return None

    def skip_space(self) -> None:
        while self.i < self.end and self.text[self.i].isspace():
            self.i += 1

    def braced(self, cmd: str, pos: int) -> tuple[str, int]:
        m = _BRACED_RE.match(self.text, self.i, self.end)
        if not m:
            raise self.error(f"\\{cmd} must be followed by a simple braced name such as \\{cmd}{{erf}}", pos)
        self.i = m.end()
        return m.group(1), m.start(1)

    # -- main loop -----------------------------------------------------------
    def run(self) -> list[Token]:
        text = self.text
        while True:
            self.skip_space()
            if self.i >= self.end:
                break
            c = text[self.i]
            if c == "%":  # TeX comment
                nl = text.find("\n", self.i, self.end)
                self.i = self.end if nl < 0 else nl + 1
                continue
            if c == "\\":
                m = _COMMAND_RE.match(text, self.i, self.end)
                if m is None:
                    raise self.error("a lone backslash ends the formula", self.i)
                name = m.group(1)
                if name in _IGNORED_COMMANDS:
                    self.i = m.end()
                    continue
                if name in _SIZE_COMMANDS:
                    self.i = m.end()
                    self.sized_delimiter(name, m.start())
                    continue
            self.token()
        if self.stack:
            kind, pos = self.stack[-1]
            shown = {"(": "(", "[": "[", "{": "{", "\\{": "\\{", "|": "|"}.get(kind, f"\\begin{{{kind[4:]}}}")
            raise self.error(f"'{shown}' is never closed", pos)
        for frame in self.frames:
            if frame.remaining > 0 and frame.depth == 0:
                raise self.error(f"'{frame.cmd}' is missing an argument", frame.pos)
        return self.toks

    def sized_delimiter(self, name: str, pos: int) -> None:
        side = _SIZE_COMMANDS[name]
        self.skip_space()
        text = self.text
        if self.i >= self.end:
            raise self.error(f"\\{name} must be followed by a delimiter", pos)
        c = text[self.i]
        if c == ".":
            if side is None:
                raise self.error(f"\\{name}. is not a delimiter", pos)
            self.i += 1
            return
        if side == "l" and text.startswith("\\begin", self.i):
            # \left\begin{array}: the brace of a piecewise definition was lost in publishing
            self.push("\\{", pos)
            self.emit("_LBRACELIT", "\\{", pos, self.i)
            return
        if c in "()[]|" or c == "\\":
            if c == "\\":
                m = _COMMAND_RE.match(text, self.i, self.end)
                if m is None or m.group(1) not in ("{", "}", "lbrace", "rbrace", "lvert",
                                                    "rvert", "vert", "lbrack", "rbrack"):
                    raise self.error(f"\\{name} must be followed by a delimiter such as ( [ | \\{{", self.i)
            self.token(side=side)
            return
        raise self.error(f"\\{name} must be followed by a delimiter such as ( [ | \\{{", self.i)

    def token(self, side: str | None = None) -> None:
        text = self.text
        start = self.i
        c = text[start]
        frame = self.arg_slot()
        if c in SUPERSCRIPTS or c in SUBSCRIPTS:
            self.unicode_script(frame)
            return
        if frame is not None:
            if frame.cmd == "\\sqrt" and not frame.optional_done and c == "[":
                frame.optional_done = True
            else:
                frame.optional_done = True
                frame.remaining -= 1
        is_arg = frame is not None and c != "["
        was_number_free = self.last_number_free
        self.last_number_free = False

        if c in DIGITS or (c == "." and start + 1 < self.end and text[start + 1] in DIGITS):
            if is_arg:
                stop = start + 1
                if c == "." or (frame.remaining == 0 and stop < self.end
                                and (text[stop] in DIGITS or (
                                    text[stop] == "." and stop + 1 < self.end
                                    and text[stop + 1] in DIGITS))):
                    raise self.error(
                        f"TeX takes a single character after {frame.cmd}; put the whole number in "
                        f"braces, e.g. {frame.cmd}{{{_NUMBER_RE.match(text, start).group()}}}", start)
                self.emit("NUMBER", c, start, stop)
                self.i = stop
                return
            m = _NUMBER_RE.match(text, start, self.end)
            if len(m.group()) > _MAX_NUMBER_DIGITS:
                raise budget_error(f"number longer than {_MAX_NUMBER_DIGITS} digits (it has "
                                   f"{len(m.group())}); symact reads numbers of at most "
                                   f"{_MAX_NUMBER_DIGITS} digits", self.text, start)
            if was_number_free and self.last_type() == "NUMBER":
                raise self.error("two numbers side by side (typeset, '2 3' reads as 23); "
                                 "write \\cdot between them", start)
            self.emit("NUMBER", m.group(), start, m.end())
            self.i = m.end()
            self.last_number_free = True
            return
        if c.isascii() and c.isalpha():
            if not is_arg:
                self.word(start)
                return
            self.emit("LETTER", c, start, start + 1)
            self.i = start + 1
            return
        if c == "\\":
            self.command(side)
            return
        if c in "([" and self.last_type() == "_IN" and self.rows:
            self.push("iv", start)  # an interval: (a, b], [a, b)
            self.emit(_OPENERS[c], c, start, start + 1)
            self.i = start + 1
            return
        if c in ")]" and self.stack and self.stack[-1][0] == "iv":
            self.stack.pop()
            self.emit(_CLOSERS[c][1], c, start, start + 1)
            self.i = start + 1
            return
        if c in _OPENERS:
            self.push(c, start)
            if c == "{" and is_arg:
                self.arg_braces.add(start)
            self.brace_index[start] = len(self.toks)
            self.emit(_OPENERS[c], c, start, start + 1)
            self.i = start + 1
            return
        if c in _CLOSERS:
            kind, type_ = _CLOSERS[c]
            opened = self.stack[-1][1] if self.stack else None
            self.pop(kind, start, c)
            self.i = start + 1
            if c == "}" and self.drop_braces(opened):
                return
            self.emit(type_, c, start, start + 1)
            return
        if c == ";" and self.rows and self.stack and self.stack[-1][0].startswith("env:"):
            self.emit("_COMMA", ",", start, start + 1)  # x \geq 0; \cr
            self.i = start + 1
            return
        if c == "|":
            self.i = start + 1
            self.vert(side, start, self.i)
            return
        if c in "^_":
            self.emit("_SUPER" if c == "^" else "_SUBSCR", c, start, start + 1)
            self.i = start + 1
            self.frames.append(_Frame(c, start, len(self.stack), 1))
            return
        if c in "<>":
            if start + 1 < self.end and text[start + 1] == "=":
                self.emit("REL", c + "=", start, start + 2)
                self.i = start + 2
            else:
                self.emit("REL", c, start, start + 1)
                self.i = start + 1
            return
        if c == "." and ((
                self.last_type() in ("NUMBER", "LETTER", "GREEK", "_RPAR")
                and _DOT_PRODUCT_RE.match(text, start + 1, self.end) and start > 0
                and text[start - 1] == " ") or (
                self.last_type() == "NUMBER" and text[start - 1] in DIGITS
                and start + 1 < self.end and text[start + 1].isascii()
                and text[start + 1].isalpha())):
            # "1 . x", "0.x": a period between two operands, written for a product
            self.emit("MUL", "*", start, start + 1)
            self.i = start + 1
            self.notes.append(f"read the period at column {start + 1} as a product "
                              "(as in '1 . x' or '0.x')")
            return
        if c == ".":
            self.emit("_PERIOD", c, start, start + 1)
            self.i = start + 1
            return
        if c == "&":
            self.i = start + 1
            self.ampersand(start)
            return
        if c == "," and self.rows and self.rows[-1]["depth"] == len(self.stack):
            row = self.rows[-1]
            if self.last_type() == "_AMP":
                self.i = start + 1  # "x & , & x \ge 0": the comma of an {cll} array
                return
            if not row["amp"] and self.last_type() in _ENDS_OPERAND:
                row["amp"] = True  # a row without &: "0, x \leq 0" (the comma ends the value)
                self.emit("_AMP", ",", start, start + 1)
                self.i = start + 1
                return
        if c in _CHAR_TOKENS:
            type_, value = _CHAR_TOKENS[c]
            self.emit(type_, value, start, start + 1)
            self.i = start + 1
            return
        if c in _UNICODE_TOKENS:
            type_, value = _UNICODE_TOKENS[c]
            self.emit(type_, value, start, start + 1)
            self.i = start + 1
            return
        greek = unicode_greek(c)
        if greek is not None:
            if greek == "pi":
                self.emit("CONST", "pi", start, start + 1)
            else:
                self.emit("GREEK", greek, start, start + 1)
            self.i = start + 1
            return
        letter = math_letter(c)
        if letter is not None:
            self.emit("LETTER", letter, start, start + 1)
            self.i = start + 1
            return
        if c == "$" and self.text_math:
            m = _TEXT_MATH_END_RE.match(text, start + 1, self.end)
            if m is None:
                raise self.error("the math inside \\text{...$...$...} must end with $ and the "
                                 "text with }", start)
            self.text_math = False
            self.i = m.end()  # words after the math: the condition's wording
            return
        if c == "$":
            raise self.error("'$' may only wrap the whole formula", start)
        if c == "!":
            raise self.error("factorials ('!') are not supported", start)
        raise self.error(unexpected_char(c), start)

    def unicode_script(self, frame: _Frame | None) -> None:
        """``x²``, ``x⁻¹`` as ``x^{2}``, ``x^{-1}``; ``x₂`` as ``x_{2}``."""
        text = self.text
        start = self.i
        sup = text[start] in SUPERSCRIPTS
        table = SUPERSCRIPTS if sup else SUBSCRIPTS
        stop = start
        while stop < self.end and text[stop] in table:
            stop += 1
        run = "".join(table[ch] for ch in text[start:stop])
        kind = "superscript" if sup else "subscript"
        if frame is not None:
            raise self.error(f"a {kind} character cannot be the argument of {frame.cmd}; write "
                             f"{frame.cmd}{{...}}", start)
        if self.last_type() not in _ENDS_OPERAND:
            raise self.error(f"a {kind} ({text[start:stop]}) must follow what it applies to, "
                             "as in x\u00b2 or x\u2082", start)
        sign, digits = (run[0], run[1:]) if run[0] in "+-" else ("", run)
        if not digits or not digits.isdigit():
            raise self.error(f"cannot read the {kind} {text[start:stop]!r}: expected digits "
                             "after at most one sign, as in x\u207b\u00b9", start)
        if len(digits) > _MAX_NUMBER_DIGITS:
            raise budget_error(f"{kind} number longer than {_MAX_NUMBER_DIGITS} digits",
                               self.text, start)
        self.emit("_SUPER" if sup else "_SUBSCR", "^" if sup else "_", start, start + 1)
        self.emit("_LBRACE", "{", start, start + 1)
        if sign:
            self.emit("SUB" if sign == "-" else "ADD", sign, start, start + 1)
        self.emit("NUMBER", digits, start + len(sign), stop)
        self.emit("_RBRACE", "}", stop - 1, stop)
        self.i = stop
        self.last_number_free = False

    def vert(self, side: str | None, start: int, stop: int) -> None:
        top_abs = bool(self.stack) and self.stack[-1][0] == "|"
        if side == "l" or (side is None and not (top_abs and self.last_type() in _ENDS_OPERAND)):
            self.push("|", start)
            self.emit("_LVERT", "|", start, stop)
        else:
            self.pop("|", start, "|")
            self.emit("_RVERT", "|", start, stop)

    def command(self, side: str | None) -> None:
        text = self.text
        start = self.i
        m = _COMMAND_RE.match(text, start, self.end)
        name = m.group(1)
        self.i = m.end()
        if name in ("\\", "cr"):
            self.row_separator(start)
        elif name in GREEK:
            self.emit("GREEK", name, start, self.i)
        elif name in _SIMPLE_COMMANDS:
            type_, value = _SIMPLE_COMMANDS[name]
            self.emit(type_, value, start, self.i)
        elif name in _FUNC_COMMANDS:
            self.emit("FUNC", name, start, self.i)
        elif name in _REL_COMMANDS:
            self.emit("REL", _REL_COMMANDS[name], start, self.i)
        elif name in _FRAC_COMMANDS:
            self.emit("FRAC", name, start, self.i)
            self.frames.append(_Frame(f"\\{name}", start, len(self.stack), 2))
        elif name == "sqrt":
            self.emit("SQRT", name, start, self.i)
            self.frames.append(_Frame("\\sqrt", start, len(self.stack), 1, optional_done=False))
        elif name in ("{", "lbrace"):
            self.push("\\{", start)
            self.emit("_LBRACELIT", "\\{", start, self.i)
        elif name in ("}", "rbrace"):
            self.pop("\\{", start, "\\}")
            self.emit("_RBRACELIT", "\\}", start, self.i)
        elif name == "lbrack":
            self.push("[", start)
            self.emit("_LBRACK", "[", start, self.i)
        elif name == "rbrack":
            self.pop("[", start, "]")
            self.emit("_RBRACK", "]", start, self.i)
        elif name in ("lvert", "rvert", "vert"):
            forced = {"lvert": "l", "rvert": "r"}.get(name, side)
            top_abs = bool(self.stack) and self.stack[-1][0] == "|"
            ends = self.last_type() in _ENDS_OPERAND
            if side is None and ((name == "rvert" and not top_abs and not ends)
                                 or (name == "lvert" and top_abs and ends)):
                # \rvert x\lvert: the bars were written reversed; still an absolute value
                forced = None
                if "read the reversed bars \\rvert ... \\lvert as an absolute value" not in self.notes:
                    self.notes.append("read the reversed bars \\rvert ... \\lvert as an absolute value")
            self.vert(forced, start, self.i)
        elif name in _NAME_COMMANDS:
            self.name_command(name, start)
        elif name in _BOLD_COMMANDS:
            self.bold_command(name, start)
        elif name == "mathbb":
            content, cpos = self.braced(name, start)
            if content.strip() in ("1", "I"):
                self.emit("INDICATOR", "1", start, self.i)  # \mathbb{1}_{x > 0}
                return
            if content.strip() != "R":
                raise self.error("only \\mathbb{R} (the real line) is supported", cpos)
            self.emit("_SET", "R", start, self.i)
        elif name == "begin":
            self.begin_env(start)
        elif name == "end":
            self.end_env(start)
        elif name == "over":
            self.over(start)
        elif name == "partial":  # \frac{\partial y}{\partial x}: the d of a derivative
            self.emit("LETTER", "d", start, self.i)
            m = re.compile(r"\s*\{\s*([A-Za-z])\s*\}").match(self.text, self.i, self.end)
            if m is not None:
                self.emit("LETTER", m.group(1), m.start(1), m.end(1))
                self.i = m.end()
        elif name in _FONT_SWITCHES:  # {\rm ReLU}: the old font switch before a name
            m = re.compile(r"\s*\{\s*([A-Za-z]+(?:\\_[A-Za-z0-9]+)*)\s*\}").match(
                self.text, self.i, self.end) or re.compile(
                r"\s*([A-Za-z]+(?:\\_[A-Za-z0-9]+)*)").match(self.text, self.i, self.end)
            if m is None:
                raise self.error(f"\\{name} must be followed by a name, as in {{\\{name} ReLU}}",
                                 start)
            self.name_word(m.group(1).replace("\\_", "_"), "mathrm", start, m.end())
        elif name in _HOSTILE:
            raise self.error(f"\\{name} is a TeX programming command, not part of a formula; "
                             "it is refused (nothing is run)", start)
        elif name in _SIZE_COMMANDS or name in _IGNORED_COMMANDS:  # pragma: no cover
            raise self.error(f"misplaced \\{name}", start)
        elif name == "|":
            raise self.error("norms ('\\|') are not supported", start)
        elif name == "_" and self.last_type() in ("LETTER", "GREEK", "_RBRACE"):
            # w\_1: Markdown-escaped subscript (the source escaped '_' for Markdown)
            self.emit("_SUBSCR", "_", start, self.i)
            self.frames.append(_Frame("_", start, len(self.stack), 1))
        elif not (name.isascii() and name.isalpha()):
            raise self.error(f"'\\{name}' is not supported", start)
        else:
            hint = suggest("\\" + name, _KNOWN_SHOWN)
            raise self.error(f"unknown command \\{name}{hint}", start)

    def applied(self) -> bool:
        """Whether an argument (a group, a prime, a power) follows at ``self.i``, also
        after the closing brace of ``{ReLU}(x)``."""
        if _APPLIED_RE.match(self.text, self.i, self.end) is not None:
            return True
        m = re.compile(r"\s*\}").match(self.text, self.i, self.end)
        if m is not None and self.stack and self.stack[-1][0] == "{" \
                and self.brace_index.get(self.stack[-1][1]) == len(self.toks) - 1:
            return _APPLIED_RE.match(self.text, m.end(), self.end) is not None
        return False

    def is_function(self, word: str, explicit: bool = False) -> bool:
        """Whether ``word`` names a function here: a builtin, a user definition, or
        (applied to an argument) a catalog entry or, in the head, any name."""
        key = word.lower()
        if key in FUNCTIONS or key in _FUNC_COMMANDS or user_function(self.functions, word):
            return True
        if not self.applied():
            return False
        if explicit or catalog_name(word) is not None:
            return True
        return not self.seen_equal and not self.stack and self.head_follows()

    def head_follows(self) -> bool:
        """Whether ``name(...)`` at ``self.i`` is followed by a top-level = or \\approx
        (so that it is a head such as ``PReLU(x) =``)."""
        m = re.compile(r"\s*(?:\\left\s*)?\(").match(self.text, self.i, self.end)
        if m is None:
            return False
        depth, k = 1, m.end()
        text = self.text
        stop = min(self.end, k + 200)
        while k < stop and depth:
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            k += 1
        rest = text[k:min(self.end, k + 40)].lstrip()
        rest = re.sub(r"^(?:_\{?\w\}?|'|\u2019|\\right\s*\)?)*\s*", "", rest)
        return rest.startswith(("=", "\\approx", "\u2248", "\\simeq"))

    def in_condition(self) -> bool:
        """Whether the tokenizer is in a piecewise row's condition (after its ``&``)."""
        return bool(self.rows) and self.rows[-1]["amp"] and self.stack[-1][0].startswith("env:") \
            and self.rows[-1]["depth"] == len(self.stack)

    def name_command(self, name: str, start: int) -> None:
        if name in _TEXT_COMMANDS:
            m = _TEXT_MATH_RE.match(self.text, self.i, self.end)
            if m is not None:  # \text{if $x > 0$}: words, then math inside the text
                self.i = m.end()
                key = " ".join(m.group(1).split()).lower().strip(" ,.:;")
                if key in _TEXT_KEYWORDS:
                    self.keyword(_TEXT_KEYWORDS[key], key, start)
                elif key and self.rows:
                    self.rows[-1]["prose"] = True
                elif key:
                    raise self.error(f"cannot read the words '{key}' before math in "
                                     f"\\{name}{{...}}", m.start(1))
                self.text_math = True
                return
        m = _NAME_BRACED_RE.match(self.text, self.i, self.end)
        if not m:
            braced = _BRACED_ANY_RE.match(self.text, self.i, self.end)
            if braced is not None and name in _TEXT_COMMANDS and self.in_condition():
                self.i = braced.end()  # prose with commands in a condition: wording
                self.rows[-1]["prose"] = True
                return
            raise self.error(f"\\{name} must be followed by a braced name such as "
                             f"\\{name}{{erf}} (only \\_ and spacing commands inside)", start)
        self.i = m.end()
        content, cpos = m.group(1), m.start(1)
        plain = re.sub(r"\\_", "_", content.replace("\\text{-}", "-"))
        plain = re.sub(r"\\.|~", " ", plain)
        word = " ".join(plain.split())
        if name in _TEXT_COMMANDS or name == "mathrm":
            if not word:
                return  # \text{ } is spacing
            key = word.lower().strip(" ,.:;")
            if key in _TEXT_KEYWORDS and (name != "mathrm" or self.rows):
                self.keyword(_TEXT_KEYWORDS[key], key, start)
                return
            if not self.stack and self.seen_equal and key.startswith(_PROSE_STARTS):
                self.trailing_prose(start)
                return
            if self.in_condition() and not _NAME_RE.match(word):
                self.rows[-1]["prose"] = True  # the condition's wording
                return
            if (self.seen_equal and len(self.stack) == 1 and self.stack[0][0] == "("
                    and not _NAME_RE.match(word) and not catalog_name(word)):
                # "\quad (\alpha \text{ is a small positive constant})": a remark
                opened = self.stack.pop()[1]
                del self.toks[self.brace_index.get(opened, len(self.toks)):]
                self.i = opened
                self.trailing_prose(opened)
                return
        self.name_word(word, name, start, self.i, content, cpos)

    def name_word(self, word: str, name: str, start: int, stop: int, content: str = "",
                  cpos: int | None = None) -> None:
        """Emit the token of a name written in \\text, \\mathrm, \\operatorname, \\rm."""
        self.i = stop
        content = content or word
        cpos = start if cpos is None else cpos
        if len(word) == 1 and word.isascii() and word.isalpha():
            self.emit("LETTER", word, start, self.i)
            return
        if word in GREEK:
            self.emit("GREEK", word, start, self.i)
            return
        spaced = word.replace(" ", "").replace("-", "")
        if not _NAME_RE.match(word) and not catalog_name(word) \
                and _NAME_RE.match(word.replace("-", "_")):
            word = word.replace("-", "_")  # \text{h-swish}: the name h_swish
        if not (_NAME_RE.match(word) or (_NAME_RE.match(spaced) and catalog_name(word))):
            raise self.error(
                f"cannot read \\{name}{{{content}}}: expected a name such as erf, ReLU or "
                "negative\\_slope"
                + (" or one of the words if, for, when, otherwise, else, and, or"
                   if name in _TEXT_COMMANDS else ""), cpos)
        if self.is_function(word, explicit=name == "operatorname"):
            self.emit("OPNAME", word, start, self.i)
        else:
            self.emit("LETTER", word, start, self.i)  # a named constant: \text{scale}

    def word(self, start: int) -> None:
        """A run of ASCII letters outside a script: a function name (``exp``, ``GELU``),
        a Greek letter's name (``alpha``), ``pi``, a named constant of four or more
        letters (``scale``), or single letters (``xy`` is x*y)."""
        text = self.text
        m = _WORD_RE.match(text, start, self.end)
        word = m.group()
        self.i = m.end()
        if len(word) > 1 and not word.isalpha() and not self.is_function(word):
            m = _LETTERS_RE.match(text, start, self.end)
            word = m.group()
            self.i = m.end()
        while word.isalpha() and len(word) > 1:  # negative\_slope, written bare
            m = _LETTERS_RE.match(text, self.i + 2, self.end) \
                if text.startswith("\\_", self.i) else None
            if m is None:
                break
            word = f"{word}_{m.group()}"
            self.i = m.end()
        if "_" in word:
            if self.is_function(word):
                self.emit("OPNAME", word, start, self.i)
            else:
                self.emit("LETTER", word, start, self.i)
            return
        if len(word) > 1:
            if word in self.head_words:  # the head's name again: Sig(x) after Sig = ...
                self.emit("OPNAME" if self.applied() else "LETTER", word, start, self.i)
                return
            if self.is_function(word) and (
                    self.applied() or _OPERAND_FOLLOWS_RE.match(text, self.i, self.end)):
                self.emit("OPNAME", word, start, self.i)
                return
            if not self.seen_equal and len(word) >= 3 and word[0].isupper() \
                    and not _is_word_name(word) and _HEAD_WORD_END_RE.match(text, self.i, self.end):
                self.head_words.add(word)  # \frac{\delta Sig}{\delta x} = Sig(x)...
                self.emit("LETTER", word, start, self.i)
                return
            if word == "pi":
                self.emit("CONST", "pi", start, self.i)
                return
            if word in GREEK:
                self.emit("GREEK", word, start, self.i)
                return
            key = word.lower()
            if key in _TEXT_KEYWORDS and self.rows:
                self.keyword(_TEXT_KEYWORDS[key], key, start)
                return
            if not self.toks and _HEAD_EQUAL_RE.match(text, self.i, self.end):
                self.word_head = True  # ELU = ..., dst = ... (a named left side)
                self.emit("LETTER", word, start, self.i)
                return
            if _is_word_name(word) or (self.word_head and self.seen_equal and len(word) <= 3
                                       and word.islower()):
                # scale; src in "dst = src * ...": after a word head, a short lowercase
                # word is one name (a variable or a parameter), not a product of letters
                self.emit("LETTER", word, start, self.i)
                return
        for k, letter in enumerate(word):
            self.emit("LETTER", letter, start + k, start + k + 1)

    def keyword(self, type_: str, key: str, start: int) -> None:
        """\\text{if}, \\text{otherwise}...; in a piecewise row without ``&`` the first
        keyword starts the condition."""
        if self.rows and self.rows[-1]["depth"] == len(self.stack) and type_ in ("_IF", "_OTHERWISE"):
            row = self.rows[-1]
            if not row["amp"]:
                self.emit("_AMP", "&", start, start)
                row["amp"] = True
            elif type_ == "_IF" and self.last_type() == "_IF":
                return  # \text{if} \text{for}: one wording
        if type_ == "_IF" and self.rows and self.last_type() in _ENDS_OPERAND:
            return  # a word in the middle of a condition: "x > 0 for all ..." reads the math
        self.emit(type_, key, start, self.i)

    def transparent(self) -> bool:
        """Whether the innermost environment is split/aligned around a formula (not rows)."""
        return bool(self.stack) and self.stack[-1][0][4:] in _TRANSPARENT_ENVS and not (
            self.rows and self.rows[-1]["depth"] == len(self.stack))

    def ampersand(self, start: int) -> None:
        if not self.stack or self.transparent():
            return  # an alignment point of split/aligned, or of a line copied from one
        if self.rows and self.rows[-1]["depth"] == len(self.stack):
            row = self.rows[-1]
            if not row["amp"] and self.last_type() in ("_BEGIN_ARRAY", "_BEGIN_CASES", "_ROWSEP"):
                return  # a row that starts with & (aligned: "& x && (x > 0)")
            if row["amp"]:
                if self.last_type() in ("_AMP", "_COMMA") or self.last_type() in (None,):
                    return  # an empty column ({lcl}: "x, & & \text{if} ...")
                if self.last_type() == "_IF":
                    return
            row["amp"] = True
        self.emit("_AMP", "&", start, start + 1)

    def row_separator(self, start: int) -> None:
        m = _ROW_SKIP_RE.match(self.text, self.i, self.end)
        if m is not None:
            self.i = m.end()  # \\[2ex]: extra space after the row
        if self.transparent():
            return  # a line break of split/aligned
        if self.last_type() == "_ROWSEP":
            return  # \\ \\: an empty row (Markdown doubles the backslashes)
        self.end_row(start)
        self.emit("_ROWSEP", "\\\\", start, self.i)

    def end_row(self, start: int) -> None:
        """Close a piecewise row: a condition that was only prose is 'otherwise'."""
        if self.rows and self.rows[-1]["depth"] == len(self.stack):
            row = self.rows[-1]
            if row["amp"] and self.last_type() in ("_AMP", "_IF") and row["prose"]:
                if self.last_type() == "_IF":
                    self.toks.pop()
                self.emit("_OTHERWISE", "otherwise", start, start)
            row["amp"] = row["prose"] = False

    def drop_braces(self, opened: int | None) -> bool:
        """``{\\text{if }}``, ``{ReLU}``, ``{negative\\_slope}``: braces around one keyword
        or name are dropped (Wikipedia and old docstrings write them)."""
        if opened is None or len(self.toks) < 2:
            return False
        index = self.brace_index.pop(opened, None)
        if index is None or index != len(self.toks) - 2:
            return False
        inner = self.toks[-1]
        droppable = inner.type in ("_IF", "_OTHERWISE", "_AND", "_OR") or (
            inner.type == "LETTER" and len(inner.value) > 1) or (
            inner.type == "OPNAME" and opened not in self.arg_braces)
        if droppable and self.toks[-2].type == "_LBRACE":
            del self.toks[-2]
            return True
        return False

    def over(self, start: int) -> None:
        """``{a \\over b}`` is ``\\frac{a}{b}``."""
        if not self.stack or self.stack[-1][0] != "{":
            raise self.error("\\over must be inside braces, as in {a \\over b}", start)
        opened = self.stack[-1][1]
        index = self.brace_index.get(opened)
        if index is None or opened in self.arg_braces:
            raise self.error("\\over is read only as {a \\over b}, once per group", start)
        brace = self.toks[index]
        self.toks.insert(index, Token("FRAC", "frac", brace.start_pos, brace.line, brace.column,
                                      brace.end_line, brace.end_column, brace.end_pos))
        self.brace_index[opened] = index + 1
        self.emit("_RBRACE", "}", start, start)
        self.emit("_LBRACE", "{", start, self.i)
        self.brace_index.pop(opened, None)
        self.arg_braces.add(opened)

    def trailing_prose(self, start: int) -> None:
        """``, \\text{where } ...`` at the top level: dropped, and said in the notes."""
        shown = self.text[start:self.end].strip()
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.notes.append(f"ignored trailing prose '{shown}'")
        while self.toks and self.toks[-1].type in ("_COMMA", "_PERIOD"):
            self.toks.pop()
        self.i = self.end

    def bold_command(self, name: str, start: int) -> None:
        m = re.compile(r"\s*\{\s*(\\?[A-Za-z]+|1)\s*\}").match(self.text, self.i, self.end)
        if m is not None and m.group(1) == "1" and name in ("mathbf", "boldsymbol", "bm"):
            self.i = m.end()
            self.emit("INDICATOR", "1", start, self.i)  # \mathbf{1}\{x > 0\}
            return
        if m is None:
            raise self.error(f"\\{name} must be followed by a braced letter, e.g. \\{name}{{x}}", start)
        inner = m.group(1)
        self.i = m.end()
        if len(inner) == 1:
            self.emit("LETTER", inner, start, self.i)
        elif inner.startswith("\\") and inner[1:] in GREEK:
            self.emit("GREEK", inner[1:], start, self.i)
        else:
            raise self.error(f"\\{name} must contain a single letter", m.start(1))

    def begin_env(self, start: int) -> None:
        m = _ENV_RE.match(self.text, self.i, self.end)
        if m is None:
            raise self.error("\\begin must be followed by an environment name in braces", start)
        env = m.group(1)
        self.i = m.end()
        if env in _TRANSPARENT_ENVS and not (self.last_type() == "_LBRACELIT" and self.stack
                                             and self.stack[-1][0] == "\\{"):
            self.push(f"env:{env}", start)
            return
        if env in _TRANSPARENT_ENVS:
            env = "aligned" if env.startswith("align") else env
        if env in ("cases", "dcases", "rcases", "cases*"):
            self.push(f"env:{env}", start)
            self.emit("_BEGIN_CASES", env, start, self.i)
        elif env in _ROW_ENVS or env in _TRANSPARENT_ENVS:
            if not (self.last_type() == "_LBRACELIT" and self.stack and self.stack[-1][0] == "\\{"):
                raise self.error(f"\\begin{{{env}}} is read only as a piecewise definition after "
                                 "\\left\\{", start)
            self.stack.pop()  # the brace of a piecewise definition is closed by \right.
            if env == "array":
                spec = _COLSPEC_RE.match(self.text, self.i, self.end)
                if spec is None:
                    raise self.error("\\begin{array} needs a column specification such as {ll}",
                                     self.i)
                self.i = spec.end()
            self.push(f"env:{env}", start)
            self.emit("_BEGIN_ARRAY", env, start, self.i)
        else:
            raise self.error(f"\\begin{{{env}}} is not supported; piecewise definitions are read "
                             "from cases, or array/matrix after \\left\\{", m.start(1))
        self.rows.append({"amp": False, "prose": False, "depth": len(self.stack)})

    def end_env(self, start: int) -> None:
        m = _ENV_RE.match(self.text, self.i, self.end)
        if m is None:
            raise self.error("\\end must be followed by an environment name in braces", start)
        env = m.group(1)
        if env.startswith("align") and self.stack and self.stack[-1][0] == "env:aligned" \
                and self.rows and self.rows[-1]["depth"] == len(self.stack):
            env = "aligned"  # rows of a piecewise definition
        elif env in _TRANSPARENT_ENVS:
            self.pop(f"env:{env}", start, f"\\end{{{env}}}")
            self.i = m.end()
            return
        self.end_row(start)
        self.i = m.end()
        self.pop(f"env:{env}", start, f"\\end{{{env}}}")
        if self.rows:
            self.rows.pop()
        self.emit("_END_ARRAY" if env in _ROW_ENVS or env in _TRANSPARENT_ENVS else "_END_CASES",
                  env, start, self.i)


_DISPLAYSTYLE_RE = re.compile(r"\{\s*\\(?:displaystyle|textstyle)(?![A-Za-z])")


def _strip_displaystyle(text: str, start: int, end: int) -> tuple[int, int]:
    """Wikipedia's ``{\\displaystyle ...}`` around the whole formula: the braces go."""
    for _ in range(3):  # bounded: a hostile text cannot make this quadratic
        if not (_DISPLAYSTYLE_RE.match(text, start, end) and text[end - 1] == "}"):
            break
        depth, k = 0, start
        while k < end:
            c = text[k]
            if c == "\\":
                k += 2
                continue
            depth += {"{": 1, "}": -1}.get(c, 0)
            if depth == 0:
                break
            k += 1
        if k != end - 1:
            break
        start, end = start + 1, end - 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
    return start, end


def _tokenize(text: str, functions=None) -> tuple[list[Token], int, int, list[str]]:
    """(tokens, start, end, notes): ``notes`` says what was dropped or assumed."""
    start, end = _strip_math_delimiters(text)
    start, end = _strip_displaystyle(text, start, end)
    if start >= end:
        raise parse_error("the formula is empty", text, 0)
    tokenizer = _Tokenizer(text, start, end, functions)
    return tokenizer.run(), start, end, tokenizer.notes
