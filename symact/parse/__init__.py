"""Formula readers: the LaTeX reader (:mod:`.latex`, with its tokenizer
:mod:`.latex_tokenizer` and tree walker :mod:`.latex_builder`), the plain-text
reader (:mod:`.expr`), the core both share (:mod:`.common`: ``ParsedFormula``,
function tables, error helpers, the variable rule) and their lark grammars
(:mod:`._grammar`). Nothing is ever evaluated.
"""
