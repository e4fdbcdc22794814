"""sparsemax's threshold as a SymPy function: the component form of the Euclidean
projection onto the simplex.

sparsemax(x)_i = max(0, x_i - tau(x)) where tau solves sum_j max(0, x_j - tau) = 1.
For every nonempty S of the indices, t_S = (sum_{j in S} x_j - 1) / |S| satisfies
sum_j max(0, x_j - t_S) >= sum_{j in S} (x_j - t_S) = 1, so t_S <= tau (the left side
decreases in tau), with equality for S the support. Hence

    tau(x) = max over nonempty S of (sum_{j in S} x_j - 1) / |S|,

a Max of linear forms: :class:`simplex_threshold` ``(n)`` evaluates to it for a
concrete length n (at most :data:`MAX_LENGTH`: 2^n - 1 terms) in the components
``x[1] .. x[n]`` of :data:`symact.symbolic.forms.XV`, so
``Max(0, XV[I] - simplex_threshold(N))`` has exact components for each n (the
kink and verdict code read Max as everywhere else). Its derivative is not SymPy's
(the function of N alone does not show its dependence on x): sparsemax's Jacobian is
diag(s) - s s^T / |S| on the support S (s its indicator).
"""
from __future__ import annotations

import itertools

import sympy as sp

from symact.symbolic.forms import XV

#: Longest row whose threshold is expanded (2^n - 1 linear forms).
MAX_LENGTH = 10


class simplex_threshold(sp.Function):
    """tau of sparsemax for the row x[1..n]; unevaluated while n is a symbol."""

    nargs = 1

    @classmethod
    def eval(cls, n):
        if not n.is_Integer:
            return None
        n = int(n)
        if not 1 <= n <= MAX_LENGTH:
            raise ValueError(f"sparsemax's threshold is expanded for rows of 1 to {MAX_LENGTH} entries, not {n}")
        forms = []
        for k in range(1, n + 1):
            for s in itertools.combinations(range(1, n + 1), k):
                forms.append((sp.Add(*[XV[j] for j in s]) - 1) / k)
        return sp.Max(*forms, evaluate=False)      # no pairwise comparisons of 2^n - 1 symbolic forms
