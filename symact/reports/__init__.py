"""Reports built from the layers below: the check report, certificates, plots and the bench.
"""
