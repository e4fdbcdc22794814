"""Numerics: ULP distances (:mod:`.ulp`), the mpmath oracle that owns every reference
value (:mod:`.oracle`), the point sets (:mod:`.points`) and the generated kernels (:mod:`.kernels`).
"""
