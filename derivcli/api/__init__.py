"""The library's front door: parse -> lower -> differentiate -> check, returning result objects.

The CLI is a thin layer over these functions; they never print.
"""

from __future__ import annotations

from ..differentiate.setup import Setup, compile_text, prepare, reading_context
from .point import grad, hessian, jacobian, non_finite_warnings
from .series import diff, taylor

__all__ = ["Setup", "compile_text", "diff", "grad", "hessian", "jacobian", "non_finite_warnings", "prepare",
           "reading_context", "taylor"]
