"""derivcli: derivatives from the command line and from Python.

    >>> import derivcli
    >>> derivcli.grad("u**2 + v**3 + u*v", u=2, v=4).gradient
    {'u': 8.0, 'v': 50.0}

Importing derivcli is cheap: torch and SymPy load on the first computation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DerivcliError

if TYPE_CHECKING:
    from .api import diff, grad, hessian, jacobian, taylor
    from .vectorized import Compiled

__version__ = "0.1.0"
__all__ = ["Compiled", "DerivcliError", "__version__", "compile", "diff", "grad", "hessian", "jacobian", "taylor"]


def __getattr__(name: str) -> Any:
    """The API's functions, imported on first use: the command line's own start-up (help, errors in the
    text, tab completion) never pays for them."""
    if name in ("diff", "grad", "hessian", "jacobian", "taylor"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'derivcli' has no attribute {name!r}")


def compile(expression: str, wrt: list[str] | None = None, dtype: str = "float64", device: str = "cpu",
            torch_compile: bool = False) -> Compiled:
    """Parse and lower `expression` once, then evaluate values and gradients at arrays of points.

    >>> f = compile("exp(-(x**2-x+1)/cos(log(x))**2)")
    >>> f.grad(x=[1.0, 1.0])["x"].tolist()
    [-0.36787944117144233, -0.36787944117144233]

    `torch_compile` runs the per-chunk gradient through torch.compile: seconds to compile, worth it only
    for very large batches (docs/performance.md).
    """
    from .vectorized import Compiled

    return Compiled(expression, wrt, dtype, device, torch_compile)
