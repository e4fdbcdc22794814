"""Formula readers: the LaTeX reader (:mod:`.latex`), the plain-text reader (:mod:`.expr`)
and their lark grammars (:mod:`._grammar`). Nothing is ever evaluated.
"""
