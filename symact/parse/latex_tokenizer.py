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
    GREEK,
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    SUBSCRIPTS,
    SUPERSCRIPTS,
    UNICODE_OPERATORS,
    _line_col,
    budget_error,
    math_letter,
    parse_error,
    suggest,
    unexpected_char,
    unicode_greek,
)

_MAX_NUMBER_DIGITS = MAX_NUMBER_DIGITS


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------
_FUNC_COMMANDS = frozenset(
    "exp ln log tanh sinh cosh sin cos tan arctan max min sgn erf erfc".split()
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
}
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
_FRAC_COMMANDS = frozenset(["frac", "dfrac", "tfrac", "cfrac"])
_KNOWN_COMMANDS = sorted(
    set(GREEK) | _FUNC_COMMANDS | set(_REL_COMMANDS) | set(_SIZE_COMMANDS)
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
_COLSPEC_RE = re.compile(r"\s*\{[lrc|\s]*\}")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


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
                                and (text[stop] in DIGITS or text[stop] == ".")):
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
            self.emit("LETTER", c, start, start + 1)
            self.i = start + 1
            return
        if c == "\\":
            self.command(side)
            return
        if c in _OPENERS:
            self.push(c, start)
            self.emit(_OPENERS[c], c, start, start + 1)
            self.i = start + 1
            return
        if c in _CLOSERS:
            kind, type_ = _CLOSERS[c]
            self.pop(kind, start, c)
            self.emit(type_, c, start, start + 1)
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
        if c == ".":
            self.emit("_PERIOD", c, start, start + 1)
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
        if name == "\\":
            self.emit("_ROWSEP", "\\\\", start, self.i)
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
            self.vert(forced, start, self.i)
        elif name in _NAME_COMMANDS:
            self.name_command(name, start)
        elif name in _BOLD_COMMANDS:
            self.bold_command(name, start)
        elif name == "mathbb":
            content, cpos = self.braced(name, start)
            if content.strip() != "R":
                raise self.error("only \\mathbb{R} (the real line) is supported", cpos)
            self.emit("_SET", "R", start, self.i)
        elif name == "begin":
            self.begin_env(start)
        elif name == "end":
            self.end_env(start)
        elif name in _HOSTILE:
            raise self.error(f"\\{name} is a TeX programming command, not part of a formula; "
                             "it is refused (nothing is run)", start)
        elif name in _SIZE_COMMANDS or name in _IGNORED_COMMANDS:  # pragma: no cover
            raise self.error(f"misplaced \\{name}", start)
        elif name == "|":
            raise self.error("norms ('\\|') are not supported", start)
        elif not (name.isascii() and name.isalpha()):
            raise self.error(f"'\\{name}' is not supported", start)
        else:
            hint = suggest("\\" + name, _KNOWN_SHOWN)
            raise self.error(f"unknown command \\{name}{hint}", start)

    def name_command(self, name: str, start: int) -> None:
        content, cpos = self.braced(name, start)
        word = content.strip()
        if name in _TEXT_COMMANDS:
            if not word:
                return  # \text{ } is spacing
            key = word.lower()
            if key in _TEXT_KEYWORDS:
                self.emit(_TEXT_KEYWORDS[key], key, start, self.i)
                return
        if not _NAME_RE.match(word):
            raise self.error(
                f"cannot read \\{name}{{{content}}}: expected a name such as erf or ReLU"
                + (" or one of the words if, for, when, otherwise, else, and, or"
                   if name in _TEXT_COMMANDS else ""), cpos)
        if len(word) == 1:
            self.emit("LETTER", word, start, self.i)
        else:
            self.emit("OPNAME", word, start, self.i)

    def bold_command(self, name: str, start: int) -> None:
        m = re.compile(r"\s*\{\s*(\\?[A-Za-z]+)\s*\}").match(self.text, self.i, self.end)
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
        if env in ("cases", "dcases"):
            self.push(f"env:{env}", start)
            self.emit("_BEGIN_CASES", env, start, self.i)
        elif env == "array":
            if not (self.last_type() == "_LBRACELIT" and self.stack and self.stack[-1][0] == "\\{"):
                raise self.error("an array is read only as a piecewise definition after \\left\\{", start)
            self.stack.pop()  # the brace of a piecewise definition is closed by \right.
            spec = _COLSPEC_RE.match(self.text, self.i, self.end)
            if spec is None:
                raise self.error("\\begin{array} needs a column specification such as {ll}", self.i)
            self.i = spec.end()
            self.push("env:array", start)
            self.emit("_BEGIN_ARRAY", env, start, self.i)
        else:
            raise self.error(f"unsupported environment '{env}'; use cases or \\left\\{{ array", m.start(1))

    def end_env(self, start: int) -> None:
        m = _ENV_RE.match(self.text, self.i, self.end)
        if m is None:
            raise self.error("\\end must be followed by an environment name in braces", start)
        env = m.group(1)
        self.i = m.end()
        self.pop(f"env:{env}", start, f"\\end{{{env}}}")
        self.emit("_END_ARRAY" if env == "array" else "_END_CASES", env, start, self.i)


def _tokenize(text: str, functions=None) -> tuple[list[Token], int, int, list[str]]:
    """(tokens, start, end, notes): ``notes`` says what was dropped or assumed."""
    start, end = _strip_math_delimiters(text)
    if start >= end:
        raise parse_error("the formula is empty", text, 0)
    tokenizer = _Tokenizer(text, start, end, functions)
    return tokenizer.run(), start, end, tokenizer.notes
