"""Public: Hypothesis strategies for activation inputs (kinks, tails, subnormals,
bit patterns, vectors), for other projects' test suites. The implementation is
:mod:`symact.verify.strategies`, which ``symact check`` uses too."""
from symact.verify.strategies import (bit_patterns, edge_values, floats_for, kink_values, kinks, neighbours,
                                      special_values, subnormals, tails, vectors)

__all__ = ["bit_patterns", "edge_values", "floats_for", "kink_values", "kinks", "neighbours", "special_values",
           "subnormals", "tails", "vectors"]
