"""Symbolic work in SymPy only: the variable and kink helpers (:mod:`.forms`), the
stable-primitive rewrite rules (:mod:`.rewrite`) and exact sign certification (:mod:`.exact`).
"""
