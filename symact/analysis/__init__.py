"""Derived knowledge about an activation: facts, linearity and symmetry verdicts,
identities, derived constants and located approximation errors.
"""
