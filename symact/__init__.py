"""symact: symbolic-and-numeric verification of activation functions."""
from .catalog import get, names
from .errors import SymactError

__version__ = "0.1.0"
__all__ = ["get", "names", "SymactError", "__version__"]
