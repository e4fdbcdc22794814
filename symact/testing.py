"""Public: ``assert_implements`` for other projects' test suites, in the style of
``numpy.testing``. It runs in the caller's process (see
:mod:`symact.verify.testing`)."""
from symact.verify.testing import assert_implements

__all__ = ["assert_implements"]
