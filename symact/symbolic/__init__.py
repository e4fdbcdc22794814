"""Symbolic work in SymPy only: the variable and kink helpers (:mod:`.forms`) and exact
sign certification (:mod:`.exact`). The stable primitives and their rewrite rules are in
:mod:`symact.primitives`.
"""
