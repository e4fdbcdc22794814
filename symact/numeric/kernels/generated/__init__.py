"""Kernels built ahead of time: one module per catalog activation, each written by
``symact build-kernels`` (:mod:`symact.numeric.kernels.prebuilt` writes, checks and
loads them). Do not edit them by hand: regenerate, and review the diff."""
