"""Numerics: ULP distances and the one floor measure (:mod:`.ulp`), the mpmath oracle
that owns every reference value (:mod:`.oracle`), the point sets (:mod:`.points`),
polynomials fitted in mpmath for the kernels and the code generator (:mod:`.fitting`)
and the generated NumPy kernels (:mod:`.kernels`).
"""
