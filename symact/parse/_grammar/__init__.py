"""symact's lark grammars and the one way both parsers load them.

Both readers tokenize the text themselves (so lark's strict LALR mode needs no
regex-intersection package) and hand the token list to lark, which only parses.
``strict=True`` makes a grammar with any conflict fail to load: every accepted
input has exactly one reading.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.lexer import Lexer


class TokenListLexer(Lexer):
    """Feeds an already tokenized list to Lark."""

    def __init__(self, lexer_conf):  # Lark's interface; nothing to configure
        pass

    def lex(self, data):  # type: ignore[override]
        yield from data


@lru_cache(maxsize=None)
def load(name: str) -> Lark:
    """The strict LALR parser for ``<name>.lark`` in this folder."""
    grammar = (Path(__file__).parent / f"{name}.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=TokenListLexer, strict=True,
                propagate_positions=True, maybe_placeholders=False)
