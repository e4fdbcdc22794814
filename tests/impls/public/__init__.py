"""Activation functions written as public code writes them, for tests/test_impl_corpus.py.

Each file imitates one family of public sources (textbooks' companion code, NumPy-only
neural-network libraries, course notebooks, micrograd-style engines, Keras 2, SciPy,
PyTorch); each function says in a comment which style it follows. The code is our own,
written in those styles, not copied. tests/test_impl_corpus.py holds what each one is
expected to be judged (pass, or the failure class) and why.
"""
