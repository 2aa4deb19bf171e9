"""derivcli: derivatives from the command line and from Python.

    >>> import derivcli
    >>> derivcli.grad("u**2 + v**3 + u*v", u=2, v=4).gradient
    {'u': 8.0, 'v': 50.0}

The functions (each has its own help):

    grad(expression, point, *, wrt, check, fd, dtype, ...)   value and gradient at a point, by autograd
    jacobian(expression, point, *, wrt, check, fd, ...)      Jacobian of a tensor-valued expression
    hessian(expression, point, *, wrt, check, fd, ...)       Hessian, and what its eigenvalues say
    diff(expression, wrt, *, order, point, ...)              the symbolic derivative, and its value at a point
    taylor(expression, point, *, order, ...)                 Taylor coefficients by autograd beside SymPy's
    compile(expression, wrt, dtype, device)                  parse once, then values and gradients at arrays
    DerivcliError                                            every user-facing error (message, column, hint)

Importing derivcli is cheap: torch and SymPy load on the first computation.
"""

from __future__ import annotations

from .errors import DerivcliError

TYPE_CHECKING = False  # not typing's: importing typing would cost every command line, a warm one too, ~3 ms
if TYPE_CHECKING:
    from typing import Any

    from .api import diff, grad, hessian, jacobian, taylor
    from .scale.vectorized import Compiled

__version__ = "0.1.0"
__all__ = ["Compiled", "DerivcliError", "__version__", "compile", "diff", "grad", "hessian", "jacobian", "taylor"]


def __getattr__(name: str) -> Any:
    """The API's functions, imported on first use: the command line's own start-up (help, errors in the
    text, tab completion) never pays for them."""
    if name in ("diff", "grad", "hessian", "jacobian", "taylor"):
        from . import api

        found = getattr(api, name)
    elif name == "Compiled":
        from .scale.vectorized import Compiled

        found = Compiled
    else:
        raise AttributeError(f"module 'derivcli' has no attribute {name!r}")
    globals()[name] = found  # found here from now on: a loop calling derivcli.grad pays this once
    return found


def __dir__() -> list[str]:
    """The public names, the lazily imported ones too, so that dir(), help() and Tab in IPython or Jupyter
    offer them before their first use."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


def compile(expression: str, wrt: list[str] | None = None, dtype: str = "float64", device: str = "cpu",
            torch_compile: bool = False) -> Compiled:
    """Parse and lower `expression` once, then evaluate values and gradients at arrays of points.

    >>> f = compile("exp(-(x**2-x+1)/cos(log(x))**2)")
    >>> f.grad(x=[1.0, 1.0])["x"].tolist()
    [-0.36787944117144233, -0.36787944117144233]

    `torch_compile` runs the per-chunk gradient through torch.compile: seconds to compile, worth it only
    for very large batches (docs/performance.md).
    """
    from .scale.vectorized import Compiled

    return Compiled(expression, wrt, dtype, device, torch_compile)
