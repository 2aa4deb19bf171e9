"""derivcli: derivatives from the command line and from Python.

    >>> import derivcli
    >>> derivcli.grad("u**2 + v**3 + u*v", u=2, v=4).gradient
    {'u': 8.0, 'v': 50.0}

Importing derivcli is cheap: torch and SymPy load on the first computation.
"""

from __future__ import annotations

from .api import diff, grad, hessian, jacobian, taylor
from .errors import DerivcliError

__version__ = "0.1.0"
__all__ = ["DerivcliError", "__version__", "diff", "grad", "hessian", "jacobian", "taylor"]
