"""The model: the :class:`~symact.model.activation.Activation` record and the catalog of declarations.

Lowest layer above :mod:`symact.symbolic`: it knows no kernel, oracle or report.
"""
